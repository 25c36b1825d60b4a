/**
 * The rules every HTTP request meets before any route sees it, WebSocket upgrades and plain
 * requests alike: a bounded header count (ws CVE-2024-37890) and the Host allowlist (DNS
 * rebinding). One check for both paths, so `GET /` is refused exactly as the same upgrade is.
 */
import type { IncomingMessage } from 'node:http';

/** The Host allowlist (Authenticator.hostAllowed in src/hub/auth.ts, the one definition). */
export type HostCheck = (host: string | undefined) => boolean;

export interface RequestRules {
  /** more header lines than this → 431 (server.limits.maxHeaders) */
  readonly maxHeaders: number;
  /** absent → any Host */
  readonly hostAllowed?: HostCheck | undefined;
}

export interface Refusal {
  status: number;
  message: string;
}

export function refusalOf(req: IncomingMessage, rules: RequestRules): Refusal | undefined {
  // Node stops collecting at maxHeadersCount (maxHeaders + 1, see createHttpServer): the excess shows
  const lines = Math.floor(req.rawHeaders.length / 2);
  if (lines > rules.maxHeaders) return { status: 431, message: `too many header lines (${lines}, at most ${rules.maxHeaders})` };
  // HTTP/1.1 requires Host (RFC 9112 §3.2: 400), before the allowlist would call its absence foreign
  if (req.headers.host === undefined && req.httpVersionMajor === 1 && req.httpVersionMinor >= 1)
    return { status: 400, message: 'missing Host header' };
  if (rules.hostAllowed && !rules.hostAllowed(req.headers.host)) return { status: 403, message: 'Host not allowed (auth.hosts)' };
  return undefined;
}
