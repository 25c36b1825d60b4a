/**
 * The stream saved by a clean stop (SIGTERM: an upgrade, `systemctl restart`) for the next start.
 * Written whole to a temporary file, fsynced, renamed over: a power cut mid-save leaves the old
 * state or the new one. Taken (deleted) at start, so that after a later crash no stale snapshot
 * claims the stream went on from where an earlier clean stop left it: the next run then draws a
 * new epoch and dashboards are told `reset`, never a silent jump.
 */
import { closeSync, constants, fstatSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { StreamSnapshot } from '../domain.js';
import { frame, unframe } from './framing.js';

const FILE = 'stream.snap';

export function saveStream(dir: string, snap: StreamSnapshot): number {
  const tmp = path.join(dir, `${FILE}.tmp`);
  const buf = frame(snap);
  // never through a symbolic link (its target would be overwritten): ELOOP, and the save fails
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o666);
  try {
    writeFileSync(fd, buf);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path.join(dir, FILE));
  syncDir(dir);
  return buf.length;
}

export type TakenStream = { snapshot: StreamSnapshot } | { none: 'absent' } | { none: 'damaged'; error: string };

/** Reads and removes the snapshot. */
export function takeStream(dir: string): TakenStream {
  const file = path.join(dir, FILE);
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ELOOP') return { none: 'absent' };
    unlinkSync(file); // the link, not its target
    syncDir(dir);
    return { none: 'damaged', error: 'a symbolic link, not read' };
  }
  let buf: Buffer | undefined;
  try {
    if (fstatSync(fd).isFile()) buf = readFileSync(fd);
  } finally {
    closeSync(fd);
  }
  if (!buf) return { none: 'damaged', error: 'not a regular file' };
  unlinkSync(file);
  syncDir(dir);
  // one record, as large as the resume buffer it holds (hub.resumeBuffer readings: 5 MB and more),
  // not a segment's batch: the file's own length bounds it, and its CRC still vouches for it
  const u = unframe(buf, buf.length);
  const snap = u.records[0];
  if (u.records.length !== 1 || u.droppedBytes > 0 || !isSnapshot(snap))
    return { none: 'damaged', error: `${buf.length} bytes, not one valid record` };
  return { snapshot: snap };
}

function isSnapshot(v: unknown): v is StreamSnapshot {
  const s = v as Partial<StreamSnapshot> | null;
  return (
    typeof s === 'object' &&
    s !== null &&
    typeof s.epoch === 'string' &&
    Number.isSafeInteger(s.seq) &&
    Array.isArray(s.readings) &&
    Array.isArray(s.last)
  );
}

/** a rename or unlink is durable only once the directory is */
function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
