/**
 * What the bytes a serial port delivers become: lines (LineSplitter), then for each line a reply
 * to a pending command, a reading, a parse error, or nothing (a blank line, over the device's
 * input budget, or over maxLineBytes). Sans-I/O apart from the sink: the port calls `push`, the device `reset`.
 *
 * A reply is taken before the input budget: it answers a command this gateway sent (which
 * commands.queue bounds), so a device flooding its port still answers its commands.
 */
import { createLineParser, type LineResult } from '../../codecs/line-parser.js';
import { LineSplitter } from '../../codecs/line-splitter.js';
import type { DeviceConfig } from '../../config/schema.js';
import type { SourceSink } from '../../domain.js';
import { LogRateLimiter } from '../../log-rate.js';
import type { Logger } from '../../log.js';
import { metrics } from '../../metrics.js';
import { InputRate } from '../input-rate.js';

export type SerialDeviceConfig = DeviceConfig & { serial: NonNullable<DeviceConfig['serial']> };

export class LineIntake {
  private readonly id: string;
  private readonly parse: (line: string) => LineResult;
  private readonly input: InputRate;
  private readonly splitter: LineSplitter;
  // a device spewing garbage at line rate must not flood the journal: one line per kind per 10 s
  private readonly errors = new LogRateLimiter(10_000);

  /** parser and pattern mistakes throw ParserConfigError here */
  constructor(
    private readonly cfg: SerialDeviceConfig,
    private readonly sink: SourceSink,
    private readonly log: Logger,
    /** the command queue: true when the line was the reply it waited for */
    private readonly reply: (line: string) => boolean,
  ) {
    this.id = cfg.id;
    this.parse = createLineParser(cfg.parser);
    this.input = new InputRate(cfg.id, cfg.inputRate, log);
    this.splitter = new LineSplitter(
      { delimiter: cfg.serial.delimiter, maxLineBytes: cfg.serial.maxLineBytes },
      { line: (l) => this.onLine(l), overlong: (n) => this.onOverlong(n), invalid: (b) => this.onInvalid(b) },
    );
  }

  /** bytes held for an unfinished line (bounded by maxLineBytes) */
  get heldBytes(): number {
    return this.splitter.heldBytes;
  }

  /** a sink that throws is a fault: it propagates to the caller (the device's fault boundary) */
  push(chunk: Buffer): void {
    this.splitter.push(chunk);
  }

  /** a new port: what the last one left unfinished is not the start of its first line */
  reset(): void {
    this.splitter.reset();
  }

  private onLine(line: string): void {
    // a blank line (println(), \r\n\r\n between records) carries nothing: as a reading it was a
    // phantom on every chart (csv: a null; kv, json: a parse error), and it could answer a command
    // whose reply.match also matches ""
    if (line.length === 0) return;
    if (this.reply(line) || !this.input.admit(Buffer.byteLength(line))) return;
    const r = this.parse(line);
    if (r.error === undefined) return this.emit(r);
    metrics.parseErrors.inc({ device: this.id });
    this.errors.log(this.log, 'warn', 'parse', { kind: 'parse', format: this.cfg.parser.format }, `unparseable line: ${r.error}`);
    if (this.cfg.parser.onError === 'raw') this.emit({ raw: line, error: r.error });
  }

  private onInvalid(bytes: Buffer): void {
    // U+FFFD marks the bad bytes; the line is still seen rather than silently dropped, and may be
    // the reply a command waits for ("OK 21\xB0C" from a Latin-1 device)
    const text = bytes.toString('utf8');
    if (this.reply(text) || !this.input.admit(bytes.length)) return;
    metrics.parseErrors.inc({ device: this.id });
    this.errors.log(this.log, 'warn', 'utf8', { kind: 'utf8' }, `line of ${bytes.length} bytes is not valid UTF-8`);
    if (this.cfg.parser.onError === 'raw') this.emit({ raw: text, error: 'invalid UTF-8' });
  }

  private onOverlong(bytes: number): void {
    metrics.overlongLines.inc({ device: this.id });
    this.errors.log(
      this.log,
      'warn',
      'overlong',
      { kind: 'overlong' },
      `discarded a line of ${bytes} bytes (serial.maxLineBytes is ${this.cfg.serial.maxLineBytes})`,
    );
  }

  private emit(r: LineResult): void {
    metrics.readings.inc({ device: this.id });
    this.sink.reading({
      device: this.id,
      ts: Date.now(),
      ...(r.values && { values: r.values }),
      ...(r.raw !== undefined && { raw: r.raw }),
      ...(r.error !== undefined && { error: r.error }),
    });
  }
}
