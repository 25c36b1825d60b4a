/**
 * The client's state machine against a scripted WebSocket (no network): state sequence,
 * backoff schedule and nextRetryAt, commands held back while bufferedAmount is high, the
 * subscribe it sends on resume, one settlement per command.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HISTORY_RETRIES, HISTORY_RETRY_GAP_MS, HISTORY_RETRY_MAX_MS, HISTORY_RETRY_MIN_MS } from '../../../src/bounds.js';
import { connect, type ConnectionInfo, type SerialgateClient, type WebSocketLike } from '../../../src/client/index.js';

class FakeSocket implements WebSocketLike {
  static all: FakeSocket[] = [];
  readyState = 0;
  bufferedAmount = 0;
  protocol = '';
  binaryType = 'blob';
  sent: unknown[] = [];
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: unknown) => void) | null = null;
  onclose: ((ev: unknown) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;

  constructor(
    readonly url: string,
    readonly protocols?: string | string[],
  ) {
    FakeSocket.all.push(this);
  }
  send(data: string | Uint8Array): void {
    this.sent.push(JSON.parse(data as string));
  }
  close(code = 1000, reason = ''): void {
    this.serverClose(code, reason);
  }
  // ---- test side ----
  accept(protocol = 'serialgate.v1.json'): void {
    this.protocol = protocol;
    this.readyState = 1;
    this.onopen?.({});
  }
  deliver(msg: unknown): void {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
  serverClose(code: number, reason = ''): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
  refuse(): void {
    this.onerror?.({});
    this.serverClose(1006);
  }
}

const hello = (seq: number, role = 'operator', epoch = 'E1') => ({
  type: 'hello',
  protocol: 1,
  gateway: 'g',
  role,
  epoch,
  seq,
  devices: [
    { id: 'd1', source: 'serial', state: 'up' },
    { id: 'm1', source: 'mqtt', state: 'up' },
  ],
});
const reading = (seq: number) => ({ type: 'reading', seq, device: 'd1', ts: seq, values: { v: seq } });

let client: SerialgateClient | undefined;
const states: ConnectionInfo[] = [];
const last = () => FakeSocket.all.at(-1)!;

function start(opts: Parameters<typeof connect>[1] = {}): SerialgateClient {
  client = connect('http://gw.local:8080/ws', {
    WebSocketImpl: FakeSocket,
    protocol: 'json',
    reconnect: { minMs: 1000, maxMs: 4000 },
    onState: (s) => states.push(s),
    ...opts,
  });
  return client;
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.spyOn(Math, 'random').mockReturnValue(0.999_999);
  FakeSocket.all = [];
  states.length = 0;
});
afterEach(() => {
  client?.close();
  client = undefined;
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('client state machine', () => {
  it('offers the subprotocol (+ bearer token), arraybuffer, a ws: URL', () => {
    start({ token: 'abc.DEF-123_~' });
    expect(last().url).toBe('ws://gw.local:8080/ws');
    expect(last().protocols).toEqual(['serialgate.v1.json', 'bearer.abc.DEF-123_~']);
    expect(last().binaryType).toBe('arraybuffer');
    start({ protocol: 'cbor' });
    expect(last().protocols).toEqual(['serialgate.v1.cbor']);
  });

  it('connecting → open → reconnecting (code, reason, nextRetryAt) → connecting, backoff doubling to the cap', () => {
    start();
    last().accept();
    last().serverClose(1001, 'gateway shutting down');
    const now = Date.now();
    expect(states.map((s) => s.state)).toEqual(['connecting', 'open', 'reconnecting']);
    expect(states.at(-1)).toMatchObject({ code: 1001, reason: 'gateway shutting down', refused: false, nextRetryAt: now + 1000 });
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      const s = states.at(-1)!;
      delays.push(s.nextRetryAt! - Date.now());
      vi.advanceTimersByTime(s.nextRetryAt! - Date.now());
      expect(client!.state).toBe('connecting');
      last().refuse();
    }
    expect(delays).toEqual([1000, 2000, 4000, 4000]);
    expect(states.at(-1)).toMatchObject({
      state: 'reconnecting',
      refused: true,
      code: 1006,
      reason: 'could not connect (gateway unreachable or handshake refused)',
      failures: 4,
    });
    vi.advanceTimersByTime(4000);
    last().accept();
    expect(client!.info).toMatchObject({ state: 'open', refused: false, failures: 0 });
    last().serverClose(1013, 'slow consumer');
    expect(states.at(-1)!.nextRetryAt! - Date.now()).toBe(1000);
  });

  it('hands fleet presence to onPresence: the gateways of the hello, then each change', () => {
    const seen: unknown[] = [];
    let helloGateways: unknown;
    start({ onPresence: (p) => seen.push(p), onHello: (h) => (helloGateways = h.gateways) });
    last().accept();
    last().deliver({ ...hello(0), gateways: [{ id: 'B', state: 'online' }] });
    last().deliver({ type: 'presence', gateway: 'B', state: 'offline', reason: 'connection lost' });
    expect(helloGateways).toEqual([{ id: 'B', state: 'online' }]);
    expect(seen).toEqual([{ type: 'presence', gateway: 'B', state: 'offline', reason: 'connection lost' }]);
  });

  it('after a reconnect: subscribe with since = last seq delivered', () => {
    const got: number[] = [];
    start({ onReading: (r) => got.push(r.seq) });
    last().accept();
    last().deliver(hello(2));
    expect(last().sent).toEqual([]);
    for (const n of [2, 3, 4]) last().deliver(reading(n));
    last().serverClose(1006);
    vi.advanceTimersByTime(1000);
    last().accept();
    last().deliver(hello(6));
    expect(last().sent).toEqual([{ type: 'subscribe', devices: ['*'], since: 4, epoch: 'E1' }]);
    for (const n of [6, 5, 6]) last().deliver(reading(n));
    expect(got).toEqual([2, 3, 4, 5, 6]);
    expect(client!.stats()).toMatchObject({ duplicates: 1, delivered: 5, opens: 2 });
  });

  it('a hello with a new epoch: our since and epoch sent back, onReset once (the reset that confirms it is no second one), the new run delivered', () => {
    const got: number[] = [];
    const resets: unknown[] = [];
    start({ onReading: (r) => got.push(r.seq), onReset: (r) => resets.push(r) });
    last().accept();
    last().deliver(hello(0));
    for (const n of [1, 2, 3]) last().deliver(reading(n));
    expect(client!.epoch).toBe('E1');
    last().serverClose(1001);
    vi.advanceTimersByTime(1000);
    last().accept();
    // the new run already passed our since: nothing of it may pass for already seen
    last().deliver(hello(5, 'operator', 'E2'));
    expect(last().sent).toEqual([{ type: 'subscribe', devices: ['*'], since: 3, epoch: 'E1' }]);
    expect(resets).toEqual([{ previousEpoch: 'E1', previousSeq: 3, epoch: 'E2', seq: 5 }]);
    expect(client!.epoch).toBe('E2');
    last().deliver(reading(5));
    last().deliver({ type: 'reset', epoch: 'E2' });
    for (const n of [1, 2, 3, 4, 6]) last().deliver(reading(n));
    expect(got).toEqual([1, 2, 3, 1, 2, 3, 4, 5, 6]);
    expect(resets).toHaveLength(1);
    expect(client!.stats().resets).toBe(1);
  });

  it('a reset the hello did not announce (same epoch) still fires onReset and the replay after it is delivered', () => {
    const got: number[] = [];
    const resets: unknown[] = [];
    start({ onReading: (r) => got.push(r.seq), onReset: (r) => resets.push(r) });
    last().accept();
    last().deliver(hello(0));
    for (const n of [1, 2]) last().deliver(reading(n));
    last().serverClose(1006);
    vi.advanceTimersByTime(1000);
    last().accept();
    last().deliver(hello(2));
    last().deliver({ type: 'reset', epoch: 'E1' });
    for (const n of [1, 2]) last().deliver(reading(n));
    expect(resets).toEqual([{ previousEpoch: 'E1', previousSeq: 2, epoch: 'E1', seq: 2 }]);
    expect(got).toEqual([1, 2, 1, 2]);
  });

  it('holds commands while bufferedAmount is high and sends them when it drains; string → line or payload by source', async () => {
    start({ maxBufferedBytes: 1000 });
    last().accept();
    last().deliver(hello(0));
    last().bufferedAmount = 5000;
    const p1 = client!.command('d1', 'LED ON');
    const p2 = client!.command('m1', 'on');
    const p3 = client!.command('m1', { payload: { led: true } });
    expect(last().sent).toEqual([]);
    vi.advanceTimersByTime(200);
    expect(last().sent).toEqual([]);
    last().bufferedAmount = 0;
    vi.advanceTimersByTime(50);
    expect(last().sent).toEqual([
      { type: 'command', id: 'c1', device: 'd1', line: 'LED ON' },
      { type: 'command', id: 'c2', device: 'm1', payload: 'on' },
      { type: 'command', id: 'c3', device: 'm1', payload: { led: true } },
    ]);
    last().deliver({ type: 'ack', id: 'c1', ok: true, reply: 'OK LED ON' });
    last().deliver({ type: 'ack', id: 'c2', ok: false, error: { code: 'timeout', message: 'no reply' } });
    last().deliver({ type: 'error', id: 'c3', error: { code: 'invalid', message: 'bad payload' } });
    // a second ack for the same id changes nothing
    last().deliver({ type: 'ack', id: 'c1', ok: false, error: { code: 'busy', message: 'x' } });
    await expect(p1).resolves.toEqual({ id: 'c1', reply: 'OK LED ON' });
    await expect(p2).rejects.toMatchObject({ name: 'CommandFailedError', code: 'timeout', device: 'm1', id: 'c2' });
    await expect(p3).rejects.toMatchObject({ code: 'invalid' });
  });

  it('commands wait for the hello (open is not enough) and expire if it never comes', async () => {
    start({ commandTimeoutMs: 500 });
    const p = client!.command('d1', 'PING');
    last().accept();
    expect(last().sent).toEqual([]);
    vi.advanceTimersByTime(500);
    await expect(p).rejects.toMatchObject({ code: 'client_timeout', message: 'no ack within 500 ms (never sent: not connected)' });
    last().deliver(hello(0));
    expect(last().sent).toEqual([]);
  });

  it('surfaces the why of a refused handshake where the WebSocket tells it (Node ws)', () => {
    start();
    last().onerror?.({ message: 'Unexpected server response: 401' });
    last().serverClose(1006);
    expect(states.at(-1)).toMatchObject({ refused: true, reason: 'handshake refused: HTTP 401' });
  });

  it('words a close by what is known: a connection that could not be made, or an open one lost, is no auth problem', () => {
    start();
    last().accept();
    // a gateway killed under an open session: close 1006, no reason (a browser says nothing more)
    last().serverClose(1006);
    expect(states.at(-1)).toMatchObject({ state: 'reconnecting', refused: false, code: 1006, reason: 'connection lost' });
    vi.advanceTimersByTime(states.at(-1)!.nextRetryAt! - Date.now());
    // nobody listens any more: Node's ws names the refused TCP connect, a browser nothing
    last().onerror?.({ message: 'connect ECONNREFUSED 127.0.0.1:8080' });
    last().serverClose(1006);
    expect(states.at(-1)).toMatchObject({ refused: true, reason: 'could not connect: connect ECONNREFUSED 127.0.0.1:8080' });
    vi.advanceTimersByTime(states.at(-1)!.nextRetryAt! - Date.now());
    last().refuse();
    expect(states.at(-1)!.reason).toBe('could not connect (gateway unreachable or handshake refused)');
    expect(states.map((s) => s.reason ?? '').join(' ')).not.toContain('auth');
  });

  it('reconnect(): closes the open socket and opens at once with the new token, no backoff', () => {
    start();
    last().accept();
    client!.reconnect({ token: 'tok-ABCDEFGHIJKLMNOP' });
    expect(FakeSocket.all).toHaveLength(2);
    expect(last().protocols).toEqual(['serialgate.v1.json', 'bearer.tok-ABCDEFGHIJKLMNOP']);
    expect(() => client!.reconnect({ token: 'bad token' })).toThrow(expect.objectContaining({ code: 'SG_ERR_CLIENT_TOKEN' }));
  });

  it('a socket that opens while reconnect() or close() is closing it stays closing (no "open" between)', () => {
    start();
    const first = last();
    first.close = () => {}; // the close handshake is still in flight when the handshake completes
    client!.reconnect();
    first.accept();
    expect(client!.state).toBe('closing');
    first.serverClose(1000, 'reconnecting');
    expect(FakeSocket.all).toHaveLength(2);
    const second = last();
    second.close = () => {};
    client!.close();
    second.accept();
    expect(client!.state).toBe('closing');
    second.serverClose(1000);
    expect(states.map((s) => s.state)).toEqual(['connecting', 'closing', 'connecting', 'closing', 'closed']);
    expect(FakeSocket.all).toHaveLength(2);
  });

  it('reconnect: false → closed after the first close, queued commands fail with closed', async () => {
    start({ reconnect: false });
    const p = client!.command('d1', 'PING');
    last().refuse();
    expect(client!.state).toBe('closed');
    await expect(p).rejects.toMatchObject({ code: 'closed' });
  });

  it('an undecodable or malformed frame is reported and skipped; the session goes on', () => {
    const errors: string[] = [];
    const got: number[] = [];
    start({ onError: (e) => errors.push('error' in e ? e.error.code : e.message), onReading: (r) => got.push(r.seq) });
    last().accept();
    last().deliver(hello(0));
    last().onmessage?.({ data: '{not json' });
    last().deliver({ type: 'reading', seq: 'x' });
    last().deliver({ type: 'error', error: { code: 'malformed', message: 'what?' } });
    last().deliver(reading(1));
    expect(got).toEqual([1]);
    expect(errors[0]).toMatch(/^undecodable frame: /);
    expect(errors.slice(1)).toEqual(['malformed "reading" message', 'malformed']);
    expect(client!.stats().errors).toBe(3);
  });
});

describe('client.history()', () => {
  const answer = (id: string) => ({ type: 'history', id, device: 'd1', from: 0, to: 10, buckets: [], points: [{ seq: 1, ts: 5, values: { v: 1 } }] });

  it('waits for the hello, sends one request per call, resolves each with its own answer', async () => {
    start();
    const a = client!.history('d1', { from: 0, to: 10 });
    const b = client!.history('d1', { maxPoints: 5 });
    last().accept();
    expect(last().sent).toEqual([]);
    last().deliver(hello(3));
    expect(last().sent).toEqual([
      { type: 'history', id: 'h1', device: 'd1', from: 0, to: 10 },
      { type: 'history', id: 'h2', device: 'd1', maxPoints: 5 },
    ]);
    last().deliver(answer('h2'));
    last().deliver(answer('h1'));
    await expect(a).resolves.toMatchObject({ id: 'h1', points: [{ seq: 1 }] });
    await expect(b).resolves.toMatchObject({ id: 'h2' });
    // an open session sends at once
    const c = client!.history('d1');
    expect(last().sent.at(-1)).toEqual({ type: 'history', id: 'h3', device: 'd1' });
    last().deliver(answer('h3'));
    await c;
  });

  it('a connection lost before the answer: sent again on the next session (it only reads), answered once', async () => {
    start();
    last().accept();
    last().deliver(hello(3));
    const p = client!.history('d1');
    expect(last().sent).toEqual([{ type: 'history', id: 'h1', device: 'd1' }]);
    last().serverClose(1001);
    vi.advanceTimersByTime(1000);
    last().accept();
    last().deliver(hello(3));
    expect(last().sent).toContainEqual({ type: 'history', id: 'h1', device: 'd1' });
    last().deliver(answer('h1'));
    last().deliver(answer('h1'));
    await expect(p).resolves.toMatchObject({ id: 'h1' });
  });

  it('rejects with HistoryFailedError: an error naming its id, the deadline, close(); a malformed answer is a protocol violation', async () => {
    const errors: unknown[] = [];
    start({ commandTimeoutMs: 500, onError: (e) => errors.push(e) });
    last().accept();
    last().deliver(hello(3));
    const bad = client!.history('d1', { from: 5, to: 1 });
    last().deliver({ type: 'error', id: 'h1', error: { code: 'invalid_field', message: 'history "from" must not be after "to"' } });
    await expect(bad).rejects.toMatchObject({ name: 'HistoryFailedError', code: 'invalid_field', device: 'd1', id: 'h1' });
    const slow = client!.history('d1');
    const slowErr = slow.catch((e: unknown) => e);
    last().deliver({ ...answer('h2'), points: [{ seq: 1, ts: 5, values: 'nope' }] });
    expect(errors.at(-1)).toMatchObject({ name: 'ProtocolViolation' });
    vi.advanceTimersByTime(500);
    expect(await slowErr).toMatchObject({ code: 'client_timeout' });
    const waiting = client!.history('d1').catch((e: unknown) => e);
    client!.close();
    expect(await waiting).toMatchObject({ code: 'closed' });
    await expect(client!.history('d1')).rejects.toMatchObject({ code: 'closed' });
  });
});

describe('client.history(): refusals that pass are asked again', () => {
  // Math.random is 0.999999: every wait is its whole backoff step, 250 ms doubling to 2 s
  const refuse = (id: string, code = 'rate_limited') => last().deliver({ type: 'error', id, error: { code, message: 'not now' } });
  const req = (id: string) => ({ type: 'history', id, device: 'd1' });
  const historySent = () => last().sent.filter((m) => (m as { type: string }).type === 'history');
  const answer = (id: string) => ({ type: 'history', id, device: 'd1', from: 0, to: 10, buckets: [], points: [] });
  function open(opts: Parameters<typeof connect>[1] = {}): void {
    start(opts);
    last().accept();
    last().deliver(hello(3));
  }

  it('rate_limited, history_unavailable: sent again (same id) after the jittered backoff, then resolved by the answer', async () => {
    const errors: unknown[] = [];
    open({ onError: (e) => errors.push(e) });
    const p = client!.history('d1');
    refuse('h1');
    vi.advanceTimersByTime(HISTORY_RETRY_MIN_MS - 1);
    expect(historySent()).toEqual([req('h1')]);
    vi.advanceTimersByTime(1);
    expect(historySent()).toEqual([req('h1'), req('h1')]);
    refuse('h1', 'history_unavailable');
    vi.advanceTimersByTime(2 * HISTORY_RETRY_MIN_MS - 1);
    expect(historySent()).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(historySent()).toHaveLength(3);
    last().deliver(answer('h1'));
    await expect(p).resolves.toMatchObject({ id: 'h1' });
    expect(client!.stats().historyRetries).toBe(2);
    // the refusals it answered itself are not reported as errors
    expect(errors).toEqual([]);
  });

  it('a refusal that would come again (invalid_field, an unknown code) rejects at once: nothing is sent again', async () => {
    open();
    const bad = client!.history('d1').catch((e: unknown) => e);
    const odd = client!.history('d1').catch((e: unknown) => e);
    refuse('h1', 'invalid_field');
    refuse('h2', 'unknown_device');
    expect(await bad).toMatchObject({ name: 'HistoryFailedError', code: 'invalid_field', id: 'h1' });
    expect(await odd).toMatchObject({ code: 'unknown_device', id: 'h2' });
    vi.advanceTimersByTime(10_000);
    expect(historySent()).toEqual([req('h1'), req('h2')]);
    expect(client!.stats().historyRetries).toBe(0);
  });

  it(`bounded: ${HISTORY_RETRIES} retries, then the refusal's code; never a retry planned past the deadline`, async () => {
    const errors: string[] = [];
    open({ commandTimeoutMs: 60_000, onError: (e) => errors.push('error' in e ? `${e.id}: ${e.error.code}` : e.message) });
    const p = client!.history('d1').catch((e: unknown) => e);
    for (let i = 0; i < HISTORY_RETRIES; i++) {
      refuse('h1');
      vi.advanceTimersByTime(HISTORY_RETRY_MAX_MS);
    }
    expect(historySent()).toHaveLength(1 + HISTORY_RETRIES);
    expect(errors).toEqual([]);
    refuse('h1');
    expect(await p).toMatchObject({ code: 'rate_limited', id: 'h1' });
    // the last refusal, the one the request fails with, is reported
    expect(errors).toEqual(['h1: rate_limited']);
    vi.advanceTimersByTime(60_000);
    expect(historySent()).toHaveLength(1 + HISTORY_RETRIES);

    // 600 ms deadline: the first retry (250 ms) fits, the second (500 ms later) would not
    const short = client!.history('d1', {}, { timeoutMs: 600 }).catch((e: unknown) => e);
    refuse('h2');
    vi.advanceTimersByTime(HISTORY_RETRY_MIN_MS);
    refuse('h2');
    expect(await short).toMatchObject({ code: 'rate_limited', id: 'h2' });
    expect(historySent().filter((m) => (m as { id: string }).id === 'h2')).toHaveLength(2);
  });

  it(`retries of many requests refused at once leave ${HISTORY_RETRY_GAP_MS} ms apart (under the connection's rate)`, () => {
    open();
    for (let i = 1; i <= 5; i++) void client!.history('d1').catch(() => undefined);
    for (let i = 1; i <= 5; i++) refuse(`h${i}`);
    vi.advanceTimersByTime(HISTORY_RETRY_MIN_MS);
    const counts = [historySent().length];
    for (let i = 0; i < 5; i++) {
      vi.advanceTimersByTime(HISTORY_RETRY_GAP_MS);
      counts.push(historySent().length);
    }
    expect(counts).toEqual([6, 7, 8, 9, 10, 10]);
  });

  it('aborting the signal (the session that asked ended) drops the request: no retry, not sent on the next session', async () => {
    open();
    const session = new AbortController();
    const waiting = client!.history('d1', {}, { signal: session.signal }).catch((e: unknown) => e);
    const lost = client!.history('d1', {}, { signal: session.signal }).catch((e: unknown) => e);
    refuse('h1');
    last().serverClose(1001);
    session.abort();
    expect(await waiting).toMatchObject({ code: 'aborted', id: 'h1' });
    expect(await lost).toMatchObject({ code: 'aborted', id: 'h2' });
    vi.advanceTimersByTime(1000);
    last().accept();
    last().deliver(hello(3));
    vi.advanceTimersByTime(10_000);
    expect(historySent()).toEqual([]);
    await expect(client!.history('d1', {}, { signal: session.signal })).rejects.toMatchObject({ code: 'aborted' });
    expect(historySent()).toEqual([]);
  });

  it('a connection lost while a retry waits: sent once, by the new session or when due, whichever comes last', async () => {
    open();
    const early = client!.history('d1');
    refuse('h1');
    last().serverClose(1001);
    // due at 250 ms with no session: the new one (1 s later) sends it
    vi.advanceTimersByTime(1000);
    last().accept();
    last().deliver(hello(3));
    expect(historySent()).toEqual([req('h1')]);
    last().deliver(answer('h1'));
    await early;

    const late = client!.history('d1');
    refuse('h2');
    client!.reconnect();
    last().accept();
    last().deliver(hello(3));
    // a new session at once: the retry still waits for its time
    expect(historySent()).toEqual([]);
    vi.advanceTimersByTime(HISTORY_RETRY_MIN_MS);
    expect(historySent()).toEqual([req('h2')]);
    last().deliver(answer('h2'));
    await late;
  });
});
