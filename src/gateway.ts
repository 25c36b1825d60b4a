/**
 * Composition root (DESIGN.md "Layout"): HTTP server + WebSocket endpoints + hub + sources.
 * Used by the CLI and by integration tests; owns the start, reload and stop order.
 */
import type http from 'node:http';
import type https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Config, DeviceConfig, MqttConfig } from './config/schema.js';
import { History, stateDir } from './history/persistent.js';
import type { HistoryReader, HistoryWriter } from './domain.js';
import { buildHealthReport, createRequestHandler, defaultWebRoot } from './http/routes.js';
import { Authenticator } from './hub/auth.js';
import { isLoopbackHost } from './config/loopback.js';
import { HistoryWork, NO_HISTORY } from './hub/history-requests.js';
import { Hub, type HubOptions } from './hub/hub.js';
import type { Logger } from './log.js';
import { planReload } from './cli/reload.js';
import { echoEndpoint } from './server/echo.js';
import { createHttpServer, destroyAllConnections } from './server/http-server.js';
import { WsServer } from './server/ws-server.js';
import type { HostCheck } from './server/request-rules.js';
import type { Fleet } from './fleet/fleet.js';
import type { MqttSource } from './sources/mqtt/index.js';
import { SerialSource } from './sources/serial/index.js';
import type { Device, Source } from './domain.js';
import { SHUTDOWN_CLOSE_GRACE_MS } from './bounds.js';

export interface Gateway {
  /** http(s)://HOST:PORT with the real port (server.port 0 = ephemeral) */
  readonly url: string;
  readonly hub: Hub;
  /** undefined when history.enabled is false */
  readonly history: HistoryReader | undefined;
  /** the folder the history is written to; undefined: kept in memory only (none, or not usable) */
  readonly historyDir: string | undefined;
  readonly sources: Source[];
  /** applies what a running gateway can (src/cli/reload.ts); dashboards stay open unless their token went */
  reload(config: Config): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Sources as the gateway runs them: one SerialSource per serial device, so a reload can restart
 * one port and leave the others alone; one MqttSource for all MQTT devices (one broker client).
 */
class SourceSet {
  readonly serial = new Map<string, { cfg: DeviceConfig; source: SerialSource }>();
  mqtt: { key: string; source: MqttSource } | undefined;
  fleet: { key: string; source: Fleet } | undefined;

  constructor(
    private readonly hub: Hub,
    private readonly logger: Logger,
  ) {}

  all(): Source[] {
    const list: Source[] = [...this.serial.values()].map((e) => e.source);
    if (this.mqtt) list.push(this.mqtt.source);
    if (this.fleet) list.push(this.fleet.source);
    return list;
  }

  devices(): Device[] {
    return this.all().flatMap((s) => s.devices());
  }

  /**
   * Brings the running sources to `config`: stops what changed or went, starts what is new. What
   * can refuse a config (a TLS file that cannot be read) is built before anything running is
   * stopped: a refused reload leaves every source as it was.
   */
  async apply(config: Config): Promise<void> {
    const mqttDevices = config.devices.filter((d) => d.mqtt);
    const mqttKey = JSON.stringify([config.mqtt, mqttDevices, config.gateway.id]);
    const federation = config.mqtt?.federation.enabled ? config.mqtt : undefined;
    const fleetKey = JSON.stringify([federation, config.gateway.id]);
    const newMqtt =
      config.mqtt && mqttDevices.length > 0 && this.mqtt?.key !== mqttKey
        ? await this.mqttSource(config.mqtt, mqttDevices, config.gateway.id)
        : undefined;
    const newFleet = federation && this.fleet?.key !== fleetKey ? await this.fleetSource(federation, config.gateway.id) : undefined;

    const wanted = new Map(config.devices.filter((d) => d.serial).map((d) => [d.id, d]));
    const stopping: Promise<void>[] = [];
    for (const [id, e] of this.serial) {
      const next = wanted.get(id);
      if (next && unchanged(next, e.cfg)) {
        wanted.delete(id);
        continue;
      }
      this.serial.delete(id);
      stopping.push(e.source.stop(next ? 'reopened by a reload that changed its configuration' : 'removed from the configuration'));
    }
    const oldMqtt = this.mqtt;
    if (oldMqtt && oldMqtt.key !== mqttKey) {
      this.mqtt = undefined;
      stopping.push(oldMqtt.source.stop('the MQTT client restarts: a reload changed the MQTT settings or devices'));
    }
    const oldFleet = this.fleet;
    if (oldFleet && oldFleet.key !== fleetKey) {
      this.fleet = undefined;
      stopping.push(oldFleet.source.stop());
      // what that fleet said of the other gateways no longer holds; a new one says it again
      this.hub.leaveFleet(federation ? 'the fleet settings changed on this gateway' : 'federation turned off on this gateway');
    }
    // a port must be closed before a changed config of the same device opens it again
    await Promise.all(stopping);

    const starting: Source[] = [];
    for (const [id, cfg] of wanted) {
      const source = new SerialSource([cfg], this.hub, this.logger);
      this.serial.set(id, { cfg, source });
      starting.push(source);
    }
    if (newMqtt) {
      this.mqtt = { key: mqttKey, source: newMqtt };
      starting.push(newMqtt);
    }
    if (newFleet) {
      this.fleet = { key: fleetKey, source: newFleet };
      starting.push(newFleet);
    }
    this.hub.reconfigure(config);
    // the hub learns the new device list before their first reading or state
    this.hub.setDevices(this.devices());
    this.fleet?.source.announce();
    await Promise.all(starting.map((s) => s.start()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.all().map((s) => s.stop()));
  }

  private async mqttSource(config: MqttConfig, devices: DeviceConfig[], gatewayId: string): Promise<MqttSource> {
    // mqtt.js is loaded only when a broker is configured: ~15 MB of RSS a serial-only Pi keeps
    const { MqttSource } = await import('./sources/mqtt/index.js');
    return new MqttSource(config, devices, this.hub, this.logger, gatewayId);
  }

  private async fleetSource(config: MqttConfig, gatewayId: string): Promise<Fleet> {
    const { Fleet } = await import('./fleet/fleet.js');
    return new Fleet({
      config,
      gatewayId,
      sink: this.hub,
      logger: this.logger,
      localDevices: () =>
        this.all()
          .filter((s) => s !== this.fleet?.source)
          .flatMap((s) => s.devices()),
      devicesChanged: () => this.hub.setDevices(this.devices()),
      route: (device, cmd, from) => this.hub.routeCommand(device, cmd, { kind: 'fleet', gateway: from }),
    });
  }
}

const unchanged = (a: DeviceConfig, b: DeviceConfig): boolean => JSON.stringify(a) === JSON.stringify(b);

export interface GatewayOptions {
  /**
   * The history the dashboards and /history.csv read and the hub's readings feed (issue 11).
   * Absent: no history (empty answers, the export answers empty too).
   */
  history?: HistoryReader & HistoryWriter;
}

export async function startGateway(config: Config, logger: Logger, opts: GatewayOptions = {}): Promise<Gateway> {
  if (!isLoopbackHost(config.server.host) && config.auth.hosts.length === 0 && config.auth.anonymous !== 'none') {
    logger.warn(
      { host: config.server.host },
      'listening beyond loopback with auth.hosts empty: any Host header is accepted, so a DNS-rebinding page could read what anonymous viewers see; list the names you use in auth.hosts',
    );
  }
  // before the hub: a stream a clean stop saved is where the hub's seq continues
  const store =
    opts.history || !config.history.enabled
      ? undefined
      : new History(config.history, logger.child({ component: 'history' }), stateDir(config.history));
  const history = opts.history ?? store;
  const hubOptions: HubOptions = {};
  if (store?.restored) hubOptions.stream = store.restored;
  if (history) hubOptions.history = history;
  // one budget for the history the dashboards and /history.csv ask for
  const historyWork = (hubOptions.historyWork = new HistoryWork());
  const hub = new Hub(config, logger.child({ component: 'hub' }), hubOptions);
  const sources = new SourceSet(hub, logger);
  let current = config;
  let ready = false;
  hub.onReading((r, frames) => sources.fleet?.source.publishReading(r, frames.jsonText()));
  hub.onState((s) => sources.fleet?.source.publishState(s));
  if (history) hub.onReading((r) => history.record(r));
  store?.start(hub.epoch);

  const health = () =>
    buildHealthReport({
      ready,
      devices: sources.devices().map((d) => d.status()),
      required: new Set(current.devices.filter((d) => d.required).map((d) => d.id)),
      ...(sources.mqtt ? { broker: sources.mqtt.source.brokerState() } : {}),
      connections: hub.stats().connections,
    });
  // The Host rule of auth.hosts guards every route, not only the hub's upgrade: a rebinding page
  // could otherwise read /metrics or /healthz. Rebuilt on reload, like the hub's.
  let hostRule = new Authenticator(config.auth, config.server.host);
  const hostAllowed: HostCheck = (host) => hostRule.hostAllowed(host);
  const exportDeps = { history: history ?? NO_HISTORY, work: historyWork, auth: () => hostRule };
  const server = createHttpServer(
    config.server,
    createRequestHandler({ health, webRoot: defaultWebRoot(), logger, history: exportDeps, notUpgrade: (req) => wss.plainRefusal(req) }),
    hostAllowed,
    logger.child({ component: 'http' }),
  );
  const wss = new WsServer(server, config.server.limits, logger.child({ component: 'ws' }), hostAllowed);
  wss.addEndpoint(hub.endpoint());
  if (config.server.echo) wss.addEndpoint(echoEndpoint());

  await sources.apply(config);
  try {
    await listen(server, config.server.host, config.server.port);
  } catch (err) {
    await sources.stop();
    throw err;
  }
  ready = true;
  const port = (server.address() as AddressInfo).port;
  const url = `${config.server.tls ? 'https' : 'http'}://${urlHost(config.server.host)}:${port}`;
  logger.info({ url, path: config.server.path, devices: config.devices.length }, 'gateway listening');

  let stopping: Promise<void> | undefined;
  return {
    url,
    hub,
    history,
    historyDir: store?.dir,
    get sources() {
      return sources.all();
    },
    async reload(file: Config) {
      const { config: next, needsRestart } = planReload(current, file);
      if (needsRestart.length > 0) {
        logger.warn({ keys: needsRestart }, `these changes take effect after a restart, the running values stay: ${needsRestart.join(', ')}`);
      }
      // sources first: a config they refuse changes nothing, the Host rule included
      await sources.apply(next);
      current = next;
      hostRule = new Authenticator(next.auth, next.server.host);
      logger.info({ devices: next.devices.length }, 'configuration reloaded');
    },
    stop() {
      stopping ??= (async () => {
        ready = false;
        // 1. no new TCP connections (an upgrade on a kept-alive one meets a closing hub: 1001)
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        (server as http.Server).closeIdleConnections?.();
        // 2. all at once: pending commands → shutting_down and 1001 to every dashboard (the hub
        //    flushes first), 1001 to what else is open (echo), ports and broker released. Peers
        //    that never answer or never read are dropped after the grace: they cannot hold the stop.
        const dashboards = hub.shutdown();
        const connections = wss.close(1001, 'gateway shutting down', Math.min(SHUTDOWN_CLOSE_GRACE_MS, config.server.limits.closeTimeoutMs));
        await Promise.all([dashboards, connections, sources.stop()]);
        // no reading can come any more: the last batch and the stream for the next start
        await store?.stop(hub.snapshot());
        // 3. the HTTP server: requests still in flight (a slow /metrics client) and TLS
        //    handshakes that never finished end here
        destroyAllConnections(server);
        await closed;
        logger.info('gateway stopped');
      })();
      return stopping;
    },
  };
}

function listen(server: http.Server | https.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.removeListener('error', onError);
      resolve();
    });
  });
}

/** A URL host for the bound address: wildcard binds are reached on loopback, IPv6 in brackets. */
function urlHost(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}
