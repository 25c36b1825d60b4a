/**
 * End-to-end delay from the firmware mock writing a line to the reading leaving the SerialSource
 * (sink.reading called), at the full line rate of a 115200-baud link (11,520 B/s), over a real PTY
 * with the real serialport binding. Baseline in the same run: serialport + ReadlineParser +
 * JSON.parse on the same mock. Phases alternate (ours, baseline, ...); the port is exclusive, so
 * one pipeline at a time. Each line carries its send time (performance.now(), same process).
 */
import { ReadlineParser } from '@serialport/parser-readline';
import { SerialPort } from 'serialport';
import { LINE_RATE_BYTES_PER_S, startMock, type MockDevice } from '../firmware-mock/index.js';
import { deviceSchema } from '../src/config/schema.js';
import { silentLogger } from '../src/log.js';
import { SerialSource } from '../src/sources/serial/index.js';

const PHASE_MS = 3_000;
const ROUNDS = 2;
const link = `/tmp/sg-bench-latency-${process.pid}`;

/** write lines at line rate for `ms`, each stamped with its send time; returns lines sent */
async function drive(mock: MockDevice, ms: number): Promise<{ lines: number; bytes: number }> {
  const start = performance.now();
  let bytes = 0;
  let seq = 0;
  const writes: Promise<void>[] = [];
  while (performance.now() - start < ms) {
    const due = ((performance.now() - start) / 1000) * LINE_RATE_BYTES_PER_S;
    while (bytes < due) {
      const line = `{"seq":${++seq},"t":${performance.now().toFixed(3)},"temp":21.53,"hum":45.2}\n`;
      bytes += line.length;
      writes.push(mock.write(line));
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(writes);
  await new Promise((r) => setTimeout(r, 200)); // let the last lines arrive
  return { lines: seq, bytes };
}

async function ours(mock: MockDevice, samples: number[]): Promise<number> {
  const cfg = deviceSchema.parse({ id: 'bench', serial: { path: link, baudRate: 115200 }, parser: { format: 'json' } });
  let received = 0;
  const source = new SerialSource(
    [cfg],
    {
      reading(r) {
        const t = r.values?.['t'];
        if (typeof t === 'number') {
          samples.push(performance.now() - t);
          received++;
        }
      },
      state() {},
    },
    silentLogger(),
  );
  await source.start();
  if (source.devices()[0]!.status().state !== 'up') throw new Error(`cannot open ${link}: ${source.devices()[0]!.status().reason}`);
  const sent = await drive(mock, PHASE_MS);
  await source.stop();
  if (received < sent.lines * 0.99) throw new Error(`ours received ${received} of ${sent.lines} lines`);
  return sent.bytes;
}

async function baseline(mock: MockDevice, samples: number[]): Promise<number> {
  const port = new SerialPort({ path: link, baudRate: 115200, autoOpen: false });
  await new Promise<void>((res, rej) => port.open((e) => (e ? rej(e) : res())));
  let received = 0;
  port.pipe(new ReadlineParser({ delimiter: '\n', encoding: 'utf8' })).on('data', (line: string) => {
    try {
      const v = JSON.parse(line) as { t?: unknown };
      if (typeof v.t === 'number') {
        samples.push(performance.now() - v.t);
        received++;
      }
    } catch {
      // a line cut by the open's flush: not a sample
    }
  });
  const sent = await drive(mock, PHASE_MS);
  await new Promise<void>((r) => port.close(() => r()));
  if (received < sent.lines * 0.99) throw new Error(`baseline received ${received} of ${sent.lines} lines`);
  return sent.bytes;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

const mock = await startMock({ link, intervalMs: 0 });
try {
  const results = { ours: [] as number[], baseline: [] as number[] };
  let bytes = 0;
  await ours(mock, []); // warm-up, not counted
  for (let r = 0; r < ROUNDS; r++) {
    bytes += await ours(mock, results.ours);
    bytes += await baseline(mock, results.baseline);
  }
  const rate = bytes / ((ROUNDS * 2 * PHASE_MS) / 1000);
  console.log(
    `Mock → PTY → serialport → reading, ~${Math.round(rate).toLocaleString('en-US')} B/s (115200 baud line rate is ${LINE_RATE_BYTES_PER_S.toLocaleString('en-US')} B/s), ` +
      `${ROUNDS} alternating ${PHASE_MS / 1000} s phases per pipeline (node ${process.version}).\n`,
  );
  console.log('| pipeline | readings | p50 | p99 | max |');
  console.log('|---|---:|---:|---:|---:|');
  for (const [name, xs] of [
    ['serialport + ReadlineParser + JSON.parse (baseline)', results.baseline],
    ['serialgate SerialSource (splitter + json parser)', results.ours],
  ] as const) {
    console.log(`| ${name} | ${xs.length} | ${pct(xs, 50).toFixed(2)} ms | ${pct(xs, 99).toFixed(2)} ms | ${Math.max(...xs).toFixed(2)} ms |`);
  }
} finally {
  await mock.stop();
}
