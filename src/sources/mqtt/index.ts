/**
 * MQTT source: one mqtt.js client for all MQTT devices of the gateway.
 *
 * - Each device subscribes a topic filter; every message is matched against every device filter
 *   (topic.ts) and decoded by the device's payload format (payload.ts).
 * - `idFromTopicSegment`: the reading's `device` is `<id>-<segment>` (sensors/+/temp →
 *   greenhouse-kitchen). The Device list stays the configured one: state, status and commands
 *   belong to the configured device; derived ids only name readings (the hub keeps last values
 *   per reading device). At most MAX_DERIVED_IDS derived ids per device, so a publisher cannot
 *   grow our memory or the metrics label set without bound.
 * - Reconnect is ours, not mqtt.js's fixed 1 s interval: reconnectPeriod 0 and a timer with capped
 *   exponential backoff and jitter (backoff.ts); after a credentials refusal, every
 *   mqtt.authRetryMs. Clean session: every CONNACK subscribes again.
 * - Nothing unbounded while offline: commands fail at once with `device_unavailable`; queueQoSZero
 *   is off. (Federation is the fleet's own client: src/fleet/.)
 * - An error ack is final: a command answered `timeout`, `device_unavailable` or `shutting_down` is
 *   never published afterwards (QoS 2, released only while still pending: see `command()`).
 * - Topics that commands are published to are never read as readings, and a payload over
 *   mqtt.maxPayloadBytes is counted and dropped, never a reading: neither may show up on a
 *   dashboard as a phantom reading that uses up a seq.
 * - Fault boundary: an exception while handling one message (parser, reading consumer) stays here
 *   (SG_ERR_SOURCE_FAULT): that device goes down with the reason and comes up again with its next
 *   message handled without one; mqtt.js's packet loop and the other devices go on.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { ID_PATTERN, type DeviceConfig, type MqttConfig } from '../../config/schema.js';
import { metrics } from '../../http/metrics.js';
import type { Logger } from '../../log.js';
import { LogRateLimiter } from '../../log-rate.js';
import {
  CommandError,
  type Device,
  type DeviceCommand,
  type DeviceStatus,
  type ReadingInput,
  type Source,
  type SourceSink,
} from '../types.js';
import { jsonText } from '../../codecs/json-text.js';
import { backoffDelay } from '../backoff.js';
import { createPayloadDecoder, type PayloadDecoder } from './payload.js';
import { describeError, isAuthFailure } from './reasons.js';
import { matchTopic, topicLevel } from './topic.js';

/** Derived device ids per configured device; more are refused (counted as parse errors). */
export const MAX_DERIVED_IDS = 256;
/**
 * Bytes a broker socket may hold unsent before QoS 0 publishes (the fleet's readings) are dropped
 * and counted: a broker that reads slower than we publish must not grow our memory.
 */
export const MAX_SOCKET_BACKLOG_BYTES = 1024 * 1024;
/** A broker that accepts TCP but never answers CONNECT is given up on after this. */
const CONNECT_TIMEOUT_MS = 10_000;

export class MqttConfigError extends Error {
  readonly code = 'SG_ERR_MQTT_CONFIG';
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'MqttConfigError';
  }
}

interface Entry {
  readonly cfg: DeviceConfig;
  readonly mqtt: NonNullable<DeviceConfig['mqtt']>;
  readonly decode: PayloadDecoder;
  readonly derived: Set<string>;
  status: DeviceStatus;
  /** down because handling a message threw: up again after the next message handled cleanly */
  faulted: boolean;
  readonly device: Device;
}

interface Pending {
  device: string;
  /** the PUBLISH packet id, once mqtt.js allocated it */
  messageId: number | undefined;
  resolve(): void;
  reject(err: CommandError): void;
  timer: NodeJS.Timeout;
}

export class MqttSource implements Source {
  private readonly log: Logger;
  private readonly entries: Entry[];
  private readonly pending = new Set<Pending>();
  /** where this gateway publishes commands: never a reading, whichever device filter matches it */
  private readonly commandTopics: Set<string>;
  /** parse errors and faults: one line per device per 10 s (keys are configured device ids: bounded) */
  private readonly errorLog = new LogRateLimiter(10_000);
  private readonly faultLog = new LogRateLimiter(10_000);
  private client: MqttClient | undefined;
  private connected = false;
  private stopped = false;
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  /** the last client error since the last connection attempt: the reason for the next `close` */
  private lastError: { reason: string; auth: boolean } | undefined;
  private downReason = 'connecting to the MQTT broker';

  constructor(
    private readonly config: MqttConfig,
    devices: DeviceConfig[],
    private readonly sink: SourceSink,
    logger: Logger,
    private readonly gatewayId: string,
  ) {
    this.log = logger.child({ source: 'mqtt' });
    this.entries = devices.filter((d) => d.mqtt).map((cfg) => this.entry(cfg));
    this.commandTopics = new Set(this.entries.flatMap((e) => (e.mqtt.commandTopic === undefined ? [] : [e.mqtt.commandTopic])));
  }

  private entry(cfg: DeviceConfig): Entry {
    const m = cfg.mqtt!;
    const e: Entry = {
      cfg,
      mqtt: m,
      decode: createPayloadDecoder(m.payload, cfg.parser),
      derived: new Set(),
      status: { id: cfg.id, source: 'mqtt', state: 'down', reason: this.downReason },
      faulted: false,
      device: {
        id: cfg.id,
        source: 'mqtt',
        status: () => e.status,
        command: (cmd) => this.command(e, cmd),
      },
    };
    return e;
  }

  devices(): Device[] {
    return this.entries.map((e) => e.device);
  }

  brokerState(): 'up' | 'down' {
    return this.connected ? 'up' : 'down';
  }

  async start(): Promise<void> {
    if (this.client || this.stopped) return;
    for (const e of this.entries) metrics.deviceUp.set({ device: e.cfg.id }, 0);
    const client = mqtt.connect(this.config.url, brokerOptions(this.config, this.config.clientId ?? `serialgate-${this.gatewayId}-${randomBytes(4).toString('hex')}`));
    this.client = client;
    client.on('connect', () => this.onConnect(client));
    client.on('error', (err) => this.onError(err));
    client.on('close', () => this.onClose());
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
    client.on('packetreceive', (packet) => {
      if (packet.cmd === 'pubrec') this.onPubrec(packet.messageId);
    });
    client.connect();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.failPending('shutting_down', 'the gateway is shutting down');
    const client = this.client;
    this.connected = false;
    if (!client) return;
    // forced: a clean session leaves nothing worth a DISCONNECT handshake, and it cannot hang
    await new Promise<void>((resolve) => client.end(true, {}, () => resolve()));
  }

  private onConnect(client: MqttClient): void {
    this.connected = true;
    this.attempt = 0;
    this.lastError = undefined;
    this.log.info({ url: redactUrl(this.config.url) }, 'connected to the MQTT broker');
    // clean session: the broker forgot our subscriptions, subscribe (again)
    const filters = new Map<string, 0 | 1 | 2>();
    for (const e of this.entries) filters.set(e.mqtt.topic, Math.max(filters.get(e.mqtt.topic) ?? 0, e.mqtt.qos) as 0 | 1 | 2);
    for (const [filter, qos] of filters) {
      client.subscribe(filter, { qos }, (err, granted) => {
        if (client !== this.client || !this.connected) return;
        const refused = !!err || !granted?.length || granted[0]!.qos === 128;
        if (refused) this.log.error({ filter, err: err?.message }, 'the broker refused a subscription');
        for (const e of this.entries) {
          if (e.mqtt.topic !== filter) continue;
          if (refused) this.setState(e, 'down', `the broker refused the subscription to "${filter}"`);
          else this.setState(e, 'up');
        }
      });
    }
  }

  private onError(err: Error): void {
    const reason = describeError(err);
    const auth = isAuthFailure(err);
    // the same refusal on every retry is one line per change, not one per attempt
    if (reason !== this.lastError?.reason && reason !== this.downReason) {
      this.log.warn({ err: err.message, reason }, 'MQTT broker connection failed');
    }
    this.lastError = { reason, auth };
  }

  private onClose(): void {
    if (this.stopped) return;
    const wasConnected = this.connected;
    this.connected = false;
    const reason = this.lastError?.reason ?? (wasConnected ? 'connection to the MQTT broker lost' : 'could not connect to the MQTT broker');
    if (wasConnected) this.log.warn({ reason }, 'MQTT broker connection lost');
    this.downReason = reason;
    for (const e of this.entries) this.setState(e, 'down', reason);
    this.failPending('device_unavailable', `${reason} before the broker acknowledged the command`);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.retryTimer || this.stopped) return;
    const auth = this.lastError?.auth ?? false;
    const delay = auth ? this.config.authRetryMs : backoffDelay(this.attempt++, this.config.reconnect);
    if (auth) {
      this.log.error(
        { reason: this.lastError?.reason, retryInMs: delay },
        `the MQTT broker refused our credentials (check mqtt.username / mqtt.password); retrying every ${delay} ms (mqtt.authRetryMs)`,
      );
    } else {
      this.log.debug({ retryInMs: delay, attempt: this.attempt }, 'MQTT reconnect scheduled');
    }
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.stopped || !this.client) return;
      metrics.reconnects.inc({ source: 'mqtt' });
      this.lastError = undefined;
      // no options: mqtt.js starts from a new, empty outgoing store (client.js reconnect()), so no
      // command of an earlier connection, already answered with an error, is replayed on CONNACK
      this.client.reconnect();
    }, delay);
  }

  /** Called from mqtt.js's packet loop: nothing may throw out of here (it would end the process). */
  private onMessage(topic: string, payload: Buffer): void {
    // our own commands (and anyone else's on those topics) are traffic to a device, not from it
    if (this.commandTopics.has(topic)) return;
    const ts = Date.now();
    for (const e of this.entries) {
      if (!matchTopic(e.mqtt.topic, topic)) continue;
      try {
        this.deliver(e, topic, payload, ts);
        if (e.faulted) {
          e.faulted = false;
          this.setState(e, 'up');
        }
      } catch (err) {
        this.fault(e, topic, err);
      }
    }
  }

  /** One exception caught at the source boundary: counted, logged (rate-limited), device down. */
  private fault(e: Entry, topic: string, err: unknown): void {
    metrics.faults.inc({ boundary: 'source' });
    const code = 'SG_ERR_SOURCE_FAULT';
    this.faultLog.log(this.log, 'error', e.cfg.id, { code, device: e.cfg.id, topic, err }, 'handling an MQTT message threw');
    e.faulted = true;
    const reason = `handling a message from "${topic}" failed: ${err instanceof Error ? err.message : String(err)}`;
    try {
      this.setState(e, 'down', reason);
    } catch {
      // the consumer that threw may throw again; e.status and serialgate_device_up already say it
    }
  }

  private deliver(e: Entry, topic: string, payload: Buffer, ts: number): void {
    if (payload.byteLength > this.config.maxPayloadBytes) {
      // no reading, not even one with only an error: forwarding a huge blob is what the cap
      // prevents, and a phantom reading would use up a seq; the count and the log say it
      const error = `payload of ${payload.byteLength} bytes exceeds mqtt.maxPayloadBytes (${this.config.maxPayloadBytes}): dropped`;
      this.countParseError(e, e.cfg.id, topic, error);
      return;
    }
    let device = e.cfg.id;
    if (e.mqtt.idFromTopicSegment !== undefined) {
      const derived = this.derivedId(e, topic, e.mqtt.idFromTopicSegment);
      if (derived.error !== undefined) {
        this.parseError(e, e.cfg.id, topic, ts, derived.error, undefined);
        return;
      }
      device = derived.id;
    }
    const r = e.decode(payload);
    if (r.error !== undefined) {
      this.parseError(e, device, topic, ts, r.error, r.raw);
      return;
    }
    const reading: ReadingInput = { device, ts };
    if (r.values) reading.values = r.values;
    if (r.raw !== undefined) reading.raw = r.raw;
    this.emit(e, reading);
  }

  private emit(e: Entry, reading: ReadingInput): void {
    metrics.readings.inc({ device: e.cfg.id });
    this.sink.reading(reading); // a throw is caught at the boundary, onMessage()
  }

  private derivedId(e: Entry, topic: string, index: number): { id: string; error?: undefined } | { error: string } {
    const segment = topicLevel(topic, index);
    if (!segment) return { error: `topic "${topic}" has no level ${index} to derive a device id from` };
    const id = `${e.cfg.id}-${segment}`;
    if (e.derived.has(id)) return { id };
    if (!ID_PATTERN.test(id)) return { error: `"${id}" (from topic level ${index}) is not a valid device id (1-64 of A-Z a-z 0-9 _ . -)` };
    if (e.derived.size >= MAX_DERIVED_IDS) return { error: `more than ${MAX_DERIVED_IDS} derived device ids for "${e.cfg.id}"; "${id}" ignored` };
    e.derived.add(id);
    return { id };
  }

  private countParseError(e: Entry, device: string, topic: string, error: string): void {
    metrics.parseErrors.inc({ device: e.cfg.id });
    this.errorLog.log(this.log, 'warn', e.cfg.id, { device, topic, error }, 'MQTT payload could not be parsed');
  }

  private parseError(e: Entry, device: string, topic: string, ts: number, error: string, raw: string | undefined): void {
    this.countParseError(e, device, topic, error);
    if (e.cfg.parser.onError !== 'raw') return;
    const reading: ReadingInput = { device, ts, error };
    if (raw !== undefined) reading.raw = raw;
    this.emit(e, reading);
  }

  private setState(e: Entry, state: 'up' | 'down', reason?: string): void {
    if (e.status.state === state && e.status.reason === reason) return;
    e.status = reason === undefined ? { id: e.cfg.id, source: 'mqtt', state } : { id: e.cfg.id, source: 'mqtt', state, reason };
    metrics.deviceUp.set({ device: e.cfg.id }, state === 'up' ? 1 : 0);
    this.sink.state(e.status);
  }

  private command(e: Entry, cmd: DeviceCommand): Promise<{ reply?: string }> {
    const id = e.cfg.id;
    if (this.stopped) return Promise.reject(new CommandError('shutting_down', 'the gateway is shutting down', id));
    const topic = e.mqtt.commandTopic;
    if (topic === undefined) return Promise.reject(new CommandError('invalid', `device "${id}" has no mqtt.commandTopic`, id));
    const body = cmd.payload !== undefined ? cmd.payload : cmd.line;
    if (body === undefined) return Promise.reject(new CommandError('invalid', 'an MQTT command needs a payload', id));
    const text = typeof body === 'string' ? body : jsonText(body);
    if (text === undefined) return Promise.reject(new CommandError('invalid', 'the command payload cannot be sent as JSON', id));
    const size = Buffer.byteLength(text);
    if (size > this.config.maxPayloadBytes) {
      return Promise.reject(new CommandError('invalid', `payload of ${size} bytes exceeds mqtt.maxPayloadBytes (${this.config.maxPayloadBytes})`, id));
    }
    const client = this.client;
    if (!this.connected || !client) {
      return Promise.reject(new CommandError('device_unavailable', `MQTT broker is down: ${this.downReason}`, id));
    }
    // QoS 2, so that an error ack is final. The broker takes the message (PUBLISH → PUBREC) but
    // delivers it only when we release it (PUBREL): mqtt.js sends the PUBREL right after the
    // PUBREC event, and only for a packet it still tracks. A command that fails first (timeout,
    // connection loss, stop) is removed from mqtt.js, so it is never released; the clean session
    // that ends with the connection discards what the broker held. With QoS 1 the PUBLISH itself
    // is the delivery: one written to a hung broker is delivered whenever it reads its socket.
    return new Promise((resolve, reject) => {
      const p: Pending = {
        device: id,
        messageId: undefined,
        resolve: () => resolve({}),
        reject,
        timer: setTimeout(() => this.commandTimedOut(client, p), this.config.commandTimeoutMs),
      };
      this.pending.add(p);
      client.publish(topic, text, { qos: 2 }, (err) => {
        // PUBCOMP (the command resolved at PUBREC) or an error before the PUBREC
        if (err && this.pending.has(p)) this.failCommand(p, new CommandError('device_unavailable', `publish failed: ${err.message}`, id));
      });
      // the id is allocated synchronously: we publish only while connected, after mqtt.js replayed its store
      if (this.pending.has(p)) p.messageId = client.getLastMessageId();
    });
  }

  /** The broker holds a command (PUBREC); mqtt.js releases it (PUBREL) right after this: delivered. */
  private onPubrec(messageId: number | undefined): void {
    for (const p of this.pending) {
      if (p.messageId !== messageId) continue;
      this.pending.delete(p);
      clearTimeout(p.timer);
      p.resolve();
      return;
    }
  }

  private commandTimedOut(client: MqttClient, p: Pending): void {
    const ms = this.config.commandTimeoutMs;
    this.failCommand(p, new CommandError('timeout', `the broker did not acknowledge the command within ${ms} ms`, p.device));
    // The broker may hold the unreleased message under this packet id, and a later PUBLISH that
    // reuses the id could release it: end the connection (and with it the clean session). A broker
    // that cannot answer a PUBLISH within commandTimeoutMs is not healthy anyway: down, reconnect.
    if (client !== this.client || !this.connected) return;
    this.lastError = { reason: `the broker did not acknowledge a command within ${ms} ms`, auth: false };
    client.stream.destroy();
  }

  /** Reject one command and make mqtt.js forget it, so that it never sends its PUBREL. */
  private failCommand(p: Pending, err: CommandError): void {
    this.pending.delete(p);
    clearTimeout(p.timer);
    if (p.messageId !== undefined) this.client?.removeOutgoingMessage(p.messageId);
    p.reject(err);
  }

  private failPending(code: 'device_unavailable' | 'shutting_down', message: string): void {
    for (const p of this.pending) this.failCommand(p, new CommandError(code, message, p.device));
  }
}

/**
 * Connection options both of our clients use (this source's and the fleet's): credentials, TLS,
 * our own reconnect schedule (reconnectPeriod 0: the caller decides), no unbounded offline queue.
 */
export function brokerOptions(c: MqttConfig, clientId: string): IClientOptions {
  const opts: IClientOptions = {
    clientId,
    clean: true,
    keepalive: c.keepaliveSeconds,
    connectTimeout: CONNECT_TIMEOUT_MS,
    reconnectPeriod: 0,
    resubscribe: false, // every CONNACK subscribes again
    queueQoSZero: false,
    manualConnect: true,
  };
  if (c.username !== undefined) opts.username = c.username;
  if (c.password !== undefined) opts.password = c.password;
  if (c.tls) {
    opts.rejectUnauthorized = c.tls.rejectUnauthorized;
    if (c.tls.ca) opts.ca = readTlsFile('mqtt.tls.ca', c.tls.ca);
    if (c.tls.cert) opts.cert = readTlsFile('mqtt.tls.cert', c.tls.cert);
    if (c.tls.key) opts.key = readTlsFile('mqtt.tls.key', c.tls.key);
  }
  return opts;
}

function readTlsFile(path: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new MqttConfigError(path, `cannot read "${file}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** The broker URL for logs: credentials in the URL (mqtt://user:pass@host) never reach a log line. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '[unparsable url]';
  }
}
