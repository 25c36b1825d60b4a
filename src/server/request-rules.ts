/**
 * The rules every HTTP request meets before any route sees it, WebSocket upgrades and plain
 * requests alike: a bounded header count (ws CVE-2024-37890), a Host of the grammar (400) and the
 * Host allowlist (DNS rebinding, 403). One check for both paths, so `GET /` is refused exactly as
 * the same upgrade is.
 */
import type { IncomingMessage } from 'node:http';
import { hostField, type RequestHost } from '../ws/host.js';

/** The Host allowlist (Authenticator.hostAllowed in src/hub/auth.ts, the one definition); absent: no Host (HTTP/1.0). */
export type HostCheck = (host: RequestHost | undefined) => boolean;

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
  // RFC 9112 §3.2: HTTP/1.1 requires Host, and any request with two Host lines or a malformed one is
  // answered 400, before the allowlist would call it foreign. Node's req.headers keeps only the first Host line.
  const host = hostField(req.rawHeaders, req.httpVersionMajor > 1 || (req.httpVersionMajor === 1 && req.httpVersionMinor >= 1));
  if (!host.ok) return { status: 400, message: host.message };
  if (rules.hostAllowed && !rules.hostAllowed(host.host)) return { status: 403, message: 'Host not allowed (auth.hosts)' };
  return undefined;
}
