/**
 * bench/fanout.ts's dashboards: N raw TCP sockets that do the WebSocket handshake, answer pings, and parse
 * frames just enough to count readings and read the publisher's timestamp `t` out of the JSON
 * (no JSON.parse, no masking work: the receiving side must stay cheap so the gateway is measured).
 * IPC: {cmd:'connect', port, n, from, to} → {ready:true}; {cmd:'report'} → stats of readings with
 * from ≤ i < to (the measured window); {cmd:'exit'}.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { performance } from 'node:perf_hooks';

type Msg = { cmd: 'connect'; port: number; n: number; from: number; to: number } | { cmd: 'report' } | { cmd: 'exit' };

const now = () => performance.timeOrigin + performance.now();
const I_KEY = Buffer.from('"i":');
const T_KEY = Buffer.from('"t":');
const MAX_SAMPLES = 400_000;
const latencies = new Float64Array(MAX_SAMPLES);
let samples = 0;
let from = 0;
let to = 0;
/** readings of the measured window received, summed over clients */
let received = 0;
const sockets: net.Socket[] = [];

function onFrame(payload: Buffer): void {
  const at = now();
  const ii = payload.indexOf(I_KEY);
  const ti = payload.indexOf(T_KEY);
  if (ii < 0 || ti < 0) return; // hello etc.
  const i = parseInt(payload.toString('latin1', ii + 4, ii + 20), 10);
  const t = parseFloat(payload.toString('latin1', ti + 4, ti + 30));
  if (i < from || i >= to) return;
  received++;
  if (samples < MAX_SAMPLES) latencies[samples++] = at - t;
}

function client(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    sockets.push(s);
    let buf: Buffer = Buffer.alloc(0);
    let open = false;
    s.on('error', reject);
    s.on('connect', () => {
      s.write(
        `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    s.on('data', (chunk: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      if (!open) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        if (!buf.toString('latin1', 0, 12).includes('101')) return reject(new Error(buf.toString('latin1', 0, end)));
        open = true;
        buf = buf.subarray(end + 4);
        resolve();
      }
      let off = 0;
      for (;;) {
        if (buf.length - off < 2) break;
        let len = buf[off + 1]! & 0x7f;
        let head = 2;
        if (len === 126) {
          if (buf.length - off < 4) break;
          len = buf.readUInt16BE(off + 2);
          head = 4;
        } else if (len === 127) {
          if (buf.length - off < 10) break;
          len = Number(buf.readBigUInt64BE(off + 2));
          head = 10;
        }
        if (buf.length - off < head + len) break;
        const opcode = buf[off]! & 0x0f;
        if (opcode === 1) onFrame(buf.subarray(off + head, off + head + len));
        // a dashboard that never answers the gateway's ping is dropped after pongTimeoutMs (20 s)
        else if (opcode === 9) s.write(pong(buf.subarray(off + head, off + head + len)));
        off += head + len;
      }
      buf = off === buf.length ? Buffer.alloc(0) : buf.subarray(off);
    });
  });
}

/** a client's pong frame echoing a ping's payload (≤ 125 bytes), masked as RFC 6455 asks of clients */
function pong(payload: Buffer): Buffer {
  const mask = randomBytes(4);
  const out = Buffer.alloc(6 + payload.length);
  out[0] = 0x8a;
  out[1] = 0x80 | payload.length;
  mask.copy(out, 2);
  for (let i = 0; i < payload.length; i++) out[6 + i] = payload[i]! ^ mask[i & 3]!;
  return out;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! : NaN;
}

process.on('message', async (m: Msg) => {
  if (m.cmd === 'connect') {
    from = m.from;
    to = m.to;
    for (let i = 0; i < m.n; i += 50) await Promise.all(Array.from({ length: Math.min(50, m.n - i) }, () => client(m.port)));
    process.send!({ ready: true });
  } else if (m.cmd === 'report') {
    const sorted = latencies.slice(0, samples).sort();
    process.send!({
      received,
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
      max: sorted.length ? sorted[sorted.length - 1] : NaN,
    });
  } else {
    for (const s of sockets) s.destroy();
    process.exit(0);
  }
});
