/**
 * The one place where every configuration key, its default and its reason live.
 * Objects are strict: an unknown key (a typo) is an error that names its path.
 *
 * zod/mini, not zod's chained API: the same checks and issues (one core), but a schema is a plain
 * object instead of one carrying ~50 method closures, and a bundle takes only what is used (22 KB
 * against 450; README "Footprint": 3-5 MB less RSS at rest; the schema stays loaded for reloads).
 */
import * as z from 'zod/mini';
import { ROLES } from '../domain.js';
import { FLEET_MAX_COMMAND_MS, MAX_ID_LENGTH, MAX_TIMER_MS } from '../bounds.js';
import { isLoopbackHost } from './loopback.js';
import { filterProblem, topicNameProblem } from './mqtt-topic.js';

/**
 * A duration in ms. 0 is refused unless the key says what 0 means there (`zero`, shown in the
 * README): a 0 that disables keepalive and a 0 that would time out at once must not look alike.
 */
const nonEmpty = () => z.string().check(z.minLength(1));
const int = () => z.number().check(z.int());
const positiveInt = () => z.number().check(z.int(), z.positive());
// Node fires a timer longer than MAX_TIMER_MS after 1 ms: "never, in practice" must not mean "at once"
const timerMax = () => z.lte(MAX_TIMER_MS, { message: `at most ${MAX_TIMER_MS} ms (~24.8 days, the longest timer Node can set)` });
const ms = (def: number, zero?: string) =>
  z._default(
    zero === undefined
      ? positiveInt().check(timerMax())
      : z.number().check(z.int(), z.nonnegative(), timerMax()).register(z.globalRegistry, { zero }),
    def,
  );
const bytes = (def: number) => z._default(positiveInt(), def);
/** A resource limit: its reason and what happens at it travel with it into the README's Limits table. */
const limit = <T extends z.ZodMiniType>(schema: T, why: string): T => {
  z.globalRegistry.add(schema, { why });
  return schema;
};

/** a regular expression from the config: a typo is a config error with its path, not a runtime surprise */
const pattern = () =>
  z.string().check(
    z.minLength(1),
    z.superRefine((p, ctx) => {
      try {
        new RegExp(p);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `not a valid regular expression: ${(err as Error).message}` });
      }
    }),
  );

const backoff = (minMs: number, maxMs: number) =>
  z.prefault(
    z.strictObject({
      /** first retry delay */
      minMs: ms(minMs),
      /** cap of every wait (src/backoff.ts: each wait is half its step plus a random half) */
      maxMs: ms(maxMs),
    }),
    {},
  );

/** An input budget (src/sources/input-rate.ts): a device's, or each other fleet gateway's. */
const inputRate = (bytesPerSecond: number, burstBytes: number) =>
  z.prefault(z.strictObject({ bytesPerSecond: bytes(bytesPerSecond), burstBytes: bytes(burstBytes) }), {});

/** Device and gateway ids; also the rule for ids the MQTT source derives from topic levels. */
export const ID_PATTERN = new RegExp(`^[A-Za-z0-9_.-]{1,${MAX_ID_LENGTH}}$`);

/** An MQTT topic (name or filter) checked by the same rules the MQTT source applies. */
const mqttTopic = (problemOf: (topic: string) => string | undefined) =>
  z.string().check(
    z.superRefine((t, ctx) => {
      const problem = problemOf(t);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
  );

export const limitsSchema = z.prefault(
  z.strictObject({
    maxMessageBytes: limit(
      bytes(64 * 1024),
      'dashboards send short commands; room for a big MQTT payload and no more. Checked against the *declared* length (running total over fragments) before anything is buffered → close 1009',
    ),
    maxFragments: limit(bytes(128), 'a real client uses a handful of frames per message; stops empty-fragment floods → close 1009'),
    maxHeaders: limit(bytes(64), 'browsers send ~15 headers; stops header floods (ws CVE-2024-37890) → HTTP 431, on plain requests as on upgrades'),
    maxHeaderBytes: limit(bytes(16 * 1024), 'a browser handshake, cookies included, is well under 8 KiB → HTTP 431'),
    handshakeTimeoutMs: limit(ms(10_000), 'slowloris: headers not complete within this → 408 and closed (with TLS, also the TLS handshake)'),
    pingIntervalMs: limit(
      ms(20_000, 'turns keepalive off: no pings, a silent peer is never dropped'),
      'under common NAT/proxy idle timeouts (30–60 s): a silent connection is pinged',
    ),
    pongTimeoutMs: limit(ms(20_000), 'a peer silent this long after a ping is gone (phone asleep, Wi-Fi lost): socket destroyed, 1006'),
    closeTimeoutMs: limit(ms(10_000), 'close handshake not completed within this → socket destroyed'),
    sendSoftLimitBytes: limit(
      bytes(64 * 1024),
      "queued outbound bytes above this: `send()` returns `'backpressure'` and the hub sends only the latest value per device",
    ),
    sendHardLimitBytes: limit(
      bytes(1024 * 1024),
      'a queue that would pass this closes the connection with 1013: one stuck client cannot grow memory (one larger message still goes out on an empty queue)',
    ),
    maxConnections: limit(
      bytes(2000),
      'across all endpoints, beyond it HTTP 503. The schema budgets ~10 KB per idle connection (~20 MB on a 1 GB Pi); measured ≈ 8 KiB RSS',
    ),
    maxConnectionsPerAddress: limit(
      bytes(256),
      "TCP connections one peer address (an IPv6 /64) may hold at once, handshakes and plain requests included, so one host cannot take every connection and file descriptor from the others → closed at accept, counted in `serialgate_connections_refused_total`. Behind a reverse proxy every dashboard has the proxy's address: raise it there",
    ),
  }),
  {},
);

export const serverSchema = z.prefault(
  z.strictObject({
    // Loopback by default: exposing the gateway to the LAN is a decision the config states.
    host: z._default(nonEmpty(), '127.0.0.1'),
    port: z._default(int().check(z.gte(0), z.lte(65535)), 8080),
    path: z._default(z.string().check(z.startsWith('/')), '/ws'),
    // Diagnostics / conformance echo endpoint at /echo; off so it cannot be abused as a relay.
    echo: z._default(z.boolean(), false),
    tls: z.optional(z.strictObject({ cert: nonEmpty(), key: nonEmpty() })),
    limits: limitsSchema,
  }),
  {},
);

export const roleSchema = z.enum(ROLES);

/** a name or name:port as a browser sends it in Host (src/ws/host.ts has the full grammar; this catches the usual slips) */
const HOST_ENTRY = /^(?:[^\s/\\*@?#:[\]]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;
const HOST_ENTRY_MESSAGE = 'expected a host name or name:port as the Host header carries it (no scheme, path, wildcard or spaces)';

export const authSchema = z.prefault(
  z.strictObject({
    tokens: z._default(
      z.array(z.strictObject({ token: z.string().check(z.minLength(16, 'tokens must be at least 16 characters')), role: roleSchema })),
      [],
    ),
    // Origins allowed besides the gateway's own (same-origin is always allowed).
    origins: z._default(z.array(z.string().check(z.url())), []),
    // Role of a client without a token. Readings are visible, commands need an operator token;
    // "operator" is refused unless the server listens on loopback only.
    anonymous: z._default(z.enum(['none', 'viewer', 'operator']), 'viewer'),
    // ?token= ends up in proxy and browser logs; off unless asked for.
    queryToken: z._default(z.boolean(), false),
    // Host header allowlist against DNS rebinding; empty = localhost names when bound to loopback, any otherwise.
    // An entry is compared with the Host header as sent: a URL, a path or a wildcard would never match.
    hosts: z._default(z.array(z.string().check(z.regex(HOST_ENTRY, HOST_ENTRY_MESSAGE))), []),
  }),
  {},
);

export const mqttSchema = z
  .strictObject({
    url: z.string().check(
      z.regex(/^(mqtts?|wss?|tcp|ssl):\/\//, 'expected an mqtt://, mqtts://, ws:// or wss:// URL'),
      // what the client parses it with; the message never quotes it (a password may be in it)
      z.refine((s) => URL.canParse(s), 'not a URL: a password or user name in it must be percent-encoded (/ ? # @ : as %2F %3F %23 %40 %3A)'),
    ),
    // 5: the broker drops a payload too big to hold for us, and says when it refuses a command (README
    // "MQTT and federation"); 4 (3.1.1) only for a broker that speaks nothing else
    protocolVersion: z._default(z.union([z.literal(5), z.literal(4)]), 5),
    username: z.optional(z.string()),
    password: z.optional(z.string()),
    clientId: z.optional(z.string()),
    tls: z.optional(
      z.strictObject({
        ca: z.optional(z.string()),
        cert: z.optional(z.string()),
        key: z.optional(z.string()),
        rejectUnauthorized: z._default(z.boolean(), true),
      }),
    ),
    // mqtt.js retries every 1 s forever by default; we back off up to maxMs with jitter.
    reconnect: backoff(1_000, 30_000),
    // After "not authorized" the broker will say the same again: retry slowly.
    authRetryMs: ms(60_000),
    // A dead broker behind a silent network (cable pulled) is noticed after 1.5 × this; 0 disables.
    keepaliveSeconds: z._default(int().check(z.gte(0), z.lte(65535)), 30),
    // A command publish (QoS 2) not taken by the broker (PUBREC) within this fails with `timeout`.
    commandTimeoutMs: ms(5_000),
    // Bigger payloads are counted as parse errors and dropped: never a reading, never forwarded.
    maxPayloadBytes: bytes(64 * 1024),
    // Fleet mode (README "Fleet"): presence, remote devices and commands under <prefix>/<gateway>/.
    federation: z.prefault(
      z.strictObject({
        enabled: z._default(z.boolean(), false),
        prefix: z._default(mqttTopic(topicNameProblem), 'serialgate'),
        // remote devices shown here, as a pattern on "<gateway>/<device>"; all when unset
        include: z.optional(pattern()),
        // a remote command not answered by its owner within this is `timeout` (the owner drops it after);
        // owners remember a request's correlation at most FLEET_MAX_COMMAND_MS, so no longer than that
        commandTimeoutMs: z._default(positiveInt().check(z.lte(FLEET_MAX_COMMAND_MS)), 10_000),
        // readings owed to the fleet while the broker is away; beyond either bound the oldest is dropped
        queue: z.prefault(z.strictObject({ messages: bytes(10_000), bytes: bytes(2 * 1024 * 1024) }), {}),
        // what each other gateway's messages may cost us; beyond it they are dropped unparsed
        inputRate: inputRate(1024 * 1024, 4 * 1024 * 1024),
      }),
      {},
    ),
  })
  .check(
    z.superRefine((m, ctx) => {
      // correlation data, message expiry and the session the fleet keeps exist in MQTT 5 only
      if (m.federation.enabled && m.protocolVersion !== 5) {
        ctx.addIssue({ code: 'custom', path: ['protocolVersion'], message: 'fleet mode (mqtt.federation.enabled) needs MQTT 5' });
      }
    }),
  );

export const parserSchema = z.strictObject({
  format: z.enum(['json', 'kv', 'csv', 'regex', 'raw']),
  // csv: column names in order
  columns: z.optional(z.array(nonEmpty())),
  // csv: field separator
  separator: z._default(nonEmpty(), ','),
  // regex: a pattern with named groups
  pattern: z.optional(pattern()),
  // keep the original line in `raw` as well as the parsed values
  keepRaw: z._default(z.boolean(), false),
  // a line that fails to parse: forward it as raw with the error, or count and drop it
  onError: z._default(z.enum(['raw', 'drop']), 'raw'),
});

export const serialSchema = z.strictObject({
  path: nonEmpty(),
  baudRate: z._default(positiveInt(), 9600),
  dataBits: z._default(z.union([z.literal(5), z.literal(6), z.literal(7), z.literal(8)]), 8),
  stopBits: z._default(z.union([z.literal(1), z.literal(1.5), z.literal(2)]), 1),
  parity: z._default(z.enum(['none', 'even', 'odd', 'mark', 'space']), 'none'),
  // line delimiter on input; "\r\n" and "\n" both work with the default since \r is trimmed
  delimiter: z._default(nonEmpty(), '\n'),
  // a device that never sends a newline cannot take more memory than this
  maxLineBytes: bytes(4096),
  reconnect: backoff(500, 10_000),
});

export const mqttDeviceSchema = z.strictObject({
  // topic filter, wildcards allowed
  topic: mqttTopic(filterProblem),
  commandTopic: z.optional(mqttTopic(topicNameProblem)),
  // with a wildcard filter, derive the device id from this topic segment (0-based): "{id}-{segment}"
  idFromTopicSegment: z.optional(int().check(z.nonnegative())),
  payload: z._default(z.enum(['json', 'number', 'string']), 'json'),
  qos: z._default(z.union([z.literal(0), z.literal(1), z.literal(2)]), 0),
});

export const commandsSchema = z.prefault(
  z.strictObject({
    // appended to every serial command line
    terminator: z._default(z.string(), '\n'),
    maxLength: z._default(positiveInt(), 256),
    // optional allowlist pattern a command line must match
    allow: z.optional(pattern()),
    // request/response devices: the first line matching `match` within `timeoutMs` is the reply
    reply: z.optional(z.strictObject({ match: pattern(), timeoutMs: ms(2_000) })),
    // without `reply`: a serial command not written and drained within this is `timeout` and the port is
    // reset (a device that stopped reading would otherwise hold the port's queue forever)
    writeTimeoutMs: ms(2_000),
    // commands waiting for one port; beyond this, `busy`
    queue: z._default(positiveInt(), 16),
  }),
  {},
);

export const deviceSchema = z
  .strictObject({
    id: z.string().check(z.regex(ID_PATTERN, `ids are 1-${MAX_ID_LENGTH} of A-Z a-z 0-9 _ . -`)),
    serial: z.optional(serialSchema),
    mqtt: z.optional(mqttDeviceSchema),
    parser: z.prefault(parserSchema, { format: 'raw' }),
    commands: commandsSchema,
    // /healthz answers 503 while a required device is down
    required: z._default(z.boolean(), false),
    // what one device may send (serial lines, MQTT payloads); beyond it input is dropped before parsing.
    // 256 KiB/s is 2,000 lines of 100 bytes a second, four maximal MQTT payloads (64 KB), 20 times what a
    // 115200-baud port carries. It bounds a device (or whoever publishes on its topic) flooding the gateway:
    // at 10 MB/s of 60 KB payloads the daemon grew past the unit's MemoryMax and took the CPU from the others
    inputRate: inputRate(256 * 1024, 1024 * 1024),
  })
  .check(
    z.superRefine((d, ctx) => {
      if (!!d.serial === !!d.mqtt) {
        ctx.addIssue({ code: 'custom', message: 'a device has exactly one source: serial or mqtt' });
      }
      if (d.parser.format === 'csv' && !d.parser.columns?.length) {
        ctx.addIssue({ code: 'custom', path: ['parser', 'columns'], message: 'csv needs column names' });
      }
      if (d.parser.format === 'regex' && !d.parser.pattern) {
        ctx.addIssue({ code: 'custom', path: ['parser', 'pattern'], message: 'regex needs a pattern with named groups' });
      }
    }),
  );

export const hubSchema = z.prefault(
  z.strictObject({
    // readings kept for resume (`subscribe` with `since`); ~200 B each, 10,000 ≈ 2 MB
    resumeBuffer: z._default(int().check(z.nonnegative()), 10_000),
    // the longest a frame may be held back to share a write with later ones (less CPU, more
    // latency), and only while writing to dashboards takes over FLUSH_SHARE_PERCENT of the time
    // (src/hub/flush-scheduler.ts); by default none is: a dashboard user notices latency first
    coalesceMs: ms(0, 'holds no frame back: what arrives in one loop turn still leaves in one write per connection'),
    // a connection above the soft limit for this long is closed with 1013
    stallTimeoutMs: ms(30_000),
    // per-connection command rate limit (token bucket)
    commandRate: z.prefault(z.strictObject({ perSecond: z._default(z.number().check(z.positive()), 20), burst: bytes(40) }), {}),
    // this many undecodable client messages within 10 s close the connection with 1008
    badMessageLimit: bytes(20),
  }),
  {},
);

export const historySchema = z.prefault(
  z.strictObject({
    // off: no history in memory or on disk, and no stream carried across a restart
    enabled: z._default(z.boolean(), true),
    // where segments and the stream snapshot live; empty = $STATE_DIRECTORY (StateDirectory= in the unit),
    // and with neither the history stays in memory only (nothing written)
    dir: z._default(z.string(), ''),
    // readings kept as they came: 10 min is what a live chart zooms into
    rawWindowMs: z._default(positiveInt(), 600_000),
    // older data as min/max/mean/count per field per minute: 1,440 buckets draw a day at full width
    bucketMs: z._default(positiveInt(), 60_000),
    // buckets older than this expire (memory and disk): two days, so "yesterday" is always whole
    retentionMs: z._default(positiveInt(), 2 * 86_400_000),
    // memory of the whole history (all devices), and separately its files: 32 MiB each is ~3 % of a 1 GB Pi
    budgetBytes: bytes(32 * 1024 * 1024),
    // at most one write + fsync per this interval (Home Assistant's recorder advises 30 s for SD cards);
    // a power cut loses at most this much
    flushMs: ms(30_000),
    // one bucket file per this period: expiry deletes whole files, never rewrites one
    segmentMs: z._default(positiveInt(), 3_600_000),
  }),
  {},
);

export const configSchema = z
  .strictObject({
    gateway: z.prefault(z.strictObject({ id: z._default(z.string().check(z.regex(ID_PATTERN)), 'serialgate') }), {}),
    server: serverSchema,
    auth: authSchema,
    mqtt: z.optional(mqttSchema),
    devices: z._default(z.array(deviceSchema), []),
    hub: hubSchema,
    history: historySchema,
    log: z.prefault(z.strictObject({ level: z._default(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']), 'info') }), {}),
  })
  .check(
    z.superRefine((c, ctx) => {
      const seen = new Set<string>();
      // two devices on one port: the second never opened ("port is busy: a getty?") for ever
      const ports = new Map<string, number>();
      c.devices.forEach((d, i) => {
        if (seen.has(d.id)) ctx.addIssue({ code: 'custom', path: ['devices', i, 'id'], message: `duplicate device id "${d.id}"` });
        seen.add(d.id);
        const first = d.serial ? ports.get(d.serial.path) : undefined;
        if (first !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['devices', i, 'serial', 'path'],
            message: `the same port as devices[${first}] (one device per port)`,
          });
        } else if (d.serial) ports.set(d.serial.path, i);
        if (d.mqtt && !c.mqtt) ctx.addIssue({ code: 'custom', path: ['devices', i, 'mqtt'], message: 'an MQTT device needs the top-level mqtt.url' });
      });
      // an id a topic could derive (`<id>-<segment>`) is ambiguous: a message on sensors/kitchen
      // was a reading of the serial device gh-kitchen on every dashboard, and its commands went there
      c.devices.forEach((d, i) => {
        const j = c.devices.findIndex((o) => o !== d && o.mqtt?.idFromTopicSegment !== undefined && d.id.startsWith(`${o.id}-`));
        if (j >= 0) {
          ctx.addIssue({
            code: 'custom',
            path: ['devices', i, 'id'],
            message: `devices[${j}] ("${c.devices[j]!.id}", idFromTopicSegment) derives ids "${c.devices[j]!.id}-<segment>": its readings could carry this id too`,
          });
        }
      });
      if (c.auth.anonymous === 'operator' && !isLoopbackHost(c.server.host)) {
        ctx.addIssue({
          code: 'custom',
          path: ['auth', 'anonymous'],
          message: 'anonymous operators are only allowed when server.host is loopback (127.0.0.1, ::1)',
        });
      }
    }),
  );

export type Config = z.infer<typeof configSchema>;
export type DeviceConfig = Config['devices'][number];
export type LimitsConfig = Config['server']['limits'];
export type ParserConfig = DeviceConfig['parser'];
export type SerialConfig = NonNullable<DeviceConfig['serial']>;
export type MqttConfig = NonNullable<Config['mqtt']>;
export type HistoryConfig = Config['history'];
export type InputRateConfig = DeviceConfig['inputRate'];
