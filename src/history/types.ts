/**
 * What the rest of the gateway asks of the history (issue 11): the store answers range queries,
 * the hub feeds it readings. The store's engine, its persistence and its budget stay behind this seam.
 */
import type { Reading, Values } from '../domain.js';

/** One raw reading as history keeps it (numbers stay numbers; non-numeric fields kept as they came). */
export interface HistoryPoint {
  seq: number;
  ts: number;
  values: Values;
}

/** Statistics of one numeric field over one bucket. */
export interface FieldStats {
  min: number;
  max: number;
  mean: number;
  count: number;
}

/** A downsampled time bucket: [ts, ts + span) in ms since the epoch. */
export interface HistoryBucket {
  ts: number;
  span: number;
  /** readings that fell into the bucket */
  count: number;
  fields: Record<string, FieldStats>;
}

export interface HistoryQuery {
  device: string;
  /** ms since the epoch, inclusive */
  from: number;
  /** ms since the epoch, inclusive */
  to: number;
  /** the most points (raw points + buckets) the answer may hold; the store downsamples further to fit */
  maxPoints: number;
}

export interface HistoryAnswer {
  device: string;
  from: number;
  to: number;
  /** oldest first; older parts of the range come as buckets, the recent raw window as points */
  buckets: HistoryBucket[];
  points: HistoryPoint[];
}

export interface HistoryReader {
  query(q: HistoryQuery): HistoryAnswer;
  /** device ids the history holds data for */
  devices(): string[];
}

export interface HistoryWriter {
  /** every reading after it got its seq; must never throw into the hub */
  record(r: Reading): void;
}
