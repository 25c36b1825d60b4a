/** SegmentLog on a real directory: batches larger than a write piece, files that are not its own. */
import { mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { HISTORY_WRITE_CHUNK_BYTES } from '../../../src/bounds.js';
import { SegmentLog } from '../../../src/history/segment-log.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

it('a batch of several write pieces over two periods: every record back in order, one fsync per file, bytes counted', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sg-seg-'));
  dirs.push(dir);
  const counters = { bytes: 0, fsyncs: 0 };
  const log = new SegmentLog(dir, 'points', 1_000, counters);
  // ~1 KB records: four pieces' worth in the first period, one short piece in the second
  const records = Array.from({ length: Math.ceil((4 * HISTORY_WRITE_CHUNK_BYTES) / 1_000) + 50 }, (_, i) => ({
    ts: i < 1_050 ? 500 : 1_500,
    record: { i, pad: 'x'.repeat(1_000) },
  }));
  await log.append(records);
  expect(counters.fsyncs).toBe(2);
  const files = ['points-0.seg', 'points-1000.seg'].map((f) => statSync(path.join(dir, f)).size);
  expect(counters.bytes).toBe(files[0]! + files[1]!);
  expect(files[0]).toBeGreaterThan(3 * HISTORY_WRITE_CHUNK_BYTES);
  const loaded = new SegmentLog(dir, 'points', 1_000, { bytes: 0, fsyncs: 0 }).load();
  expect(loaded.damage).toEqual([]);
  expect(loaded.files.flatMap((f) => f.records).map((r) => (r as { i: number }).i)).toEqual(records.map((_, i) => i));
});

it('a segment file that is a symbolic link is never followed: not cut back at load, not appended to; its target stays as it was', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sg-seg-'));
  dirs.push(dir);
  const victim = path.join(dir, 'victim.txt');
  // to the repair at load, a few bytes that are not a record look like a torn tail
  writeFileSync(victim, 'precious, not a segment file');
  symlinkSync(victim, path.join(dir, 'points-0.seg'));
  const log = new SegmentLog(dir, 'points', 1_000, { bytes: 0, fsyncs: 0 });
  expect(log.load()).toEqual({
    files: [],
    damage: [{ file: path.join(dir, 'points-0.seg'), droppedBytes: 0, error: expect.stringMatching(/not a regular file/) }],
  });
  await expect(log.append([{ ts: 500, record: { a: 1 } }])).rejects.toMatchObject({ code: 'ELOOP' });
  expect(readFileSync(victim, 'utf8')).toBe('precious, not a segment file');
});
