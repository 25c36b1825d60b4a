/**
 * The gateway restarts on the same port (its seq counter starts again, in a new epoch): the
 * client reconnects by itself, reports the reset and receives the new run from its first seq,
 * each reading once and in order, whether the new run's seq is still below the client's last
 * seq when it comes back or has already passed it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SerialgateClient } from '../../../src/client/index.js';
import { startProxy } from './proxy.js';
import { range, recordingClient, seqs, startRig, waitFor } from './harness.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function track<T extends { client: SerialgateClient }>(c: T): T {
  cleanups.push(() => c.client.close());
  return c;
}

/** what both cases check once the client follows the new run */
function expectNewRunOnce(c: ReturnType<typeof recordingClient>): void {
  // the first run ends where the second hello came, not where the test last looked: readings
  // go on arriving until the old gateway closes
  const firstRun = c.readingsAtHello[1]!;
  expect(c.resets).toHaveLength(1);
  expect(c.client.stats().resets).toBe(1);
  const run1 = seqs(c.readings.slice(0, firstRun));
  const run2 = seqs(c.readings.slice(firstRun));
  expect(run1).toEqual(range(run1[0]!, run1.at(-1)!));
  expect(c.epochs).toHaveLength(2);
  expect(c.epochs[1]).not.toBe(c.epochs[0]);
  expect(c.resets[0]).toEqual({ previousEpoch: c.epochs[0], previousSeq: run1.at(-1), epoch: c.epochs[1], seq: c.hellos[1] });
  expect(c.client.epoch).toBe(c.epochs[1]);
  // the new gateway numbered from 1; the client got everything it held, once each, in order
  expect(run2).toEqual(range(1, run2.at(-1)!));
}

describe('gateway restart on the same port', () => {
  it('the new run still below the last seq: reconnects, reports the reset, delivers the new run from 1, once each, in order', async () => {
    const rig = await startRig({ intervalMs: 10 });
    cleanups.push(() => rig.stop());
    const c = track(recordingClient(rig.wsUrl));
    await waitFor('readings', () => c.readings.length >= 150, 10_000);
    await rig.restart(100);
    await waitFor('open on the new gateway', () => c.hellos.length === 2 && c.client.state === 'open', 10_000);
    const reconnecting = c.states.find((s) => s.state === 'reconnecting')!;
    expect(reconnecting.code).toBe(1001);
    // the case this test is about
    expect(c.hellos[1]).toBeLessThan(c.readings[c.readingsAtHello[1]! - 1]!.seq);
    await waitFor('readings of the new run', () => c.readings.length >= c.readingsAtHello[1]! + 20);
    expectNewRunOnce(c);
  });

  it('the new run already past the last seq: not taken for a continuation; reset, the new run from 1, once each, in order', async () => {
    const rig = await startRig({ intervalMs: 10 });
    cleanups.push(() => rig.stop());
    const proxy = await startProxy(rig.port);
    cleanups.push(() => proxy.stop());
    const c = track(recordingClient(`ws://127.0.0.1:${proxy.port}/ws`));
    await waitFor('readings', () => c.readings.length >= 5);
    // keep the client away until the new run has counted well past where it was
    await proxy.down();
    await waitFor('reconnecting', () => c.client.state === 'reconnecting');
    const last = c.client.lastSeq;
    await rig.restart(100);
    await waitFor('the new run to pass the old seq', () => rig.gateway.hub.stats().seq >= last + 30, 10_000);
    await proxy.up();
    await waitFor('open on the new gateway', () => c.hellos.length === 2 && c.client.state === 'open', 10_000);
    expect(c.hellos[1]).toBeGreaterThan(last);
    await waitFor('the new run up to its hello and beyond', () => c.client.lastSeq > c.hellos[1]! + 10, 10_000);
    expectNewRunOnce(c);
    expect(c.gaps).toEqual([]);
  });
});
