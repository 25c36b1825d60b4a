/**
 * TLS from the config's cert/key paths (https + wss on one port), and the Prometheus metrics the
 * server counts: connections gauge, handshake refusals by status, closes by code, messages and
 * bytes both ways.
 */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { metrics } from '../../../src/metrics.js';
import { startServer, type TestServer } from './harness.js';
import { rawHttp } from './raw-peer.js';

const cert = fileURLToPath(new URL('./fixtures/test-cert.pem', import.meta.url));
const key = fileURLToPath(new URL('./fixtures/test-key.pem', import.meta.url));

function open(url: string, opts: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  const ws = new WebSocket(url, opts);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

describe('TLS (server.tls.cert / server.tls.key)', () => {
  let server: TestServer;
  const ca = readFileSync(cert);
  beforeAll(async () => {
    server = await startServer({ tls: { cert, key }, limits: { handshakeTimeoutMs: 500 } });
  });
  afterAll(() => server.stop());

  it('serves wss:// and https:// on the same port', async () => {
    const ws = await open(`${server.wsUrl}/echo`, { ca });
    const echoed = new Promise<string>((resolve) => ws.once('message', (d) => resolve(String(d))));
    ws.send('over tls');
    expect(await echoed).toBe('over tls');
    ws.close();
    const body = await new Promise<string>((resolve, reject) => {
      https
        .get(`${server.httpUrl}/`, { ca }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve(text));
        })
        .on('error', reject);
    });
    expect(body).toContain('<html>');
  });

  it('drops a client that never starts the TLS handshake after handshakeTimeoutMs, and one that stops after it', async () => {
    const silent = await rawHttp(server.port, [], { timeoutMs: 5_000 });
    expect(silent.closedAfterMs).toBeGreaterThanOrEqual(400);
    expect(silent.closedAfterMs).toBeLessThan(4_000);
    // TLS done, then only part of the HTTP request: the HTTP headers timeout applies as on plain http
    const socket = tls.connect({ port: server.port, host: '127.0.0.1', ca });
    await new Promise((resolve) => socket.once('secureConnect', resolve));
    socket.write('GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    let answer = '';
    socket.on('data', (c: Buffer) => (answer += c.toString()));
    const started = Date.now();
    await new Promise((resolve) => socket.once('close', resolve));
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('refuses a plain-text WebSocket on the TLS port', async () => {
    await expect(open(server.wsUrl.replace('wss:', 'ws:') + '/echo')).rejects.toThrow();
  });

  it('maxConnectionsPerAddress counts the raw sockets under TLS: past it, closed before the TLS handshake; the server goes on', async () => {
    const limited = await startServer({ tls: { cert, key }, limits: { maxConnectionsPerAddress: 2 } });
    const sockets: net.Socket[] = [];
    const hold = () =>
      new Promise<net.Socket>((resolve, reject) => {
        const sock = net.connect({ host: '127.0.0.1', port: limited.port, localAddress: '127.0.0.4' }, () => resolve(sock));
        sockets.push(sock);
        sock.once('error', reject);
      });
    try {
      await hold();
      await hold();
      const third = await hold();
      await new Promise((r) => third.once('close', r));
      // another address gets its TLS handshake and its echo
      const ws = await open(`${limited.wsUrl}/echo`, { ca });
      const echoed = new Promise<string>((resolve) => ws.once('message', (d) => resolve(String(d))));
      ws.send('still served');
      expect(await echoed).toBe('still served');
      ws.close();
    } finally {
      for (const sock of sockets) sock.destroy();
      await limited.stop();
    }
  });
});

async function value(
  metric: { get(): Promise<{ values: Array<{ value: number; labels: Partial<Record<string, string | number>> }> }> },
  labels: Record<string, string> = {},
): Promise<number> {
  const { values } = await metric.get();
  const hit = values.find((v) => Object.entries(labels).every(([k, l]) => String(v.labels[k]) === l));
  return hit?.value ?? 0;
}

describe('metrics', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ limits: { maxMessageBytes: 16 } });
  });
  afterAll(() => server.stop());

  it('counts connections, messages, bytes, refusals by status and closes by (bucketed) code', async () => {
    const before = {
      connections: await value(metrics.connections),
      total: await value(metrics.connectionsTotal),
      rejected404: await value(metrics.handshakeRejected, { status: '404' }),
      // a private-use code: counted, as "other" (a peer must not choose the label)
      closesOther: await value(metrics.closes, { code: 'other' }),
      closes1009: await value(metrics.closes, { code: '1009' }),
      received: await value(metrics.messagesReceived),
      sent: await value(metrics.messagesSent),
      bytes: await value(metrics.bytesSent),
    };
    const ws = await open(`${server.wsUrl}/echo`);
    expect(await value(metrics.connections)).toBe(before.connections + 1);
    const echoed = new Promise((resolve) => ws.once('message', resolve));
    ws.send('12345');
    await echoed;
    expect(await value(metrics.messagesReceived)).toBe(before.received + 1);
    expect(await value(metrics.messagesSent)).toBe(before.sent + 1);
    expect(await value(metrics.bytesSent)).toBe(before.bytes + 7); // 2-byte header + 5

    const closed = new Promise((resolve) => ws.once('close', resolve));
    ws.close(4000);
    await closed;
    await expect.poll(() => value(metrics.closes, { code: 'other' })).toBe(before.closesOther + 1);
    expect(await value(metrics.connections)).toBe(before.connections);

    const big = await open(`${server.wsUrl}/echo`);
    const bigClosed = new Promise((resolve) => big.once('close', resolve));
    big.send('x'.repeat(17));
    await bigClosed;
    await expect.poll(() => value(metrics.closes, { code: '1009' })).toBe(before.closes1009 + 1);

    await expect(open(`${server.wsUrl}/missing`)).rejects.toThrow('404');
    expect(await value(metrics.handshakeRejected, { status: '404' })).toBe(before.rejected404 + 1);
    expect(await value(metrics.connectionsTotal)).toBe(before.total + 2);
  });
});
