import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { doctorRootsFromEnv, formatChecks, runDoctor, type DoctorRoots } from '../../../src/cli/doctor.js';
import { parseConfig } from '../../../src/config/load.js';

let dir: string;
let roots: DoctorRoots;

function write(rel: string, text: string): string {
  const p = path.join(dir, rel);
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, text);
  return p;
}

/** passwd/group where the fake device files' owning gid is "dialout" (files belong to whoever runs the test). */
function accounts(opts: { inDialout: boolean }): void {
  const gid = statSync(dir).gid;
  write('etc/passwd', `root:x:0:0:root:/root:/bin/bash\nserialgate:x:990:990::/var/lib/serialgate:/usr/sbin/nologin\n`);
  write('etc/group', `root:x:0:\ndialout:x:${gid}:${opts.inDialout ? 'pi,serialgate' : 'pi'}\nserialgate:x:990:\n`);
}

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'sg-doctor-'));
  roots = { etc: path.join(dir, 'etc'), dev: path.join(dir, 'dev'), proc: path.join(dir, 'proc'), boot: path.join(dir, 'boot') };
  for (const r of Object.values(roots)) mkdirSync(r, { recursive: true });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const byName = async (opts: Parameters<typeof runDoctor>[0]) => new Map((await runDoctor(opts)).map((c) => [c.name.split(':')[0], c]));

describe('doctor on fake trees: each check gives a clear verdict', () => {
  it('a well set-up Pi: all ok', async () => {
    accounts({ inDialout: true });
    symlinkSync('ttyAMA0', path.join(roots.dev, 'serial0'));
    write('dev/serial/by-id/usb-Arduino-if00', '');
    chmodSync(path.join(roots.dev, 'serial/by-id/usb-Arduino-if00'), 0o660);
    write('boot/firmware/cmdline.txt', 'console=tty1 root=PARTUUID=1234 rootfstype=ext4 quiet\n');
    write('proc/1/cmdline', '/sbin/init\0splash\0');
    write('proc/812/cmdline', '/sbin/agetty\0-o\0-p -- \\u\0--noclear\0-\0linux\0'.replace('-\0linux', 'tty1\0linux'));
    const config = parseConfig('devices:\n  - id: bench1\n    serial: { path: /dev/serial/by-id/usb-Arduino-if00 }\n', 'c.yaml', {});
    const checks = await runDoctor({ roots, user: 'serialgate', config });
    expect(checks.map((c) => [c.verdict, c.name])).toEqual([
      ['ok', 'user "serialgate" can open serial ports'],
      ['ok', 'no login console on the UART'],
      ['ok', '/dev/serial0 is the full UART'],
      // a regular file stands in for the tty: present and permitted, but flagged as not a char device
      ['warn', 'device bench1: /dev/serial/by-id/usb-Arduino-if00'],
    ]);
    expect(formatChecks(checks)).toMatch(/no problems, 1 warning\(s\)\n$/);
  });

  it('user not in dialout → fail with the usermod command; no such user → fail; root → warn', async () => {
    accounts({ inDialout: false });
    let c = (await byName({ roots, user: 'serialgate' })).get('user "serialgate" can open serial ports');
    expect(c).toMatchObject({ verdict: 'fail', hint: expect.stringContaining('sudo usermod -aG dialout serialgate') });
    c = (await byName({ roots, user: 'nobody2' })).get('user "nobody2" can open serial ports');
    expect(c).toMatchObject({ verdict: 'fail', message: expect.stringContaining('no user "nobody2"') });
    c = (await byName({ roots, user: 'root' })).get('user "root" can open serial ports');
    expect(c?.verdict).toBe('warn');
  });

  it('dialout as the primary group counts', async () => {
    write('etc/passwd', 'pi:x:1000:20::/home/pi:/bin/bash\n');
    write('etc/group', 'dialout:x:20:\n');
    expect((await runDoctor({ roots, user: 'pi' }))[0].verdict).toBe('ok');
  });

  it('a getty on the UART: enabled unit, running process, kernel console — each named', async () => {
    accounts({ inDialout: true });
    mkdirSync(path.join(roots.etc, 'systemd/system/getty.target.wants'), { recursive: true });
    symlinkSync('/lib/systemd/system/serial-getty@.service', path.join(roots.etc, 'systemd/system/getty.target.wants/serial-getty@ttyS0.service'));
    write('proc/733/cmdline', '/sbin/agetty\x00-o\x00-p -- \\u\x00--keep-baud\x00115200,57600,38400,9600\x00ttyAMA0\x00vt220\x00');
    write('proc/self/cmdline', 'ignored');
    write('boot/cmdline.txt', 'console=serial0,115200 console=tty1 root=/dev/mmcblk0p2\n');
    const c = (await byName({ roots, user: 'serialgate' })).get('no login console on the UART');
    expect(c?.verdict).toBe('fail');
    expect(c?.message).toBe(
      `the UART is taken: serial-getty@ttyS0.service is enabled; process 733 (agetty) holds ttyAMA0; kernel console=serial0,115200 in ${roots.boot}/cmdline.txt`,
    );
    expect(c?.hint).toContain('raspi-config nonint do_serial_cons 1');
  });

  it('/dev/serial0 → ttyS0 warns about the mini UART and Bluetooth; no serial0 → skip', async () => {
    accounts({ inDialout: true });
    expect((await byName({ roots, user: 'serialgate' })).get('/dev/serial0 is the full UART')?.verdict).toBe('skip');
    symlinkSync('ttyS0', path.join(roots.dev, 'serial0'));
    const c = (await byName({ roots, user: 'serialgate' })).get('/dev/serial0 is the full UART');
    expect(c).toMatchObject({ verdict: 'warn', hint: expect.stringContaining('dtoverlay=disable-bt') });
    expect(c?.message).toContain('mini UART');
  });

  it('configured ports: missing → fail with the ports hint; not permitted → fail; no config → skip', async () => {
    accounts({ inDialout: false });
    write('dev/ttyUSB0', '');
    chmodSync(path.join(roots.dev, 'ttyUSB0'), 0o660);
    const config = parseConfig(
      'devices:\n  - { id: gone, serial: { path: /dev/ttyACM7 } }\n  - { id: denied, serial: { path: /dev/ttyUSB0 } }\n',
      'c.yaml',
      {},
    );
    const checks = await byName({ roots, user: 'serialgate', config });
    expect(checks.get('device gone')).toMatchObject({
      verdict: 'fail',
      message: 'not present (unplugged, or a different name)',
      hint: expect.stringContaining('serialgate ports'),
    });
    expect(checks.get('device denied')).toMatchObject({ verdict: 'fail', message: 'present, but "serialgate" cannot read and write it (mode 660)' });
    expect((await byName({ roots, user: 'serialgate' })).get('configured serial ports')?.verdict).toBe('skip');
    expect(formatChecks(await runDoctor({ roots, user: 'serialgate', config }))).toMatch(/3 problem\(s\) found\n$/);
  });

  it('roots from the environment', () => {
    expect(doctorRootsFromEnv({})).toEqual({ etc: '/etc', dev: '/dev', proc: '/proc', boot: '/boot' });
    expect(doctorRootsFromEnv({ SERIALGATE_ETC_ROOT: '/f/etc', SERIALGATE_PROC_ROOT: '/f/proc' })).toMatchObject({ etc: '/f/etc', proc: '/f/proc' });
  });
});
