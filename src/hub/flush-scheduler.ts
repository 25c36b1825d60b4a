/**
 * When the frames queued for dashboards are written. A write costs about the same whether it
 * carries one frame or ten (the syscall and the kernel's TCP path: on loopback the receiver's side
 * too), so batching saves CPU, and holding a frame back for it costs latency. By default no frame
 * is held (hub.coalesceMs 0):
 *
 * - every connection with queued frames is written by one pass at the end of the loop turn
 *   (setImmediate): what arrived in the same turn leaves in one write per connection. A quiet
 *   gateway writes each reading in the turn it arrived in; a busy one (long turns, several
 *   readings per socket read of the broker or a port) batches by itself, the more the busier;
 * - hub.coalesceMs > 0 trades latency for CPU: each pass is timed, the next one starts no sooner
 *   than (100 / FLUSH_SHARE_PERCENT − 1) times its duration after it ended (9 times at 10 %), so
 *   writing to dashboards takes at most that share of the time, and no frame waits longer than
 *   hub.coalesceMs. A pass over a few connections takes tens of µs, so a quiet gateway still
 *   holds nothing.
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

  /** `windowMs` (hub.coalesceMs): read on every use, so a reload applies at once */
  constructor(private readonly windowMs: () => number) {}

  /** `s` has frames queued (it calls this once per batch, when its queue stops being empty). */
  schedule(s: S): void {
    this.due.push(s);
    if (this.immediate !== undefined || this.timer !== undefined) return;
    const window = this.windowMs();
    // clamped: a frame never waits longer than the window, whatever a slow pass made nextPassAt
    const wait = window === 0 ? 0 : Math.min(window, this.nextPassAt - performance.now());
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
