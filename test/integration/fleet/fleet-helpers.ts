/**
 * Fleet tests: several real gateway processes (dist/src/cli.cjs), each with its own firmware-mock
 * device on a real PTY, federated through real Mosquitto brokers on loopback.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startMock, type MockDevice } from '../../../firmware-mock/index.js';
import { uniqueLink } from '../../helpers/mock.js';
import { Daemon, Dashboard } from '../daemon/daemon-helpers.js';

export const OPERATOR = 'operator-token-0123456789';
export const VIEWER = 'viewer-token-0123456789ab';

export interface GatewaySpec {
  id: string;
  brokerUrl: string;
  /** commands.allow of its device */
  allow?: string;
  commandTimeoutMs?: number;
  /** mqtt.federation.queue.messages */
  queueMessages?: number;
  /** mqtt.username (the password is `pw-<username>`) */
  username?: string;
  /** false: no mqtt section at all (a gateway on its own); default true */
  federation?: boolean;
  /** mqtt.federation.inputRate */
  inputRate?: { bytesPerSecond: number; burstBytes: number };
  /** ms its mock device waits before it answers a command */
  replyDelayMs?: number;
  /** extra `node` arguments of its process (a preload: `--import …`) */
  nodeArgs?: string[];
  /** extra environment of its process */
  env?: NodeJS.ProcessEnv;
}

export interface RunningGateway {
  readonly spec: GatewaySpec;
  readonly mock: MockDevice;
  daemon: Daemon;
  ws: string;
  /** kill -9, then start the same config again */
  restart(): Promise<void>;
  /** rewrites its config file with `change` applied and sends SIGHUP (resolves once it was sent) */
  reload(change: Partial<GatewaySpec>): void;
}

export class Fleet {
  private readonly cleanup: (() => Promise<void> | void)[] = [];
  private readonly dir = mkdtempSync(path.join(tmpdir(), 'sg-fleet-'));

  async gateway(spec: GatewaySpec): Promise<RunningGateway> {
    const mock = await startMock({
      link: uniqueLink(),
      format: 'kv',
      intervalMs: 100,
      ...(spec.replyDelayMs === undefined ? {} : { replyDelayMs: spec.replyDelayMs }),
    });
    this.cleanup.push(() => mock.stop());
    const file = path.join(this.dir, `${spec.id}-${this.cleanup.length}.yaml`);
    writeFileSync(file, configText(spec, mock.link));
    const run = async (): Promise<{ daemon: Daemon; ws: string }> => {
      const daemon = Daemon.start(['run', '--config', file], spec.env, spec.nodeArgs);
      this.cleanup.push(() => daemon.stop());
      return { daemon, ws: (await daemon.ready()).replace('http', 'ws') + '/ws' };
    };
    const first = await run();
    const g: RunningGateway = {
      spec,
      mock,
      ...first,
      async restart() {
        await g.daemon.stop();
        Object.assign(g, await run());
      },
      reload(change) {
        writeFileSync(file, configText({ ...spec, ...change }, mock.link));
        g.daemon.proc.kill('SIGHUP');
      },
    };
    return g;
  }

  async dashboard(url: string, token = OPERATOR): Promise<Dashboard> {
    const d = await Dashboard.connect(url, { token });
    this.cleanup.push(() => d.close());
    return d;
  }

  async stop(): Promise<void> {
    for (const f of this.cleanup.splice(0).reverse()) await f();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const inputRate = ({ inputRate: r }: GatewaySpec) => (r ? `, inputRate: { bytesPerSecond: ${r.bytesPerSecond}, burstBytes: ${r.burstBytes} }` : '');

function configText(spec: GatewaySpec, link: string): string {
  return [
    `gateway: { id: ${spec.id} }`,
    'server: { host: 127.0.0.1, port: 0 }',
    `auth: { anonymous: none, tokens: [{ token: ${OPERATOR}, role: operator }, { token: ${VIEWER}, role: viewer }] }`,
    'log: { level: info }',
    ...(spec.federation === false
      ? []
      : [
          // a 1 s keepalive: the broker notices a killed gateway after 1.5 s and publishes its will
          `mqtt: { url: "${spec.brokerUrl}", keepaliveSeconds: 1, reconnect: { minMs: 200, maxMs: 500 },`,
          spec.username ? `        username: ${spec.username}, password: pw-${spec.username},` : '',
          `        federation: { enabled: true, prefix: fleet, commandTimeoutMs: ${spec.commandTimeoutMs ?? 4000}, queue: { messages: ${spec.queueMessages ?? 10_000} }${inputRate(spec)} } }`,
        ]),
    'devices:',
    '  - id: dev',
    `    serial: { path: ${link}, baudRate: 115200, reconnect: { minMs: 50, maxMs: 200 } }`,
    '    parser: { format: kv }',
    `    commands: { reply: { match: "^(OK|ERR|PONG)", timeoutMs: 1500 }${spec.allow ? `, allow: "${spec.allow}"` : ''} }`,
  ].join('\n');
}
