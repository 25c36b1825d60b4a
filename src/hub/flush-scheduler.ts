/**
 * When a connection's queued frames are written (hub.coalesceMs), so that coalescing costs
 * nothing when the gateway is quiet and batches only under load (Home Assistant's rule: batch what
 * is already there, do not delay what arrives alone):
 *
 * - a connection not written to within the window is flushed at the end of this loop turn
 *   (setImmediate): everything that arrived in the same turn (one socket read of the broker or
 *   port can carry many readings) still leaves in one write, and a lone reading waits for nothing;
 * - a connection written to within the window is under load: what arrives is batched until the
 *   window since its last write has passed, so it gets at most one write per window.
 *
 * One pass flushes every connection that is due, sharing one concatenation per encoding (see
 * PassBuffer), so N connections subscribed to the same readings cost one copy, not N.
 */
import type { Encoding } from '../protocol/messages.js';
import type { PassBuffer } from './session.js';

/** What the scheduler needs of a Session. */
export interface Flushable {
  readonly encoding: Encoding;
  /** performance.now() of the last write, -Infinity before the first */
  readonly lastWriteAt: number;
  flush(shared?: PassBuffer): void;
}

export class FlushScheduler<S extends Flushable> {
  /** quiet connections: flushed at the end of this loop turn */
  private readonly now = new Set<S>();
  /** busy connections: flushed when the window since their last write has passed */
  private readonly later = new Set<S>();
  private immediate: NodeJS.Immediate | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly passNow = () => {
    this.immediate = undefined;
    this.pass(this.now);
  };
  private readonly passLater = () => {
    // it fired: clearing it again would only cost a timer-list lookup per pass
    this.timer = undefined;
    this.pass(this.later);
  };

  /** `windowMs`: read on every use, so a reload applies at once */
  constructor(private readonly windowMs: () => number) {}

  /** `s` has frames queued (it calls this once per batch, when its queue stops being empty). */
  schedule(s: S): void {
    const window = this.windowMs();
    if (window === 0) return s.flush();
    // clamped: a connection never waits longer than the window, whatever its clock reading says
    const wait = Math.min(window, s.lastWriteAt + window - performance.now());
    if (wait <= 0) {
      this.now.add(s);
      this.immediate ??= setImmediate(this.passNow);
      return;
    }
    this.later.add(s);
    this.timer ??= setTimeout(this.passLater, wait);
  }

  /** The connection is gone: nothing of it is flushed any more. */
  forget(s: S): void {
    this.now.delete(s);
    this.later.delete(s);
  }

  /** Everything queued goes out now (shutdown). */
  flushAll(): void {
    if (this.immediate) clearImmediate(this.immediate);
    if (this.timer) clearTimeout(this.timer);
    this.immediate = this.timer = undefined;
    this.pass(this.now);
    this.pass(this.later);
  }

  private pass(due: Set<S>): void {
    const shared: Record<Encoding, PassBuffer> = { json: { frames: [], buf: undefined }, cbor: { frames: [], buf: undefined } };
    for (const s of due) s.flush(shared[s.encoding]);
    due.clear();
  }
}
