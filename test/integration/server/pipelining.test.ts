/**
 * Pipelined HTTP requests from a client that does not read the answers: each request is handled
 * only when the answer ahead of it has been written out, so such a client holds one answer in the
 * gateway's memory, not one per request it sent.
 */
import type http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverSchema } from '../../../src/config/schema.js';
import { createHttpServer } from '../../../src/server/http-server.js';

const BODY = 'x'.repeat(256 * 1024);
let srv: http.Server;
let port: number;
let handled = 0;

beforeAll(async () => {
  const config = serverSchema.parse({ host: '127.0.0.1', port: 0 });
  srv = createHttpServer(config, (_req, res) => {
    handled++;
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': String(BODY.length) }).end(BODY);
  }) as http.Server;
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  port = (srv.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => srv.close(() => resolve())));

describe('pipelined requests', () => {
  it('200 requests in one write, never read: only the few answers the socket can take are built; reading gets all 200', async () => {
    const n = 200;
    const sock = net.connect(port, '127.0.0.1');
    sock.pause();
    await new Promise<void>((resolve) => sock.once('connect', resolve));
    handled = 0;
    sock.write(`GET /a HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`.repeat(n));
    await new Promise((r) => setTimeout(r, 500));
    // what the kernel's socket buffers take (a few MB on loopback), not 200 × 256 KB = 50 MB
    expect(handled).toBeLessThan(n / 4);

    let bytes = 0;
    let statuses = 0;
    // a status line can be split between two chunks: count over the end of the previous one too
    const STATUS = 'HTTP/1.1 200 OK';
    let carry = '';
    sock.on('data', (d: Buffer) => {
      bytes += d.length;
      const text = carry + d.toString('latin1');
      statuses += text.split(STATUS).length - 1;
      carry = text.slice(-(STATUS.length - 1));
    });
    sock.resume();
    const deadline = Date.now() + 10_000;
    // the last status line arrives before the last body: wait for the bytes too
    while ((handled < n || statuses < n || bytes <= n * BODY.length) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(handled).toBe(n);
    expect(bytes).toBeGreaterThan(n * BODY.length);
    expect(statuses).toBe(n);
    sock.destroy();
  });
});
