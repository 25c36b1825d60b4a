/**
 * The serial source's fault boundary on a real PTY: an exception from the path a line takes (here
 * the hub's sink) never escapes into serialport's event emitter. The device goes down with a
 * reason, the fault is counted and logged once, and the port is closed and reopened.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startMock } from '../../../firmware-mock/index.js';
import { metrics } from '../../../src/metrics.js';
import { createLogger } from '../../../src/log.js';
import { SerialSource } from '../../../src/sources/serial/index.js';
import type { DeviceStatus, ReadingInput } from '../../../src/domain.js';
import { RecordingSink, serialDevice, uniqueLink } from '../../helpers/mock.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** a sink with a bug: it throws on the readings (or the states) a test picks */
class ThrowingSink extends RecordingSink {
  throwOnReading: (r: ReadingInput) => boolean = () => false;
  throwOnState: (s: DeviceStatus) => boolean = () => false;
  /** when each state arrived */
  readonly stateTimes: { state: string; at: number }[] = [];

  override reading(r: ReadingInput): void {
    if (this.throwOnReading(r)) throw new Error('sink exploded on a reading');
    super.reading(r);
  }

  override state(s: DeviceStatus): void {
    this.stateTimes.push({ state: s.state, at: performance.now() });
    super.state(s);
    if (this.throwOnState(s)) throw new Error('sink exploded on a state');
  }
}

const faults = async () => (await metrics.faults.get()).values.find((v) => v.labels['boundary'] === 'source')?.value ?? 0;

let ids = 0;
async function setup(intervalMs = 0) {
  const mock = await startMock({ link: uniqueLink(), format: 'kv', intervalMs });
  cleanups.push(() => mock.stop());
  const id = `serial-fault-${process.pid}-${++ids}`;
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger('info', { destination: { write: (l: string) => void lines.push(JSON.parse(l)) } });
  const sink = new ThrowingSink();
  const source = new SerialSource(
    [serialDevice(id, { serial: { path: mock.link, baudRate: 115200, reconnect: { minMs: 100, maxMs: 400 } }, parser: { format: 'kv' } })],
    sink,
    logger,
  );
  cleanups.push(() => source.stop());
  await source.start();
  const device = source.devices()[0]!;
  expect(device.status().state).toBe('up');
  return { mock, sink, id, device, lines };
}

describe('a source fault on a real PTY', () => {
  it('a sink that throws on a line: down with the reason, counted, logged once, reopened, the next lines flow', async () => {
    const { mock, sink, id, device, lines } = await setup();
    sink.throwOnReading = (r) => r.values?.['boom'] === 1;
    const before = await faults();
    await mock.write('a=1\nboom=1\n');
    await sink.waitState(id, 'down', 3_000, 'internal fault: sink exploded on a reading');
    expect(await faults()).toBe(before + 1);
    const logged = lines.filter((l) => l['code'] === 'SG_ERR_SOURCE_FAULT');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ level: 50, device: id, source: 'serial', err: { message: 'sink exploded on a reading' } });

    await sink.waitState(id, 'up', 3_000);
    await mock.write('a=2\n');
    await sink.waitFor('the line after the fault', () => sink.readings.some((r) => r.values?.['a'] === 2));
    expect(sink.readings.map((r) => r.values?.['a'])).toEqual([1, 2]);
    expect(device.status()).toEqual({ id, source: 'serial', state: 'up' });
    expect(await faults()).toBe(before + 1);
  });

  it('a sink that throws while told the device went down (unplug): still reopened on replug, nothing escapes', async () => {
    const { mock, sink, id, lines } = await setup();
    let thrown = 0;
    sink.throwOnState = (s) => s.state === 'down' && thrown++ === 0;
    const before = await faults();
    await mock.unplug();
    await sink.waitState(id, 'down', 3_000);
    expect(await faults()).toBe(before + 1);
    expect(lines.filter((l) => l['code'] === 'SG_ERR_SOURCE_FAULT')).toHaveLength(1);
    await mock.replug();
    await sink.waitState(id, 'up', 3_000);
    await mock.write('a=3\n');
    await sink.waitFor('a line after the replug', () => sink.readings.some((r) => r.values?.['a'] === 3));
  });

  it('a fault on every line: each reopen waits longer (the backoff is not restarted by the reopen)', async () => {
    const { sink, id } = await setup(20);
    sink.throwOnReading = () => true;
    // reconnect { minMs: 100, maxMs: 400 } doubles to its cap: steps 100, 200, 400 ms, each wait in [step/2, step]
    await sink.waitFor('three faults', () => sink.stateTimes.filter((t) => t.state === 'down').length >= 3, 10_000);
    await sink.waitState(id, 'up', 3_000);
    const t = sink.stateTimes;
    const downs = t.flatMap((x, i) => (x.state === 'down' ? [i] : []));
    const waits = downs.slice(0, 3).map((i) => t[i + 1]!.at - t[i]!.at);
    expect(t.slice(downs[0]!, downs[2]! + 2).map((x) => x.state)).toEqual(['down', 'up', 'down', 'up', 'down', 'up']);
    // lower bounds only (a loaded machine makes them longer): without the rule every wait is 50-100 ms
    expect(waits[0]).toBeGreaterThanOrEqual(45);
    expect(waits[1]).toBeGreaterThanOrEqual(95);
    expect(waits[2]).toBeGreaterThanOrEqual(195);
  });
});
