import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import { frame, unframe } from '../../../src/history/framing.js';
import { History, stateDir } from '../../../src/history/persistent.js';
import { saveStream, takeStream } from '../../../src/history/stream-file.js';
import type { Logger } from '../../../src/log.js';
import { silentLogger } from '../../../src/log.js';
import { MAX_RECORD_BYTES } from '../../../src/bounds.js';

const MIN = 60_000;
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'sg-history-'));
  dirs.push(d);
  return d;
};
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/**
 * Makes a file or directory one this process may read but not write, and returns the undo. Mode
 * bits do not stop root (who runs these tests in CI): there, the append-only (file) or immutable
 * (directory) attribute does, which refuses root too. Either way the gateway meets EACCES or EPERM.
 */
function readOnly(p: string): () => void {
  const dir = statSync(p).isDirectory();
  if (process.getuid?.() !== 0) {
    const mode = statSync(p).mode & 0o777;
    chmodSync(p, dir ? 0o555 : 0o444);
    return () => chmodSync(p, mode);
  }
  const attr = dir ? 'i' : 'a';
  execFileSync('chattr', [`+${attr}`, p]);
  return () => execFileSync('chattr', [`-${attr}`, p]);
}

const cfg = (over: Record<string, unknown> = {}) => parseConfig(JSON.stringify({ history: over }), 'test', {}).history;

/** a logger that keeps what was logged at warn and above */
function recordingLogger(): { logger: Logger; warnings: Record<string, unknown>[] } {
  const warnings: Record<string, unknown>[] = [];
  const base = silentLogger();
  const logger = Object.assign(Object.create(base) as Logger, {
    warn: (o: Record<string, unknown>, msg?: string) => warnings.push({ ...o, msg }),
    error: (o: Record<string, unknown>, msg?: string) => warnings.push({ ...o, msg }),
  });
  return { logger, warnings };
}

/** a history on a fake clock fed `n` readings one second apart from `t0`, flushed every `batch` */
async function feed(h: History, clock: { now: number }, t0: number, n: number, batch: number, seq0 = 0) {
  for (let i = 0; i < n; i++) {
    clock.now = t0 + i * 1000;
    h.record({ seq: seq0 + i + 1, device: 'a', ts: clock.now, values: { v: i } });
    if ((i + 1) % batch === 0) await h.flush();
  }
}

describe('framing', () => {
  const recs = [{ a: 1 }, { b: 'two' }, { c: [3] }];
  const whole = Buffer.concat(recs.map(frame));

  it('round-trips records', () => {
    expect(unframe(whole)).toEqual({ records: recs, validBytes: whole.length, droppedBytes: 0 });
  });

  it('a torn tail (any cut inside the last record) is detected and everything before it kept', () => {
    const lastStart = whole.length - frame(recs[2]).length;
    for (let cut = lastStart + 1; cut < whole.length; cut++) {
      expect(unframe(whole.subarray(0, cut))).toEqual({ records: recs.slice(0, 2), validBytes: lastStart, droppedBytes: cut - lastStart });
    }
  });

  it('a flipped bit fails the CRC: that record and all after it are dropped, none before', () => {
    const bad = Buffer.from(whole);
    const second = frame(recs[0]).length;
    bad[second + 9] ^= 0x04;
    expect(unframe(bad).records).toEqual([recs[0]]);
    // a length field hit by damage cannot make us read beyond the buffer
    const big = Buffer.from(whole);
    big.writeUInt32BE(0xfffffff0, second);
    expect(unframe(big).records).toEqual([recs[0]]);
  });
});

describe('History on disk', () => {
  it('a reopened history answers what the last flush wrote; the unflushed tail is the only loss', async () => {
    const dir = tmp();
    const clock = { now: 0 };
    const h = new History(cfg({ dir }), silentLogger(), dir, () => clock.now);
    h.start('E1');
    await feed(h, clock, 0, 25 * 60, 30); // 25 min, a batch every 30 readings
    h.record({ seq: 99_999, device: 'a', ts: clock.now + 500, values: { v: -1 } }); // never flushed: "kill -9"
    const before = h.query({ device: 'a', from: 0, to: clock.now + 1000, maxPoints: 100_000 });
    const again = new History(cfg({ dir }), silentLogger(), dir, () => clock.now);
    const after = again.query({ device: 'a', from: 0, to: clock.now + 1000, maxPoints: 100_000 });
    // no saved stream: the next run counts in a new one, where the old seqs mean nothing
    expect(after.points).toEqual(before.points.filter((p) => p.seq !== 99_999).map(({ ts, values }) => ({ ts, values })));
    expect(after.buckets.map((b) => [b.ts, b.count, b.fields.v])).toEqual(before.buckets.map((b) => [b.ts, b.count, b.fields.v]));
    expect(after.buckets.length).toBeGreaterThan(10);
  });

  it('a clean restart answers the restored readings as points, as before the stop (the first minute is whole on disk)', async () => {
    const dir = tmp();
    const clock = { now: 0 };
    const h = new History(cfg({ dir }), silentLogger(), dir, () => clock.now);
    h.start('E1');
    await feed(h, clock, 90_000, 100, 1000); // from the middle of a minute into the third one
    const q = { device: 'a', from: 0, to: clock.now, maxPoints: 1000 };
    const before = h.query(q);
    await h.stop({ epoch: 'E1', seq: 100, readings: [], last: [] });
    expect(before.points).toHaveLength(100);
    // the same stream goes on: the seqs too
    expect(new History(cfg({ dir }), silentLogger(), dir, () => clock.now).query(q)).toEqual(before);
  });

  it('a point keeps its seq only in the stream it was recorded in: a crashed run’s and an older version’s points come back without', async () => {
    const dir = tmp();
    const clock = { now: 0 };
    const stream = (epoch: string, seq: number) => ({ epoch, seq, readings: [], last: [] });
    // a file of the version before stream marks: points with seqs of some stream
    writeFileSync(path.join(dir, 'points-0.seg'), frame({ d: 'a', s: 7, t: 1_000, v: { v: 0 } }));
    // run A crashes after a batch (no saved stream)
    const a = new History(cfg({ dir }), silentLogger(), dir, () => clock.now);
    a.start('A');
    await feed(a, clock, 2_000, 3, 3, 7);
    // run B counts in a new stream from 1 and stops cleanly, saving it
    const b = new History(cfg({ dir }), silentLogger(), dir, () => clock.now);
    b.start('B');
    await feed(b, clock, 10_000, 3, 3, 0);
    await b.stop(stream('B', 3));
    // run C continues B: B's seqs are its own, A's (1-based like B's, so they would repeat) and the older file's are not
    const c = new History(cfg({ dir }), silentLogger(), dir, () => clock.now);
    expect(c.restored?.epoch).toBe('B');
    const points = c.query({ device: 'a', from: 0, to: clock.now, maxPoints: 1000 }).points;
    expect(points.map((p) => [p.ts, p.seq])).toEqual([
      [1_000, undefined],
      [2_000, undefined],
      [3_000, undefined],
      [4_000, undefined],
      [10_000, 1],
      [11_000, 2],
      [12_000, 3],
    ]);
    expect(points[0]).not.toHaveProperty('seq');
    // keys are data, as in a parser's values: a point without a `constructor` field has none
    expect(Object.getPrototypeOf(points[0]!.values)).toBeNull();
  });

  it('clean stops within one minute: the open bucket is rebuilt from its points, nothing lost, nothing counted twice', async () => {
    const dir = tmp();
    const clock = { now: 0 };
    const c = cfg({ dir, rawWindowMs: 30_000 });
    let seq = 0;
    for (const start of [0, 20_000, 40_000]) {
      const h = new History(c, silentLogger(), dir, () => clock.now);
      await feed(h, clock, start, 15, 1000, seq);
      seq += 15;
      await h.stop(undefined);
    }
    // later, the minute closed: its bucket holds all 45 readings of the three runs
    clock.now = 3 * MIN;
    const last = new History(c, silentLogger(), dir, () => clock.now);
    await feed(last, clock, 3 * MIN, 1, 1, seq);
    await last.stop(undefined);
    const a = new History(c, silentLogger(), dir, () => clock.now).query({ device: 'a', from: 0, to: MIN - 1, maxPoints: 10 });
    expect(a.buckets.map((b) => [b.ts, b.count, b.fields.v!.count])).toEqual([[0, 45, 45]]);
  });

  it('damaged and truncated files: the history opens, keeps what is valid, cuts the rest and says what it dropped', async () => {
    const dir = tmp();
    const clock = { now: 0 };
    const h = new History(cfg({ dir }), silentLogger(), dir, () => clock.now);
    await feed(h, clock, 0, 120, 60);
    const file = path.join(
      dir,
      readdirSync(dir).find((f) => f.startsWith('points-'))!,
    );
    const size = statSync(file).size;
    appendFileSync(file, frame({ d: 'a', s: 1000, t: 1, v: {} }).subarray(0, 11)); // a torn append
    writeFileSync(path.join(dir, 'buckets-0.seg'), Buffer.from('garbage that is not a record at all'));
    const { logger, warnings } = recordingLogger();
    const again = new History(cfg({ dir }), logger, dir, () => clock.now);
    expect(again.query({ device: 'a', from: 0, to: clock.now, maxPoints: 100_000 }).points).toHaveLength(120);
    expect(statSync(file).size).toBe(size); // cut back: the next append follows valid data
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ code: 'SG_ERR_HISTORY_DAMAGED' });
    expect(warnings[0]!.files).toEqual(
      expect.arrayContaining([
        { file, droppedBytes: 11 },
        { file: path.join(dir, 'buckets-0.seg'), droppedBytes: 35 },
      ]),
    );
    // the files are clean now: a third open has nothing to say
    const third = recordingLogger();
    new History(cfg({ dir }), third.logger, dir, () => clock.now);
    expect(third.warnings).toEqual([]);
  });

  it('old data goes by whole files: points after two raw windows, buckets after the retention, and the disk budget holds', async () => {
    const dir = tmp();
    const clock = { now: 0 };
    const c = cfg({ dir, rawWindowMs: MIN, retentionMs: 10 * MIN, segmentMs: 2 * MIN, budgetBytes: 1024 * 1024 });
    const h = new History(c, silentLogger(), dir, () => clock.now);
    await feed(h, clock, 0, 30 * 60, 60); // 30 minutes
    const files = readdirSync(dir).sort();
    const starts = (kind: string) => files.filter((f) => f.startsWith(kind)).map((f) => Number(/-(\d+)\.seg$/.exec(f)![1]));
    expect(Math.min(...starts('points-'))).toBeGreaterThanOrEqual(clock.now - 2 * MIN - MIN);
    expect(Math.min(...starts('buckets-'))).toBeGreaterThanOrEqual(clock.now - 10 * MIN - 2 * MIN);

    const small = tmp();
    const tight = new History({ ...c, dir: small, retentionMs: 1000 * MIN, budgetBytes: 4096 }, silentLogger(), small, () => clock.now);
    await feed(tight, clock, 0, 60 * 60, 60);
    const total = readdirSync(small).reduce((n, f) => n + statSync(path.join(small, f)).size, 0);
    // the budget, give or take the one file being appended
    expect(total).toBeLessThanOrEqual(4096 + 4096);
  });

  it('a device flooding large readings: its points files keep to half the budget, the bucket files of days before stay', async () => {
    const dir = tmp();
    const clock = { now: 0 };
    const budget = 2 * 1024 * 1024;
    const c = cfg({ dir, rawWindowMs: 10 * MIN, retentionMs: 48 * 60 * MIN, segmentMs: 60 * MIN, budgetBytes: budget });
    const { logger, warnings } = recordingLogger();
    const h = new History(c, logger, dir, () => clock.now);
    // a day of one calm reading a minute: 24 bucket files
    for (let i = 0; i < 24 * 60; i++) {
      clock.now = i * MIN;
      h.record({ seq: i + 1, device: 'calm', ts: clock.now, values: { v: i } });
      if (i % 30 === 29) await h.flush();
    }
    const bucketFiles = () => readdirSync(dir).filter((f) => f.startsWith('buckets-'));
    const before = bucketFiles();
    expect(before.length).toBeGreaterThanOrEqual(23);
    // then five minutes of readings of 1,000 fields (~9 KB on the card, ~55 KB as the budget counts), four a second, flushed every 30 s
    const t0 = clock.now + MIN;
    const fields = Array.from({ length: 1000 }, (_, k) => `f${k}`);
    for (let i = 0; i < 5 * 60 * 4; i++) {
      clock.now = t0 + i * 250;
      h.record({ seq: 100_000 + i, device: 'flood', ts: clock.now, values: Object.fromEntries(fields.map((f) => [f, i])) });
      if (i % 120 === 119) await h.flush();
    }
    const size = (prefix: string) =>
      readdirSync(dir)
        .filter((f) => f.startsWith(prefix))
        .reduce((n, f) => n + statSync(path.join(dir, f)).size, 0);
    // half the budget, give or take the one batch written into room left by the previous one
    expect(size('points-')).toBeLessThanOrEqual(budget / 2 + 4 * 30 * 21_000);
    expect(bucketFiles()).toEqual(expect.arrayContaining(before));
    expect(warnings).toContainEqual(expect.objectContaining({ code: 'SG_ERR_HISTORY_WRITE', capBytes: budget / 2 }));
    // the next start reads back the calm day whole
    const again = new History(c, silentLogger(), dir, () => clock.now);
    const calm = again.query({ device: 'calm', from: 0, to: clock.now, maxPoints: 100_000 });
    expect(calm.buckets.reduce((n, b) => n + b.count, 0) + calm.points.length).toBe(24 * 60);
  });

  it('a torn tail in a file that cannot be written: its records are loaded, the file stays, only the tail counts as dropped', async () => {
    const dir = tmp();
    const clock = { now: 0 };
    const h = new History(cfg({ dir }), silentLogger(), dir, () => clock.now);
    await feed(h, clock, 0, 120, 60);
    const file = path.join(
      dir,
      readdirSync(dir).find((f) => f.startsWith('points-'))!,
    );
    appendFileSync(file, frame({ d: 'a', s: 1000, t: 1, v: {} }).subarray(0, 11)); // a torn append
    const size = statSync(file).size;
    // in life: a file left root-owned by a manual `sudo serialgate run`, or a read-only mount
    cleanups.push(readOnly(file));
    const { logger, warnings } = recordingLogger();
    const again = new History(cfg({ dir }), logger, dir, () => clock.now);
    expect(again.query({ device: 'a', from: 0, to: clock.now, maxPoints: 100_000 }).points).toHaveLength(120);
    expect(statSync(file).size).toBe(size);
    expect(warnings).toEqual([
      expect.objectContaining({
        code: 'SG_ERR_HISTORY_DAMAGED',
        files: [
          {
            file,
            droppedBytes: 11,
            error: expect.stringMatching(/^torn tail ignored but not cut \((EACCES|EPERM)\): the records before it were loaded$/),
          },
        ],
      }),
    ]);
  });

  it('a directory whose lock cannot be written is memory only, like one that cannot be made (the start went on failing with EACCES)', () => {
    const dir = tmp();
    cleanups.push(readOnly(dir));
    const { logger, warnings } = recordingLogger();
    const h = new History(cfg({ dir }), logger, dir, () => 0);
    expect(h.dir).toBeUndefined();
    expect(warnings).toEqual([
      expect.objectContaining({ code: 'SG_ERR_HISTORY_WRITE', dir, msg: 'history directory not writable: history kept in memory only' }),
    ]);
  });

  it('a batch that cannot be written is logged and dropped, the next one is tried; an unusable directory means memory only', async () => {
    const dir = tmp();
    const clock = { now: 0 };
    const { logger, warnings } = recordingLogger();
    const h = new History(cfg({ dir }), logger, dir, () => clock.now);
    await feed(h, clock, 0, 10, 1000);
    rmSync(dir, { recursive: true }); // the card went away under us
    await h.flush();
    // what failed, each once: the files could not be listed for expiry, the points not appended
    expect(warnings).toEqual([
      expect.objectContaining({ code: 'SG_ERR_HISTORY_WRITE', cause: 'ENOENT', msg: 'history files not expired' }),
      expect.objectContaining({ code: 'SG_ERR_HISTORY_WRITE', cause: 'ENOENT', points: 10 }),
    ]);
    expect(h.query({ device: 'a', from: 0, to: clock.now, maxPoints: 100 }).points).toHaveLength(10);
    mkdirSync(dir);
    await feed(h, clock, 20_000, 5, 5, 10);
    expect(readdirSync(dir).length).toBe(1);

    const file = path.join(tmp(), 'a-file');
    writeFileSync(file, '');
    const m = recordingLogger();
    const memoryOnly = new History(cfg(), m.logger, path.join(file, 'state'), () => clock.now);
    expect(memoryOnly.dir).toBeUndefined();
    expect(m.warnings).toEqual([expect.objectContaining({ code: 'SG_ERR_HISTORY_WRITE' })]);
    memoryOnly.record({ seq: 1, device: 'a', ts: 0, values: { v: 1 } });
    expect(memoryOnly.store.drain()).toEqual({ points: [], buckets: [] });
  });

  it('a points file that cannot be appended costs neither the buckets nor more than one log line per cause', async () => {
    const dir = tmp();
    const clock = { now: 0 };
    const { logger, warnings } = recordingLogger();
    // a directory where the current points file goes (in life: a file left root-owned by a manual `sudo serialgate run`)
    mkdirSync(path.join(dir, 'points-0.seg'));
    const h = new History(cfg({ dir }), logger, dir, () => clock.now);
    await feed(h, clock, 0, 5 * 60, 30); // 5 minutes, 10 flushes: 4 buckets closed
    const buckets = readdirSync(dir).filter((f) => f.startsWith('buckets-'));
    expect(buckets).toHaveLength(1);
    const again = new History(cfg({ dir }), silentLogger(), dir, () => clock.now);
    const answer = again.query({ device: 'a', from: 0, to: clock.now, maxPoints: 1000 });
    expect(answer.buckets.map((b) => b.count)).toEqual([60, 60, 60, 60]);
    const writes = warnings.filter((w) => w.code === 'SG_ERR_HISTORY_WRITE');
    expect(writes).toEqual([expect.objectContaining({ cause: 'EISDIR', msg: 'history points batch not written' })]);
    expect(writes[0]).not.toHaveProperty('err'); // no stack
  });

  it('state directory: history.dir, else the first of $STATE_DIRECTORY, else memory only', () => {
    expect(stateDir(cfg({ dir: '/x' }), { STATE_DIRECTORY: '/var/lib/serialgate' })).toBe('/x');
    expect(stateDir(cfg(), { STATE_DIRECTORY: '/var/lib/serialgate:/var/lib/other' })).toBe('/var/lib/serialgate');
    expect(stateDir(cfg(), {})).toBeUndefined();
  });
});

describe('the saved stream', () => {
  const snap = { epoch: 'e', seq: 3, readings: [{ seq: 3, device: 'a', ts: 1, values: { v: 1 } }], last: [] };

  it("a full resume buffer (far over a segment record's 1 MiB) is saved and taken back whole", () => {
    const dir = tmp();
    const readings = Array.from({ length: 10_000 }, (_, i) => ({
      seq: i + 1,
      device: 'a',
      ts: 1_700_000_000_000 + i,
      values: { temp: 21.5, n: i, s: 'x'.repeat(100) },
    }));
    const big = { epoch: 'e', seq: 10_000, readings, last: [readings.at(-1)!] };
    expect(saveStream(dir, big)).toBeGreaterThan(MAX_RECORD_BYTES);
    expect(takeStream(dir)).toEqual({ snapshot: big });
  });

  it('is taken once: after a later crash no stale snapshot continues the stream', () => {
    const dir = tmp();
    saveStream(dir, snap);
    expect(takeStream(dir)).toEqual({ snapshot: snap });
    expect(takeStream(dir)).toEqual({ none: 'absent' });
    expect(existsSync(path.join(dir, 'stream.snap'))).toBe(false);
  });

  it('is never read or written through a symbolic link: the link’s target stays as it was', () => {
    const dir = tmp();
    const victim = path.join(dir, 'victim.txt');
    writeFileSync(victim, 'precious');
    symlinkSync(victim, path.join(dir, 'stream.snap.tmp'));
    expect(() => saveStream(dir, snap)).toThrow(expect.objectContaining({ code: 'ELOOP' }));
    symlinkSync(victim, path.join(dir, 'stream.snap'));
    expect(takeStream(dir)).toMatchObject({ none: 'damaged' });
    expect(existsSync(path.join(dir, 'stream.snap'))).toBe(false); // the link went, not what it named
    expect(readFileSync(victim, 'utf8')).toBe('precious');
  });

  it('a damaged snapshot is dropped (a new epoch), never half used', () => {
    const dir = tmp();
    saveStream(dir, snap);
    const file = path.join(dir, 'stream.snap');
    writeFileSync(file, readFileSync(file).subarray(0, 20));
    expect(takeStream(dir)).toMatchObject({ none: 'damaged' });
    writeFileSync(file, frame({ epoch: 1 }));
    expect(takeStream(dir)).toMatchObject({ none: 'damaged' });
  });
});
