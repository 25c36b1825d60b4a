/**
 * MQTT source: one broker client for all MQTT devices of the gateway, put together from one part
 * per job:
 * - connection.ts: the client's lifecycle, reconnect, resubscribe, what we publish ourselves
 *   (client-options.ts: its options and TLS files);
 * - routing.ts: topic → device, derived ids, command topics never readings, the devices' state;
 * - commands.ts: command publishing (QoS 2, released only while still pending);
 * - federation.ts: this gateway's readings out and commands in over the same connection.
 * Here they are wired: what the connection hears goes to federation, routing and commands.
 *
 * Nothing unbounded while offline: commands fail at once with `device_unavailable`; what we publish
 * ourselves (federation) waits in the connection's bounded drop-oldest queue.
 */
import type { DeviceConfig, MqttConfig } from '../../config/schema.js';
import { metrics } from '../../metrics.js';
import type { Logger } from '../../log.js';
import { LogRateLimiter } from '../../log-rate.js';
import type { Device, Reading, Source, SourceSink } from '../../domain.js';
import { CommandPublisher } from './commands.js';
import { MqttConnection, type Qos } from './connection.js';
import { Federation, type FederatedCommandHandler } from './federation.js';
import { TopicRouter } from './routing.js';

export { MqttConfigError } from './client-options.js';

export class MqttSource implements Source {
  private readonly log: Logger;
  private readonly connection: MqttConnection;
  private readonly router: TopicRouter;
  private readonly commands: CommandPublisher;
  private readonly federation: Federation | undefined;
  /** federation faults: one line per 10 s */
  private readonly faultLog = new LogRateLimiter(10_000);

  constructor(config: MqttConfig, devices: DeviceConfig[], sink: SourceSink, logger: Logger, gatewayId: string) {
    this.log = logger.child({ source: 'mqtt' });
    this.connection = new MqttConnection(
      config,
      gatewayId,
      {
        filters: () => this.filters(),
        subscribed: (filter, granted) => this.router.subscribed(filter, granted),
        message: (topic, payload) => this.onMessage(topic, payload),
        pubrec: (messageId) => this.commands.pubrec(messageId),
        lost: (reason) => {
          this.router.down(reason);
          this.commands.failAll(reason);
        },
      },
      this.log,
    );
    this.commands = new CommandPublisher(this.connection, config.commandTimeoutMs);
    this.router = new TopicRouter(config, devices, sink, this.log, (id, topic, cmd) => this.commands.send(id, topic, cmd), this.connection.reason);
    this.federation = config.federation.enabled
      ? new Federation(config.federation.prefix, gatewayId, { publish: (t, p, q) => this.connection.publish(t, p, q) }, this.log)
      : undefined;
  }

  devices(): Device[] {
    return this.router.devices();
  }

  brokerState(): 'up' | 'down' {
    return this.connection.up ? 'up' : 'down';
  }

  /** Federation: publish one reading of this gateway (no-op unless mqtt.federation.enabled). */
  publishReading(r: Reading): void {
    this.federation?.publishReading(r);
  }

  /** Federation: who routes commands received on `<prefix>/<gateway>/<device>/command`. */
  onFederatedCommand(handler: FederatedCommandHandler): void {
    this.federation?.onCommand(handler);
  }

  async start(): Promise<void> {
    this.connection.start();
  }

  async stop(): Promise<void> {
    this.commands.close();
    await this.connection.stop();
  }

  private filters(): Map<string, Qos> {
    const filters = this.router.filters();
    if (this.federation) filters.set(this.federation.commandFilter, 1);
    return filters;
  }

  /** Called from mqtt.js's packet loop: nothing may throw out of here (it would end the process). */
  private onMessage(topic: string, payload: Buffer): void {
    if (!this.federation?.owns(topic)) return this.router.route(topic, payload);
    try {
      this.federation.handleMessage(topic, payload);
    } catch (err) {
      metrics.faults.inc({ boundary: 'source' });
      this.faultLog.log(this.log, 'error', 'federation', { code: 'SG_ERR_SOURCE_FAULT', topic, err }, 'handling a federated MQTT message threw');
    }
  }
}
