/**
 * FlushScheduler's policy with fake timers and a fake clock: nothing waits on a quiet gateway,
 * what arrives in one loop turn leaves in one write, and with a window (hub.coalesceMs > 0), after
 * a pass that took long enough to matter, the frames that follow are batched for
 * (100 / FLUSH_SHARE_PERCENT − 1) times the pass's duration, never longer than the window; with
 * none (0, the default) nothing is ever held past the end of its turn.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FLUSH_SHARE_PERCENT } from '../../../src/bounds.js';
import { FlushScheduler, type Flushable } from '../../../src/hub/flush-scheduler.js';
import type { PassBuffer } from '../../../src/hub/session.js';

const PAUSE = 100 / FLUSH_SHARE_PERCENT - 1;

/** A connection whose writes are counted; a write takes `costMs` of the (fake) clock. */
class Conn implements Flushable {
  readonly encoding = 'json' as const;
  queued = 0;
  /** frames per write, one entry per write */
  readonly writes: number[] = [];
  readonly shared: (PassBuffer | undefined)[] = [];
  /** performance.now() at each write */
  readonly at: number[] = [];
  constructor(
    private readonly scheduler: FlushScheduler<Conn>,
    private readonly costMs = 0,
  ) {}
  /** a frame arrives for this connection */
  queue(): void {
    if (this.queued++ === 0) this.scheduler.schedule(this);
  }
  flush(shared?: PassBuffer): void {
    if (this.queued === 0) return;
    this.writes.push(this.queued);
    this.shared.push(shared);
    this.at.push(performance.now());
    this.queued = 0;
    // the write's cost on the clock the scheduler reads (during a pass no timer of the scheduler is pending)
    if (this.costMs > 0) vi.advanceTimersByTime(this.costMs);
  }
}

let window = 5;
const setup = (n: number, costMs = 0) => {
  const scheduler = new FlushScheduler<Conn>(() => window);
  return { scheduler, conns: Array.from({ length: n }, () => new Conn(scheduler, costMs)) };
};

beforeEach(() => {
  window = 5;
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'performance', 'Date'] });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('FlushScheduler', () => {
  it('a quiet gateway: a frame waits for nothing but the end of the loop turn, and what arrives in that turn leaves in one write', () => {
    const { conns } = setup(2);
    const [a, b] = conns as [Conn, Conn];
    a.queue();
    a.queue();
    b.queue();
    expect(a.writes).toEqual([]);
    vi.advanceTimersByTime(0);
    expect(a.writes).toEqual([2]);
    expect(b.writes).toEqual([1]);
    // the pass cost nothing: the next frame, 1 ms later, is not held back either
    vi.advanceTimersByTime(1);
    a.queue();
    vi.advanceTimersByTime(0);
    expect(a.writes).toEqual([2, 1]);
  });

  it('one pass shares one PassBuffer per encoding between the connections it writes', () => {
    const { conns } = setup(3);
    for (const c of conns) c.queue();
    vi.advanceTimersByTime(0);
    expect(conns[0]!.shared[0]).toBeDefined();
    expect(conns[1]!.shared[0]).toBe(conns[0]!.shared[0]);
    expect(conns[2]!.shared[0]).toBe(conns[0]!.shared[0]);
  });

  it('after a pass that took time, what follows is batched for PAUSE × its duration, then written in one pass', () => {
    // 10 connections × 0.1 ms: a 1 ms pass, so the next may start PAUSE ms after it ended
    const { conns } = setup(10, 0.1);
    window = 1000;
    for (const c of conns) c.queue();
    vi.advanceTimersByTime(0);
    expect(conns.map((c) => c.writes)).toEqual(conns.map(() => [1]));
    const passEnded = performance.now();
    expect(passEnded - conns[0]!.at[0]!).toBeCloseTo(1);
    // three readings, one every 0.5 ms, reach every connection during the pause
    for (let i = 0; i < 3; i++) {
      for (const c of conns) c.queue();
      vi.advanceTimersByTime(0.5);
    }
    expect(conns[0]!.writes).toEqual([1]);
    vi.advanceTimersByTime(PAUSE);
    expect(conns.map((c) => c.writes)).toEqual(conns.map(() => [1, 3]));
    // written when the pause was over (timers count whole ms), not after the window
    expect(conns[0]!.at[1]! - passEnded).toBeGreaterThanOrEqual(PAUSE);
    expect(conns[0]!.at[1]! - passEnded).toBeLessThan(PAUSE + 1);
  });

  it('a frame never waits longer than the window, however long the last pass took', () => {
    const { conns } = setup(10, 10);
    window = 5;
    for (const c of conns) c.queue();
    vi.advanceTimersByTime(0);
    const c = conns[0]!;
    c.queue();
    vi.advanceTimersByTime(4);
    expect(c.writes).toEqual([1]);
    vi.advanceTimersByTime(1);
    expect(c.writes).toEqual([1, 1]);
  });

  it('once the pause is over the gateway is quiet again: nothing waits', () => {
    const { conns } = setup(10, 0.1);
    window = 1000;
    for (const c of conns) c.queue();
    vi.advanceTimersByTime(0);
    vi.advanceTimersByTime(PAUSE + 1);
    for (const c of conns) c.queue();
    vi.advanceTimersByTime(0);
    expect(conns.map((c) => c.writes)).toEqual(conns.map(() => [1, 1]));
  });

  it('coalesceMs 0 holds nothing: however long a pass took, what follows goes at the end of its own turn', () => {
    window = 0;
    // 10 connections × 1 ms: a 10 ms pass, which under coalesceMs > 0 would hold the next frames for PAUSE × 10 ms
    const { conns } = setup(10, 1);
    for (const c of conns) c.queue();
    expect(conns[0]!.writes).toEqual([]);
    vi.advanceTimersByTime(0);
    expect(conns.map((c) => c.writes)).toEqual(conns.map(() => [1]));
    const c = conns[0]!;
    c.queue();
    c.queue();
    vi.advanceTimersByTime(0);
    expect(c.writes).toEqual([1, 2]);
  });

  it('a forgotten connection is not written; flushAll writes what is queued at once', () => {
    const { scheduler, conns } = setup(2, 10);
    const [a, b] = conns as [Conn, Conn];
    a.queue();
    vi.advanceTimersByTime(0);
    a.queue();
    b.queue();
    scheduler.forget(b);
    scheduler.flushAll();
    expect(a.writes).toEqual([1, 1]);
    expect(b.writes).toEqual([]);
    vi.advanceTimersByTime(window);
    expect(b.writes).toEqual([]);
  });
});
