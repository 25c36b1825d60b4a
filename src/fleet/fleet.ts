/**
 * Fleet mode (DESIGN.md "Scale beyond one machine"): federation through the MQTT broker —
 * presence, remote devices, remote commands, store and forward. One mqtt.js client of its own
 * (MQTT 5), loaded only when mqtt.federation.enabled (the gateway imports this module lazily).
 *
 * Life of a connection: CONNECT with a retained last will (offline) → subscribe `<prefix>/#` →
 * publish a probe to ourselves: when it comes back, every retained message was delivered before it,
 * so we know whether `<prefix>/<gateway>/status` says another *instance* of our id is online.
 * If so we wait up to 1.5 × keepalive for its will (a restart faster than the broker noticed our
 * previous life) and refuse federation when none comes: two gateways with one id
 * (SG_ERR_FLEET_DUPLICATE_ID). Otherwise: birth (retained), our device states (retained), what
 * the queue held, in order, then live. While live, an offline or empty status on our topic (a
 * duplicate's will) is answered with our birth again, so that the retained message stays true.
 *
 * No loops, no echoes: readings of remote devices (`<gateway>/<device>`) are never published, and
 * messages under our own subtree are never remote data (only commands to us are read there).
 */
import { randomBytes } from 'node:crypto';
import mqtt, { type IClientOptions, type IClientPublishOptions, type MqttClient } from 'mqtt';
import type { MqttConfig } from '../config/schema.js';
import { metrics } from '../metrics.js';
import type { Logger } from '../log.js';
import { LogRateLimiter } from '../log-rate.js';
import { MAX_SOCKET_BACKLOG_BYTES } from '../bounds.js';
import { clientOptions, redactUrl } from '../sources/mqtt/client-options.js';
import { unreadableAck } from '../sources/mqtt/reasons.js';
import type { Device, DeviceStatus, PresenceSink, Reading, Source, SourceSink } from '../domain.js';
import { version } from '../version.js';
import { Federation, type FederatedCommandHandler } from './federation.js';
import { InFlight } from './in-flight.js';
import { PublishQueue } from './publish-queue.js';
import { RemoteCommands } from './remote-commands.js';
import { RemoteDevices } from './remote.js';
import { InputRate } from '../sources/input-rate.js';
import { parsePresence, parseReading, parseState } from './wire.js';
import { FleetTopics, isRemoteId } from './topics.js';
import { FLEET_MAX_MESSAGE_BYTES, FLEET_SESSION_EXPIRY_S, FLEET_STATE_COST_BYTES } from '../bounds.js';

export interface FleetOptions {
  config: MqttConfig;
  gatewayId: string;
  /** remote readings and states, and the other gateways' presence, go here (the hub) */
  sink: SourceSink & PresenceSink;
  logger: Logger;
  /** this gateway's own devices, for the birth message */
  localDevices(): Device[];
  /** the remote device set changed: hand the hub the new list */
  devicesChanged(): void;
  /** executes a command for one of our devices (hub.routeCommand) */
  route: FederatedCommandHandler;
}

type Phase = 'connecting' | 'probing' | 'waiting' | 'live' | 'refused' | 'stopped';

export class Fleet implements Source {
  readonly instance = randomBytes(6).toString('hex');
  private readonly log: Logger;
  private readonly topics: FleetTopics;
  private readonly fed: MqttConfig['federation'];
  private readonly queue: PublishQueue;
  private readonly federation: Federation;
  private readonly remote: RemoteDevices;
  private readonly requests: RemoteCommands;
  private readonly badLog = new LogRateLimiter(10_000);
  /**
   * What the commands to our devices may cost us, all origins together (the topic does not say who
   * sent one, and even the shipped ACL lets every gateway write them): without it a peer's flood
   * of large commands was parsed whole, stalling the loop for seconds.
   */
  private readonly commandInput: InputRate;
  private client: MqttClient | undefined;
  private phase: Phase = 'connecting';
  /** what the retained status of our id said when we connected */
  private ownStatus: ReturnType<typeof parsePresence>;
  private waitTimer: NodeJS.Timeout | undefined;
  private duplicateLogged = false;
  private readonly inFlight = new InFlight();
  /** the smallest message the fleet broker refused as too large: none this size or bigger is published again */
  private refusedBytes = Infinity;

  private readonly options: IClientOptions;

  /** Throws MqttConfigError (a TLS file that cannot be read) before any I/O: a reload is refused whole. */
  constructor(private readonly opts: FleetOptions) {
    this.options = clientOptions(opts.config, `serialgate-fleet-${opts.gatewayId}-${this.instance}`, FLEET_MAX_MESSAGE_BYTES);
    this.log = opts.logger.child({ component: 'fleet' });
    this.fed = opts.config.federation;
    this.topics = new FleetTopics(this.fed.prefix);
    this.commandInput = new InputRate('*/command', this.fed.inputRate, this.log, 'mqtt.federation.inputRate (commands to this gateway)');
    this.queue = new PublishQueue(this.fed.queue.messages, this.fed.queue.bytes, () => metrics.mqttPublishDropped.inc());
    metrics.fleetQueueLimit.set({ kind: 'messages' }, this.fed.queue.messages);
    metrics.fleetQueueLimit.set({ kind: 'bytes' }, this.fed.queue.bytes);
    const link = { publish: (topic: string, payload: string, o: PublishOpts) => this.publish(topic, payload, o) };
    this.federation = new Federation(this.topics, opts.gatewayId, link, this.log);
    this.federation.onCommand(opts.route);
    const pattern = this.fed.include === undefined ? undefined : new RegExp(this.fed.include);
    const include = (id: string) => pattern?.test(id) ?? true;
    this.requests = new RemoteCommands(
      this.topics,
      opts.gatewayId,
      this.instance,
      { connected: () => this.phase === 'live', publish: (t, p, o) => this.publish(t, p, o) },
      this.fed.commandTimeoutMs,
      (g) => this.remote.isOnline(g),
    );
    this.remote = new RemoteDevices(
      opts.sink,
      (g, d, cmd) => this.requests.send(g, d, cmd),
      include,
      opts.devicesChanged,
      this.fed.inputRate,
      this.log,
    );
  }

  devices(): Device[] {
    return this.remote.list();
  }

  async start(): Promise<void> {
    if (this.client || this.phase === 'stopped') return;
    const { config, gatewayId } = this.opts;
    const options = this.options;
    const client = mqtt.connect({
      ...options,
      // a session the broker keeps while we are away (one client id per run): readings other
      // gateways forward after an outage wait in it for us, in order, instead of being lost in
      // the race between their reconnect and ours
      clean: false,
      properties: { ...options.properties, sessionExpiryInterval: FLEET_SESSION_EXPIRY_S },
      // a restart of the fleet link is cheap and its own backoff would add nothing: mqtt.js retries
      reconnectPeriod: config.reconnect.minMs,
      will: { topic: this.topics.status(gatewayId), payload: Buffer.from(JSON.stringify(this.will('connection lost'))), qos: 1, retain: true },
    });
    this.client = client;
    client.on('connect', () => this.onConnect(client));
    client.on('close', () => this.onClose());
    client.on('error', (err) => this.onError(client, err));
    client.on('packetsend', (p) => {
      if (p.cmd === 'publish' && p.qos === 1 && p.messageId !== undefined) this.inFlight.written({ ...p, messageId: p.messageId });
    });
    client.on('packetreceive', (p) => {
      if (p.cmd === 'puback' && p.messageId !== undefined) this.inFlight.acknowledged(p.messageId);
    });
    client.on('message', (topic, payload, packet) => {
      try {
        this.onMessage(topic, payload, packet.properties?.correlationData);
      } catch (err) {
        // the fault boundary of this source: one bad message, never mqtt.js's packet loop
        metrics.faults.inc({ boundary: 'source' });
        this.badLog.log(this.log, 'error', 'fault', { code: 'SG_ERR_SOURCE_FAULT', topic, err }, 'handling a fleet message threw');
      }
    });
    client.connect();
  }

  async stop(): Promise<void> {
    const wasLive = this.phase === 'live';
    this.phase = 'stopped';
    clearTimeout(this.waitTimer);
    this.requests.stop();
    const client = this.client;
    if (!client) return;
    if (wasLive && client.connected) {
      // a planned stop says so itself (the will is for a crash); bounded: a hung broker cannot hold the stop
      await Promise.race([
        client
          .publishAsync(this.topics.status(this.opts.gatewayId), JSON.stringify(this.will('stopped')), { qos: 1, retain: true })
          .catch(() => undefined),
        new Promise((r) => setTimeout(r, 1_000)),
      ]);
    }
    // a normal DISCONNECT: the broker discards the will
    await new Promise<void>((resolve) => client.end(false, {}, () => resolve()));
  }

  /**
   * One reading of this gateway, after it got its seq: live, or queued while the broker is away.
   * QoS 1: the broker keeps it for a gateway whose session is offline for a moment (the receiver
   * drops a redelivery by its seq).
   */
  /** `json`: the reading as JSON, when the hub has it encoded already (its JSON frame's text). */
  publishReading(r: Reading, json?: string): void {
    if (isRemoteId(r.device) || this.phase === 'refused' || this.phase === 'stopped') return;
    const text = json ?? JSON.stringify(r);
    // each gateway announced it takes no bigger message: its broker would drop it for every one of them
    if (text.length * 3 > FLEET_MAX_MESSAGE_BYTES && Buffer.byteLength(text) > FLEET_MAX_MESSAGE_BYTES) {
      metrics.mqttPublishDropped.inc();
      this.badLog.log(
        this.log,
        'warn',
        `too-big:${r.device}`,
        { code: 'SG_ERR_FLEET_TOO_BIG', device: r.device, bytes: Buffer.byteLength(text), max: FLEET_MAX_MESSAGE_BYTES },
        'a reading too big for the fleet: not published',
      );
      return;
    }
    this.publish(this.topics.device(this.opts.gatewayId, r.device, 'reading'), text, { qos: 1, queue: true });
  }

  /** A state of one of our devices: retained, so that a gateway that starts later knows it. */
  publishState(s: DeviceStatus): void {
    if (isRemoteId(s.id) || this.phase !== 'live') return;
    this.publish(this.topics.device(this.opts.gatewayId, s.id, 'state'), JSON.stringify(stateBody(s)), { qos: 1, retain: true });
  }

  /** Our device list changed (a reload): a new birth says so. */
  announce(): void {
    if (this.phase === 'live') this.birth();
  }

  // ---- connection ----

  private onConnect(client: MqttClient): void {
    this.inFlight.reset();
    if (this.phase === 'stopped' || this.phase === 'refused') return;
    this.phase = 'probing';
    this.ownStatus = undefined;
    // small messages, latency-bound (a command's request and ack): no Nagle delay on our side
    (client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
    this.log.info({ url: redactUrl(this.opts.config.url), instance: this.instance }, 'connected to the fleet broker');
    client.subscribe(this.topics.filter, { qos: 1 }, (err) => {
      if (err) {
        this.log.error({ code: 'SG_ERR_FLEET_SUBSCRIBE', filter: this.topics.filter, err: err.message }, 'the broker refused the fleet subscription');
        return;
      }
      client.publish(this.topics.probe(this.opts.gatewayId), this.instance, { qos: 0 });
    });
  }

  /**
   * On a live connection an error is the broker breaking the protocol, most often a packet
   * mqtt-packet's parser refused; mqtt.js would go on with a parser that never finds the next
   * packet, deaf until the keepalive gives up, and then replay what the broker refused. MQTT 5
   * §4.13: end the connection now (mqtt.js reconnects), without the refused message.
   */
  private onError(client: MqttClient, err: Error): void {
    this.badLog.log(this.log, 'warn', 'error', { err: err.message }, 'fleet broker connection failed');
    if (!client.connected) return;
    const refused = unreadableAck(err.message) === 'puback' ? this.inFlight.oldest() : undefined;
    if (refused?.messageId !== undefined) {
      const bytes = Buffer.byteLength(refused.payload);
      client.removeOutgoingMessage(refused.messageId);
      this.refusedBytes = Math.min(this.refusedBytes, bytes);
      metrics.mqttPublishDropped.inc();
      this.log.warn(
        { code: 'SG_ERR_FLEET_TOO_BIG', topic: refused.topic, bytes },
        'the fleet broker refused a message as too large (its message_size_limit): dropped, and nothing this size or larger is published to the fleet again',
      );
      // a remote command of ours: it never reaches its owner, so its dashboard hears it now
      const correlation = refused.properties?.correlationData;
      if (correlation !== undefined) this.requests.refused(correlation.toString('utf8'), bytes);
    }
    client.stream.destroy();
  }

  private onClose(): void {
    clearTimeout(this.waitTimer);
    if (this.phase === 'stopped' || this.phase === 'refused') return;
    if (this.phase === 'live') this.log.warn('fleet broker connection lost: queueing readings');
    this.phase = 'connecting';
    this.remote.allOffline('the fleet broker is unreachable from this gateway');
  }

  /** The probe came back: every retained message, our own status among them, came before it. */
  private probed(): void {
    const own = this.ownStatus;
    if (own?.state !== 'online' || own.instance === this.instance) return this.goLive();
    this.phase = 'waiting';
    const waitMs = Math.ceil(1.5 * this.opts.config.keepaliveSeconds * 1000) + 1_000;
    this.log.warn({ other: own.instance, waitMs }, 'the broker says this gateway id is online in another process: waiting for its last will');
    this.waitTimer = setTimeout(() => this.refuse(own.instance), waitMs);
  }

  private refuse(other: string): void {
    this.phase = 'refused';
    this.log.error(
      { code: 'SG_ERR_FLEET_DUPLICATE_ID', gateway: this.opts.gatewayId, instance: this.instance, other },
      `another gateway with id "${this.opts.gatewayId}" is online on the fleet broker: federation refused (give each gateway its own gateway.id)`,
    );
    this.client?.end(false);
  }

  private goLive(): void {
    clearTimeout(this.waitTimer);
    this.phase = 'live';
    this.remote.noStatusSince('no status of it on the fleet broker since this gateway reconnected');
    this.birth();
    for (const d of this.opts.localDevices()) this.publishState(d.status());
    const held = this.queue.drain();
    for (const m of held) this.publish(m.topic, m.payload, { qos: m.qos });
    this.queueGauges();
    this.log.info({ instance: this.instance, forwarded: held.length }, 'fleet federation live');
  }

  private birth(): void {
    const devices = this.opts.localDevices().map((d) => ({ id: d.id, source: d.source }));
    const body = { state: 'online', instance: this.instance, version: version(), devices };
    this.publish(this.topics.status(this.opts.gatewayId), JSON.stringify(body), { qos: 1, retain: true });
  }

  private will(reason: string): object {
    return { state: 'offline', instance: this.instance, reason };
  }

  // ---- messages ----

  private onMessage(topic: string, payload: Buffer, correlation: Buffer | undefined): void {
    // stop() is under way (the client is still ending): the hub has left this fleet, nothing of it may come back
    if (this.phase === 'stopped') return;
    const t = this.topics.parse(topic);
    if (!t) return;
    if (t.gateway === this.opts.gatewayId) return this.onOwn(t.kind, 'device' in t ? t.device : undefined, payload, correlation);
    // other gateways' probes and commands are theirs: not read, not charged
    if (t.kind === 'probe' || t.kind === 'command') return;
    // a state or a presence costs every dashboard a message, however few bytes it has (remote.ts
    // charges what a birth or will does to the devices it lists)
    const cost = t.kind === 'state' || t.kind === 'status' ? Math.max(payload.length, FLEET_STATE_COST_BYTES) : payload.length;
    if (!this.remote.admit(t.gateway, cost)) return;
    switch (t.kind) {
      case 'status': {
        // an empty retained message clears the status (the gateway is gone); garbage says nothing
        const p = parsePresence(payload);
        if (p || payload.length === 0) this.remote.presence(t.gateway, p);
        return;
      }
      case 'state': {
        const s = parseState(payload);
        if (s) this.remote.deviceState(t.gateway, t.device, s);
        return;
      }
      case 'reading': {
        const r = parseReading(payload);
        if (r) this.remote.reading(t.gateway, t.device, r);
        return;
      }
      case 'ack':
        return this.requests.ack(t.gateway, t.device, payload, correlation);
    }
  }

  private onOwn(kind: string, device: string | undefined, payload: Buffer, correlation: Buffer | undefined): void {
    if (kind === 'probe' && payload.toString() === this.instance && this.phase === 'probing') return this.probed();
    if (kind === 'status') {
      const p = parsePresence(payload);
      if (this.phase === 'probing') this.ownStatus = p;
      else if (this.phase === 'waiting' && p?.state === 'offline' && p.instance === this.ownStatus?.instance) this.goLive();
      // Our retained birth was replaced while we are live: the will of a duplicate that died while
      // it waited (its will is fixed at CONNECT, before it knew), however late its broker noticed,
      // or a cleared status. Gateways that start later read only the retained message: say it again.
      else if (this.phase === 'live' && (p?.state === 'offline' || payload.length === 0)) this.birth();
      else if (this.phase === 'live' && p?.state === 'online' && p.instance !== this.instance && !this.duplicateLogged) {
        this.duplicateLogged = true;
        this.log.error(
          { code: 'SG_ERR_FLEET_DUPLICATE_ID', other: p.instance },
          'another process announced this gateway id on the fleet broker: give each gateway its own gateway.id',
        );
      }
      return;
    }
    if (kind === 'command' && device !== undefined && this.phase === 'live' && this.commandInput.admit(payload.length + (correlation?.length ?? 0))) {
      this.federation.handleCommand(device, payload, correlation);
    }
  }

  // ---- publishing ----

  /** Sent, or queued for later (undefined); or why neither. */
  private publish(topic: string, payload: string, o: PublishOpts): string | undefined {
    const client = this.client;
    if (this.phase !== 'live' || !client?.connected) {
      if (!o.queue) return 'the fleet broker is down';
      this.queue.push({ topic, payload, qos: o.qos });
      this.queueGauges();
      return undefined;
    }
    // the broker refused a message this large (onError): another would cost the link a reconnect
    if (payload.length * 3 >= this.refusedBytes && Buffer.byteLength(payload) >= this.refusedBytes) {
      metrics.mqttPublishDropped.inc();
      const fields = { code: 'SG_ERR_FLEET_TOO_BIG', topic, bytes: Buffer.byteLength(payload), refused: this.refusedBytes };
      this.badLog.log(this.log, 'warn', 'refused-size', fields, 'a message as large as one the fleet broker refused: not published');
      return `the fleet broker refused a message of ${this.refusedBytes} bytes as too large (its message_size_limit): not sent`;
    }
    if (o.queue && (client.stream?.writableLength ?? 0) > MAX_SOCKET_BACKLOG_BYTES) {
      metrics.mqttPublishDropped.inc();
      return 'the fleet broker does not read';
    }
    const po: IClientPublishOptions = { qos: o.qos, retain: o.retain ?? false };
    if (o.correlation || o.expirySeconds !== undefined) {
      po.properties = {};
      if (o.correlation) po.properties.correlationData = o.correlation;
      if (o.expirySeconds !== undefined) po.properties.messageExpiryInterval = o.expirySeconds;
    }
    client.publish(topic, payload, po);
    return undefined;
  }

  private queueGauges(): void {
    metrics.fleetQueued.set({ kind: 'messages' }, this.queue.size);
    metrics.fleetQueued.set({ kind: 'bytes' }, this.queue.bytes);
  }
}

interface PublishOpts {
  qos: 0 | 1;
  retain?: boolean;
  correlation?: Buffer;
  expirySeconds?: number;
  /** a reading: kept for later while the broker is away, dropped when the broker does not read */
  queue?: boolean;
}

const stateBody = (s: DeviceStatus) => (s.reason === undefined ? { state: s.state } : { state: s.state, reason: s.reason });
