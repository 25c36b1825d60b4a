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
 *
 * A seq means something only in its stream, named by hello's `epoch`. A hello with another
 * epoch is a restart whatever the numbers: the old stream's seqs say nothing about the new one's,
 * so nothing of the new run is dropped as "already seen". The gateway confirms it with a `reset`
 * (the since we sent counted in another stream); a `reset` we did not see coming is a restart too.
 */
import type { GapMessage, ReadingMessage } from '../protocol/messages.js';
import { MAX_RESUME_PENDING } from '../bounds.js';

/** The stream started again: readings of the old one after `previousSeq` are unknown. */
export interface ResetInfo {
  /** the stream followed until now and the last seq delivered from it */
  previousEpoch: string;
  previousSeq: number;
  /** the stream that follows and the hello.seq of the session that told us */
  epoch: string;
  seq: number;
}

/** What a resumed session sends back in `subscribe`: where we are, and in which stream. */
export interface Resume {
  since: number;
  epoch: string;
}

export interface SequencerHandlers {
  reading(r: ReadingMessage): void;
  gap(g: { from: number; to: number }): void;
  reset(info: ResetInfo): void;
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
  /** gateway restarts detected (a new epoch, or a `reset`) */
  resets: number;
}

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
  /** the stream `last` counts in; undefined before the first hello */
  private current: string | undefined;
  private helloSeq = 0;
  /** the gateway will answer this session's subscribe with a reset we already acted on */
  private resetExpected = false;
  private window: ResumeWindow | undefined;
  private unordered: UnorderedPhase | undefined;
  readonly stats: SequencerStats = { received: 0, delivered: 0, duplicates: 0, gaps: 0, missed: 0, resets: 0 };

  constructor(private readonly handlers: SequencerHandlers) {}

  /** the highest seq delivered (0 before the first) */
  get lastSeq(): number {
    return this.last;
  }

  /** the epoch of the stream followed (undefined before the first hello) */
  get epoch(): string | undefined {
    return this.current;
  }

  /** true while a resume window holds readings back */
  get resuming(): boolean {
    return this.window !== undefined;
  }

  /**
   * A session started with this hello. Returns the `since` and `epoch` to send in `subscribe`
   * (always ours: the gateway decides whether they continue its stream), or undefined for the
   * first session (the snapshot is all it needs).
   */
  hello(seq: number, epoch: string): Resume | undefined {
    this.flush();
    this.unordered = undefined;
    this.helloSeq = seq;
    this.resetExpected = false;
    if (this.current === undefined) {
      this.current = epoch;
      this.unordered = { lo: 0, hi: seq, seen: new Set() };
      return undefined;
    }
    const resume = { since: this.last, epoch: this.current };
    // Another stream, or ours counting below what we had (no gateway does that; the gateway
    // refuses such a since too): what it holds now is all new to us.
    if (epoch !== this.current || seq < this.last) {
      this.restart(epoch, seq);
      this.resetExpected = true;
    }
    if (seq > this.last) this.window = { from: this.last, to: seq, pending: new Map(), gaps: [], covered: 0 };
    return resume;
  }

  /** `reset`: the since we sent does not continue the gateway's stream `epoch`. */
  reset(epoch: string): void {
    if (this.resetExpected && epoch === this.current) {
      this.resetExpected = false;
      return;
    }
    // Unforeseen: what was held is released, and until the first live reading any unseen seq of
    // the new stream up to hello.seq (the replay that follows) is delivered, as for a fresh session.
    this.flush();
    this.restart(epoch, this.helloSeq);
    this.unordered = { lo: 0, hi: this.helloSeq, seen: new Set() };
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
    if (w.covered >= w.to - w.from || w.pending.size >= MAX_RESUME_PENDING) this.flush();
  }

  private restart(epoch: string, seq: number): void {
    const info: ResetInfo = { previousEpoch: this.current!, previousSeq: this.last, epoch, seq };
    this.current = epoch;
    this.last = 0;
    this.stats.resets++;
    this.handlers.reset(info);
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
