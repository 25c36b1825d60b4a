/**
 * `GET /history.csv` and `/history.json` (issue 11 point 4): a device's history for a
 * spreadsheet. Behind the dashboard's own rules: the Host allowlist (every route, see
 * request-rules.ts), the Origin rule and a viewer token or anonymous role exactly as the
 * WebSocket handshake decides them (Authenticator in src/hub/auth.ts), so nobody the WebSocket
 * refuses can read history here.
 *
 * Query: device (required), from and to (ms since the epoch or a strict ISO 8601 date; default the last
 * hour), maxPoints (default and most 10,000).
 */
import type { IncomingMessage } from 'node:http';
import type { HistoryAnswer, HistoryReader } from '../domain.js';
import type { AuthDecision, AuthRequest } from '../hub/auth.js';
import { MAX_HISTORY_POINTS } from '../bounds.js';
import { checkHistoryRange, HISTORY_BUSY, type HistoryWork } from '../hub/history-requests.js';
import { admittedHost, type RequestHost } from '../server/request-rules.js';

/** What the export needs of the dashboard's auth (the gateway's current Authenticator). */
export interface ExportAuth {
  authorize(req: AuthRequest): AuthDecision;
  originAllowed(origin: string | undefined, host: RequestHost | undefined): boolean;
}

export interface ExportDeps {
  history: HistoryReader;
  /** the gateway's history work, shared with the dashboards' history requests */
  work: HistoryWork;
  auth(): ExportAuth;
}

export type ExportResult = { status: number; type: string; body: string; headers?: Record<string, string> };

export const EXPORT_PATHS: ReadonlySet<string> = new Set(['/history.csv', '/history.json']);

export function exportHistory(req: IncomingMessage, url: URL, deps: ExportDeps, now = Date.now()): ExportResult {
  const auth = deps.auth();
  const host = admittedHost(req);
  // a browser sends Origin on every cross-origin fetch: a foreign page is refused before any token
  if (!auth.originAllowed(req.headers.origin, host)) return refusal(403, 'Origin not allowed (auth.origins)');
  const headers = new Map<string, string>();
  for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v);
  const decision = auth.authorize({ host, query: url.search.slice(1), headers, offered: [] });
  if (!decision.ok)
    return refusal(decision.status, decision.message, decision.status === 401 ? { 'WWW-Authenticate': 'Bearer realm="serialgate"' } : {});

  const p = url.searchParams;
  const from = time(p.get('from'));
  const to = time(p.get('to'));
  for (const [name, t] of [
    ['from', from],
    ['to', to],
  ] as const) {
    if (Number.isNaN(t)) return refusal(400, `history "${name}" must be ms since the Unix epoch or an ISO 8601 date (${ISO_FORMS})`);
  }
  const range = checkHistoryRange(
    {
      device: p.get('device') ?? undefined,
      from,
      to,
      maxPoints: p.has('maxPoints') ? Number(p.get('maxPoints')) : MAX_HISTORY_POINTS,
    },
    now,
  );
  if (!range.ok) return refusal(400, range.message);
  const answer = deps.work.query(deps.history, range.query);
  if (!answer) return refusal(429, HISTORY_BUSY, { 'Retry-After': '1' });
  const name = `${range.query.device.replace(/[^A-Za-z0-9._-]/g, '_')}-history`;
  if (url.pathname === '/history.json') {
    return {
      status: 200,
      type: 'application/json; charset=utf-8',
      body: JSON.stringify(answer),
      headers: { 'Content-Disposition': `attachment; filename="${name}.json"` },
    };
  }
  return {
    status: 200,
    type: 'text/csv; charset=utf-8',
    body: toCsv(answer),
    headers: { 'Content-Disposition': `attachment; filename="${name}.csv"` },
  };
}

const refusal = (status: number, message: string, headers: Record<string, string> = {}): ExportResult => ({
  status,
  type: 'text/plain; charset=utf-8',
  body: `${message}\n`,
  headers,
});

const ISO_FORMS = '2026-12-01, 2026-12-01T08:30Z, 2026-12-01T08:30:00.250+01:00';

/**
 * A date (UTC) or a date-time with its offset, as in RFC 3339: `YYYY-MM-DD[THH:MM[:SS[.fff]](Z|±HH:MM)]`.
 * Not Date.parse, which takes whatever V8's legacy parser makes sense of ("-5", "1,2", "x 2020",
 * "2026-02-31") and a date-time without offset in the server's local time.
 */
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|([+-])(\d{2}):(\d{2})))?$/;

/** ms digits, or an ISO 8601 date as ISO_DATE; NaN for anything else (undefined: absent) */
function time(s: string | null): number | undefined {
  if (s === null) return undefined;
  if (/^\d+$/.test(s)) return Number(s);
  const m = ISO_DATE.exec(s);
  if (!m) return NaN;
  const [y, mo, d, h, mi, sec] = m.slice(1, 7).map((x) => Number(x ?? 0)) as [number, number, number, number, number, number];
  const ms = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  const offset = m[9] ? (m[9] === '-' ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11])) : 0;
  const t = Date.UTC(y, mo - 1, d, h, mi, sec, ms);
  const back = new Date(t);
  // a month, day, hour or minute out of range rolls over in Date.UTC (and years 0-99 mean 19xx): the round trip catches it
  const real =
    back.getUTCFullYear() === y &&
    back.getUTCMonth() === mo - 1 &&
    back.getUTCDate() === d &&
    back.getUTCHours() === h &&
    back.getUTCMinutes() === mi &&
    sec < 60;
  return real && Number(m[10] ?? 0) < 24 && Number(m[11] ?? 0) < 60 ? t - offset * 60_000 : NaN;
}

/**
 * One row per bucket and per raw point, oldest first: `time` (ISO), `ts` (ms), `kind`
 * (bucket|point), `span_ms` and `count` (buckets), then per field `value(<field>)` (a bucket's
 * mean), `min(<field>)` and `max(<field>)` (buckets only). Field names are device data: written
 * bare, `temp_min` next to `temp` or a field named `ts` gave two columns of one name. In this form
 * a column names one field and one statistic (the text up to the first "(" is the statistic, the
 * rest the field), never a fixed column, and it cannot begin as a formula (=, +, -, @).
 */
export function toCsv(a: HistoryAnswer): string {
  const names = new Set<string>();
  for (const b of a.buckets) for (const k in b.fields) names.add(k);
  for (const pt of a.points) for (const k in pt.values) names.add(k);
  const fields = [...names].sort();
  const rows = [['time', 'ts', 'kind', 'span_ms', 'count', ...fields.flatMap((f) => [`value(${f})`, `min(${f})`, `max(${f})`])]];
  for (const b of a.buckets) {
    rows.push([
      iso(b.ts),
      String(b.ts),
      'bucket',
      String(b.span),
      String(b.count),
      ...fields.flatMap((f) => {
        const s = b.fields[f];
        return s ? [String(s.mean), String(s.min), String(s.max)] : ['', '', ''];
      }),
    ]);
  }
  for (const pt of a.points) {
    rows.push([iso(pt.ts), String(pt.ts), 'point', '', '', ...fields.flatMap((f) => [num(pt.values[f]), '', ''])]);
  }
  return rows.map((r) => r.map(quote).join(',')).join('\r\n') + '\r\n';
}

const iso = (ts: number): string => new Date(ts).toISOString();

/** history holds numbers only (README History): nothing else is written, so no cell can be a formula */
const num = (v: unknown): string => (typeof v === 'number' ? String(v) : '');

/** RFC 4180 */
const quote = (s: string): string => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
