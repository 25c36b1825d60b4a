/**
 * Who may connect, and with which role (DESIGN.md "Authentication"): checked in the handshake,
 * before the 101. Tokens are compared as SHA-256 digests with timingSafeEqual (equal lengths, no
 * early exit over the token list) and never logged or echoed.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Config } from '../config/schema.js';
import type { Role } from '../domain.js';
import { isLoopbackHost } from '../config/loopback.js';
import type { RequestHost } from '../ws/host.js';

export interface AuthContext {
  role: Role;
  /** SHA-256 of the token the connection presented (absent: anonymous), so a reload can re-check it */
  credential?: Buffer;
}

/** The parts of an upgrade request auth looks at (a subset of the server's UpgradeInfo). */
export interface AuthRequest {
  /** the Host, parsed (undefined: none) */
  host: RequestHost | undefined;
  /** the query string without its `?` ('' for none) */
  query: string;
  headers: ReadonlyMap<string, string>;
  offered: readonly string[];
}

export type AuthDecision = { ok: true; context: AuthContext } | { ok: false; status: number; message: string };

const BEARER_PROTOCOL = 'bearer.';
const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

const DEFAULT_PORTS: Readonly<Record<string, number>> = { 'http:': 80, 'https:': 443 };

export class Authenticator {
  private readonly tokens: { digest: Buffer; role: Role }[];
  private readonly origins: Set<string>;
  private readonly hosts: Set<string>;
  private readonly loopbackOnly: boolean;

  constructor(
    private readonly auth: Config['auth'],
    serverHost: string,
  ) {
    this.tokens = auth.tokens.map((t) => ({ digest: digest(t.token), role: t.role }));
    this.origins = new Set(auth.origins.map((o) => new URL(o).origin));
    this.hosts = new Set(auth.hosts.map((h) => h.toLowerCase()));
    this.loopbackOnly = isLoopbackHost(serverHost);
  }

  /**
   * Same origin (Origin's host:port equals Host, scheme http/https), an allowlisted origin, or no
   * Origin at all (not a browser: a browser always sends one on a WebSocket upgrade).
   */
  originAllowed(origin: string | undefined, host: RequestHost | undefined): boolean {
    if (origin === undefined) return true;
    let o: URL;
    try {
      o = new URL(origin);
    } catch {
      return false;
    }
    if (this.origins.has(o.origin)) return true;
    const defaultPort = DEFAULT_PORTS[o.protocol];
    if (defaultPort === undefined || host === undefined) return false;
    // Origin is a serialised origin (lower-case, default port left out); Host is compared as sent,
    // its port defaulting to the scheme's, so `localhost:80` is the origin http://localhost
    return host.name === o.hostname && (host.port ?? defaultPort) === (o.port === '' ? defaultPort : Number(o.port));
  }

  /**
   * DNS rebinding: a page from evil.example resolving to 127.0.0.1 still sends `Host: evil.example`.
   * auth.hosts set → Host must be listed (name, any port; or name:port); unset and bound to
   * loopback → a loopback name; otherwise any. Names are compared as sent (lower-cased), never
   * normalised: `0177.0.0.1` is not 127.0.0.1 here, just a name nobody listed.
   */
  hostAllowed(host: RequestHost | undefined): boolean {
    if (this.hosts.size === 0 && !this.loopbackOnly) return true;
    if (host === undefined) return false;
    if (this.hosts.size > 0) return this.hosts.has(host.name) || (host.port !== undefined && this.hosts.has(`${host.name}:${host.port}`));
    return LOOPBACK_NAMES.has(host.name);
  }

  authorize(req: AuthRequest): AuthDecision {
    if (!this.hostAllowed(req.host)) {
      return { ok: false, status: 403, message: 'Host not allowed (auth.hosts)' };
    }
    const found = this.tokenOf(req);
    if (typeof found === 'object') return found;
    if (found === undefined) {
      const role = this.roleOf(undefined);
      return role === undefined ? { ok: false, status: 401, message: 'a token is required' } : { ok: true, context: { role } };
    }
    const credential = digest(found);
    const role = this.roleOf(credential);
    if (role === undefined) return { ok: false, status: 401, message: 'invalid token' };
    return { ok: true, context: { role, credential } };
  }

  /**
   * The role a token digest (undefined: anonymous) has under this config, undefined when it has
   * none: at the handshake, and again for open connections when a reload brings a new config.
   */
  roleOf(credential: Buffer | undefined): Role | undefined {
    if (credential === undefined) return this.auth.anonymous === 'none' ? undefined : this.auth.anonymous;
    let role: Role | undefined;
    // every configured token is compared, so the time taken does not say which one came close
    for (const t of this.tokens) if (timingSafeEqual(credential, t.digest) && role === undefined) role = t.role;
    return role;
  }

  /** the offered token, undefined when none, or a refusal for a malformed or disallowed one */
  private tokenOf(req: AuthRequest): string | undefined | { ok: false; status: number; message: string } {
    const header = req.headers.get('authorization');
    // Another scheme is not addressed to the gateway: a reverse proxy's Basic login, which browsers
    // send again with the upgrade. Refused, it would lock every browser behind such a proxy out.
    const space = header === undefined ? -1 : header.indexOf(' ');
    if (header !== undefined && (space < 0 ? header : header.slice(0, space)).toLowerCase() === 'bearer') {
      return space < 0 ? '' : header.slice(space + 1).trim();
    }
    const offered = req.offered.find((p) => p.startsWith(BEARER_PROTOCOL));
    if (offered !== undefined) return offered.slice(BEARER_PROTOCOL.length);
    // most upgrades carry no query: no parser for them
    const token = req.query === '' ? null : new URLSearchParams(req.query).get('token');
    if (token !== null) {
      if (!this.auth.queryToken) return { ok: false, status: 401, message: '?token= is disabled (auth.queryToken)' };
      return token;
    }
    return undefined;
  }
}
