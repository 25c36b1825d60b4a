/**
 * The one broker connection: the mqtt.js client's lifecycle, our reconnect, the subscriptions of
 * every CONNACK. It knows no device and no command: its user (the MQTT source) says which filters
 * to hold and gets the messages, the PUBRECs and the losses through a ConnectionHandler.
 *
 * - Reconnect is ours, not mqtt.js's fixed 1 s interval: reconnectPeriod 0 and a timer with the one
 *   capped exponential backoff with jitter (../backoff.ts); after a credentials refusal, every
 *   mqtt.authRetryMs.
 * - Clean session: every CONNACK subscribes again, and a reconnect starts from an empty outgoing
 *   store, so nothing of an earlier connection is replayed.
 * - Nothing is queued while offline (queueQoSZero is off): commands are published only while
 *   connected (commands.ts), and fleet mode has its own client (src/fleet/).
 */
import { randomBytes } from 'node:crypto';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { MqttConfig } from '../../config/schema.js';
import { metrics } from '../../metrics.js';
import type { Logger } from '../../log.js';
import { backoffDelay } from '../../backoff.js';
import { clientOptions, redactUrl } from './client-options.js';
import { describeError, isAuthFailure } from './reasons.js';

export type Qos = 0 | 1 | 2;

/** What the users of the connection hear; called from mqtt.js's packet loop, so none may throw. */
export interface ConnectionHandler {
  /** the filters to subscribe on every CONNACK (the session is clean), each with its QoS */
  filters(): ReadonlyMap<string, Qos>;
  /** the broker's answer to one subscription of the current connection */
  subscribed(filter: string, granted: boolean): void;
  /** `retain`: the broker's retained message for the topic, delivered because we subscribed */
  message(topic: string, payload: Buffer, retain: boolean): void;
  /** the broker holds one of our QoS 2 messages (PUBREC): mqtt.js releases it (PUBREL) right after */
  pubrec(messageId: number | undefined): void;
  /**
   * the broker sent what the client cannot read or MQTT forbids (`message`: mqtt.js's, e.g. "Invalid
   * pubrec reason code"); the connection is ended right after, and `lost` follows
   */
  protocolError(message: string): void;
  /** the connection ended or an attempt failed; `reason` is in words for a device's down state */
  lost(reason: string): void;
}

export class MqttConnection {
  private client: MqttClient | undefined;
  private connected = false;
  /** the broker's Maximum Packet Size (MQTT 5 CONNACK), when it announced one */
  private brokerMaxPacket: number | undefined;
  private stopped = false;
  private attempt = 0;
  /** when the current connection was accepted (performance.now()): how long it lasted decides the next backoff */
  private connectedAt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  /** the last client error since the last connection attempt: the reason for the next `close` */
  private lastError: { reason: string; auth: boolean } | undefined;
  private downReason = 'connecting to the MQTT broker';

  private readonly options: IClientOptions;

  /** Throws MqttConfigError (a TLS file that cannot be read) before any I/O: a reload is refused whole. */
  constructor(
    private readonly config: MqttConfig,
    gatewayId: string,
    private readonly handler: ConnectionHandler,
    private readonly log: Logger,
  ) {
    this.options = clientOptions(config, config.clientId ?? `serialgate-${gatewayId}-${randomBytes(4).toString('hex')}`);
  }

  get up(): boolean {
    return this.connected;
  }

  /** why the broker is away (meaningful while !up) */
  get reason(): string {
    return this.downReason;
  }

  /** The largest packet the broker takes on this connection (its Maximum Packet Size), if it said. */
  get maxPacketBytes(): number | undefined {
    return this.brokerMaxPacket;
  }

  /** The client while connected: what a command is published on. */
  live(): MqttClient | undefined {
    return this.connected ? this.client : undefined;
  }

  start(): void {
    if (this.client || this.stopped) return;
    const client = mqtt.connect(this.options);
    this.client = client;
    client.on('connect', (connack) => this.onConnect(client, connack.properties?.maximumPacketSize));
    client.on('error', (err) => this.onError(err));
    client.on('close', () => this.onClose());
    client.on('message', (topic, payload, packet) => this.handler.message(topic, payload, packet.retain));
    client.on('packetreceive', (packet) => {
      // MQTT 5: a PUBREC with a reason code of 0x80 or more is a refusal (an ACL's "not
      // authorized"): nothing is held, and mqtt.js fails the publish (commands.ts answers it)
      if (packet.cmd === 'pubrec' && !((packet.reasonCode ?? 0) >= 0x80)) this.handler.pubrec(packet.messageId);
    });
    client.connect();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.connected = false;
    if (!client) return;
    // forced: a clean session leaves nothing worth a DISCONNECT handshake, and it cannot hang
    await new Promise<void>((resolve) => client.end(true, {}, () => resolve()));
  }

  /**
   * End `client`'s connection, and with it the clean session, because of `reason` (which becomes
   * the reason of the loss); then reconnect as after any loss. Nothing when it is down already.
   */
  drop(client: MqttClient, reason: string): void {
    if (client !== this.live()) return;
    this.lastError = { reason, auth: false };
    client.stream.destroy();
  }

  private onConnect(client: MqttClient, maxPacket: number | undefined): void {
    this.connected = true;
    this.brokerMaxPacket = maxPacket;
    this.connectedAt = performance.now();
    this.lastError = undefined;
    this.log.info({ url: redactUrl(this.config.url) }, 'connected to the MQTT broker');
    for (const [filter, qos] of this.handler.filters()) {
      client.subscribe(filter, { qos }, (err, granted) => {
        if (client !== this.live()) return;
        const refused = !!err || !granted?.length || granted[0]!.qos === 128;
        if (refused) this.log.error({ filter, err: err?.message }, 'the broker refused a subscription');
        this.handler.subscribed(filter, !refused);
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
    // On a live connection an error is the broker breaking the protocol, most often a packet
    // mqtt-packet's parser refused. mqtt.js goes on with that parser, which never finds the next
    // packet again: every later reading, PUBREC and PINGRESP would be dropped unseen until the
    // keepalive gives up (1.5 × keepaliveSeconds). MQTT 5 §4.13: end the connection, now.
    const client = this.live();
    if (client) {
      this.handler.protocolError(err.message);
      this.drop(client, reason);
    }
  }

  private onClose(): void {
    if (this.stopped) return;
    const wasConnected = this.connected;
    this.connected = false;
    // Only a connection that lasted a whole backoff cap restarts the steps: one ended sooner (a
    // second gateway with the same mqtt.clientId taking the session over each time, a broker that
    // drops us after CONNACK) keeps them climbing, so the two stop knocking each other out every second.
    if (wasConnected && performance.now() - this.connectedAt >= this.config.reconnect.maxMs) this.attempt = 0;
    const reason = this.lastError?.reason ?? (wasConnected ? 'connection to the MQTT broker lost' : 'could not connect to the MQTT broker');
    if (wasConnected) this.log.warn({ reason }, 'MQTT broker connection lost');
    this.downReason = reason;
    this.handler.lost(reason);
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
}
