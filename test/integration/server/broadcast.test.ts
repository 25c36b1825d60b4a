/**
 * broadcast(): one pre-framed Buffer to every OPEN connection, skipping CLOSING and CLOSED ones;
 * cork()/uncork() batch frames; sendFrame() writes pre-framed bytes as they are.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { broadcast } from '../../../src/server/ws-server.js';
import { Opcode } from '../../../src/ws/constants.js';
import { encodeFrame } from '../../../src/ws/frame-encoder.js';
import { recorder, startServer, type Recorded, type TestServer } from './harness.js';

let server: TestServer;
const conns: Recorded[] = [];
const clients: WebSocket[] = [];

beforeAll(async () => {
  server = await startServer();
  server.wss.addEndpoint(recorder('/rec', conns));
});
afterAll(async () => {
  for (const ws of clients) ws.terminate();
  await server.stop();
});

async function connect(): Promise<{ ws: WebSocket; messages: string[] }> {
  const ws = new WebSocket(`${server.wsUrl}/rec`);
  clients.push(ws);
  const messages: string[] = [];
  ws.on('message', (d, binary) => messages.push(`${binary ? 'bin' : 'text'}:${String(d)}`));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  return { ws, messages };
}

describe('broadcast', () => {
  it('writes one frame to every OPEN connection and skips a CLOSING one', async () => {
    const peers = await Promise.all([connect(), connect(), connect()]);
    expect(conns).toHaveLength(3);
    const frame = encodeFrame(Opcode.Text, 'to all');
    expect(broadcast(frame, server.wss.connections)).toBe(3);
    await expect.poll(() => peers.map((p) => p.messages.length)).toEqual([1, 1, 1]);
    expect(peers.map((p) => p.messages[0])).toEqual(['text:to all', 'text:to all', 'text:to all']);

    conns[2]!.conn.close(1000, 'leaving');
    expect(broadcast(encodeFrame(Opcode.Binary, Buffer.from('again')), server.wss.connections)).toBe(2);
    await expect.poll(() => peers.map((p) => p.messages.length)).toEqual([2, 2, 1]);
    expect(peers[0]!.messages[1]).toBe('bin:again');
    expect(await conns[2]!.closed).toEqual({ code: 1000, reason: 'leaving' });
  });

  it('corked frames arrive in order after uncork; sendFrame sends pre-framed bytes unchanged', async () => {
    const { messages } = await connect();
    const conn = conns[conns.length - 1]!.conn;
    conn.cork();
    expect(conn.sendFrame(encodeFrame(Opcode.Text, 'one'))).toBe('ok');
    expect(conn.send('two')).toBe('ok');
    expect(conn.send(Buffer.from('three'))).toBe('ok');
    expect(conn.bufferedAmount).toBeGreaterThan(0); // held until uncork
    conn.uncork();
    await expect.poll(() => messages).toEqual(['text:one', 'text:two', 'bin:three']);
  });
});
