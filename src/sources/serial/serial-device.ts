/**
 * One serial device: open the port, hand its bytes to the line intake (line-intake.ts), keep it open.
 *
 * Unplug detection does not rely on serialport alone: on a hung-up tty (a vanished PTY, some USB
 * adapters) its reader spins on zero-byte reads, burning a core, and never emits 'close'. So while
 * open we also watch the path (port.ts): inotify plus a periodic stat. The path vanishing, or naming
 * another device (a by-id link re-pointed by udev), is an unplug; closing the port stops the spin.
 * After any loss or failed open we retry with the one capped backoff.
 *
 * Two more ways to lose a port, both handled as a loss (down with a reason, closed, reopened):
 * - a command whose write never drains (the device stopped reading; see CommandQueue);
 * - a fault: an exception from our own handlers (parser, reply matching, the hub's sink, a bug).
 *   Every callback serialport, fs and the timers call into runs inside `guard`, so such an
 *   exception never escapes into serialport's event emitter (where it would crash the process);
 *   it is counted, logged once as SG_ERR_SOURCE_FAULT, and the port is reset.
 */
import type { FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { SerialPort } from 'serialport';
import { compilePattern } from '../../codecs/line-parser.js';
import { metrics } from '../../metrics.js';
import type { Logger } from '../../log.js';
import { backoffDelay } from '../../backoff.js';
import { CommandError, type Device, type DeviceCommand, type DeviceStatus, type SourceSink } from '../../domain.js';
import { CommandQueue } from './command-queue.js';
import { LineIntake, type SerialDeviceConfig } from './line-intake.js';
import { explainOpenError } from './open-error.js';
import { closePort, openPort, watchEntry, type FileIdentity } from './port.js';
import { WATCH_INTERVAL_MS } from '../../bounds.js';

export class SerialDevice implements Device {
  readonly id: string;
  readonly source = 'serial' as const;
  private readonly cfg: SerialDeviceConfig;
  private readonly log: Logger;
  private readonly intake: LineIntake;
  private readonly queue: CommandQueue;
  private current: DeviceStatus;
  private port: SerialPort | undefined;
  /** identity of the file the port was opened from: a change means another device took the path */
  private opened: FileIdentity | undefined;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private watchTimer: NodeJS.Timeout | undefined;
  private dirWatcher: FSWatcher | undefined;
  private phase: 'idle' | 'running' | 'stopped' = 'idle';
  private lastOpenError = '';
  /** when the current port was opened (performance.now()): how long it stayed up decides the next backoff */
  private openedAt = 0;
  /**
   * a write stalled: the device may hold a fragment of that command (what it read before it
   * stopped, and what went out around the flush), so the reopened port first sends a bare
   * terminator to end it as a line of its own rather than let it prefix the next command
   */
  private resync = false;

  /** parser and pattern mistakes throw ParserConfigError here; no I/O happens */
  constructor(
    cfg: SerialDeviceConfig,
    private readonly sink: SourceSink,
    logger: Logger,
  ) {
    this.id = cfg.id;
    this.cfg = cfg;
    this.log = logger.child({ device: cfg.id });
    this.current = { id: cfg.id, source: 'serial', state: 'down', reason: 'not started' };
    const c = cfg.commands;
    this.queue = new CommandQueue(
      {
        device: cfg.id,
        terminator: c.terminator,
        queue: c.queue,
        writeTimeoutMs: c.writeTimeoutMs,
        ...(c.reply && { reply: { match: compilePattern(c.reply.match, `device ${cfg.id}: commands.reply.match`), timeoutMs: c.reply.timeoutMs } }),
      },
      (data) => this.writeDrained(data),
      // called from the queue's timer: inside the fault boundary like every other callback
      (reason) =>
        void this.guard(() => {
          if (!this.port) return;
          this.resync = true;
          this.portLost(this.port, reason);
        }),
    );
    this.intake = new LineIntake(cfg, sink, this.log, (line) => this.queue.offer(line));
  }

  private get stopped(): boolean {
    return this.phase === 'stopped';
  }

  status(): DeviceStatus {
    return { ...this.current };
  }

  /** bytes the line splitter holds right now (bounded by maxLineBytes; exposed for tests) */
  get heldBytes(): number {
    return this.intake.heldBytes;
  }

  command(cmd: DeviceCommand, origin?: object): Promise<{ reply?: string }> {
    if (this.stopped) return Promise.reject(new CommandError('shutting_down', 'the gateway is shutting down', this.id));
    if (!this.port) {
      return Promise.reject(new CommandError('device_unavailable', `device is down: ${this.current.reason ?? 'not connected'}`, this.id));
    }
    // the router checked the line; only a caller that skipped it can leave it out (nothing to write)
    if (cmd.line === undefined) return Promise.reject(new CommandError('invalid', 'a serial command needs a "line" string', this.id));
    return this.queue.submit(cmd.line, origin);
  }

  /** begins I/O; resolves after the first open attempt, whatever its outcome */
  start(): Promise<void> {
    if (this.phase !== 'idle') return Promise.resolve();
    this.phase = 'running';
    return this.guard(() => this.connect());
  }

  /** `reload`: why a reload stops this device (see Source.stop) */
  async stop(reload?: string): Promise<void> {
    this.phase = 'stopped';
    clearTimeout(this.retryTimer);
    this.unwatch();
    if (reload === undefined) this.queue.failAll('shutting_down', 'the gateway is shutting down');
    else this.queue.failAll('device_unavailable', reload);
    const port = this.port;
    this.port = undefined;
    this.current = { id: this.id, source: 'serial', state: 'down', reason: reload ?? 'stopped' };
    if (port) await closePort(port);
  }

  private async connect(): Promise<void> {
    this.retryTimer = undefined;
    if (this.stopped) return;
    const s = this.cfg.serial;
    let port: SerialPort;
    try {
      ({ port, identity: this.opened } = await openPort(s));
    } catch (err) {
      const { reason } = explainOpenError(err, s.path);
      if (reason !== this.lastOpenError) this.log.warn({ err: (err as Error).message }, `cannot open serial port: ${reason}`);
      else this.log.debug({ err: (err as Error).message }, 'open failed again');
      this.lastOpenError = reason;
      this.setState('down', reason);
      this.scheduleRetry();
      return;
    }
    if (this.stopped) {
      await closePort(port);
      return;
    }
    this.lastOpenError = '';
    this.openedAt = performance.now();
    this.port = port;
    this.intake.reset();
    port.on('data', (chunk: Buffer) =>
      this.guard(() => {
        if (this.port === port) this.intake.push(chunk);
      }),
    );
    port.on('error', (err: Error) => this.guard(() => this.portLost(port, `I/O error: ${err.message}`)));
    port.on('close', (err?: Error & { disconnected?: boolean }) =>
      this.guard(() => this.portLost(port, err?.disconnected ? 'device disconnected (unplugged?)' : 'port closed')),
    );
    this.watchTimer = setInterval(() => void this.guard(() => this.watch(port)), WATCH_INTERVAL_MS);
    this.dirWatcher = watchEntry(s.path, () => void this.guard(() => this.watch(port)));
    // after the listeners: a failing write is reported as an 'error', and loses this port
    if (this.resync && this.cfg.commands.terminator !== '') port.write(this.cfg.commands.terminator);
    this.resync = false;
    this.log.info({ path: s.path, baudRate: s.baudRate }, 'serial port open');
    this.setState('up');
  }

  private async watch(port: SerialPort): Promise<void> {
    const path = this.cfg.serial.path;
    const st = await stat(path).catch(() => undefined);
    const o = this.opened;
    // portLost() outside any catch: an exception from the sink must reach the fault boundary
    if (!st) this.portLost(port, `${path} disappeared (unplugged?)`);
    else if (o && (st.dev !== o.dev || st.ino !== o.ino || st.rdev !== o.rdev))
      this.portLost(port, `${path} now points to another device (replugged?)`);
  }

  /** the open port is gone: once per port, whichever signal came first */
  private portLost(port: SerialPort, reason: string, fault = false): void {
    if (this.port !== port) return;
    this.port = undefined;
    // Only a port that stayed open for a whole backoff cap was a good connection after which the
    // steps start afresh. A fault, or a loss sooner (a loose cable, firmware that resets at every
    // open), keeps them climbing, so such a loop slows down to a reopen per reconnect.maxMs.
    if (!fault && performance.now() - this.openedAt >= this.cfg.serial.reconnect.maxMs) this.attempt = 0;
    this.unwatch();
    this.log.warn({ reason }, 'serial device lost');
    this.queue.failAll('device_unavailable', `device went down: ${reason}`);
    void closePort(port);
    this.scheduleRetry();
    // last: the sink may throw (then `guard` reports it), and the reopen is already scheduled
    this.setState('down', reason);
  }

  /** The fault boundary around every callback (serialport, fs, timers): a throw resets the port. */
  private guard(run: () => void | Promise<void>): Promise<void> {
    try {
      return Promise.resolve(run()).catch((err: unknown) => this.fault(err));
    } catch (err) {
      this.fault(err);
      return Promise.resolve();
    }
  }

  private fault(err: unknown): void {
    metrics.faults.inc({ boundary: 'source' });
    const message = err instanceof Error ? err.message : String(err);
    this.log.error({ code: 'SG_ERR_SOURCE_FAULT', err }, 'a serial source handler threw: the port is reset');
    const reason = `internal fault: ${message.slice(0, 200)}`;
    try {
      if (this.port) this.portLost(this.port, reason, true);
      else this.scheduleRetry(); // the fault came while down (announcing it): keep trying
    } catch {
      // the sink threw again while told the device is down: the same fault, logged above;
      // portLost() has closed the port and scheduled the reopen before calling it
    }
  }

  private unwatch(): void {
    clearInterval(this.watchTimer);
    this.dirWatcher?.close();
    this.dirWatcher = undefined;
  }

  private scheduleRetry(): void {
    if (this.stopped || this.retryTimer) return;
    const delay = backoffDelay(this.attempt++, this.cfg.serial.reconnect);
    metrics.reconnects.inc({ source: this.id });
    this.retryTimer = setTimeout(() => void this.guard(() => this.connect()), delay);
  }

  private setState(state: 'up' | 'down', reason?: string): void {
    if (this.current.state === state && this.current.reason === reason) return;
    this.current = { id: this.id, source: 'serial', state, ...(reason !== undefined && { reason }) };
    this.sink.state(this.status());
  }

  private writeDrained(data: Buffer): Promise<void> {
    const port = this.port;
    if (!port) return Promise.reject(new Error('port is closed'));
    return new Promise((resolve, reject) => {
      port.write(data, (err) => {
        if (err) return reject(err);
        port.drain((e) => (e ? reject(e) : resolve()));
      });
    });
  }
}
