/**
 * SerialSource against the firmware mock on a real PTY, opened with the real serialport binding.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { chmod, rename, rm, symlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { SerialPort } from 'serialport';
import { afterEach, describe, expect, it } from 'vitest';
import { startMock, type MockDevice, type MockOptions } from '../../../firmware-mock/index.js';
import { MIN_INPUT_CHARGE_BYTES } from '../../../src/bounds.js';
import { metrics } from '../../../src/metrics.js';
import { silentLogger } from '../../../src/log.js';
import { explainOpenError, SerialSource } from '../../../src/sources/serial/index.js';
import type { SerialDevice } from '../../../src/sources/serial/serial-device.js';
import { CommandError } from '../../../src/domain.js';
import { RecordingSink, serialDevice, uniqueLink } from '../../helpers/mock.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * Copies package `name` and everything it depends on (as npm laid it out in this checkout's
 * node_modules, nested copies included) into a fresh world-readable directory under /tmp, the
 * one place every user can traverse. Returns that directory.
 */
function copyPackageClosure(name: string): string {
  const root = path.resolve(import.meta.dirname, '../../..');
  const seen = new Set<string>();
  const visit = (from: string, dep: string) => {
    // node's lookup: from's own node_modules, then each parent's
    for (let d = from; d.startsWith(root); d = path.dirname(d)) {
      const dir = path.join(d, 'node_modules', dep);
      if (!existsSync(path.join(dir, 'package.json'))) continue;
      if (seen.has(dir)) return;
      seen.add(dir);
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
      for (const next of Object.keys(pkg.dependencies ?? {})) visit(dir, next);
      return;
    }
    throw new Error(`${dep} (needed from ${from}) is not installed`);
  };
  visit(root, name);
  const dest = mkdtempSync('/tmp/sg-nobody-');
  chmodSync(dest, 0o755); // mkdtemp makes it 0700
  for (const dir of seen) cpSync(dir, path.join(dest, path.relative(root, dir)), { recursive: true });
  return dest;
}

let ids = 0;
interface Setup {
  mock: MockDevice;
  source: SerialSource;
  device: SerialDevice;
  sink: RecordingSink;
  id: string;
}

async function setup(mockOpts: Partial<MockOptions> = {}, dev: Record<string, unknown> = {}): Promise<Setup> {
  const link = uniqueLink();
  const mock = await startMock({ link, format: 'kv', intervalMs: 50, ...mockOpts });
  cleanups.push(() => mock.stop());
  const id = `serial-it-${process.pid}-${++ids}`;
  const cfg = serialDevice(id, {
    serial: { path: link, baudRate: 115200, maxLineBytes: 256, reconnect: { minMs: 100, maxMs: 400 } },
    parser: { format: 'kv' },
    ...dev,
  });
  const sink = new RecordingSink();
  const source = new SerialSource([cfg], sink, silentLogger());
  cleanups.push(() => source.stop());
  await source.start();
  return { mock, source, sink, id, device: source.devices()[0] as SerialDevice };
}

async function counter(c: { get(): Promise<{ values: { labels: Record<string, unknown>; value: number }[] }> }, label: Record<string, string>) {
  const [k, v] = Object.entries(label)[0]!;
  return (await c.get()).values.find((x) => x.labels[k] === v)?.value ?? 0;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const withValues = (s: RecordingSink) => s.readings.filter((r) => r.values !== undefined);

describe('SerialSource on a real PTY', () => {
  it('readings arrive as parsed values, and the device is up', async () => {
    const { sink, id, device } = await setup();
    expect(device.status()).toEqual({ id, source: 'serial', state: 'up' });
    await sink.waitFor('3 readings', () => withValues(sink).length >= 3);
    const r = withValues(sink)[0]!;
    expect(r.device).toBe(id);
    expect(Math.abs(r.ts - Date.now())).toBeLessThan(5_000);
    expect(Object.keys(r.values!)).toEqual(['temp', 'hum', 'count']);
    expect(typeof r.values!['temp']).toBe('number');
    // the source reports its state to the sink and nowhere else: serialgate_device_up is the hub's
    expect((await metrics.deviceUp.get()).values.some((v) => v.labels.device === id)).toBe(false);
    expect(await counter(metrics.readings, { device: id })).toBeGreaterThanOrEqual(3);
  });

  it('unplug → down within 2 s; replug → up and readings again within the backoff bound', async () => {
    const { mock, sink, id, device } = await setup();
    await sink.waitFor('a reading', () => withValues(sink).length > 0);
    const t0 = Date.now();
    await mock.unplug();
    await sink.waitFor('down', () => device.status().state === 'down', 2_000);
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(sink.lastState(id)?.reason).toMatch(/disconnected|disappeared|I\/O error/);
    await expect(device.command({ line: 'PING' })).rejects.toMatchObject({ code: 'device_unavailable' });

    expect(await counter(metrics.reconnects, { source: id })).toBeGreaterThanOrEqual(1);
    await mock.replug();
    const t1 = Date.now();
    // backoff maxMs 400 = 400 ms per retry at most (a hard cap), plus the open itself
    await sink.waitFor('up again', () => device.status().state === 'up', 2_000);
    const n = withValues(sink).length;
    await sink.waitFor('readings again', () => withValues(sink).length > n + 2, 2_000);
    expect(Date.now() - t1).toBeLessThan(3_000);
    // down may be announced more than once while the reason changes (disconnected → no such device)
    const transitions = sink.states.map((s) => s.state).filter((s, i, a) => s !== a[i - 1]);
    expect(transitions).toEqual(['up', 'down', 'up']);
  });

  it('a link that vanishes while the PTY stays open is noticed by the path watch', async () => {
    const { mock, sink, id, device } = await setup();
    const t0 = Date.now();
    await rm(mock.link);
    await sink.waitFor('down', () => device.status().state === 'down', 2_000);
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(sink.lastState(id)?.reason).toBe(`${mock.link} disappeared (unplugged?)`);
    // the link comes back (udev re-creating it): the device reopens
    await symlink(mock.ptsPath, mock.link);
    await sink.waitFor('up again', () => device.status().state === 'up', 3_000);
  });

  it('a link re-pointed to another device (udev after a replug) is reopened on the new one', async () => {
    const { mock, sink, id, device } = await setup({ intervalMs: 0 });
    const other = await startMock({ link: uniqueLink(), format: 'csv', intervalMs: 30 });
    cleanups.push(() => other.stop());
    const tmp = `${mock.link}.new`;
    await symlink(other.ptsPath, tmp);
    await rename(tmp, mock.link); // atomic, as udev does: the path never vanishes
    await sink.waitFor('down', () => device.status().state === 'down', 2_000);
    expect(sink.lastState(id)?.reason).toBe(`${mock.link} now points to another device (replugged?)`);
    await sink.waitFor('up on the new device', () => device.status().state === 'up', 3_000);
    // the kv parser now sees the other device's csv lines: parse errors, forwarded raw
    await sink.waitFor('a line of the other device', () => sink.readings.some((r) => r.error !== undefined && /^-?\d+(\.\d+)?,/.test(r.raw ?? '')));
  });

  it('a link lost soon after every open (a loose cable) is reopened ever more slowly, not at the first step each time', async () => {
    const a = await startMock({ link: uniqueLink(), format: 'kv', intervalMs: 0 });
    cleanups.push(() => a.stop());
    const b = await startMock({ link: uniqueLink(), format: 'kv', intervalMs: 0 });
    cleanups.push(() => b.stop());
    const link = uniqueLink();
    await symlink(a.ptsPath, link);
    cleanups.push(() => rm(link, { force: true }));
    const cfg = serialDevice(`flap-${process.pid}`, {
      serial: { path: link, baudRate: 115200, reconnect: { minMs: 100, maxMs: 1_600 } },
      parser: { format: 'kv' },
    });
    const sink = new RecordingSink();
    const source = new SerialSource([cfg], sink, silentLogger());
    cleanups.push(() => source.stop());
    await source.start();
    const device = source.devices()[0]!;
    const waits: number[] = [];
    let next = b;
    for (let i = 0; i < 5; i++) {
      await sink.waitFor(`up ${i}`, () => device.status().state === 'up', 5_000);
      // re-pointed at once, atomically (udev after a replug): lost long before the cap of being open
      await symlink(next.ptsPath, `${link}.new`);
      await rename(`${link}.new`, link);
      next = next === a ? b : a;
      await sink.waitFor(`down ${i}`, () => device.status().state === 'down', 5_000);
      const lostAt = performance.now();
      await sink.waitFor(`up again ${i}`, () => device.status().state === 'up', 5_000);
      waits.push(performance.now() - lostAt);
    }
    // steps 100, 200, 400, 800, 1600 ms, each wait at least half its step: the fifth at least 800 ms
    // (the reopen timer starts just before the state is reported: 50 ms of slack); a backoff that
    // restarted at every open waited 50-100 ms each time
    expect(waits[4]).toBeGreaterThanOrEqual(750);
  });

  it('a burst at the full 115200-baud line rate: every line arrives, in order', async () => {
    const { mock, sink } = await setup({ intervalMs: 0 });
    await mock.burst(400);
    await sink.waitFor('400 readings', () => sink.readings.length >= 400, 10_000);
    expect(sink.readings.map((r) => r.values?.['count'])).toEqual(Array.from({ length: 400 }, (_, i) => i + 1));
  });

  it('the boot banner of a replugged device is forwarded as a raw line with its parse error', async () => {
    const { mock, sink, device } = await setup({ intervalMs: 0, banner: 'MockSensor v1.0 ready', bootDelayMs: 1_500 });
    await mock.replug();
    await sink.waitFor('up again', () => device.status().state === 'up' && sink.states.some((s) => s.state === 'down'), 3_000);
    await sink.waitFor('the banner', () => sink.readings.length > 0, 3_000);
    expect(sink.readings[0]).toMatchObject({ raw: 'MockSensor v1.0 ready', error: 'kv: "MockSensor" is not key=value' });
  });

  it('garbage, invalid UTF-8 and an endless line are counted; memory stays bounded; good lines around them parse', async () => {
    const { mock, sink, id, device } = await setup({ intervalMs: 0 });
    await mock.write('a=1\n');
    await sink.waitFor('line before', () => sink.readings.length === 1);
    await mock.garbage(40);
    await mock.write(Buffer.concat([Buffer.from('temp=21.5 name='), Buffer.from([0xc3, 0x28]), Buffer.from('\n')]));
    await mock.write('not kv at all\n');
    let maxHeld = 0;
    const sampler = setInterval(() => (maxHeld = Math.max(maxHeld, device.heldBytes)), 2);
    await mock.endless(20_000); // ~1.7 s at line rate, then a newline
    clearInterval(sampler);
    await mock.write('b=2\n');
    await sink.waitFor('line after', () => sink.readings.some((r) => r.values?.['b'] === 2));
    expect(maxHeld).toBeLessThanOrEqual(257); // maxLineBytes, and the \r of a \r\n line
    expect(maxHeld).toBeGreaterThan(0);
    expect(sink.readings.map((r) => r.values ?? r.error)).toEqual([
      { a: 1 },
      'invalid UTF-8',
      'invalid UTF-8',
      'kv: "not" is not key=value',
      { b: 2 },
    ]);
    expect(sink.readings[2]!.raw).toBe('temp=21.5 name=\ufffd(');
    expect(await counter(metrics.parseErrors, { device: id })).toBe(3);
    expect(await counter(metrics.overlongLines, { device: id })).toBe(1);
  });

  it('onError: drop counts a bad line but forwards nothing', async () => {
    const { mock, sink, id } = await setup({ intervalMs: 0 }, { parser: { format: 'json', onError: 'drop' } });
    await mock.write('[1,2]\n{"t":1}\n');
    await sink.waitFor('the good line', () => sink.readings.length === 1);
    expect({ ...sink.readings[0]!.values }).toEqual({ t: 1 });
    expect(await counter(metrics.parseErrors, { device: id })).toBe(1);
  });

  it('lines beyond the inputRate are dropped unparsed and counted; command replies still arrive', async () => {
    const { mock, sink, id, device } = await setup(
      { intervalMs: 0, replyDelayMs: 20 },
      // 1 byte/s after the burst: once the 4,000 bytes are spent nothing more passes during the test
      { inputRate: { bytesPerSecond: 1, burstBytes: 4_000 }, commands: { reply: { match: '^(OK|ERR|PONG)', timeoutMs: 2_000 } } },
    );
    const dropped = () => counter(metrics.inputDropped, { device: id });
    // 300 lines of exactly 100 bytes (without the newline), written at PTY speed
    await mock.write(Array.from({ length: 300 }, (_, i) => `i=${i} pad=`.padEnd(100, 'x') + '\n').join(''));
    for (const deadline = Date.now() + 5_000; withValues(sink).length + (await dropped()) < 300 && Date.now() < deadline;) await sleep(20);
    const passed = withValues(sink).map((r) => r.values?.['i']);
    // the burst is 40 lines (a second of refill may add one), and they are the first 40
    expect(passed.slice(0, 40)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(passed.length).toBeLessThanOrEqual(41);
    expect(await dropped()).toBe(300 - passed.length);
    // a reply is not input: it answers the gateway's own command
    await expect(device.command({ line: 'PING' })).resolves.toEqual({ reply: 'PONG' });
    await mock.write('late=1\n');
    for (const deadline = Date.now() + 5_000; (await dropped()) < 301 - passed.length && Date.now() < deadline;) await sleep(20);
    expect(await dropped()).toBe(301 - passed.length);
    expect(withValues(sink).some((r) => r.values?.['late'] === 1)).toBe(false);
  });

  it('a flood of tiny lines is charged MIN_INPUT_CHARGE_BYTES a line, not its 3 bytes', async () => {
    const { mock, sink, id } = await setup(
      { intervalMs: 0 },
      { parser: { format: 'kv', onError: 'raw' }, inputRate: { bytesPerSecond: 1, burstBytes: 6_400 } },
    );
    const dropped = () => counter(metrics.inputDropped, { device: id });
    // 2,000 lines of 3 bytes: 6,000 bytes fit the burst, but each costs a reading downstream
    await mock.write('x=1\n'.repeat(2_000));
    for (const deadline = Date.now() + 5_000; sink.readings.length + (await dropped()) < 2_000 && Date.now() < deadline;) await sleep(20);
    // the burst is 100 lines (a second of refill at 1 byte/s may add one)
    expect(sink.readings.length).toBeGreaterThanOrEqual(6_400 / MIN_INPUT_CHARGE_BYTES);
    expect(sink.readings.length).toBeLessThanOrEqual(6_400 / MIN_INPUT_CHARGE_BYTES + 1);
    expect(await dropped()).toBe(2_000 - sink.readings.length);
  });

  it('blank lines are skipped: no reading, no parse error, and never the reply of a command', async () => {
    const { mock, sink, id, device } = await setup(
      { intervalMs: 0 },
      // a reply pattern that a blank line would match too
      { commands: { reply: { match: '^(OK.*)?$', timeoutMs: 2_000 } } },
    );
    mock.setSilent(true); // the answer below is written by hand, after a blank line
    await mock.write('\n\r\n\na=1\r\n\r\n');
    await sink.waitFor('a=1', () => sink.readings.length >= 1);
    const answer = device.command({ line: 'SET 1' });
    await mock.write('\r\n\nOK 1\n');
    await expect(answer).resolves.toEqual({ reply: 'OK 1' });
    await mock.write('b=2\n');
    await sink.waitFor('b=2', () => sink.readings.length >= 2);
    expect(sink.readings.map((r) => ({ ...r.values }))).toEqual([{ a: 1 }, { b: 2 }]);
    expect(await counter(metrics.parseErrors, { device: id })).toBe(0);
  });

  it('a "\\r\\n" line of exactly maxLineBytes is a reading (its \\r does not count); one byte more is discarded', async () => {
    const { mock, sink, id } = await setup({ intervalMs: 0 });
    // maxLineBytes 256 in setup(); println() on an Arduino ends lines with \r\n
    await mock.write(`k=${'x'.repeat(254)}\r\n`);
    await mock.write(`k=${'y'.repeat(255)}\r\n`);
    await mock.write('after=1\r\n');
    await sink.waitFor('after=1', () => sink.readings.some((r) => r.values?.['after'] === 1));
    expect(sink.readings.map((r) => Object.keys(r.values ?? {}).map((k) => `${k}:${String(r.values![k]).length}`))).toEqual([['k:254'], ['after:1']]);
    expect(await counter(metrics.overlongLines, { device: id })).toBe(1);
  });

  it('a command gets its reply line, which is not also a reading', async () => {
    const { mock, sink, device } = await setup(
      { intervalMs: 0, replyDelayMs: 20 },
      { commands: { reply: { match: '^(OK|ERR|PONG)', timeoutMs: 2_000 } } },
    );
    await expect(device.command({ line: 'LED ON' })).resolves.toEqual({ reply: 'OK LED ON' });
    await expect(device.command({ line: 'PING' })).resolves.toEqual({ reply: 'PONG' });
    await expect(device.command({ line: 'FOO' })).resolves.toEqual({ reply: 'ERR unknown command' });
    await mock.write('x=1\n');
    await sink.waitFor('a reading', () => sink.readings.length > 0);
    expect(sink.readings.map((r) => r.values)).toEqual([{ x: 1 }]);
    expect(mock.commands).toEqual(['LED ON', 'PING', 'FOO']);
  });

  it('a reply line with invalid UTF-8 (a Latin-1 degree sign) is the reply, U+FFFD marking the bytes, and not also a reading', async () => {
    const { mock, device, sink } = await setup({ intervalMs: 0 }, { commands: { reply: { match: '^(OK|ERR)', timeoutMs: 2_000 } } });
    mock.setSilent(true);
    const reply = device.command({ line: 'TEMP?' });
    await mock.write(Buffer.from('OK 21\xB0C\n', 'latin1'));
    await expect(reply).resolves.toEqual({ reply: 'OK 21\uFFFDC' });
    await mock.write(Buffer.from('x=\xB0\n', 'latin1'));
    await sink.waitFor('the next bad line, as a reading', () => sink.readings.some((r) => r.error === 'invalid UTF-8'));
    expect(sink.readings.filter((r) => r.raw?.startsWith('OK'))).toEqual([]);
  });

  it('concurrent commands never interleave on the wire and resolve in order', async () => {
    const { mock, device } = await setup(
      { intervalMs: 0, replyDelayMs: 30 },
      { commands: { reply: { match: '^(OK|PONG|temp=)', timeoutMs: 2_000 } } },
    );
    const lines = ['LED ON', 'PING', 'LED OFF', 'GET temp', 'PING'];
    const replies = await Promise.all(lines.map((line) => device.command({ line })));
    expect(mock.commands).toEqual(lines);
    expect(replies.map((r) => r.reply)).toEqual(['OK LED ON', 'PONG', 'OK LED OFF', expect.stringMatching(/^temp=-?\d/), 'PONG']);
  });

  it('without a reply pattern a command resolves once written and drained', async () => {
    const { mock, sink, device } = await setup({ intervalMs: 0 });
    const long = `SET ${'x'.repeat(200)}`;
    await Promise.all([device.command({ line: 'LED ON' }), device.command({ line: long }), device.command({ line: 'LED OFF' })]);
    await sink.waitFor('3 replies read as raw errors', () => sink.readings.length >= 3);
    expect(mock.commands).toEqual(['LED ON', long, 'LED OFF']);
  });

  it('queue full → busy; a silent device → timeout; no line → invalid', async () => {
    const { mock, device } = await setup(
      // the replies come 100 ms late, well inside the 1 s timeout even on a loaded machine (300 of 400 ms was not)
      { intervalMs: 0, replyDelayMs: 100 },
      { commands: { queue: 2, reply: { match: '^(OK|PONG)', timeoutMs: 1_000 } } },
    );
    // three dashboards: one of them alone could hold only half of the queue
    const a = device.command({ line: 'PING' }, {});
    const b = device.command({ line: 'PING' }, {});
    await expect(device.command({ line: 'PING' }, {})).rejects.toMatchObject({ code: 'busy', device: device.id });
    await expect(Promise.all([a, b])).resolves.toEqual([{ reply: 'PONG' }, { reply: 'PONG' }]);

    mock.setSilent(true);
    const err = await device.command({ line: 'PING' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandError);
    expect(err).toMatchObject({ code: 'timeout', message: 'no reply matching /^(OK|PONG)/ within 1000 ms' });

    await expect(device.command({})).rejects.toMatchObject({ code: 'invalid', message: 'a serial command needs a "line" string' });
  });

  it('stop() rejects pending commands with shutting_down', async () => {
    const { source, device } = await setup({ intervalMs: 0, replyDelayMs: 1_000 }, { commands: { reply: { match: '^PONG', timeoutMs: 5_000 } } });
    const pending = [device.command({ line: 'PING' }), device.command({ line: 'PING' })].map((p) =>
      expect(p).rejects.toMatchObject({ code: 'shutting_down' }),
    );
    await source.stop();
    await Promise.all(pending);
    await expect(device.command({ line: 'PING' })).rejects.toMatchObject({ code: 'shutting_down' });
    expect(device.status().state).toBe('down');
  });
});

describe('open errors', () => {
  it('ENOENT: down with advice, then up once the device appears (reconnect after open failure)', async () => {
    const link = uniqueLink();
    const id = `serial-enoent-${process.pid}`;
    const sink = new RecordingSink();
    const source = new SerialSource([serialDevice(id, { serial: { path: link, reconnect: { minMs: 100, maxMs: 200 } } })], sink, silentLogger());
    cleanups.push(() => source.stop());
    await source.start();
    expect(source.devices()[0]!.status()).toEqual({
      id,
      source: 'serial',
      state: 'down',
      reason: `${link}: no such device: is it plugged in? prefer /dev/serial/by-id/... paths`,
    });
    const mock = await startMock({ link, intervalMs: 50 });
    cleanups.push(() => mock.stop());
    await sink.waitFor('up', () => sink.lastState(id)?.state === 'up', 3_000);
    await sink.waitFor('a reading', () => sink.readings.length > 0);
    expect(sink.states.filter((s) => s.state === 'down')).toHaveLength(1); // retries with the same reason are not re-announced
  });

  it('EBUSY: a second opener of a locked port is told who to suspect', async () => {
    const { mock } = await setup();
    const id = `serial-busy-${process.pid}`;
    const sink = new RecordingSink();
    const second = new SerialSource([serialDevice(id, { serial: { path: mock.link } })], sink, silentLogger());
    cleanups.push(() => second.stop());
    await second.start();
    expect(second.devices()[0]!.status().reason).toBe(`${mock.link}: port is busy: another program (a getty on the UART? ModemManager?) holds it`);
  });

  it('EACCES with the real binding: the dialout advice', async () => {
    const mock = await startMock({ link: uniqueLink(), intervalMs: 0 });
    cleanups.push(() => mock.stop());
    let message: string;
    if (process.getuid?.() === 0) {
      // root ignores file modes (CAP_DAC_OVERRIDE): open from an unprivileged child (nobody) instead
      await chmod(mock.ptsPath, 0o600);
      const script = `const { SerialPort } = await import(process.argv[1]);
        new SerialPort({ path: process.argv[2], baudRate: 9600, autoOpen: false })
          .open((e) => { process.stdout.write(JSON.stringify(e ? e.message : null)); process.exit(0); });`;
      // nobody may not be able to read the checkout (a 0700 home or mktemp -d above it): give the
      // child its own world-readable copy of serialport and what it depends on
      const dir = copyPackageClosure('serialport');
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      const entry = createRequire(path.join(dir, 'child.js')).resolve('serialport');
      // the node running the tests may be as unreachable for nobody (Node 24 under ~/.cache)
      const node = path.join(dir, 'node');
      cpSync(process.execPath, node);
      const r = spawnSync(node, ['--input-type=module', '-e', script, entry, mock.link], {
        cwd: dir,
        uid: 65534,
        gid: 65534,
        encoding: 'utf8',
        timeout: 10_000,
      });
      if (r.status !== 0 || !r.stdout) throw new Error(`the child as nobody failed (status ${r.status}): ${r.error?.message ?? r.stderr}`);
      message = JSON.parse(r.stdout) as string;
    } else {
      await chmod(mock.ptsPath, 0o000);
      const port = new SerialPort({ path: mock.link, baudRate: 9600, autoOpen: false });
      message = await new Promise<string>((res) => port.open((e) => res(e ? e.message : 'opened')));
    }
    expect(message).toBe(`Error: Permission denied, cannot open ${mock.link}`);
    expect(explainOpenError(new Error(message), mock.link)).toEqual({
      code: 'EACCES',
      reason: `${mock.link}: permission denied: add the service user to the dialout group (sudo usermod -aG dialout serialgate)`,
    });
  });
  it('a path that is no serial port (a file, /dev/null, a directory) is down with a reason that says so', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sg-notty-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    writeFileSync(path.join(dir, 'file'), 'x');
    mkdirSync(path.join(dir, 'dir'));
    const targets = [path.join(dir, 'file'), '/dev/null', path.join(dir, 'dir')];
    const cfgs = targets.map((target, i) =>
      serialDevice(`notty-${process.pid}-${i}`, { serial: { path: target, reconnect: { minMs: 5_000, maxMs: 5_000 } } }),
    );
    const sink = new RecordingSink();
    const source = new SerialSource(cfgs, sink, silentLogger());
    cleanups.push(() => source.stop());
    await source.start();
    expect(source.devices().map((d) => d.status().reason)).toEqual(
      targets.map(
        (t) =>
          `${t}: not a serial port: the path names a file, a directory or a device that is no terminal (serialgate ports lists the serial ports)`,
      ),
    );
  });
});
