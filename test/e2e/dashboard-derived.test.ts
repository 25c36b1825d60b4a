/**
 * Devices that appear only through their readings (MQTT `idFromTopicSegment`: `fleet/+` sends its
 * readings as `fleet-<segment>`) on the overview, in headless Chromium against the real daemon
 * (dist/, its own process, history in memory) and a real Mosquitto fed by a test publisher: the
 * counts agree with the tiles, a derived device's sparklines come from the gateway's history (it
 * went quiet before the page opened: its last value alone would be one point), it has the state of
 * the device it comes from, and that device's tile says where its readings go.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { type Browser, type Page } from 'playwright-core';
import { launchChromium } from '../helpers/chromium.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { Daemon, ensureBuilt, until } from '../integration/daemon/daemon-helpers.js';

const DERIVED = 40;
const pad = (n: number) => String(n).padStart(2, '0');

let broker: Mosquitto;
let publisher: mqtt.MqttClient;
let daemon: Daemon;
let browser: Browser;
let url = '';
const dir = mkdtempSync(path.join(tmpdir(), 'sg-e2e-derived-'));
const pageErrors: string[] = [];

type Hook = { __sg: { stats(): Record<string, number> } };
const stats = (p: Page) => p.evaluate(() => (window as unknown as Hook).__sg.stats());
const sparkPoints = (p: Page, id: string) =>
  p.evaluate((id) => {
    const pl = document.querySelector(`a.tile[data-device="${id}"] polyline`);
    return pl ? (pl.getAttribute('points') ?? '').trim().split(/\s+/).filter(Boolean).length : 0;
  }, id);

beforeAll(async () => {
  await ensureBuilt();
  broker = await startMosquitto();
  const file = path.join(dir, 'config.yaml');
  writeFileSync(
    file,
    [
      'gateway: { id: lab }',
      'server: { host: 127.0.0.1, port: 0 }',
      'auth: { anonymous: viewer }',
      'log: { level: info }',
      `mqtt: { url: "${broker.url}", reconnect: { minMs: 200, maxMs: 500 } }`,
      'devices:',
      '  - id: fleet',
      '    mqtt: { topic: "fl/+", idFromTopicSegment: 1 }',
      '    parser: { format: json }',
      '  - id: plain',
      '    mqtt: { topic: "plain" }',
      '    parser: { format: json }',
    ].join('\n'),
  );
  daemon = Daemon.start(['run', '--config', file]);
  url = await daemon.ready();
  publisher = await mqtt.connectAsync(broker.url);
  // 16 s of history, 4 readings a second each: more than three 5 s sparkline points; then quiet
  for (let n = 0; n < 64; n++) {
    for (let i = 0; i < DERIVED; i++) publisher.publish(`fl/dev${pad(i)}`, JSON.stringify({ t: 20 + i + Math.sin(n / 5), n }));
    publisher.publish('plain', JSON.stringify({ t: n }));
    await new Promise((r) => setTimeout(r, 250));
  }
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await daemon?.stop();
  await publisher?.endAsync(true);
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('overview of devices derived from an MQTT topic, in Chromium', () => {
  it('counts agree with the tiles; a derived device gets its history, its parent state, and a late one too', async () => {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(`${url}/`);
    await page.waitForSelector('[data-testid="conn-state"][data-state="open"]', { timeout: 10_000 });
    const total = DERIVED + 2;
    await until('every tile', async () => (await page.locator('a.tile').count()) === total, 10_000);
    // every tile asked for its history (the derived ones when their last value came), paced
    await until('the sparkline histories', async () => (await stats(page)).sparkHistories >= total, 15_000);
    // "42 devices · 41 silent": every derived device went quiet before the page opened, and plain too
    const summary = () => page.textContent('#summary').then((t) => t!.split(' · ')[0]);
    await expect.poll(summary).toBe(`${total} devices`);
    expect(await page.getByTestId('group-count-lab').textContent()).toBe(`${total} devices`);
    await page.getByTestId('filter').fill('dev0');
    await expect.poll(summary).toBe(`10 of ${total} devices`);
    await page.getByTestId('filter').fill('');

    // quiet since before the page opened: the last value is one point, the history several
    await expect.poll(() => sparkPoints(page, 'fleet-dev07'), { timeout: 5_000 }).toBeGreaterThanOrEqual(3);
    // the state is the configured device's, so a quiet derived device is flagged like any other
    expect(await page.getByTestId('tile-fleet-dev07').getAttribute('data-state')).toBe('up');
    await expect.poll(() => page.getByTestId('tile-fleet-dev07').getAttribute('data-flag'), { timeout: 5_000 }).toBe('silent');
    expect(await page.getByTestId('tile-derived-fleet').textContent()).toBe(`readings as ${DERIVED} devices fleet-…`);

    // one that first reports after the page opened: a tile, counted, and its history asked for
    const before = (await stats(page)).sparkHistories;
    publisher.publish('fl/late', JSON.stringify({ t: 1 }));
    await page.getByTestId('tile-fleet-late').waitFor({ timeout: 5_000 });
    await expect.poll(summary).toBe(`${total + 1} devices`);
    await expect.poll(async () => (await stats(page)).sparkHistories, { timeout: 5_000 }).toBe(before + 1);
    expect(await page.getByTestId('tile-derived-fleet').textContent()).toBe(`readings as ${DERIVED + 1} devices fleet-…`);

    // a new session keeps the derived tiles (their parent is still listed) and asks for every history again
    await page.evaluate(() => (window as unknown as { __sg: { client: { reconnect(o: object): void } } }).__sg.client.reconnect({}));
    await until('the second session', async () => (await stats(page)).opens >= 2, 10_000);
    await until('its sparkline histories', async () => (await stats(page)).sparkHistories >= before + 1 + total + 1, 15_000);
    expect(await page.locator('a.tile').count()).toBe(total + 1);
    expect(await sparkPoints(page, 'fleet-dev07')).toBeGreaterThanOrEqual(3);

    // the detailed view of a derived device: no command row, a link to the device that takes its commands
    await page.getByTestId('tile-fleet-dev07').click();
    await expect.poll(() => page.getByTestId('derived-fleet-dev07').textContent()).toContain('fleet');
    await page.getByTestId('derived-fleet-dev07').getByRole('link', { name: 'fleet' }).click();
    await page.getByTestId('device-fleet').waitFor({ timeout: 5_000 });
    expect(new URL(page.url()).searchParams.get('device')).toBe('fleet');
    expect(pageErrors).toEqual([]);
  }, 90_000);
});
