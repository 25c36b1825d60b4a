/**
 * The dashboard in headless Chromium, served by the real (compiled) gateway with the firmware
 * mock on a PTY: token prompt, live values and chart, commands and replies, unplug/replug,
 * a gateway restart survived without a reload and without duplicate points, the viewer role,
 * a phone-width layout, no CSP violation. Writes test-results/dashboard.png.
 *
 * It runs what `npm run build` produced (dist/), because that is what the gateway serves: the
 * page is dist/web, found next to dist/src/http. `npm test` builds first; a missing build is
 * made here.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { launchChromium } from '../helpers/chromium.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compiled, type Compiled } from '../helpers/compiled.js';
import type * as GatewayModule from '../../src/gateway.js';
import type * as MockModule from '../../firmware-mock/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

const OPERATOR = 'e2e-operator-token-0123456789';
const VIEWER = 'e2e-viewer-token-0123456789';
const LINK = `/tmp/sg-e2e-dashboard-${process.pid}`;

let mods: Compiled;
let mock: MockModule.MockDevice;
let gateway: GatewayModule.Gateway;
let port = 0;
let browser: Browser;
const contexts: BrowserContext[] = [];
let page: Page;
const pageErrors: string[] = [];

function config(p: number) {
  return mods.schema.configSchema.parse({
    gateway: { id: 'e2e' },
    server: { host: '127.0.0.1', port: p },
    auth: {
      anonymous: 'none',
      tokens: [
        { token: OPERATOR, role: 'operator' },
        { token: VIEWER, role: 'viewer' },
      ],
    },
    devices: [
      {
        id: 'mock1',
        serial: { path: LINK, baudRate: 115200, reconnect: { minMs: 100, maxMs: 500 } },
        parser: { format: 'kv' },
        commands: { reply: { match: '^(OK|ERR|PONG)', timeoutMs: 2000 } },
      },
    ],
  });
}

async function newPage(): Promise<Page> {
  const ctx = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  contexts.push(ctx);
  const p = await ctx.newPage();
  p.on('pageerror', (e) => pageErrors.push(e.message));
  p.on('console', (m) => {
    if (m.type() === 'error' && !m.text().includes('WebSocket connection')) pageErrors.push(m.text());
  });
  return p;
}

/** opens the detailed view of mock1 (the overview's tile links there), answers the token prompt, waits for the session */
async function openWithToken(p: Page, token: string): Promise<void> {
  await p.goto(`http://127.0.0.1:${port}/?device=mock1`);
  await p.getByTestId('token-form').waitFor({ state: 'visible', timeout: 10_000 });
  await p.getByTestId('token-input').fill(token);
  await p.getByTestId('token-submit').click();
  // 20 s: a heavy e2e file (dashboard-gap's blocked page) may share the two cores meanwhile
  await p.waitForSelector('[data-testid="conn-state"][data-state="open"]', { timeout: 20_000 }).catch(async (err: unknown) => {
    // once seen in a full CI run, never alone: say what the page was doing
    const seen = await p.evaluate(() => ({
      url: location.href,
      app: '__sg' in window,
      conn: document.querySelector('[data-testid="conn-state"]')?.textContent,
      form: !(document.querySelector('[data-testid="token-form"]') as HTMLFormElement | null)?.hidden,
    }));
    throw new Error(`${(err as Error).message}\npage: ${JSON.stringify(seen)}; page errors: ${JSON.stringify(pageErrors)}`);
  });
}

const stats = (p: Page) => p.evaluate(() => (window as unknown as { __sg: { stats(): Record<string, number> } }).__sg.stats());
const epoch = (p: Page) => p.evaluate(() => (window as unknown as { __sg: { client: { epoch?: string } } }).__sg.client.epoch);
const shown = (p: Page) => p.evaluate(() => (window as unknown as { __sg: { shown(): number[] } }).__sg.shown());
const chartX = (p: Page, metric: string) =>
  p.evaluate((m) => (window as unknown as { __sg: { chartX(d: string, m: string): number[] } }).__sg.chartX('mock1', m), metric);

function strictlyIncreasing(xs: number[]): boolean {
  for (let i = 1; i < xs.length; i++) if (!(xs[i]! > xs[i - 1]!)) return false;
  return true;
}

beforeAll(async () => {
  mods = await compiled();
  mock = await mods.mock.startMock({ link: LINK, format: 'kv', intervalMs: 100 });
  gateway = await mods.gw.startGateway(config(0), mods.log.silentLogger());
  port = Number(new URL(gateway.url).port);
  browser = await launchChromium();
  page = await newPage();
}, 180_000);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await gateway?.stop();
  await mock?.stop();
});

describe('dashboard in Chromium', () => {
  it('is served with a strict CSP and no inline code; a refused connection prompts for a token', async () => {
    const res = await page.request.get(`http://127.0.0.1:${port}/`);
    expect(res.headers()['content-security-policy']).toContain("script-src 'self'");
    const html = await res.text();
    expect(html).not.toMatch(/<script>|<style|style="/);
    await openWithToken(page, OPERATOR);
    await expect(page.getByTestId('role').textContent()).resolves.toBe('operator');
    expect(await page.getByTestId('token-form').isHidden()).toBe(true);
    expect(await page.evaluate(() => sessionStorage.getItem('serialgate.token'))).toBe(OPERATOR);
  });

  it('shows the device up, live values updating within 2 s, and a chart with points', async () => {
    await page.waitForSelector('[data-testid="device-state-mock1"]:text("up")', { timeout: 5_000 });
    const count = page.getByTestId('value-mock1-count');
    await count.waitFor({ timeout: 2_000 });
    const first = await count.textContent();
    await page.waitForFunction((v) => document.querySelector('[data-testid="value-mock1-count"]')?.textContent !== v, first, { timeout: 2_000 });
    expect(await page.getByTestId('value-mock1-temp').textContent()).toMatch(/^-?\d+(\.\d+)?$/);
    await page.waitForFunction(
      () => (window as unknown as { __sg: { chartX(d: string, m: string): number[] } }).__sg.chartX('mock1', 'temp').length >= 3,
      null,
      { timeout: 2_000 },
    );
    expect(await page.locator('[data-testid="chart-mock1-temp"] canvas').count()).toBe(1);
    expect(await page.getByTestId('console-mock1').textContent()).toContain('temp=');
  });

  it('LED ON button: the ack with the device reply OK LED ON is shown', async () => {
    await page.getByTestId('cmd-led-on-mock1').click();
    await page.waitForSelector('[data-testid="cmd-result-mock1"][data-status="ok"]', { timeout: 5_000 });
    expect(await page.getByTestId('cmd-result-mock1').textContent()).toBe('OK LED ON');
    expect(mock.commands).toContain('LED ON');
    // the console is redrawn at most every 100 ms
    await page.waitForFunction(() => document.querySelector('[data-testid="console-mock1"]')?.textContent?.includes('< OK LED ON'), null, {
      timeout: 2_000,
    });
    mkdirSync(`${root}test-results`, { recursive: true });
    await page.waitForTimeout(1_500); // a little more line on the chart for the screenshot
    await page.screenshot({ path: `${root}test-results/dashboard.png`, fullPage: true });
  });

  it('the JSON switch reconnects with JSON text frames and resumes; CBOR again after', async () => {
    const before = await stats(page);
    await page.getByTestId('protocol').selectOption('json');
    await page.waitForSelector('[data-testid="conn-state"]:text("open · JSON")', { timeout: 5_000 });
    await page.waitForFunction(
      (n) => (window as unknown as { __sg: { stats(): { readings: number } } }).__sg.stats().readings > n + 5,
      before.readings,
      { timeout: 5_000 },
    );
    expect(await page.evaluate(() => sessionStorage.getItem('serialgate.protocol'))).toBe('json');
    await page.getByTestId('protocol').selectOption('cbor');
    await page.waitForSelector('[data-testid="conn-state"]:text("open · CBOR")', { timeout: 5_000 });
    const after = await stats(page);
    expect(after.opens).toBe(before.opens + 2);
    expect(after.nonIncreasing).toBe(0);
    expect(after.resets).toBe(0);
  });

  it('unplugging the mock shows the device down; replugging shows it up again', async () => {
    await mock.unplug();
    await page.waitForSelector('[data-testid="device-state-mock1"]:text("down")', { timeout: 10_000 });
    await mock.replug();
    await page.waitForSelector('[data-testid="device-state-mock1"]:text("up")', { timeout: 10_000 });
  });

  it('a gateway restart on the same port: reconnecting shown, reconnects, reports the reset and shows the new run without a reload or a duplicate point', async () => {
    await page.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));
    const before = await stats(page);
    const epochBefore = await epoch(page);
    const shownBefore = await shown(page);
    const xsBefore = await chartX(page, 'temp');
    expect(shownBefore.length).toBeLessThan(1000);
    await gateway.stop();
    await page.waitForSelector('[data-testid="conn-state"][data-state="reconnecting"]', { timeout: 5_000 });
    expect(await page.getByTestId('conn-state').textContent()).toMatch(/^reconnecting in \d+ s \(1001 gateway shutting down\)$/);
    gateway = await mods.gw.startGateway(config(port), mods.log.silentLogger());
    await page.waitForSelector('[data-testid="conn-state"][data-state="open"]', { timeout: 15_000 });
    await page.waitForFunction(
      (n) => (window as unknown as { __sg: { stats(): { readings: number } } }).__sg.stats().readings > n + 10,
      before.readings,
      { timeout: 10_000 },
    );
    expect(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload)).toBe(true);
    const after = await stats(page);
    expect(after.resets).toBe(1);
    expect(after.nonIncreasing).toBe(0);
    expect(after.rejectedPoints).toBe(0);
    // a new stream, followed from its first seq: no reading of the new run dropped as "already seen"
    const epochAfter = await epoch(page);
    expect(epochAfter).toMatch(/^[A-Za-z0-9_-]{12}$/);
    expect(epochAfter).not.toBe(epochBefore);
    // (a reading or two of the old run may have arrived between the snapshot above and the stop)
    const all = await shown(page);
    const start = all.lastIndexOf(1);
    expect(start).toBeGreaterThanOrEqual(shownBefore.length);
    const newRun = all.slice(start);
    expect(newRun.length).toBeGreaterThan(5);
    expect(newRun).toEqual(Array.from({ length: newRun.length }, (_, i) => i + 1));
    // the chart kept the points of the old run and carries on after them
    const xs = await chartX(page, 'temp');
    expect(xs.length).toBeGreaterThan(10);
    expect(strictlyIncreasing(xs)).toBe(true);
    const kept = xsBefore.slice(0, -2);
    expect(kept.length).toBeGreaterThan(5);
    expect(xs.slice(0, kept.length)).toEqual(kept);
    await page.waitForSelector('[data-testid="device-state-mock1"]:text("up")', { timeout: 10_000 });
    // a gateway that went away after a session opened is not a token problem: no prompt
    expect(await page.getByTestId('token-form').isHidden()).toBe(true);
  });

  it('a viewer token: no command controls, and a command sent anyway is refused as forbidden', async () => {
    const v = await newPage();
    await openWithToken(v, VIEWER);
    await expect(v.getByTestId('role').textContent()).resolves.toContain('viewer');
    await v.getByTestId('device-mock1').waitFor();
    expect(await v.locator('[data-testid^="cmd-"]').count()).toBe(0);
    // the gateway decides, not the page: send one through the page's client
    const sent = mock.commands.length;
    const code = await v.evaluate(() =>
      (window as unknown as { __sg: { client: { command(d: string, l: string): Promise<unknown> } } }).__sg.client.command('mock1', 'LED OFF').then(
        () => 'ok',
        (e: { code?: string }) => e.code,
      ),
    );
    expect(code).toBe('forbidden');
    expect(mock.commands.length).toBe(sent);
  });

  it('the overview: one tile for the device, which opens its view; back returns to it', async () => {
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForSelector('[data-testid="tile-mock1"][data-state="up"]', { timeout: 10_000 });
    expect(await page.getByTestId('presence-e2e').textContent()).toBe('online · this gateway');
    await page.getByTestId('tile-mock1').click();
    await page.getByTestId('device-mock1').waitFor({ timeout: 5_000 });
    expect(new URL(page.url()).searchParams.get('device')).toBe('mock1');
    await page.goBack();
    await page.getByTestId('tile-mock1').waitFor({ state: 'visible', timeout: 5_000 });
    await page.goForward();
    await page.getByTestId('device-mock1').waitFor({ timeout: 5_000 });
  });

  it('fits a phone-width screen and follows a dark colour scheme', async () => {
    await page.setViewportSize({ width: 375, height: 800 });
    await page.waitForTimeout(300);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    const light = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await page.emulateMedia({ colorScheme: 'dark' });
    const dark = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(dark).not.toBe(light);
    await page.screenshot({ path: `${root}test-results/dashboard-phone-dark.png`, fullPage: true });
  });

  it('caused no CSP violation and no page error', async () => {
    expect((await stats(page)).cspViolations).toBe(0);
    expect(pageErrors).toEqual([]);
  });
});
