/**
 * Topic routing: which configured MQTT device a message belongs to, and what it becomes (a reading,
 * a parse error, nothing). Each device holds its state here, the one the source reports.
 *
 * - Every message is matched against every device filter (topic.ts) and decoded by the device's
 *   payload format (payload.ts).
 * - `idFromTopicSegment`: the reading's `device` is `<id>-<segment>` (sensors/+/temp →
 *   greenhouse-kitchen). The Device list stays the configured one: state, status and commands
 *   belong to the configured device; derived ids only name readings (the hub keeps last values
 *   per reading device). At most MAX_DERIVED_IDS derived ids per device, so a publisher cannot
 *   grow our memory or the metrics label set without bound.
 * - A device's payloads beyond its `inputRate` are dropped before they are decoded (input-rate.ts).
 * - Topics that commands are published to are never read as readings, and a payload over
 *   mqtt.maxPayloadBytes is counted and dropped, never a reading: neither may show up on a
 *   dashboard as a phantom reading that uses up a seq.
 * - Fault boundary: an exception while handling one message (parser, reading consumer) stays here
 *   (SG_ERR_SOURCE_FAULT): that device goes down with the reason and comes up again with its next
 *   message handled without one; mqtt.js's packet loop and the other devices go on.
 */
import { ID_PATTERN, type DeviceConfig, type MqttConfig } from '../../config/schema.js';
import { metrics } from '../../metrics.js';
import type { Logger } from '../../log.js';
import { LogRateLimiter } from '../../log-rate.js';
import type { Device, DeviceCommand, DeviceStatus, ReadingInput, SourceSink } from '../../domain.js';
import type { Qos } from './connection.js';
import { createPayloadDecoder, type PayloadDecoder } from './payload.js';
import { InputRate } from '../input-rate.js';
import { matchTopic, topicLevel } from './topic.js';
import { MAX_DERIVED_IDS, MAX_RETAINED_TOPICS } from '../../bounds.js';
import { RetainedRedelivery } from './retained.js';

/** How a device's command is carried out: the source's command publisher. */
export type Commander = (device: string, commandTopic: string | undefined, cmd: DeviceCommand) => Promise<{ reply?: string }>;

interface Entry {
  readonly cfg: DeviceConfig;
  readonly mqtt: NonNullable<DeviceConfig['mqtt']>;
  readonly decode: PayloadDecoder;
  readonly input: InputRate;
  readonly derived: Set<string>;
  status: DeviceStatus;
  /** down because handling a message threw: up again after the next message handled cleanly */
  faulted: boolean;
  /** the broker refused this device's filter on the current connection */
  refused: boolean;
  readonly device: Device;
}

export class TopicRouter {
  private readonly entries: Entry[];
  /** where this gateway publishes commands: never a reading, whichever device filter matches it */
  private readonly commandTopics: Set<string>;
  /** parse errors and faults: one line per device per 10 s (keys are configured device ids: bounded) */
  private readonly errorLog = new LogRateLimiter(10_000);
  private readonly retained = new RetainedRedelivery(MAX_RETAINED_TOPICS);
  private readonly faultLog = new LogRateLimiter(10_000);

  constructor(
    private readonly config: MqttConfig,
    devices: DeviceConfig[],
    private readonly sink: SourceSink,
    private readonly log: Logger,
    command: Commander,
    downReason: string,
  ) {
    this.entries = devices.filter((d) => d.mqtt).map((cfg) => entry(cfg, command, downReason, log));
    this.commandTopics = new Set(this.entries.flatMap((e) => (e.mqtt.commandTopic === undefined ? [] : [e.mqtt.commandTopic])));
  }

  devices(): Device[] {
    return this.entries.map((e) => e.device);
  }

  /** Every device filter, at the highest QoS a device asks for it. */
  filters(): Map<string, Qos> {
    const filters = new Map<string, Qos>();
    for (const e of this.entries) filters.set(e.mqtt.topic, Math.max(filters.get(e.mqtt.topic) ?? 0, e.mqtt.qos) as Qos);
    return filters;
  }

  /** The devices of `filter` are up once the broker granted it, down while it refuses it. */
  subscribed(filter: string, granted: boolean): void {
    for (const e of this.entries) {
      if (e.mqtt.topic !== filter) continue;
      e.refused = !granted;
      if (granted) this.setState(e, 'up');
      else this.setState(e, 'down', `the broker refused the subscription to "${filter}"`);
    }
  }

  /** The broker is away: every device is down for that reason. */
  down(reason: string): void {
    for (const e of this.entries) {
      e.refused = false;
      this.setState(e, 'down', reason);
    }
  }

  /** Called from mqtt.js's packet loop: nothing may throw out of here (it would end the process). */
  route(topic: string, payload: Buffer, retain = false): void {
    // our own commands (and anyone else's on those topics) are traffic to a device, not from it
    if (this.commandTopics.has(topic)) return;
    // a zero-length payload is how MQTT clears a topic's retained message (the broker passes it on
    // to the subscribers): housekeeping, not a device saying something — no reading, no error
    if (payload.byteLength === 0) {
      this.retained.forget(topic);
      return;
    }
    // an oversized payload is dropped below without a digest of it
    if (payload.byteLength <= this.config.maxPayloadBytes && this.retained.repeat(topic, payload, retain)) return;
    const ts = Date.now();
    for (const e of this.entries) {
      if (!matchTopic(e.mqtt.topic, topic)) continue;
      try {
        // The broker delivers for this device before we heard its SUBACK: mqtt.js runs the
        // subscribe callback some microtasks after the SUBACK, behind the retained messages parsed
        // from the same chunk, and an overlapping filter (`r/#` beside `r/b`) delivers before the
        // device's own SUBACK comes at all. A reading must never come from a device still down.
        if (e.status.state === 'down' && !e.faulted && !e.refused) this.setState(e, 'up');
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
    this.faultLog.log(this.log, 'error', e.cfg.id, { code: 'SG_ERR_SOURCE_FAULT', device: e.cfg.id, topic, err }, 'handling an MQTT message threw');
    e.faulted = true;
    const reason = `handling a message from "${topic}" failed: ${err instanceof Error ? err.message : String(err)}`;
    try {
      this.setState(e, 'down', reason);
    } catch {
      // the consumer that threw may throw again; e.status already says it
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
    if (!e.input.admit(payload.byteLength)) return;
    let device = e.cfg.id;
    if (e.mqtt.idFromTopicSegment !== undefined) {
      const derived = derivedId(e, topic, e.mqtt.idFromTopicSegment);
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
    this.sink.reading(reading); // a throw is caught at the boundary, route()
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
    this.sink.state(e.status);
  }
}

function entry(cfg: DeviceConfig, command: Commander, downReason: string, log: Logger): Entry {
  const m = cfg.mqtt!;
  const e: Entry = {
    cfg,
    mqtt: m,
    decode: createPayloadDecoder(m.payload, cfg.parser),
    input: new InputRate(cfg.id, cfg.inputRate, log),
    derived: new Set(),
    status: { id: cfg.id, source: 'mqtt', state: 'down', reason: downReason },
    faulted: false,
    refused: false,
    device: {
      id: cfg.id,
      source: 'mqtt',
      status: () => e.status,
      command: (cmd) => command(cfg.id, m.commandTopic, cmd),
    },
  };
  return e;
}

function derivedId(e: Entry, topic: string, index: number): { id: string; error?: undefined } | { error: string } {
  const segment = topicLevel(topic, index);
  if (!segment) return { error: `topic "${topic}" has no level ${index} to derive a device id from` };
  const id = `${e.cfg.id}-${segment}`;
  if (e.derived.has(id)) return { id };
  if (!ID_PATTERN.test(id)) return { error: `"${id}" (from topic level ${index}) is not a valid device id (1-64 of A-Z a-z 0-9 _ . -)` };
  if (e.derived.size >= MAX_DERIVED_IDS) return { error: `more than ${MAX_DERIVED_IDS} derived device ids for "${e.cfg.id}"; "${id}" ignored` };
  e.derived.add(id);
  return { id };
}
