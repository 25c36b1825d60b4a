/**
 * What went wrong with the broker, in words a user can act on. The text becomes the `reason` of
 * every MQTT device's `down` state, so it names the cause, not the library's internals.
 */

/** CONNACK return codes (3.1.1) and reason codes (5.0) that mean "your credentials were refused". */
const BAD_CREDENTIALS = new Set([4, 0x86]);
const NOT_AUTHORIZED = new Set([5, 0x87]);

interface ErrorLike {
  message?: unknown;
  code?: unknown;
}

/**
 * mqtt.js's CONNACK refusals: a reason code and "Connection refused: …". Its other errors with a
 * reason code are the broker breaking the protocol on a live connection (a duplicate CONNACK, a
 * PUBLISH with a topic alias it never got, a packet over our Maximum Packet Size).
 */
const CONNACK_PREFIX = 'Connection refused: ';

function connackRefusal(err: unknown): number | undefined {
  const e = (err ?? {}) as ErrorLike;
  return typeof e.code === 'number' && typeof e.message === 'string' && e.message.startsWith(CONNACK_PREFIX) ? e.code : undefined;
}

/** A CONNACK refusal because of credentials: retrying at the normal pace will not help. */
export function isAuthFailure(err: unknown): boolean {
  const code = connackRefusal(err);
  return code !== undefined && (BAD_CREDENTIALS.has(code) || NOT_AUTHORIZED.has(code));
}

/** The reason text for a client error. */
export function describeError(err: unknown): string {
  const e = (err ?? {}) as ErrorLike;
  const message = typeof e.message === 'string' ? e.message : String(err);
  const refusal = connackRefusal(err);
  if (refusal !== undefined) {
    if (NOT_AUTHORIZED.has(refusal)) return 'not authorized';
    if (BAD_CREDENTIALS.has(refusal)) return 'not authorized: bad username or password';
    // other CONNACK refusals: "Connection refused: Server unavailable" and friends
    return `broker refused the connection: ${message.slice(CONNACK_PREFIX.length)}`;
  }
  if (typeof e.code === 'number') return `broker broke the MQTT protocol: ${message}`;
  if (typeof e.code === 'string') {
    // Node socket errors: "connect ECONNREFUSED 127.0.0.1:1883", "getaddrinfo ENOTFOUND host"
    const at = message.indexOf(e.code);
    if (SOCKET_CODES.has(e.code)) return `broker unreachable: ${at >= 0 ? message.slice(at) : e.code}`;
    // TLS verification and the like: keep the message, add the code for searching
    return at >= 0 ? `broker connection failed: ${message}` : `broker connection failed: ${message} (${e.code})`;
  }
  if (message === 'connack timeout') return 'broker did not answer CONNECT in time';
  if (message === 'Keepalive timeout') return 'broker stopped answering (keepalive timeout)';
  if (unreadableAck(message) !== undefined) {
    return `broker answered a message with a reason code MQTT 5 does not define (${message}; Mosquitto does so for a message over its message_size_limit)`;
  }
  return `broker connection failed: ${message}`;
}

/**
 * mqtt-packet's error for an acknowledgement whose reason code MQTT 5 does not define for it, which
 * it cannot read: the kind of acknowledgement, or undefined for any other error. Mosquitto sends one
 * (0x95) for a message over its message_size_limit.
 */
export function unreadableAck(message: string): 'puback' | 'pubrec' | undefined {
  if (message === 'Invalid puback reason code') return 'puback';
  if (message === 'Invalid pubrec reason code') return 'pubrec';
  return undefined;
}

const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'EADDRNOTAVAIL',
]);
