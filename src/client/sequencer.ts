/**
 * Exactly-once, in-order delivery of readings across reconnects, sans-I/O (no sockets, no
 * timers): the client feeds it hello / reading / gap messages and it calls back with what to
 * deliver. The gateway numbers every reading with one monotonic `seq`; this is where a client
 * turns that into "no duplicates, no silent holes".
 *
 * Three situations send readings out of seq order, and each gets a bounded phase:
 * - a fresh session: the snapshot (last value per device, seqs ≤ hello.seq) comes in device
 *   order, so until the first live reading (seq > hello.seq) any unseen seq ≤ hello.seq is new;
 * - after a `gap`: the latest values inside the gap follow it, again in device order;
 * - a resumed session: the snapshot arrives before the replay of (since, hello.seq] that our
 *   `subscribe` asked for, and both overlap. Readings are held and released in seq order once
 *   every seq of that range has arrived or been declared a gap (or on `flush()`, which the
 *   client calls after a short settle time for subscriptions narrower than "*").
 */
import type { GapMessage, ReadingMessage } from './messages.js';

export interface SequencerHandlers {
  reading(r: ReadingMessage): void;
  gap(g: { from: number; to: number }): void;
  /** the gateway's seq went backwards: it restarted and readings after `previousSeq` are unknown */
  reset(info: { previousSeq: number; seq: number }): void;
}

export interface SequencerStats {
  /** readings that arrived */
  received: number;
  /** readings handed to the application */
  delivered: number;
  /** readings dropped because they were delivered before (replay overlap, snapshot) */
  duplicates: number;
  /** gap messages, and the number of seqs they declared lost */
  gaps: number;
  missed: number;
  /** gateway restarts detected (seq went backwards) */
  resets: number;
}

/** Readings held in one resume window at most; beyond this it is released as it is. */
const MAX_PENDING = 50_000;

interface ResumeWindow {
  /** exclusive: the last seq delivered before the reconnect */
  from: number;
  /** inclusive: hello.seq of the new session */
  to: number;
  pending: Map<number, ReadingMessage>;
  gaps: [number, number][];
  /** seqs of (from, to] accounted for: held, or inside a gap */
  covered: number;
}

interface UnorderedPhase {
  /** exclusive lower and inclusive upper bound of the seqs that may arrive out of order */
  lo: number;
  hi: number;
  seen: Set<number>;
}

export class Sequencer {
  private last = 0;
  private started = false;
  private window: ResumeWindow | undefined;
  private unordered: UnorderedPhase | undefined;
  readonly stats: SequencerStats = { received: 0, delivered: 0, duplicates: 0, gaps: 0, missed: 0, resets: 0 };

  constructor(private readonly handlers: SequencerHandlers) {}

  /** the highest seq delivered (0 before the first) */
  get lastSeq(): number {
    return this.last;
  }

  /** true while a resume window holds readings back */
  get resuming(): boolean {
    return this.window !== undefined;
  }

  /**
   * A session started with this hello.seq. Returns the `since` to send in `subscribe`, or
   * undefined for the first session (the snapshot is all it needs).
   */
  hello(seq: number): number | undefined {
    this.flush();
    this.unordered = undefined;
    if (!this.started) {
      this.started = true;
      this.unordered = { lo: 0, hi: seq, seen: new Set() };
      return undefined;
    }
    if (seq < this.last) {
      // A restarted gateway counts from 0 again: what it holds now is all new to us.
      const previousSeq = this.last;
      this.last = 0;
      this.stats.resets++;
      this.handlers.reset({ previousSeq, seq });
    }
    if (seq > this.last) this.window = { from: this.last, to: seq, pending: new Map(), gaps: [], covered: 0 };
    return this.last;
  }

  reading(r: ReadingMessage): void {
    this.stats.received++;
    const w = this.window;
    if (w) return this.hold(w, r);
    const u = this.unordered;
    if (u) {
      if (r.seq > u.hi) this.unordered = undefined;
      else {
        if (r.seq <= u.lo || u.seen.has(r.seq)) return this.duplicate();
        u.seen.add(r.seq);
        return this.deliver(r);
      }
    }
    if (r.seq <= this.last) return this.duplicate();
    this.deliver(r);
  }

  gap(g: GapMessage): void {
    this.stats.gaps++;
    this.stats.missed += g.to - g.from + 1;
    this.handlers.gap({ from: g.from, to: g.to });
    const w = this.window;
    if (w) {
      w.gaps.push([g.from, g.to]);
      w.covered = coverage(w);
      if (w.covered >= w.to - w.from) this.flush();
      return;
    }
    // The latest values inside the gap follow it, in device order rather than seq order.
    if (g.to > this.last) this.unordered = { lo: Math.max(this.last, g.from - 1), hi: g.to, seen: new Set() };
  }

  /** Release a resume window: what it holds, in seq order. */
  flush(): void {
    const w = this.window;
    if (!w) return;
    this.window = undefined;
    const seqs = [...w.pending.keys()].sort((a, b) => a - b);
    for (const s of seqs) this.deliver(w.pending.get(s)!);
  }

  private hold(w: ResumeWindow, r: ReadingMessage): void {
    if (r.seq <= w.from || w.pending.has(r.seq)) return this.duplicate();
    w.pending.set(r.seq, r);
    if (r.seq <= w.to && !inGaps(w.gaps, r.seq)) w.covered++;
    if (w.covered >= w.to - w.from || w.pending.size >= MAX_PENDING) this.flush();
  }

  private deliver(r: ReadingMessage): void {
    if (r.seq > this.last) this.last = r.seq;
    this.stats.delivered++;
    this.handlers.reading(r);
  }

  private duplicate(): void {
    this.stats.duplicates++;
  }
}

function inGaps(gaps: readonly [number, number][], seq: number): boolean {
  for (const [a, b] of gaps) if (seq >= a && seq <= b) return true;
  return false;
}

/** |(from, to] ∩ (union of gaps ∪ held seqs)|; runs once per gap message, which is rare. */
function coverage(w: ResumeWindow): number {
  const clipped = w.gaps
    .map(([a, b]): [number, number] => [Math.max(a, w.from + 1), Math.min(b, w.to)])
    .filter(([a, b]) => a <= b)
    .sort((x, y) => x[0] - y[0]);
  let total = 0;
  let end = w.from;
  for (const [a, b] of clipped) {
    const start = Math.max(a, end + 1);
    if (b >= start) total += b - start + 1;
    end = Math.max(end, b);
  }
  for (const s of w.pending.keys()) if (s > w.from && s <= w.to && !inGaps(clipped, s)) total++;
  return total;
}
