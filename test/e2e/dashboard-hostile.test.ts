/**
 * What devices send is shown as data, whatever it is, and within bounded work: headless Chromium
 * against the real daemon (dist/, a process of its own) with MQTT devices on a real Mosquitto,
 * whose payloads anyone allowed to publish on their topics writes. Markup and script in field
 * names, string values and raw lines never run; `__proto__` is a field like any other; long
 * strings are clipped (DASHBOARD_VALUE_CHARACTERS, DASHBOARD_LINE_CHARACTERS) and wrap inside
 * the card; a device with thousands of fields gets DASHBOARD_FIELDS of them in the detailed view.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import mqtt from 'mqtt';
import { type Browser, type Page } from 'playwright-core';
import { launchChromium } from '../helpers/chromium.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_FIELDS, DASHBOARD_LINE_CHARACTERS, DASHBOARD_VALUE_CHARACTERS } from '../../src/bounds.js';
import { openPty, type Pty } from '../../firmware-mock/pty.js';
import { uniqueLink } from '../helpers/mock.js';
import { freePort, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { Daemon, ensureBuilt } from '../integration/daemon/daemon-helpers.js';

type Hook = { __sg: { stats(): Record<string, number> } };

const XSS = ['<img src=x onerror="window.__pwned=1">', '"><svg onload="window.__pwned=2">', '</pre><script>window.__pwned=3</script>'];
const LONG = 'A'.repeat(30_000);

let broker: Mosquitto;
let daemon: Daemon;
let browser: Browser;
let pub: mqtt.MqttClient;
let url = '';
let dir = '';
/** a serial device that answers every command with a line of REPLY_LENGTH characters */
let chatty: Pty;
const REPLY_LENGTH = 3_000;
const OPERATOR = 'e2e-hostile-operator-0123456789';

beforeAll(async () => {
  await ensureBuilt();
  broker = await startMosquitto();
  dir = mkdtempSync(path.join(tmpdir(), 'sg-e2e-hostile-'));
  const link = uniqueLink();
  chatty = await openPty(link, (chunk) => {
    if (chunk.includes(0x0a)) void chatty.write(Buffer.from(`OK ${'W'.repeat(REPLY_LENGTH)}\n`));
  });
  const file = path.join(dir, 'config.yaml');
  writeFileSync(
    file,
    [
      `server: { host: 127.0.0.1, port: ${await freePort()} }`,
      `mqtt: { url: "${broker.url}", federation: { enabled: true } }`,
      `auth: { anonymous: viewer, tokens: [{ token: ${OPERATOR}, role: operator }] }`,
      'devices:',
      '  - id: chatty',
      `    serial: { path: ${link}, baudRate: 115200, maxLineBytes: 4096 }`,
      '    parser: { format: raw }',
      '    commands: { reply: { match: "^OK", timeoutMs: 3000 } }',
      '  - id: evil',
      '    mqtt: { topic: "evil/#" }',
      '    parser: { format: json, onError: raw }',
      '  - id: wide',
      '    mqtt: { topic: "wide/#" }',
      '    parser: { format: json }',
    ].join('\n'),
  );
  daemon = Daemon.start(['run', '--config', file]);
  url = await daemon.ready();
  pub = await mqtt.connectAsync(broker.url);
  browser = await launchChromium();
}, 200_000);

afterAll(async () => {
  await browser?.close();
  await pub?.endAsync();
  await daemon?.stop();
  await chatty?.close();
  await broker?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function open(query: string, width = 1280): Promise<{ page: Page; errors: string[] }> {
  const page = await (await browser.newContext({ viewport: { width, height: 800 } })).newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${url}/${query}`);
  await page.waitForSelector('[data-testid="conn-state"][data-state="open"]', { timeout: 10_000 });
  return { page, errors };
}

/** the hostile messages, published while the page is open (and once before, for the snapshot) */
async function publishEvil(): Promise<void> {
  await pub.publishAsync(
    'evil/a',
    JSON.stringify({ [XSS[0]!]: 1, [XSS[1]!]: XSS[2], __proto__x: 2, long: LONG, bidi: '\u202e\u2066x', zw: 'a\u200bb' }),
  );
  await pub.publishAsync('evil/a', '{"__proto__": 42, "constructor": 7}');
  // not JSON: forwarded as raw with the parse error
  await pub.publishAsync('evil/a', `not json ${XSS.join(' ')} ${LONG}`);
}

describe('hostile device content in the dashboard', () => {
  it("another gateway's offline reason (up to 1,024 characters of one word) neither widens the overview nor fills its head", async () => {
    const fleet = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
    try {
      const status = (body: object) =>
        fleet.publishAsync('serialgate/other/status', JSON.stringify({ instance: 'i1', ...body }), { retain: true, qos: 1 });
      await status({ state: 'online', version: '1', devices: [{ id: 'd1', source: 'serial' }] });
      const { page, errors } = await open('', 390);
      await page.getByTestId('presence-other').waitFor({ timeout: 10_000 });
      await status({ state: 'offline', reason: 'R'.repeat(1_000) });
      await page.waitForFunction(() => document.querySelector('[data-testid="presence-other"]')?.textContent?.startsWith('offline'), null, {
        timeout: 10_000,
      });
      expect(await page.getByTestId('presence-other').textContent()).toBe(`offline: ${'R'.repeat(DASHBOARD_VALUE_CHARACTERS)}… (+800 characters)`);
      expect(await page.getByTestId('presence-other').getAttribute('title')).toBe('R'.repeat(1_000));
      expect(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBe(0);
      expect(errors).toEqual([]);
      await page.context().close();
    } finally {
      await fleet.publishAsync('serialgate/other/status', '', { retain: true, qos: 1 });
      await fleet.endAsync();
    }
  }, 60_000);

  it('markup in field names, values and raw lines is text; long strings are clipped and wrap; nothing overflows', async () => {
    await publishEvil();
    for (const [query, width] of [
      ['?device=evil', 1280],
      ['?device=evil&protocol=json', 390],
      ['', 1280],
    ] as const) {
      const { page, errors } = await open(query, width);
      await publishEvil();
      if (query.includes('device')) {
        await page.waitForFunction(() => document.querySelector('[data-testid="console-evil"]')?.textContent?.includes('not json'), null, {
          timeout: 10_000,
        });
        await page.waitForSelector('[data-testid="value-evil-__proto__"]', { timeout: 5_000 });
        expect(await page.getByTestId('value-evil-__proto__').textContent()).toBe('42');
        const long = (await page.getByTestId('value-evil-long').textContent())!;
        expect(long).toBe(`${'A'.repeat(DASHBOARD_VALUE_CHARACTERS)}… (+${LONG.length - DASHBOARD_VALUE_CHARACTERS} characters)`);
        expect(await page.getByTestId(`value-evil-${XSS[1]}`).textContent()).toBe(XSS[2]);
        const lines = (await page.getByTestId('console-evil').textContent())!.split('\n');
        expect(lines.some((l) => l.includes(XSS[0]!))).toBe(true);
        // a line: the time, the text up to the bound, how much more there was, the parse error
        const longest = Math.max(...lines.map((l) => l.length));
        expect(longest).toBeLessThan(DASHBOARD_LINE_CHARACTERS + 200);
        expect(lines.some((l) => l.includes('… (+'))).toBe(true);
      } else {
        await page.getByTestId(`tile-value-evil-${XSS[0]}`).waitFor({ timeout: 10_000 });
      }
      const seen = await page.evaluate(() => ({
        pwned: (window as unknown as { __pwned?: number }).__pwned,
        injected: document.querySelectorAll('img, script:not([src]), svg:not(.spark)').length,
        overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
        csp: (window as unknown as Hook).__sg.stats().cspViolations,
      }));
      expect(seen).toEqual({ pwned: undefined, injected: 0, overflow: 0, csp: 0 });
      expect(errors).toEqual([]);
      await page.context().close();
    }
  }, 90_000);

  it("a device's long reply to a command is clipped in the result and the console, and wraps", async () => {
    const ctx = await browser.newContext({ viewport: { width: 390, height: 844 } });
    await ctx.addInitScript((token) => sessionStorage.setItem('serialgate.token', token), OPERATOR);
    const page = await ctx.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${url}/?device=chatty`);
    await page.waitForSelector('[data-testid="conn-state"][data-state="open"]', { timeout: 10_000 });
    await page.getByTestId('cmd-ping-chatty').click();
    await page.waitForSelector('[data-testid="cmd-result-chatty"][data-status="ok"]', { timeout: 10_000 });
    const more = REPLY_LENGTH + 3 - DASHBOARD_VALUE_CHARACTERS;
    expect(await page.getByTestId('cmd-result-chatty').textContent()).toBe(`OK ${'W'.repeat(DASHBOARD_VALUE_CHARACTERS - 3)}… (+${more} characters)`);
    await page.waitForFunction(() => document.querySelector('[data-testid="console-chatty"]')?.textContent?.includes('< OK'), null, {
      timeout: 5_000,
    });
    const lines = (await page.getByTestId('console-chatty').textContent())!.split('\n');
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThan(DASHBOARD_LINE_CHARACTERS + 50);
    expect(await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)).toBe(0);
    expect(errors).toEqual([]);
    await ctx.close();
  }, 60_000);

  it(`a device with 2,000 fields: the detailed view shows ${DASHBOARD_FIELDS} of them and says how many it leaves out`, async () => {
    const wide = (prefix: string) => JSON.stringify(Object.fromEntries(Array.from({ length: 2_000 }, (_, i) => [`${prefix}${i}`, i + 0.5])));
    await pub.publishAsync('wide/a', wide('f'));
    const { page, errors } = await open('?device=wide');
    await page.waitForSelector('[data-testid="chart-wide-f0"] canvas', { timeout: 10_000 });
    // names that change with every message add nothing
    await pub.publishAsync('wide/a', wide('g'));
    await page.waitForFunction(() => document.querySelector('[data-testid="omitted-wide"]')?.textContent?.startsWith('2000 more fields'), null, {
      timeout: 10_000,
    });
    await pub.publishAsync('wide/a', wide('f'));
    await page.waitForFunction(() => document.querySelector('[data-testid="omitted-wide"]')?.textContent?.startsWith('1968 more fields'), null, {
      timeout: 10_000,
    });
    expect(await page.locator('[data-testid^="chart-wide-"]').count()).toBe(DASHBOARD_FIELDS);
    expect(await page.locator('[data-testid="values-wide"] dd').count()).toBe(DASHBOARD_FIELDS);
    expect(await page.locator('[data-testid^="chart-wide-g"]').count()).toBe(0);
    expect(errors).toEqual([]);
    await page.context().close();
  }, 60_000);
});
