/**
 * Paces history requests (the overview's sparklines) below the gateway's request rate
 * (hub.commandRate: 20/s with a burst of 40 by default), leaving room for commands: a token bucket
 * of `burst` requests that refills one every `everyMs`. Each id is asked for once per pacer (one
 * pacer per session), whenever it is added: the devices the hello lists at once, a device that
 * first appears through its readings (an MQTT id derived from a topic) or a fleet gateway's later,
 * so 500 of those appearing in one second are asked for over 40 s, not in one burst the gateway
 * would refuse.
 */
import { TokenBucket } from '../src/token-bucket.js';

export interface Clock {
  now(): number;
  setTimeout(f: () => void, ms: number): unknown;
  clearTimeout(t: unknown): void;
}

const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (f, ms) => setTimeout(f, ms),
  clearTimeout: (t) => clearTimeout(t as ReturnType<typeof setTimeout>),
};

export class Pacer {
  private readonly queue: string[] = [];
  private readonly asked = new Set<string>();
  private readonly bucket: TokenBucket;
  private timer: unknown;
  private stopped = false;

  constructor(
    private readonly ask: (id: string) => void,
    burst: number,
    private readonly everyMs: number,
    private readonly clock: Clock = realClock,
  ) {
    this.bucket = new TokenBucket(1000 / everyMs, burst, () => clock.now());
  }

  /** asks for `id` now if the bucket allows, else in turn; nothing when it was added before */
  add(id: string): void {
    if (this.stopped || this.asked.has(id)) return;
    this.asked.add(id);
    this.queue.push(id);
    this.drain();
  }

  /** the session ended: nothing more is asked */
  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private drain(): void {
    while (this.queue.length > 0 && this.bucket.take()) {
      this.ask(this.queue.shift()!);
      if (this.stopped) return;
    }
    if (this.queue.length === 0 || this.timer !== undefined) return;
    // the next token is at most one interval away
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.drain();
    }, this.everyMs);
  }
}
