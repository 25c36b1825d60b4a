/**
 * `serialgate doctor`: the checks that explain most "no data from my device" reports on a
 * Raspberry Pi. Every check gives a verdict and, when not ok, what to do. All roots are
 * injectable so the checks run against fake trees in tests.
 */
import { constants } from 'node:fs';
import { readdir, readFile, readlink, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config/schema.js';

type Verdict = 'ok' | 'warn' | 'fail' | 'skip';

export interface Check {
  name: string;
  verdict: Verdict;
  message: string;
  /** what to do about it */
  hint?: string;
}

export interface DoctorRoots {
  /** /etc (passwd, group, systemd/system) — env SERIALGATE_ETC_ROOT */
  etc: string;
  /** /dev — env SERIALGATE_DEV_ROOT */
  dev: string;
  /** /proc — env SERIALGATE_PROC_ROOT */
  proc: string;
  /** /boot (cmdline.txt, firmware/cmdline.txt) — env SERIALGATE_BOOT_ROOT */
  boot: string;
}

export interface DoctorOptions {
  roots: DoctorRoots;
  /** the user the service runs as: `serialgate` when it exists, else the current user */
  user: string;
  config?: Config;
}

export function doctorRootsFromEnv(env: NodeJS.ProcessEnv = process.env): DoctorRoots {
  return {
    etc: env.SERIALGATE_ETC_ROOT || '/etc',
    dev: env.SERIALGATE_DEV_ROOT || '/dev',
    proc: env.SERIALGATE_PROC_ROOT || '/proc',
    boot: env.SERIALGATE_BOOT_ROOT || '/boot',
  };
}

const readText = (p: string): Promise<string | undefined> => readFile(p, 'utf8').catch(() => undefined);

interface Account {
  uid: number;
  gid: number;
  /** every group id: primary + supplementary */
  gids: Set<number>;
  groupNames: Set<string>;
}

/** /etc/passwd + /etc/group → the user's ids (no getent: works on fake trees). */
async function account(etc: string, user: string): Promise<Account | undefined> {
  const passwd = (await readText(path.join(etc, 'passwd'))) ?? '';
  const entry = passwd
    .split('\n')
    .map((l) => l.split(':'))
    .find((f) => f[0] === user);
  if (!entry) return undefined;
  const acc: Account = { uid: Number(entry[2]), gid: Number(entry[3]), gids: new Set([Number(entry[3])]), groupNames: new Set() };
  for (const line of ((await readText(path.join(etc, 'group'))) ?? '').split('\n')) {
    const [name, , gid, members = ''] = line.split(':');
    if (!name) continue;
    if (Number(gid) === acc.gid || members.split(',').includes(user)) {
      acc.gids.add(Number(gid));
      acc.groupNames.add(name);
    }
  }
  return acc;
}

async function checkDialout(opts: DoctorOptions): Promise<Check> {
  const name = `user "${opts.user}" can open serial ports`;
  const acc = await account(opts.roots.etc, opts.user);
  if (!acc)
    return {
      name,
      verdict: 'fail',
      message: `no user "${opts.user}" in ${opts.roots.etc}/passwd`,
      hint: 'run systemd/install.sh, which creates the serialgate user',
    };
  if (acc.uid === 0)
    return {
      name,
      verdict: 'warn',
      message: 'running as root: works, but the service should not',
      hint: 'use the serialgate service user (systemd/install.sh)',
    };
  if (acc.groupNames.has('dialout')) return { name, verdict: 'ok', message: `"${opts.user}" is in the dialout group` };
  return {
    name,
    verdict: 'fail',
    message: `"${opts.user}" is not in the dialout group, which owns /dev/ttyUSB*, /dev/ttyACM* and the UART`,
    hint: `sudo usermod -aG dialout ${opts.user}  (then restart the service; a login shell needs a new login)`,
  };
}

const UARTS = ['ttyS0', 'ttyAMA0', 'serial0'];

async function checkGetty(roots: DoctorRoots): Promise<Check> {
  const name = 'no login console on the UART';
  const holders: string[] = [];
  for (const dir of ['systemd/system/getty.target.wants', 'systemd/system/multi-user.target.wants']) {
    for (const entry of await readdir(path.join(roots.etc, dir)).catch(() => [] as string[])) {
      if (UARTS.some((u) => entry === `serial-getty@${u}.service`)) holders.push(`${entry} is enabled`);
    }
  }
  for (const pid of await readdir(roots.proc).catch(() => [] as string[])) {
    if (!/^[0-9]+$/.test(pid)) continue;
    const argv = ((await readText(path.join(roots.proc, pid, 'cmdline'))) ?? '').split('\0').filter(Boolean);
    if (!argv.length || !path.basename(argv[0]).includes('getty')) continue;
    const tty = argv.slice(1).find((a) => UARTS.includes(a.replace(/^\/dev\//, '')));
    if (tty) holders.push(`process ${pid} (${path.basename(argv[0])}) holds ${tty}`);
  }
  for (const f of ['cmdline.txt', 'firmware/cmdline.txt']) {
    const cmdline = await readText(path.join(roots.boot, f));
    const console = cmdline?.split(/\s+/).find((w) => /^console=(serial0|ttyS0|ttyAMA0)\b/.test(w));
    if (console) holders.push(`kernel ${console} in ${path.join(roots.boot, f)}`);
  }
  if (!holders.length) return { name, verdict: 'ok', message: 'no getty or kernel console on ttyS0 / ttyAMA0 / serial0' };
  return {
    name,
    verdict: 'fail',
    message: `the UART is taken: ${holders.join('; ')}`,
    hint: 'sudo raspi-config nonint do_serial_cons 1  (or: sudo systemctl disable --now serial-getty@ttyS0.service serial-getty@ttyAMA0.service, and remove console=serial0,… from cmdline.txt), then reboot',
  };
}

async function checkSerial0(roots: DoctorRoots): Promise<Check> {
  const name = '/dev/serial0 is the full UART';
  const target = await readlink(path.join(roots.dev, 'serial0')).catch(() => undefined);
  if (!target) return { name, verdict: 'skip', message: 'no /dev/serial0 (not a Raspberry Pi, or enable_uart=1 missing in config.txt)' };
  const tty = path.basename(target);
  if (tty === 'ttyAMA0') return { name, verdict: 'ok', message: '/dev/serial0 → ttyAMA0 (PL011, a stable baud rate)' };
  if (tty === 'ttyS0') {
    return {
      name,
      verdict: 'warn',
      message: '/dev/serial0 → ttyS0, the mini UART: its baud rate follows the core clock, and the PL011 (ttyAMA0) is given to Bluetooth',
      hint: 'for a reliable UART add "dtoverlay=disable-bt" (or "dtoverlay=miniuart-bt") to /boot/firmware/config.txt, run "sudo systemctl disable hciuart", reboot',
    };
  }
  return { name, verdict: 'ok', message: `/dev/serial0 → ${tty}` };
}

/** Can `acc` read and write a file with this mode and owner? (what open(O_RDWR) will say) */
function canReadWrite(acc: Account, mode: number, uid: number, gid: number): boolean {
  const rw = constants.S_IROTH | constants.S_IWOTH;
  if (acc.uid === 0) return true;
  if (acc.uid === uid) return ((mode >> 6) & rw) === rw;
  if (acc.gids.has(gid)) return ((mode >> 3) & rw) === rw;
  return (mode & rw) === rw;
}

async function checkPorts(opts: DoctorOptions): Promise<Check[]> {
  const serial = (opts.config?.devices ?? []).filter((d) => d.serial);
  if (!opts.config) return [{ name: 'configured serial ports', verdict: 'skip', message: 'no config file given (--config FILE)' }];
  if (!serial.length) return [{ name: 'configured serial ports', verdict: 'skip', message: 'the config has no serial devices' }];
  const acc = await account(opts.roots.etc, opts.user);
  const checks: Check[] = [];
  for (const d of serial) {
    const configured = d.serial!.path;
    // configured paths are absolute /dev/… names; look them up under the (possibly fake) dev root
    const onDisk = configured.startsWith('/dev/') ? path.join(opts.roots.dev, configured.slice(5)) : configured;
    const name = `device ${d.id}: ${configured}`;
    const st = await stat(onDisk).catch((e: NodeJS.ErrnoException) => e);
    if (st instanceof Error) {
      checks.push({
        name,
        verdict: 'fail',
        message: st.code === 'ENOENT' ? 'not present (unplugged, or a different name)' : `cannot stat: ${st.code ?? st.message}`,
        hint: '`serialgate ports` lists what is plugged in and its /dev/serial/by-id name',
      });
    } else if (acc && !canReadWrite(acc, st.mode, st.uid, st.gid)) {
      checks.push({
        name,
        verdict: 'fail',
        message: `present, but "${opts.user}" cannot read and write it (mode ${(st.mode & 0o777).toString(8)})`,
        hint: `sudo usermod -aG dialout ${opts.user}`,
      });
    } else if (!st.isCharacterDevice()) {
      checks.push({ name, verdict: 'warn', message: 'present, but not a character device (a typo pointing at a regular file?)' });
    } else {
      checks.push({ name, verdict: 'ok', message: `present and readable by "${opts.user}"` });
    }
  }
  return checks;
}

export async function runDoctor(opts: DoctorOptions): Promise<Check[]> {
  return [await checkDialout(opts), await checkGetty(opts.roots), await checkSerial0(opts.roots), ...(await checkPorts(opts))];
}

const MARK: Record<Verdict, string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL', skip: 'skip' };

export function formatChecks(checks: Check[]): string {
  const lines = checks.map((c) => `[${MARK[c.verdict]}] ${c.name}: ${c.message}${c.hint ? `\n       → ${c.hint}` : ''}`);
  const failed = checks.filter((c) => c.verdict === 'fail').length;
  const warned = checks.filter((c) => c.verdict === 'warn').length;
  lines.push('', failed ? `${failed} problem(s) found` : warned ? `no problems, ${warned} warning(s)` : 'all good');
  return lines.join('\n') + '\n';
}
