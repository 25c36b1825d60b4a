/**
 * The seam between the history store and its readers (the hub, the export routes): defined with
 * the other interfaces the hub owns, in the base module, so that hub/ and protocol/ need not
 * import history/.
 */
export type { FieldStats, HistoryAnswer, HistoryBucket, HistoryPoint, HistoryQuery, HistoryReader, HistoryWriter } from '../domain.js';
