/**
 * `serialgate ports`: serial ports with their stable names, from sysfs and /dev/serial symlinks
 * only (no udevadm, no libudev: works in a minimal image and against a fake tree in tests).
 */
import { readdir, readFile, readlink, realpath } from 'node:fs/promises';
import path from 'node:path';

export interface Roots {
  /** /sys, or a fake tree (env SERIALGATE_SYSFS_ROOT) */
  sys: string;
  /** /dev, or a fake tree (env SERIALGATE_DEV_ROOT) */
  dev: string;
}

export interface PortInfo {
  /** /dev/ttyUSB0 */
  path: string;
  /** /dev/serial/by-id/… links pointing at it (stable across replugging) */
  byId: string[];
  /** /dev/serial/by-path/… links (stable per physical USB socket) */
  byPath: string[];
  /** other aliases such as /dev/serial0 on a Raspberry Pi */
  aliases: string[];
  driver?: string;
  vendorId?: string;
  productId?: string;
  manufacturer?: string;
  product?: string;
  serialNumber?: string;
}

export function rootsFromEnv(env: NodeJS.ProcessEnv = process.env): Roots {
  return { sys: env.SERIALGATE_SYSFS_ROOT || '/sys', dev: env.SERIALGATE_DEV_ROOT || '/dev' };
}

const readText = (p: string): Promise<string | undefined> =>
  readFile(p, 'utf8').then(
    (s) => s.trim(),
    () => undefined,
  );
const list = (p: string): Promise<string[]> => readdir(p).catch(() => []);

/** name → links in dir that resolve to /dev/<name> (by basename: links are relative, ../../ttyUSB0) */
async function linksIn(dir: string, devPrefix: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const entry of (await list(dir)).sort()) {
    const target = await readlink(path.join(dir, entry)).catch(() => undefined);
    if (!target) continue;
    const name = path.basename(target);
    out.set(name, [...(out.get(name) ?? []), path.posix.join(devPrefix, entry)]);
  }
  return out;
}

/** USB attributes live on the USB device: the first ancestor of the tty's device with idVendor. */
async function usbInfo(deviceDir: string): Promise<Partial<PortInfo>> {
  let dir = deviceDir;
  for (let i = 0; i < 5; i++) {
    const vendorId = await readText(path.join(dir, 'idVendor'));
    if (vendorId) {
      return {
        vendorId,
        productId: await readText(path.join(dir, 'idProduct')),
        manufacturer: await readText(path.join(dir, 'manufacturer')),
        product: await readText(path.join(dir, 'product')),
        serialNumber: await readText(path.join(dir, 'serial')),
      };
    }
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return {};
}

/**
 * A tty is a serial port when it has a device behind it. The 8250 driver registers 4-32 ttyS
 * placeholders on a PC whether a UART exists or not; those have `type` 0 (PORT_UNKNOWN).
 */
export async function listPorts(roots: Roots): Promise<PortInfo[]> {
  const ttyClass = path.join(roots.sys, 'class', 'tty');
  const byId = await linksIn(path.join(roots.dev, 'serial', 'by-id'), '/dev/serial/by-id');
  const byPath = await linksIn(path.join(roots.dev, 'serial', 'by-path'), '/dev/serial/by-path');
  const aliases = new Map<string, string[]>();
  for (const alias of ['serial0', 'serial1']) {
    const target = await readlink(path.join(roots.dev, alias)).catch(() => undefined);
    if (target) aliases.set(path.basename(target), [...(aliases.get(path.basename(target)) ?? []), `/dev/${alias}`]);
  }

  const ports: PortInfo[] = [];
  for (const name of await list(ttyClass)) {
    const deviceDir = await realpath(path.join(ttyClass, name, 'device')).catch(() => undefined);
    if (!deviceDir) continue; // virtual terminals, ptys
    const type = await readText(path.join(ttyClass, name, 'type'));
    if (type === '0') continue;
    const driverLink = await realpath(path.join(deviceDir, 'driver')).catch(() => undefined);
    ports.push({
      path: `/dev/${name}`,
      byId: byId.get(name) ?? [],
      byPath: byPath.get(name) ?? [],
      aliases: aliases.get(name) ?? [],
      ...(driverLink ? { driver: path.basename(driverLink) } : {}),
      ...(await usbInfo(deviceDir)),
    });
  }
  return ports.sort((a, b) => a.path.localeCompare(b.path, 'en', { numeric: true }));
}

/** Human-readable listing: one block per port, the name to put in the config first. */
export function formatPorts(ports: PortInfo[]): string {
  if (!ports.length) return 'no serial ports found (is the device plugged in? `dmesg | tail` shows what the kernel saw)\n';
  return (
    ports
      .map((p) => {
        const lines = [p.path];
        const ids = p.vendorId ? `${p.vendorId}:${p.productId ?? '????'}` : undefined;
        const desc = [p.manufacturer, p.product].filter(Boolean).join(' ');
        if (ids || desc || p.driver) lines.push(`  device:  ${[ids, desc, p.driver && `(${p.driver})`].filter(Boolean).join(' ')}`);
        if (p.serialNumber) lines.push(`  serial:  ${p.serialNumber}`);
        for (const l of p.byId) lines.push(`  by-id:   ${l}`);
        for (const l of p.byPath) lines.push(`  by-path: ${l}`);
        for (const l of p.aliases) lines.push(`  alias:   ${l}`);
        return lines.join('\n');
      })
      .join('\n') + '\n\nUse the by-id name in the config: it stays the same when the device is replugged.\n'
  );
}
