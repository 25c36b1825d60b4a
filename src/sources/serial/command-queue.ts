/**
 * Commands for one serial port, one at a time: a command is written (and drained) and, for a
 * request/response device, its reply awaited, before the next one touches the wire, so two
 * commands never interleave. Sans-I/O apart from the injected `write` and timers.
 *
 * One deadline per command, owned here and nowhere else (the router arms none): it starts when the
 * command goes on the wire and covers the write, the drain and, with `reply`, the reply. A command
 * waiting behind others has none of its own; it is bounded by the deadlines of those ahead.
 * A deadline that passes before the write drained means the device stopped reading (a USB CDC
 * device whose firmware hung, flow control held forever): the port is stuck, so the command fails
 * with `timeout`, every command behind it with `device_unavailable`, and the owner is told to reset
 * the port (`stalled`). A deadline that passes after the drain is only a missing reply.
 *
 * Reply matching: while a command waits, the first received line matching `reply.match` is its
 * reply and is consumed (not also a reading); lines that do not match stay readings. Matching
 * starts when the write starts, because a fast device can answer before the drain callback runs.
 * A reply that arrives after its timeout is an ordinary reading (or the next command's reply if it
 * matches while that one waits: a device that answers late cannot be told apart).
 *
 * Fair between origins (dashboard connections, fleet origins): one origin holds at most half of
 * the queue, and the next command on the wire is the oldest of the origin served least recently.
 * Without it, one operator's script at its rate limit kept the queue full: another dashboard's one
 * command was refused `busy`, or waited behind fifteen of the script's.
 *
 * The queue executes, it does not validate: the router (src/hub/commands.ts) is the one check of a
 * command line (length, control characters, terminator, commands.allow) before it gets here.
 */
import { CommandError } from '../../domain.js';

export interface CommandQueueOptions {
  device: string;
  terminator: string;
  /** with a reply pattern, `timeoutMs` is the command's one deadline (write, drain and reply) */
  reply?: { match: RegExp; timeoutMs: number };
  /** the deadline of a command without a reply pattern: written and drained within this */
  writeTimeoutMs: number;
  /** commands accepted at a time, the one on the wire included; beyond → busy */
  queue: number;
}

interface Job {
  line: string;
  origin: object;
  resolve(r: { reply?: string }): void;
  reject(e: CommandError): void;
  timer?: NodeJS.Timeout;
  drained: boolean;
}

/** the origin of commands submitted without one */
const ANONYMOUS = {};

export class CommandQueue {
  private readonly waiting: Job[] = [];
  private active: Job | undefined;
  /** when each origin last had a command put on the wire (a count of dispatches); weak: origins come and go */
  private readonly served = new WeakMap<object, number>();
  private dispatched = 0;

  /**
   * `write` resolves once the bytes are written and drained. `stalled` is called when a write did
   * not drain within its deadline, after every accepted command was answered: reset the port.
   */
  constructor(
    private readonly opts: CommandQueueOptions,
    private readonly write: (data: Buffer) => Promise<void>,
    private readonly stalled: (reason: string) => void,
  ) {}

  /** commands accepted and not yet finished */
  get size(): number {
    return this.waiting.length + (this.active ? 1 : 0);
  }

  /** `line` was checked by the router: one line, no terminator inside, within commands.maxLength */
  submit(line: string, origin: object = ANONYMOUS): Promise<{ reply?: string }> {
    if (this.size >= this.opts.queue) {
      return Promise.reject(this.error('busy', `${this.size} commands already queued for this port (commands.queue)`));
    }
    const share = Math.ceil(this.opts.queue / 2);
    const held = this.waiting.filter((j) => j.origin === origin).length + (this.active?.origin === origin ? 1 : 0);
    if (held >= share) {
      return Promise.reject(
        this.error('busy', `${held} commands of this origin already queued for this port (one origin may hold half of commands.queue: ${share})`),
      );
    }
    return new Promise((resolve, reject) => {
      this.waiting.push({ line, origin, resolve, reject, drained: false });
      this.pump();
    });
  }

  /** a received line: true when it was the reply of the command in progress (then it is consumed) */
  offer(line: string): boolean {
    const job = this.active;
    if (!job || !this.opts.reply || !this.opts.reply.match.test(line)) return false;
    this.finish(job, { reply: line });
    return true;
  }

  /** reject everything accepted (device gone, shutdown) */
  failAll(code: 'device_unavailable' | 'shutting_down', message: string): void {
    const jobs = [...(this.active ? [this.active] : []), ...this.waiting.splice(0)];
    this.active = undefined;
    for (const job of jobs) {
      clearTimeout(job.timer);
      job.reject(this.error(code, message));
    }
  }

  private pump(): void {
    if (this.active || this.waiting.length === 0) return;
    // the oldest command of the origin served least recently (one never served first)
    let next = 0;
    for (let i = 1; i < this.waiting.length; i++) {
      if ((this.served.get(this.waiting[i]!.origin) ?? -1) < (this.served.get(this.waiting[next]!.origin) ?? -1)) next = i;
    }
    const job = this.waiting.splice(next, 1)[0]!;
    this.served.set(job.origin, this.dispatched++);
    this.active = job;
    const reply = this.opts.reply;
    const deadlineMs = reply ? reply.timeoutMs : this.opts.writeTimeoutMs;
    job.timer = setTimeout(() => this.expire(job, deadlineMs), deadlineMs);
    this.write(Buffer.from(job.line + this.opts.terminator)).then(
      () => {
        job.drained = true;
        if (!reply) this.finish(job, {});
      },
      (err: Error) => this.finish(job, this.error('device_unavailable', `write failed: ${err.message}`)),
    );
  }

  private expire(job: Job, deadlineMs: number): void {
    const reply = this.opts.reply;
    if (job.drained && reply) {
      return this.finish(job, this.error('timeout', `no reply matching /${reply.match.source}/ within ${deadlineMs} ms`));
    }
    // the port is stuck: nothing behind this command can go out until it is reset
    const reason = `the device did not take a command within ${deadlineMs} ms (write not drained: is it still reading?)`;
    this.active = undefined;
    job.reject(this.error('timeout', `${reason}; the port is reset`));
    this.failAll('device_unavailable', `the port is reset: ${reason}`);
    this.stalled(reason);
  }

  /** settle a job once; whatever happens later to it (late write callback) is ignored */
  private finish(job: Job, result: { reply?: string } | CommandError): void {
    if (job !== this.active) return;
    clearTimeout(job.timer);
    this.active = undefined;
    if (result instanceof CommandError) job.reject(result);
    else job.resolve(result);
    this.pump();
  }

  private error(code: ConstructorParameters<typeof CommandError>[0], message: string): CommandError {
    return new CommandError(code, message, this.opts.device);
  }
}
