/**
 * The firmware mock itself, talked to with the real serialport binding, and its CLI.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { lstat, readlink } from 'node:fs/promises';
import { SerialPort } from 'serialport';
import { afterEach, describe, expect, it } from 'vitest';
import { LineSplitter } from '../../../src/codecs/line-splitter.js';
import { LINE_RATE_BYTES_PER_S, startMock, type MockOptions } from '../../../firmware-mock/index.js';
import { uniqueLink } from '../../helpers/mock.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function mock(opts: Partial<MockOptions> = {}) {
  const m = await startMock({ link: uniqueLink(), intervalMs: 0, ...opts });
  cleanups.push(() => m.stop());
  return m;
}

/** a real serialport on the link, collecting lines */
async function openLink(path: string) {
  const port = new SerialPort({ path, baudRate: 115200, autoOpen: false });
  await new Promise<void>((res, rej) => port.open((e) => (e ? rej(e) : res())));
  cleanups.push(() => new Promise<void>((r) => (port.isOpen ? port.close(() => r()) : r())));
  const lines: string[] = [];
  const splitter = new LineSplitter(
    { maxLineBytes: 4096 },
    { line: (l) => lines.push(l), overlong: () => lines.push('<overlong>'), invalid: () => lines.push('<invalid>') },
  );
  port.on('data', (c: Buffer) => splitter.push(c));
  const waitLines = async (n: number, ms = 3_000) => {
    const until = Date.now() + ms;
    while (lines.length < n && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    return lines;
  };
  return { port, lines, waitLines, send: (s: string) => port.write(s) };
}

describe('firmware mock', () => {
  it('exposes a real tty at the link, answers every command, and removes the link on stop', async () => {
    const m = await mock({ replyDelayMs: 50 });
    expect((await lstat(m.link)).isSymbolicLink()).toBe(true);
    expect(await readlink(m.link)).toBe(m.ptsPath);
    expect(m.ptsPath).toMatch(/^\/dev\/pts\/\d+$/);
    const c = await openLink(m.link);
    const t0 = Date.now();
    c.send('LED ON\nLED OFF\nPING\nGET temp\nGET hum\r\nFLY\n');
    const lines = await c.waitLines(6);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(45); // the reply delay is honoured
    expect(lines).toEqual(['OK LED ON', 'OK LED OFF', 'PONG', 'temp=21.5', 'hum=45', 'ERR unknown command']);
    expect(m.commands).toEqual(['LED ON', 'LED OFF', 'PING', 'GET temp', 'GET hum', 'FLY']);
    await m.stop();
    expect(existsSync(m.link)).toBe(false);
  });

  it.each([
    ['kv', /^temp=-?\d+(\.\d+)? hum=\d+(\.\d+)? count=\d+$/],
    ['json', /^\{"temp":-?\d+(\.\d+)?,"hum":\d+(\.\d+)?,"count":\d+\}$/],
    ['csv', /^-?\d+(\.\d+)?,\d+(\.\d+)?,\d+$/],
  ] as const)('emits %s sensor lines at the interval', async (format, shape) => {
    const m = await mock({ format, intervalMs: 30 });
    const c = await openLink(m.link);
    const lines = await c.waitLines(3);
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const l of lines) expect(l).toMatch(shape);
    const counts = lines.map((l) => Number(/(\d+)\D*$/.exec(l)?.[1]));
    for (let i = 1; i < counts.length; i++) expect(counts[i]).toBe(counts[i - 1]! + 1);
  });

  it('silent: no sensor lines and no replies, until it speaks again', async () => {
    const m = await mock({ intervalMs: 20 });
    const c = await openLink(m.link);
    await c.waitLines(1);
    m.setSilent(true);
    await new Promise((r) => setTimeout(r, 60));
    const n = c.lines.length;
    c.send('PING\n');
    await new Promise((r) => setTimeout(r, 200));
    expect(c.lines.length).toBe(n);
    expect(m.commands).toEqual(['PING']);
    m.setSilent(false);
    await c.waitLines(n + 1);
    expect(c.lines.length).toBeGreaterThan(n);
  });

  it('burst: N lines back to back, paced at the 115200-baud line rate', async () => {
    const m = await mock({ format: 'kv' });
    const c = await openLink(m.link);
    const t0 = performance.now();
    await m.burst(300);
    const elapsed = performance.now() - t0;
    const lines = await c.waitLines(300);
    expect(lines).toHaveLength(300);
    const bytes = lines.reduce((s, l) => s + l.length + 1, 0);
    // pacing is a lower bound on duration (the physical limit of the link), not a speed claim
    expect(elapsed).toBeGreaterThanOrEqual((bytes / LINE_RATE_BYTES_PER_S) * 1000 - 20);
    expect(lines.map((l) => Number(l.split('count=')[1]))).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
  });

  it('faults: garbage (invalid UTF-8), an endless line, partial lines', async () => {
    const m = await mock();
    const c = await openLink(m.link);
    await m.write('a=1\n');
    await m.garbage(32);
    await m.write('par');
    await m.write('tial=1\n');
    await m.endless(5_000);
    await m.write('b=2\n');
    expect(await c.waitLines(5)).toEqual(['a=1', '<invalid>', 'partial=1', '<overlong>', 'b=2']);
  });

  it('unplug: the link and the PTY disappear and the open port fails; replug: a new PTY at the same link, with the banner after the boot delay', async () => {
    const m = await mock({ banner: 'MockSensor v1.0 booting', bootDelayMs: 300, intervalMs: 0 });
    const c = await openLink(m.link);
    const pts = m.ptsPath;
    await m.unplug();
    expect(existsSync(m.link)).toBe(false);
    expect(existsSync(pts)).toBe(false);
    expect(m.ptsPath).toBe('');
    // the tty is hung up. serialport does not always emit 'close' here (its reader spins on
    // zero-byte reads), which is why SerialSource also watches the path; a write fails for sure
    c.port.on('error', () => {});
    const outcome = await new Promise<string>((r) => {
      const timer = setTimeout(() => r('nothing within 3 s'), 3_000);
      const done = (what: string) => (clearTimeout(timer), r(what));
      if (!c.port.isOpen) return done('closed');
      c.port.once('close', () => done('closed'));
      c.port.write('x', (e) => e && done(`write failed: ${(e as NodeJS.ErrnoException).code}`));
    });
    expect(['closed', 'write failed: EIO']).toContain(outcome);
    await expect(m.write('x\n')).rejects.toThrow('the mock is unplugged');

    await m.replug();
    expect(await readlink(m.link)).toBe(m.ptsPath);
    const c2 = await openLink(m.link); // opened within the boot delay: the banner arrives
    expect(await c2.waitLines(1)).toEqual(['MockSensor v1.0 booting']);
  });
});

describe('firmware mock CLI', () => {
  const cli = (args: string[]) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'firmware-mock/cli.ts', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    cleanups.push(async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    });
    const waitFor = async (text: string, ms = 10_000) => {
      const until = Date.now() + ms;
      while (!out.includes(text) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      if (!out.includes(text)) throw new Error(`CLI output lacks "${text}": ${out}`);
    };
    return { child, exited, waitFor, output: () => out };
  };

  it('--help prints usage; a bad --format is refused with exit code 2', async () => {
    const h = cli(['--help']);
    expect(await h.exited).toBe(0);
    expect(h.output()).toContain('stdin commands (fault injection)');
    const bad = cli(['--format', 'xml']);
    expect(await bad.exited).toBe(2);
    expect(bad.output()).toContain('serialgate mock: --format must be one of json, kv, csv, got "xml"');
  });

  it('runs on a link and takes fault commands on stdin', async () => {
    const link = uniqueLink();
    const p = cli(['--link', link, '--interval', '50']);
    await p.waitFor(`mock sensor on ${link} -> /dev/pts/`);
    expect(existsSync(link)).toBe(true);
    p.child.stdin.write('status\n');
    await p.waitFor('0 commands received');
    p.child.stdin.write('unplug\n');
    await p.waitFor('unplugged');
    expect(existsSync(link)).toBe(false);
    p.child.stdin.write('replug\n');
    await p.waitFor('replugged at /dev/pts/');
    p.child.stdin.write('bogus\n');
    await p.waitFor('unknown command "bogus" (try help)');
    p.child.stdin.write('quit\n');
    expect(await p.exited).toBe(0);
    expect(existsSync(link)).toBe(false);
  });
});
