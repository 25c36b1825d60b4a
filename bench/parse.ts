/**
 * Parsing benchmark: our FrameParser vs ws's Receiver (the code behind ws's server sockets),
 * fed the same client byte streams cut into 64 KiB chunks (what a socket delivers), in
 * alternating rounds so that JIT warm-up and machine noise hit both alike. Reports medians of
 * the process CPU time per round (user + system, GC included): on a shared machine wall time
 * mostly measures the neighbours.
 *
 *   npm run build && node --expose-gc dist/bench/parse.js     (or: npm run bench -- parse)
 */
import { randomBytes } from 'node:crypto';
import * as wsModule from 'ws';
import { encodeFrame } from '../src/ws/frame-encoder.js';
import { FrameEvent, FrameParser } from '../src/ws/frame-parser.js';

/** ws's ESM entry exports its Receiver, but @types/ws does not declare it. */
interface WsReceiver {
  on(event: 'message', listener: () => void): void;
  on(event: 'error', listener: (err: Error) => void): void;
  write(chunk: Buffer): boolean;
}
const { Receiver } = wsModule as unknown as {
  Receiver: new (opts: { isServer: boolean; maxPayload: number }) => WsReceiver;
};

const MESSAGE = FrameEvent.Message;
const ROUNDS = 7;
const CHUNK = 64 * 1024;
const MAX_PAYLOAD = 1 << 20;

interface Case {
  name: string;
  chunks: Buffer[];
  messages: number;
  wireBytes: number;
}

/** `count` masked client frames with random keys, concatenated and cut into 64 KiB chunks. */
function buildCase(name: string, count: number, payload: () => { opcode: number; data: Buffer }): Case {
  const frames: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const { opcode, data } = payload();
    frames.push(encodeFrame(opcode, data, { mask: randomBytes(4) }));
  }
  const stream = Buffer.concat(frames);
  const chunks: Buffer[] = [];
  for (let at = 0; at < stream.length; at += CHUNK) chunks.push(stream.subarray(at, at + CHUNK));
  return { name, chunks, messages: count, wireBytes: stream.length };
}

// Both parsers unmask in place, so every round gets fresh copies, made outside the timed part.
const fresh = (c: Case): Buffer[] => c.chunks.map((chunk) => Buffer.from(chunk));

function runOurs(c: Case): number {
  const input = fresh(c);
  let received = 0;
  const parser = new FrameParser({ maxMessageBytes: MAX_PAYLOAD, maxFragments: 128 });
  const start = process.cpuUsage();
  for (const chunk of input) {
    parser.push(chunk);
    // every event is a message; anything else ends the loop early and fails the count below
    while (parser.next() === MESSAGE) received++;
  }
  const us = cpuMicros(start);
  if (received !== c.messages) throw new Error(`ours: ${received} of ${c.messages} messages`);
  return us;
}

function runWs(c: Case): number {
  const input = fresh(c);
  let received = 0;
  const receiver = new Receiver({ isServer: true, maxPayload: MAX_PAYLOAD });
  receiver.on('message', () => received++);
  receiver.on('error', (err: Error) => {
    throw err;
  });
  // ws's server feeds socket data exactly like this (websocket.js: socketOnData → receiver.write).
  const start = process.cpuUsage();
  for (const chunk of input) receiver.write(chunk);
  const us = cpuMicros(start);
  if (received !== c.messages) throw new Error(`ws: ${received} of ${c.messages} messages`);
  return us;
}

function cpuMicros(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return used.user + used.system;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const gc = (globalThis as { gc?: () => void }).gc;

const text60 = Buffer.from('{"t":"reading","seq":123456,"device":"bench1","v":{"t":21.5}}'.slice(0, 60));
const cases = [
  buildCase('masked 60-byte text', 200_000, () => ({ opcode: 1, data: text60 })),
  buildCase('masked 64 KiB binary', 400, () => ({ opcode: 2, data: randomBytes(65536) })),
];

const rows: string[] = [];
for (const c of cases) {
  const ours: number[] = [];
  const theirs: number[] = [];
  runOurs(c); // warm-up, not counted
  runWs(c);
  for (let round = 0; round < ROUNDS; round++) {
    gc?.();
    ours.push(runOurs(c));
    gc?.();
    theirs.push(runWs(c));
  }
  const line = (impl: string, us: number, ratio: string) => {
    const s = us / 1e6;
    const msgs = Math.round(c.messages / s).toLocaleString('en-US');
    const mbs = (c.wireBytes / s / 1e6).toFixed(0);
    rows.push(`| ${c.name} | ${impl} | ${msgs} | ${mbs} | ${ratio} |`);
  };
  const o = median(ours);
  const w = median(theirs);
  line('serialgate', o, `${(w / o).toFixed(2)}× ws`);
  line('ws', w, '1.00×');
}

console.log(`${ROUNDS} alternating rounds, medians, per CPU-second; 64 KiB input chunks; MB = wire bytes; node ${process.version}\n`);
console.log('| frames | parser | messages/s | MB/s | speed |');
console.log('|---|---|---:|---:|---:|');
for (const row of rows) console.log(row);
