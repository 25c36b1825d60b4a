/**
 * History on the wire (issue 11): a client's `history` request checked, asked of the
 * HistoryReader and answered with ONE `history` message in the connection's encoding, sized to
 * the connection's send limits. The same range rules serve the HTTP export (src/http/history-export.ts).
 *
 * Wiring point: the hub gets a HistoryReader through HubOptions.history; without one it answers
 * from NO_HISTORY (empty lists), so a dashboard works the same against a gateway that keeps none.
 */
import type { HistoryAnswer, HistoryQuery, HistoryReader } from '../domain.js';
import type { Encoding, HistoryMessage } from '../protocol/messages.js';
import type { HistoryRequest } from '../protocol/client-messages.js';
import { frameMessage } from './frame.js';
import { DEFAULT_HISTORY_POINTS, DEFAULT_HISTORY_RANGE_MS, HISTORY_ENTRIES_PER_SECOND, MAX_HISTORY_POINTS } from '../bounds.js';
import { TokenBucket, type Clock } from '../token-bucket.js';

/** A gateway that keeps no history: every answer is empty, never an error. */
export const NO_HISTORY: HistoryReader = {
  query: (q) => ({ device: q.device, from: q.from, to: q.to, buckets: [], points: [] }),
  devices: () => [],
};

export type RangeCheck = { ok: true; query: HistoryQuery } | { ok: false; message: string };

const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/**
 * The query a request's fields describe, or why they describe none. `to` defaults to now, `from`
 * to an hour before `to` (never before 1970), maxPoints to DEFAULT_HISTORY_POINTS.
 */
export function checkHistoryRange(fields: { device: unknown; from: unknown; to: unknown; maxPoints: unknown }, now: number): RangeCheck {
  const { device, from, to, maxPoints } = fields;
  if (typeof device !== 'string' || device.length === 0 || device.length > 64)
    return { ok: false, message: 'history "device" must be a device id (1-64 characters)' };
  if (to !== undefined && !isTime(to)) return { ok: false, message: 'history "to" must be a time in ms since the epoch (a non-negative integer)' };
  if (from !== undefined && !isTime(from))
    return { ok: false, message: 'history "from" must be a time in ms since the epoch (a non-negative integer)' };
  const end = to ?? now;
  const start = from ?? Math.max(0, end - DEFAULT_HISTORY_RANGE_MS);
  if (start > end) return { ok: false, message: 'history "from" must not be after "to"' };
  if (
    maxPoints !== undefined &&
    !(typeof maxPoints === 'number' && Number.isSafeInteger(maxPoints) && maxPoints >= 1 && maxPoints <= MAX_HISTORY_POINTS)
  ) {
    return { ok: false, message: `history "maxPoints" must be an integer from 1 to ${MAX_HISTORY_POINTS}` };
  }
  return { ok: true, query: { device, from: start, to: end, maxPoints: maxPoints ?? DEFAULT_HISTORY_POINTS } };
}

export type HistoryReply =
  { ok: true; frame: Buffer } | { ok: false; code: 'invalid_field' | 'history_unavailable' | 'rate_limited'; message: string };

/** What a history request is told while the gateway's history work is spent (HistoryWork). */
export const HISTORY_BUSY = 'the gateway is answering too much history at once: ask again in a moment';

/**
 * The history work of the whole gateway: answers may carry HISTORY_ENTRIES_PER_SECOND entries a
 * second, across the dashboards' `history` requests and the HTTP export (one instance for both,
 * made by the gateway), so that requests for large ranges cannot take the event loop from everyone.
 */
export class HistoryWork {
  private readonly bucket: TokenBucket;

  constructor(clock?: Clock) {
    this.bucket = new TokenBucket(HISTORY_ENTRIES_PER_SECOND, HISTORY_ENTRIES_PER_SECOND, clock);
  }

  /**
   * `reader`'s answer to `q`, or undefined while the work is spent. The cost is the answer's size,
   * known once it is read: a query is admitted while any is left and charged after.
   */
  query(reader: HistoryReader, q: HistoryQuery): HistoryAnswer | undefined {
    if (!this.bucket.take()) return undefined;
    const answer = reader.query(q);
    this.bucket.charge(answer.buckets.length + answer.points.length);
    return answer;
  }
}

export class HistoryRequests {
  constructor(
    private readonly reader: HistoryReader,
    private readonly work: HistoryWork = new HistoryWork(),
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * The answer frame to `req`, at most `budget` bytes: half the hard send limit, the rule the
   * resume replay follows, so that an answer alone can never get its connection closed with 1013.
   */
  answer(req: HistoryRequest, encoding: Encoding, budget: number): HistoryReply {
    const range = checkHistoryRange(req, this.now());
    if (!range.ok) return { ok: false, code: 'invalid_field', message: range.message };
    let answer: HistoryAnswer | undefined;
    try {
      answer = this.work.query(this.reader, range.query);
    } catch (err) {
      // a store failure costs this request, not the connection: the client may ask again
      return { ok: false, code: 'history_unavailable', message: `the history could not be read: ${(err as Error).message}` };
    }
    if (!answer) return { ok: false, code: 'rate_limited', message: HISTORY_BUSY };
    return { ok: true, frame: fitAnswer(req.id, answer, encoding, budget) };
  }
}

/**
 * The answer as one frame of at most `budget` bytes: whole if it fits, else the newest entries
 * that fit (found by bisection, ~14 encodes for 10,000 entries), `truncated` and `from` moved up
 * to the oldest entry kept, so the client knows exactly which part of its range it has.
 */
export function fitAnswer(id: string, a: HistoryAnswer, encoding: Encoding, budget: number): Buffer {
  const whole: HistoryMessage = { type: 'history', id, device: a.device, from: a.from, to: a.to, buckets: a.buckets, points: a.points };
  const frame = frameMessage(whole, encoding);
  if (frame.length <= budget) return frame;
  const total = a.buckets.length + a.points.length;
  /** the answer with only the newest `keep` entries */
  const newest = (keep: number): HistoryMessage => {
    const drop = total - keep;
    const buckets = a.buckets.slice(Math.min(drop, a.buckets.length));
    const points = a.points.slice(Math.max(0, drop - a.buckets.length));
    const oldest = buckets[0]?.ts ?? points[0]?.ts ?? a.to;
    return { type: 'history', id, device: a.device, from: Math.max(a.from, oldest), to: a.to, buckets, points, truncated: true };
  };
  // invariant: `lo` entries fit (0 always does: an empty answer is a few dozen bytes), `hi` do not.
  // The next guess interpolates between their sizes (entries are about the same size, so it lands
  // within a few entries of the answer): 3-5 encodes of a 10,000-entry answer where halving took
  // ~14, which made a viewer's history requests a way to stall the gateway for everyone. A guess
  // that did not halve the interval is followed by a halving, so entries of very different sizes
  // cost at most twice the halving's encodes.
  let lo = 0;
  let hi = total;
  let best = frameMessage(newest(0), encoding);
  let loBytes = best.length;
  let hiBytes = frame.length;
  let halve = false;
  while (hi - lo > 1) {
    const width = hi - lo;
    const guess = halve ? lo + (width >>> 1) : lo + Math.floor((width * (budget - loBytes)) / (hiBytes - loBytes));
    const mid = Math.min(hi - 1, Math.max(lo + 1, guess));
    const f = frameMessage(newest(mid), encoding);
    if (f.length <= budget) {
      lo = mid;
      loBytes = f.length;
      best = f;
    } else {
      hi = mid;
      hiBytes = f.length;
    }
    halve = !halve && hi - lo > width / 2;
  }
  return best;
}
