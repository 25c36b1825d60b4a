/**
 * What we publish while the broker is away waits here, up to `capacity` messages; beyond that the
 * oldest is dropped and counted. mqtt.js's own offline queue has no bound (and we turn it off with
 * queueQoSZero: false and by never publishing while disconnected).
 */

export interface QueuedPublish {
  topic: string;
  payload: string;
  qos: 0 | 1;
}

export class PublishQueue {
  // a ring buffer: O(1) push and drop-oldest, memory fixed at `capacity` slots
  private readonly slots: (QueuedPublish | undefined)[];
  private head = 0;
  private count = 0;

  constructor(
    readonly capacity: number,
    private readonly onDrop: (dropped: QueuedPublish) => void = () => {},
  ) {
    this.slots = new Array<QueuedPublish | undefined>(capacity);
  }

  get size(): number {
    return this.count;
  }

  push(msg: QueuedPublish): void {
    if (this.count === this.capacity) {
      const dropped = this.slots[this.head]!;
      this.slots[this.head] = msg;
      this.head = (this.head + 1) % this.capacity;
      this.onDrop(dropped);
      return;
    }
    this.slots[(this.head + this.count) % this.capacity] = msg;
    this.count++;
  }

  /** Remove and return everything, oldest first. */
  drain(): QueuedPublish[] {
    const out: QueuedPublish[] = [];
    for (let i = 0; i < this.count; i++) {
      const idx = (this.head + i) % this.capacity;
      out.push(this.slots[idx]!);
      this.slots[idx] = undefined;
    }
    this.head = 0;
    this.count = 0;
    return out;
  }
}
