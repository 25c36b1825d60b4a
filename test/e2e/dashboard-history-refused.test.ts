/**
 * Charts and sparklines that fill although the gateway first refused their history (headless
 * Chromium, the real compiled gateway): another peer — a process with raw `ws` connections asking
 * for 10,000-point answers as fast as their own rate allows — spends the whole gateway's history work
 * (HISTORY_ENTRIES_PER_SECOND), so the dashboard's requests get `rate_limited`. Once the peer stops,
 * every tile's sparkline and the open device's chart must still fill without a reload: the typed
 * client asks again. And a session that ends while its requests wait for a retry drops them: the
 * next session asks anew, and no request of the old one is answered after it. The devices are
 * serial ports that do not exist (down, never a live reading), so whatever a sparkline or chart
 * shows came from a history answer.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type Browser, type Page } from 'playwright-core';
import { launchChromium } from '../helpers/chromium.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as GatewayModule from '../../src/gateway.js';
import type { HistoryAnswer, HistoryQuery } from '../../src/domain.js';
import { compiled } from '../helpers/compiled.js';
import { MemoryHistory } from '../helpers/memory-history.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const VIEWER = 'e2e-refused-viewer-0123456789';
const DEVICES = Array.from({ length: 40 }, (_, i) => `dev${String(i).padStart(2, '0')}`);
/**
 * More devices than the dashboard's sparkline burst (16): the rest are asked one every 80 ms, over
 * ~2 s of the peer's spending, so some are refused on every load, not only when the first burst
 * happens to land in an instant the budget had refilled.
 */
/** the peer's device: 10,000 points, so that each answer costs 10,000 of the 200,000 a second */
const BULK = 'bulk';
const BULK_POINTS = 10_000;
/** the peer's connections, each asking just under hub.commandRate (20/s): 72 requests/s, ~3.5× the budget */
const PEERS = 4;
const PEER_RATE = 18;

let gateway: GatewayModule.Gateway;
let browser: Browser;
let page: Page;
/** the history, logging when each query was admitted (HistoryWork asks the reader only then) */
class LoggedHistory extends MemoryHistory {
  readonly admitted: (HistoryQuery & { at: number })[] = [];
  override query(q: HistoryQuery): HistoryAnswer {
    this.admitted.push({ ...q, at: Date.now() });
    return super.query(q);
  }
}
const history = new LoggedHistory(60_000);
/** the bulk device's points lie in [bulkTo - 50 s, bulkTo): the peer asks for that fixed range, every answer costs the same */
let bulkTo = 0;
const pageErrors: string[] = [];

type Hook = {
  __sg: {
    chartX(d: string, m: string): number[];
    stats(): Record<string, number>;
    client: { reconnect(): void };
  };
};
const stats = (p: Page) => p.evaluate(() => (window as unknown as Hook).__sg.stats());

/** The other peer (test/helpers/history-peer.ts) asking for the bulk device's whole history; its counts as it prints them. */
function startPeer(url: string): { refused: () => number; answered: () => number; stop: () => Promise<void> } {
  const request = { device: BULK, from: bulkTo - 55_000, to: bulkTo, maxPoints: BULK_POINTS };
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/helpers/history-peer.ts', url, VIEWER, JSON.stringify(request), String(PEERS), String(PEER_RATE)],
    {
      cwd: root,
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const counts = [0, 0];
  let tail = '';
  child.stdout.on('data', (d: Buffer) => {
    const lines = (tail + d.toString()).split('\n');
    tail = lines.pop()!;
    const last = lines.at(-1);
    if (last) counts.splice(0, 2, ...last.split(' ').map(Number));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    refused: () => counts[0]!,
    answered: () => counts[1]!,
    stop: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

async function until(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

beforeAll(async () => {
  const { gw, schema, log } = await compiled();
  const now = Date.now();
  // The bulk device first: 4-digit seqs and no values keep a 10,000-point answer near 440 KB of JSON,
  // one frame within the send budget (512 KiB), so the gateway encodes each answer once.
  bulkTo = now;
  for (let k = 0; k < BULK_POINTS; k++) history.record({ seq: k + 1, device: BULK, ts: now - 50_000 + k * 5, values: {} });
  let seq = BULK_POINTS;
  // each device: 30 readings over the sparkline's 5 minutes
  for (const device of DEVICES) {
    for (let k = 0; k < 30; k++) history.record({ seq: ++seq, device, ts: now - 290_000 + k * 9_000, values: { v: k % 7 } });
  }
  const config = schema.configSchema.parse({
    gateway: { id: 'e2e-refused' },
    server: { host: '127.0.0.1', port: 0 },
    auth: { anonymous: 'none', tokens: [{ token: VIEWER, role: 'viewer' }] },
    devices: DEVICES.map((id) => ({
      id,
      serial: { path: `/tmp/sg-e2e-refused-${process.pid}-${id}`, baudRate: 115200, reconnect: { minMs: 5_000, maxMs: 30_000 } },
      parser: { format: 'kv' },
    })),
  });
  gateway = await gw.startGateway(config, log.silentLogger(), { history });
  browser = await launchChromium();
  const ctx = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  await ctx.addInitScript((token) => sessionStorage.setItem('serialgate.token', token), VIEWER);
  page = await ctx.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await gateway?.stop();
});

describe('dashboard history refused by a spent gateway budget', () => {
  it('another peer spends the history work: the dashboard is refused, then its chart and every sparkline fill', async () => {
    const peer = startPeer(`${gateway.url.replace('http', 'ws')}/ws`);
    try {
      // the budget is spent when the peer itself starts being refused
      await until('the peer to spend the history budget', () => peer.refused() >= 5, 15_000);
      // Should none of the dashboard's requests have been refused (each found the budget refilled
      // for an instant), load again: a fresh page, so that the test means something.
      let refused = false;
      for (let load = 0; load < 3 && !refused; load++) {
        await (load === 0 ? page.goto(`${gateway.url}/?device=${DEVICES[0]}`) : page.reload());
        await page.waitForSelector('[data-testid="conn-state"][data-state="open"]', { timeout: 10_000 });
        refused = await page
          .waitForFunction(() => (window as unknown as Hook).__sg.stats().errors >= 1, null, { timeout: 4_000 })
          .then(() => true)
          .catch(() => false);
      }
      expect(refused).toBe(true);
    } finally {
      await peer.stop();
    }
    // no reload from here on: the refused requests fill by themselves
    await page.waitForFunction(
      (n) => {
        const s = (window as unknown as Hook).__sg.stats();
        return s.sparkHistories === n && s.histories === 1;
      },
      DEVICES.length,
      { timeout: 15_000 },
    );
    const s = await stats(page);
    expect(s.historyRetries).toBeGreaterThanOrEqual(1);
    expect(s.historyErrors).toBe(0);
    expect(s.sparkHistoryErrors).toBe(0);
    // the chart of a device that never sent a live reading: drawn from its history answer
    expect((await page.evaluate((d) => (window as unknown as Hook).__sg.chartX(d, 'v'), DEVICES[0])).length).toBeGreaterThanOrEqual(2);

    // back to the overview: every tile has its sparkline
    await page.keyboard.press('Escape');
    await page.waitForFunction(
      (n) =>
        Array.from(document.querySelectorAll('.spark polyline')).filter((l) => (l.getAttribute('points') ?? '').split(' ').length >= 2).length >= n,
      DEVICES.length,
      { timeout: 5_000 },
    );
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it("a session that ends drops its requests: none of them is resent or retried into the next session's", async () => {
    const sparkQueries = (from: number) => history.admitted.filter((q) => q.maxPoints === 60 && q.to >= from);
    const peer = startPeer(`${gateway.url.replace('http', 'ws')}/ws`);
    let next = 0;
    let switched = 0;
    try {
      await until('the peer to spend the history budget', () => peer.refused() >= 5, 15_000);
      // session 2 (a reconnect, as after a network blip) asks for every sparkline and is refused
      const before = await stats(page);
      await page.evaluate(() => (window as unknown as Hook).__sg.client.reconnect());
      await page.waitForFunction((n) => (window as unknown as Hook).__sg.stats().errors > n, before.errors, { timeout: 8_000 });
      // session 3 starts while session 2's refused requests wait for their retry
      next = Date.now();
      const opens = (await stats(page)).opens;
      await page.evaluate(() => (window as unknown as Hook).__sg.client.reconnect());
      await page.waitForFunction((n) => (window as unknown as Hook).__sg.stats().opens > n, opens, { timeout: 10_000 });
      // from here on the old connection is gone (its close came after everything it sent)
      switched = Date.now();
    } finally {
      await peer.stop();
    }
    // session 3 asks for each device once (its `to` is after `next`) and gets every answer
    await until('session 3 to get every sparkline', () => new Set(sparkQueries(next).map((q) => q.device)).size === DEVICES.length, 15_000);
    // the longest a retry of session 2 could still wait (its 2nd or 3rd backoff step)
    await new Promise((r) => setTimeout(r, 2_500));
    const stale = history.admitted.filter((q) => q.at > switched && q.to < next && q.device !== BULK);
    expect(stale).toEqual([]);
    expect(sparkQueries(next)).toHaveLength(DEVICES.length);
    const s = await stats(page);
    expect(s.historyErrors).toBe(0);
    expect(s.sparkHistoryErrors).toBe(0);
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
