/**
 * The history work budget (HistoryWork, HISTORY_ENTRIES_PER_SECOND) seen from outside: the real
 * daemon, restored from history files holding 10,000 raw points of one device, answers a burst of
 * concurrent /history.json requests of 10,000 points each until the budget is spent, then 429 with
 * `Retry-After: 1`, and answers again once that second has passed.
 *
 * Why a burst spends it, on any machine that can serve the export at all: an answer costs its
 * entries (10,000) and the budget refills 200 entries a millisecond, so it drains whenever the
 * daemon answers faster than one such request per 50 ms. Concurrent requests reach it together and
 * are answered back to back: ~11 ms each on this 2-core machine, ~34 ms with three busy loops
 * competing for its cores (then a second burst spends what the first left). Every 200 is the same
 * 10,000-point answer, so the budget is spent by what the test believes, and refusals come only
 * after 200,000 entries. Bounded: at most BURSTS bursts, each awaited whole.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HISTORY_ENTRIES_PER_SECOND } from '../../../src/bounds.js';
import { parseConfig } from '../../../src/config/load.js';
import { History } from '../../../src/history/persistent.js';
import { silentLogger } from '../../../src/log.js';
import { Daemon, ensureBuilt } from '../daemon/daemon-helpers.js';

const POINTS = 10_000;
const CONCURRENT = 40;
const BURSTS = 8;

let dir: string;
let daemon: Daemon;
let port: number;
let range: { from: number; to: number };

beforeAll(async () => {
  await ensureBuilt();
  dir = mkdtempSync(path.join(tmpdir(), 'sg-export-budget-'));
  const state = path.join(dir, 'state');
  // the history files a daemon would have written: 10,000 readings of the last minute (inside the
  // 10-minute raw window, so they are answered as points), flushed by the store's own code
  const now = Date.now();
  range = { from: now - 70_000, to: now + 3_600_000 };
  const history = new History(parseConfig('{}', 'test', {}).history, silentLogger(), state);
  for (let i = 0; i < POINTS; i++) history.record({ seq: i + 1, device: 'd', ts: now - 60_000 + i * 5, values: { v: i } });
  await history.stop(undefined);

  const file = path.join(dir, 'config.yaml');
  writeFileSync(file, ['server: { host: 127.0.0.1, port: 0 }', 'log: { level: info }', `history: { dir: ${JSON.stringify(state)} }`].join('\n'));
  daemon = Daemon.start(['run', '--config', file]);
  port = Number(new URL(await daemon.ready()).port);
}, 200_000);

afterAll(async () => {
  await daemon?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Answer {
  status: number;
  head: string;
  /** the body's length in bytes */
  bytes: number;
  /** the body, unless it is a 200 not asked for (`keep`) */
  body?: string;
}

/**
 * GET /history.json for all 10,000 points over raw TCP (`Connection: close`: the answer ends with
 * the socket). A 200's body is only counted unless `keep`: the client shares this 2-core machine
 * with the daemon, and copying 40 answers of 500 KB would take CPU time from the daemon it times.
 */
function exportAll(keep = false): Promise<Answer> {
  const target = `/history.json?device=d&from=${range.from}&to=${range.to}&maxPoints=${POINTS}`;
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let head = '';
    let ended = false;
    let bytes = 0;
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => {
      if (!ended) {
        // latin1: one character per byte, so offsets in the text are offsets in the chunk
        const before = head.length;
        head += c.toString('latin1');
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        ended = true;
        c = c.subarray(end + 4 - before);
        head = head.slice(0, end + 4);
      }
      bytes += c.length;
      if (keep || !head.startsWith('HTTP/1.1 200 ')) chunks.push(c);
    });
    socket.on('error', reject);
    socket.setTimeout(20_000, () => socket.destroy(new Error('no answer within 20 s')));
    socket.on('close', () => {
      const m = /^HTTP\/1\.1 (\d{3}) /.exec(head);
      const status = m ? Number(m[1]) : 0;
      resolve({ status, head, bytes, ...(chunks.length > 0 && { body: Buffer.concat(chunks).toString('utf8') }) });
    });
    socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  });
}

const contentLength = (a: Answer) => Number(/\r\ncontent-length: (\d+)\r\n/i.exec(a.head)?.[1]);
const pointsOf = (a: Answer) => (JSON.parse(a.body!) as { points: unknown[] }).points.length;

describe('the history export through the real daemon', () => {
  it('answers 429 with Retry-After: 1 once the history work of the second is spent, then answers again', async () => {
    const one = await exportAll(true);
    expect([one.status, pointsOf(one)]).toEqual([200, POINTS]);

    let busy: Answer | undefined;
    let answered = 1; // the request above
    for (let burst = 0; burst < BURSTS && !busy; burst++) {
      const all = await Promise.all(Array.from({ length: CONCURRENT }, () => exportAll()));
      for (const r of all) {
        expect([200, 429], r.head).toContain(r.status);
        expect(r.bytes, r.head).toBe(contentLength(r));
        if (r.status !== 200) continue;
        answered++;
        // the same answer as the first one, so each 200 was charged 10,000 entries
        expect(r.bytes).toBe(one.bytes);
      }
      busy = all.find((r) => r.status === 429);
    }
    expect(busy, `${answered} answers of ${POINTS} points, never refused`).toBeDefined();
    expect(busy!.head).toMatch(/\r\nRetry-After: 1\r\n/i);
    expect(busy!.body).toContain('the gateway is answering too much history at once');
    // refused for the budget, not sooner: a full one serves 20 answers of 10,000 before any refusal
    expect(answered).toBeGreaterThanOrEqual(HISTORY_ENTRIES_PER_SECOND / POINTS);

    // as told: a second later the budget has refilled (at worst 10,000 entries in debt, 50 ms of refill)
    await new Promise((r) => setTimeout(r, 1_100));
    const again = await exportAll(true);
    expect([again.status, pointsOf(again)]).toEqual([200, POINTS]);
  }, 60_000);
});
