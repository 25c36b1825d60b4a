/**
 * Who gets which reading: a connection is in `everyone` or in the group of each device it names,
 * so fan-out of a reading touches only the connections that want it.
 */
import type { ReadingFrames } from './reading-frames.js';

export type Subscription = '*' | ReadonlySet<string>;

export const matches = (sub: Subscription, device: string): boolean => sub === '*' || sub.has(device);

/** What the index needs of a Session. */
export interface Subscriber {
  subscription: Subscription;
  deliver(r: ReadingFrames): void;
}

export class SubscriptionIndex<S extends Subscriber> {
  private readonly everyone = new Set<S>();
  private readonly byDevice = new Map<string, Set<S>>();

  /** `r` to every connection subscribed to its device. */
  deliver(r: ReadingFrames): void {
    for (const s of this.everyone) s.deliver(r);
    const group = this.byDevice.get(r.device);
    if (group) for (const s of group) s.deliver(r);
  }

  /** Replaces the subscription of `s` (a new connection: `s.subscription` as it starts). */
  subscribe(s: S, sub: Subscription): void {
    this.remove(s);
    s.subscription = sub;
    if (sub === '*') {
      this.everyone.add(s);
      return;
    }
    for (const id of sub) {
      let group = this.byDevice.get(id);
      if (!group) this.byDevice.set(id, (group = new Set()));
      group.add(s);
    }
  }

  remove(s: S): void {
    if (s.subscription === '*') {
      this.everyone.delete(s);
      return;
    }
    for (const id of s.subscription) {
      const group = this.byDevice.get(id);
      group?.delete(s);
      if (group?.size === 0) this.byDevice.delete(id);
    }
  }
}
