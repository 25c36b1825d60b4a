import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startMock, type MockDevice } from '../../../firmware-mock/index.js';
import { uniqueLink } from '../../helpers/mock.js';
import { CLI, Daemon, Dashboard, ensureBuilt, httpGet, NotifyListener, ROOT, until } from './daemon-helpers.js';

let dir: string;
const cleanup: (() => Promise<void> | void)[] = [];

beforeAll(ensureBuilt, 200_000);

afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function tmp(): string {
  dir = mkdtempSync(path.join(tmpdir(), 'sg-daemon-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function mock(opts: { intervalMs?: number } = {}): Promise<MockDevice> {
  const m = await startMock({ link: uniqueLink(), format: 'kv', intervalMs: opts.intervalMs ?? 100 });
  cleanup.push(() => m.stop());
  return m;
}

function start(args: string[], env: NodeJS.ProcessEnv = {}, nodeArgs: string[] = []): Daemon {
  const d = Daemon.start(args, env, nodeArgs);
  cleanup.push(() => d.stop());
  return d;
}

async function dashboard(url: string, token?: string): Promise<Dashboard> {
  const d = await Dashboard.connect(url, { token });
  cleanup.push(() => d.close());
  return d;
}

interface Dev {
  id: string;
  link: string;
  replyTimeoutMs?: number;
  required?: boolean;
}

function config(devices: Dev[], extra = ''): string {
  return [
    'server: { host: 127.0.0.1, port: 0 }',
    'auth: { anonymous: operator }',
    'log: { level: info }',
    'devices:',
    ...devices.map((d) =>
      [
        `  - id: ${d.id}`,
        `    serial: { path: ${d.link}, baudRate: 115200, reconnect: { minMs: 50, maxMs: 200 } }`,
        '    parser: { format: kv }',
        `    commands: { reply: { match: "^(OK|ERR|PONG|temp=)", timeoutMs: ${d.replyTimeoutMs ?? 2000} } }`,
        `    required: ${d.required ?? false}`,
      ].join('\n'),
    ),
    extra,
  ].join('\n');
}

describe('serialgate run: lifecycle of the real process', () => {
  it("stdout's reader gone (EPIPE): the gateway goes on serving, and SIGTERM still stops it with exit 0", async () => {
    const file = path.join(tmp(), 'config.yaml');
    writeFileSync(file, 'server: { host: 127.0.0.1, port: 0 }\nhistory: { enabled: false }\n');
    const d = start(['run', '--config', file]);
    const url = await d.ready();
    // `serialgate run | reader` and the reader dies: every later log line meets a closed pipe
    d.proc.stdout!.destroy();
    await new Promise((r) => setTimeout(r, 300));
    expect((await httpGet(url + '/healthz')).status).toBe(200);
    // the stop's first log line is the first to meet the closed pipe
    const t0 = Date.now();
    d.proc.kill('SIGTERM');
    // before: the async logger's exit hook retried the write every 100 ms forever, SIGTERM or not
    const exit = await Promise.race([d.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 8_000))]);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it('SIGTERM: a pending command is answered shutting_down, every dashboard gets 1001, exit 0', async () => {
    const m = await mock();
    m.setSilent(true); // the command below will wait for a reply that never comes
    const file = path.join(tmp(), 'config.yaml');
    writeFileSync(file, config([{ id: 'slow', link: m.link, replyTimeoutMs: 60_000 }]));
    const d = start(['run', '--config', file]);
    const ws = (await d.ready()).replace('http', 'ws') + '/ws';
    const a = await dashboard(ws);
    const b = await dashboard(ws);
    a.send({ type: 'command', id: 'c1', device: 'slow', line: 'PING' });
    await until('the command to reach the device', () => m.commands.includes('PING'));

    d.proc.kill('SIGTERM');
    const { code } = await d.exited;
    expect(code).toBe(0);
    await until('both dashboards closed', () => !!a.closed && !!b.closed);
    expect(a.of('ack')).toEqual([{ type: 'ack', id: 'c1', ok: false, error: { code: 'shutting_down', message: expect.any(String) } }]);
    expect(a.closed?.code).toBe(1001);
    expect(b.closed?.code).toBe(1001);
    expect(d.log('shutting down')).toMatchObject({ signal: 'SIGTERM' });
    expect(d.log('stopped')).toBeDefined();
  });

  it('SIGINT stops gracefully as well', async () => {
    const m = await mock();
    const file = path.join(tmp(), 'config.yaml');
    writeFileSync(file, config([{ id: 'm', link: m.link }]));
    const d = start(['run', '--config', file]);
    const a = await dashboard((await d.ready()).replace('http', 'ws') + '/ws');
    d.proc.kill('SIGINT');
    expect((await d.exited).code).toBe(0);
    await until('dashboard closed', () => !!a.closed);
    expect(a.closed?.code).toBe(1001);
  });

  it('a Ctrl-C while the demo starts is a clean stop: exit 0, the mock link and the history lock gone, the stream saved', async () => {
    const state = tmp();
    const link = uniqueLink();
    const d = start(['demo', '--port', '0', '--link', link, '--state-dir', state]);
    // the mock's link appears before the gateway has opened the port, loaded the history, listened
    await until('the mock link', () => existsSync(link) || d.proc.exitCode !== null, 20_000);
    d.proc.kill('SIGINT');
    expect(await d.exited).toEqual({ code: 0, signal: null });
    expect(existsSync(link)).toBe(false);
    expect(readdirSync(state)).not.toContain('lock');
    expect(readdirSync(state)).toContain('stream.snap');
    expect(d.output).not.toContain('dashboard:');
  }, 30_000);

  it('SIGHUP with a broken config keeps serving; with a good one adds a device without dropping dashboards', async () => {
    const m1 = await mock();
    const m2 = await mock();
    const file = path.join(tmp(), 'config.yaml');
    writeFileSync(file, config([{ id: 'first', link: m1.link }]));
    const d = start(['run', '--config', file]);
    const url = await d.ready();
    const a = await dashboard(url.replace('http', 'ws') + '/ws');
    const b = await dashboard(url.replace('http', 'ws') + '/ws');

    // broken: a type error on a known line; the running config stays
    writeFileSync(file, config([{ id: 'first', link: m1.link }]).replace('baudRate: 115200', 'baudRate: fast'));
    d.proc.kill('SIGHUP');
    const refused = await d.waitLog(/^reload refused/);
    expect(refused.msg).toContain('devices[0].serial.baudRate: expected a number, got "fast" (line 6)');
    expect(refused.level).toBe(50);
    const before = a.of('reading').length;
    await until('readings keep flowing', () => a.of('reading').length > before + 2);
    expect(a.closed).toBeUndefined();
    expect(JSON.parse((await httpGet(url + '/healthz')).body).devices.map((x: { id: string }) => x.id)).toEqual(['first']);

    // empty: what a SIGHUP finds while an editor or a `>` redirection is rewriting the file; it
    // was a valid config without devices, and every device went down
    writeFileSync(file, '');
    d.proc.kill('SIGHUP');
    await until('the second refusal', () => d.logs.filter((l) => /^reload refused/.test(l.msg)).length === 2);
    const empty = d.logs.filter((l) => /^reload refused/.test(l.msg))[1]!;
    expect(empty).toMatchObject({ code: 'SG_ERR_CONFIG', msg: expect.stringContaining('no settings (the file is empty, only comments or `null`)') });
    const still = a.of('reading').length;
    await until('readings still flowing', () => a.of('reading').length > still + 2);
    expect(JSON.parse((await httpGet(url + '/healthz')).body).devices.map((x: { id: string }) => x.id)).toEqual(['first']);

    // good: a second device appears, the dashboards stay and receive its readings
    writeFileSync(
      file,
      config([
        { id: 'first', link: m1.link },
        { id: 'second', link: m2.link },
      ]),
    );
    d.proc.kill('SIGHUP');
    await until(
      'readings from the added device',
      () => a.of('reading').some((r) => r.device === 'second') && b.of('reading').some((r) => r.device === 'second'),
    );
    expect(a.closed).toBeUndefined();
    expect(b.closed).toBeUndefined();
    const health = JSON.parse((await httpGet(url + '/healthz')).body);
    expect(health.devices.map((x: { id: string }) => x.id).sort()).toEqual(['first', 'second']);
    expect(health.connections).toBe(2);

    // and a device removed: gone from health, the dashboards still there
    writeFileSync(file, config([{ id: 'second', link: m2.link }]));
    d.proc.kill('SIGHUP');
    await until('first removed', async () => JSON.parse((await httpGet(url + '/healthz')).body).devices.length === 1);
    expect(JSON.parse((await httpGet(url + '/healthz')).body)).toMatchObject({ devices: [{ id: 'second' }], connections: 2 });
    expect([a.closed, b.closed]).toEqual([undefined, undefined]);
    expect(d.proc.exitCode).toBeNull();
  });

  it('/healthz and /metrics follow a device unplug and a client connect', async () => {
    const m = await mock();
    const file = path.join(tmp(), 'config.yaml');
    writeFileSync(file, config([{ id: 'req', link: m.link, required: true }]));
    const d = start(['run', '--config', file]);
    const url = await d.ready();
    await until('healthz ok', async () => (await httpGet(url + '/healthz')).status === 200);
    expect(JSON.parse((await httpGet(url + '/healthz')).body)).toEqual({
      status: 'ok',
      devices: [{ id: 'req', source: 'serial', state: 'up' }],
      connections: 0,
    });
    const metric = async (name: string) => {
      const body = (await httpGet(url + '/metrics')).body;
      const line = body.split('\n').find((l) => l.startsWith(name + ' ') || l.startsWith(name + '{'));
      return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
    };
    expect(await metric('serialgate_ws_connections')).toBe(0);

    const a = await dashboard(url.replace('http', 'ws') + '/ws');
    expect(JSON.parse((await httpGet(url + '/healthz')).body).connections).toBe(1);
    expect(await metric('serialgate_ws_connections')).toBe(1);
    await until('readings counted', async () => ((await metric('serialgate_readings_total{device="req"}')) ?? 0) > 0);

    await m.unplug();
    await until('healthz 503', async () => (await httpGet(url + '/healthz')).status === 503);
    const down = JSON.parse((await httpGet(url + '/healthz')).body);
    expect(down).toMatchObject({ status: 'degraded', devices: [{ id: 'req', state: 'down' }], connections: 1 });
    expect(await metric('serialgate_device_up{device="req"}')).toBe(0);
    await until('state down pushed to the dashboard', () => a.of('state').some((s) => s.device === 'req' && s.state === 'down'));

    await m.replug();
    await until('healthz ok again', async () => (await httpGet(url + '/healthz')).status === 200, 15_000);
    expect(await metric('serialgate_device_up{device="req"}')).toBe(1);
    expect((await metric('serialgate_reconnects_total{source="req"}')) ?? 0).toBeGreaterThan(0);
  });

  it('sd_notify: READY=1 once listening, WATCHDOG=1 every WATCHDOG_USEC/2, STOPPING=1 on SIGTERM', async () => {
    const m = await mock();
    const file = path.join(tmp(), 'config.yaml');
    writeFileSync(file, config([{ id: 'm', link: m.link }]));
    const notify = await NotifyListener.start(path.join(dir, 'notify.sock'));
    cleanup.push(() => notify.stop());
    // 300 ms watchdog → a ping every 150 ms
    const d = start(['run', '--config', file], { NOTIFY_SOCKET: notify.socketPath, WATCHDOG_USEC: '300000' });
    const url = await d.ready();
    await until('READY=1', () => notify.count('READY=1') === 1);
    // READY only once the HTTP server answers
    expect((await httpGet(url + '/healthz')).status).toBe(200);
    expect(notify.messages[0].split('\n')).toEqual(['READY=1', `STATUS=listening on ${url}`]);

    const start0 = notify.count('WATCHDOG=1');
    await new Promise((r) => setTimeout(r, 1500));
    const pings = notify.count('WATCHDOG=1') - start0;
    // ~10 expected; generous bounds for a loaded 2-core machine, but not "any number"
    expect(pings).toBeGreaterThanOrEqual(4);
    expect(pings).toBeLessThanOrEqual(14);

    d.proc.kill('SIGHUP');
    await until('RELOADING=1 then READY=1', () => notify.count('RELOADING=1') === 1 && notify.count('READY=1') === 2);

    d.proc.kill('SIGTERM');
    expect((await d.exited).code).toBe(0);
    await until('STOPPING=1', () => notify.count('STOPPING=1') === 1, 3_000);
  });

  it('a blocked event loop sends no WATCHDOG=1, and the pings resume when it unblocks', async () => {
    const m = await mock();
    const file = path.join(tmp(), 'config.yaml');
    writeFileSync(file, config([{ id: 'm', link: m.link }]));
    // preloaded into the daemon process: SIGUSR2 blocks its event loop for 1.5 s (a hung handler)
    const blocker = path.join(dir, 'block.mjs');
    writeFileSync(blocker, "process.on('SIGUSR2', () => { const end = Date.now() + 1500; while (Date.now() < end); });\n");
    const notify = await NotifyListener.start(path.join(dir, 'notify.sock'));
    cleanup.push(() => notify.stop());
    const d = start(['run', '--config', file], { NOTIFY_SOCKET: notify.socketPath, WATCHDOG_USEC: '200000' }, ['--import', blocker]);
    await d.ready();
    await until('pings before the block', () => notify.count('WATCHDOG=1') >= 3);
    d.proc.kill('SIGUSR2');
    await new Promise((r) => setTimeout(r, 150));
    const atBlock = notify.count('WATCHDOG=1');
    await new Promise((r) => setTimeout(r, 1000));
    // at most one systemd-notify that was already on its way when the loop stopped
    expect(notify.count('WATCHDOG=1') - atBlock).toBeLessThanOrEqual(1);
    await until('pings after the block', () => notify.count('WATCHDOG=1') >= atBlock + 4, 5_000);
  });

  it('no WATCHDOG=1 when the watchdog is meant for another process (WATCHDOG_PID)', async () => {
    const m = await mock();
    const file = path.join(tmp(), 'config.yaml');
    writeFileSync(file, config([{ id: 'm', link: m.link }]));
    const notify = await NotifyListener.start(path.join(dir, 'notify.sock'));
    cleanup.push(() => notify.stop());
    const d = start(['run', '--config', file], { NOTIFY_SOCKET: notify.socketPath, WATCHDOG_USEC: '100000', WATCHDOG_PID: '1' });
    await d.ready();
    await until('READY=1', () => notify.count('READY=1') === 1);
    await new Promise((r) => setTimeout(r, 500));
    expect(notify.count('WATCHDOG=1')).toBe(0);
  });

  it('secrets never reach the log: tokens in the config, in a handshake, and a wrong token', async () => {
    const m = await mock();
    const token = 'sekret-operator-token-4f1d9c';
    const wrong = 'wrong-token-but-long-enough-77';
    const file = path.join(tmp(), 'config.yaml');
    writeFileSync(
      file,
      config([{ id: 'm', link: m.link }])
        .replace('auth: { anonymous: operator }', 'auth:\n  anonymous: none\n  tokens: [ { token: "${SG_TOKEN}", role: operator } ]')
        .replace('level: info', 'level: trace'),
    );
    const d = start(['run', '--config', file], { SG_TOKEN: token });
    const url = (await d.ready()).replace('http', 'ws') + '/ws';
    const a = await dashboard(url, token);
    a.send({ type: 'command', id: 'x', device: 'm', line: 'PING' });
    await until('ack', () => a.of('ack').length === 1);
    await expect(Dashboard.connect(`${url}?token=${wrong}`, { token: wrong })).rejects.toThrow();
    d.proc.kill('SIGHUP');
    await d.waitLog('configuration reloaded');
    d.proc.kill('SIGTERM');
    await d.exited;
    expect(d.output.length).toBeGreaterThan(0);
    expect(d.output).not.toContain(token);
    expect(d.output).not.toContain(wrong);
  });
});

describe('serialgate CLI commands (compiled)', () => {
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, cwd: tmpdir() });
    return { code: r.status as number, out: r.stdout as string, err: r.stderr as string };
  };

  it('check-config prints the effective config with secrets masked', () => {
    const file = path.join(tmp(), 'c.yaml');
    writeFileSync(
      file,
      'auth:\n  tokens: [ { token: "${SG_T}", role: operator } ]\nmqtt: { url: "mqtt://u:pw-in-url@127.0.0.1:1883", password: "hunter2hunter2" }\n',
    );
    const r = run(['check-config', file], { SG_T: 'the-token-value-0123456789' });
    expect(r.code).toBe(0);
    expect(r.out).toContain(`# ${file}: valid.`);
    expect(r.out).toContain('token: "********"');
    expect(r.out).toContain('password: "********"');
    expect(r.out).toContain('url: mqtt://u:********@127.0.0.1:1883');
    expect(r.out).toContain('maxMessageBytes: 65536');
    expect(r.out + r.err).not.toMatch(/the-token-value|hunter2|pw-in-url/);
  });

  it('check-config --env-file takes ${NAME} values from a systemd-style env file', () => {
    const file = path.join(tmp(), 'c.yaml');
    writeFileSync(file, 'auth:\n  tokens: [ { token: "${SG_T}", role: operator } ]\n');
    writeFileSync(path.join(dir, 'env'), '# secrets\nSG_T="from-the-env-file-0123"\n');
    expect(run(['check-config', file])).toMatchObject({
      code: 1,
      err: expect.stringContaining('auth.tokens[0].token: environment variable SG_T is not set (line 2)'),
    });
    const r = run(['check-config', file, '--env-file', path.join(dir, 'env')]);
    expect(r.code).toBe(0);
    expect(r.out).not.toContain('from-the-env-file');
  });

  it('the serialgate command with an --env-file that does not exist: its own error and exit code, not Node exiting 9 first', () => {
    const file = path.join(tmp(), 'c.yaml');
    writeFileSync(file, 'server: { host: 127.0.0.1, port: 0 }\n');
    const missing = path.join(dir, 'no-such-env');
    // as installed: /usr/local/bin/serialgate is the bundle itself, started by its #! line
    const direct = (args: string[]) => {
      const r = spawnSync(CLI, args, { encoding: 'utf8', cwd: tmpdir() });
      return { code: r.status, err: r.stderr };
    };
    for (const [args, code] of [
      [['check-config', file, '--env-file', missing], 1],
      [['run', '--config', file, '--env-file', missing], 78],
    ] as const) {
      expect(direct([...args]), args[0]).toEqual({ code, err: `${missing}: invalid configuration\n  cannot read: ENOENT\n` });
    }
  });

  it('run --env-file: ${NAME} from the file at start and again at reload (a rotated token applies)', async () => {
    const file = path.join(tmp(), 'c.yaml');
    const envFile = path.join(dir, 'env');
    writeFileSync(file, 'server: { host: 127.0.0.1, port: 0 }\nauth:\n  anonymous: none\n  tokens: [ { token: "${SG_T}", role: viewer } ]\n');
    writeFileSync(envFile, 'SG_T=first-token-0123456789\n');
    const d = start(['run', '--config', file, '--env-file', envFile]);
    const ws = (await d.ready()).replace('http', 'ws') + '/ws';
    (await dashboard(ws, 'first-token-0123456789')).close();
    writeFileSync(envFile, 'SG_T=second-token-0123456789\n');
    d.proc.kill('SIGHUP');
    await d.waitLog('configuration reloaded');
    (await dashboard(ws, 'second-token-0123456789')).close();
    await expect(Dashboard.connect(ws, { token: 'first-token-0123456789' })).rejects.toThrow(/401/);
    d.proc.kill('SIGTERM');
    expect((await d.exited).code).toBe(0);
    expect(d.output).not.toMatch(/first-token|second-token/);
  });

  it('check-config lists every error with path and line, exit 1', () => {
    const file = path.join(tmp(), 'bad.yaml');
    writeFileSync(file, 'server:\n  port: http\ndevices:\n  - id: a\n    serial: { path: /dev/x, parity: odd, baudrat: 1 }\n');
    const r = run(['check-config', file]);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toBe(
      `${file}: invalid configuration\n  server.port: expected a number, got "http" (line 2)\n  devices[0].serial.baudrat: unknown key (did you mean "baudRate"?) (line 5)\n`,
    );
  });

  it('check-config quotes what the file holds safely: escape sequences in keys, a binary file, an empty file', () => {
    const keys = path.join(tmp(), 'keys.yaml');
    // a key that would retitle the terminal and turn it red, and one that would clear it
    writeFileSync(keys, '"\\e]0;pwned\\a\\e[31mkey": 1\n\u001b[2Jfoo\u009b31m: 2\n');
    expect(run(['check-config', keys])).toEqual({
      code: 1,
      out: '',
      err: `${keys}: invalid configuration\n  \\u001b]0;pwned\\u0007\\u001b[31mkey: unknown key (line 1)\n  \\u001b[2Jfoo\\u009b31m: unknown key (line 2)\n`,
    });
    const binary = path.join(dir, 'firmware.bin');
    writeFileSync(binary, Buffer.from('ELF\u0001\u0000\u001b[2J: x\n\u0000\u0000', 'latin1'));
    expect(run(['check-config', binary])).toMatchObject({
      code: 1,
      err: `${binary}: invalid configuration\n  not a YAML text file (a NUL byte): is this the configuration? (line 1)\n`,
    });
    // a valid file whose values hold controls: printed double-quoted with escapes, and it reads back the same
    const values = path.join(dir, 'values.yaml');
    writeFileSync(values, 'devices:\n  - id: a\n    serial: { path: "/dev/x\\e[2J\\u009b31m\\u202eb" }\n');
    const valid = run(['check-config', values]);
    expect(valid.code).toBe(0);
    expect(valid.out).toContain('path: "/dev/x\\e[2J\\u009b31m\\u202eb"');
    expect([...valid.out].filter((c) => ['\u001b', '\u009b', '\u202e'].includes(c))).toEqual([]);
    for (const text of ['', '# only a comment\n', '~\n']) {
      const file = path.join(dir, 'empty.yaml');
      writeFileSync(file, text);
      expect(run(['check-config', file]), JSON.stringify(text)).toMatchObject({
        code: 1,
        err: `${file}: invalid configuration\n  no settings (the file is empty, only comments or \`null\`): nothing to run (a gateway without devices says \`devices: []\`)\n`,
      });
    }
    writeFileSync(path.join(dir, 'none.yaml'), 'devices: []\n');
    expect(run(['check-config', path.join(dir, 'none.yaml')]).code).toBe(0);
  });

  it('run: a missing or invalid config exits 78 with the reason on stderr', () => {
    const r = run(['run', '--config', path.join(tmp(), 'none.yaml')]);
    expect(r.code).toBe(78);
    expect(r.err).toContain('cannot read: ENOENT');
    const bad = path.join(dir, 'bad.yaml');
    writeFileSync(bad, 'log: { level: loud }\n');
    const r2 = run(['run', '--config', bad]);
    expect(r2.code).toBe(78);
    expect(r2.err).toContain('log.level: expected one of fatal, error, warn, info, debug, trace, got "loud" (line 1)');
    // no --config and no default file (cwd is a temp dir, /etc/serialgate does not exist here)
    const r3 = run(['run']);
    expect([r3.code, r3.err]).toEqual([78, expect.stringContaining('no config file')]);
  });

  it('run: a command deadline longer than a Node timer can hold is a config error (it fired after 1 ms: `timeout` at once)', () => {
    const bad = path.join(tmp(), 'long.yaml');
    writeFileSync(bad, 'devices:\n  - id: a\n    serial: { path: /dev/x }\n    commands: { reply: { match: OK, timeoutMs: 3000000000 } }\n');
    // bounded: a daemon that took the config would run until killed
    const r = spawnSync(process.execPath, [CLI, 'run', '--config', bad], { encoding: 'utf8', cwd: tmpdir(), timeout: 10_000 });
    expect([r.status, r.stderr]).toEqual([
      78,
      `${bad}: invalid configuration\n  devices[0].commands.reply.timeoutMs: at most 2147483647 ms (~24.8 days, the longest timer Node can set) (line 4)\n`,
    ]);
  });

  it('--version, --help, usage errors', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(run(['--version'])).toEqual({ code: 0, out: pkg.version + '\n', err: '' });
    const help = run(['--help']);
    expect(help.code).toBe(0);
    for (const s of ['run [--config FILE]', 'check-config FILE', 'ports', 'doctor', 'Examples:', 'Exit codes:']) expect(help.out).toContain(s);
    expect(run([]).code).toBe(2);
    expect(run(['frobnicate'])).toMatchObject({ code: 2, err: expect.stringContaining('unknown command "frobnicate"') });
    expect(run(['run', '--bogus'])).toMatchObject({ code: 2, err: expect.stringContaining("Unknown option '--bogus'") });
    expect(run(['check-config'])).toMatchObject({ code: 2, err: expect.stringContaining('check-config needs a FILE') });
    for (const bad of ['x', '', ' 1', '1e3', '65536']) {
      expect(run(['demo', '--port', bad]), bad).toMatchObject({ code: 2, err: expect.stringContaining('--port: expected 0-65535') });
    }
  });

  it('a demo history folder that cannot be made: the dashboard line says the history is in memory only', async () => {
    const file = path.join(tmp(), 'a-file');
    writeFileSync(file, '');
    const d = start(['demo', '--port', '0', '--link', `/tmp/sg-demo-nodir-${process.pid}`, '--state-dir', path.join(file, 'sub')]);
    await until(`the dashboard line (output: ${d.output})`, () => /dashboard: http/.test(d.output), 20_000);
    expect(d.output).toContain(`history in memory only (${path.join(file, 'sub')} is not usable)`);
  }, 30_000);

  it('demo --link naming a file that is not a symbolic link: exit 1, the file untouched (it was replaced by the PTY link, then removed)', () => {
    const file = path.join(tmp(), 'notes.txt');
    writeFileSync(file, 'precious\n');
    const r = spawnSync(process.execPath, [CLI, 'demo', '--port', '0', '--link', file, '--state-dir', path.join(dir, 'state')], {
      encoding: 'utf8',
      cwd: tmpdir(),
      timeout: 20_000, // bounded: a demo that took the path would run until killed
    });
    expect([r.status, r.stderr]).toEqual([
      1,
      `serialgate demo: could not start: --link ${file} exists and is not a symbolic link: the mock would replace it (choose a path of its own, e.g. /tmp/serialgate-mock0)\n`,
    ]);
    expect(readFileSync(file, 'utf8')).toBe('precious\n');
  });

  it('a port in use: exit 1 with what to do', async () => {
    const net = await import('node:net');
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    cleanup.push(() => new Promise<void>((r) => busy.close(() => r())));
    const port = (busy.address() as import('node:net').AddressInfo).port;
    const r = run(['demo', '--port', String(port), '--link', `/tmp/sg-busy-${process.pid}`, '--state-dir', tmp()]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`serialgate demo: could not start: port ${port} is already in use (another serialgate?); try npm start -- --port 8081\n`);
  });

  it('ports and doctor read the injected roots', () => {
    const root = tmp();
    const r = run(['ports', '--json'], { SERIALGATE_SYSFS_ROOT: path.join(root, 'sys'), SERIALGATE_DEV_ROOT: path.join(root, 'dev') });
    expect([r.code, JSON.parse(r.out)]).toEqual([0, []]);
    writeFileSync(path.join(root, 'passwd'), 'pi:x:1000:1000::/home/pi:/bin/bash\n');
    writeFileSync(path.join(root, 'group'), 'pi:x:1000:\n');
    const doc = run(['doctor', '--user', 'pi'], {
      SERIALGATE_ETC_ROOT: root,
      SERIALGATE_DEV_ROOT: root,
      SERIALGATE_PROC_ROOT: root,
      SERIALGATE_BOOT_ROOT: root,
    });
    expect(doc.code).toBe(1);
    expect(doc.out).toContain('[FAIL] user "pi" can open serial ports: "pi" is not in the dialout group');
  });
});
