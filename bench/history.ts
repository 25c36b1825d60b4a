/**
 * What the history costs (issue 11): bytes that reach the block device per reading and fsyncs
 * per minute at 10 and 100 readings/s, batched (History, default flushMs) vs the naive store (one
 * append + fsync per reading) vs two embedded engines at the same batching (SQLite as sql.js, pure
 * WASM; LevelDB as classic-level, prebuilt binaries), with each writer's RSS; the RSS the history
 * adds when filled to its default budget; the time to answer a 24 h query for one device.
 *
 * Write bytes come from /proc/self/io `write_bytes` of each writer child: what that process sent
 * to the block layer (page-cache writeback it caused, fsync included). The ext4 journal is written
 * by the jbd2 kernel thread and is not in it; a rewritten partial page counts whole each time.
 *
 *   npm run build && node --expose-gc dist/bench/history.js [--seconds 65]
 */
import { fork } from 'node:child_process';
import { closeSync, fsyncSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClassicLevel } from 'classic-level';
import initSqlJs from 'sql.js';
import { historySchema } from '../src/config/schema.js';
import { frame } from '../src/history/framing.js';
import { History } from '../src/history/persistent.js';
import { pointRecord } from '../src/history/records.js';
import { HistoryStore } from '../src/history/store.js';
import { silentLogger } from '../src/log.js';

const HERE = fileURLToPath(import.meta.url);
const MIN = 60_000;

function arg(name: string, def: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

const writeBytes = (): number => Number(/write_bytes: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))![1]);

/** a reading like a kv sensor line gives: three numeric fields */
const reading = (seq: number, device: string, ts: number) => ({
  seq,
  device,
  ts,
  values: { temp: 20 + (seq % 50) / 10, hum: 40 + (seq % 7), pressure: 1013.2 },
});

const MODES = ['batched', 'naive', 'sqljs', 'level'] as const;
type Mode = (typeof MODES)[number];

interface WriterResult {
  mode: Mode;
  rate: number;
  readings: number;
  writeBytes: number;
  fsyncs: number;
  seconds: number;
  rssMiB: number;
}

// ---------------------------------------------------------------- the stores measured

/** One candidate as the writer drives it: readings in, batches (or not) to disk, fsyncs counted. */
interface BenchStore {
  record(r: Reading): void;
  /** what a clean stop writes */
  close(): Promise<void>;
  fsyncs(): number;
}

type Reading = ReturnType<typeof reading>;

/** ours: History with its defaults (one append + fsync per file every flushMs) */
function ours(dir: string): BenchStore {
  const history = new History(historySchema.parse({ dir }), silentLogger(), dir);
  history.start('bench');
  return { record: (r) => history.record(r), close: () => history.stop(undefined), fsyncs: () => history.written.fsyncs };
}

/** the naive alternative: one append + fsync per reading */
function naive(dir: string): BenchStore {
  const fd = openSync(path.join(dir, 'naive.seg'), 'a');
  let fsyncs = 0;
  return {
    record(r) {
      writeSync(fd, frame(pointRecord(r.device, r)));
      fsyncSync(fd);
      fsyncs++;
    },
    close: async () => closeSync(fd),
    fsyncs: () => fsyncs,
  };
}

/**
 * Two embedded engines at the same batching (one transaction + fsync every flushMs), so what
 * differs is the engine. Both start holding a steady-state raw window (rawWindowMs of readings at
 * the rate), as a store that has run a while does: a store's cost may grow with what it holds.
 */
async function embedded(mode: 'sqljs' | 'level', dir: string, rate: number): Promise<BenchStore> {
  const cfg = historySchema.parse({});
  const engine = mode === 'sqljs' ? await sqljs(dir) : await level(dir);
  const steady = Math.round((cfg.rawWindowMs / 1000) * rate);
  const t0 = Date.now() - cfg.rawWindowMs;
  engine.write(Array.from({ length: steady }, (_, i) => reading(-steady + i, 'bench', t0 + (i * 1000) / rate)));
  await engine.commit();
  const prefilled = engine.fsyncs;
  let pending: Reading[] = [];
  const flush = async () => {
    const batch = pending;
    pending = [];
    engine.write(batch);
    await engine.commit();
  };
  let flushing = Promise.resolve();
  const timer = setInterval(() => (flushing = flushing.then(flush)), cfg.flushMs);
  return {
    record: (r) => void pending.push(r),
    async close() {
      clearInterval(timer);
      await flushing.then(flush);
      await engine.close();
    },
    fsyncs: () => engine.fsyncs - prefilled,
  };
}

interface Engine {
  write(rs: Reading[]): void;
  /** durable: what write() took is on disk when this resolves */
  commit(): Promise<void>;
  close(): Promise<void>;
  fsyncs: number;
}

/**
 * SQLite compiled to WASM (pure JS for every CPU): the database lives in memory and is saved by
 * exporting the whole file, written to a temporary file, fsynced and renamed (sql.js has no
 * incremental file I/O in Node), so every save writes everything it holds.
 */
async function sqljs(dir: string): Promise<Engine> {
  const SQL = await initSqlJs();
  const db = new SQL.Database();
  db.run('CREATE TABLE points (device TEXT, ts INTEGER, seq INTEGER, v TEXT, PRIMARY KEY (device, ts, seq)) WITHOUT ROWID');
  const file = path.join(dir, 'history.sqlite');
  const engine: Engine = {
    fsyncs: 0,
    write(rs) {
      const insert = db.prepare('INSERT INTO points VALUES (?, ?, ?, ?)');
      db.run('BEGIN');
      for (const r of rs) insert.run([r.device, r.ts, r.seq, JSON.stringify(r.values)]);
      db.run('COMMIT');
      insert.free();
    },
    async commit() {
      const fd = openSync(`${file}.tmp`, 'w');
      writeSync(fd, db.export());
      fsyncSync(fd);
      closeSync(fd);
      renameSync(`${file}.tmp`, file);
      engine.fsyncs++;
    },
    async close() {
      db.close();
    },
  };
  return engine;
}

/** LevelDB (classic-level, prebuilt binaries in its package): one synced batch per commit */
async function level(dir: string): Promise<Engine> {
  const db = new ClassicLevel<string, string>(path.join(dir, 'level'));
  await db.open();
  let ops: { type: 'put'; key: string; value: string }[] = [];
  const engine: Engine = {
    fsyncs: 0,
    write(rs) {
      // keys sort by device then time, as a range read wants them
      for (const r of rs)
        ops.push({ type: 'put', key: `${r.device}\u0000${String(r.ts).padStart(15, '0')}\u0000${r.seq}`, value: JSON.stringify(r.values) });
    },
    async commit() {
      const batch = ops;
      ops = [];
      await db.batch(batch, { sync: true });
      engine.fsyncs++;
    },
    close: () => db.close(),
  };
  return engine;
}

// ---------------------------------------------------------------- writer child

async function writer(mode: Mode, rate: number, seconds: number): Promise<WriterResult> {
  // on the disk under test (not tmpfs): the state directory's filesystem
  const dir = mkdtempSync(path.join(process.env.SG_BENCH_DIR ?? '/var/tmp', 'sg-bench-history-'));
  const store = mode === 'batched' ? ours(dir) : mode === 'naive' ? naive(dir) : await embedded(mode, dir, rate);
  const start = writeBytes();
  const t0 = Date.now();
  let seq = 0;
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      // readings due by now at `rate`/s: the timer's jitter does not change the count
      const due = Math.floor(((Date.now() - t0) / 1000) * rate);
      while (seq < due) store.record(reading(++seq, 'bench', Date.now()));
      if (Date.now() - t0 >= seconds * 1000) {
        clearInterval(tick);
        resolve();
      }
    }, 5);
  });
  // the last partial batch is written the way a clean stop writes it
  await store.close();
  const elapsed = (Date.now() - t0) / 1000;
  const rssMiB = process.memoryUsage().rss / 2 ** 20;
  const result = { mode, rate, readings: seq, writeBytes: writeBytes() - start, fsyncs: store.fsyncs(), seconds: elapsed, rssMiB };
  rmSync(dir, { recursive: true, force: true });
  return result;
}

// ---------------------------------------------------------------- memory and query child

function memory(): { heldMiB: number; rssMiB: number; heapMiB: number; points: number; query24h1000: number; query24hAll: number; answer: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc (npm run bench does)');
  const cfg = historySchema.parse({});
  gc();
  const rss0 = process.memoryUsage().rss;
  const heap0 = process.memoryUsage().heapUsed;
  let now = 0;
  const store = new HistoryStore(cfg, () => now);
  // 10 devices, two days at 1 reading/s each, then the raw window at 10/s: the budget is the limit
  let seq = 0;
  const devices = Array.from({ length: 10 }, (_, i) => `dev${i}`);
  const end = 2 * 24 * 60 * MIN;
  for (let t = 0; t < end; t += t < end - cfg.rawWindowMs ? 1000 : 100) {
    now = t;
    for (const d of devices) store.record(reading(++seq, d, t));
  }
  gc();
  const usage = process.memoryUsage();
  const time = (maxPoints: number) => {
    const runs: number[] = [];
    let size = 0;
    for (let i = 0; i < 21; i++) {
      const t0 = process.hrtime.bigint();
      const a = store.query({ device: 'dev3', from: now - 24 * 60 * MIN, to: now, maxPoints });
      runs.push(Number(process.hrtime.bigint() - t0) / 1e6);
      size = a.buckets.length + a.points.length;
    }
    return { ms: runs.sort((a, b) => a - b)[10]!, size };
  };
  const q1000 = time(1000);
  const qAll = time(1_000_000);
  return {
    heldMiB: store.heldBytes / 2 ** 20,
    rssMiB: (usage.rss - rss0) / 2 ** 20,
    heapMiB: (usage.heapUsed - heap0) / 2 ** 20,
    points: seq,
    query24h1000: q1000.ms,
    query24hAll: qAll.ms,
    answer: qAll.size,
  };
}

// ---------------------------------------------------------------- parent

function child<T>(args: string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const c = fork(HERE, args, { execArgv: ['--expose-gc'] });
    c.once('message', (m) => resolve(m as T));
    c.once('exit', (code) => code !== 0 && reject(new Error(`child ${args.join(' ')} exit ${code}`)));
  });
}

/** the exit that follows must not cut the message off */
const reply = (msg: object) => new Promise<void>((resolve) => process.send!(msg, () => resolve()));

async function main(): Promise<void> {
  const role = process.argv[2];
  if (role === 'writer') {
    await reply(await writer(process.argv[3] as Mode, Number(process.argv[4]), Number(process.argv[5])));
    return;
  }
  if (role === 'memory') {
    await reply(memory());
    return;
  }
  const seconds = arg('seconds', 65);
  console.log(
    `writers: ${seconds} s each, ${MODES.join(', ')} at 10 and 100 readings/s, all at once (flushMs ${historySchema.parse({}).flushMs} ms)`,
  );
  const results = await Promise.all(
    MODES.flatMap((mode) => [10, 100].map((rate) => child<WriterResult>(['writer', mode, String(rate), String(seconds)]))),
  );
  console.log('| store | readings/s | readings | bytes written per reading | fsyncs per minute | writer RSS MiB |');
  console.log('|---|---|---|---|---|---|');
  for (const r of results) {
    console.log(
      `| ${r.mode} | ${r.rate} | ${r.readings} | ${(r.writeBytes / r.readings).toFixed(1)} | ${((r.fsyncs / r.seconds) * 60).toFixed(1)} | ${r.rssMiB.toFixed(1)} |`,
    );
  }
  const m = await child<ReturnType<typeof memory>>(['memory']);
  console.log(
    `\nfilled to the default budget (${(historySchema.parse({}).budgetBytes / 2 ** 20).toFixed(0)} MiB): ${m.points} readings of 10 devices over 2 days`,
  );
  console.log(`estimated held ${m.heldMiB.toFixed(1)} MiB, RSS +${m.rssMiB.toFixed(1)} MiB, heap +${m.heapMiB.toFixed(1)} MiB`);
  console.log(
    `24 h query, one device: ${m.query24h1000.toFixed(2)} ms for maxPoints 1000, ${m.query24hAll.toFixed(2)} ms for all (${m.answer} buckets + points); median of 21`,
  );
}

void main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
