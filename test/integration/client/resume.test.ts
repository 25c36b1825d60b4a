/**
 * Reconnect and resume through a TCP relay the test cuts while the gateway keeps running: the
 * readings missed while away are replayed, each exactly once and in order; what the resume
 * buffer no longer holds is a gap; commands issued while away are held back and sent after the
 * reconnect, or fail on their deadline and are never sent late.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SerialgateClient } from '../../../src/client/index.js';
import { startProxy, type Proxy } from './proxy.js';
import { range, recordingClient, seqs, startRig, waitFor } from './harness.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(opts: Parameters<typeof startRig>[0] = {}) {
  const rig = await startRig(opts);
  cleanups.push(() => rig.stop());
  const proxy: Proxy = await startProxy(rig.port);
  cleanups.push(() => proxy.stop());
  const url = `ws://127.0.0.1:${proxy.port}/ws`;
  return { rig, proxy, url };
}

function track<T extends { client: SerialgateClient }>(c: T): T {
  cleanups.push(() => c.client.close());
  return c;
}

/** cuts the client off until the gateway has sent `missed` more readings, then lets it back; returns the last seq it had */
async function outage({ rig, proxy }: Awaited<ReturnType<typeof setup>>, c: ReturnType<typeof recordingClient>, missed: number): Promise<number> {
  await proxy.down();
  await waitFor('reconnecting', () => c.client.state === 'reconnecting');
  const before = c.client.lastSeq;
  await waitFor(`the gateway to send ${missed} more`, () => rig.gateway.hub.stats().seq >= before + missed);
  await proxy.up();
  return before;
}

describe('resume after a dropped connection', () => {
  it('replays what was missed: every seq exactly once, in order, no gap', async () => {
    const run = await setup({ intervalMs: 20 });
    const { rig } = run;
    const c = track(recordingClient(run.url));
    await waitFor('readings', () => c.readings.length >= 5);
    await outage(run, c, 15);
    await waitFor('resumed past the outage', () => c.client.lastSeq >= rig.gateway.hub.stats().seq - 1 && c.hellos.length === 2, 8_000);
    const got = seqs(c.readings);
    expect(got).toEqual(range(got[0]!, got.at(-1)!));
    expect(c.gaps).toEqual([]);
    expect(c.resets).toEqual([]);
    expect(c.client.stats()).toMatchObject({ opens: 2 });
  });

  it('what the resume buffer no longer holds is surfaced as a gap; the rest arrives once, in order', async () => {
    const run = await setup({ intervalMs: 20, hub: { resumeBuffer: 5 } });
    const c = track(recordingClient(run.url));
    await waitFor('readings', () => c.readings.length >= 3);
    const before = await outage(run, c, 20);
    await waitFor('a gap', () => c.gaps.length > 0, 8_000);
    await waitFor('live again', () => c.client.lastSeq > c.gaps[0]!.to + 5);
    const [gap] = c.gaps;
    expect(gap!.from).toBe(before + 1);
    const got = seqs(c.readings);
    // strictly increasing: no duplicates, no reordering
    for (let i = 1; i < got.length; i++) expect(got[i]).toBeGreaterThan(got[i - 1]!);
    // nothing outside the gap is missing
    const expected = range(got[0]!, got.at(-1)!).filter((s) => s < gap!.from || s > gap!.to || got.includes(s));
    expect(got).toEqual(expected);
    expect(c.client.stats().missed).toBe(gap!.to - gap!.from + 1);
  });
});

describe('commands while reconnecting', () => {
  it('are held back and sent after the reconnect, once', async () => {
    const { rig, proxy, url } = await setup({ intervalMs: 200 });
    const c = track(recordingClient(url));
    await waitFor('open', () => c.client.state === 'open');
    await proxy.down();
    await waitFor('reconnecting', () => c.client.state === 'reconnecting');
    const sentBefore = rig.mock.commands.length;
    const pending = c.client.command('mock1', 'LED ON', { timeoutMs: 8_000 });
    await new Promise((r) => setTimeout(r, 300));
    expect(rig.mock.commands.length).toBe(sentBefore);
    await proxy.up();
    await expect(pending).resolves.toMatchObject({ reply: 'OK LED ON' });
    expect(rig.mock.commands.slice(sentBefore)).toEqual(['LED ON']);
  });

  it('fail with client_timeout on their deadline and are never sent late', async () => {
    const { rig, proxy, url } = await setup({ intervalMs: 200 });
    const c = track(recordingClient(url));
    await waitFor('open', () => c.client.state === 'open');
    await proxy.down();
    await waitFor('reconnecting', () => c.client.state === 'reconnecting');
    const sentBefore = rig.mock.commands.length;
    await expect(c.client.command('mock1', 'LED OFF', { timeoutMs: 200 })).rejects.toMatchObject({ code: 'client_timeout' });
    await proxy.up();
    await waitFor('open again', () => c.client.state === 'open' && c.hellos.length === 2);
    await expect(c.client.command('mock1', 'PING')).resolves.toMatchObject({ reply: 'PONG' });
    expect(rig.mock.commands.slice(sentBefore)).toEqual(['PING']);
  });

  it('sent but unacknowledged when the connection drops: rejected with connection_lost, not resent', async () => {
    const { rig, proxy, url } = await setup({ intervalMs: 200, replyDelayMs: 1_000 });
    const c = track(recordingClient(url));
    await waitFor('open', () => c.client.state === 'open');
    const sentBefore = rig.mock.commands.length;
    const pending = c.client.command('mock1', 'LED ON');
    await waitFor('the device got it', () => rig.mock.commands.length > sentBefore);
    await proxy.down();
    await expect(pending).rejects.toMatchObject({ code: 'connection_lost' });
    await proxy.up();
    await waitFor('open again', () => c.client.state === 'open' && c.hellos.length === 2);
    await new Promise((r) => setTimeout(r, 200));
    expect(rig.mock.commands.slice(sentBefore)).toEqual(['LED ON']);
  });
});
