import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Daemon, Dashboard, ensureBuilt, httpGet, until } from './daemon-helpers.js';

// The README's quick start is `npm ci && npm start`; npm start = build + `serialgate demo`. CI
// runs the suite after `npm ci`, so this starts the same demo on a free port and its own PTY link.
const cleanup: (() => Promise<void> | void)[] = [];

beforeAll(ensureBuilt, 200_000);

afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

describe('quick start: the demo', () => {
  it('prints where to look, serves the dashboard, and a reading reaches a WebSocket client; a command is answered', async () => {
    const link = `/tmp/sg-quickstart-${process.pid}`;
    // its own history folder: the default one (per user) would be shared with other demo runs
    const state = mkdtempSync(path.join(tmpdir(), 'sg-quickstart-state-'));
    cleanup.push(() => rmSync(state, { recursive: true, force: true }));
    const d = Daemon.start(['demo', '--port', '0', '--link', link, '--state-dir', state]);
    cleanup.push(() => d.stop());
    await until(`the dashboard line (output: ${d.output})`, () => /dashboard: http:\/\/localhost:\d+\//.test(d.output), 20_000);
    const base = /dashboard: (http:\/\/localhost:\d+)\//.exec(d.output)![1];
    // one line for the user, no log noise at the default level
    expect(d.out.join('').trim().split('\n')).toHaveLength(1);

    const page = await httpGet(base + '/');
    expect(page.status).toBe(200);
    expect(page.type).toBe('text/html; charset=utf-8');

    const ws = await Dashboard.connect(base.replace('http', 'ws') + '/ws');
    cleanup.push(() => ws.close());
    expect(ws.of('hello')[0]).toMatchObject({ role: 'operator', devices: [{ id: 'mock1', source: 'serial' }] });
    await until(
      'a reading from mock1',
      () => ws.of('reading').some((r) => r.device === 'mock1' && typeof (r.values as Record<string, unknown>)?.temp === 'number'),
      10_000,
    );

    ws.send({ type: 'command', id: 'p', device: 'mock1', line: 'PING' });
    await until('the ack', () => ws.of('ack').length === 1);
    expect(ws.of('ack')[0]).toEqual({ type: 'ack', id: 'p', ok: true, reply: 'PONG' });

    d.proc.kill('SIGINT');
    expect((await d.exited).code).toBe(0);
    await until('dashboard closed', () => !!ws.closed);
    expect(ws.closed?.code).toBe(1001);
  });

  it("a second demo on another port with the same history folder is refused before it touches the first demo's device", async () => {
    const link = `/tmp/sg-quickstart-two-${process.pid}`;
    const state = mkdtempSync(path.join(tmpdir(), 'sg-quickstart-two-'));
    cleanup.push(() => rmSync(state, { recursive: true, force: true }));
    const first = Daemon.start(['demo', '--port', '0', '--link', link, '--state-dir', state]);
    cleanup.push(() => first.stop());
    await until(`the dashboard line (output: ${first.output})`, () => /dashboard: http:\/\/localhost:\d+\//.test(first.output), 20_000);
    const base = /dashboard: (http:\/\/localhost:\d+)\//.exec(first.output)![1]!;

    const second = Daemon.start(['demo', '--port', '0', '--link', link, '--state-dir', state]);
    cleanup.push(() => second.stop());
    expect((await second.exited).code).toBe(1);
    expect(second.output).toContain(`another demo is running (pid ${first.proc.pid}, history in ${state})`);
    // the first demo's mock device was never moved: it is up and answers
    const ws = await Dashboard.connect(base.replace('http', 'ws') + '/ws');
    cleanup.push(() => ws.close());
    await new Promise((r) => setTimeout(r, 1_500));
    expect(ws.of('hello')[0]).toMatchObject({ devices: [{ id: 'mock1', state: 'up' }] });
    expect(ws.of('state').filter((s) => s.state === 'down')).toEqual([]);
    ws.send({ type: 'command', id: 'p', device: 'mock1', line: 'PING' });
    await until('the ack', () => ws.of('ack').length === 1);
    expect(ws.of('ack')[0]).toMatchObject({ ok: true, reply: 'PONG' });
  }, 40_000);
});
