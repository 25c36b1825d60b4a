/**
 * Our serial line framer: bytes in any chunking → complete lines, with a hard cap.
 *
 * serialport's DelimiterParser / ReadlineParser concatenate every chunk onto the pending buffer
 * with no maximum, so a device that never sends the delimiter grows memory without bound (and
 * O(n²) copying). Here the pending bytes live in one buffer allocated once, of
 * maxLineBytes + delimiter.length bytes (room for a line of maxLineBytes, the "\r" trimmed from
 * it, and a delimiter prefix that is not yet known to be one). A line longer than maxLineBytes
 * once its "\r" is trimmed is discarded: we drop what we held, skip bytes until the next
 * delimiter (resync), then report it once as overlong.
 *
 * Sans-I/O: push(chunk) calls the handlers synchronously and never throws (unless a handler does).
 * Lines are decoded as UTF-8 one by one: an invalid line is reported (with its bytes) and the
 * stream goes on. One trailing "\r" is trimmed, so "\n" also frames "\r\n" lines.
 */
/** fatal: invalid UTF-8 throws instead of becoming U+FFFD; ignoreBOM: a BOM is kept as data */
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export interface SplitterOptions {
  /** default "\n" */
  delimiter?: string | Buffer;
  maxLineBytes: number;
}

export interface SplitterHandlers {
  line(text: string): void;
  /** a line of more than maxLineBytes was dropped; `bytes` is its length without the delimiter */
  overlong(bytes: number): void;
  /** a complete line that is not valid UTF-8 (the bytes are a view: copy them to keep them) */
  invalid(bytes: Buffer): void;
}

export class LineSplitter {
  private readonly delim: Buffer;
  private readonly cap: number;
  /** KMP failure table of the delimiter: the longest proper prefix that is also a suffix */
  private readonly fail: Int32Array;
  private readonly held: Buffer;
  private len = 0;
  /** delimiter bytes matched so far (may span chunks) */
  private matched = 0;
  /** inside an overlong line: skipping to the next delimiter */
  private discarding = false;
  /** bytes of the overlong line being discarded */
  private skipped = 0;

  constructor(
    opts: SplitterOptions,
    private readonly handlers: SplitterHandlers,
  ) {
    this.delim = Buffer.from(opts.delimiter ?? '\n');
    if (this.delim.length === 0) throw new RangeError('line delimiter must not be empty');
    if (!Number.isInteger(opts.maxLineBytes) || opts.maxLineBytes < 1) throw new RangeError('maxLineBytes must be a positive integer');
    this.cap = opts.maxLineBytes;
    // + 1: the "\r" of a "\r\n" line is not part of it, so it does not count against the cap
    this.held = Buffer.allocUnsafe(this.cap + this.delim.length);
    this.fail = failureTable(this.delim);
  }

  /** bytes currently held for an incomplete line (never more than maxLineBytes + delimiter length) */
  get heldBytes(): number {
    return this.len;
  }

  /** the most bytes this splitter can ever hold */
  get capacity(): number {
    return this.held.length;
  }

  /** forget any partial line (after a reconnect the rest of it will never come) */
  reset(): void {
    this.len = 0;
    this.matched = 0;
    this.discarding = false;
    this.skipped = 0;
  }

  push(chunk: Buffer): void {
    const d = this.delim;
    let segStart = 0;
    if (d.length === 1) {
      // the common case: memchr via indexOf, no per-byte JS
      const b = d[0]!;
      for (;;) {
        const i = chunk.indexOf(b, segStart);
        if (i < 0) break;
        this.complete(chunk, segStart, i + 1);
        segStart = i + 1;
      }
    } else {
      for (let i = 0; i < chunk.length; i++) {
        const c = chunk[i]!;
        let m = this.matched;
        while (m > 0 && d[m] !== c) m = this.fail[m - 1]!;
        if (d[m] === c) m++;
        if (m === d.length) {
          this.matched = 0;
          this.complete(chunk, segStart, i + 1);
          segStart = i + 1;
        } else {
          this.matched = m;
        }
      }
    }
    this.append(chunk, segStart, chunk.length);
  }

  /** keep chunk[from, to) as part of the pending line, or start discarding when it cannot fit */
  private append(chunk: Buffer, from: number, to: number): void {
    const n = to - from;
    if (n === 0) return;
    if (this.discarding) {
      this.skipped += n;
      return;
    }
    if (this.len + n > this.held.length) {
      // cannot be a line of ≤ cap even if the tail is a delimiter prefix: drop it now
      this.discarding = true;
      this.skipped = this.len + n;
      this.len = 0;
      return;
    }
    chunk.copy(this.held, this.len, from, to);
    this.len += n;
  }

  /** a delimiter ends at chunk[end - 1]; the line is held + chunk[from, end) minus the delimiter */
  private complete(chunk: Buffer, from: number, end: number): void {
    const total = (this.discarding ? this.skipped : this.len) + (end - from);
    const lineLen = total - this.delim.length;
    if (this.discarding || lineLen > this.cap + 1) {
      this.reset();
      this.handlers.overlong(lineLen);
      return;
    }
    let bytes: Buffer;
    if (this.len === 0) {
      bytes = chunk.subarray(from, end - this.delim.length);
    } else {
      // the delimiter may have started in the held bytes; copy only what belongs to the line
      const fromChunk = Math.max(0, lineLen - this.len);
      chunk.copy(this.held, this.len, from, from + fromChunk);
      bytes = this.held.subarray(0, lineLen);
    }
    this.len = 0;
    if (bytes.length > 0 && bytes[bytes.length - 1] === 0x0d) bytes = bytes.subarray(0, bytes.length - 1);
    if (bytes.length > this.cap) return this.handlers.overlong(lineLen);
    let text: string;
    try {
      // one native call validates and decodes (faster than isUtf8 + toString)
      text = utf8.decode(bytes);
    } catch {
      this.handlers.invalid(bytes);
      return;
    }
    this.handlers.line(text);
  }
}

function failureTable(d: Buffer): Int32Array {
  const f = new Int32Array(d.length);
  let k = 0;
  for (let i = 1; i < d.length; i++) {
    while (k > 0 && d[i] !== d[k]) k = f[k - 1]!;
    if (d[i] === d[k]) k++;
    f[i] = k;
  }
  return f;
}
