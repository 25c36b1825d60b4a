/**
 * Commands between `client.command()` and their ack: held back (queued) until the socket can take
 * them, then in flight until the ack. Every command's promise settles exactly once — ack, error,
 * deadline, lost connection or close — and a command is never sent after its deadline: "LED ON"
 * minutes late is worse than an error.
 */
import { CommandFailedError } from './errors.js';
import type { AckMessage, CommandMessage, ErrorBody } from '../protocol/messages.js';

export interface CommandResult {
  id: string;
  /** the device's reply line, when its config declares a reply pattern */
  reply?: string;
}

/** what the caller asked for: a bare string becomes `line` or `payload` once the device's source is known */
export type CommandInput = string | { line: string } | { payload: unknown };

interface Pending {
  id: string;
  device: string;
  input: CommandInput;
  timer: ReturnType<typeof setTimeout>;
  resolve(r: CommandResult): void;
  reject(e: CommandFailedError): void;
}

export class Commands {
  private readonly queue: Pending[] = [];
  private readonly inflight = new Map<string, Pending>();
  private nextId = 0;
  sent = 0;

  constructor(private readonly timeoutMs: number) {}

  add(device: string, input: CommandInput, timeoutMs = this.timeoutMs): Promise<CommandResult> {
    const id = `c${++this.nextId}`;
    return new Promise<CommandResult>((resolve, reject) => {
      const c: Pending = {
        id,
        device,
        input,
        resolve,
        reject,
        timer: setTimeout(() => {
          const sent = this.inflight.has(id);
          this.fail(c, 'client_timeout', `no ack within ${timeoutMs} ms${sent ? '' : ' (never sent: not connected)'}`);
        }, timeoutMs),
      };
      this.queue.push(c);
    });
  }

  get waiting(): number {
    return this.queue.length;
  }

  /** the next held-back command as a wire message, now in flight; `mqtt(device)` picks line or payload */
  takeNext(mqtt: (device: string) => boolean): CommandMessage | undefined {
    const c = this.queue.shift();
    if (!c) return undefined;
    this.inflight.set(c.id, c);
    this.sent++;
    const { id, device, input } = c;
    if (typeof input !== 'string') return { type: 'command', id, device, ...input };
    return mqtt(device) ? { type: 'command', id, device, payload: input } : { type: 'command', id, device, line: input };
  }

  ack(msg: AckMessage): void {
    const c = this.inflight.get(msg.id);
    if (!c) return;
    this.remove(c);
    if (msg.ok) c.resolve(msg.reply === undefined ? { id: c.id } : { id: c.id, reply: msg.reply });
    else c.reject(new CommandFailedError(msg.error.code, msg.error.message, c.device, c.id));
  }

  /** a server `error` naming a command id in flight */
  error(id: string, body: ErrorBody): void {
    const c = this.inflight.get(id);
    if (c) this.fail(c, body.code, body.message);
  }

  /** the connection dropped: what was sent may or may not have run; what waits keeps waiting */
  connectionLost(): void {
    for (const c of [...this.inflight.values()]) {
      this.fail(c, 'connection_lost', 'the connection closed before the ack: the command may or may not have run');
    }
  }

  /** no more connections: everything fails */
  closeAll(message: string): void {
    for (const c of [...this.queue, ...this.inflight.values()]) this.fail(c, 'closed', message);
  }

  private fail(c: Pending, code: string, message: string): void {
    this.remove(c);
    c.reject(new CommandFailedError(code, message, c.device, c.id));
  }

  private remove(c: Pending): void {
    clearTimeout(c.timer);
    this.inflight.delete(c.id);
    const i = this.queue.indexOf(c);
    if (i >= 0) this.queue.splice(i, 1);
  }
}
