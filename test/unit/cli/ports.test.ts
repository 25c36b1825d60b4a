import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatPorts, listPorts, rootsFromEnv, type Roots } from '../../../src/cli/ports.js';

let dir: string;
let roots: Roots;

/** A sysfs tty entry whose `device` link points into a fake /sys/devices tree. */
function tty(name: string, deviceRel: string, attrs: Record<string, Record<string, string>> = {}, type?: string): void {
  const devDir = path.join(roots.sys, 'devices', deviceRel);
  mkdirSync(devDir, { recursive: true });
  for (const [rel, files] of Object.entries(attrs)) {
    const d = path.join(roots.sys, 'devices', rel);
    mkdirSync(d, { recursive: true });
    for (const [f, v] of Object.entries(files)) writeFileSync(path.join(d, f), v + '\n');
  }
  const cls = path.join(roots.sys, 'class', 'tty', name);
  mkdirSync(cls, { recursive: true });
  symlinkSync(path.relative(cls, devDir), path.join(cls, 'device'));
  if (type !== undefined) writeFileSync(path.join(cls, 'type'), type + '\n');
}

function link(dirRel: string, name: string, target: string): void {
  const d = path.join(roots.dev, dirRel);
  mkdirSync(d, { recursive: true });
  symlinkSync(target, path.join(d, name));
}

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'sg-ports-'));
  roots = { sys: path.join(dir, 'sys'), dev: path.join(dir, 'dev') };
  mkdirSync(path.join(roots.sys, 'class', 'tty'), { recursive: true });
  mkdirSync(roots.dev, { recursive: true });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('listPorts on a fake sysfs + /dev tree', () => {
  it('a USB serial adapter, a CDC-ACM board and the Pi UART, with stable names and USB ids', async () => {
    const usb = 'platform/usb/1-1.2';
    tty('ttyUSB0', `${usb}/1-1.2:1.0/ttyUSB0`, { [usb]: { idVendor: '1a86', idProduct: '7523', product: 'USB Serial', manufacturer: 'QinHeng' } });
    const acm = 'platform/usb/1-1.3';
    tty('ttyACM0', `${acm}/1-1.3:1.0`, {
      [acm]: { idVendor: '2341', idProduct: '0043', manufacturer: 'Arduino (www.arduino.cc)', serial: '75830333' },
    });
    tty('ttyAMA0', 'platform/soc/fe201000.serial', {}, '91');
    // the 8250 placeholder without hardware, a virtual console and a pty have no place in the list
    tty('ttyS3', 'platform/serial8250/ttyS3', {}, '0');
    mkdirSync(path.join(roots.sys, 'class', 'tty', 'tty1'));
    mkdirSync(path.join(roots.sys, 'class', 'tty', 'ptmx'));
    link('serial/by-id', 'usb-1a86_USB_Serial-if00-port0', '../../ttyUSB0');
    link('serial/by-id', 'usb-Arduino__www.arduino.cc__0043_75830333-if00', '../../ttyACM0');
    link('serial/by-path', 'platform-fd500000.pcie-pci-0000:01:00.0-usb-0:1.2:1.0-port0', '../../ttyUSB0');
    link('.', 'serial0', 'ttyAMA0');

    const ports = await listPorts(roots);
    expect(ports).toEqual([
      {
        path: '/dev/ttyACM0',
        byId: ['/dev/serial/by-id/usb-Arduino__www.arduino.cc__0043_75830333-if00'],
        byPath: [],
        aliases: [],
        vendorId: '2341',
        productId: '0043',
        manufacturer: 'Arduino (www.arduino.cc)',
        product: undefined,
        serialNumber: '75830333',
      },
      { path: '/dev/ttyAMA0', byId: [], byPath: [], aliases: ['/dev/serial0'] },
      {
        path: '/dev/ttyUSB0',
        byId: ['/dev/serial/by-id/usb-1a86_USB_Serial-if00-port0'],
        byPath: ['/dev/serial/by-path/platform-fd500000.pcie-pci-0000:01:00.0-usb-0:1.2:1.0-port0'],
        aliases: [],
        vendorId: '1a86',
        productId: '7523',
        manufacturer: 'QinHeng',
        product: 'USB Serial',
        serialNumber: undefined,
      },
    ]);
    const text = formatPorts(ports);
    expect(text).toContain(
      '/dev/ttyUSB0\n  device:  1a86:7523 QinHeng USB Serial\n  by-id:   /dev/serial/by-id/usb-1a86_USB_Serial-if00-port0\n  by-path: /dev/serial/by-path/',
    );
    expect(text).toContain('/dev/ttyAMA0\n  alias:   /dev/serial0');
    expect(text).toContain('Use the by-id name');
  });

  it('sorts numerically and reads the driver name', async () => {
    for (const n of [10, 2, 1]) tty(`ttyUSB${n}`, `usb/x${n}/ttyUSB${n}`);
    mkdirSync(path.join(roots.sys, 'bus', 'usb-serial', 'drivers', 'ch341-uart'), { recursive: true });
    symlinkSync(
      path.join(roots.sys, 'bus', 'usb-serial', 'drivers', 'ch341-uart'),
      path.join(roots.sys, 'devices', 'usb', 'x1', 'ttyUSB1', 'driver'),
    );
    const ports = await listPorts(roots);
    expect(ports.map((p) => p.path)).toEqual(['/dev/ttyUSB1', '/dev/ttyUSB2', '/dev/ttyUSB10']);
    expect(ports[0].driver).toBe('ch341-uart');
  });

  it('an empty tree (or no /dev/serial at all) says so instead of printing nothing', async () => {
    expect(await listPorts(roots)).toEqual([]);
    expect(formatPorts([])).toMatch(/^no serial ports found/);
    expect(await listPorts({ sys: path.join(dir, 'none'), dev: path.join(dir, 'none') })).toEqual([]);
  });

  it('roots come from SERIALGATE_SYSFS_ROOT / SERIALGATE_DEV_ROOT, else /sys and /dev', () => {
    expect(rootsFromEnv({})).toEqual({ sys: '/sys', dev: '/dev' });
    expect(rootsFromEnv({ SERIALGATE_SYSFS_ROOT: '/x/sys', SERIALGATE_DEV_ROOT: '/x/dev' })).toEqual({ sys: '/x/sys', dev: '/x/dev' });
  });
});
