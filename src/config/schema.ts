/**
 * The one place where every configuration key, its default and its reason live.
 * Objects are strict: an unknown key (a typo) is an error that names its path.
 */
import { z } from 'zod';
import { filterProblem, topicNameProblem } from '../sources/mqtt/topic.js';

const ms = (def: number) => z.number().int().nonnegative().default(def);
const bytes = (def: number) => z.number().int().positive().default(def);

/** a regular expression from the config: a typo is a config error with its path, not a runtime surprise */
const pattern = () =>
  z.string().min(1).superRefine((p, ctx) => {
    try {
      new RegExp(p);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `not a valid regular expression: ${(err as Error).message}` });
    }
  });

const backoff = (minMs: number, maxMs: number) =>
  z
    .strictObject({
      /** first retry delay */
      minMs: ms(minMs),
      /** cap of the exponential backoff; jitter is added on top of every step */
      maxMs: ms(maxMs),
    })
    .prefault({});

/** Device and gateway ids; also the rule for ids the MQTT source derives from topic levels. */
export const ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/** An MQTT topic (name or filter) checked by the same rules the MQTT source applies. */
const mqttTopic = (problemOf: (topic: string) => string | undefined) =>
  z.string().superRefine((t, ctx) => {
    const problem = problemOf(t);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

export const limitsSchema = z
  .strictObject({
    // Dashboards send short commands; 64 KiB leaves room for a big MQTT payload and no more.
    maxMessageBytes: bytes(64 * 1024),
    // A real client fragments a message into a handful of frames; this stops empty-fragment floods.
    maxFragments: bytes(128),
    // Browsers send ~15 headers; 64 stops header floods (ws CVE-2024-37890) long before memory matters.
    maxHeaders: bytes(64),
    // Cookies included, a browser handshake is well under 8 KiB.
    maxHeaderBytes: bytes(16 * 1024),
    // Slowloris: a handshake that does not complete within this is dropped.
    handshakeTimeoutMs: ms(10_000),
    // Under common NAT/proxy idle timeouts (30-60 s); 0 disables keepalive.
    pingIntervalMs: ms(20_000),
    // A peer that has not answered a ping within this is gone (phone asleep, Wi-Fi lost).
    pongTimeoutMs: ms(20_000),
    // After sending a close frame, destroy the socket if the peer does not answer within this.
    closeTimeoutMs: ms(10_000),
    // Above this many queued outbound bytes a connection gets only the latest value per device.
    sendSoftLimitBytes: bytes(64 * 1024),
    // Above this a connection is closed with 1013: one stuck client cannot grow our memory.
    sendHardLimitBytes: bytes(1024 * 1024),
    // About 10 KB per idle connection: 2,000 connections fit in ~20 MB of a 1 GB Pi.
    maxConnections: bytes(2000),
  })
  .prefault({});

export const serverSchema = z
  .strictObject({
    // Loopback by default: exposing the gateway to the LAN is a decision the config states.
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8080),
    path: z.string().startsWith('/').default('/ws'),
    // Diagnostics / conformance echo endpoint at /echo; off so it cannot be abused as a relay.
    echo: z.boolean().default(false),
    tls: z.strictObject({ cert: z.string().min(1), key: z.string().min(1) }).optional(),
    limits: limitsSchema,
  })
  .prefault({});

export const roleSchema = z.enum(['viewer', 'operator']);

export const authSchema = z
  .strictObject({
    tokens: z
      .array(z.strictObject({ token: z.string().min(16, 'tokens must be at least 16 characters'), role: roleSchema }))
      .default([]),
    // Origins allowed besides the gateway's own (same-origin is always allowed).
    origins: z.array(z.string().url()).default([]),
    // Role of a client without a token. Readings are visible, commands need an operator token;
    // "operator" is refused unless the server listens on loopback only.
    anonymous: z.enum(['none', 'viewer', 'operator']).default('viewer'),
    // ?token= ends up in proxy and browser logs; off unless asked for.
    queryToken: z.boolean().default(false),
    // Host header allowlist against DNS rebinding; empty = localhost names when bound to loopback, any otherwise.
    hosts: z.array(z.string().min(1)).default([]),
  })
  .prefault({});

export const mqttSchema = z.strictObject({
  url: z.string().regex(/^(mqtts?|wss?|tcp|ssl):\/\//, 'expected an mqtt://, mqtts://, ws:// or wss:// URL'),
  username: z.string().optional(),
  password: z.string().optional(),
  clientId: z.string().optional(),
  tls: z
    .strictObject({
      ca: z.string().optional(),
      cert: z.string().optional(),
      key: z.string().optional(),
      rejectUnauthorized: z.boolean().default(true),
    })
    .optional(),
  // mqtt.js retries every 1 s forever by default; we back off up to maxMs with jitter.
  reconnect: backoff(1_000, 30_000),
  // After "not authorized" the broker will say the same again: retry slowly.
  authRetryMs: ms(60_000),
  // A dead broker behind a silent network (cable pulled) is noticed after 1.5 × this; 0 disables.
  keepaliveSeconds: z.number().int().min(0).max(65535).default(30),
  // A command publish (QoS 2) not taken by the broker (PUBREC) within this fails with `timeout`.
  commandTimeoutMs: ms(5_000),
  // Bigger payloads are counted as parse errors and dropped: never a reading, never forwarded.
  maxPayloadBytes: bytes(64 * 1024),
  // Fleet mode (README "Fleet"): presence, remote devices and commands under <prefix>/<gateway>/.
  federation: z
    .strictObject({
      enabled: z.boolean().default(false),
      prefix: mqttTopic(topicNameProblem).default('serialgate'),
      // remote devices shown here, as a pattern on "<gateway>/<device>"; all when unset
      include: pattern().optional(),
      // a remote command not answered by its owner within this is `timeout` (the owner drops it after)
      commandTimeoutMs: z.number().int().positive().default(10_000),
      // readings owed to the fleet while the broker is away; beyond either bound the oldest is dropped
      queue: z.strictObject({ messages: bytes(10_000), bytes: bytes(2 * 1024 * 1024) }).prefault({}),
    })
    .prefault({}),
});

export const parserSchema = z.strictObject({
  format: z.enum(['json', 'kv', 'csv', 'regex', 'raw']),
  // csv: column names in order
  columns: z.array(z.string().min(1)).optional(),
  // csv: field separator
  separator: z.string().min(1).default(','),
  // regex: a pattern with named groups
  pattern: pattern().optional(),
  // keep the original line in `raw` as well as the parsed values
  keepRaw: z.boolean().default(false),
  // a line that fails to parse: forward it as raw with the error, or count and drop it
  onError: z.enum(['raw', 'drop']).default('raw'),
});

export const serialSchema = z.strictObject({
  path: z.string().min(1),
  baudRate: z.number().int().positive().default(9600),
  dataBits: z.union([z.literal(5), z.literal(6), z.literal(7), z.literal(8)]).default(8),
  stopBits: z.union([z.literal(1), z.literal(1.5), z.literal(2)]).default(1),
  parity: z.enum(['none', 'even', 'odd', 'mark', 'space']).default('none'),
  // line delimiter on input; "\r\n" and "\n" both work with the default since \r is trimmed
  delimiter: z.string().min(1).default('\n'),
  // a device that never sends a newline cannot take more memory than this
  maxLineBytes: bytes(4096),
  reconnect: backoff(500, 10_000),
});

export const mqttDeviceSchema = z.strictObject({
  // topic filter, wildcards allowed
  topic: mqttTopic(filterProblem),
  commandTopic: mqttTopic(topicNameProblem).optional(),
  // with a wildcard filter, derive the device id from this topic segment (0-based): "{id}-{segment}"
  idFromTopicSegment: z.number().int().nonnegative().optional(),
  payload: z.enum(['json', 'number', 'string']).default('json'),
  qos: z.union([z.literal(0), z.literal(1), z.literal(2)]).default(0),
});

export const commandsSchema = z
  .strictObject({
    // appended to every serial command line
    terminator: z.string().default('\n'),
    maxLength: z.number().int().positive().default(256),
    // optional allowlist pattern a command line must match
    allow: pattern().optional(),
    // request/response devices: the first line matching `match` within `timeoutMs` is the reply
    reply: z.strictObject({ match: pattern(), timeoutMs: ms(2_000) }).optional(),
    // without `reply`: a serial command not written and drained within this is `timeout` and the port is
    // reset (a device that stopped reading would otherwise hold the port's queue forever)
    writeTimeoutMs: z.number().int().positive().default(2_000),
    // commands waiting for one port; beyond this, `busy`
    queue: z.number().int().positive().default(16),
  })
  .prefault({});

export const deviceSchema = z
  .strictObject({
    id: z.string().regex(ID_PATTERN, 'ids are 1-64 of A-Z a-z 0-9 _ . -'),
    serial: serialSchema.optional(),
    mqtt: mqttDeviceSchema.optional(),
    parser: parserSchema.prefault({ format: 'raw' }),
    commands: commandsSchema,
    // /healthz answers 503 while a required device is down
    required: z.boolean().default(false),
  })
  .superRefine((d, ctx) => {
    if (!!d.serial === !!d.mqtt) {
      ctx.addIssue({ code: 'custom', message: 'a device has exactly one source: serial or mqtt' });
    }
    if (d.parser.format === 'csv' && !d.parser.columns?.length) {
      ctx.addIssue({ code: 'custom', path: ['parser', 'columns'], message: 'csv needs column names' });
    }
    if (d.parser.format === 'regex' && !d.parser.pattern) {
      ctx.addIssue({ code: 'custom', path: ['parser', 'pattern'], message: 'regex needs a pattern with named groups' });
    }
  });

export const hubSchema = z
  .strictObject({
    // readings kept for resume (`subscribe` with `since`); ~200 B each, 10,000 ≈ 2 MB
    resumeBuffer: z.number().int().nonnegative().default(10_000),
    // frames for one connection written within this window go out in one write (fewer syscalls)
    coalesceMs: ms(5),
    // a connection above the soft limit for this long is closed with 1013
    stallTimeoutMs: ms(30_000),
    // per-connection command rate limit (token bucket)
    commandRate: z.strictObject({ perSecond: z.number().positive().default(20), burst: bytes(40) }).prefault({}),
    // this many undecodable client messages within 10 s close the connection with 1008
    badMessageLimit: bytes(20),
  })
  .prefault({});

export const configSchema = z
  .strictObject({
    gateway: z.strictObject({ id: z.string().regex(ID_PATTERN).default('serialgate') }).prefault({}),
    server: serverSchema,
    auth: authSchema,
    mqtt: mqttSchema.optional(),
    devices: z.array(deviceSchema).default([]),
    hub: hubSchema,
    log: z.strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info') }).prefault({}),
  })
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.devices.forEach((d, i) => {
      if (seen.has(d.id)) ctx.addIssue({ code: 'custom', path: ['devices', i, 'id'], message: `duplicate device id "${d.id}"` });
      seen.add(d.id);
      if (d.mqtt && !c.mqtt) ctx.addIssue({ code: 'custom', path: ['devices', i, 'mqtt'], message: 'an MQTT device needs the top-level mqtt.url' });
    });
    const loopback = ['127.0.0.1', '::1', 'localhost'].includes(c.server.host);
    if (c.auth.anonymous === 'operator' && !loopback) {
      ctx.addIssue({
        code: 'custom',
        path: ['auth', 'anonymous'],
        message: 'anonymous operators are only allowed when server.host is loopback (127.0.0.1, ::1)',
      });
    }
  });

export type Config = z.infer<typeof configSchema>;
export type DeviceConfig = Config['devices'][number];
export type LimitsConfig = Config['server']['limits'];
export type ParserConfig = DeviceConfig['parser'];
export type SerialConfig = NonNullable<DeviceConfig['serial']>;
export type MqttConfig = NonNullable<Config['mqtt']>;
export type Role = z.infer<typeof roleSchema>;
