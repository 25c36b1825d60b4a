/**
 * The rules every HTTP request meets before any route sees it, WebSocket upgrades and plain
 * requests alike: a bounded header count (ws CVE-2024-37890), a Host of the grammar (400) and the
 * Host allowlist (DNS rebinding, 403). One check for both paths, so `GET /` is refused exactly as
 * the same upgrade is.
 */
import type { IncomingMessage } from 'node:http';
import { hostField, parseHost, type RequestHost } from '../ws/host.js';

// for http/, which takes the Host from here: the layer rules keep it from importing ws/
export type { RequestHost };

/** The Host allowlist (Authenticator.hostAllowed in src/hub/auth.ts, the one definition); absent: no Host (HTTP/1.0). */
export type HostCheck = (host: RequestHost | undefined) => boolean;

export interface RequestRules {
  /** more header lines than this → 431 (server.limits.maxHeaders) */
  readonly maxHeaders: number;
  /** absent → any Host */
  readonly hostAllowed?: HostCheck | undefined;
}

/** A request the rules let through, with its Host parsed once for whoever looks at it next; or why not. */
export type Admission = { ok: true; host: RequestHost | undefined } | { ok: false; status: number; message: string };

export function admission(req: IncomingMessage, rules: RequestRules): Admission {
  // Node stops collecting at maxHeadersCount (maxHeaders + 1, see createHttpServer): the excess shows
  const lines = Math.floor(req.rawHeaders.length / 2);
  if (lines > rules.maxHeaders) return { ok: false, status: 431, message: `too many header lines (${lines}, at most ${rules.maxHeaders})` };
  // RFC 9112 §3.2: HTTP/1.1 requires Host, and any request with two Host lines or a malformed one is
  // answered 400, before the allowlist would call it foreign. Node's req.headers keeps only the first Host line.
  const host = hostField(req.rawHeaders, req.httpVersionMajor > 1 || (req.httpVersionMajor === 1 && req.httpVersionMinor >= 1));
  if (!host.ok) return { ok: false, status: 400, message: host.message };
  if (rules.hostAllowed && !rules.hostAllowed(host.host)) return { ok: false, status: 403, message: 'Host not allowed (auth.hosts)' };
  return host;
}

/** The Host of a request admission() let through (Node keeps the first line: there was only one). */
export function admittedHost(req: IncomingMessage): RequestHost | undefined {
  return req.headers.host === undefined ? undefined : parseHost(req.headers.host);
}
