/**
 * What an endpoint sends as it accepts a connection (the hub's hello and snapshot) leaves in the
 * same socket write as the 101: one syscall, not two (on loopback a write also runs the reader's
 * TCP path; measured ~120 µs less CPU per handshake, README "Footprint"). Counted by spying on
 * net.Socket's write in this process, where the server runs; the raw peer writes once, its request.
 */
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { EndpointOptions } from '../../../src/server/ws-server.js';
import { startServer, type TestServer } from './harness.js';
import { RawPeer, isMessage } from './raw-peer.js';

const greeting: EndpointOptions<void> = {
  path: '/greets',
  protocols: [],
  onConnection(conn) {
    // the hub sends its hello and snapshot as one batch: one send here
    conn.send('hello and snapshot');
  },
};

const refusing: EndpointOptions<void> = {
  path: '/closes-at-once',
  protocols: [],
  onConnection(conn) {
    conn.close(1001, 'going away');
  },
};

let server: TestServer;
beforeAll(async () => {
  server = await startServer({ endpoints: [greeting, refusing] });
});
afterAll(() => server.stop());
afterEach(() => vi.restoreAllMocks());

/** Opens a raw peer on `path` and returns it with the server's socket writes (the peer's excluded) until it got `events` events. */
async function writesUntil(path: string, events: number): Promise<{ peer: RawPeer; serverWrites: Buffer[] }> {
  const writes: { socket: net.Socket; data: Buffer }[] = [];
  const write = net.Socket.prototype.write;
  vi.spyOn(net.Socket.prototype, 'write').mockImplementation(function (this: net.Socket, ...args: Parameters<net.Socket['write']>) {
    writes.push({ socket: this, data: Buffer.from(args[0] as Buffer) });
    return write.apply(this, args);
  });
  const peer = await RawPeer.open(server.port, { path });
  await peer.waitUntil(() => peer.events.length >= events);
  return { peer, serverWrites: writes.filter((w) => w.socket !== peer.socket).map((w) => w.data) };
}

describe('the first write of a connection', () => {
  it('carries the 101 and the frame the endpoint sent on accepting it', async () => {
    const { peer, serverWrites } = await writesUntil('/greets', 1);
    try {
      expect(serverWrites).toHaveLength(1);
      const textFrame = Buffer.concat([Buffer.of(0x81, 18), Buffer.from('hello and snapshot')]);
      expect(peer.response).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
      expect(serverWrites[0]).toEqual(Buffer.concat([Buffer.from(peer.response, 'latin1'), textFrame]));
      expect(peer.events.filter(isMessage).map((e) => e.data.toString())).toEqual(['hello and snapshot']);
    } finally {
      peer.socket.destroy();
    }
  });

  it('an endpoint that closes at once: the 101, then the close frame', async () => {
    const { peer, serverWrites } = await writesUntil('/closes-at-once', 1);
    try {
      expect(serverWrites).toHaveLength(1);
      expect(await peer.closeFrame()).toEqual({ code: 1001, reason: 'going away' });
    } finally {
      peer.socket.destroy();
    }
  });

  it('an endpoint with nothing to send: the 101 alone, written once the endpoint returned', async () => {
    const { peer, serverWrites } = await writesUntil('/echo', 0);
    try {
      expect(serverWrites.map((w) => w.toString('latin1'))).toEqual([peer.response]);
    } finally {
      peer.socket.destroy();
    }
  });
});
