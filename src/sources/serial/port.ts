/**
 * The port itself: open it (locked), watch its path, close it without letting unsent output reach
 * the device later. SerialDevice decides when; these only do it.
 */
import { watch as fsWatch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { SerialPort } from 'serialport';
import type { DeviceConfig } from '../../config/schema.js';

/** which file a path named when the port was opened: a change means another device took the path */
export interface FileIdentity {
  dev: number;
  ino: number;
  rdev: number;
}

/** Open the port of `s`; rejects with the error explainOpenError() words for the user. */
export async function openPort(s: NonNullable<DeviceConfig['serial']>): Promise<{ port: SerialPort; identity: FileIdentity }> {
  // Loaded with the first port, not with the daemon: serialport stays outside the bundle (its
  // native addon), so loading it is ~60 CommonJS files through Node's resolver, which gets hot
  // enough for V8 to compile path.normalizeString with Turbofan and Maglev: 5-10 MB of RSS
  // (compiler pages of the node binary, the files' sources) that a gateway without a serial
  // device never needs (README "Footprint"). The mqtt.js source is loaded the same way.
  const { SerialPort } = await import('serialport');
  const port = new SerialPort({
    path: s.path,
    baudRate: s.baudRate,
    dataBits: s.dataBits,
    stopBits: s.stopBits,
    parity: s.parity,
    autoOpen: false,
    // an exclusive flock: a second gateway (or a second device entry) on the same port fails loudly
    lock: true,
  });
  // stat first: a Node errno (ENOENT, EACCES on a parent dir) beats the binding's plain string
  const st = await stat(s.path);
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  return { port, identity: { dev: st.dev, ino: st.ino, rdev: st.rdev } };
}

/** inotify on the directory of `path`, calling back when that entry changes; undefined if unsupported */
export function watchEntry(path: string, onChange: () => void): FSWatcher | undefined {
  const name = basename(path);
  try {
    const w = fsWatch(dirname(path), { persistent: false }, (_event, file) => {
      if (file === null || file === name) onChange();
    });
    // the directory itself may vanish (/dev/serial/by-id with its last device): the poll remains
    w.on('error', () => w.close());
    return w;
  } catch {
    return undefined;
  }
}

/**
 * Discard what the kernel still holds for the port, then close it. Unsent output must go: the
 * ack of a stuck command already said `timeout`, so the rest of it must not reach the device when
 * it reads again, and a real tty's close waits up to its closing_wait (30 s) for output to drain.
 * (serialport may still push a last chunk of a stuck write between the flush and the close.)
 */
export function closePort(port: SerialPort): Promise<void> {
  return new Promise((resolve) => {
    if (!port.isOpen) return resolve();
    port.flush(() => (port.isOpen ? port.close(() => resolve()) : resolve()));
  });
}
