/**
 * Fleet mode with a gateway whose wall clock is off by minutes (test/helpers/skewed-clock.mjs
 * preloaded into its process): real gateway processes, real Mosquitto, `ws` dashboards.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { ensureBuilt, until, type Dashboard } from '../daemon/daemon-helpers.js';
import { Fleet, type RunningGateway } from './fleet-helpers.js';

beforeAll(ensureBuilt, 200_000);

const SKEWED_CLOCK = fileURLToPath(new URL('../../helpers/skewed-clock.mjs', import.meta.url));
const acksOf = (d: Dashboard, id: string) => d.of('ack').filter((m) => m.id === id);

describe("fleet: an owner whose clock is a minute ahead of the origin's", () => {
  let broker: Mosquitto;
  let fleet: Fleet;
  let a: RunningGateway;
  let b: RunningGateway;

  beforeAll(async () => {
    broker = await startMosquitto();
    fleet = new Fleet();
    // a long timeout: the origin's own `timeout` cannot come first
    [a, b] = await Promise.all([
      fleet.gateway({ id: 'A', brokerUrl: broker.url, commandTimeoutMs: 60_000 }),
      fleet.gateway({ id: 'B', brokerUrl: broker.url, nodeArgs: ['--import', SKEWED_CLOCK], env: { SG_TEST_CLOCK_SKEW_MS: '90000' } }),
    ]);
  }, 60_000);

  afterAll(async () => {
    await fleet?.stop();
    await broker?.stop();
  });

  it("its readings are not in A's future: A's history ending now holds them, and A says B's clock is ahead", async () => {
    const d = await fleet.dashboard(a.ws);
    await until('B/dev readings on A', () => d.of('reading').filter((m) => m.device === 'B/dev').length >= 5, 30_000);
    // A's clock is this process's
    const newest = Math.max(...d.of('reading').map((m) => m.ts as number));
    expect(newest).toBeLessThanOrEqual(Date.now());
    // what a dashboard's charts ask for: the last minute, ending now (before, B's points were all after it)
    d.send({ type: 'history', id: 'h', device: 'B/dev', from: Date.now() - 60_000, to: Date.now() });
    await until('the history answer', () => d.of('history').length > 0);
    expect((d.of('history')[0]!.points as unknown[]).length).toBeGreaterThan(0);
    expect(a.daemon.log(/clock of gateway B is ahead/)).toMatchObject({ code: 'SG_ERR_FLEET_CLOCK', gateway: 'B', aheadMs: expect.any(Number) });
    expect(a.daemon.log(/clock of gateway B is ahead/)!.aheadMs).toBeGreaterThan(60_000);
  }, 60_000);

  it('a command to it is answered timeout by the owner, saying why, once; it never runs', async () => {
    const d = await fleet.dashboard(a.ws);
    await until('B/dev readings on A', () => d.of('reading').some((m) => m.device === 'B/dev'), 30_000);
    d.send({ type: 'command', id: 'skewed', device: 'B/dev', line: 'LED ON' });
    // before, the owner dropped it unanswered and the dashboard waited out the whole minute
    await until('the ack', () => acksOf(d, 'skewed').length > 0, 20_000);
    expect(acksOf(d, 'skewed')).toEqual([
      {
        type: 'ack',
        id: 'skewed',
        ok: false,
        error: { code: 'timeout', message: expect.stringMatching(/^gateway B: arrived \d+ ms after its deadline by this gateway's clock: not run/) },
      },
    ]);
    expect(b.daemon.log(/arrived after its deadline/)).toMatchObject({ code: 'SG_ERR_FLEET_LATE_COMMAND' });
    // B/dev stays commandable from B's own dashboards; the late one never reached the device
    const own = await fleet.dashboard(b.ws);
    own.send({ type: 'command', id: 'local', device: 'dev', line: 'PING' });
    await until('the local ack', () => acksOf(own, 'local').length > 0);
    expect(b.mock.commands).toEqual(['PING']);
    expect(acksOf(d, 'skewed')).toHaveLength(1);
  }, 60_000);
});

describe("fleet: an owner whose clock is a minute behind the origin's", () => {
  let broker: Mosquitto;
  let fleet: Fleet;
  let a: RunningGateway;

  beforeAll(async () => {
    broker = await startMosquitto();
    fleet = new Fleet();
    [a] = await Promise.all([
      fleet.gateway({ id: 'A', brokerUrl: broker.url }),
      fleet.gateway({ id: 'B', brokerUrl: broker.url, nodeArgs: ['--import', SKEWED_CLOCK], env: { SG_TEST_CLOCK_SKEW_MS: '-90000' } }),
    ]);
  }, 60_000);

  afterAll(async () => {
    await fleet?.stop();
    await broker?.stop();
  });

  it("its readings get A's time: not 90 s old on A's dashboards (a tile said silent), and A says B's clock is behind", async () => {
    const d = await fleet.dashboard(a.ws);
    await until('B/dev readings on A', () => d.of('reading').filter((m) => m.device === 'B/dev').length >= 5, 30_000);
    const ts = d
      .of('reading')
      .filter((m) => m.device === 'B/dev')
      .map((m) => m.ts as number);
    // A's clock is this process's; generous for a loaded machine, far below the 90 s
    expect(Date.now() - ts.at(-1)!).toBeLessThan(30_000);
    expect(ts).toEqual([...ts].sort((x, y) => x - y));
    const line = a.daemon.log(/clock of gateway B is behind/);
    expect(line).toMatchObject({ code: 'SG_ERR_FLEET_CLOCK', gateway: 'B' });
    expect(line!.behindMs).toBeGreaterThan(60_000);
  }, 60_000);
});
