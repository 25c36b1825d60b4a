/**
 * SIGHUP to the real daemon process: a removed or downgraded token closes its open dashboards
 * with 1008 at once; hub.* limits apply to open connections; server.* and hub.resumeBuffer keep
 * their running values and the journal names them.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Daemon, Dashboard, ensureBuilt, until } from './daemon-helpers.js';

const OP = 'reload-operator-token-0123456789';
const VIEW = 'reload-viewer-token-0123456789';
const cleanup: (() => Promise<void> | void)[] = [];

beforeAll(ensureBuilt, 200_000);
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function config(opts: { tokens: [string, string][]; port?: number; hub?: string }): string {
  return [
    `server: { host: 127.0.0.1, port: ${opts.port ?? 0} }`,
    'auth:',
    '  anonymous: none',
    `  tokens: [ ${opts.tokens.map(([t, r]) => `{ token: "${t}", role: ${r} }`).join(', ')} ]`,
    `hub: { ${opts.hub ?? ''} }`,
    'log: { level: info }',
  ].join('\n');
}

async function dashboard(url: string, token: string): Promise<Dashboard> {
  const d = await Dashboard.connect(url, { token });
  cleanup.push(() => d.close());
  return d;
}

describe('serialgate run: SIGHUP is honest', () => {
  it('removed and downgraded tokens close their dashboards with 1008; restart-only keys are named and keep running', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sg-reload-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'config.yaml');
    writeFileSync(
      file,
      config({
        tokens: [
          [OP, 'operator'],
          [VIEW, 'viewer'],
        ],
        hub: 'badMessageLimit: 50',
      }),
    );
    const d = Daemon.start(['run', '--config', file]);
    cleanup.push(() => d.stop());
    const ws = (await d.ready()).replace('http', 'ws') + '/ws';
    const op = await dashboard(ws, OP);
    const view = await dashboard(ws, VIEW);
    expect(op.of('hello')[0]).toMatchObject({ role: 'operator' });

    // the viewer token goes, the operator token becomes a viewer; a new port and ring size need a restart
    writeFileSync(file, config({ tokens: [[OP, 'viewer']], port: 1, hub: 'badMessageLimit: 2, resumeBuffer: 10' }));
    d.proc.kill('SIGHUP');
    await d.waitLog('configuration reloaded');
    await until('both dashboards closed', () => !!op.closed && !!view.closed, 5_000);
    expect(view.closed).toEqual({ code: 1008, reason: 'token no longer valid (configuration reloaded)' });
    expect(op.closed).toEqual({ code: 1008, reason: 'role is now viewer (configuration reloaded): reconnect' });
    const warning = d.log(/take effect after a restart/)!;
    expect(warning).toBeDefined();
    expect([...(warning.keys as string[])].sort()).toEqual(['hub.resumeBuffer', 'server.port']);

    // still on the old port; the downgraded token is a viewer now, the removed one is refused
    const again = await dashboard(ws, OP);
    expect(again.of('hello')[0]).toMatchObject({ role: 'viewer' });
    await expect(Dashboard.connect(ws, { token: VIEW })).rejects.toThrow(/401/);
    // hub.badMessageLimit applied: the third bad message within 10 s closes the connection
    for (let i = 0; i < 3; i++) again.send({ type: 'nope' });
    await until('closed for bad messages', () => !!again.closed, 5_000);
    expect(again.closed).toEqual({ code: 1008, reason: 'too many bad messages' });

    d.proc.kill('SIGTERM');
    expect((await d.exited).code).toBe(0);
    expect(d.output).not.toContain(OP);
  });
});
