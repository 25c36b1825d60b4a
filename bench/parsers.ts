/**
 * Lines parsed per second: our LineSplitter + createLineParser, per format, against
 * @serialport/parser-readline + JSON.parse done by hand, on the same 64-byte chunks (a USB CDC
 * packet) of realistic sensor lines. Rounds alternate ours / baseline; the table shows medians.
 * A second table shows what an endless line (no delimiter) costs each framer in time and memory.
 */
import { ReadlineParser } from '@serialport/parser-readline';
import { Sensor, formatLine, type MockFormat } from '../firmware-mock/sensor.js';
import { createLineParser, type LineParserOptions } from '../src/codecs/line-parser.js';
import { LineSplitter } from '../src/codecs/line-splitter.js';

const LINES = 50_000;
const ROUNDS = 5;
const CHUNK = 64;
const MAX_LINE = 4096;

function chunks(lines: string[]): Buffer[] {
  const all = Buffer.from(lines.map((l) => `${l}\n`).join(''));
  const out: Buffer[] = [];
  for (let i = 0; i < all.length; i += CHUNK) out.push(all.subarray(i, i + CHUNK));
  return out;
}

function sensorLines(format: MockFormat | 'regex'): string[] {
  let seed = 42;
  const sensor = new Sensor(() => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  return Array.from({ length: LINES }, () => {
    const s = sensor.step();
    return format === 'regex' ? `T${s.temp.toFixed(2)} H${s.hum.toFixed(1)} N${s.count}` : formatLine(format, s);
  });
}

const configs: [string, LineParserOptions][] = [
  ['json', { format: 'json' }],
  ['kv', { format: 'kv' }],
  ['csv', { format: 'csv', columns: ['temp', 'hum', 'count'] }],
  ['regex', { format: 'regex', pattern: '^T(?<temp>-?[0-9.]+) H(?<hum>[0-9.]+) N(?<count>[0-9]+)$' }],
  ['raw', { format: 'raw' }],
];

/** ours: framer + parser, lines/s */
function runOurs(input: Buffer[], cfg: LineParserOptions): number {
  const parse = createLineParser(cfg);
  let ok = 0;
  const splitter = new LineSplitter(
    { maxLineBytes: MAX_LINE },
    { line: (l) => void (parse(l).error === undefined && ok++), overlong() {}, invalid() {} },
  );
  const t0 = performance.now();
  for (const c of input) splitter.push(c);
  const s = (performance.now() - t0) / 1000;
  if (ok !== LINES) throw new Error(`ours parsed ${ok} of ${LINES} lines`);
  return LINES / s;
}

/** baseline: serialport's ReadlineParser stream + JSON.parse in try/catch, lines/s */
function runBaseline(input: Buffer[]): number {
  const parser = new ReadlineParser({ delimiter: '\n', encoding: 'utf8' });
  let ok = 0;
  parser.on('data', (line: string) => {
    try {
      const v: unknown = JSON.parse(line);
      if (v !== null && typeof v === 'object') ok++;
    } catch {
      // counted as not ok
    }
  });
  const t0 = performance.now();
  for (const c of input) parser.write(c);
  const s = (performance.now() - t0) / 1000;
  if (ok !== LINES) throw new Error(`baseline parsed ${ok} of ${LINES} lines`);
  return LINES / s;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

const jsonInput = chunks(sensorLines('json'));
const rows: string[] = [];
const baseline: number[] = [];
const ours = new Map<string, number[]>(configs.map(([n]) => [n, []]));
const inputs = new Map(configs.map(([n]) => [n, n === 'raw' ? jsonInput : chunks(sensorLines(n as MockFormat | 'regex'))]));
for (let r = 0; r < ROUNDS + 1; r++) {
  const warm = r === 0; // the first round warms the JIT and is not counted
  for (const [name, cfg] of configs) {
    const v = runOurs(inputs.get(name)!, cfg);
    if (!warm) ours.get(name)!.push(v);
  }
  const b = runBaseline(jsonInput);
  if (!warm) baseline.push(b);
}
const base = median(baseline);
console.log(
  `${LINES.toLocaleString('en-US')} realistic sensor lines per round in ${CHUNK}-byte chunks, median of ${ROUNDS} alternating rounds (node ${process.version}).\n`,
);
console.log('| parser | lines/s | vs readline + JSON.parse |');
console.log('|---|---:|---:|');
console.log(`| @serialport/parser-readline + JSON.parse (baseline, json lines) | ${fmt(base)} | 1.00× |`);
for (const [name] of configs) {
  const m = median(ours.get(name)!);
  rows.push(`| serialgate LineSplitter + ${name} | ${fmt(m)} | ${(m / base).toFixed(2)}× |`);
}
console.log(rows.join('\n'));

// An endless line: bytes without a delimiter, in 64-byte chunks.
const ENDLESS = 256 * 1024;
const junk = Buffer.alloc(CHUNK, 0x78);
const t0 = performance.now();
const s = new LineSplitter({ maxLineBytes: MAX_LINE }, { line() {}, overlong() {}, invalid() {} });
for (let i = 0; i < ENDLESS / CHUNK; i++) s.push(junk);
const oursMs = performance.now() - t0;
const oursHeld = s.heldBytes;
const rl = new ReadlineParser({ delimiter: '\n' });
const t1 = performance.now();
for (let i = 0; i < ENDLESS / CHUNK; i++) rl.write(junk);
const rlMs = performance.now() - t1;
const rlHeld = (rl as unknown as { buffer: Buffer }).buffer.length;
console.log(`\nAn endless line: ${ENDLESS / 1024} KiB without a newline, in ${CHUNK}-byte chunks.\n`);
console.log('| framer | time | bytes held afterwards |');
console.log('|---|---:|---:|');
console.log(`| @serialport/parser-readline | ${rlMs.toFixed(1)} ms | ${fmt(rlHeld)} |`);
console.log(`| serialgate LineSplitter (maxLineBytes ${MAX_LINE}) | ${oursMs.toFixed(1)} ms | ${fmt(oursHeld)} |`);
