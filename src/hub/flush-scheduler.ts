/**
 * When the frames queued for dashboards are written (hub.coalesceMs). A write costs about the same
 * whether it carries one frame or ten: the syscall and the kernel's TCP path are most of it (on
 * loopback the receiver's side too). Coalescing saves that CPU and costs latency, so it is paid
 * only when the gateway's own fan-out work is heavy, not by a connection's rate alone:
 *
 * - every connection with queued frames is written by one pass at the end of the loop turn
 *   (setImmediate): what arrived in the same turn (a socket read of the broker or a port can carry
 *   several readings) leaves in one write per connection, and on a quiet gateway nothing waits;
 * - each pass is timed, and the next one starts no sooner than (100 / FLUSH_SHARE_PERCENT − 1)
 *   times its duration after it ended (9 times at 10 %): writing to dashboards takes at most that
 *   share of the time. A pass over a few connections takes tens of µs, so the next reading,
 *   milliseconds later, goes at once; one over hundreds takes milliseconds, and the readings that
 *   arrive meanwhile are batched, more of them the more connections there are;
 * - no frame waits longer than hub.coalesceMs; 0 writes every frame at once (no pass).
 *
 * One pass shares one concatenation per encoding (see PassBuffer), so N connections subscribed to
 * the same readings cost one copy, not N.
 */
import { FLUSH_SHARE_PERCENT } from '../bounds.js';
import type { Encoding } from '../protocol/messages.js';
import type { PassBuffer } from './session.js';

/** What the scheduler needs of a Session. */
export interface Flushable {
  readonly encoding: Encoding;
  flush(shared?: PassBuffer): void;
}

/** ms the scheduler waits after a pass per ms the pass took */
const PAUSE_PER_PASS_MS = 100 / FLUSH_SHARE_PERCENT - 1;

export class FlushScheduler<S extends Flushable> {
  /** connections with queued frames, written by the next pass (an array: one push per connection
   *  and pass is the hot path; one listed twice costs an empty flush) */
  private due: S[] = [];
  private immediate: NodeJS.Immediate | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** performance.now() from which the next pass may start */
  private nextPassAt = 0;
  private readonly run = () => {
    // it fired: clearing it again would only cost a timer-list lookup per pass
    this.immediate = this.timer = undefined;
    this.pass();
  };

  /** `windowMs`: read on every use, so a reload applies at once */
  constructor(private readonly windowMs: () => number) {}

  /** `s` has frames queued (it calls this once per batch, when its queue stops being empty). */
  schedule(s: S): void {
    const window = this.windowMs();
    if (window === 0) return s.flush();
    this.due.push(s);
    if (this.immediate !== undefined || this.timer !== undefined) return;
    // clamped: a frame never waits longer than the window, whatever a slow pass made nextPassAt
    const wait = Math.min(window, this.nextPassAt - performance.now());
    if (wait > 0) this.timer = setTimeout(this.run, wait);
    else this.immediate = setImmediate(this.run);
  }

  /** The connection is gone: nothing of it is flushed any more. */
  forget(s: S): void {
    if (this.due.includes(s)) this.due = this.due.filter((d) => d !== s);
  }

  /** Everything queued goes out now (shutdown). */
  flushAll(): void {
    if (this.immediate) clearImmediate(this.immediate);
    if (this.timer) clearTimeout(this.timer);
    this.immediate = this.timer = undefined;
    this.pass();
  }

  private pass(): void {
    const start = performance.now();
    const shared: Record<Encoding, PassBuffer> = { json: { frames: [], buf: undefined }, cbor: { frames: [], buf: undefined } };
    const due = this.due;
    // what a flush makes due (a connection queueing again) waits for the next pass
    this.due = [];
    for (const s of due) s.flush(shared[s.encoding]);
    const end = performance.now();
    this.nextPassAt = end + (end - start) * PAUSE_PER_PASS_MS;
  }
}
