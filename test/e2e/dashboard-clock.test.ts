/**
 * A gateway whose clock is 2 h behind the browser's (a Raspberry Pi without a real-time clock on a
 * LAN without NTP boots at its last shutdown time), in headless Chromium against the real daemon
 * (dist/, its clock shifted by test/helpers/skewed-clock.mjs) and the firmware mock on a PTY:
 * readings' `ts` and history ranges are in the gateway's clock, so the page measures ages and
 * silence and asks for history in it, not in its own.
 */
import { fileURLToPath } from 'node:url';
import { type Browser } from 'playwright-core';
import { launchChromium } from '../helpers/chromium.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startMock, type MockDevice } from '../../firmware-mock/index.js';
import { untilDrawn } from '../helpers/chart.js';
import { uniqueLink } from '../helpers/mock.js';
import { freePort } from '../helpers/mosquitto.js';
import { Daemon, ensureBuilt } from '../integration/daemon/daemon-helpers.js';

const SKEW_MS = -2 * 3_600_000;
const preload = fileURLToPath(new URL('../helpers/skewed-clock.mjs', import.meta.url));

type Hook = { __sg: { stats(): Record<string, number>; chartX(d: string, m: string): number[] } };

let mock: MockDevice;
let daemon: Daemon;
let browser: Browser;
let url = '';
let dir = '';

beforeAll(async () => {
  await ensureBuilt();
  // readings further apart than the chart's 250 ms buckets at 5 min: each is a point of its own
  mock = await startMock({ link: uniqueLink(), format: 'kv', intervalMs: 500 });
  dir = mkdtempSync(path.join(tmpdir(), 'sg-e2e-clock-'));
  const file = path.join(dir, 'config.yaml');
  writeFileSync(
    file,
    [
      `server: { host: 127.0.0.1, port: ${await freePort()} }`,
      'devices:',
      '  - id: mock1',
      `    serial: { path: ${mock.link}, baudRate: 115200 }`,
      '    parser: { format: kv }',
    ].join('\n'),
  );
  daemon = Daemon.start(['run', '--config', file], { SG_TEST_CLOCK_SKEW_MS: String(SKEW_MS) }, ['--import', preload]);
  url = await daemon.ready();
  browser = await launchChromium();
}, 200_000);

afterAll(async () => {
  await browser?.close();
  await daemon?.stop();
  await mock?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a gateway whose clock is 2 h behind the browser', () => {
  it('its devices are not flagged silent or aged 2 h, and the chart opens with the history recorded before the page', async () => {
    // some history first, in the gateway's clock
    await new Promise((r) => setTimeout(r, 6_000));
    const res = await fetch(`${url}/history.json?device=mock1&maxPoints=10000`);
    const h = (await res.json()) as { points: { ts: number }[] };
    expect(h.points.length).toBeGreaterThan(5);
    expect(Math.abs(h.points.at(-1)!.ts - (Date.now() + SKEW_MS))).toBeLessThan(60_000);
    const recorded = h.points.map((p) => p.ts / 1000);

    const page = await (await browser.newContext({ viewport: { width: 1100, height: 900 } })).newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${url}/`);
    await page.waitForSelector('[data-testid="conn-state"][data-state="open"]', { timeout: 10_000 });
    // the sparklines' history seeds the device's pace: with it, a device quiet for longer would be flagged
    await page.waitForFunction(() => (window as unknown as Hook).__sg.stats().sparkHistories >= 1, null, { timeout: 10_000 });
    await page.waitForSelector('[data-testid="tile-mock1"][data-silent-after]', { timeout: 10_000 });
    await page.waitForTimeout(1_500);
    const tile = page.getByTestId('tile-mock1');
    expect(await tile.getAttribute('data-flag')).toBeNull();
    expect(await page.getByTestId('tile-state-mock1').textContent()).toBe('up');
    expect(await page.getByTestId('tile-age-mock1').textContent()).toMatch(/^[0-2] s$/);

    await page.goto(`${url}/?device=mock1`);
    await page.waitForSelector('[data-testid="conn-state"][data-state="open"]', { timeout: 10_000 });
    await page.waitForFunction(() => (window as unknown as Hook).__sg.stats().histories >= 1, null, { timeout: 10_000 });
    await untilDrawn(page, recorded);
    const shown = new Set(await page.evaluate(() => (window as unknown as Hook).__sg.chartX('mock1', 'temp')));
    expect(recorded.filter((x) => !shown.has(x))).toEqual([]);
    await page.waitForFunction(() => document.querySelector('[data-testid="device-age-mock1"]')?.textContent !== 'no readings yet', null, {
      timeout: 5_000,
    });
    expect(await page.getByTestId('device-age-mock1').textContent()).toMatch(/^[0-2] s ago$/);
    expect(errors).toEqual([]);
    await page.context().close();
  }, 60_000);
});
