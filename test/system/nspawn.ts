/**
 * A Debian system with systemd as PID 1, for the system test: a minimal root file system made
 * once by debootstrap (cached, keyed by release and recipe), booted with systemd-nspawn.
 *
 * - `--volatile=overlay`: the cached tree stays read-only under a tmpfs, so every boot starts
 *   from the same pristine system and nothing a test does survives it.
 * - The host's network namespace (no --private-network): a `ws` client on the host reaches the
 *   gateway at 127.0.0.1 inside, and nothing else is needed to reach npm for `install.sh`.
 * - `SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1` and `--system-call-filter=bpf`: the systemd inside runs
 *   on cgroup v2 and may load BPF programs, which is how it enforces DevicePolicy/DeviceAllow.
 *   Without them (this host mounts a hybrid cgroup tree, nspawn does not delegate the v1 devices
 *   controller, and its seccomp filter refuses bpf()), systemd silently skips the device ACL and
 *   the device checks would pass for the wrong reason.
 * - No machined on the host (PID 1 is not systemd here): `--register=no --keep-unit`, and
 *   commands enter the container with nsenter(1) on the PID of its init.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const RELEASE = 'bookworm';
/** bump when the recipe below changes: a new key builds a new tree, old ones can be deleted */
const RECIPE = 1;
const PACKAGES = ['systemd', 'systemd-sysv', 'dbus', 'python3', 'procps', 'ca-certificates'];
export const CACHE_DIR = process.env.SG_SYSTEMD_CACHE ?? '/var/cache/serialgate-systemd-test';
const STAMP = 'etc/serialgate-system-test';
/** inside the container */
export const SRC_INSIDE = '/src/serialgate';
/** the host's CA bundle, when the host trusts an extra CA (NODE_EXTRA_CA_CERTS) */
export const HOST_CA = '/usr/local/share/serialgate-host-ca.crt';
const PATH_INSIDE = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** the first `deb.debian.org`-style mirror apt uses here, so debootstrap needs no other network */
function debianMirror(): string {
  if (process.env.SG_DEBIAN_MIRROR) return process.env.SG_DEBIAN_MIRROR;
  for (const f of ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list']) {
    if (!existsSync(f)) continue;
    const m = /^(?:URIs:\s*|deb\s+(?:\[[^\]]*\]\s+)?)(\S+\/debian)\/?\s*$/m.exec(readFileSync(f, 'utf8'));
    if (m) return m[1];
  }
  return 'http://deb.debian.org/debian';
}

function requireTool(tool: string, pkg: string): void {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
    throw new Error(`${tool} not found: apt-get install ${pkg} (the system test boots Debian with systemd-nspawn)`);
  }
}

/** the cached root file system, built first if missing; `builtMs` is set when this call built it */
export function ensureRootfs(log: (line: string) => void): { root: string; builtMs?: number } {
  if (process.getuid?.() !== 0) throw new Error('the system test needs root (debootstrap, systemd-nspawn): sudo npm run test:systemd');
  requireTool('systemd-nspawn', 'systemd-container');
  requireTool('nsenter', 'util-linux');
  const root = path.join(CACHE_DIR, `debian-${RELEASE}-r${RECIPE}`);
  if (existsSync(path.join(root, STAMP))) return { root };
  requireTool('debootstrap', 'debootstrap');
  const started = Date.now();
  const tmp = `${root}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(CACHE_DIR, { recursive: true });
  const mirror = debianMirror();
  log(`building the ${RELEASE} root file system in ${root} (debootstrap from ${mirror}, once)`);
  const r = spawnSync('debootstrap', ['--variant=minbase', `--include=${PACKAGES.join(',')}`, RELEASE, tmp, mirror], {
    encoding: 'utf8',
    timeout: 900_000,
  });
  if (r.status !== 0) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(`debootstrap failed (${r.status ?? r.signal}): ${(r.stderr || r.stdout).slice(-2000)}`);
  }
  // npm is bound from the host at boot (below); its command is a symlink into that tree, as the
  // NodeSource package makes it
  symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', path.join(tmp, 'usr/bin/npm'));
  writeFileSync(path.join(tmp, 'etc/hostname'), 'sg-system-test\n');
  writeFileSync(path.join(tmp, STAMP), `debootstrap ${RELEASE} ${PACKAGES.join(' ')} (recipe ${RECIPE})\n`);
  try {
    renameSync(tmp, root);
  } catch (err) {
    // a concurrent run built it first: theirs is as good as ours
    rmSync(tmp, { recursive: true, force: true });
    if (!existsSync(path.join(root, STAMP))) throw err;
  }
  return { root, builtMs: Date.now() - started };
}

export class Container {
  private constructor(
    private readonly nspawn: ChildProcess,
    readonly leader: number,
    private readonly exited: Promise<unknown>,
  ) {}

  /**
   * Boots `root` with the host's node and npm (read-only: Debian 12's nodejs is 18, the gateway
   * needs 20) and the checkout at /src/serialgate (read-only: install.sh copies out of it).
   * Resolves once `systemctl is-system-running --wait` answers.
   */
  static async boot(opts: { root: string; checkout: string; consoleLog: string; name: string }): Promise<Container> {
    const npmDir = realpathSync(
      path.join(path.dirname(realpathSync(spawnSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).stdout.trim())), '..'),
    );
    const npmCache = path.join(CACHE_DIR, 'npm-cache');
    mkdirSync(npmCache, { recursive: true });
    const binds = [
      `--bind-ro=${process.execPath}:/usr/bin/node`,
      `--bind-ro=${npmDir}:/usr/lib/node_modules/npm`,
      `--bind-ro=${opts.checkout}:${SRC_INSIDE}`,
      // a persistent npm cache: the second run's `npm ci` is local
      `--bind=${npmCache}:/root/.npm`,
    ];
    // a TLS-intercepting proxy between this host and npm: its CA, for install.sh's npm ci
    const ca = process.env.NODE_EXTRA_CA_CERTS;
    if (ca && existsSync(ca)) binds.push(`--bind-ro=${realpathSync(ca)}:${HOST_CA}`);
    const nspawn = spawn(
      'systemd-nspawn',
      [
        '--boot',
        '--quiet',
        '--register=no',
        '--keep-unit',
        '--console=read-only',
        '--volatile=overlay',
        '--system-call-filter=bpf',
        `--machine=${opts.name}`,
        '-D',
        opts.root,
        ...binds,
      ],
      { env: { ...process.env, SYSTEMD_NSPAWN_UNIFIED_HIERARCHY: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const out = createWriteStream(opts.consoleLog);
    nspawn.stdout!.pipe(out);
    nspawn.stderr!.pipe(out);
    const exited = once(nspawn, 'exit');
    // the test runner dying must not leave a booted system behind: killing the container's
    // init ends its whole PID namespace
    const reap = () => {
      for (const pid of [c?.leader, nspawn.pid]) {
        try {
          if (pid) process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    };
    process.once('exit', reap);
    void exited.then(() => process.removeListener('exit', reap));
    let c: Container | undefined;
    try {
      c = new Container(nspawn, await waitForLeader(nspawn, 15_000), exited);
      // the manager's private socket appears a moment after init starts: until then systemctl fails
      const end = Date.now() + 60_000;
      for (;;) {
        const up = await c.exec('systemctl is-system-running --wait', { timeoutMs: 60_000 });
        if (/^(running|degraded)$/m.test(up.stdout)) return c;
        if (Date.now() > end) throw new Error(`container did not boot: ${up.stdout}${up.stderr}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    } catch (err) {
      if (c) await c.poweroff(10_000);
      else nspawn.kill('SIGKILL');
      throw err;
    }
  }

  /** runs a bash script inside the container (as root, all its namespaces), bounded */
  exec(script: string, opts: { timeoutMs?: number; env?: Record<string, string> } = {}): Promise<ExecResult> {
    const started = Date.now();
    const env: NodeJS.ProcessEnv = { PATH: PATH_INSIDE, LANG: 'C.UTF-8', SYSTEMD_PAGER: '', SYSTEMD_COLORS: '0', ...opts.env };
    const child = spawn('nsenter', ['-t', String(this.leader), '-a', '--', '/bin/bash', '-c', script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timeoutMs = opts.timeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`timed out after ${timeoutMs} ms inside the container: ${script}\n${stdout}${stderr}`));
      }, timeoutMs);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr, ms: Date.now() - started });
      });
    });
  }

  /** like exec, but a non-zero exit is an error that quotes the output */
  async run(script: string, opts: { timeoutMs?: number; env?: Record<string, string> } = {}): Promise<ExecResult> {
    const r = await this.exec(script, opts);
    if (r.code !== 0) throw new Error(`exit ${r.code} inside the container: ${script}\n${r.stdout}${r.stderr}`);
    return r;
  }

  /** `systemctl show -p …` as a record */
  async show(unit: string, ...props: string[]): Promise<Record<string, string>> {
    const r = await this.run(`systemctl show ${unit} ${props.map((p) => `-p ${p}`).join(' ')}`);
    return Object.fromEntries(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
  }

  /** an orderly poweroff, bounded; then SIGKILL for whatever is left (the container's init ends the rest) */
  async poweroff(timeoutMs = 30_000): Promise<{ clean: boolean; ms: number }> {
    const started = Date.now();
    if (this.nspawn.exitCode !== null || this.nspawn.signalCode !== null) return { clean: true, ms: 0 };
    await this.exec('systemctl poweroff --no-block', { timeoutMs: 10_000 }).catch(() => undefined);
    const clean = await Promise.race([this.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), timeoutMs))]);
    if (!clean) {
      try {
        process.kill(this.leader, 'SIGKILL');
      } catch {
        // already gone
      }
      this.nspawn.kill('SIGKILL');
      await Promise.race([this.exited, new Promise((r) => setTimeout(r, 5_000))]);
    }
    return { clean, ms: Date.now() - started };
  }
}

/** the container's init: nspawn's child whose PID namespace calls it 1 */
async function waitForLeader(nspawn: ChildProcess, timeoutMs: number): Promise<number> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (nspawn.exitCode !== null) throw new Error(`systemd-nspawn exited with ${nspawn.exitCode} before booting`);
    const kids = spawnSync('pgrep', ['-P', String(nspawn.pid)], { encoding: 'utf8' })
      .stdout.trim()
      .split('\n')
      .filter(Boolean);
    for (const k of kids) {
      try {
        const nspid = /^NSpid:\s+(.*)$/m
          .exec(readFileSync(`/proc/${k}/status`, 'utf8'))?.[1]
          .trim()
          .split(/\s+/);
        if (nspid && nspid.length > 1 && nspid.at(-1) === '1') return Number(k);
      } catch {
        // exited between pgrep and the read
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no container init under systemd-nspawn ${nspawn.pid} within ${timeoutMs} ms`);
}
