/**
 * History requests between `client.history()` and their answer. A history request only reads, so
 * unlike a command it is safe to send again: one the connection lost before its answer is sent
 * again on the next session (`resend`), and only the deadline, an `error` or close() end it.
 */
import { HistoryFailedError } from './errors.js';
import type { ErrorBody, HistoryMessage, HistoryRange, HistoryRequestMessage } from '../protocol/messages.js';

interface Pending {
  msg: HistoryRequestMessage;
  timer: ReturnType<typeof setTimeout>;
  resolve(a: HistoryMessage): void;
  reject(e: HistoryFailedError): void;
}

export class HistoryRequests {
  private readonly pending = new Map<string, Pending>();
  private nextId = 0;

  constructor(private readonly timeoutMs: number) {}

  /** a new request; `send` is called now when the session is ready, else by resend() */
  add(device: string, range: HistoryRange, timeoutMs = this.timeoutMs): { msg: HistoryRequestMessage; answer: Promise<HistoryMessage> } {
    const msg: HistoryRequestMessage = { type: 'history', id: `h${++this.nextId}`, device, ...range };
    const answer = new Promise<HistoryMessage>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(msg.id, 'client_timeout', `no history answer within ${timeoutMs} ms`), timeoutMs);
      this.pending.set(msg.id, { msg, timer, resolve, reject });
    });
    return { msg, answer };
  }

  /** every request still waiting: a new session sends them (again) */
  waiting(): HistoryRequestMessage[] {
    return [...this.pending.values()].map((p) => p.msg);
  }

  answer(msg: HistoryMessage): void {
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.remove(msg.id);
    p.resolve(msg);
  }

  /** a server `error` naming a request id (an invalid range, a store failure) */
  error(id: string, body: ErrorBody): void {
    this.fail(id, body.code, body.message);
  }

  closeAll(message: string): void {
    for (const id of [...this.pending.keys()]) this.fail(id, 'closed', message);
  }

  private fail(id: string, code: string, message: string): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.remove(id);
    p.reject(new HistoryFailedError(code, message, p.msg.device, id));
  }

  private remove(id: string): void {
    clearTimeout(this.pending.get(id)?.timer);
    this.pending.delete(id);
  }
}
