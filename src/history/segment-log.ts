/**
 * Append-only segment files for one kind of record: `<kind>-<period start ms>.seg`, one file per
 * period. Written in batches (one append and one fsync per file touched), never rewritten: old
 * data goes by deleting whole files, and a torn tail (power cut mid-append) is cut back at open.
 */
import { closeSync, constants, fstatSync, fsyncSync, ftruncateSync, lstatSync, openSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { frame, unframe } from './framing.js';
import { HISTORY_WRITE_CHUNK_BYTES } from '../bounds.js';

export interface SegmentDamage {
  file: string;
  /** bytes cut from the end of the file (a torn append, or damage and what followed it) */
  droppedBytes: number;
  /** why the whole file went (unreadable), or why the tail could not be cut */
  error?: string;
}

export interface Loaded {
  /** oldest file first, each file's records in order (a record may mean something only in its file: StreamMark) */
  files: { file: string; records: unknown[] }[];
  damage: SegmentDamage[];
}

export interface WriteCounters {
  bytes: number;
  fsyncs: number;
}

export class SegmentLog {
  private readonly pattern: RegExp;

  constructor(
    private readonly dir: string,
    private readonly kind: string,
    private readonly periodMs: number,
    private readonly counters: WriteCounters,
  ) {
    this.pattern = new RegExp(`^${kind}-(\\d+)\\.seg$`);
  }

  /** segment files oldest first, with their period start */
  private files(): { file: string; start: number }[] {
    return readdirSync(this.dir)
      .map((name) => ({ name, m: this.pattern.exec(name) }))
      .filter((e) => e.m)
      .map((e) => ({ file: path.join(this.dir, e.name), start: Number(e.m![1]) }))
      .sort((a, b) => a.start - b.start);
  }

  /** Every valid record, oldest file first; torn or damaged tails are cut so appends follow valid data. */
  load(): Loaded {
    const out: Loaded = { files: [], damage: [] };
    for (const { file } of this.files()) {
      try {
        const buf = readOwn(file);
        if (!buf) {
          out.damage.push({ file, droppedBytes: 0, error: 'not a regular file (a symbolic link, a directory): left alone' });
          continue;
        }
        const u = unframe(buf);
        out.files.push({ file, records: u.records });
        if (u.droppedBytes > 0) out.damage.push(cutTail(file, u.validBytes, u.droppedBytes));
      } catch (err) {
        // unreadable (EIO on a worn card): the start must go on
        out.damage.push({ file, droppedBytes: sizeOf(file), error: (err as Error).message });
        removeQuietly(file);
      }
    }
    return out;
  }

  /**
   * Appends each record to the file of its period: one fsync per file. The records are framed and
   * written a piece (HISTORY_WRITE_CHUNK_BYTES) at a time: a batch may be as large as
   * history.budgetBytes, and framing it whole held two more copies of it (the frames and their
   * concatenation) at every flush, 60 MB more RSS under a flood of large readings.
   * `lead`: a record written first in each file touched, told how many records follow it there.
   */
  async append(records: { ts: number; record: unknown }[], lead?: (n: number) => unknown): Promise<void> {
    const byFile = new Map<number, unknown[]>();
    for (const { ts, record } of records) {
      const start = Math.floor(ts / this.periodMs) * this.periodMs;
      let list = byFile.get(start);
      if (!list) byFile.set(start, (list = []));
      list.push(record);
    }
    for (const [start, list] of byFile) {
      // ELOOP on a symbolic link: appended to, its target would get our records
      const fh = await open(path.join(this.dir, `${this.kind}-${start}.seg`), APPEND_OWN, 0o666);
      try {
        if (lead) list.unshift(lead(list.length));
        let piece: Buffer[] = [];
        let size = 0;
        for (const [i, record] of list.entries()) {
          const f = frame(record);
          piece.push(f);
          size += f.length;
          if (size < HISTORY_WRITE_CHUNK_BYTES && i < list.length - 1) continue;
          await fh.write(Buffer.concat(piece, size));
          this.counters.bytes += size;
          piece = [];
          size = 0;
        }
        // the batch is on the card before the next one is taken: a power cut loses at most one
        await fh.sync();
        this.counters.fsyncs++;
      } finally {
        await fh.close();
      }
    }
  }

  /**
   * Deletes files whose whole period ended before `cutoff`, then the oldest while over `maxBytes`;
   * says which went and how many bytes the files left hold (one directory read and stat per call).
   */
  expire(cutoff: number, maxBytes: number): { dropped: string[]; bytes: number } {
    const dropped: string[] = [];
    const files = this.files().map((f) => ({ ...f, size: sizeOf(f.file) }));
    let total = files.reduce((n, f) => n + f.size, 0);
    for (const [i, f] of files.entries()) {
      const last = i === files.length - 1;
      if (f.start + this.periodMs > cutoff && (total <= maxBytes || last)) break;
      removeQuietly(f.file);
      total -= f.size;
      dropped.push(path.basename(f.file));
    }
    return { dropped, bytes: total };
  }
}

/**
 * Our files are never reached through a symbolic link: one in the state directory (placed by
 * hand, or by someone who may write there) would have its target cut back at the start's repair
 * of a torn tail, then appended to.
 */
const APPEND_OWN = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW;

/** The file's bytes; undefined when it is not a regular file of its own (a symbolic link, a directory). */
function readOwn(file: string): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') return undefined;
    throw err;
  }
  try {
    return fstatSync(fd).isFile() ? readFileSync(fd) : undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * Cuts a torn tail so that appends follow valid data. A file we may read but not write (left by a
 * manual `sudo serialgate run`, a read-only mount) keeps its tail: its records are loaded all the
 * same, and the file stays (it was deleted, and logged as dropped whole, though its points were in
 * memory); appending to it fails and is logged by the flush until someone fixes the owner.
 */
function cutTail(file: string, validBytes: number, droppedBytes: number): SegmentDamage {
  try {
    const fd = openSync(file, constants.O_RDWR | constants.O_NOFOLLOW);
    try {
      ftruncateSync(fd, validBytes);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return { file, droppedBytes };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    return { file, droppedBytes, error: `torn tail ignored but not cut (${code}): the records before it were loaded` };
  }
}

/** the entry's own size (a link's, not its target's) */
function sizeOf(file: string): number {
  try {
    return lstatSync(file).size;
  } catch {
    return 0;
  }
}

function removeQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone, or not ours to remove: the next start tries again
  }
}
