/** The last `capacity` lines of a device console: fixed memory, rendered as one text node. */
export class LineRing {
  private readonly lines: string[];
  private next = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    this.lines = new Array<string>(capacity).fill('');
  }

  push(line: string): void {
    this.lines[this.next] = line;
    this.next = (this.next + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
  }

  /** oldest first, one line per row */
  text(): string {
    const out: string[] = [];
    for (let i = this.count; i > 0; i--) out.push(this.lines[(this.next - i + this.capacity) % this.capacity]!);
    return out.join('\n');
  }
}
