import { hash } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import { hostOfLines, type RequestHost } from './host.js';

/** An upgrade request already split into lines by Node's http parser (llhttp: linear, size-capped). */
export interface UpgradeRequest {
  method: string;
  httpVersion: string;
  url: string;
  rawHeaders: readonly string[];
}

export interface HandshakeOptions {
  /** Supported subprotocols, server preference first. */
  protocols: readonly string[];
  /** More header lines than this → 431. */
  maxHeaders: number;
  /** false → 403. Absent → every origin is allowed (the caller's policy, not ours). `host`: the Host, parsed. */
  originAllowed?(origin: string | undefined, host: RequestHost | undefined): boolean;
}

export type HandshakeResult =
  | {
      ok: true;
      key: string;
      protocol: string | undefined;
      /** Every offered subprotocol in order, `bearer.*` included (auth reads its token there). */
      offered: string[];
      /** Lower-case names; repeated headers joined with ", ". */
      headers: Map<string, string>;
      /** The whole "HTTP/1.1 101 Switching Protocols\r\n…\r\n\r\n". */
      response: Buffer;
    }
  | {
      ok: false;
      status: number;
      message: string;
      /** headers the refusal needs besides the body's (Allow, Sec-WebSocket-Version) */
      headers: Readonly<Record<string, string>>;
      /** The whole refusal, to write on the socket of an upgrade. */
      response: Buffer;
    };

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Credentials offered as a subprotocol by browsers: never negotiated, never echoed. */
const BEARER_PREFIX = 'bearer.';

/** Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 §4.2.2). */
export function acceptKey(key: string): string {
  // one-shot (Node 20.12+, package.json's engines): no Hash object per handshake as createHash makes,
  // a few µs of every handshake while a reconnect storm runs this code interpreted
  return hash('sha1', key + GUID, 'base64');
}

/**
 * Validates an upgrade request (RFC 6455 §4.2.1) and negotiates the subprotocol. Every header
 * is treated as optional and untrusted: all parsing is by linear scans (no regex that could
 * backtrack, ws CVE-2021-32640), headers live in a Map (`__proto__` is just a name), and the
 * header count is capped before anything else is looked at (ws CVE-2024-37890).
 */
export function processHandshake(req: UpgradeRequest, opts: HandshakeOptions): HandshakeResult {
  const lines = Math.floor(req.rawHeaders.length / 2);
  if (lines > opts.maxHeaders) return refuse(431, `too many header lines (${lines}, at most ${opts.maxHeaders})`);
  if (req.method !== 'GET') return refuse(405, `a WebSocket upgrade must use GET, not ${req.method}`, { Allow: 'GET' });
  if (!atLeastHttp11(req.httpVersion)) return refuse(400, `a WebSocket upgrade needs HTTP/1.1 or later, not ${req.httpVersion}`);

  // one pass over the header lines: the Map, and the Host lines counted (two are refused, not joined)
  const headers = new Map<string, string>();
  let hostLines = 0;
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!.toLowerCase();
    const value = req.rawHeaders[i + 1]!;
    if (name === 'host') hostLines++;
    const previous = headers.get(name);
    headers.set(name, previous === undefined ? value : `${previous}, ${value}`);
  }
  const host = hostOfLines(headers.get('host'), hostLines, true);
  if (!host.ok) return refuse(400, host.message);

  if (!listHas(headers.get('upgrade'), 'websocket')) return refuse(400, 'Upgrade header must contain "websocket"');
  if (!listHas(headers.get('connection'), 'upgrade')) return refuse(400, 'Connection header must contain "upgrade"');
  if (headers.get('sec-websocket-version') !== '13') {
    return refuse(426, 'unsupported Sec-WebSocket-Version, only 13 is supported', { 'Sec-WebSocket-Version': '13' });
  }
  const key = headers.get('sec-websocket-key');
  if (key === undefined || !isKey(key)) return refuse(400, 'Sec-WebSocket-Key must be the base64 of 16 bytes');

  const offered: string[] = [];
  const protocolHeader = headers.get('sec-websocket-protocol');
  if (protocolHeader !== undefined) {
    for (const element of listElements(protocolHeader)) {
      if (!isToken(element)) return refuse(400, 'Sec-WebSocket-Protocol must be a comma-separated list of tokens');
      offered.push(element);
    }
  }
  const protocol = negotiate(opts.protocols, offered);
  // bearer.* alone too: a 101 selecting none would be failed by every browser (it offered some)
  if (protocol === undefined && offered.length > 0) {
    const supported = opts.protocols.length > 0 ? opts.protocols.join(', ') : 'none';
    const what = offered.every((p) => p.startsWith(BEARER_PREFIX))
      ? 'a bearer.<token> subprotocol must come with a supported one'
      : 'none of the offered subprotocols is supported';
    return refuse(400, `${what}; supported: ${supported}`);
  }

  if (opts.originAllowed && !opts.originAllowed(headers.get('origin'), host.host)) return refuse(403, 'origin not allowed');

  let response = 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' + `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n`;
  if (protocol !== undefined) response += `Sec-WebSocket-Protocol: ${protocol}\r\n`;
  response += '\r\n';
  return { ok: true, key, protocol, offered, headers, response: Buffer.from(response, 'latin1') };
}

/**
 * A whole HTTP error response that ends the connection. Header values come from our code,
 * so CR/LF in one is a caller bug (RangeError), never a response-splitting hole.
 */
export function httpErrorResponse(status: number, message: string, extraHeaders: Record<string, string> = {}): Buffer {
  const body = `${message}\n`;
  let head =
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nConnection: close\r\n` +
    `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`;
  for (const [name, value] of Object.entries(extraHeaders)) {
    if (!isToken(name) || hasLineBreak(value)) throw new RangeError(`invalid response header ${JSON.stringify(name)}`);
    head += `${name}: ${value}\r\n`;
  }
  return Buffer.concat([Buffer.from(`${head}\r\n`, 'latin1'), Buffer.from(body, 'utf8')]);
}

function refuse(status: number, message: string, extraHeaders: Record<string, string> = {}): HandshakeResult {
  return { ok: false, status, message, headers: extraHeaders, response: httpErrorResponse(status, message, extraHeaders) };
}

/** Server preference among the offered; `bearer.*` can never be chosen. */
function negotiate(supported: readonly string[], offered: readonly string[]): string | undefined {
  if (offered.length === 0) return undefined;
  const offeredSet = new Set(offered);
  for (const p of supported) {
    if (!p.startsWith(BEARER_PREFIX) && offeredSet.has(p)) return p;
  }
  return undefined;
}

/** "1.1", "2.0" … yes; "1.0", "0.9", garbage no. Node reports the version as "major.minor". */
function atLeastHttp11(version: string): boolean {
  const dot = version.indexOf('.');
  if (dot <= 0) return false;
  const major = Number(version.slice(0, dot));
  const minor = Number(version.slice(dot + 1));
  if (!Number.isInteger(major) || !Number.isInteger(minor)) return false;
  return major > 1 || (major === 1 && minor >= 1);
}

/**
 * Elements of an RFC 7230 #list: split on commas, optional whitespace trimmed, empty elements
 * ignored (§7). One pass, no regex.
 */
function listElements(value: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (let comma = value.indexOf(','); ; comma = value.indexOf(',', start)) {
    const end = comma < 0 ? value.length : comma;
    let a = start;
    let b = end;
    while (a < b && isOws(value.charCodeAt(a))) a++;
    while (b > a && isOws(value.charCodeAt(b - 1))) b--;
    if (b > a) out.push(value.slice(a, b));
    if (comma < 0) return out;
    start = comma + 1;
  }
}

/** Does the comma-separated list contain `token` (case-insensitive)? */
function listHas(value: string | undefined, token: string): boolean {
  if (value === undefined) return false;
  for (const element of listElements(value)) {
    if (element.toLowerCase() === token) return true;
  }
  return false;
}

function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

function hasLineBreak(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x0d || c === 0x0a) return true;
  }
  return false;
}

/*
 * Character classes by regular expression: one class under one quantifier, anchored, so the match
 * is a single linear pass with nothing to backtrack into. The engine's native loop, not a
 * bytecode one: a loop per character makes a handshake function hot for V8 11's optimiser
 * (README "Footprint"), which then compiles during a reconnect storm.
 */

/** RFC 7230 token: 1*tchar */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function isToken(s: string): boolean {
  return TOKEN.test(s);
}

/** 16 bytes in base64 (not the URL-safe alphabet) = 22 alphabet characters + "==". */
const KEY = /^[A-Za-z0-9+/]{22}==$/;

function isKey(key: string): boolean {
  return KEY.test(key);
}
