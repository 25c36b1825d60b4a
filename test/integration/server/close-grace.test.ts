/**
 * WsServer.close(code, reason, graceMs) on real sockets: every connection gets the close frame at
 * once, and peers that never answer it are dropped after graceMs even though closeTimeoutMs is
 * much longer.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Opcode } from '../../../src/ws/constants.js';
import { startServer, type TestServer } from './harness.js';
import { clientFrame, RawPeer } from './raw-peer.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

describe('WsServer.close with a grace period', () => {
  it('silent peers are dropped after graceMs, not closeTimeoutMs; one that answers closes cleanly', async () => {
    server = await startServer({ limits: { closeTimeoutMs: 20_000 } });
    const silent = await Promise.all(Array.from({ length: 5 }, (_, i) => RawPeer.open(server!.port, { read: i !== 0, allowHalfOpen: true })));
    const polite = await RawPeer.open(server.port);
    void polite.closeFrame().then(() => polite.send(clientFrame(Opcode.Close, Buffer.from([0x03, 0xe9]))));

    const t0 = Date.now();
    await server.wss.close(1001, 'going away', 300);
    const elapsed = Date.now() - t0;

    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(3_000);
    expect(server.wss.connections.size).toBe(0);
    for (const p of silent.slice(1)) expect(await p.closeFrame()).toEqual({ code: 1001, reason: 'going away' });
    expect(await polite.closeFrame()).toEqual({ code: 1001, reason: 'going away' });
    await polite.closed;
  });

  it('resolves at once when every peer answers, without waiting for the grace period', async () => {
    server = await startServer();
    const peers = await Promise.all(Array.from({ length: 3 }, () => RawPeer.open(server!.port)));
    for (const p of peers) void p.closeFrame().then(() => p.send(clientFrame(Opcode.Close, Buffer.from([0x03, 0xe9]))));
    const t0 = Date.now();
    await server.wss.close(1001, '', 5_000);
    expect(Date.now() - t0).toBeLessThan(2_000);
  });
});
