/**
 * What the fleet owes the broker while it is away waits here, up to `capacity` messages and
 * `maxBytes` bytes (topic + payload); beyond either, the oldest is dropped and counted. mqtt.js's
 * own offline queue has no bound (the Fleet turns it off with queueQoSZero: false and by never
 * publishing while disconnected).
 */

export interface QueuedPublish {
  topic: string;
  payload: string;
  qos: 0 | 1;
}

const sizeOf = (m: QueuedPublish): number => Buffer.byteLength(m.topic) + Buffer.byteLength(m.payload);

export class PublishQueue {
  // a ring buffer: O(1) push and drop-oldest, memory fixed at `capacity` slots
  private readonly slots: (QueuedPublish | undefined)[];
  private head = 0;
  private count = 0;
  private byteCount = 0;

  constructor(
    readonly capacity: number,
    readonly maxBytes: number,
    private readonly onDrop: (dropped: QueuedPublish) => void = () => {},
  ) {
    this.slots = new Array<QueuedPublish | undefined>(capacity);
  }

  get size(): number {
    return this.count;
  }

  get bytes(): number {
    return this.byteCount;
  }

  push(msg: QueuedPublish): void {
    const size = sizeOf(msg);
    if (size > this.maxBytes) {
      this.onDrop(msg);
      return;
    }
    while (this.count > 0 && (this.count === this.capacity || this.byteCount + size > this.maxBytes)) this.onDrop(this.shift());
    this.slots[(this.head + this.count) % this.capacity] = msg;
    this.count++;
    this.byteCount += size;
  }

  /** Remove and return everything, oldest first. */
  drain(): QueuedPublish[] {
    const out: QueuedPublish[] = [];
    while (this.count > 0) out.push(this.shift());
    this.head = 0;
    return out;
  }

  private shift(): QueuedPublish {
    const m = this.slots[this.head]!;
    this.slots[this.head] = undefined;
    this.head = (this.head + 1) % this.capacity;
    this.count--;
    this.byteCount -= sizeOf(m);
    return m;
  }
}
