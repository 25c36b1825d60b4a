/**
 * History requests between `client.history()` and their answer. A history request only reads, so
 * unlike a command it is safe to send again: one the connection lost before its answer is sent
 * again on the next session (waiting()), one the gateway refused for a reason that passes
 * (TRANSIENT) is sent again after a backoff, and only the deadline, another refusal, its signal or
 * close() end it.
 *
 * The retries live here rather than in each app (the dashboard is one of several users of this
 * client): every caller gets the same bounded, jittered policy, and only this side knows which
 * request ids are still waiting, so a retry can neither outlive its request nor be sent twice.
 */
import { Backoff } from '../backoff.js';
import { HISTORY_RETRIES, HISTORY_RETRY_GAP_MS, HISTORY_RETRY_MAX_MS, HISTORY_RETRY_MIN_MS } from '../bounds.js';
import type { ClientErrorCode } from '../errors.js';
import { HistoryFailedError } from './errors.js';
import type { ErrorBody, HistoryMessage, HistoryRange, HistoryRequestMessage } from '../protocol/messages.js';

/**
 * Refusals that pass by themselves: this connection's request rate or the whole gateway's history
 * work spent for the moment (`rate_limited`), a store that failed to read (`history_unavailable`).
 * Any other code (`invalid_field`…) would be refused again: the request fails at once.
 */
const TRANSIENT: ReadonlySet<string> = new Set<ClientErrorCode>(['rate_limited', 'history_unavailable']);

interface Pending {
  msg: HistoryRequestMessage;
  /** when the deadline timer fires (Date.now() ms): no retry is planned past it */
  deadline: number;
  timer: ReturnType<typeof setTimeout>;
  /** set while the request waits to be sent again after a refusal */
  retry?: ReturnType<typeof setTimeout>;
  backoff: Backoff;
  resolve(a: HistoryMessage): void;
  reject(e: HistoryFailedError): void;
  /** removes the abort listener of the caller's signal */
  unlisten(): void;
}

export class HistoryRequests {
  private readonly pending = new Map<string, Pending>();
  private nextId = 0;
  /** the earliest time the next retry may leave (HISTORY_RETRY_GAP_MS after the last one planned) */
  private nextSlot = 0;
  /** requests sent again after a refusal that passes */
  retries = 0;

  constructor(
    private readonly timeoutMs: number,
    /** sends a request now if a session is open; otherwise waiting() hands it to the next one */
    private readonly send: (msg: HistoryRequestMessage) => void,
    private readonly random: () => number = Math.random,
  ) {}

  /** a new request, sent at once when a session is open */
  add(device: string, range: HistoryRange, timeoutMs = this.timeoutMs, signal?: AbortSignal): Promise<HistoryMessage> {
    const msg: HistoryRequestMessage = { type: 'history', id: `h${++this.nextId}`, device, ...range };
    if (signal?.aborted) return Promise.reject(new HistoryFailedError('aborted', 'the request was aborted', device, msg.id));
    const answer = new Promise<HistoryMessage>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(msg.id, 'client_timeout', `no history answer within ${timeoutMs} ms`), timeoutMs);
      const onAbort = () => this.fail(msg.id, 'aborted', 'the request was aborted');
      signal?.addEventListener('abort', onAbort, { once: true });
      const unlisten = () => signal?.removeEventListener('abort', onAbort);
      const backoff = new Backoff({ minMs: HISTORY_RETRY_MIN_MS, maxMs: HISTORY_RETRY_MAX_MS, random: this.random });
      this.pending.set(msg.id, { msg, deadline: Date.now() + timeoutMs, timer, backoff, resolve, reject, unlisten });
    });
    this.send(msg);
    return answer;
  }

  /** every request a new session sends (again): not those waiting for their retry, which leave when it is due */
  waiting(): HistoryRequestMessage[] {
    return [...this.pending.values()].filter((p) => p.retry === undefined).map((p) => p.msg);
  }

  answer(msg: HistoryMessage): void {
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.remove(msg.id);
    p.resolve(msg);
  }

  /**
   * A server `error` naming a request id. A refusal that passes is answered by sending the request
   * again (same id) after a jittered backoff, at most HISTORY_RETRIES times and never past the
   * deadline; retries of all requests leave at least HISTORY_RETRY_GAP_MS apart, so that a
   * dashboard whose sparklines were all refused at once stays under the connection's rate.
   * True when a retry was planned: the refusal is the client's own business then, not news.
   */
  error(id: string, body: ErrorBody): boolean {
    const p = this.pending.get(id);
    if (!p) return false;
    if (TRANSIENT.has(body.code) && p.backoff.attempts < HISTORY_RETRIES) {
      const now = Date.now();
      const at = Math.max(now + p.backoff.next(), this.nextSlot);
      if (at < p.deadline) {
        this.nextSlot = at + HISTORY_RETRY_GAP_MS;
        p.retry = setTimeout(() => {
          p.retry = undefined;
          this.retries++;
          this.send(p.msg);
        }, at - now);
        return true;
      }
    }
    this.fail(id, body.code, body.message);
    return false;
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
    const p = this.pending.get(id);
    if (!p) return;
    clearTimeout(p.timer);
    clearTimeout(p.retry);
    p.unlisten();
    this.pending.delete(id);
  }
}
