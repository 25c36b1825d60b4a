/**
 * A queue kept oldest first: appended at the end, dropped from the front in O(1). The history
 * drops its oldest point for about every reading once a budget or window is full, and
 * `Array.prototype.shift` moves every element left each time. A dropped slot is cleared at once,
 * since an item may hold a 60 KB payload or tens of thousands of flattened fields; the array itself
 * is compacted once more than HISTORY_QUEUE_COMPACT_AFTER slots are dropped and they are the
 * larger part of it, so compaction costs O(1) per drop, amortised.
 */
import { HISTORY_QUEUE_COMPACT_AFTER } from '../bounds.js';

export class ShiftQueue<T extends object> {
  private items: (T | undefined)[] = [];
  /** where the queue starts in `items`: the slots before it were dropped */
  private head = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  /** the oldest item, undefined when empty */
  first(): T | undefined {
    return this.items[this.head];
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** drops the oldest item and returns it, undefined when empty */
  shift(): T | undefined {
    const item = this.items[this.head];
    if (item === undefined) return undefined;
    this.items[this.head++] = undefined;
    if (this.head > HISTORY_QUEUE_COMPACT_AFTER && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** a copy of the items, oldest first */
  toArray(): T[] {
    return this.items.slice(this.head) as T[];
  }

  /** every item, oldest first, leaving the queue empty */
  takeAll(): T[] {
    const out = (this.head > 0 ? this.items.slice(this.head) : this.items) as T[];
    this.items = [];
    this.head = 0;
    return out;
  }
}
