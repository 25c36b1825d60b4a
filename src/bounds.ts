/**
 * Every fixed bound of the gateway, with its reason. A bound an operator may want to change is a
 * configuration key instead (src/config/schema.ts, with its default and reason); what is left here
 * is fixed because no deployment needs another value, or because a protocol fixes it.
 *
 * The README's table of fixed bounds is rendered from FIXED_BOUNDS (.ci/readme-tables.ts) and
 * test/unit/bounds.test.ts checks that every constant exported here has its row. src/ws keeps the
 * RFC 6455 constants it needs itself (it is the bottom layer and imports nothing).
 * Pure data: the browser client bundles it too.
 */

/**
 * YAML alias expansions in a config file. yaml's default (100) refuses a plain config whose 101
 * devices share `parser: *kv`; this still stops an alias bomb (aliases of aliases multiply).
 */
export const MAX_ALIAS_EXPANSIONS = 10_000;
/** A configuration file (and an env file): a real one is a few KB. */
export const MAX_CONFIG_BYTES = 256 * 1024;
/** The longest duration (`…Ms` key) a config may give to a timer: Node's timers hold a signed 32-bit ms count. */
export const MAX_TIMER_MS = 2_147_483_647;
/** Device, gateway and command ids: what the gateway echoes back or uses as a label. */
export const MAX_ID_LENGTH = 64;
/** Device ids one `subscribe` may name. */
export const MAX_SUBSCRIBED = 1024;
/** A `subscribe.epoch` longer than this cannot be one of ours (they are 12 characters). */
export const MAX_EPOCH_LENGTH = 64;
/** Nesting of a client message and of a JSON line from a device. */
export const MAX_DEPTH = 32;
/** Subscription changes remembered per connection for resume de-duplication. */
export const MAX_PERIODS = 16;
/** Estimated bytes the resume buffer (`hub.resumeBuffer` readings with their frames) may hold. */
export const MAX_RESUME_BYTES = 32 * 1024 * 1024;
/** Readings queued for one dashboard's next write: beyond this they are written at once (src/hub/session.ts). */
export const MAX_BATCH_BYTES = 64 * 1024;
/** Bad client messages are counted over this window (`hub.badMessageLimit`). */
export const BAD_MESSAGE_WINDOW_MS = 10_000;
/** Derived MQTT device ids per configured device. */
export const MAX_DERIVED_IDS = 256;
/** MQTT topics whose last retained payload is remembered, so a reconnect does not deliver it again. */
export const MAX_RETAINED_TOPICS = 4096;
/** The least a serial line or MQTT payload costs its device's input budget (src/sources/input-rate.ts). */
export const MIN_INPUT_CHARGE_BYTES = 64;
/** Unsent bytes on the broker socket above which QoS 0 publishes (federated readings) are dropped. */
export const MAX_SOCKET_BACKLOG_BYTES = 1024 * 1024;
/** A broker that accepts TCP but never answers CONNECT is given up on after this. */
export const CONNECT_TIMEOUT_MS = 10_000;
/** An MQTT topic name or filter (MQTT 3.1.1 §1.5.3, 5.0 §1.5.4). */
export const MAX_TOPIC_BYTES = 65_535;
/** What an MQTT packet carries besides its payload, at most: a topic (above) and properties. */
export const MQTT_PACKET_OVERHEAD_BYTES = 128 * 1024;
/** The largest packet MQTT can describe (a 4-byte Remaining Length, 5.0 §1.5.5). */
export const MQTT_MAX_PACKET_BYTES = 268_435_455;
/** A fleet message (a reading, a birth of FLEET_MAX_DEVICES devices, a command, an ack). */
export const FLEET_MAX_MESSAGE_BYTES = 1024 * 1024;
/** How often an open serial port's path is checked for an unplug serialport did not report. */
export const WATCH_INTERVAL_MS = 1_000;
/** How often the daemon compiles an empty vm.Script so that V8 13's memory reducer runs (src/cli/idle-gc.ts). */
export const MEMORY_REDUCER_NUDGE_MS = 30_000;
/** V8's young generation per semi-space, in MB (`--max-semi-space-size`, src/cli/memory-settings.ts and the unit). */
export const SEMI_SPACE_MB = 2;
/** glibc gives back free memory above this at the top of its heap (`MALLOC_TRIM_THRESHOLD_`, src/cli/memory-settings.ts and the unit). */
export const MALLOC_TRIM_THRESHOLD_BYTES = 131_072;
/** A stop (SIGTERM) that has not finished after this exits anyway. */
export const STOP_DEADLINE_MS = 10_000;
/** How long a stop waits for dashboards to answer the close frame (`closeTimeoutMs` when shorter). */
export const SHUTDOWN_CLOSE_GRACE_MS = 2_000;
/** With hub.coalesceMs > 0: the share of the gateway's time that writing to dashboards may take before frames are held to be batched. */
export const FLUSH_SHARE_PERCENT = 10;
/** Distinct causes the log rate limiter tracks. */
export const LOG_RATE_MAX_KEYS = 1000;
/** systemd-notify processes running at once. */
export const NOTIFY_MAX_IN_FLIGHT = 4;
/** A systemd-notify process that has not exited after this is killed. */
export const NOTIFY_TIMEOUT_MS = 5_000;
/** One history record on disk (a batch of points or buckets): larger means a damaged length field. */
export const MAX_RECORD_BYTES = 1024 * 1024;
/** Points in a history answer when the request names no maxPoints. */
export const DEFAULT_HISTORY_POINTS = 1_000;
/** History records framed before each write of a flush (src/history/segment-log.ts). */
export const HISTORY_WRITE_CHUNK_BYTES = 256 * 1024;
/** The most points a history request may ask for. */
export const MAX_HISTORY_POINTS = 10_000;
/** History entries (points, buckets) all connections' history answers may carry per second, and at once. */
export const HISTORY_ENTRIES_PER_SECOND = 200_000;
/** The range of a history request that names no `from`. */
export const DEFAULT_HISTORY_RANGE_MS = 60 * 60_000;
/** Dropped slots a history queue (raw points, points waiting for the files) carries before it compacts. */
export const HISTORY_QUEUE_COMPACT_AFTER = 1024;
/** How often recording a reading also moves every device's history windows (older points out, quiet buckets closed). */
export const HISTORY_SWEEP_MS = 1_000;
/** Remote-command correlations a gateway remembers for duplicate detection. */
export const FLEET_MAX_SEEN = 4096;
/** Correlation data of a remote command an owner remembers and echoes (ours are ~20 bytes, a UUID 36). */
export const FLEET_MAX_CORRELATION_BYTES = 256;
/** The longest a remote command may wait for its owner (mqtt.federation.commandTimeoutMs at most): a deadline is remembered no longer. */
export const FLEET_MAX_COMMAND_MS = 10 * 60_000;
/** A remote command without a deadline (a 3.1.1 tool) is remembered this long. */
export const FLEET_DEFAULT_TTL_MS = 60_000;
/** Requesting gateways the hub keeps a command rate limit and in-flight table for. */
export const FLEET_MAX_ORIGINS = 256;
/** Devices a birth message may list. */
export const FLEET_MAX_DEVICES = 1024;
/** Other gateways one gateway keeps track of. */
export const FLEET_MAX_GATEWAYS = 256;
/** Remote devices one gateway shows, of all the others together. */
export const FLEET_MAX_REMOTE_DEVICES = 4096;
/** Characters of a text field (reason, version) in a fleet message. */
export const FLEET_MAX_TEXT = 1024;
/** What one remote device state costs against mqtt.federation.inputRate at least: each may be a `state` message to every dashboard. */
export const FLEET_STATE_COST_BYTES = 1024;
/** How far another gateway's clock may be off ours before its readings' ts are moved to ours and it is logged (NTP keeps clocks to ms). */
export const FLEET_CLOCK_SKEW_MS = 1_000;
/** How long the broker keeps a gateway's session (and what is queued in it) after it vanishes. */
export const FLEET_SESSION_EXPIRY_S = 300;
/** Dashboard assets smaller than this are served without gzip. */
export const MIN_GZIP_BYTES = 256;
/** A dashboard asset larger than this is not served. */
export const MAX_STATIC_FILE_BYTES = 8 * 1024 * 1024;
/** Readings the typed client holds back in one resume window. */
export const MAX_RESUME_PENDING = 50_000;
/** Times the typed client sends a history request again after a refusal that passes (`rate_limited`, `history_unavailable`). */
export const HISTORY_RETRIES = 5;
/** The first step of that retry's backoff (src/backoff.ts); it doubles up to HISTORY_RETRY_MAX_MS. */
export const HISTORY_RETRY_MIN_MS = 250;
/** The cap of every wait before such a retry. */
export const HISTORY_RETRY_MAX_MS = 2_000;
/** The least time between two such retries of one client, whatever their number. */
export const HISTORY_RETRY_GAP_MS = 100;
/** Characters of a string value the dashboard shows (a tile's, the detailed view's). */
export const DASHBOARD_VALUE_CHARACTERS = 200;
/** Characters of one line in the dashboard's device console. */
export const DASHBOARD_LINE_CHARACTERS = 500;
/** Fields the dashboard's detailed view shows of one device (a value each, a chart per numeric one). */
export const DASHBOARD_FIELDS = 32;
/** The least time between two history requests a dashboard's open chart makes to fill `gap`s. */
export const DASHBOARD_GAP_REFILL_MS = 10_000;

export interface FixedBound {
  readonly name: string;
  readonly value: number;
  readonly unit:
    'characters' | 'ids' | 'levels' | 'entries' | 'ms' | 'bytes' | 'processes' | 'readings' | 'points' | 'retries' | 'fields' | 's' | '%' | 'MB';
  /** why this value, and what happens at the bound */
  readonly why: string;
}

const b = (name: string, value: number, unit: FixedBound['unit'], why: string): FixedBound => ({ name, value, unit, why });

/** In the README's order: the wire, the hub, the sources, the process, the client. */
export const FIXED_BOUNDS: readonly FixedBound[] = [
  b(
    'MAX_CONFIG_BYTES',
    MAX_CONFIG_BYTES,
    'bytes',
    'a config or env file (a real one is a few KB); read no further, so `--config /dev/zero` or a file of 200,000 devices is a config error at once, not minutes of parsing in GBs of memory',
  ),
  b(
    'MAX_TIMER_MS',
    MAX_TIMER_MS,
    'ms',
    "every duration key that sets a timer (~24.8 days): Node fires a longer timer after 1 ms (TimeoutOverflowWarning), so a command's `reply.timeoutMs: 3000000000` was a `timeout` at once → config error with its path",
  ),
  b(
    'MAX_ID_LENGTH',
    MAX_ID_LENGTH,
    'characters',
    'device and gateway ids (`ID_PATTERN`), subscribed ids, and command ids from dashboards and federation, counted in UTF-16 code units (an emoji is two): short enough to log, label and echo → `invalid_field` / `invalid`',
  ),
  b('MAX_SUBSCRIBED', MAX_SUBSCRIBED, 'ids', 'a dashboard names a few devices or `"*"`; bounds the work of one `subscribe` → `invalid_field`'),
  b('MAX_EPOCH_LENGTH', MAX_EPOCH_LENGTH, 'characters', 'our epochs are 12 characters; a longer one is compared, never echoed → `invalid_field`'),
  b(
    'MAX_DEPTH',
    MAX_DEPTH,
    'levels',
    'a command payload or a JSON line is a small value; deeper nesting only costs stack → `too_deep` / a parse error',
  ),
  b(
    'MAX_PERIODS',
    MAX_PERIODS,
    'entries',
    'subscription changes remembered per connection for resume de-duplication; older ones fall out with the ring',
  ),
  b(
    'MAX_RESUME_BYTES',
    MAX_RESUME_BYTES,
    'bytes',
    'the resume buffer counts readings (`hub.resumeBuffer`), this bounds their size: 10,000 readings of 64 KB MQTT payloads with their frames would hold ~2 GB → the oldest are dropped, a resume reports them in its `gap`',
  ),
  b(
    'MAX_BATCH_BYTES',
    MAX_BATCH_BYTES,
    'bytes',
    "one turn's burst of large readings (64 KB MQTT payloads) goes out in writes of about this, so a dashboard that reads is switched to the latest value per device by `sendSoftLimitBytes` instead of closed by `sendHardLimitBytes` for one oversized write",
  ),
  b(
    'HISTORY_ENTRIES_PER_SECOND',
    HISTORY_ENTRIES_PER_SECOND,
    'entries',
    "a 10,000-point answer takes ~10-40 ms of the event loop; a dashboard's sparklines ask for a few hundred: beyond it, across all connections and the export, history requests get `rate_limited` (the export 429) until it refills, so viewers asking for large ranges cannot take the loop from everyone",
  ),
  b(
    'HISTORY_QUEUE_COMPACT_AFTER',
    HISTORY_QUEUE_COMPACT_AFTER,
    'entries',
    'the history drops its oldest point for about every reading once a window or budget is full: a drop empties a slot (O(1)), and the array is copied once more than this many are empty and they are over half of it, so copying costs O(1) per drop and the empty slots never outnumber the points beyond the first 1,024',
  ),
  b('BAD_MESSAGE_WINDOW_MS', BAD_MESSAGE_WINDOW_MS, 'ms', 'the window `hub.badMessageLimit` counts over; more in it → close 1008'),
  b(
    'FLUSH_SHARE_PERCENT',
    FLUSH_SHARE_PERCENT,
    '%',
    'of the time, at most, spent writing to dashboards before what arrives is held to be batched (one write per connection for several frames, each waiting at most `hub.coalesceMs`), when `hub.coalesceMs` > 0; below it nothing waits',
  ),
  b(
    'MAX_DERIVED_IDS',
    MAX_DERIVED_IDS,
    'ids',
    'ids an MQTT device derives from topic levels: a publisher cannot grow the device table → counted as parse errors',
  ),
  b(
    'MAX_RETAINED_TOPICS',
    MAX_RETAINED_TOPICS,
    'entries',
    'MQTT topics with a retained message whose last payload (a 20-byte digest) is remembered, so a reconnect does not deliver it again as a new reading; past it the oldest is forgotten, and its retained message may come once more after a reconnect',
  ),
  b(
    'MIN_INPUT_CHARGE_BYTES',
    MIN_INPUT_CHARGE_BYTES,
    'bytes',
    'the least one serial line or MQTT payload takes from `devices[].inputRate`: a reading costs the gateway about this much whatever its size (seq, frame, resume buffer, fan-out), so 2-byte lines no longer pass as 128,000 readings/s under the default 256 KiB/s; at most 4,096 readings/s per device',
  ),
  b(
    'MAX_SOCKET_BACKLOG_BYTES',
    MAX_SOCKET_BACKLOG_BYTES,
    'bytes',
    'a broker that reads slower than we publish must not grow our memory → QoS 0 publishes dropped and counted',
  ),
  b(
    'CONNECT_TIMEOUT_MS',
    CONNECT_TIMEOUT_MS,
    'ms',
    'a broker that accepts TCP but never answers CONNECT is given up on; the reconnect backoff takes over',
  ),
  b(
    'MAX_RECORD_BYTES',
    MAX_RECORD_BYTES,
    'bytes',
    'a history record is a batch of one flush; a length beyond this is a damaged file, cut there at start',
  ),
  b(
    'HISTORY_WRITE_CHUNK_BYTES',
    HISTORY_WRITE_CHUNK_BYTES,
    'bytes',
    'a flush writes its batch in pieces of about this size, so it holds one piece beside the points, not a second copy of up to history.budgetBytes',
  ),
  b('DEFAULT_HISTORY_POINTS', DEFAULT_HISTORY_POINTS, 'points', 'enough for a chart across a laptop screen; a request may ask for fewer or more'),
  b('MAX_HISTORY_POINTS', MAX_HISTORY_POINTS, 'points', 'one answer stays a few hundred KB, within the send limits; more is a second request'),
  b('DEFAULT_HISTORY_RANGE_MS', DEFAULT_HISTORY_RANGE_MS, 'ms', 'a request without `from` gets the last hour, the range a dashboard opens with'),
  b(
    'HISTORY_SWEEP_MS',
    HISTORY_SWEEP_MS,
    'ms',
    "how often a recorded reading also moves every device's history windows; per reading it cost a walk over all devices (hundreds of ids derived from one MQTT topic). The memory budget is held at every reading; a point leaves its window at most this late",
  ),
  b(
    'FLEET_MAX_SEEN',
    FLEET_MAX_SEEN,
    'entries',
    'remote-command correlations remembered so a redelivery never runs twice; each is forgotten once its deadline passed',
  ),
  b(
    'FLEET_MAX_CORRELATION_BYTES',
    FLEET_MAX_CORRELATION_BYTES,
    'bytes',
    "a remote command's MQTT 5 correlation data (ours are ~20 bytes): the owner remembers it until the deadline and echoes it in the ack, and MQTT 5 allows 65,535 bytes, so 4,096 remembered ones held ~600 MB → a longer one is acked `invalid` (with the payload `id`, without the correlation data) and never run",
  ),
  b(
    'FLEET_MAX_COMMAND_MS',
    FLEET_MAX_COMMAND_MS,
    'ms',
    "the largest `mqtt.federation.commandTimeoutMs`; an owner remembers a request's correlation until its deadline but never longer than this from its arrival (a deadline further ahead is a clock gone wrong or hostile), so one such request cannot hold the duplicate table",
  ),
  b(
    'FLEET_DEFAULT_TTL_MS',
    FLEET_DEFAULT_TTL_MS,
    'ms',
    'a remote command without a deadline (a 3.1.1 tool) is remembered this long for duplicate detection',
  ),
  b(
    'FLEET_MAX_ORIGINS',
    FLEET_MAX_ORIGINS,
    'entries',
    'the requesting gateway comes from broker input: past this, the origin idle longest is forgotten (its next command starts a full bucket)',
  ),
  b(
    'FLEET_MAX_DEVICES',
    FLEET_MAX_DEVICES,
    'entries',
    'devices one birth message may list (a larger one is refused as hostile), and device states kept per gateway (more are dropped)',
  ),
  b(
    'FLEET_MAX_GATEWAYS',
    FLEET_MAX_GATEWAYS,
    'entries',
    'other gateways one gateway keeps track of; the messages of one more are ignored (`SG_ERR_FLEET_LIMIT`), whatever is published on the fleet topics',
  ),
  b(
    'FLEET_MAX_REMOTE_DEVICES',
    FLEET_MAX_REMOTE_DEVICES,
    'entries',
    'remote devices one gateway shows, all other gateways together; births listing more are shown up to it (`SG_ERR_FLEET_LIMIT`)',
  ),
  b('FLEET_MAX_TEXT', FLEET_MAX_TEXT, 'characters', 'a reason or version in a fleet message; longer is refused as hostile'),
  b(
    'FLEET_STATE_COST_BYTES',
    FLEET_STATE_COST_BYTES,
    'bytes',
    "what a remote device state costs against another gateway's `mqtt.federation.inputRate`, at least: a `state` or `status` message, and each device a birth lists or a will takes down, may be one `state` message to every dashboard, however small the message. Charged by bytes alone, 40-byte states flipping up and down (26,000 a second within the 1 MiB/s) or births alternating two lists of 1,024 devices held the loop 2.5-3.7 s; now one gateway's states cost at most ~1,000 a second, and a 1,024-device gateway's start (birth and retained states, ~2 MiB) fits the burst",
  ),
  b(
    'FLEET_CLOCK_SKEW_MS',
    FLEET_CLOCK_SKEW_MS,
    'ms',
    "a remote reading's `ts` in this gateway's future is moved back to its arrival (else charts ending now leave it out), further ahead than this the owner's clock is logged as ahead; when even the least late of an owner's readings (this run of it) arrive later than this after their `ts`, its clock is behind: that lag is added to its readings' `ts` (else its tiles were `silent`, minutes old) and logged. `SG_ERR_FLEET_CLOCK`; NTP keeps clocks to milliseconds",
  ),
  b(
    'FLEET_SESSION_EXPIRY_S',
    FLEET_SESSION_EXPIRY_S,
    's',
    "the broker keeps what a gateway's fleet link is owed while it is away (store and forward across a network blip or a broker restart with persistence) this long. Per run: a restarted gateway is a new instance with a new session and never gets the old one's (its dashboards start a new stream anyway); the old session is dropped after this",
  ),
  b('MAX_TOPIC_BYTES', MAX_TOPIC_BYTES, 'bytes', 'the MQTT protocol limit of a topic or filter → refused in the config'),
  b(
    'MQTT_PACKET_OVERHEAD_BYTES',
    MQTT_PACKET_OVERHEAD_BYTES,
    'bytes',
    'added to mqtt.maxPayloadBytes for the MQTT 5 Maximum Packet Size both broker clients announce: the broker drops a bigger publish for us, it never reaches memory',
  ),
  b('MQTT_MAX_PACKET_BYTES', MQTT_MAX_PACKET_BYTES, 'bytes', 'the MQTT protocol limit of a packet: the Maximum Packet Size announced is never more'),
  b(
    'FLEET_MAX_MESSAGE_BYTES',
    FLEET_MAX_MESSAGE_BYTES,
    'bytes',
    'a fleet message: a bigger reading is not published (counted in serialgate_mqtt_publish_dropped_total), a bigger one from the broker is dropped by it',
  ),
  b(
    'MAX_ALIAS_EXPANSIONS',
    MAX_ALIAS_EXPANSIONS,
    'entries',
    'YAML alias expansions in a config file: a config of any size may share anchors; aliases of aliases (an alias bomb) multiply past it → a configuration error',
  ),
  b('WATCH_INTERVAL_MS', WATCH_INTERVAL_MS, 'ms', 'serialport does not always notice an unplug: the path is `stat`ed this often besides inotify'),
  b(
    'MEMORY_REDUCER_NUDGE_MS',
    MEMORY_REDUCER_NUDGE_MS,
    'ms',
    "Node 24's V8 gives idle memory back only after a cppgc allocation; one made at start no longer counted after a 130 s idle (measured)",
  ),
  b(
    'SEMI_SPACE_MB',
    SEMI_SPACE_MB,
    'MB',
    "Node sizes V8's young generation from the machine's memory, up to 2 × 64 MB; 2 × 2 holds a gateway's bursts (measured)",
  ),
  b(
    'MALLOC_TRIM_THRESHOLD_BYTES',
    MALLOC_TRIM_THRESHOLD_BYTES,
    'bytes',
    "glibc's own threshold rises to tens of MB after the first large free and that much stays resident (measured: ~5 MB at rest)",
  ),
  b('STOP_DEADLINE_MS', STOP_DEADLINE_MS, 'ms', "under the unit's `TimeoutStopSec=20s`: a stop that hangs exits anyway instead of being killed"),
  b(
    'SHUTDOWN_CLOSE_GRACE_MS',
    SHUTDOWN_CLOSE_GRACE_MS,
    'ms',
    'a live browser answers a close frame within milliseconds; one that has not by then will not',
  ),
  b(
    'LOG_RATE_MAX_KEYS',
    LOG_RATE_MAX_KEYS,
    'entries',
    'causes the log rate limiter tracks; callers bound them (device ids, codes), this guards against a mistake',
  ),
  b('NOTIFY_MAX_IN_FLIGHT', NOTIFY_MAX_IN_FLIGHT, 'processes', 'a hung `systemd-notify` (manager busy) must not pile up processes'),
  b('NOTIFY_TIMEOUT_MS', NOTIFY_TIMEOUT_MS, 'ms', 'a `systemd-notify` that has not exited by then is killed'),
  b('MIN_GZIP_BYTES', MIN_GZIP_BYTES, 'bytes', 'below this gzip saves less than its header costs'),
  b('MAX_STATIC_FILE_BYTES', MAX_STATIC_FILE_BYTES, 'bytes', 'a dashboard asset larger than this is not ours: 404 rather than hold it in memory'),
  b(
    'MAX_RESUME_PENDING',
    MAX_RESUME_PENDING,
    'readings',
    'typed client: readings held back in one resume window; beyond this they are released as they are',
  ),
  b(
    'HISTORY_RETRIES',
    HISTORY_RETRIES,
    'retries',
    'typed client: a history request refused with `rate_limited` or `history_unavailable` is sent again (same `id`) at most this often within its deadline, then rejected with that code; other refusals at once',
  ),
  b(
    'HISTORY_RETRY_MIN_MS',
    HISTORY_RETRY_MIN_MS,
    'ms',
    "typed client: the gateway's history work refills within a second, so waits of 125-250 ms doubling to the cap find it again soon without knocking all the time; jittered, so dashboards refused together do not come back together",
  ),
  b(
    'HISTORY_RETRY_MAX_MS',
    HISTORY_RETRY_MAX_MS,
    'ms',
    'typed client: the longest wait before a history retry: all retries fit the default 10 s deadline (`commandTimeoutMs`)',
  ),
  b(
    'HISTORY_RETRY_GAP_MS',
    HISTORY_RETRY_GAP_MS,
    'ms',
    "typed client: 50 sparklines refused at once come back at 10/s, half of the default `hub.commandRate`, the rest left to first requests and commands, so retrying does not push a dashboard over its connection's rate",
  ),
  b(
    'DASHBOARD_VALUE_CHARACTERS',
    DASHBOARD_VALUE_CHARACTERS,
    'characters',
    'dashboard: a string value (an MQTT payload field may be 60 KB) is shown up to this, then `… (+N characters)`: at 20 readings/s a 30 KB value took the main thread 9 of 10 s and the page fell behind its gateway',
  ),
  b(
    'DASHBOARD_LINE_CHARACTERS',
    DASHBOARD_LINE_CHARACTERS,
    'characters',
    'dashboard: a console line (a raw line, or the values as k=v) is shown up to this, then `… (+N characters)`: 200 lines of 4 KB (a serial line at the default `maxLineBytes`) laid out again 10 times a second kept the main thread busy more than half the time',
  ),
  b(
    'DASHBOARD_FIELDS',
    DASHBOARD_FIELDS,
    'fields',
    'dashboard: the detailed view shows the first fields of a device that come, up to this, and says how many of the newest reading it leaves out; a JSON payload of 2,000 numbers opened 2,000 charts (27 s of a blocked page, 215 MB), and field names that change with every message would have added charts without end',
  ),
  b(
    'DASHBOARD_GAP_REFILL_MS',
    DASHBOARD_GAP_REFILL_MS,
    'ms',
    'dashboard: after a `gap` (the page fell behind and the gateway skipped readings) the open chart asks the history for what it missed instead of drawing a straight line over it; a link too slow for the stream gets gaps again and again, and is handed a history answer at most this often',
  ),
];
