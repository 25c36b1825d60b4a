/**
 * Stream identity (Centrifugo's `epoch`): a `seq` means something only together with the name of
 * the stream it counts in. A new epoch is drawn whenever the count starts again, from a CSPRNG so
 * that two runs (or two gateways behind one name) never share one by chance.
 */
import { randomBytes } from 'node:crypto';

/** 72 random bits as 12 URL-safe characters: short on the wire, collision-free in practice. */
export function newEpoch(): string {
  return randomBytes(9).toString('base64url');
}

export type { StreamSnapshot, StreamStart } from '../domain.js';
