/**
 * The demo keeps its history in a local folder (issue 11 point 5): a second `npm start` opens
 * with the first one's readings and, after a SIGTERM stop, resumes the same stream. Each test
 * run gets its own folder, so parallel demos never restore each other's stream.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { uniqueLink } from '../../helpers/mock.js';
import { Daemon, Dashboard, ensureBuilt, until } from './daemon-helpers.js';

const cleanup: (() => Promise<void> | void)[] = [];
beforeAll(ensureBuilt, 200_000);
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function demo(args: string[], env: NodeJS.ProcessEnv = {}): Daemon {
  const d = Daemon.start(['demo', '--port', '0', '--link', uniqueLink(), ...args], env);
  cleanup.push(() => d.stop());
  return d;
}

async function dashboard(d: Daemon): Promise<Dashboard> {
  await until(`the dashboard line (output: ${d.output})`, () => /dashboard: http:\/\/localhost:\d+\//.test(d.output), 20_000);
  const base = /dashboard: (http:\/\/localhost:\d+)\//.exec(d.output)![1]!;
  const ws = await Dashboard.connect(base.replace('http', 'ws') + '/ws');
  cleanup.push(() => ws.close());
  return ws;
}

const seqs = (d: Dashboard) => d.of('reading').map((m) => m.seq as number);

describe('the demo keeps its history', () => {
  it('under $XDG_STATE_HOME by default; a second run with --state-dir on that folder has the first run’s history and resumes its stream', async () => {
    const xdg = mkdtempSync(path.join(tmpdir(), 'sg-demo-state-'));
    cleanup.push(() => rmSync(xdg, { recursive: true, force: true }));
    const dir = path.join(xdg, 'serialgate', 'demo');

    // first run: no flag, so the default folder (here under a private XDG_STATE_HOME)
    const first = demo([], { XDG_STATE_HOME: xdg });
    const before = await dashboard(first);
    expect(first.output).toContain(`history in ${dir};`);
    // the mock sends one reading a second
    await until('readings from the first run', () => seqs(before).length >= 3, 15_000);
    const epoch = before.of('hello')[0]!.epoch as string;
    first.proc.kill('SIGTERM');
    expect((await first.exited).code).toBe(0);
    const firstTs = (before.of('reading') as { ts: number }[]).map((r) => r.ts);
    const seen = Math.max(...seqs(before));
    expect(readdirSync(dir).some((f) => f.startsWith('points-'))).toBe(true);

    // second run: the same folder by flag, and an XDG_STATE_HOME elsewhere that it must not use
    const elsewhere = path.join(xdg, 'elsewhere');
    const second = demo(['--state-dir', dir], { XDG_STATE_HOME: elsewhere });
    const after = await dashboard(second);
    expect(existsSync(path.join(elsewhere, 'serialgate'))).toBe(false);
    expect(after.of('hello')[0]).toMatchObject({ epoch });
    after.send({ type: 'subscribe', devices: ['*'], since: seen, epoch });
    after.send({ type: 'history', id: 'h', device: 'mock1', from: Math.min(...firstTs) - 1000 });
    await until('the history answer', () => after.of('history').length === 1);
    const answer = after.of('history')[0] as { points: { ts: number }[]; buckets: { ts: number; span: number; count: number }[] };
    // every reading the first run's dashboard saw is in the second run's history, as a point or in
    // a minute bucket (a minute the restored raw window does not hold whole is answered as its bucket)
    const kept = (ts: number) => answer.points.some((p) => p.ts === ts) || answer.buckets.some((b) => b.ts <= ts && ts < b.ts + b.span);
    expect(firstTs.filter((ts) => !kept(ts))).toEqual([]);
    expect(answer.points.length + answer.buckets.reduce((n, b) => n + b.count, 0)).toBeGreaterThanOrEqual(firstTs.length);

    await until('readings after the restart', () => seqs(after).filter((s) => s > seen).length >= 2, 15_000);
    expect(after.of('reset')).toEqual([]);
    expect(after.of('gap')).toEqual([]);
    const resumed = [...new Set(seqs(after).filter((s) => s > seen))].sort((a, b) => a - b);
    expect(resumed).toEqual(resumed.map((_, i) => seen + 1 + i));
  }, 60_000);
});

describe('a state folder that cannot be made', () => {
  // Node's recursive mkdirSync never returns under /proc (ENOENT for the entry, EEXIST for its
  // parent, again): the demo hung there before its first line
  it('under /proc: --state-dir runs in memory and says so; $XDG_STATE_HOME falls back to the temp dir', async () => {
    const given = demo(['--state-dir', '/proc/serialgate-test/demo']);
    await dashboard(given);
    expect(given.output).toContain('history in memory only (/proc/serialgate-test/demo is not usable)');

    const tmp = mkdtempSync(path.join(tmpdir(), 'sg-demo-tmp-'));
    cleanup.push(() => rmSync(tmp, { recursive: true, force: true }));
    const fallback = demo([], { XDG_STATE_HOME: '/proc/serialgate-test', TMPDIR: tmp });
    await dashboard(fallback);
    expect(fallback.output).toMatch(new RegExp(`history in ${tmp}/serialgate-demo-\\d+;`));
  }, 60_000);
});
