/**
 * The one catalogue of error codes: what goes on the wire (ack and error codes, close codes,
 * HTTP statuses), what a typed error carries, and what the log marks with `code`. Every union of
 * codes in the project is derived from an object here, and the README tables are rendered from
 * it (.ci/readme-tables.ts, checked by test/unit/errors.test.ts), so a code cannot be added,
 * renamed or explained in one place and not the others.
 *
 * Pure data, no imports: the browser client bundles it too. src/ws keeps its protocol-violation
 * codes itself (WS_ERRORS) because it is the bottom layer; the README's log table lists both.
 */

/** `ack.error.code`: why a command was not carried out. */
export const ACK_ERRORS = {
  forbidden: "the connection's role is `viewer`, or the line/payload does not match `commands.allow`",
  unknown_device: 'no device with that id',
  invalid:
    'wrong field types; `line` for an MQTT device or `payload` for a serial one; empty, too long, control characters; MQTT device without `commandTopic`; an MQTT command at least as large as one the broker refused as too large (`message_size_limit`); a remote (fleet) command a dashboard would have had refused as `malformed`, `out_of_range`, `too_deep` or `forbidden_key` (a lone surrogate, a number beyond ±(2^53−1)…; the message names that code)',
  rate_limited: 'more than `hub.commandRate` (20/s, burst 40) on this connection, whatever its role',
  busy: 'the id is still in flight on this connection, or the device queue (`commands.queue`) is full, or this connection already holds half of it',
  device_unavailable:
    'the device is down (answered at once, never queued), the serial port is being reset after a stuck write (commands queued behind it), the broker refused the command (an ACL, or a PUBREC MQTT 5 does not define: Mosquitto over its `message_size_limit`), the broker connection dropped before the PUBREC (the command is then never published), or a reload reopened or removed the device or restarted the MQTT client while the command was pending (the message says which; send it again)',
  timeout:
    "serial: not written and drained (then the port is reset, see [commands](#commands)) or not answered with a line matching `commands.reply.match` within the command's deadline (`reply.timeoutMs`, or `commands.writeTimeoutMs` without `reply`) / MQTT: no PUBREC within `mqtt.commandTimeoutMs` (the command is then never published)",
  shutting_down: 'the gateway is stopping (pending commands get it at shutdown)',
  internal: 'a bug; the gateway log says more',
} as const;
export type AckErrorCode = keyof typeof ACK_ERRORS;

/** One set of codes for every origin of a command: what a device or the router rejects with is what an ack carries. */
export type CommandErrorCode = AckErrorCode;

/** `error.code`: a client message refused before it could be a subscribe or a command. */
export const MESSAGE_ERRORS = {
  malformed:
    'not JSON / not CBOR, or outside the JSON data model (see [Encodings](#encodings-subprotocols)): CBOR tags, byte strings, `undefined`, non-text keys, text that is not UTF-8, lone surrogates',
  out_of_range: 'a number that is NaN, ±Infinity or beyond ±(2^53−1), on either encoding',
  bad_encoding: 'a binary frame on JSON, a text frame on CBOR',
  too_deep: 'nested more than 32 levels',
  forbidden_key: '`__proto__` as a key anywhere',
  not_object: 'the message is not an object',
  unknown_type: '`type` is not `subscribe`, `command` or `history`',
  invalid_field:
    "a subscribe's `devices`/`since`, a command's or history request's `id`, or a history request's range of the wrong type (see [History requests](#history-requests))",
  rate_limited:
    "subscribes or history requests beyond `hub.commandRate`; or history requests while the whole gateway (the export included) has answered `HISTORY_ENTRIES_PER_SECOND` worth of entries (not counted as a bad message). A history request's refusal carries its `id`",
  history_unavailable: 'the history store failed to answer a `history` request (carries its `id`)',
} as const;
export type ClientErrorCode = keyof typeof MESSAGE_ERRORS;

/** The message codes decided while decoding a frame, before the message's shape is looked at. */
export type DecodeErrorCode = Extract<ClientErrorCode, 'bad_encoding' | 'malformed' | 'too_deep' | 'forbidden_key' | 'out_of_range'>;

/** Failures the typed client decides itself; never sent by the gateway (its ack codes pass through). */
export const CLIENT_SIDE_ERRORS = {
  client_timeout: 'no ack within the command timeout (held back or sent)',
  connection_lost: 'the connection dropped after the command was sent: it may or may not have run',
  closed: '`client.close()` was called',
  aborted: "history only: the request's `signal` was aborted (it is dropped: never sent or retried again)",
} as const;
export type ClientSideCode = keyof typeof CLIENT_SIDE_ERRORS;

export interface CloseEntry {
  /** the codes this row explains (one row when a client should react to all alike) */
  readonly codes: readonly number[];
  readonly meaning: string;
  /** what a client should do */
  readonly action: string;
}

/** Close codes as dashboards see them from this gateway, with what a client should do. */
export const CLOSE_CODES: readonly CloseEntry[] = [
  { codes: [1000], meaning: 'normal', action: '—' },
  { codes: [1001], meaning: 'gateway shutting down (or restarting)', action: 'reconnect with backoff, resume' },
  { codes: [1002, 1007, 1009], meaning: 'protocol error / invalid UTF-8 / message too big or too many fragments', action: 'fix the client' },
  { codes: [1006], meaning: '(local) TCP lost without a close frame; also a dropped stuck client', action: 'reconnect with backoff, resume' },
  {
    codes: [1008],
    meaning: "policy: flood of bad messages; or a reload removed the connection's token or lowered its role (reason says which)",
    action: 'fix the client; after a reload: reconnect (the new role, or a 401 for a removed token)',
  },
  {
    codes: [1011],
    meaning:
      'internal error: an exception while the gateway handled this connection (logged `SG_ERR_CONNECTION_FAULT`, counted in `serialgate_faults_total`); other connections are not affected',
    action: 'reconnect with backoff',
  },
  { codes: [1013], meaning: 'try again later: slow consumer stalled longer than `hub.stallTimeoutMs`', action: 'reconnect with backoff, resume' },
];

/** HTTP statuses the gateway answers with, on the upgrade path and on plain routes. */
export const HTTP_STATUSES = {
  400: 'bad handshake, no supported subprotocol, a request target that is not a path, a missing (HTTP/1.1), repeated or malformed `Host`, or a malformed request',
  401: 'missing or wrong token',
  403: 'Origin or Host not allowed (`auth.origins`, `auth.hosts`)',
  404: 'no such file or WebSocket endpoint',
  405: 'a method other than GET or HEAD',
  408: 'request (headers, or the TLS handshake) not complete within `server.limits.handshakeTimeoutMs`',
  431: 'more than `server.limits.maxHeaders` header lines or `maxHeaderBytes` of headers',
  500: 'a bug while answering; the gateway log says more',
  503: '`maxConnections` reached, shutting down, or `/healthz` reporting a problem',
} as const;

/** `code` of typed errors thrown at start-up or by the client API, and of faults in the log. */
export const LOG_CODES = {
  SG_ERR_CONFIG:
    'an invalid configuration (every issue with its path and line; a file with no settings at all — empty, only comments — counts as one): `run` exits 78, a reload is refused and the running config stays, `check-config` and `doctor` exit 1',
  SG_ERR_CONNECTION_FAULT: 'an exception while handling one connection: it is closed with 1011, the others go on',
  SG_ERR_SOURCE_FAULT: 'an exception in a source handler: that device goes down with the reason and reconnects (serial: the port is reset)',
  SG_ERR_PEER_CONNECTIONS:
    'one peer address (an IPv6 /64) holds `server.limits.maxConnectionsPerAddress` connections: its new ones are closed at accept and counted (`serialgate_connections_refused_total`), one log line per peer per 10 s',
  SG_ERR_INPUT_RATE:
    'a device sent more than `devices[].inputRate` (or another gateway more than `mqtt.federation.inputRate`, or all of them together more commands to this gateway: `device: "*/command"`): its lines or payloads are dropped unparsed and counted (`serialgate_input_dropped_total`), one log line per device per 10 s',
  SG_ERR_PARSER_CONFIG: 'a parser configuration that cannot work (refused at start and at reload)',
  SG_ERR_MQTT_CONFIG: 'an MQTT TLS file (`mqtt.tls.*`) that cannot be read',
  SG_ERR_WS_ENDPOINT_EXISTS: 'two WebSocket endpoints configured on one path (a bug)',
  SG_ERR_HISTORY_READ: 'the history store threw while answering a request: the client gets `history_unavailable`',
  SG_ERR_HISTORY_WRITE: 'a history batch could not be written: logged, the next batch is tried',
  SG_ERR_HISTORY_DAMAGED: 'history files with a torn or damaged tail at start: what was cut is logged, the rest is kept',
  SG_ERR_HISTORY_LOCKED:
    'the history directory is in use by another live serialgate (its `lock` names the pid): the start fails (exit 1) rather than mix two histories; a lock of a process that is gone, or from before this boot, is taken over',
  SG_ERR_FLEET_DUPLICATE_ID: 'another gateway with this `gateway.id` is online on the fleet broker: federation refused, local work goes on',
  SG_ERR_FLEET_LATE_COMMAND:
    'a remote command arrived after its deadline (`lateMs`): not run, answered `timeout` (ignored by an origin that answered so already; one still waiting has a clock behind ours)',
  SG_ERR_FLEET_DUPLICATE_COMMAND: 'a remote command whose correlation was seen before (a redelivery): dropped, never run twice',
  SG_ERR_FLEET_SUBSCRIBE: 'the fleet broker refused a subscription (check its ACL)',
  SG_ERR_FLEET_LIMIT:
    'a fleet bound was reached (`FLEET_MAX_GATEWAYS`, `FLEET_MAX_REMOTE_DEVICES`, `FLEET_MAX_DEVICES` states): what is past it is ignored, one log line per bound per 10 s',
  SG_ERR_FLEET_CLOCK:
    "another gateway's clock is more than `FLEET_CLOCK_SKEW_MS` ahead of this one's (`aheadMs`) or behind it (`behindMs`): its readings' `ts` are moved to this gateway's time; check NTP on both. One log line per gateway per 10 s",
  SG_ERR_FLEET_TOO_BIG:
    'a reading too big for the fleet (`FLEET_MAX_MESSAGE_BYTES`; every gateway would have it dropped by the broker), or any fleet message at least as large as one the fleet broker refused (its `message_size_limit`: logged once, with `bytes`): not published, counted in `serialgate_mqtt_publish_dropped_total`, one log line per device per 10 s',
  SG_ERR_DEMO_NO_PYTHON: "`serialgate demo` found no `python3` (its mock device's PTY relay runs on it)",
  SG_ERR_CLIENT_TOKEN: 'typed client: a token with characters that cannot travel as a WebSocket subprotocol',
  SG_ERR_CLIENT_NO_WEBSOCKET: 'typed client: no global `WebSocket` and no `WebSocketImpl` passed in',
  SG_ERR_CLIENT_OPTIONS: 'typed client: a URL that is not ws:, wss:, http: or https:',
  SG_ERR_CLIENT_PROTOCOL: 'typed client: the gateway sent something the client cannot read',
} as const;
export type LogCode = keyof typeof LOG_CODES;
