import { describe, expect, it } from 'vitest';
import { Cadence } from '../../../web/cadence.js';
import { GatewayClock } from '../../../web/clock.js';
import { fillFromHistory } from '../../../web/history-fill.js';
import { parentOf } from '../../../web/derived.js';
import { Pacer } from '../../../web/pacer.js';
import type { HistoryMessage } from '../../../src/client/index.js';
import { Series } from '../../../web/series.js';
import { polyline } from '../../../web/sparkline.js';

describe('Cadence (a tile\'s "silent for longer than it usually is")', () => {
  it('says nothing until it has seen three intervals', () => {
    const c = new Cadence();
    c.observe(1_000);
    c.observe(2_000);
    c.observe(3_000);
    expect(c.limit()).toBeUndefined();
    expect(c.silent(60_000)).toBe(false);
    c.observe(4_000);
    expect(c.limit()).toBe(5_000);
  });

  it('a 1 s sensor is silent after 5 s; a 20 Hz one after the 3 s floor; a once-a-minute one only after 5 min', () => {
    const every = (ms: number) => {
      const c = new Cadence();
      for (let i = 1; i <= 10; i++) c.observe(i * ms);
      return c;
    };
    const s1 = every(1_000);
    expect(s1.silent(10_000 + 4_900)).toBe(false);
    expect(s1.silent(10_000 + 5_100)).toBe(true);
    expect(every(50).limit()).toBe(3_000);
    const slow = every(60_000);
    expect(slow.silent(600_000 + 120_000)).toBe(false);
    expect(slow.silent(600_000 + 301_000)).toBe(true);
  });

  it('readings that share a time (a buffered burst) do not shorten the usual interval', () => {
    const c = new Cadence();
    for (let i = 1; i <= 5; i++) for (let k = 0; k < 10; k++) c.observe(i * 10_000);
    expect(c.limit()).toBe(50_000);
  });

  it('one stall (a long interval, then a burst) does not move the usual interval', () => {
    const c = new Cadence();
    let t = 0;
    for (let i = 0; i < 10; i++) c.observe((t += 1_000));
    c.observe((t += 12_000));
    for (let i = 0; i < 3; i++) c.observe((t += 5));
    expect(c.limit()).toBe(5_000);
  });

  it('starts from the history, so a device silent since before the page opened is flagged at once', () => {
    const c = new Cadence();
    c.seed([1_000, 2_000, 3_000, 4_000, 4_000, 5_000]);
    expect(c.limit()).toBe(5_000);
    expect(c.silent(5_000 + 6_000)).toBe(true);
    // the live intervals seen before the answer stay, after the history's
    const d = new Cadence();
    d.observe(100_000);
    d.observe(160_000);
    d.seed([1_000, 61_000, 121_000]);
    expect(d.limit()).toBe(300_000);
    // a fast device's history comes as buckets only: a bucket's span over its count
    const e = new Cadence();
    e.seed([], 50);
    expect(e.limit()).toBe(3_000);
    e.observe(10_000);
    expect(e.silent(13_001)).toBe(true);
  });
});

describe('sparkline polyline', () => {
  it("scales x over the window and y to the points' own min..max (inverted: up is up)", () => {
    expect(polyline([10, 15, 20], [1, 3, 2], 10_000, 20_000)).toBe('0.0,22.0 50.0,2.0 100.0,12.0');
  });

  it('stretches points that cover less than the window over the width', () => {
    expect(polyline([290, 300], [5, 6], 0, 300_000)).toBe('0.0,22.0 100.0,2.0');
  });

  it('a flat line sits in the middle; one point is a level stroke; none is empty', () => {
    expect(polyline([1, 2], [7, 7], 1_000, 2_000)).toBe('0.0,12.0 100.0,12.0');
    expect(polyline([2], [7], 1_000, 2_000)).toBe('0.0,12.0 100,12.0');
    expect(polyline([], [], 0, 1)).toBe('');
  });
});

describe('fillFromHistory', () => {
  it('buckets at their mean and middle, raw points after, then what arrived live after the newest point; older own points first', () => {
    const held = new Series(100, 1);
    held.push(500, 9); // before the history's oldest entry: kept
    held.push(1_500, 8); // inside the bucket's span: the bucket counts it, its mean wins
    held.push(3_000, 6); // the raw point itself, held and answered: once, the answer's
    held.push(5_000, 7); // after the newest raw point: appended
    const { series, newest } = fillFromHistory(
      {
        type: 'history',
        id: 'h',
        device: 'd',
        from: 0,
        to: 6_000,
        buckets: [{ ts: 1_000, span: 1_000, count: 2, fields: { t: { min: 1, max: 3, mean: 2, count: 2 } } }],
        points: [{ seq: 1, ts: 3_000, values: { t: 4, s: 'text' } }],
      },
      () => new Series(100, 1),
      (name) => (name === 't' ? held : undefined),
    );
    expect(newest).toBe(3_000);
    expect([...series.keys()]).toEqual(['t']);
    const [xs, ys] = series.get('t')!.view();
    expect(Array.from(xs)).toEqual([0.5, 1.5, 3, 5]);
    expect(Array.from(ys)).toEqual([9, 2, 4, 7]);
  });

  const answer = (
    points: { seq?: number; ts: number; values: Record<string, number> }[],
    to: number,
    buckets: HistoryMessage['buckets'] = [],
  ): HistoryMessage => ({
    type: 'history',
    id: 'h',
    device: 'd',
    from: 0,
    to,
    buckets,
    points,
  });
  const run = (from: number, to: number, every: number) => Array.from({ length: (to - from) / every + 1 }, (_, i) => from + i * every);

  it('a gateway killed and started again: the readings it lost stay drawn between what it kept and what came after, each once, in order', () => {
    // the page drew 1 s readings from 1 s to 40 s; the gateway, killed at 30 s, had flushed up to 12 s only,
    // and the restarted one recorded 33 s .. 40 s: its answer has a hole the page must not open
    const held = new Series(1_000, 250);
    for (const ts of run(1_000, 40_000, 1_000)) held.push(ts, ts / 1_000);
    const kept = run(1_000, 12_000, 1_000).map((ts) => ({ ts, values: { t: ts / 1_000 } })); // an earlier stream: no seq
    const after = run(33_000, 40_000, 1_000).map((ts, i) => ({ seq: i + 1, ts, values: { t: ts / 1_000 } }));
    const { series } = fillFromHistory(
      answer([...kept, ...after], 40_500),
      () => new Series(1_000, 250),
      () => held,
    );
    const [xs, ys] = series.get('t')!.view();
    expect(Array.from(xs)).toEqual(run(1, 40, 1));
    expect(Array.from(ys)).toEqual(run(1, 40, 1));
  });

  it('a field `keep` refuses gets no series; it is asked once per field, in the order the answer names them', () => {
    const asked: string[] = [];
    let room = 2;
    const { series } = fillFromHistory(
      answer(
        [
          { ts: 2_000, values: { a: 1, b: 2, c: 3 } },
          { ts: 3_000, values: { c: 3, d: 4, a: 5 } },
        ],
        3_000,
        [{ ts: 0, span: 1_000, count: 1, fields: { z: { min: 1, max: 1, mean: 1, count: 1 } } }],
      ),
      () => new Series(100, 1),
      () => undefined,
      (name) => {
        asked.push(name);
        return room-- > 0;
      },
    );
    expect(asked).toEqual(['z', 'a', 'b', 'c', 'd']);
    expect([...series.keys()]).toEqual(['z', 'a']);
  });

  it("a bucket covers the readings of its span, but not past the answer's `to`: a reading after it stays", () => {
    const held = new Series(100, 1);
    held.push(61_000, 5); // inside [60 s, 66 s) and before `to`: the bucket counts it
    held.push(64_000, 9); // after `to` (62 s), inside the bucket's span still: the answer cannot hold it
    const { series } = fillFromHistory(
      answer([], 62_000, [{ ts: 60_000, span: 6_000, count: 2, fields: { t: { min: 4, max: 6, mean: 5, count: 2 } } }]),
      () => new Series(100, 1),
      () => held,
    );
    const [xs, ys] = series.get('t')!.view();
    expect(Array.from(xs)).toEqual([63, 64]);
    expect(Array.from(ys)).toEqual([5, 9]);
  });

  it('the same reading held and answered is drawn once, whether the answer brings it with a seq or without', () => {
    for (const seq of [7, undefined]) {
      const held = new Series(100, 100);
      held.push(1_000, 1);
      held.push(1_030, 3); // one 100 ms point: x at the newer reading, the mean of both
      held.push(2_000, 4);
      const pts = [
        { ts: 1_000, values: { t: 1 } },
        { ts: 1_030, values: { t: 3 } },
        { ts: 2_000, values: { t: 4 } },
      ].map((p) => (seq === undefined ? p : { ...p, seq }));
      const { series } = fillFromHistory(
        answer(pts, 2_000),
        () => new Series(100, 100),
        () => held,
      );
      const [xs, ys] = series.get('t')!.view();
      expect(Array.from(xs)).toEqual([1.03, 2]);
      expect(Array.from(ys)).toEqual([2, 4]);
    }
  });
});

describe('Pacer (sparkline history requests)', () => {
  const clock = () => {
    let now = 0;
    const timers: { at: number; f: () => void }[] = [];
    return {
      now: () => now,
      setTimeout: (f: () => void, ms: number) => {
        const t = { at: now + ms, f };
        timers.push(t);
        return t;
      },
      clearTimeout: (t: unknown) => timers.splice(timers.indexOf(t as (typeof timers)[number]) >>> 0, 1),
      advance(ms: number) {
        const end = now + ms;
        for (;;) {
          timers.sort((a, b) => a.at - b.at);
          const t = timers[0];
          if (!t || t.at > end) break;
          timers.shift();
          now = t.at;
          t.f();
        }
        now = end;
      },
    };
  };

  it('a burst, then one per interval; devices that appear later are asked for too, each once, within the rate', () => {
    const c = clock();
    const asked: [number, string][] = [];
    const p = new Pacer((id) => asked.push([c.now(), id]), 16, 80, c);
    for (let i = 0; i < 3; i++) p.add(`listed-${i}`);
    expect(asked).toHaveLength(3);
    c.advance(2_000);
    // 500 ids derived from a topic appear in one moment (and keep coming)
    for (let i = 0; i < 500; i++) p.add(`fleet-dev${i}`);
    for (let i = 0; i < 500; i++) p.add(`fleet-dev${i}`);
    p.add('listed-0');
    expect(asked).toHaveLength(3 + 16);
    c.advance(60_000);
    expect(asked).toHaveLength(503);
    expect(new Set(asked.map(([, id]) => id)).size).toBe(503);
    // never more than the burst plus one per 80 ms in any second: under the gateway's 20/s, burst 40
    for (const [t] of asked) expect(asked.filter(([u]) => u >= t && u < t + 1_000).length).toBeLessThanOrEqual(16 + 13);
    expect(asked.at(-1)![0]).toBeLessThan(2_000 + 41_000);
  });

  it('stop(): nothing more is asked', () => {
    const c = clock();
    const asked: string[] = [];
    const p = new Pacer((id) => asked.push(id), 2, 80, c);
    for (let i = 0; i < 5; i++) p.add(`d${i}`);
    p.stop();
    p.add('late');
    c.advance(10_000);
    expect(asked).toEqual(['d0', 'd1']);
  });
});

describe('parentOf (ids derived from an MQTT topic)', () => {
  const listed = new Map<string, { source?: string }>([
    ['fleet', { source: 'mqtt' }],
    ['room', { source: 'mqtt' }],
    ['room-big', { source: 'mqtt' }],
    ['bench', { source: 'serial' }],
    ['greenhouse/soil', {}],
  ]);
  it('names the listed MQTT device whose id and a dash begin the id (the longest), none for a listed or serial one', () => {
    expect(parentOf('fleet-dev07', listed)).toBe('fleet');
    expect(parentOf('room-big-hall', listed)).toBe('room-big');
    expect(parentOf('room-kitchen', listed)).toBe('room');
    expect(parentOf('room-big', listed)).toBeUndefined();
    expect(parentOf('bench-1', listed)).toBeUndefined();
    expect(parentOf('fleetdev', listed)).toBeUndefined();
    // a fleet gateway's device known from a state message only (source unknown)
    expect(parentOf('greenhouse/soil-03', listed)).toBe('greenhouse/soil');
  });
});

describe('GatewayClock', () => {
  it("keeps the browser's clock when the gateway's Date header agrees with it to the second", () => {
    const local = 1_800_000_000_400;
    const clock = new GatewayClock(() => local);
    clock.fromDate(1_800_000_000_000, local - 50, local);
    expect(clock.now()).toBe(local);
  });

  it("else takes the upper end of what the Date header allows, then every reading's ts as a lower bound", () => {
    const BEHIND = 7_200_000;
    let local = 1_800_000_000_000;
    const clock = new GatewayClock(() => local);
    // the gateway is 2 h behind: it wrote a whole second after the request left, before the answer came
    clock.fromDate(local - BEHIND, local, local + 100);
    expect(clock.now()).toBe(local - BEHIND + 1_000);
    // a reading the gateway received later in its clock than the estimate says it is now (its clock was set forward)
    local += 1_000;
    clock.reading(local - BEHIND + 1_800);
    expect(clock.now()).toBe(local - BEHIND + 1_800);
    // an older reading (a last value, a replay) says nothing new
    clock.reading(local - BEHIND - 60_000);
    expect(clock.now()).toBe(local - BEHIND + 1_800);
    // an unreadable header keeps the estimate
    clock.fromDate(Number.NaN, 0, 0);
    expect(clock.now()).toBe(local - BEHIND + 1_800);
  });
});
