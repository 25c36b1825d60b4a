/** What connect() checks of its options before the first attempt: the URL, the token, the WebSocket class. */
import type { ConnectOptions, WebSocketConstructor } from './api.js';
import { ClientError } from './errors.js';

// RFC 7230 tchar: what a Sec-WebSocket-Protocol entry may contain.
const TOKEN_CHARS = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;

/** checks a token for use as `bearer.<token>`; throws ClientError */
export function checkToken(token: string): void {
  if (!TOKEN_CHARS.test(token)) {
    throw new ClientError('SG_ERR_CLIENT_TOKEN', "a token must consist of letters, digits and !#$%&'*+-.^_`|~ to travel as a WebSocket subprotocol");
  }
}

/** ws(s):// from ws(s):// or http(s):// */
export function toWsUrl(url: string): string {
  const u = new URL(url);
  if (u.protocol === 'http:') u.protocol = 'ws:';
  else if (u.protocol === 'https:') u.protocol = 'wss:';
  else if (u.protocol !== 'ws:' && u.protocol !== 'wss:') {
    throw new ClientError('SG_ERR_CLIENT_OPTIONS', `expected a ws:, wss:, http: or https: URL, got ${u.protocol}`);
  }
  return u.toString();
}

export function webSocketImpl(options: ConnectOptions): WebSocketConstructor {
  const Impl = options.WebSocketImpl ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!Impl) {
    throw new ClientError('SG_ERR_CLIENT_NO_WEBSOCKET', 'no global WebSocket: pass WebSocketImpl (e.g. WebSocket from "ws")');
  }
  return Impl;
}
