/**
 * serialgate as a systemd service, under a real systemd (PID 1 of a Debian 12 container booted
 * with systemd-nspawn), installed with `systemd/install.sh` the way the README tells a user, and
 * checked from the host. The checks run in order on one booted system; each prints what it saw
 * and how long it took (also written to test-results/systemd-system-node<major>.txt).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMosquitto } from '../helpers/mosquitto.js';
import { Waiter } from '../helpers/waiter.js';
import { Container, ensureRootfs, HOST_CA, SRC_INSIDE } from './nspawn.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const RESULTS = path.join(ROOT, 'test-results');
/** each Node the suite runs on (test/system/run.sh: the system's, then Node 24) writes its own files */
const NODE_TAG = `node${process.versions.node.split('.')[0]}`;
const UNIT = 'serialgate.service';
const unitText = readFileSync(path.join(ROOT, 'systemd/serialgate.service'), 'utf8');
/** a `Key=<n>s` setting of the shipped unit, so that the bounds below follow it */
function unitSeconds(key: string): number {
  const m = new RegExp(`^${key}=(\\d+)s$`, 'm').exec(unitText);
  if (!m) throw new Error(`systemd/serialgate.service has no ${key}=<n>s`);
  return Number(m[1]);
}
const WATCHDOG_SEC = unitSeconds('WatchdogSec');
/** the watchdog check's own WatchdogSec (a drop-in): pings every 4 s, a stall killed after 8 */
const WATCHDOG_TEST_SEC = 8;
const RESTART_SEC = unitSeconds('RestartSec');
const TIMEOUT_STOP_SEC = unitSeconds('TimeoutStopSec');
const MEMORY_MAX_MB = Number(/^MemoryMax=(\d+)M$/m.exec(unitText)?.[1]);

const report: string[] = [];
function note(check: string, ms: number, observed: string): void {
  const line = `${check.padEnd(12)} ${(ms / 1000).toFixed(2).padStart(6)} s  ${observed}`;
  report.push(line);
  console.log(`[systemd] ${line}`);
}

let box: Container;
let port: number;

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const p = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return p;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** polls `cond` every 200 ms, at most `timeoutMs` */
async function until<T>(what: string, cond: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(200);
  }
}

/** the config a user writes in README step 3: the mock devices, loopback only */
function configYaml(devices: { id: string; path: string }[]): string {
  return [
    'gateway: { id: sg-system-test }',
    `server: { host: 127.0.0.1, port: ${port} }`,
    'auth:',
    '  tokens: [ { token: "${SG_OPERATOR_TOKEN}", role: operator } ]',
    'devices:',
    ...devices.flatMap((d) => [`  - id: ${d.id}`, `    serial: { path: ${d.path}, baudRate: 115200 }`, '    parser: { format: kv }']),
    '',
  ].join('\n');
}

async function writeConfig(yaml: string): Promise<void> {
  await box.run(`cat > /etc/serialgate/config.yaml <<'EOF'\n${yaml}EOF`);
}

/**
 * A firmware mock on a PTY inside the container, as a transient unit. udev gives a USB adapter
 * root:dialout 0660; a PTY is root:tty 0620, so we do what udev would. `systemctl restart` of
 * the mock is an unplug and replug: a new /dev/pts/N behind the same link.
 */
async function plugMock(id: string, restart = false): Promise<string> {
  const unit = `sg-mock-${id}`;
  const link = `/run/sg-${id}`;
  await box.run(
    restart
      ? `systemctl restart ${unit}`
      : `systemd-run --quiet --unit=${unit} /usr/bin/node /opt/serialgate/dist/firmware-mock/cli.js --link ${link} --interval 200`,
  );
  const r = await box.run(
    `for i in $(seq 100); do [ -e ${link} ] && break; sleep 0.1; done; t=$(readlink -e ${link}) && chgrp dialout "$t" && chmod 0660 "$t" && echo "$t"`,
  );
  return r.stdout.trim();
}

interface Msg {
  type: string;
  device?: string;
  state?: string;
  devices?: { id: string }[];
  [k: string]: unknown;
}

class Dashboard {
  readonly msgs: Msg[] = [];
  readonly waiter = new Waiter();
  closed: { code: number; at: number } | undefined;
  readonly ws: WebSocket;

  constructor() {
    this.ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    this.ws.on('message', (d) => {
      this.msgs.push(JSON.parse(String(d)) as Msg);
      this.waiter.wake();
    });
    this.ws.on('close', (code) => {
      this.closed = { code, at: Date.now() };
      this.waiter.wake();
    });
    this.ws.on('error', () => this.waiter.wake());
  }

  /** resolves with the index of the first message from `from` on that matches */
  async next(what: string, match: (m: Msg) => boolean, from = 0, timeoutMs = 10_000): Promise<number> {
    const find = () => this.msgs.findIndex((m, i) => i >= from && match(m));
    await this.waiter.waitFor(
      what,
      () => find() >= 0,
      timeoutMs,
      () => `last messages: ${JSON.stringify(this.msgs.slice(-3))}`,
    );
    return find();
  }
}

/**
 * A dashboard that completes the handshake and then never writes again: it never answers the
 * close frame. Records the close code the gateway sent.
 */
async function deafDashboard(): Promise<{ socket: Socket; closeCode: () => number | undefined }> {
  const socket = connect(port, '127.0.0.1');
  let buf = Buffer.alloc(0);
  let headerDone = false;
  let code: number | undefined;
  socket.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    if (!headerDone) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      headerDone = true;
      buf = buf.subarray(end + 4);
    }
    // server frames are unmasked: opcode, 7-bit length (126: 16-bit follows; 127: 64-bit)
    while (buf.length >= 2) {
      const len7 = buf[1] & 0x7f;
      const hdr = len7 === 126 ? 4 : len7 === 127 ? 10 : 2;
      if (buf.length < hdr) return;
      const len = len7 === 126 ? buf.readUInt16BE(2) : len7 === 127 ? Number(buf.readBigUInt64BE(2)) : len7;
      if (buf.length < hdr + len) return;
      if ((buf[0] & 0x0f) === 0x8 && len >= 2) code = buf.readUInt16BE(hdr);
      buf = buf.subarray(hdr + len);
    }
  });
  socket.on('error', () => undefined);
  await new Promise<void>((r) => socket.once('connect', () => r()));
  socket.write(
    `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  const end = Date.now() + 5_000;
  while (!headerDone && Date.now() < end) await sleep(20);
  if (!headerDone) throw new Error('the deaf dashboard got no handshake answer');
  return { socket, closeCode: () => code };
}

async function healthz(): Promise<{ status: number; body: string } | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2_000) });
    return { status: res.status, body: await res.text() };
  } catch {
    return undefined;
  }
}

async function journal(since: string, grep?: string): Promise<string> {
  const r = await box.exec(`journalctl -u ${UNIT} --no-pager -o short-precise --since '${since}'${grep ? ` --grep '${grep}'` : ''}`);
  return r.stdout;
}

async function containerNow(): Promise<string> {
  return (await box.run(`date '+%Y-%m-%d %H:%M:%S.%N' | cut -c1-23`)).stdout.trim();
}

function securityScore(output: string): number {
  const m = /Overall exposure level for serialgate\.service: (\d+\.\d+)/.exec(output);
  if (!m) throw new Error(`no exposure level in: ${output}`);
  return Number(m[1]);
}

beforeAll(async () => {
  mkdirSync(RESULTS, { recursive: true });
  // install.sh copies dist/ (npm run test:systemd builds first)
  if (!existsSync(path.join(ROOT, 'dist/src/cli.cjs'))) throw new Error('dist/ missing: npm run build (or npm run test:systemd)');
  const t0 = Date.now();
  const fs = ensureRootfs((l) => console.log(`[systemd] ${l}`));
  note('rootfs', Date.now() - t0, fs.builtMs === undefined ? `cached (${fs.root})` : `built by debootstrap (${fs.root})`);
  port = await freePort();
  const t1 = Date.now();
  box = await Container.boot({
    root: fs.root,
    checkout: ROOT,
    consoleLog: path.join(RESULTS, `systemd-console-${NODE_TAG}.log`),
    name: `sg-test-${process.pid}`,
  });
  const version = (await box.run('systemctl --version | head -1')).stdout.trim();
  note(
    'boot',
    Date.now() - t1,
    `Node ${process.version} bound in as /usr/bin/node; PID 1 is ${version}; cgroup ${(await box.run('stat -fc %T /sys/fs/cgroup')).stdout.trim()}`,
  );
});

afterAll(async () => {
  if (box) {
    const off = await box.poweroff();
    note('poweroff', off.ms, off.clean ? 'clean (systemctl poweroff, nspawn exited)' : 'NOT clean: killed after the bound');
  }
  writeFileSync(path.join(RESULTS, `systemd-system-${NODE_TAG}.txt`), report.join('\n') + '\n');
  console.log(`\n[systemd] summary\n${report.join('\n')}`);
});

describe('serialgate under systemd (PID 1 in systemd-nspawn)', () => {
  let dash: Dashboard;

  it('installs with systemd/install.sh as the README says', async () => {
    const env: Record<string, string> = {};
    if (process.env.NODE_EXTRA_CA_CERTS) env.NODE_EXTRA_CA_CERTS = HOST_CA;
    const r = await box.run(`cd ${SRC_INSIDE} && systemd/install.sh`, { timeoutMs: 300_000, env });
    expect(r.stdout).toContain('created system user serialgate');
    expect(r.stdout).toContain('serialgate install: done');
    expect((await box.run('id -nG serialgate')).stdout.split(/\s+/)).toContain('dialout');
    expect((await box.run('stat -c %a:%U:%G /etc/serialgate/env')).stdout.trim()).toBe('640:root:serialgate');
    note('install', r.ms, 'install.sh: user serialgate (+dialout), /opt/serialgate with npm ci --omit=dev, unit, config, env');
  });

  it('a config that fails at start: failed with exit 78 and no restart loop', async () => {
    await writeConfig(configYaml([]).replace('server: {', 'server: { bogus: 1,'));
    const start = await box.exec(`systemctl start ${UNIT}`);
    expect(start.code).not.toBe(0);
    // RestartPreventExitStatus=78: wait two restart delays, the unit must stay down
    await sleep(2 * RESTART_SEC * 1000 + 500);
    const s = await box.show(UNIT, 'ActiveState', 'Result', 'ExecMainStatus', 'NRestarts');
    expect(s).toEqual({ ActiveState: 'failed', Result: 'exit-code', ExecMainStatus: '78', NRestarts: '0' });
    expect(await journal('-1min', 'server.bogus')).toMatch(/server\.bogus/);
    await box.run(`systemctl reset-failed ${UNIT}`);
    note(
      'bad-config',
      start.ms,
      `systemctl start failed in ${start.ms} ms; ${JSON.stringify(s)} after ${2 * RESTART_SEC + 0.5} s; journal names server.bogus`,
    );
  });

  it('systemctl start returns once the gateway listens (Type=notify, READY=1)', async () => {
    const pts = await plugMock('mock0');
    await writeConfig(configYaml([{ id: 'mock0', path: '/run/sg-mock0' }]));
    const start = await box.run(`systemctl enable --now ${UNIT}`);
    // no retry: if start returned before the server listened, this connection is refused
    const h = await healthz();
    expect(h?.status).toBe(200);
    const s = await box.show(UNIT, 'ActiveState', 'SubState', 'StatusText');
    expect(s.ActiveState).toBe('active');
    expect(s.SubState).toBe('running');
    expect(s.StatusText).toBe(`listening on http://127.0.0.1:${port}`);
    // the main process is the one systemd started, with the memory settings: on a Node with
    // process.execve it replaced itself (the same PID) to add the flag the unit cannot give
    const { MainPID: pid } = await box.show(UNIT, 'MainPID');
    const cmdline = (await box.run(`tr '\\0' ' ' < /proc/${pid}/cmdline`)).stdout.trim();
    const execve = typeof (process as { execve?: unknown }).execve === 'function';
    expect(cmdline).toBe(
      // (`--` before the script on the re-exec: Node would take an --env-file among the arguments as its own)
      `/usr/bin/node ${execve ? '--no-concurrent-recompilation -- ' : ''}/opt/serialgate/dist/src/cli.cjs run --config /etc/serialgate/config.yaml`,
    );
    note(
      'start',
      start.ms,
      `enable --now → active (running), StatusText "${s.StatusText}"; /healthz 200 at once; mock on ${pts}; MainPID ${pid}: ${cmdline}`,
    );
  });

  it('a dashboard on the host gets readings from the mock PTY, also after a replug', async () => {
    const t0 = Date.now();
    dash = new Dashboard();
    const hello = dash.msgs[await dash.next('hello', (m) => m.type === 'hello')];
    expect(hello.devices?.map((d) => d.id)).toEqual(['mock0']);
    const first = await dash.next('a reading from mock0', (m) => m.type === 'reading' && m.device === 'mock0');
    const tFirst = Date.now() - t0;
    const t1 = Date.now();
    const pts = await plugMock('mock0', true);
    const down = await dash.next('mock0 down', (m) => m.type === 'state' && m.device === 'mock0' && m.state === 'down', first);
    await dash.next('a reading from mock0 after the replug', (m) => m.type === 'reading' && m.device === 'mock0', down, 15_000);
    expect(dash.closed).toBeUndefined();
    note(
      'readings',
      Date.now() - t0,
      `first reading ${tFirst} ms after connect; replug (new ${pts}) → state down → readings again ${Date.now() - t1} ms after the replug`,
    );
  });

  it('systemctl reload applies a new device with the dashboard still connected', async () => {
    await plugMock('mock1');
    const before = await box.show(UNIT, 'MainPID');
    await writeConfig(
      configYaml([
        { id: 'mock0', path: '/run/sg-mock0' },
        { id: 'mock1', path: '/run/sg-mock1' },
      ]),
    );
    const from = dash.msgs.length;
    const t0 = Date.now();
    await box.run(`systemctl reload ${UNIT}`);
    await dash.next('a reading from mock1', (m) => m.type === 'reading' && m.device === 'mock1', from);
    const ms = Date.now() - t0;
    expect(dash.closed).toBeUndefined();
    expect(await box.show(UNIT, 'MainPID', 'ActiveState')).toEqual({ ...before, ActiveState: 'active' });
    note('reload', ms, `same MainPID ${before.MainPID}, dashboard still open, first mock1 reading ${ms} ms after systemctl reload`);
  });

  it('a flood on a device topic (10 MB/s of 60 KB MQTT payloads) under MemoryMax: the service survives, the other device loses nothing', async () => {
    // the broker on the host (nspawn shares its network): the gateway inside connects to 127.0.0.1 like a user's
    const broker = await startMosquitto();
    const pub = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0, connectTimeout: 5_000 });
    try {
      const serial = configYaml([
        { id: 'mock0', path: '/run/sg-mock0' },
        { id: 'mock1', path: '/run/sg-mock1' },
      ]);
      await writeConfig(
        serial.replace(
          'devices:\n',
          `mqtt: { url: "${broker.url}" }\ndevices:\n  - { id: flood, mqtt: { topic: flood/x }, parser: { format: json } }\n`,
        ),
      );
      const before = await box.show(UNIT, 'MainPID', 'NRestarts');
      await box.run(`systemctl reload ${UNIT}`);
      const from = dash.msgs.length;
      await until(
        'the flood device up',
        async () => ((await healthz())?.body.includes('{"id":"flood","source":"mqtt","state":"up"}') ? true : undefined),
        15_000,
      );
      // 10 MB/s for FLOOD_S seconds: the measured growth past 256M took ~20 s (README "A device that floods")
      const FLOOD_S = 20;
      const payload = (i: number) => JSON.stringify({ i, s: 'x'.repeat(60_000) });
      const t0 = Date.now();
      let sent = 0;
      while (Date.now() - t0 < FLOOD_S * 1000) {
        const due = Math.floor(((Date.now() - t0) / 1000) * 170);
        while (sent < due) pub.publish('flood/x', payload(sent++));
        await sleep(20);
      }
      const floodEnd = dash.msgs.length;
      // the serial device kept its readings through the flood, and still has them
      const mockDuring = dash.msgs.slice(from, floodEnd).filter((m) => m.type === 'reading' && m.device === 'mock0').length;
      expect(mockDuring).toBeGreaterThanOrEqual(FLOOD_S * 2);
      await dash.next('a mock0 reading after the flood', (m) => m.type === 'reading' && m.device === 'mock0', floodEnd);
      const floodReadings = dash.msgs.slice(from).filter((m) => m.type === 'reading' && m.device === 'flood').length;
      expect(await box.show(UNIT, 'MainPID', 'NRestarts', 'ActiveState')).toEqual({ ...before, ActiveState: 'active' });
      expect(dash.closed).toBeUndefined();
      const metricsText = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const dropped = Number(/^serialgate_input_dropped_total\{device="flood"\} (\d+)/m.exec(metricsText)?.[1] ?? 0);
      expect(dropped).toBeGreaterThan(0);
      // then one payload of 200 MiB, retained (every reconnect would meet it again): held whole by
      // mqtt.js it would take the gateway past MemoryMax; the broker drops it for the gateway (the
      // MQTT 5 Maximum Packet Size it announced), and a marker behind it arrives
      const tBig = Date.now();
      await pub.publishAsync('flood/x', Buffer.alloc(200 * 1024 * 1024, 0x20), { qos: 1, retain: true });
      const bigAt = dash.msgs.length;
      await pub.publishAsync('flood/x', JSON.stringify({ marker: 1 }), { qos: 1 });
      await dash.next(
        'the marker behind the 200 MiB payload',
        (m) => m.type === 'reading' && m.device === 'flood' && (m.values as Record<string, unknown> | undefined)?.marker === 1,
        bigAt,
        15_000,
      );
      const bigMs = Date.now() - tBig;
      expect(await box.show(UNIT, 'MainPID', 'NRestarts', 'ActiveState')).toEqual({ ...before, ActiveState: 'active' });
      // the main process's peak RSS (VmHWM): what MemoryMax would have killed it at
      const hwm = Number(/^VmHWM:\s+(\d+) kB$/m.exec((await box.run(`cat /proc/${before.MainPID}/status`)).stdout)?.[1]);
      // checked here, not left to the kernel: under this nspawn the unit's MemoryMax is not enforced
      // (without the Maximum Packet Size the 200 MiB payload took the daemon to 486 MiB, alive)
      expect(hwm / 1024).toBeLessThan(MEMORY_MAX_MB);
      note(
        'flood',
        Date.now() - t0,
        `${sent} payloads of 60 KB in ${FLOOD_S} s on flood/x: ${floodReadings} became readings, ${dropped} dropped over devices[].inputRate; ` +
          `mock0 sent ${mockDuring} readings meanwhile; same MainPID ${before.MainPID}, NRestarts ${before.NRestarts}; ` +
          `peak RSS (VmHWM) ${(hwm / 1024).toFixed(0)} MiB, under MemoryMax=${MEMORY_MAX_MB}M; then a retained 200 MiB payload, and a marker behind it ${bigMs} ms later`,
      );
    } finally {
      await pub.publishAsync('flood/x', '', { qos: 1, retain: true }).catch(() => undefined);
      await pub.endAsync();
      await broker.stop();
      await writeConfig(
        configYaml([
          { id: 'mock0', path: '/run/sg-mock0' },
          { id: 'mock1', path: '/run/sg-mock1' },
        ]),
      );
      await box.run(`systemctl reload ${UNIT}`);
    }
  });

  it('DevicePolicy=closed refuses a device class not allowed; a DeviceAllow drop-in admits it', async () => {
    // a misc-class node (10:200, like /dev/net/tun) with serial-port permissions: only the
    // device ACL stands in the way. Refused by the cgroup: EPERM; allowed: whatever the driver says.
    await box.run('mknod -m 0660 /dev/sg-misc0 c 10 200 && chgrp dialout /dev/sg-misc0');
    await writeConfig(
      configYaml([
        { id: 'mock0', path: '/run/sg-mock0' },
        { id: 'misc0', path: '/dev/sg-misc0' },
      ]),
    );
    const since = await containerNow();
    const t0 = Date.now();
    await box.run(`systemctl reload ${UNIT}`);
    const refused = await until('misc0 refused', async () => (await journal(since, 'cannot open serial port')).match(/.*misc0.*/)?.[0], 10_000);
    expect(refused).toMatch(/Operation not permitted/);
    const since2 = await containerNow();
    await box.run(
      `mkdir -p /etc/systemd/system/${UNIT}.d && printf '[Service]\\nDeviceAllow=char-misc rw\\n' > /etc/systemd/system/${UNIT}.d/50-misc.conf && systemctl daemon-reload && systemctl restart ${UNIT}`,
    );
    const admitted = await until(
      'misc0 opened or refused by its driver',
      async () => (await journal(since2, 'misc0')).match(/.*cannot open serial port.*|.*serial port open.*/)?.[0],
      10_000,
    );
    expect(admitted).not.toMatch(/Operation not permitted/);
    // back to the shipped unit for the checks that follow
    await box.run(`rm /etc/systemd/system/${UNIT}.d/50-misc.conf && systemctl daemon-reload`);
    await writeConfig(
      configYaml([
        { id: 'mock0', path: '/run/sg-mock0' },
        { id: 'mock1', path: '/run/sg-mock1' },
      ]),
    );
    await box.run(`systemctl restart ${UNIT}`);
    const err = (line: string) => /"err":"([^"]*)"/.exec(line)?.[1] ?? /serial port open/.exec(line)?.[0];
    note('device-acl', Date.now() - t0, `without DeviceAllow=char-misc: "${err(refused)}"; with the drop-in: "${err(admitted)}"`);
  });

  it('the watchdog restarts a gateway whose event loop is stalled (SIGSTOP)', async () => {
    // the shipped WatchdogSec, then a shorter one from a drop-in for this check: the pings and
    // the kill work the same, the test waits 15 s less for a ping and 22 s less for the kill
    expect((await box.show(UNIT, 'WatchdogUSec')).WatchdogUSec).toBe(`${WATCHDOG_SEC}s`);
    await box.run(
      `mkdir -p /etc/systemd/system/${UNIT}.d && printf '[Service]\\nWatchdogSec=${WATCHDOG_TEST_SEC}s\\n' > /etc/systemd/system/${UNIT}.d/60-watchdog.conf && systemctl daemon-reload && systemctl restart ${UNIT}`,
    );
    expect((await box.show(UNIT, 'WatchdogUSec')).WatchdogUSec).toBe(`${WATCHDOG_TEST_SEC}s`);
    // the pings arrive (from the systemd-notify child, through PrivateUsers): systemd moves
    // WatchdogTimestamp on each one, every WatchdogSec/2
    const w0 = (await box.show(UNIT, 'WatchdogTimestampMonotonic')).WatchdogTimestampMonotonic;
    const tPing = Date.now();
    await until(
      'a WATCHDOG=1 ping',
      async () => ((await box.show(UNIT, 'WatchdogTimestampMonotonic')).WatchdogTimestampMonotonic !== w0 ? true : undefined),
      (WATCHDOG_TEST_SEC / 2 + 5) * 1000,
    );
    const pingMs = Date.now() - tPing;
    const before = await box.show(UNIT, 'MainPID', 'NRestarts');
    const since = await containerNow();
    // µs on the clock the journal stamps its entries with (one kernel: the host's)
    // the name systemd logs the kill with: "node" on Node 20, "MainThread" on Node 24 (it names its main thread)
    const comm = (await box.run(`cat /proc/${before.MainPID}/comm`)).stdout.trim();
    expect(comm).toMatch(/^(node|MainThread)$/);
    const stoppedUs = Number((await box.run(`date +%s%6N && kill -STOP ${before.MainPID}`)).stdout.trim());
    const t0 = Date.now();
    const after = await until(
      'a new main process, active',
      async () => {
        const s = await box.show(UNIT, 'MainPID', 'NRestarts', 'ActiveState', 'ActiveEnterTimestampMonotonic');
        return s.ActiveState === 'active' && s.MainPID !== before.MainPID && s.MainPID !== '0' ? s : undefined;
      },
      (WATCHDOG_TEST_SEC + RESTART_SEC + 15) * 1000,
    );
    const ms = Date.now() - t0;
    expect(Number(after.NRestarts)).toBe(Number(before.NRestarts) + 1);
    const entries = (await box.run(`journalctl -u ${UNIT} --no-pager -o json --since '${since}' --output-fields=MESSAGE`)).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { MESSAGE: string; __REALTIME_TIMESTAMP: string });
    const at = (re: RegExp): number => {
      const e = entries.find((x) => re.test(x.MESSAGE));
      expect(e, `journal line ${re}`).toBeDefined();
      return (Number(e!.__REALTIME_TIMESTAMP) - stoppedUs) / 1e6;
    };
    const timeout = at(new RegExp(`: Watchdog timeout \\(limit ${WATCHDOG_TEST_SEC}s\\)!$`));
    const killed = at(new RegExp(`: Killing process ${before.MainPID} \\(${comm}\\) with signal SIGABRT\\.$`));
    const scheduled = at(/: Scheduled restart job, restart counter is at/);
    const ready = at(/"msg":"ready"/);
    // the pings come every WatchdogSec/2: the stall is seen within WatchdogSec of SIGSTOP; the
    // restart comes RestartSec after the SIGABRT'd process is gone (the abort itself takes a moment)
    expect(timeout).toBeLessThanOrEqual(WATCHDOG_TEST_SEC + 1);
    expect(scheduled - timeout).toBeLessThan(RESTART_SEC + 2);
    expect(ready).toBeLessThan(WATCHDOG_TEST_SEC + RESTART_SEC + 5);
    // the lines the README tells a user to look for, as systemd wrote them
    writeFileSync(
      path.join(RESULTS, `systemd-watchdog-${NODE_TAG}.journal`),
      (await journal(since, 'Watchdog|SIGABRT|Main process exited|Failed with result|Scheduled restart|Started|"ready"')) + '\n',
    );
    const f = (x: number) => `${x.toFixed(2)} s`;
    note(
      'watchdog',
      ms,
      `a ping seen after ${pingMs} ms of waiting; SIGSTOP ${before.MainPID}; journal, seconds after it: "Watchdog timeout (limit ${WATCHDOG_TEST_SEC}s)!" ${f(timeout)}, "Killing process ${before.MainPID} (${comm}) with signal SIGABRT" ${f(killed)}, ` +
        `"Scheduled restart job, restart counter is at ${after.NRestarts}" ${f(scheduled)}, new MainPID ${after.MainPID} ready ${f(ready)}`,
    );
    // the stalled process took the old dashboard's socket with it
    dash.ws.terminate();
    // back to the shipped unit for the checks that follow
    await box.run(`rm /etc/systemd/system/${UNIT}.d/60-watchdog.conf && systemctl daemon-reload && systemctl restart ${UNIT}`);
  });

  it('the sandbox: state directory writable, the rest read-only or hidden', async () => {
    const { MainPID: pid } = await box.show(UNIT, 'MainPID');
    await box.run('mkdir -p /home/alice && echo secret > /home/alice/notes && echo secret > /root/notes && echo secret > /tmp/host-notes');
    // root in the service's mount namespace: a failure is the mount, not file permissions
    const inNs = (cmd: string) => box.exec(`nsenter -t ${pid} -m -- ${cmd}`);
    const t0 = Date.now();
    const results: string[] = [];
    for (const p of ['/etc/serialgate/probe', '/opt/serialgate/probe', '/usr/local/bin/probe', '/usr/bin/probe', '/var/probe', '/boot/probe']) {
      const r = await inNs(`sh -c 'echo x > ${p}'`);
      expect(r.code, p).not.toBe(0);
      expect(r.stderr, p).toMatch(/Read-only file system/);
      results.push(`${p}: EROFS`);
    }
    const asUser = await inNs(
      `setpriv --reuid=serialgate --regid=serialgate --init-groups sh -c 'echo x > /var/lib/serialgate/probe && stat -c %U:%a /var/lib/serialgate'`,
    );
    expect(asUser.code, asUser.stderr).toBe(0);
    expect(asUser.stdout.trim()).toBe('serialgate:750');
    results.push('/var/lib/serialgate: written by serialgate');
    for (const p of ['/home/alice/notes', '/root/notes', '/tmp/host-notes']) {
      const r = await inNs(`test -e ${p}`);
      expect(r.code, `${p} visible to the service`).not.toBe(0);
    }
    results.push('/home, /root, the system /tmp: not visible');
    const svcTmp = await inNs(`sh -c 'echo x > /tmp/service-notes'`);
    expect(svcTmp.code).toBe(0);
    expect((await box.exec('test -e /tmp/service-notes')).code).not.toBe(0);
    results.push("the service's /tmp: private");
    const status = (await box.run(`cat /proc/${pid}/status; cat /proc/${pid}/uid_map`)).stdout;
    expect(status).toMatch(/^CapEff:\s+0000000000000000$/m);
    expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
    expect(status).toMatch(/^Seccomp:\s+2$/m);
    // PrivateUsers=yes: a user namespace that maps root and the service user only
    expect(status).not.toMatch(/^\s*0\s+0\s+4294967295$/m);
    results.push('CapEff 0, NoNewPrivs 1, Seccomp 2, own user namespace');
    note('sandbox', Date.now() - t0, results.join('; '));
  });

  it('systemctl stop finishes well inside TimeoutStopSec with dashboards connected, one never answering the close frame', async () => {
    const open = new Dashboard();
    await open.next('hello', (m) => m.type === 'hello');
    const deaf = await deafDashboard();
    const since = await containerNow();
    const t0 = Date.now();
    const stop = await box.run(`systemctl stop ${UNIT}`, { timeoutMs: (TIMEOUT_STOP_SEC + 10) * 1000 });
    const ms = Date.now() - t0;
    expect(ms).toBeLessThan(TIMEOUT_STOP_SEC * 1000);
    const s = await box.show(UNIT, 'Result', 'ExecMainCode', 'ExecMainStatus');
    // the gateway ended by itself (CLD_EXITED) with status 0, not by systemd's SIGKILL at
    // TimeoutStopSec: the deaf client is dropped after the shutdown grace, long before any deadline
    expect(s.ExecMainCode).toBe('1');
    expect(s.ExecMainStatus).toBe('0');
    expect(s.Result).toBe('success');
    await open.waiter.waitFor('the dashboard closed', () => open.closed !== undefined, 5_000);
    expect(open.closed?.code).toBe(1001);
    expect(deaf.closeCode()).toBe(1001);
    deaf.socket.destroy();
    const why = (await journal(since, 'shutdown|stopped|Deactivated|Failed'))
      .split('\n')
      .filter(Boolean)
      .map((l) => l.replace(/^.*?(node|systemd)\[\d+\]: /, ''))
      .join(' | ');
    note(
      'stop',
      stop.ms,
      `systemctl stop ${ms} ms (TimeoutStopSec=${TIMEOUT_STOP_SEC}s), exit status ${s.ExecMainStatus}, Result=${s.Result}; journal: ${why}; ws client closed 1001 after ${open.closed!.at - t0} ms; deaf client got a 1001 close frame`,
    );
  });

  it('systemd-analyze security inside the booted system gives the offline score, ≤ 1.5', async () => {
    const t0 = Date.now();
    const inside = securityScore((await box.exec(`systemd-analyze security --no-pager ${UNIT}`)).stdout);
    const offline = securityScore(
      spawnSync('systemd-analyze', ['security', '--offline=yes', '--no-pager', path.join(ROOT, 'systemd/serialgate.service')], { encoding: 'utf8' })
        .stdout,
    );
    expect(inside).toBe(offline);
    expect(inside).toBeLessThanOrEqual(1.5);
    note('security', Date.now() - t0, `inside ${inside}, offline ${offline}`);
  });
});
