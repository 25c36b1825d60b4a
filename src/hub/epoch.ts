/**
 * Stream identity (Centrifugo's `epoch`): a `seq` means something only together with the name of
 * the stream it counts in. A new epoch is drawn whenever the count starts again, from a CSPRNG so
 * that two runs (or two gateways behind one name) never share one by chance.
 */
import { randomBytes } from 'node:crypto';
import type { Reading } from '../domain.js';

/** 72 random bits as 12 URL-safe characters: short on the wire, collision-free in practice. */
export function newEpoch(): string {
  return randomBytes(9).toString('base64url');
}

/** Where a Hub's stream starts: a fresh one, or one restored across a planned restart (History). */
export interface StreamStart {
  epoch: string;
  /** the last seq already used in this epoch; the next reading gets seq + 1 */
  seq: number;
}

/**
 * A stream as a planned restart saves it (History): where it is, and what the resume buffer and
 * the last values held, so that dashboards resume across the restart with no gap and no reset.
 */
export interface StreamSnapshot extends StreamStart {
  /** the resume buffer, oldest first; used only when contiguous and ending at `seq` */
  readings: Reading[];
  /** the last reading of each device (what a new dashboard gets first) */
  last: Reading[];
}
