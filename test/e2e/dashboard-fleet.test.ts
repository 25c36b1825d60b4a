/**
 * The overview of a fleet in headless Chromium (issue 15): 50 devices on two real gateway processes
 * (dist/src/cli.cjs) federated through a real Mosquitto — on each, 5 firmware mocks on real PTYs and
 * 20 MQTT devices fed by a test publisher through the same broker. The dashboard is connected to
 * `lab`; `greenhouse`'s devices reach it through the fleet. One set of gateways for every case
 * (they run in order). Writes test-results/overview-laptop.png and overview-phone.png (the README's
 * web/screenshot-overview.png and web/screenshot-phone.png are copies of these).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { type Browser, type BrowserContext, type Page } from 'playwright-core';
import { launchChromium } from '../helpers/chromium.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMock, type MockDevice } from '../../firmware-mock/index.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { Daemon, ensureBuilt, ROOT } from '../integration/daemon/daemon-helpers.js';

const OPERATOR = 'fleet-e2e-operator-0123456789';
const VIEWER = 'fleet-e2e-viewer-0123456789ab';
const SERIAL = 5;
const MQTT_DEVICES = 20;
const GATEWAYS = [
  { id: 'lab', serial: 'bench', mqtt: 'rack', fields: ['temp', 'power', 'fan'] },
  { id: 'greenhouse', serial: 'climate', mqtt: 'soil', fields: ['moisture', 'temp', 'light'] },
] as const;

let broker: Mosquitto;
let publisher: mqtt.MqttClient;
let publishTimer: NodeJS.Timeout | undefined;
/** MQTT devices the publisher leaves out (a sensor gone quiet) */
const quiet = new Set<string>();
const mocks = new Map<string, MockDevice>();
const daemons: Daemon[] = [];
let url = '';
let browser: Browser;
const contexts: BrowserContext[] = [];
let page: Page;
const pageErrors: string[] = [];
const dir = mkdtempSync(path.join(tmpdir(), 'sg-e2e-fleet-'));
const results = path.join(ROOT, 'test-results');

const pad = (n: number) => String(n).padStart(2, '0');

function config(g: (typeof GATEWAYS)[number], links: string[]): string {
  const lines = [
    `gateway: { id: ${g.id} }`,
    'server: { host: 127.0.0.1, port: 0 }',
    `auth: { anonymous: none, tokens: [{ token: ${OPERATOR}, role: operator }, { token: ${VIEWER}, role: viewer }] }`,
    'log: { level: info }',
    `mqtt: { url: "${broker.url}", keepaliveSeconds: 2, reconnect: { minMs: 200, maxMs: 500 }, federation: { enabled: true, prefix: fleet } }`,
    'devices:',
  ];
  links.forEach((link, i) =>
    lines.push(
      `  - id: ${g.serial}-${i + 1}`,
      `    serial: { path: ${link}, baudRate: 115200, reconnect: { minMs: 50, maxMs: 200 } }`,
      '    parser: { format: kv }',
      '    commands: { reply: { match: "^(OK|ERR|PONG)", timeoutMs: 1500 } }',
    ),
  );
  for (let i = 1; i <= MQTT_DEVICES; i++)
    lines.push(`  - id: ${g.mqtt}-${pad(i)}`, `    mqtt: { topic: "site/${g.id}/${g.mqtt}-${pad(i)}", payload: json }`);
  return lines.join('\n');
}

/** each MQTT device a random walk of its own, once a second */
function startPublishing(): void {
  const walk = new Map<string, number[]>();
  const tick = () => {
    for (const g of GATEWAYS) {
      for (let i = 1; i <= MQTT_DEVICES; i++) {
        const id = `${g.mqtt}-${pad(i)}`;
        if (quiet.has(id)) continue;
        const base = [40 + i, 18 + i / 4, 300 + 20 * i];
        const w = walk.get(id) ?? base;
        const next = w.map((v, k) => v + (Math.random() - 0.5) * (k === 2 ? 20 : 1) + (base[k]! - v) * 0.05);
        walk.set(id, next);
        const [a, b, c] = next.map((v) => Math.round(v * 10) / 10) as [number, number, number];
        publisher.publish(`site/${g.id}/${id}`, JSON.stringify({ [g.fields[0]]: a, [g.fields[1]]: b, [g.fields[2]]: c }));
      }
    }
  };
  tick();
  publishTimer = setInterval(tick, 1_000);
}

async function newPage(token: string, viewport = { width: 1280, height: 800 }): Promise<Page> {
  const ctx = await browser.newContext({ viewport });
  contexts.push(ctx);
  // the token the prompt would keep for this tab
  await ctx.addInitScript((t) => {
    if (location.protocol === 'http:') sessionStorage.setItem('serialgate.token', t);
  }, token);
  const p = await ctx.newPage();
  p.on('pageerror', (e) => pageErrors.push(e.message));
  p.on('console', (m) => {
    if (m.type() === 'error' && !m.text().includes('WebSocket connection')) pageErrors.push(m.text());
  });
  return p;
}

const tile = (p: Page, id: string) => p.getByTestId(`tile-${id}`);
const visibleTiles = (p: Page) => p.locator('a.tile:visible').count();
const noOverflow = (p: Page) => p.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth);

beforeAll(async () => {
  await ensureBuilt();
  broker = await startMosquitto();
  publisher = await mqtt.connectAsync(broker.url);
  for (const g of GATEWAYS) {
    const links: string[] = [];
    for (let i = 1; i <= SERIAL; i++) {
      const link = path.join(dir, `${g.serial}-${i}`);
      mocks.set(`${g.id}/${g.serial}-${i}`, await startMock({ link, format: 'kv', intervalMs: 500 }));
      links.push(link);
    }
    const file = path.join(dir, `${g.id}.yaml`);
    writeFileSync(file, config(g, links));
    daemons.push(Daemon.start(['run', '--config', file]));
  }
  const [lab] = await Promise.all(daemons.map((d) => d.ready()));
  url = lab!;
  startPublishing();
  browser = await launchChromium();
  page = await newPage(OPERATOR);
  mkdirSync(results, { recursive: true });
}, 120_000);

afterAll(async () => {
  clearInterval(publishTimer);
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  for (const d of daemons) await d.stop();
  for (const m of mocks.values()) await m.stop();
  await publisher?.endAsync(true);
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('dashboard overview of a fleet of 50 devices', () => {
  it('shows 50 tiles grouped by gateway (this one first), each gateway online, values and sparklines', async () => {
    await page.goto(`${url}/`);
    await page.waitForSelector('[data-testid="conn-state"][data-state="open"]', { timeout: 10_000 });
    await page.waitForFunction(() => document.querySelectorAll('a.tile[data-state="up"]').length === 50, null, { timeout: 20_000 });
    const groups = await page
      .locator('section.group')
      .evaluateAll((els) => els.map((e) => [(e as HTMLElement).dataset.gateway, e.querySelectorAll('a.tile').length]));
    expect(groups).toEqual([
      ['lab', 25],
      ['greenhouse', 25],
    ]);
    expect(await page.getByTestId('presence-lab').textContent()).toBe('online · this gateway');
    expect(await page.getByTestId('presence-greenhouse').textContent()).toBe('online');
    expect(await page.getByTestId('summary').textContent()).toBe('50 devices');
    // remote tiles carry the owner's name in the group, not on the tile
    expect(await tile(page, 'greenhouse/soil-07').locator('.t-name').textContent()).toBe('soil-07');
    await page.waitForFunction(
      () =>
        Array.from(document.querySelectorAll('.spark polyline')).filter((l) => (l.getAttribute('points') ?? '').split(' ').length >= 2).length >= 100,
      null,
      { timeout: 15_000 },
    );
    expect(await tile(page, 'greenhouse/climate-1').getByTestId('tile-value-greenhouse/climate-1-temp').textContent()).toMatch(/^-?\d+(\.\d+)?$/);
  }, 60_000);

  it('a device unplugged on the other gateway turns its tile down within 2 s; replugged, up again', async () => {
    const mock = mocks.get('greenhouse/climate-2')!;
    await mock.unplug();
    await page.waitForSelector('[data-testid="tile-greenhouse/climate-2"][data-state="down"]', { timeout: 2_000 });
    expect(await page.getByTestId('group-count-greenhouse').textContent()).toBe('25 devices · 1 down');
    expect(await page.getByTestId('summary').textContent()).toBe('50 devices · 1 down');
    await mock.replug();
    await page.waitForSelector('[data-testid="tile-greenhouse/climate-2"][data-state="up"]', { timeout: 10_000 });
  });

  it('flags a device silent for longer than it usually is', async () => {
    // this gateway's own devices keep their plain ids; the other gateway's are <gateway>/<device>
    // a device is flagged only once its pace is known (three intervals): these gateways keep no
    // history to learn it from, so wait for the live readings to have told it
    await page.waitForSelector('[data-testid="tile-rack-20"][data-silent-after]', { timeout: 10_000 });
    quiet.add('rack-20');
    await page.waitForSelector('[data-testid="tile-rack-20"][data-flag="silent"]', { timeout: 15_000 });
    expect(await tile(page, 'rack-20').getAttribute('data-state')).toBe('up');
    expect(await page.locator('a.tile[data-flag="silent"]').count()).toBe(1);
    expect(await page.getByTestId('summary').textContent()).toBe('50 devices · 1 silent');
    quiet.delete('rack-20');
    await page.waitForSelector('[data-testid="tile-rack-20"]:not([data-flag])', { timeout: 5_000 });
  }, 20_000);

  it('the filter narrows the tiles (name, gateway, state) and hides groups it leaves empty', async () => {
    const filter = page.getByTestId('filter');
    await filter.fill('soil-0');
    expect(await visibleTiles(page)).toBe(9);
    expect(await page.getByTestId('group-lab').isHidden()).toBe(true);
    await filter.fill('lab bench');
    expect(await visibleTiles(page)).toBe(5);
    expect(await page.getByTestId('summary').textContent()).toBe('5 of 50 devices');
    await filter.fill('greenhouse');
    expect(await visibleTiles(page)).toBe(25);
    expect(new URL(page.url()).searchParams.get('q')).toBe('greenhouse');
    await filter.fill('');
    expect(await visibleTiles(page)).toBe(50);
  });

  it('every control has an accessible name, and the overview fits 1280×800 without horizontal overflow', async () => {
    const snapshot = await page.locator('body').ariaSnapshot();
    expect(snapshot).toContain('searchbox "Filter devices"');
    expect(snapshot).toMatch(/link "bench-1 up/);
    const unnamed = snapshot.split('\n').filter((l) => /^\s*- (button|link|textbox|searchbox|combobox|checkbox)\s*(\[.*\])?:?\s*$/.test(l));
    expect(unnamed).toEqual([]);
    expect(await noOverflow(page)).toBe(true);
    // 50 tiles in at most two screens
    const height = await page.evaluate(() => document.documentElement.scrollHeight);
    expect(height).toBeLessThanOrEqual(2 * 800);
    await page.waitForTimeout(1_000);
    await page.screenshot({ path: path.join(results, 'overview-laptop.png') });
  });

  it('a tile opens the detailed view (click and keyboard); the URL names the device, round-trips in a fresh page, and back returns', async () => {
    await tile(page, 'greenhouse/soil-03').click();
    await page.getByTestId('device-greenhouse/soil-03').waitFor({ timeout: 5_000 });
    expect(new URL(page.url()).searchParams.get('device')).toBe('greenhouse/soil-03');
    expect(await page.getByTestId('overview').isHidden()).toBe(true);
    await page.waitForSelector('[data-testid="chart-greenhouse/soil-03-moisture"] canvas', { timeout: 5_000 });
    await page.goBack();
    await page.getByTestId('overview').waitFor({ state: 'visible' });
    expect(new URL(page.url()).searchParams.get('device')).toBeNull();
    // the keyboard: the tile that was open has the focus, Enter opens the one focused
    expect(await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.device)).toBe('greenhouse/soil-03');
    await tile(page, 'bench-2').focus();
    await page.keyboard.press('Enter');
    await page.getByTestId('device-bench-2').waitFor({ timeout: 5_000 });
    const address = page.url();

    const fresh = await newPage(OPERATOR);
    await fresh.goto(address);
    await fresh.getByTestId('device-bench-2').waitFor({ timeout: 10_000 });
    await fresh.waitForSelector('[data-testid="device-state-bench-2"]:text("up")', { timeout: 10_000 });
    expect(await fresh.getByTestId('overview').isHidden()).toBe(true);
    await fresh.getByTestId('back').click();
    await fresh.getByTestId('overview').waitFor({ state: 'visible' });
    expect(await visibleTiles(fresh)).toBe(50);
  }, 40_000);

  it("an operator's command row names the gateway that executes it; a remote device's command runs on its owner", async () => {
    await page.goto(`${url}/?device=${encodeURIComponent('greenhouse/climate-3')}`);
    const where = page.getByTestId('cmd-gateway-greenhouse/climate-3');
    await where.waitFor({ timeout: 10_000 });
    expect(await where.getAttribute('data-gateway')).toBe('greenhouse');
    expect(await where.textContent()).toBe('Commands run on gateway greenhouse, relayed by the fleet broker');
    await page.getByTestId('cmd-ping-greenhouse/climate-3').click();
    await page.waitForSelector('[data-testid="cmd-result-greenhouse/climate-3"][data-status="ok"]', { timeout: 5_000 });
    expect(await page.getByTestId('cmd-result-greenhouse/climate-3').textContent()).toBe('PONG');
    expect(mocks.get('greenhouse/climate-3')!.commands).toEqual(['PING']);
    await page.goto(`${url}/?device=bench-1`);
    await page.getByTestId('cmd-gateway-bench-1').waitFor({ timeout: 10_000 });
    expect(await page.getByTestId('cmd-gateway-bench-1').textContent()).toBe('Commands run on gateway lab (this one)');
  });

  it('a viewer sees no command controls, in the overview or the detailed view', async () => {
    const v = await newPage(VIEWER);
    await v.goto(`${url}/?device=${encodeURIComponent('greenhouse/climate-3')}`);
    await v.waitForSelector('[data-testid="role"]:text("viewer")', { timeout: 10_000 });
    await v.waitForSelector('[data-testid="device-state-greenhouse/climate-3"]:text("up")', { timeout: 10_000 });
    expect(await v.locator('[data-testid^="cmd-"]').count()).toBe(0);
    expect(await v.locator('form.command, .device button, .device input').count()).toBe(0);
    await v.goBack().catch(() => undefined);
    await v.goto(`${url}/`);
    await v.waitForFunction(() => document.querySelectorAll('a.tile').length === 50, null, { timeout: 10_000 });
    expect(await v.locator('main button').count()).toBe(0);
  });

  it('fits a phone (390×844) as a readable list without horizontal overflow', async () => {
    const phone = await newPage(OPERATOR, { width: 390, height: 844 });
    await phone.goto(`${url}/`);
    await phone.waitForFunction(() => document.querySelectorAll('a.tile[data-state="up"]').length === 50, null, { timeout: 15_000 });
    // one column of full-width tiles
    const lefts = await phone.locator('a.tile').evaluateAll((els) => new Set(els.map((e) => Math.round(e.getBoundingClientRect().left))).size);
    expect(lefts).toBe(1);
    expect(await noOverflow(phone)).toBe(true);
    await phone.waitForTimeout(1_500);
    await phone.screenshot({ path: path.join(results, 'overview-phone.png') });
    await tile(phone, 'greenhouse/soil-01').click();
    await phone.waitForSelector('[data-testid="chart-greenhouse/soil-01-moisture"] canvas', { timeout: 5_000 });
    expect(await noOverflow(phone)).toBe(true);
    await phone.screenshot({ path: path.join(results, 'detail-phone.png') });
  }, 30_000);

  // last: it ends the other gateway
  it('the other gateway killed (kill -9): its group head says offline and its tiles turn down', async () => {
    await page.goto(`${url}/`);
    await page.waitForFunction(() => document.querySelectorAll('a.tile[data-state="up"]').length >= 49, null, { timeout: 15_000 });
    expect(await page.getByTestId('presence-greenhouse').textContent()).toBe('online');
    await daemons[1]!.stop();
    // the broker publishes its last will when the TCP connection drops
    await page.waitForSelector('[data-testid="presence-greenhouse"]:text-matches("^offline")', { timeout: 10_000 });
    await page.waitForFunction(() => document.querySelectorAll('[data-gateway="greenhouse"] a.tile[data-state="down"]').length === 25, null, {
      timeout: 10_000,
    });
    expect(await page.getByTestId('presence-lab').textContent()).toBe('online · this gateway');
    expect(await page.locator('[data-gateway="lab"] a.tile[data-state="down"]').count()).toBe(0);
  }, 40_000);

  it('caused no page error', () => {
    expect(pageErrors).toEqual([]);
  });
});
