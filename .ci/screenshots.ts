/**
 * The README's dashboard screenshots, from a small fleet that looks like a working one: two real
 * gateways (the built daemon's modules, in this process) federated through a real Mosquitto, each
 * with 5 firmware mocks on PTYs and 20 MQTT devices fed once a second, and five minutes of history
 * written before the page opens (so the sparklines show minutes, not seconds); one device unplugged
 * (down), one gone quiet a minute ago (silent).
 *
 *   npm run build && npm run screenshots
 *
 * writes web/screenshot-overview.png (1280×800), web/screenshot-phone.png (390×844, the overview)
 * and web/screenshot-detail-phone.png (390×844, one device's view). The e2e test
 * (test/e2e/dashboard-fleet.test.ts) takes the same views of a fleet just started.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import mqtt from 'mqtt';
import { chromium, type Page } from 'playwright-core';
import type * as GatewayModule from '../src/gateway.js';
import type * as SchemaModule from '../src/config/schema.js';
import type * as LogModule from '../src/log.js';
import type * as MockModule from '../firmware-mock/index.js';
import { startMosquitto } from '../test/helpers/mosquitto.js';

const root = path.resolve(import.meta.dirname, '..');
const dist = (p: string) => import(pathToFileURL(path.join(root, 'dist', p)).href);
const gw: typeof GatewayModule = await dist('src/gateway.js');
const schema: typeof SchemaModule = await dist('src/config/schema.js');
const log: typeof LogModule = await dist('src/log.js');
const mocks: typeof MockModule = await dist('firmware-mock/index.js');

const GATEWAYS = [
  { id: 'lab', serial: 'bench', mqtt: 'rack', fields: ['temp', 'power', 'fan'], base: [38, 18, 900] },
  { id: 'greenhouse', serial: 'climate', mqtt: 'soil', fields: ['moisture', 'temp', 'light'], base: [42, 19, 600] },
] as const;
const HISTORY_MS = 5 * 60_000;
/**
 * history readings this far apart: 30 in five minutes, so that with the live ones of the next half
 * minute they stay within what a sparkline's history request asks for (60) and come raw
 */
const HISTORY_EVERY_MS = 10_000;
const DOWN = 'greenhouse/climate-4';
const QUIET = 'rack-11';
const pad = (n: number) => String(n).padStart(2, '0');

const dir = mkdtempSync(path.join(tmpdir(), 'sg-screenshots-'));
const broker = await startMosquitto();
const publisher = await mqtt.connectAsync(broker.url);
const started: { stop(): Promise<void> }[] = [];
const gateways: GatewayModule.Gateway[] = [];
const serial = new Map<string, MockModule.MockDevice>();

/** a device's values: a slow wave plus noise around its own level */
function values(g: (typeof GATEWAYS)[number], i: number, t: number): Record<string, number> {
  const out: Record<string, number> = {};
  g.fields.forEach((f, k) => {
    const level = g.base[k]! * (1 + i / 40);
    const wave = Math.sin(t / (40_000 + 7_000 * k + 3_000 * i) + i) * level * 0.04;
    out[f] = Math.round((level + wave + (Math.random() - 0.5) * level * 0.01) * 10) / 10;
  });
  return out;
}

try {
  for (const g of GATEWAYS) {
    const devices: Record<string, unknown>[] = [];
    for (let i = 1; i <= 5; i++) {
      const link = path.join(dir, `${g.id}-${i}`);
      const m = await mocks.startMock({ link, format: 'kv', intervalMs: 1_000 });
      m.setSilent(true); // until the history is written: it is older than their first live line
      started.push(m);
      serial.set(g.id === 'lab' ? `${g.serial}-${i}` : `${g.id}/${g.serial}-${i}`, m);
      devices.push({ id: `${g.serial}-${i}`, serial: { path: link, baudRate: 115200 }, parser: { format: 'kv' } });
    }
    for (let i = 1; i <= 20; i++) devices.push({ id: `${g.mqtt}-${pad(i)}`, mqtt: { topic: `site/${g.id}/${g.mqtt}-${pad(i)}`, payload: 'json' } });
    const config = schema.configSchema.parse({
      gateway: { id: g.id },
      server: { host: '127.0.0.1', port: 0 },
      auth: { anonymous: 'operator' },
      mqtt: { url: broker.url, federation: { enabled: true, prefix: 'fleet' } },
      devices,
    });
    const running = await gw.startGateway(config, log.silentLogger());
    gateways.push(running);
    started.push(running);
  }
  const [lab] = gateways;
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  started.push(browser as unknown as { stop(): Promise<void> });
  const open = async (viewport: { width: number; height: number }, at = '/'): Promise<Page> => {
    const page = await browser.newPage({ viewport });
    await page.goto(`${lab!.url}${at}`);
    await page.waitForFunction(() => document.querySelectorAll('a.tile').length === 50, null, { timeout: 30_000 });
    return page;
  };
  // the fleet is federated once lab lists greenhouse's devices: then history written on greenhouse reaches lab too
  await (await open({ width: 800, height: 600 })).close();

  const now = Date.now();
  for (let t = now - HISTORY_MS; t <= now; t += HISTORY_EVERY_MS) {
    // a step at a time: the fleet forwards greenhouse's to lab, and drops what the broker socket cannot take at once
    await new Promise((r) => setTimeout(r, 30));
    GATEWAYS.forEach((g, n) => {
      const hub = gateways[n]!.hub;
      // the firmware mock's own fields (its count starts again when it prints live: left out)
      for (let i = 1; i <= 5; i++) {
        const w = Math.sin(t / (50_000 + 9_000 * i) + i);
        const temp = Math.round((21.5 + w * 0.6 + (Math.random() - 0.5) * 0.1) * 100) / 100;
        hub.reading({ device: `${g.serial}-${i}`, ts: t, values: { temp, hum: Math.round((45 - w * 2) * 10) / 10 } });
      }
      for (let i = 1; i <= 20; i++) {
        if (g.id === 'lab' && `${g.mqtt}-${pad(i)}` === QUIET && t > now - 60_000) continue;
        hub.reading({ device: `${g.mqtt}-${pad(i)}`, ts: t, values: values(g, i + 5, t) });
      }
    });
  }
  for (const m of serial.values()) m.setSilent(false);
  const publish = () => {
    const t = Date.now();
    for (const g of GATEWAYS) {
      for (let i = 1; i <= 20; i++) {
        const id = `${g.mqtt}-${pad(i)}`;
        if (id !== QUIET) publisher.publish(`site/${g.id}/${id}`, JSON.stringify(values(g, i + 5, t)));
      }
    }
  };
  publish();
  const timer = setInterval(publish, 1_000);
  await serial.get(DOWN)!.unplug();
  await new Promise((r) => setTimeout(r, 3_000));

  const shoot = async (page: Page, file: string) => {
    await page.waitForTimeout(4_000); // sparkline history in, a few live seconds on top
    await page.screenshot({ path: path.join(root, 'web', file) });
    console.log(`web/${file}`);
  };
  await shoot(await open({ width: 1280, height: 800 }), 'screenshot-overview.png');
  await shoot(await open({ width: 390, height: 844 }), 'screenshot-phone.png');
  const detail = await open({ width: 390, height: 844 }, `/?device=${encodeURIComponent('greenhouse/soil-03')}`);
  await shoot(detail, 'screenshot-detail-phone.png');
  clearInterval(timer);
  await browser.close();
  started.pop();
} finally {
  for (const s of started.reverse()) await s.stop().catch(() => undefined);
  await publisher.endAsync(true);
  await broker.stop();
  rmSync(dir, { recursive: true, force: true });
}
