/**
 * The gateway process restarts on the same port (its seq counter starts again): the client
 * reconnects by itself, reports the reset, and carries on without duplicates.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { SerialgateClient } from '../../../src/client/index.js';
import { range, recordingClient, seqs, startRig, waitFor } from './harness.js';

let rig: Awaited<ReturnType<typeof startRig>> | undefined;
let client: SerialgateClient | undefined;
afterAll(async () => {
  client?.close();
  await rig?.stop();
});

describe('gateway restart on the same port', () => {
  it('reconnects, reports the reset, delivers the new run from its first seq, once each, in order', async () => {
    rig = await startRig({ intervalMs: 20 });
    const c = recordingClient(rig.wsUrl);
    client = c.client;
    await waitFor('readings', () => c.readings.length >= 20);
    const states: string[] = [];
    const firstRun = c.readings.length;
    await rig.restart(300);
    await waitFor('open on the new gateway', () => c.hellos.length === 2 && c.client.state === 'open', 10_000);
    for (const s of c.states) states.push(s.state);
    expect(states).toContain('reconnecting');
    const reconnecting = c.states.find((s) => s.state === 'reconnecting')!;
    expect(reconnecting.code).toBe(1001);
    await waitFor('readings of the new run', () => c.readings.length >= firstRun + 20);

    expect(c.resets).toHaveLength(1);
    const run1 = seqs(c.readings.slice(0, firstRun));
    const run2 = seqs(c.readings.slice(firstRun));
    expect(c.resets[0]!.previousSeq).toBe(run1.at(-1));
    expect(run1).toEqual(range(run1[0]!, run1.at(-1)!));
    // the new gateway numbered from 1; the client asked for everything it held (since 0)
    expect(run2).toEqual(range(1, run2.at(-1)!));
    expect(c.client.stats().resets).toBe(1);
  });
});
