import { describe, expect, it } from 'vitest';
import type { IncomingMessage } from 'node:http';
import { exportHistory, toCsv } from '../../../src/http/history-export.js';
import { HistoryRequests, HistoryWork } from '../../../src/hub/history-requests.js';
import { HISTORY_ENTRIES_PER_SECOND, MAX_HISTORY_POINTS } from '../../../src/bounds.js';
import type { HistoryReader } from '../../../src/domain.js';

describe('toCsv', () => {
  it('a row per bucket (mean, min, max) then per point; RFC 4180 quoting; numbers only', () => {
    const csv = toCsv({
      device: 'd',
      from: 0,
      to: 10_000,
      buckets: [{ ts: 0, span: 5000, count: 2, fields: { t: { min: 1, max: 3, mean: 2, count: 2 } } }],
      points: [
        { seq: 7, ts: 6000, values: { t: -4.5, 'a,"b"': 1 } },
        // a reader handing over text: not written, so no cell can be a formula
        { seq: 8, ts: 7000, values: { 'a,"b"': '=HYPERLINK("x")', ok: true } },
      ],
    });
    expect(csv.split('\r\n')).toEqual([
      'time,ts,kind,span_ms,count,"value(a,""b"")","min(a,""b"")","max(a,""b"")",value(ok),min(ok),max(ok),value(t),min(t),max(t)',
      '1970-01-01T00:00:00.000Z,0,bucket,5000,2,,,,,,,2,1,3',
      '1970-01-01T00:00:06.000Z,6000,point,,,1,,,,,,-4.5,,',
      '1970-01-01T00:00:07.000Z,7000,point,,,,,,,,,,,',
      '',
    ]);
  });

  it('one column per field and statistic, whatever the fields are named: no two alike, none a formula', () => {
    const names = ['temp', 'temp_min', 'min(temp)', 'ts', 'count', 'kind', '=HYPERLINK("http://evil")', '@k', '+x', '-y', 'a)b(c'];
    const csv = toCsv({
      device: 'd',
      from: 0,
      to: 10_000,
      buckets: [{ ts: 0, span: 5000, count: 1, fields: Object.fromEntries(names.map((n) => [n, { min: 1, max: 1, mean: 1, count: 1 }])) }],
      points: [{ seq: 1, ts: 6000, values: Object.fromEntries(names.map((n) => [n, 2])) }],
    });
    const header = csv
      .split('\r\n')[0]!
      .match(/("([^"]|"")*"|[^,]*)(,|$)/g)!
      .map((c) => c.replace(/,$/, ''));
    header.pop(); // the empty match at the end
    expect(header).toHaveLength(5 + 3 * names.length);
    expect(new Set(header).size).toBe(header.length);
    expect(header.filter((c) => /^"?[=+\-@]/.test(c))).toEqual([]);
  });
});

describe('exportHistory: the range', () => {
  const asked: { from: number; to: number }[] = [];
  const reader: HistoryReader = {
    query: (q) => (asked.push(q), { device: q.device, from: q.from, to: q.to, buckets: [], points: [] }),
    devices: () => [],
  };
  const deps = {
    history: reader,
    work: new HistoryWork(),
    auth: () => ({
      authorize: () => ({ ok: true as const, context: { role: 'viewer' as const, credential: undefined } }),
      originAllowed: () => true,
    }),
  };
  const req = { headers: { host: '127.0.0.1' } } as unknown as IncomingMessage;
  const get = (query: string) => exportHistory(req, new URL(`http://127.0.0.1/history.json?device=d&${query}`), deps, 2_000_000_000_000);

  it('ms since the Unix epoch, or an ISO 8601 date or date-time with its offset', () => {
    const cases: [string, number][] = [
      ['1796083200000', 1796083200000],
      ['2026-12-01', Date.UTC(2026, 11, 1)],
      ['2026-12-01T08:30Z', Date.UTC(2026, 11, 1, 8, 30)],
      ['2026-12-01T08:30:05.25Z', Date.UTC(2026, 11, 1, 8, 30, 5, 250)],
      ['2026-12-01T08:30:00%2B01:00', Date.UTC(2026, 11, 1, 7, 30)],
      ['2026-12-01T08:30:00-02:30', Date.UTC(2026, 11, 1, 11, 0)],
    ];
    for (const [v, ms] of cases) {
      expect(get(`from=${v}&to=${v}`).status, v).toBe(200);
      expect(asked.pop(), v).toMatchObject({ from: ms, to: ms });
    }
  });

  it('anything else is a 400 that names the field, not a date V8 guessed', () => {
    for (const v of [
      '-5',
      '1,2',
      'x%202020',
      '12/31/2099',
      'NaN',
      '2026-02-31',
      '2026-12-01T24:00Z',
      '2026-12-01T08:30',
      '2026-12-01%2008:30Z',
      '0050-01-01',
      '1e3',
    ]) {
      const from = get(`from=${v}`);
      expect([from.status, from.body], v).toEqual([400, expect.stringContaining('"from" must be ms since the Unix epoch or an ISO 8601 date')]);
      expect(get(`to=${v}`).body, v).toContain('"to"');
    }
  });
});

describe('exportHistory: one history work budget with the dashboards (HistoryWork)', () => {
  it('once the dashboards spent it, the export answers 429 with Retry-After; a second later it answers again', () => {
    const points = Array.from({ length: MAX_HISTORY_POINTS }, (_, i) => ({ seq: i + 1, ts: 1000 + i, values: { t: i } }));
    const reader: HistoryReader = { query: (q) => ({ device: q.device, from: q.from, to: q.to, buckets: [], points }), devices: () => ['d'] };
    let ms = 0;
    const work = new HistoryWork(() => ms);
    const deps = {
      history: reader,
      work,
      auth: () => ({
        authorize: () => ({ ok: true as const, context: { role: 'viewer' as const, credential: undefined } }),
        originAllowed: () => true,
      }),
    };
    const req = { headers: { host: '127.0.0.1' } } as unknown as IncomingMessage;
    const get = () => exportHistory(req, new URL('http://127.0.0.1/history.json?device=d&from=0'), deps, 1_000_000);
    // the dashboards' requests spend the whole budget
    const dashboards = new HistoryRequests(reader, work, () => 1_000_000);
    for (let i = 0; i < HISTORY_ENTRIES_PER_SECOND / MAX_HISTORY_POINTS; i++)
      expect(
        dashboards.answer({ type: 'history', id: `q${i}`, device: 'd', from: 0, to: undefined, maxPoints: MAX_HISTORY_POINTS }, 'json', 1 << 24).ok,
      ).toBe(true);
    const refused = get();
    expect(refused.status).toBe(429);
    expect(refused.headers).toMatchObject({ 'Retry-After': '1' });
    expect(refused.body).toContain('too much history at once');
    ms += 1000;
    expect(get().status).toBe(200);
  });
});
