/**
 * A broker delivers a topic's retained message at every subscribe, and so at every reconnect: the
 * value the gateway delivered already would come again as a new reading, with a new ts and seq — a
 * duplicate on every chart and in the history, a stale value shown as fresh after each broker blip.
 * A retained message is a reading once: at the first subscribe (the topic's last value when the
 * gateway starts), and again only when it differs from the last message that topic delivered.
 */
import { hash } from 'node:crypto';

export class RetainedRedelivery {
  /** topic → digest of the last payload it delivered; only topics that have had a retained message */
  private readonly last = new Map<string, string>();

  constructor(private readonly maxTopics: number) {}

  /** true: a retained message with the payload the topic delivered last; not a reading again */
  repeat(topic: string, payload: Buffer, retain: boolean): boolean {
    const known = this.last.get(topic);
    // a topic without a retained message (the usual stream of readings) costs a lookup, no digest
    if (!retain && known === undefined) return false;
    const digest = hash('sha1', payload, 'base64');
    if (retain && digest === known) return true;
    if (known === undefined && this.last.size >= this.maxTopics) this.last.delete(this.last.keys().next().value!);
    this.last.set(topic, digest);
    return false;
  }

  /** The topic's retained message was cleared: the same payload retained again later is news. */
  forget(topic: string): void {
    this.last.delete(topic);
  }
}
