/**
 * What the history costs (issue 11): bytes that reach the block device per reading and fsyncs
 * per minute at 10 and 100 readings/s, batched (History, default flushMs) vs the naive store (one
 * append + fsync per reading); the RSS the history adds when filled to its default budget; the
 * time to answer a 24 h query for one device.
 *
 * Write bytes come from /proc/self/io `write_bytes` of each writer child: what that process sent
 * to the block layer (page-cache writeback it caused, fsync included). The ext4 journal is written
 * by the jbd2 kernel thread and is not in it; a rewritten partial page counts whole each time.
 *
 *   npm run build && node --expose-gc dist/bench/history.js [--seconds 65]
 */
import { fork } from 'node:child_process';
import { closeSync, fsyncSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
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

interface WriterResult {
  mode: string;
  rate: number;
  readings: number;
  writeBytes: number;
  fsyncs: number;
  seconds: number;
}

// ---------------------------------------------------------------- writer child

async function writer(mode: 'batched' | 'naive', rate: number, seconds: number): Promise<WriterResult> {
  // on the disk under test (not tmpfs): the state directory's filesystem
  const dir = mkdtempSync(path.join(process.env.SG_BENCH_DIR ?? '/var/tmp', 'sg-bench-history-'));
  const cfg = historySchema.parse({ dir });
  const history = mode === 'batched' ? new History(cfg, silentLogger(), dir) : undefined;
  const naive = mode === 'naive' ? openSync(path.join(dir, 'naive.seg'), 'a') : undefined;
  let fsyncs = 0;
  history?.start();
  const start = writeBytes();
  const t0 = Date.now();
  let seq = 0;
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      // readings due by now at `rate`/s: the timer's jitter does not change the count
      const due = Math.floor(((Date.now() - t0) / 1000) * rate);
      while (seq < due) {
        const r = reading(++seq, 'bench', Date.now());
        if (history) history.record(r);
        else {
          writeSync(naive!, frame(pointRecord(r.device, r)));
          fsyncSync(naive!);
          fsyncs++;
        }
      }
      if (Date.now() - t0 >= seconds * 1000) {
        clearInterval(tick);
        resolve();
      }
    }, 5);
  });
  // the last partial batch is written the way a clean stop writes it
  await history?.stop(undefined);
  if (naive !== undefined) closeSync(naive);
  const elapsed = (Date.now() - t0) / 1000;
  const result = { mode, rate, readings: seq, writeBytes: writeBytes() - start, fsyncs: history ? history.written.fsyncs : fsyncs, seconds: elapsed };
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
    await reply(await writer(process.argv[3] as 'batched' | 'naive', Number(process.argv[4]), Number(process.argv[5])));
    return;
  }
  if (role === 'memory') {
    await reply(memory());
    return;
  }
  const seconds = arg('seconds', 65);
  console.log(`writers: ${seconds} s each, batched (flushMs ${historySchema.parse({}).flushMs} ms) and naive, all four at once`);
  const results = await Promise.all(
    (['batched', 'naive'] as const).flatMap((mode) => [10, 100].map((rate) => child<WriterResult>(['writer', mode, String(rate), String(seconds)]))),
  );
  console.log('| store | readings/s | readings | bytes written per reading | fsyncs per minute |');
  console.log('|---|---|---|---|---|');
  for (const r of results) {
    console.log(
      `| ${r.mode} | ${r.rate} | ${r.readings} | ${(r.writeBytes / r.readings).toFixed(1)} | ${((r.fsyncs / r.seconds) * 60).toFixed(1)} |`,
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
