/**
 * A real browser's WebSocket against our server: headless Chromium (Debian /usr/bin/chromium via
 * playwright-core) loads a blank page from the same server, round-trips a string and an
 * ArrayBuffer through /echo, and sees the close code and reason the server sends.
 */
import { type Browser, type Page } from 'playwright-core';
import { launchChromium } from '../helpers/chromium.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EndpointOptions } from '../../src/server/ws-server.js';
import { recorder, startServer, type TestServer } from '../integration/server/harness.js';

/** Test-only: closes with 4001 'bye' when told 'close-me'. */
const closer: EndpointOptions<void> = {
  path: '/closer',
  protocols: [],
  onConnection(conn) {
    conn.on('message', (data: Buffer, binary: boolean) => {
      if (!binary && data.toString() === 'close-me') conn.close(4001, 'bye');
    });
  },
};

let server: TestServer;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  // server pings every 200 ms: the browser must answer them for the keepalive test
  server = await startServer({
    endpoints: [closer, recorder('/proto', [], ['serialgate.v1.json', 'serialgate.v1.cbor'])],
    limits: { pingIntervalMs: 200, pongTimeoutMs: 2_000 },
  });
  browser = await launchChromium();
  page = await browser.newPage();
  await page.goto(`${server.httpUrl}/`);
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

describe('Chromium WebSocket ↔ our server', () => {
  it('round-trips a string and an ArrayBuffer through /echo', async () => {
    const result = await page.evaluate(async (url) => {
      const ws = new WebSocket(url);
      ws.binaryType = 'arraybuffer';
      const next = () => new Promise<MessageEvent>((resolve) => ws.addEventListener('message', resolve, { once: true }));
      await new Promise((resolve, reject) => {
        ws.onopen = resolve;
        ws.onerror = () => reject(new Error('WebSocket error'));
      });
      ws.send('héllo, 世界');
      const text = (await next()).data as string;
      const bytes = new Uint8Array(300);
      for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) & 0xff;
      ws.send(bytes.buffer);
      const echoed = (await next()).data as ArrayBuffer;
      ws.close(1000);
      return {
        protocol: ws.protocol,
        text,
        isArrayBuffer: echoed instanceof ArrayBuffer,
        same: echoed.byteLength === bytes.length && new Uint8Array(echoed).every((b, i) => b === bytes[i]),
      };
    }, `${server.wsUrl}/echo`);
    expect(result).toEqual({ protocol: '', text: 'héllo, 世界', isArrayBuffer: true, same: true });
  });

  it('sees the close code and reason the server sends', async () => {
    const closed = await page.evaluate(async (url) => {
      const ws = new WebSocket(url);
      await new Promise((resolve) => (ws.onopen = resolve));
      const event = new Promise<CloseEvent>((resolve) => (ws.onclose = resolve));
      ws.send('close-me');
      const e = await event;
      return { code: e.code, reason: e.reason, wasClean: e.wasClean };
    }, `${server.wsUrl}/closer`);
    expect(closed).toEqual({ code: 4001, reason: 'bye', wasClean: true });
  });

  it("answers the server's pings: open after 1.5 s of pings every 200 ms, still echoing", async () => {
    const result = await page.evaluate(async (url) => {
      const ws = new WebSocket(url);
      await new Promise((resolve) => (ws.onopen = resolve));
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const state = ws.readyState;
      ws.send('after pings');
      const echoed = await new Promise<string>((resolve) => (ws.onmessage = (e) => resolve(e.data as string)));
      ws.close();
      return { state, echoed };
    }, `${server.wsUrl}/echo`);
    expect(result).toEqual({ state: 1, echoed: 'after pings' });
  });

  it('negotiates a real subprotocol next to a bearer.* credential, which is never echoed', async () => {
    const protocol = await page.evaluate(async (url) => {
      const ws = new WebSocket(url, ['bearer.token-abcdefghijklmnop', 'serialgate.v1.cbor']);
      await new Promise((resolve, reject) => {
        ws.onopen = resolve;
        ws.onerror = () => reject(new Error('handshake failed'));
      });
      const p = ws.protocol;
      ws.close();
      return p;
    }, `${server.wsUrl}/proto`);
    expect(protocol).toBe('serialgate.v1.cbor');
  });

  it('a browser offering only a bearer.* entry is refused (400), so its handshake fails', async () => {
    // A 101 selecting none would fail too: Chromium fails a handshake where protocols were
    // offered and none was selected. Browser clients offer a real protocol next to their bearer.<token>.
    const outcome = await page.evaluate(async (url) => {
      const ws = new WebSocket(url, ['bearer.token-abcdefghijklmnop']);
      return await new Promise<string>((resolve) => {
        ws.onopen = () => resolve(`open:${ws.protocol}`);
        ws.onclose = (e) => resolve(`closed:${e.code}`);
      });
    }, `${server.wsUrl}/proto`);
    expect(outcome).toBe('closed:1006');
  });
});
