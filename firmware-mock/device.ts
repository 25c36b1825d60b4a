/**
 * The mock device's firmware: periodic sensor lines, a command interpreter, and scriptable faults,
 * speaking over a real PTY (pty.ts). All output goes through one transmit queue, like a UART: a
 * burst, a reply and a sensor line never interleave mid-line.
 */
import { LineSplitter } from '../src/codecs/line-splitter.js';
import { openPty, type Pty } from './pty.js';
import { formatLine, Sensor, type MockFormat } from './sensor.js';

/** 115200 baud, 8N1: 10 bits per byte on the wire */
export const LINE_RATE_BYTES_PER_S = 11_520;
const PACE_TICK_MS = 10;
const MAX_COMMAND_BYTES = 1024;

export interface MockOptions {
  /** the stable path the gateway opens, e.g. /tmp/serialgate-mock0 */
  link: string;
  format?: MockFormat;
  /** ms between sensor lines; 0 = none (tests and benches then write their own) */
  intervalMs?: number;
  /** ms between receiving a command and answering it */
  replyDelayMs?: number;
  /** printed at every (re)boot: start and replug */
  banner?: string;
  /**
   * ms from plug-in to the banner and the first sensor line, like a bootloader. serialport
   * flushes the input when it opens a port, so a banner printed before the gateway opens is lost,
   * as on real hardware; a delay lets a reconnecting gateway see it.
   */
  bootDelayMs?: number;
}

export interface MockDevice {
  readonly link: string;
  /** command lines received from the gateway, in order */
  readonly commands: string[];
  /** the /dev/pts/N the link currently points to ('' while unplugged) */
  readonly ptsPath: string;
  unplug(): Promise<void>;
  replug(): Promise<void>;
  /** raw bytes onto the line, exactly as given (faults: partial lines, garbage) */
  write(data: Buffer | string): Promise<void>;
  /** silent: no sensor lines and no replies (explicit write() still goes out) */
  setSilent(silent: boolean): void;
  /**
   * false: the firmware stops reading its input (a hung USB CDC device): what the gateway writes
   * piles up in the kernel's PTY buffer until its writes no longer complete. Until the next replug.
   */
  setReading(on: boolean): Promise<void>;
  /** `lines` sensor lines back to back, paced at the 115200-baud line rate */
  burst(lines: number): Promise<void>;
  /** a line of random bytes incl. invalid UTF-8, then a newline */
  garbage(bytes?: number): Promise<void>;
  /** `bytes` bytes with no newline at all (paced at line rate), then a newline */
  endless(bytes: number): Promise<void>;
  stop(): Promise<void>;
}

export class Mock implements MockDevice {
  readonly link: string;
  readonly commands: string[] = [];
  private readonly format: MockFormat;
  private readonly intervalMs: number;
  private readonly replyDelayMs: number;
  private readonly banner: string | undefined;
  private readonly bootDelayMs: number;
  private bootedAt = 0;
  private readonly sensor = new Sensor();
  private readonly rx: LineSplitter;
  private pty: Pty | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  private tx: Promise<void> = Promise.resolve();
  private silent = false;
  private stopped = false;

  constructor(opts: MockOptions) {
    this.link = opts.link;
    this.format = opts.format ?? 'kv';
    this.intervalMs = opts.intervalMs ?? 1000;
    this.replyDelayMs = opts.replyDelayMs ?? 0;
    this.banner = opts.banner;
    this.bootDelayMs = opts.bootDelayMs ?? 0;
    this.rx = new LineSplitter(
      { maxLineBytes: MAX_COMMAND_BYTES },
      { line: (l) => this.onCommand(l), overlong: () => this.reply('ERR line too long'), invalid: () => this.reply('ERR invalid UTF-8') },
    );
  }

  get ptsPath(): string {
    return this.pty && !this.pty.closed ? this.pty.ptsPath : '';
  }

  async start(): Promise<void> {
    await this.plugIn();
    if (this.intervalMs > 0) {
      this.timer = setInterval(() => {
        if (!this.silent && this.ptsPath && performance.now() >= this.bootedAt) this.send(`${this.sensor.line(this.format)}\n`);
      }, this.intervalMs);
    }
  }

  async unplug(): Promise<void> {
    const pty = this.pty;
    this.pty = undefined;
    await pty?.close();
  }

  async replug(): Promise<void> {
    await this.unplug();
    await this.plugIn();
  }

  write(data: Buffer | string): Promise<void> {
    const buf = Buffer.isBuffer(data) ? data : Buffer.from(data);
    return this.enqueue(() => this.requirePty().write(buf));
  }

  setSilent(silent: boolean): void {
    this.silent = silent;
  }

  setReading(on: boolean): Promise<void> {
    return this.requirePty().setReading(on);
  }

  burst(lines: number): Promise<void> {
    const text = Array.from({ length: lines }, () => `${this.sensor.line(this.format)}\n`).join('');
    return this.enqueue(() => this.paced(Buffer.from(text)));
  }

  garbage(bytes = 64): Promise<void> {
    const junk = Buffer.alloc(bytes);
    for (let i = 0; i < bytes; i++) junk[i] = 0x80 + Math.floor(Math.random() * 0x7f); // never \n, never valid ASCII
    junk[0] = 0xff; // 0xff never appears in UTF-8
    return this.write(Buffer.concat([junk, Buffer.from('\n')]));
  }

  endless(bytes: number): Promise<void> {
    return this.enqueue(() => this.paced(Buffer.concat([Buffer.alloc(bytes, 'x'), Buffer.from('\n')])));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await this.unplug();
  }

  private async plugIn(): Promise<void> {
    if (this.stopped) throw new Error('the mock is stopped');
    this.rx.reset();
    const pty = await openPty(this.link, (chunk) => this.rx.push(chunk));
    this.pty = pty;
    this.bootedAt = performance.now() + this.bootDelayMs;
    const banner = this.banner;
    if (banner !== undefined) this.later(this.bootDelayMs, () => pty === this.pty && this.send(`${banner}\n`));
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private requirePty(): Pty {
    if (!this.pty || this.pty.closed) throw new Error('the mock is unplugged');
    return this.pty;
  }

  /** fire-and-forget output of the firmware itself: lost when unplugged, like on real hardware */
  private send(text: string): void {
    this.write(text).catch(() => {});
  }

  private enqueue(job: () => Promise<void>): Promise<void> {
    const run = this.tx.then(job);
    this.tx = run.catch(() => {});
    return run;
  }

  /** write at the 115200-baud line rate: the bytes allowed by the elapsed time, every 10 ms */
  private async paced(buf: Buffer): Promise<void> {
    const start = performance.now();
    let sent = 0;
    while (sent < buf.length) {
      const due = Math.min(buf.length, Math.max(sent + 1, Math.floor(((performance.now() - start) / 1000) * LINE_RATE_BYTES_PER_S)));
      await this.requirePty().write(buf.subarray(sent, due));
      sent = due;
      if (sent < buf.length) await new Promise((r) => setTimeout(r, PACE_TICK_MS));
    }
  }

  private onCommand(line: string): void {
    this.commands.push(line);
    const answer = respond(line, this.sensor);
    if (this.replyDelayMs <= 0) return this.reply(answer);
    this.later(this.replyDelayMs, () => this.reply(answer));
  }

  private reply(text: string): void {
    if (!this.silent && this.ptsPath) this.send(`${text}\n`);
  }
}

/** the command set of the firmware */
function respond(line: string, sensor: Sensor): string {
  const cmd = line.trim();
  switch (cmd) {
    case 'LED ON':
    case 'LED OFF':
      return `OK ${cmd}`;
    case 'PING':
      return 'PONG';
  }
  if (cmd.startsWith('GET ')) {
    const key = cmd.slice(4);
    const s = sensor.state;
    if (key === 'temp' || key === 'hum' || key === 'count')
      return formatLine('kv', s)
        .split(' ')
        .find((kv) => kv.startsWith(`${key}=`))!;
  }
  return 'ERR unknown command';
}
