/**
 * A gateway restart under an open dashboard (issue 11 points 3 and 6), in headless Chromium
 * against the real daemon (dist/, a process of its own with a history directory) and the
 * firmware mock on a PTY: SIGTERM, start again on the same port — the dashboard resumes with no
 * reset and no gap, the chart keeps its points, and a page reload draws the points recorded
 * before the restart from the restored history. SIGKILL between two history flushes: the gateway
 * comes back without the readings of the unflushed tail, and the chart still keeps them (between
 * what the gateway kept and what it recorded since), once each and in order.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Browser, type Page } from 'playwright-core';
import { launchChromium } from '../helpers/chromium.js';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startMock } from '../../firmware-mock/index.js';
import { uniqueLink } from '../helpers/mock.js';
import { Daemon, ensureBuilt } from '../integration/daemon/daemon-helpers.js';
import { untilDrawn } from '../helpers/chart.js';

const VIEWER = 'e2e-restart-viewer-0123456789';
const cleanup: (() => Promise<void> | void)[] = [];
beforeAll(ensureBuilt, 200_000);
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

type Hook = { __sg: { chartX(d: string, m: string): number[]; stats(): Record<string, number>; shown(): number[] } };
const chartX = (p: Page) => p.evaluate(() => (window as unknown as Hook).__sg.chartX('mock1', 'temp'));
const stats = (p: Page) => p.evaluate(() => (window as unknown as Hook).__sg.stats());
const shown = (p: Page) => p.evaluate(() => (window as unknown as Hook).__sg.shown());

/** a port free now, so that the second daemon listens where the page reconnects */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function setup(flushMs = 400): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sg-e2e-restart-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const mock = await startMock({ link: uniqueLink(), format: 'kv', intervalMs: 100 });
  cleanup.push(() => mock.stop());
  const file = path.join(dir, 'config.yaml');
  writeFileSync(
    file,
    [
      `server: { host: 127.0.0.1, port: ${await freePort()} }`,
      'log: { level: info }',
      `auth: { anonymous: none, tokens: [{ token: ${VIEWER}, role: viewer }] }`,
      `history: { dir: ${JSON.stringify(path.join(dir, 'state'))}, flushMs: ${flushMs} }`,
      'devices:',
      '  - id: mock1',
      `    serial: { path: ${mock.link}, baudRate: 115200, reconnect: { minMs: 50, maxMs: 200 } }`,
      '    parser: { format: kv }',
    ].join('\n'),
  );
  return file;
}

function start(file: string): Daemon {
  const d = Daemon.start(['run', '--config', file]);
  cleanup.push(() => d.stop());
  return d;
}

async function openPage(): Promise<{ page: Page; errors: string[] }> {
  const browser: Browser = await launchChromium();
  cleanup.push(() => browser.close());
  const page = await (await browser.newContext({ viewport: { width: 1100, height: 900 } })).newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return { page, errors };
}

describe('dashboard across a gateway restart in Chromium', () => {
  it('SIGTERM and start again: no reset, no gap, the chart keeps its points; a reload draws them from the restored history', async () => {
    const file = await setup();
    const first = start(file);
    const url = await first.ready();
    const { page, errors } = await openPage();
    await page.goto(`${url}/?device=mock1`);
    await page.getByTestId('token-input').fill(VIEWER);
    await page.getByTestId('token-submit').click();
    await page.waitForSelector('[data-testid="conn-state"][data-state="open"]', { timeout: 20_000 });
    await page.waitForFunction(() => (window as unknown as Hook).__sg.chartX('mock1', 'temp').length >= 20, null, { timeout: 15_000 });

    first.proc.kill('SIGTERM');
    expect((await first.exited).code).toBe(0);
    // what the chart holds once the stream stopped: every point of it is settled now
    const before = await chartX(page);
    const lastSeen = (await shown(page)).at(-1)!;

    const second = start(file);
    await second.ready();
    expect(second.log(/stream restored/)).toBeDefined();
    await page.waitForFunction(
      (n) => (window as unknown as Hook).__sg.stats().opens >= 2 && (window as unknown as Hook).__sg.shown().at(-1)! > n + 20,
      lastSeen,
      { timeout: 20_000 },
    );
    const s = await stats(page);
    expect({ resets: s.resets, gaps: s.gaps, missed: s.missed, nonIncreasing: s.nonIncreasing }).toEqual({
      resets: 0,
      gaps: 0,
      missed: 0,
      nonIncreasing: 0,
    });
    // every reading shown once, in order, across the restart
    const seqs = await shown(page);
    expect(seqs.filter((q, i) => i > 0 && q !== seqs[i - 1]! + 1)).toEqual([]);
    expect(seqs).toContain(lastSeen + 1);
    await untilDrawn(page, before);
    const kept = new Set(await chartX(page));
    expect(before.filter((x) => !kept.has(x))).toEqual([]);

    // a reload: a new page session, its chart filled from the history the second daemon restored
    await page.reload();
    await page.waitForSelector('[data-testid="conn-state"][data-state="open"]', { timeout: 20_000 });
    await page.waitForFunction(() => (window as unknown as Hook).__sg.stats().histories >= 1, null, { timeout: 10_000 });
    await untilDrawn(page, before);
    const reloaded = new Set(await chartX(page));
    expect(before.filter((x) => !reloaded.has(x))).toEqual([]);
    expect(errors).toEqual([]);
  }, 90_000);

  it('SIGKILL between two flushes: the chart keeps the readings the restarted gateway lost, each once, in order', async () => {
    const FLUSH_MS = 3_000;
    const file = await setup(FLUSH_MS);
    const first = start(file);
    const url = await first.ready();
    // the history flushes every FLUSH_MS from about now
    const startedAt = Date.now();
    const { page, errors } = await openPage();
    await page.goto(`${url}/?device=mock1`);
    await page.getByTestId('token-input').fill(VIEWER);
    await page.getByTestId('token-submit').click();
    await page.waitForSelector('[data-testid="conn-state"][data-state="open"]', { timeout: 20_000 });
    await page.waitForFunction(() => (window as unknown as Hook).__sg.chartX('mock1', 'temp').length >= 30, null, { timeout: 15_000 });
    // halfway between two flushes: about 1.5 s of readings (15 at 10 a second) only the page has
    while ((Date.now() - startedAt) % FLUSH_MS < FLUSH_MS / 2) await new Promise((r) => setTimeout(r, 50));
    first.proc.kill('SIGKILL');
    await first.exited;
    const before = await chartX(page);

    const second = start(file);
    await second.ready();
    await page.waitForFunction(
      () => (window as unknown as Hook).__sg.stats().opens >= 2 && (window as unknown as Hook).__sg.stats().histories >= 2,
      null,
      { timeout: 20_000 },
    );
    // the restarted gateway's history: what it kept, then a hole, then what came since
    const res = await fetch(`${url}/history.json?device=mock1&maxPoints=10000&from=${Date.now() - 300_000}`, {
      headers: { authorization: `Bearer ${VIEWER}` },
    });
    const h = (await res.json()) as { points: { ts: number }[] };
    const recorded = new Set(h.points.map((p) => p.ts / 1000));
    const lost = before.filter((x) => !recorded.has(x));
    expect(lost.length).toBeGreaterThan(3);
    expect(before.some((x) => recorded.has(x))).toBe(true);
    expect(h.points.at(-1)!.ts / 1000).toBeGreaterThan(before.at(-1)!);

    await untilDrawn(page, before);
    const after = await chartX(page);
    const kept = new Set(after);
    expect(before.filter((x) => !kept.has(x))).toEqual([]);
    expect(after.filter((x, i) => i > 0 && x <= after[i - 1]!)).toEqual([]);
    expect((await stats(page)).rejectedPoints).toBe(0);
    expect(errors).toEqual([]);
  }, 90_000);
});
