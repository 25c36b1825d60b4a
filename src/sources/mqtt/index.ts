/**
 * MQTT source: one broker client for all MQTT devices of the gateway, put together from one part
 * per job:
 * - connection.ts: the client's lifecycle, reconnect, resubscribe, what we publish ourselves
 *   (client-options.ts: its options and TLS files);
 * - routing.ts: topic → device, derived ids, command topics never readings, the devices' state;
 * - commands.ts: command publishing (QoS 2, released only while still pending);
 * Here they are wired: what the connection hears goes to routing and commands. Fleet mode has its
 * own client (src/fleet/), so a broker that serves only the fleet opens no source connection.
 *
 * Nothing unbounded while offline: commands fail at once with `device_unavailable`, nothing is queued.
 */
import type { DeviceConfig, MqttConfig } from '../../config/schema.js';
import type { Logger } from '../../log.js';
import type { Device, Source, SourceSink } from '../../domain.js';
import { CommandPublisher } from './commands.js';
import { MqttConnection } from './connection.js';
import { unreadableAck } from './reasons.js';
import { TopicRouter } from './routing.js';

export { MqttConfigError } from './client-options.js';

export class MqttSource implements Source {
  private readonly log: Logger;
  private readonly connection: MqttConnection;
  private readonly router: TopicRouter;
  private readonly commands: CommandPublisher;

  constructor(config: MqttConfig, devices: DeviceConfig[], sink: SourceSink, logger: Logger, gatewayId: string) {
    this.log = logger.child({ source: 'mqtt' });
    this.connection = new MqttConnection(
      config,
      gatewayId,
      {
        filters: () => this.router.filters(),
        subscribed: (filter, granted) => this.router.subscribed(filter, granted),
        // called from mqtt.js's packet loop: the router's fault boundary keeps every throw in
        message: (topic, payload, retain) => this.router.route(topic, payload, retain),
        pubrec: (messageId) => this.commands.pubrec(messageId),
        protocolError: (message) => {
          if (unreadableAck(message) === 'pubrec') this.commands.unreadablePubrec();
        },
        lost: (reason) => {
          this.router.down(reason);
          this.commands.failAll(reason);
        },
      },
      this.log,
    );
    this.commands = new CommandPublisher(this.connection, config.commandTimeoutMs);
    this.router = new TopicRouter(config, devices, sink, this.log, (id, topic, cmd) => this.commands.send(id, topic, cmd), this.connection.reason);
  }

  devices(): Device[] {
    return this.router.devices();
  }

  brokerState(): 'up' | 'down' {
    return this.connection.up ? 'up' : 'down';
  }

  async start(): Promise<void> {
    this.connection.start();
  }

  async stop(reload?: string): Promise<void> {
    this.commands.close(reload);
    await this.connection.stop();
  }
}
