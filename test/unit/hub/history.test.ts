/**
 * The `history` request on the wire (issue 11 point 2), hub level: one answer correlated by id
 * in the connection's encoding (JSON and CBOR), live readings around it, answers larger than the
 * send limits, invalid requests, the rate limit, a viewer may ask, no history configured.
 */
import { encode } from 'cbor-x';
import { describe, expect, it } from 'vitest';
import { Hub } from '../../../src/hub/hub.js';
import { checkHistoryRange, fitAnswer, HistoryRequests, HistoryWork } from '../../../src/hub/history-requests.js';
import { DEFAULT_HISTORY_POINTS, DEFAULT_HISTORY_RANGE_MS, HISTORY_ENTRIES_PER_SECOND, MAX_HISTORY_POINTS } from '../../../src/bounds.js';
import type { HistoryReader } from '../../../src/domain.js';
import { silentLogger } from '../../../src/log.js';
import { MemoryHistory } from '../../helpers/memory-history.js';
import { FakeConn, FakeDevice, testConfig } from './fakes.js';
import { frameMessage } from '../../../src/hub/frame.js';

const T0 = 1_700_000_000_000;

function setup(cfgOver: Record<string, unknown> = {}, history: HistoryReader | null = new MemoryHistory(10_000)) {
  const hub = new Hub(testConfig({ hub: { coalesceMs: 0 }, ...cfgOver }), silentLogger(), history ? { history } : {});
  hub.setDevices([new FakeDevice('a'), new FakeDevice('b')]);
  if (history instanceof MemoryHistory) hub.onReading((r) => history.record(r));
  const connect = (protocol?: string) => {
    const c = new FakeConn(protocol);
    c.settle = () => hub.flushQueued();
    hub.attach(c, { role: 'viewer' });
    return c;
  };
  /** one reading a second from T0 */
  const read = (device: string, i: number) => hub.reading({ device, ts: T0 + i * 1000, values: { t: i, label: `n${i}` } });
  return { hub, connect, read };
}

const sendCbor = (c: FakeConn, msg: unknown) => c.emit('message', Buffer.from(encode(msg)), true);

describe('history request', () => {
  it('a viewer asks (JSON): one answer with its id, buckets then raw points, then live readings go on', () => {
    const { connect, read } = setup();
    for (let i = 0; i < 30; i++) read('a', i);
    read('b', 0);
    const c = connect();
    c.sendJson({ type: 'history', id: 'h1', device: 'a', from: T0, to: T0 + 29_000, maxPoints: 20 });
    read('a', 30);
    const answers = c.of('history');
    expect(answers).toHaveLength(1);
    const h = answers[0];
    expect(h).toMatchObject({ type: 'history', id: 'h1', device: 'a', from: T0, to: T0 + 29_000 });
    expect(h.truncated).toBeUndefined();
    // the raw window (10 s before `to`) as points, the 19 s before it in buckets
    expect(h.points.map((p: any) => p.values.t)).toEqual([19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29]);
    expect(h.points[0]).toEqual({ seq: 20, ts: T0 + 19_000, values: { t: 19, label: 'n19' } });
    expect(h.buckets.length).toBeGreaterThan(0);
    expect(h.buckets.length + h.points.length).toBeLessThanOrEqual(20);
    expect(h.buckets.reduce((n: number, b: any) => n + b.count, 0)).toBe(19);
    expect(h.buckets[0].fields.t).toEqual({ min: 0, max: 2, mean: 1, count: 3 });
    // live after the answer
    const msgs = c.messages();
    const at = msgs.findIndex((m) => m.type === 'history');
    expect(msgs.slice(at + 1).map((m) => [m.type, m.values?.t])).toEqual([['reading', 30]]);
  });

  it('CBOR: the same answer in one binary frame', () => {
    const { connect, read } = setup();
    for (let i = 0; i < 5; i++) read('a', i);
    const j = connect();
    const c = connect('serialgate.v1.cbor');
    const req = { type: 'history', id: 'x', device: 'a', from: T0, to: T0 + 4000 };
    j.sendJson(req);
    const before = c.writes.length;
    sendCbor(c, req);
    expect(c.writes.length).toBe(before + 1);
    expect(c.writes.at(-1)![0]! & 0x0f).toBe(2);
    expect(c.of('history')).toEqual(j.of('history'));
    expect(c.of('history')[0].points.map((p: any) => p.ts)).toEqual([0, 1, 2, 3, 4].map((i) => T0 + i * 1000));
  });

  it('defaults: to = now, from = an hour before, maxPoints 1,000', () => {
    const history = new MemoryHistory();
    const { connect } = setup({}, history);
    const c = connect();
    const before = Date.now();
    c.sendJson({ type: 'history', id: 'd', device: 'a' });
    const [q] = history.queries;
    expect(q!.to).toBeGreaterThanOrEqual(before);
    expect(q!.to).toBeLessThanOrEqual(Date.now());
    expect(q!.to - q!.from).toBe(DEFAULT_HISTORY_RANGE_MS);
    expect(q!.maxPoints).toBe(DEFAULT_HISTORY_POINTS);
    expect(c.of('history')).toEqual([{ type: 'history', id: 'd', device: 'a', from: q!.from, to: q!.to, buckets: [], points: [] }]);
  });

  it('an answer larger than half the hard send limit: the newest entries that fit, truncated, from moved up', () => {
    const { connect, read } = setup({ server: { limits: { sendHardLimitBytes: 8192 } } });
    for (let i = 0; i < 400; i++) read('a', i);
    for (const protocol of [undefined, 'serialgate.v1.cbor']) {
      const c = connect(protocol);
      const req = { type: 'history', id: 'big', device: 'a', from: T0, to: T0 + 399_000, maxPoints: 400 };
      const before = c.writes.length;
      if (protocol) sendCbor(c, req);
      else c.sendJson(req);
      expect(c.writes.length).toBe(before + 1);
      const frame = c.writes.at(-1)!;
      expect(frame.length).toBeLessThanOrEqual(4096);
      const [h] = c.of('history');
      expect(h.truncated).toBe(true);
      expect(h.to).toBe(T0 + 399_000);
      // the newest ones, up to `to`, and from names the oldest kept
      const ts = [...h.buckets.map((b: any) => b.ts), ...h.points.map((p: any) => p.ts)];
      expect(ts.at(-1)).toBe(T0 + 399_000);
      expect(h.from).toBe(ts[0]);
      expect(ts.length).toBeGreaterThan(10);
      // bisection found the largest that fits: one more entry would not have
      expect(frame.length).toBeGreaterThan(4096 - 200);
      expect(c.closedWith).toBeUndefined();
    }
  });

  it('invalid requests get an error with a stable code and their id; the connection stays open', () => {
    const { connect } = setup();
    const c = connect();
    const bad: [Record<string, unknown>, string][] = [
      [{ device: 7 }, 'device'],
      [{ device: '' }, 'device'],
      [{ device: 'a', from: -1 }, 'from'],
      [{ device: 'a', to: 1.5 }, 'to'],
      [{ device: 'a', from: 2000, to: 1000 }, 'after'],
      [{ device: 'a', maxPoints: 0 }, 'maxPoints'],
      [{ device: 'a', maxPoints: MAX_HISTORY_POINTS + 1 }, 'maxPoints'],
      [{ device: 'a', maxPoints: '10' }, 'maxPoints'],
    ];
    bad.forEach(([fields], i) => c.sendJson({ type: 'history', id: `bad${i}`, ...fields }));
    const errors = c.of('error');
    expect(errors.map((e) => [e.id, e.error.code])).toEqual(bad.map((_, i) => [`bad${i}`, 'invalid_field']));
    errors.forEach((e, i) => expect(e.error.message).toContain(bad[i]![1]));
    c.sendJson({ type: 'history', device: 'a' });
    expect(c.of('error').at(-1)).toEqual({
      type: 'error',
      error: { code: 'invalid_field', message: 'history "id" must be a string of 1-64 characters' },
    });
    expect(c.of('history')).toEqual([]);
    expect(c.closedWith).toBeUndefined();
  });

  it('a failing store costs the request, not the connection', () => {
    const broken: HistoryReader = {
      query: () => {
        throw new Error('disk on fire');
      },
      devices: () => [],
    };
    const { connect } = setup({ hub: { coalesceMs: 0, badMessageLimit: 2 } }, broken);
    const c = connect();
    c.sendJson({ type: 'history', id: 'f', device: 'a' });
    expect(c.of('error')).toEqual([
      { type: 'error', id: 'f', error: { code: 'history_unavailable', message: 'the history could not be read: disk on fire' } },
    ]);
    // never counted as the client's bad messages: more failures than hub.badMessageLimit leave it open
    for (let i = 0; i < 5; i++) c.sendJson({ type: 'history', id: `f${i}`, device: 'a' });
    expect(c.of('error')).toHaveLength(6);
    expect(c.closedWith).toBeUndefined();
  });

  it('rate-limited like other client messages (hub.commandRate)', () => {
    const { connect } = setup({ hub: { coalesceMs: 0, commandRate: { perSecond: 0.001, burst: 3 } } });
    const c = connect();
    for (let i = 0; i < 5; i++) c.sendJson({ type: 'history', id: `r${i}`, device: 'a' });
    expect(c.of('history').map((h) => h.id)).toEqual(['r0', 'r1', 'r2']);
    expect(c.of('error').map((e) => e.error.code)).toEqual(['rate_limited', 'rate_limited']);
    expect(c.of('error')[0].error.message).toContain('too many history messages');
    // each refusal names its request, so that a client can ask that one again
    expect(c.of('error').map((e) => e.id)).toEqual(['r3', 'r4']);
  });

  it('no history configured: an empty answer, never an error', () => {
    const { connect, read } = setup({}, null);
    read('a', 1);
    const c = connect();
    c.sendJson({ type: 'history', id: 'n', device: 'a', from: T0, to: T0 + 5000 });
    expect(c.of('history')).toEqual([{ type: 'history', id: 'n', device: 'a', from: T0, to: T0 + 5000, buckets: [], points: [] }]);
  });
});

describe('checkHistoryRange', () => {
  it('a default from never lies before 1970; maxPoints defaults to 1,000', () => {
    expect(checkHistoryRange({ device: 'a', from: undefined, to: 1000, maxPoints: undefined }, 5)).toEqual({
      ok: true,
      query: { device: 'a', from: 0, to: 1000, maxPoints: DEFAULT_HISTORY_POINTS },
    });
  });
});

describe('fitAnswer: the newest entries that fit the budget', () => {
  it('keeps exactly as many as fit, for entries of very different sizes and every budget tried (both encodings)', () => {
    let truncated = 0;
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 12; round++) {
      const n = 1 + Math.floor(rnd() * 300);
      const points = Array.from({ length: n }, (_, i) => ({
        seq: i + 1,
        ts: 1000 + i,
        // mostly small, now and then a large string: sizes far from linear in the count
        values: { v: rnd() < 0.1 ? 'x'.repeat(Math.floor(rnd() * 5000)) : i },
      }));
      const buckets = Array.from({ length: Math.floor(rnd() * 20) }, (_, i) => ({ ts: i, n: 1, values: { v: { min: 0, max: 1, avg: 0.5 } } }));
      const answer = { device: 'd', from: 0, to: 5000, buckets, points } as never;
      const encoding = round % 2 ? 'cbor' : 'json';
      const budget = 200 + Math.floor(rnd() * 20_000);
      const f = fitAnswer('q', answer, encoding, budget);
      expect(f.length).toBeLessThanOrEqual(Math.max(budget, 0));
      const reader = new FakeConn();
      reader.writes.push(f);
      const [msg] = reader.messages();
      const kept = msg.buckets.length + msg.points.length;
      const total = buckets.length + points.length;
      if (kept < total) {
        truncated++;
        // one more entry would not have fitted: the answer with the newest kept + 1 is over budget
        const drop = total - kept - 1;
        const more = {
          type: 'history',
          id: 'q',
          device: 'd',
          from: 0,
          to: 5000,
          buckets: buckets.slice(Math.min(drop, buckets.length)),
          points: points.slice(Math.max(0, drop - buckets.length)),
          truncated: true,
        };
        more.from = Math.max(0, more.buckets[0]?.ts ?? more.points[0]?.ts ?? 5000);
        expect(frameMessage(more as never, encoding).length, `round ${round}`).toBeGreaterThan(budget);
      }
    }
    // the budgets are small enough that most rounds had to cut
    expect(truncated).toBeGreaterThanOrEqual(6);
  });
});

describe('history work of the whole gateway is bounded (HISTORY_ENTRIES_PER_SECOND)', () => {
  it('answers carry at most the budget at once, then rate_limited until it refills; the cost is the entries answered', () => {
    const points = Array.from({ length: MAX_HISTORY_POINTS }, (_, i) => ({ seq: i + 1, ts: 1000 + i, values: { t: i } }));
    const reader: HistoryReader = { query: (q) => ({ device: q.device, from: q.from, to: q.to, buckets: [], points }), devices: () => ['d'] };
    let ms = 0;
    const requests = new HistoryRequests(reader, new HistoryWork(() => ms), () => 1_000_000);
    const ask = (id: string) =>
      requests.answer({ type: 'history', id, device: 'd', from: 0, to: undefined, maxPoints: MAX_HISTORY_POINTS }, 'json', 1 << 24);
    const full = HISTORY_ENTRIES_PER_SECOND / MAX_HISTORY_POINTS;
    for (let i = 0; i < full; i++) expect(ask(`q${i}`).ok, `answer ${i}`).toBe(true);
    const refused = ask('late');
    expect(refused).toEqual({ ok: false, code: 'rate_limited', message: 'the gateway is answering too much history at once: ask again in a moment' });
    // a tenth of a second refills a tenth of the budget: two answers of 10,000, then refused again
    ms += 100;
    expect(ask('a').ok).toBe(true);
    expect(ask('b').ok).toBe(true);
    expect(ask('c').ok).toBe(false);
  });
});
