import { afterEach, describe, expect, it, vi } from 'vitest';
import { Hub, type HubOptions } from '../../../src/hub/hub.js';
import { metrics } from '../../../src/metrics.js';
import { silentLogger } from '../../../src/log.js';
import { FakeConn, FakeDevice, testConfig, timeoutError } from './fakes.js';

function setup(hubOver: Record<string, unknown> = {}, cfgOver: Record<string, unknown> = {}, opts: HubOptions = {}) {
  const hub = new Hub(testConfig({ hub: { coalesceMs: 0, ...hubOver }, ...cfgOver }), silentLogger(), opts);
  const devs = { a: new FakeDevice('a'), b: new FakeDevice('b'), m: new FakeDevice('m', 'mqtt') };
  hub.setDevices(Object.values(devs));
  const connect = (role: 'viewer' | 'operator' = 'operator', protocol?: string) => {
    const c = new FakeConn(protocol);
    c.settle = () => hub.flushQueued();
    hub.attach(c, { role });
    return c;
  };
  const read = (device: string, t: number) => hub.reading({ device, ts: 1000 + t, values: { t } });
  return { hub, devs, connect, read };
}

async function commandCount(device: string, result: string): Promise<number> {
  const { values } = await metrics.commands.get();
  return values.find((v) => v.labels.device === device && v.labels.result === result)?.value ?? 0;
}

const flushPromises = () => new Promise((r) => setImmediate(r));

afterEach(() => {
  vi.useRealTimers();
});

describe('session start', () => {
  it('hello, then the last value of each device in seq order, then live readings (JSON)', () => {
    const { hub, connect, read } = setup();
    read('a', 1);
    read('b', 2);
    read('a', 3);
    const c = connect('viewer');
    read('b', 4);
    const msgs = c.messages();
    expect(msgs[0]).toEqual({
      type: 'hello',
      protocol: 1,
      gateway: 'serialgate',
      role: 'viewer',
      epoch: hub.epoch,
      seq: 3,
      devices: [
        { id: 'a', source: 'serial', state: 'up' },
        { id: 'b', source: 'serial', state: 'up' },
        { id: 'm', source: 'mqtt', state: 'up' },
      ],
    });
    expect(msgs.slice(1).map((m) => [m.type, m.seq, m.device])).toEqual([
      ['reading', 2, 'b'],
      ['reading', 3, 'a'],
      ['reading', 4, 'b'],
    ]);
    expect(msgs[3]).toEqual({ type: 'reading', seq: 4, device: 'b', ts: 1004, values: { t: 4 } });
  });

  it('CBOR clients get the same messages in binary frames', () => {
    const { connect, read } = setup();
    read('a', 1);
    const c = connect('viewer', 'serialgate.v1.cbor');
    read('a', 2);
    expect(c.writes.every((w) => (w[0]! & 0x0f) === 2)).toBe(true);
    expect(c.messages().slice(1)).toEqual([
      { type: 'reading', seq: 1, device: 'a', ts: 1001, values: { t: 1 } },
      { type: 'reading', seq: 2, device: 'a', ts: 1002, values: { t: 2 } },
    ]);
  });

  it('one reading is framed once per encoding: every connection gets the same Buffer', () => {
    const { hub, connect, read } = setup();
    const conns = [connect(), connect(), connect('viewer', 'serialgate.v1.cbor'), connect('viewer', 'serialgate.v1.cbor')];
    read('a', 1);
    hub.flushQueued();
    const last = conns.map((c) => c.writes.at(-1));
    expect(last[0]).toBe(last[1]);
    expect(last[2]).toBe(last[3]);
    expect(last[0]).not.toBe(last[2]);
  });

  it('state changes go to every connection', () => {
    const { hub, connect } = setup();
    const c = connect('viewer');
    hub.state({ id: 'a', source: 'serial', state: 'down', reason: 'ENOENT' });
    hub.state({ id: 'a', source: 'serial', state: 'down', reason: 'ENOENT' });
    expect(c.of('state')).toEqual([{ type: 'state', device: 'a', state: 'down', reason: 'ENOENT' }]);
  });

  it('leaving the fleet (reload): its gateways go offline with the reason, and a later hello lists none', () => {
    const { hub, connect } = setup();
    hub.presence({ id: 'B', state: 'online' });
    hub.presence({ id: 'C', state: 'offline', reason: 'stopped' });
    const c = connect('viewer');
    hub.leaveFleet('federation turned off on this gateway');
    expect(c.of('presence').slice(-2)).toEqual([
      { type: 'presence', gateway: 'B', state: 'offline', reason: 'federation turned off on this gateway' },
      { type: 'presence', gateway: 'C', state: 'offline', reason: 'federation turned off on this gateway' },
    ]);
    expect(connect('viewer').of('hello')[0].gateways).toBeUndefined();
    // a fleet joined again reports afresh
    hub.presence({ id: 'B', state: 'online' });
    expect(connect('viewer').of('hello')[0].gateways).toEqual([{ id: 'B', state: 'online' }]);
  });

  it('fleet presence: each change to every connection once; a later hello lists the gateways and why a device is down', () => {
    const { hub, connect } = setup();
    const c = connect('viewer');
    hub.presence({ id: 'B', state: 'online' });
    hub.presence({ id: 'B', state: 'online' });
    hub.presence({ id: 'B', state: 'offline', reason: 'connection lost' });
    hub.state({ id: 'a', source: 'serial', state: 'down', reason: 'ENOENT' });
    expect(c.of('presence')).toEqual([
      { type: 'presence', gateway: 'B', state: 'online' },
      { type: 'presence', gateway: 'B', state: 'offline', reason: 'connection lost' },
    ]);
    const hello = connect('viewer').of('hello')[0];
    expect(hello.gateways).toEqual([{ id: 'B', state: 'offline', reason: 'connection lost' }]);
    expect(hello.devices[0]).toEqual({ id: 'a', source: 'serial', state: 'down', reason: 'ENOENT' });
  });
});

describe('coalescing', () => {
  it('readings that arrive in one loop turn go out to a connection in ONE write, at the end of the turn', () => {
    vi.useFakeTimers();
    const { connect, read } = setup({ coalesceMs: 5 });
    const c = connect();
    vi.advanceTimersByTime(5);
    const before = c.writes.length;
    read('a', 1);
    read('b', 2);
    read('a', 3);
    expect(c.writes.length).toBe(before);
    vi.advanceTimersByTime(0);
    expect(c.writes.length).toBe(before + 1);
    expect(c.of('reading').map((m) => m.seq)).toEqual([1, 2, 3]);
  });

  it('a quiet gateway holds nothing for the window: each later reading is written at the end of its own turn', () => {
    vi.useFakeTimers();
    const { connect, read } = setup({ coalesceMs: 50 });
    const c = connect();
    vi.advanceTimersByTime(60);
    const before = c.writes.length;
    for (let seq = 1; seq <= 3; seq++) {
      read('a', seq);
      vi.advanceTimersByTime(0);
      expect(c.writes.length).toBe(before + seq);
      vi.advanceTimersByTime(1);
    }
    expect(c.of('reading').map((m) => m.seq)).toEqual([1, 2, 3]);
  });

  it('an ack is not delayed by the window and keeps its order after queued readings', async () => {
    vi.useFakeTimers();
    const { connect, read } = setup({ coalesceMs: 50 });
    const c = connect();
    read('a', 1);
    c.sendJson({ type: 'command', id: 'x', device: 'm', line: 'bad' });
    const types = c.messages().map((m) => m.type);
    expect(types).toEqual(['hello', 'reading', 'ack']);
  });
});

describe('subscriptions', () => {
  it('a connection gets only the devices it subscribed to; ["*"] again gets everything', () => {
    const { connect, read } = setup();
    const c = connect('viewer');
    c.sendJson({ type: 'subscribe', devices: ['b'] });
    read('a', 1);
    read('b', 2);
    c.sendJson({ type: 'subscribe', devices: ['*'] });
    read('a', 3);
    expect(c.of('reading').map((m) => m.seq)).toEqual([2, 3]);
  });
});

describe('resume', () => {
  it('since: replays exactly what this connection has not been sent, in order, then live', () => {
    const { hub, connect, read } = setup();
    for (let i = 1; i <= 5; i++) read(i % 2 ? 'a' : 'b', i);
    // a client that had seen up to 2 reconnects: snapshot sends 4 (b) and 5 (a)
    const c = connect('viewer');
    read('a', 6);
    c.sendJson({ type: 'subscribe', devices: ['*'], since: 2, epoch: hub.epoch });
    read('b', 7);
    const seqs = c.of('reading').map((m) => m.seq);
    expect(seqs).toEqual([4, 5, 6, 3, 7]);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(c.of('gap')).toEqual([]);
    expect(c.of('reset')).toEqual([]);
  });

  it('dashboards resuming in the same loop turn share the replay: the same frames, one concatenation for all', () => {
    vi.useFakeTimers();
    const { connect, read } = setup({ coalesceMs: 5, resumeBuffer: 4 });
    for (let i = 1; i <= 6; i++) read('a', i);
    // after a restart every dashboard comes back with a since of the old stream: reset, gap, replay
    const cs = [connect('viewer'), connect('viewer'), connect('viewer')];
    for (const c of cs) c.sendJson({ type: 'subscribe', devices: ['*'], since: 40, epoch: 'old-run' });
    vi.advanceTimersByTime(5);
    const replays = cs.map((c) => c.writes.at(-1));
    expect(replays[1]).toBe(replays[0]);
    expect(replays[2]).toBe(replays[0]);
    for (const c of cs) {
      expect(c.messages().map((m) => m.type)).toEqual(['hello', 'reading', 'reset', 'gap', 'reading', 'reading', 'reading']);
      expect(c.of('reading').map((m) => m.seq)).toEqual([6, 3, 4, 5]);
    }
  });

  it('a gap for what the ring no longer holds', () => {
    const { hub, connect, read } = setup({ resumeBuffer: 3 });
    for (let i = 1; i <= 8; i++) read('a', i);
    const c = connect('viewer');
    c.sendJson({ type: 'subscribe', devices: ['a'], since: 2, epoch: hub.epoch });
    expect(c.of('gap')).toEqual([{ type: 'gap', from: 3, to: 5 }]);
    expect(c.of('reading').map((m) => m.seq)).toEqual([8, 6, 7]);
  });

  it('a replay larger than half the hard send limit: the newest part, the rest as a gap', () => {
    const { hub, connect, read } = setup({}, { server: { limits: { sendHardLimitBytes: 4096 } } });
    const c = connect('viewer');
    c.sendJson({ type: 'subscribe', devices: [] });
    for (let i = 1; i <= 100; i++) read('a', i);
    const before = c.writes.length;
    c.sendJson({ type: 'subscribe', devices: ['*'], since: 0, epoch: hub.epoch });
    hub.flushQueued();
    expect(c.writes.length).toBe(before + 1);
    expect(c.writes.at(-1)!.length).toBeLessThanOrEqual(2048 + 32);
    const [gap] = c.of('gap');
    const replayed = c.of('reading').map((m) => m.seq);
    expect(gap.from).toBe(1);
    expect(replayed.length).toBeGreaterThan(10);
    expect(replayed).toEqual(Array.from({ length: 100 - gap.to }, (_, i) => gap.to + 1 + i));
  });

  it('a replay only contains the newly subscribed devices', () => {
    const { connect, read } = setup();
    const c = connect('viewer');
    c.sendJson({ type: 'subscribe', devices: ['b'] });
    read('a', 1);
    read('b', 2);
    c.sendJson({ type: 'subscribe', devices: ['a', 'b'], since: 0 });
    expect(c.of('reading').map((m) => m.seq)).toEqual([2, 1]);
  });
});

describe('stream identity (epoch)', () => {
  /** a hub that has sent 1..n and a connection that got the hello and the snapshot */
  function afterRestart(n: number, hubOver: Record<string, unknown> = {}) {
    const t = setup(hubOver);
    for (let i = 1; i <= n; i++) t.read(i % 2 ? 'a' : 'b', i);
    return { ...t, c: t.connect('viewer') };
  }
  const types = (c: { messages(): any[] }) => c.messages().map((m) => (m.type === 'reading' ? m.seq : m.type));

  it('each hub draws its own epoch (12 URL-safe characters)', () => {
    const epochs = new Set(Array.from({ length: 50 }, () => setup().hub.epoch));
    expect(epochs.size).toBe(50);
    for (const e of epochs) expect(e).toMatch(/^[A-Za-z0-9_-]{12}$/);
  });

  it('a since from another epoch, still below our seq: reset, then this stream from 1 without what was sent', () => {
    const { c } = afterRestart(6);
    c.sendJson({ type: 'subscribe', devices: ['*'], since: 4, epoch: 'another-run' });
    // hello, snapshot (5 a, 6 b), reset, then 1..4 (5 and 6 were already sent)
    expect(types(c)).toEqual(['hello', 5, 6, 'reset', 1, 2, 3, 4]);
    expect(c.of('reset')).toEqual([{ type: 'reset', epoch: c.of('hello')[0].epoch }]);
    expect(c.of('gap')).toEqual([]);
  });

  it('a since from another epoch beyond our seq: reset, then everything held', () => {
    const { c } = afterRestart(3);
    c.sendJson({ type: 'subscribe', devices: ['*'], since: 40, epoch: 'another-run' });
    expect(types(c)).toEqual(['hello', 2, 3, 'reset', 1]);
  });

  it('a since without an epoch cannot be trusted: reset as for another epoch', () => {
    const { c } = afterRestart(4);
    c.sendJson({ type: 'subscribe', devices: ['*'], since: 2 });
    expect(types(c)).toEqual(['hello', 3, 4, 'reset', 1, 2]);
  });

  it('our epoch with a since beyond our seq does not continue it either: reset', () => {
    const { hub, c } = afterRestart(2);
    c.sendJson({ type: 'subscribe', devices: ['*'], since: 9, epoch: hub.epoch });
    expect(types(c)).toEqual(['hello', 1, 2, 'reset']);
  });

  it('our epoch: replayed after since as before, no reset', () => {
    const { hub, c } = afterRestart(6);
    c.sendJson({ type: 'subscribe', devices: ['*'], since: 2, epoch: hub.epoch });
    expect(types(c)).toEqual(['hello', 5, 6, 3, 4]);
  });

  it('after a reset, what the ring no longer holds is a gap from 1', () => {
    const { c } = afterRestart(8, { resumeBuffer: 3 });
    c.sendJson({ type: 'subscribe', devices: ['*'], since: 30, epoch: 'another-run' });
    expect(types(c)).toEqual(['hello', 7, 8, 'reset', 'gap', 6]);
    expect(c.of('gap')).toEqual([{ type: 'gap', from: 1, to: 5 }]);
  });

  it('a stream handed in (History across a planned restart) continues: same epoch, next seq, old seqs a gap', () => {
    const { hub, connect, read } = setup({}, {}, { stream: { epoch: 'restored-epoch', seq: 41 } });
    expect(hub.epoch).toBe('restored-epoch');
    const c = connect('viewer');
    expect(c.of('hello')[0]).toMatchObject({ epoch: 'restored-epoch', seq: 41 });
    read('a', 1);
    expect(c.of('reading').map((m) => m.seq)).toEqual([42]);
    expect(hub.stream()).toEqual({ epoch: 'restored-epoch', seq: 42 });
    // a client of the previous run that had seen 40 gets 41 as a gap (not held), then 42
    const d = connect('viewer');
    d.sendJson({ type: 'subscribe', devices: ['*'], since: 40, epoch: 'restored-epoch' });
    expect(types(d)).toEqual(['hello', 42, 'gap']);
    expect(d.of('gap')).toEqual([{ type: 'gap', from: 41, to: 41 }]);
  });

  it('a snapshot handed to the next Hub restores the resume buffer and the last values: no gap, no reset', () => {
    const first = setup({ resumeBuffer: 4 });
    for (let t = 1; t <= 6; t++) first.read(t % 2 ? 'a' : 'b', t);
    const snap = JSON.parse(JSON.stringify(first.hub.snapshot())) as ReturnType<Hub['snapshot']>;
    expect(snap.readings.map((r) => r.seq)).toEqual([3, 4, 5, 6]);
    const { connect } = setup({ resumeBuffer: 4 }, {}, { stream: snap });
    const fresh = connect('viewer');
    // the last value of each device, as before the restart
    expect(fresh.of('reading').map((m) => m.seq)).toEqual([5, 6]);
    const c = connect('viewer');
    c.sendJson({ type: 'subscribe', devices: ['*'], since: 3, epoch: snap.epoch });
    expect(types(c)).toEqual(['hello', 5, 6, 4]);
    expect(c.of('gap')).toEqual([]);
    expect(c.of('reset')).toEqual([]);
  });

  it('a snapshot whose readings do not count up to its seq restores no buffer: the client is told the gap', () => {
    const snap = { epoch: 'e1', seq: 10, readings: [{ seq: 7, device: 'a', ts: 1, values: { t: 1 } }], last: [] };
    const { connect } = setup({}, {}, { stream: snap });
    const c = connect('viewer');
    c.sendJson({ type: 'subscribe', devices: ['*'], since: 6, epoch: 'e1' });
    expect(c.of('gap')).toEqual([{ type: 'gap', from: 7, to: 10 }]);
  });
});

describe('slow consumers', () => {
  it('congested: latest value per device kept, then gap + latest values on drain; drops counted', () => {
    const { hub, connect, read } = setup();
    const c = connect('viewer');
    c.result = 'backpressure';
    read('a', 1);
    hub.flushQueued(); // written, answered backpressure
    c.result = 'ok';
    const writes = c.writes.length;
    read('a', 2);
    read('b', 3);
    read('a', 4);
    read('a', 5);
    expect(c.writes.length).toBe(writes);
    c.emit('drain');
    expect(c.writes.length).toBe(writes + 1);
    const after = c.messages().slice(-3);
    expect(after).toEqual([
      { type: 'gap', from: 2, to: 5 },
      { type: 'reading', seq: 3, device: 'b', ts: 1003, values: { t: 3 } },
      { type: 'reading', seq: 5, device: 'a', ts: 1005, values: { t: 5 } },
    ]);
    read('b', 6);
    expect(c.messages().at(-1)).toMatchObject({ seq: 6 });
  });

  it('no gap when nothing was overwritten while congested', () => {
    const { connect, read } = setup();
    const c = connect('viewer');
    c.result = 'backpressure';
    read('a', 1);
    c.result = 'ok';
    read('b', 2);
    c.emit('drain');
    expect(c.of('gap')).toEqual([]);
    expect(c.of('reading').map((m) => m.seq)).toEqual([1, 2]);
  });

  it('a burst of large readings in one turn is written in batches: a dashboard that reads is switched to the latest value per device, not closed for one oversized write', () => {
    const { hub, connect } = setup();
    const c = connect('viewer');
    // Connection.writeFrame's rules on a socket with 10 KB still queued: soft 64 KB, hard 1 MB
    let queued = 10 * 1024;
    c.sendFrame = (frame: Buffer) => {
      if (c.closedWith) return 'closed';
      if (queued > 0 && queued + frame.length > 1024 * 1024) {
        c.close(1013, 'send buffer full');
        return 'closed';
      }
      c.writes.push(frame);
      queued += frame.length;
      return queued > 64 * 1024 ? 'backpressure' : 'ok';
    };
    const big = 'x'.repeat(60 * 1024);
    for (let i = 1; i <= 30; i++) hub.reading({ device: i % 2 ? 'a' : 'b', ts: 1000 + i, values: { s: big, i } });
    hub.flushQueued();
    expect(c.closedWith).toBeUndefined();
    // no write much over MAX_BATCH_BYTES plus one reading
    expect(Math.max(...c.writes.map((w) => w.length))).toBeLessThan(2 * 62 * 1024);
    queued = 0;
    c.emit('drain');
    const seqs = c.of('reading').map((m) => m.seq);
    expect(c.of('gap')).toHaveLength(1);
    // the latest of each device after the gap
    expect(seqs.slice(-2)).toEqual([29, 30]);
  });

  it('above the soft limit for longer than hub.stallTimeoutMs → close 1013; others unaffected', () => {
    vi.useFakeTimers();
    const { connect, read } = setup({ stallTimeoutMs: 1000 });
    const slow = connect('viewer');
    const fast = connect('viewer');
    slow.result = 'backpressure';
    read('a', 1);
    vi.advanceTimersByTime(999);
    expect(slow.closedWith).toBeUndefined();
    vi.advanceTimersByTime(1);
    expect(slow.closedWith).toEqual({ code: 1013, reason: 'slow consumer' });
    read('a', 2);
    expect(fast.of('reading').map((m) => m.seq)).toEqual([1, 2]);
  });
});

describe('commands', () => {
  it('ok with the device reply; the line reaches the device', async () => {
    const { connect, devs } = setup();
    const c = connect();
    c.sendJson({ type: 'command', id: 'c1', device: 'b', line: 'LED ON' });
    await flushPromises();
    expect(devs.b.calls).toEqual([{ line: 'LED ON' }]);
    expect(c.of('ack')).toEqual([{ type: 'ack', id: 'c1', ok: true, reply: 'OK LED ON' }]);
  });

  it('MQTT devices take a payload', async () => {
    const { connect, devs } = setup();
    devs.m.respond = async () => ({});
    const c = connect();
    c.sendJson({ type: 'command', id: 'p', device: 'm', payload: { on: true } });
    await flushPromises();
    expect({ ...(devs.m.calls[0]!.payload as object) }).toEqual({ on: true });
    expect(c.of('ack')).toEqual([{ type: 'ack', id: 'p', ok: true }]);
  });

  const refused: [string, Record<string, unknown>, string][] = [
    ['unknown device', { device: 'zz', line: 'X' }, 'unknown_device'],
    ['device not a string', { device: 7, line: 'X' }, 'invalid'],
    ['control characters', { device: 'a', line: 'LED\nON' }, 'invalid'],
    ['a C1 control', { device: 'a', line: 'LED\u009bON' }, 'invalid'],
    ['line over commands.maxLength', { device: 'a', line: 'x'.repeat(17) }, 'invalid'],
    ['empty line', { device: 'a', line: '' }, 'invalid'],
    ['line not a string', { device: 'a', line: 42 }, 'invalid'],
    ['payload to a serial device', { device: 'a', payload: 'x' }, 'invalid'],
    ['line to an MQTT device', { device: 'm', line: 'x' }, 'invalid'],
    ['MQTT without payload', { device: 'm' }, 'invalid'],
    ['not matching commands.allow', { device: 'b', line: 'REBOOT' }, 'forbidden'],
  ];
  for (const [what, fields, code] of refused) {
    it(`${what} → ack ${code}, the device never sees it`, () => {
      const { connect, devs } = setup();
      const c = connect();
      c.sendJson({ type: 'command', id: 'r', ...fields });
      expect(c.of('ack')).toEqual([{ type: 'ack', id: 'r', ok: false, error: { code, message: expect.any(String) } }]);
      expect(devs.a.calls.length + devs.b.calls.length + devs.m.calls.length).toBe(0);
    });
  }

  it('viewer → forbidden', () => {
    const { connect } = setup();
    const c = connect('viewer');
    c.sendJson({ type: 'command', id: 'v', device: 'a', line: 'PING' });
    expect(c.of('ack')).toEqual([{ type: 'ack', id: 'v', ok: false, error: { code: 'forbidden', message: 'commands need an operator token' } }]);
  });

  it('device down → device_unavailable at once, with the reason', () => {
    const { connect, devs } = setup();
    devs.a.state = 'down';
    devs.a.reason = 'unplugged';
    const c = connect();
    c.sendJson({ type: 'command', id: 'd', device: 'a', line: 'PING' });
    expect(c.of('ack')).toEqual([{ type: 'ack', id: 'd', ok: false, error: { code: 'device_unavailable', message: 'a is down: unplugged' } }]);
  });

  it('a CommandError from the device becomes its code (timeout)', async () => {
    const { connect, devs } = setup();
    devs.a.respond = async () => {
      throw timeoutError('a');
    };
    const c = connect();
    c.sendJson({ type: 'command', id: 't', device: 'a', line: 'PING' });
    await flushPromises();
    expect(c.of('ack')).toEqual([{ type: 'ack', id: 't', ok: false, error: { code: 'timeout', message: 'no reply within 2000 ms' } }]);
  });

  it('a duplicate in-flight id → busy; the first still gets its own ack', async () => {
    const { connect, devs } = setup();
    let release!: (v: { reply?: string }) => void;
    devs.a.respond = () => new Promise((r) => (release = r));
    const c = connect();
    c.sendJson({ type: 'command', id: 'dup', device: 'a', line: 'PING' });
    c.sendJson({ type: 'command', id: 'dup', device: 'a', line: 'PING' });
    release({ reply: 'PONG' });
    await flushPromises();
    expect(c.of('ack').map((a) => (a.ok ? 'ok' : a.error.code))).toEqual(['busy', 'ok']);
  });

  it('token bucket per connection → rate_limited', () => {
    const { connect } = setup({ commandRate: { perSecond: 1, burst: 2 } });
    const c = connect();
    const other = connect();
    for (let i = 0; i < 3; i++) c.sendJson({ type: 'command', id: `r${i}`, device: 'zz', line: 'X' });
    other.sendJson({ type: 'command', id: 'o', device: 'zz', line: 'X' });
    expect(c.of('ack').map((a) => a.error.code)).toEqual(['unknown_device', 'unknown_device', 'rate_limited']);
    expect(other.of('ack').map((a) => a.error.code)).toEqual(['unknown_device']);
  });

  it("a viewer's commands take tokens too: forbidden within the rate, rate_limited beyond it", () => {
    const { connect } = setup({ commandRate: { perSecond: 1, burst: 2 } });
    const c = connect('viewer');
    for (let i = 0; i < 3; i++) c.sendJson({ type: 'command', id: `v${i}`, device: 'a', line: 'X' });
    expect(c.of('ack').map((a) => a.error.code)).toEqual(['forbidden', 'forbidden', 'rate_limited']);
  });

  it('a connection that closes while its command is pending: the command completes, no ack', async () => {
    const { connect, devs } = setup();
    let release!: (v: { reply?: string }) => void;
    devs.a.respond = () => new Promise((r) => (release = r));
    const c = connect();
    c.sendJson({ type: 'command', id: 'gone', device: 'a', line: 'PING' });
    c.close(1000);
    const writes = c.writes.length;
    release({ reply: 'PONG' });
    await flushPromises();
    expect(devs.a.calls.length).toBe(1);
    expect(c.writes.length).toBe(writes);
  });

  it('shutdown: pending commands → shutting_down, connections closed with 1001, new commands refused', async () => {
    const { hub, connect, devs } = setup();
    devs.a.respond = () => new Promise(() => {});
    const c = connect();
    c.sendJson({ type: 'command', id: 's', device: 'a', line: 'PING' });
    await hub.shutdown();
    expect(c.of('ack')).toEqual([{ type: 'ack', id: 's', ok: false, error: { code: 'shutting_down', message: 'the gateway is shutting down' } }]);
    expect(c.closedWith).toEqual({ code: 1001, reason: 'gateway shutting down' });
    const late = new FakeConn();
    hub.attach(late, { role: 'operator' });
    expect(late.closedWith?.code).toBe(1001);
  });
});

describe('bad client messages', () => {
  const cases: [string, Buffer, boolean, string][] = [
    ['not JSON', Buffer.from('{"type":'), false, 'malformed'],
    ['not an object', Buffer.from('[1,2]'), false, 'not_object'],
    ['a string', Buffer.from('"subscribe"'), false, 'not_object'],
    ['unknown type', Buffer.from('{"type":"hack"}'), false, 'unknown_type'],
    ['no type', Buffer.from('{"devices":["*"]}'), false, 'unknown_type'],
    ['devices not an array', Buffer.from('{"type":"subscribe","devices":"*"}'), false, 'invalid_field'],
    ['since negative', Buffer.from('{"type":"subscribe","devices":["*"],"since":-1}'), false, 'invalid_field'],
    ['since a string', Buffer.from('{"type":"subscribe","devices":["*"],"since":"3"}'), false, 'invalid_field'],
    ['epoch not a string', Buffer.from('{"type":"subscribe","devices":["*"],"since":3,"epoch":7}'), false, 'invalid_field'],
    ['epoch empty', Buffer.from('{"type":"subscribe","devices":["*"],"since":3,"epoch":""}'), false, 'invalid_field'],
    [
      'epoch over 64 chars',
      Buffer.from(JSON.stringify({ type: 'subscribe', devices: ['*'], since: 3, epoch: 'e'.repeat(65) })),
      false,
      'invalid_field',
    ],
    ['command id not a string', Buffer.from('{"type":"command","id":5,"device":"a","line":"X"}'), false, 'invalid_field'],
    [
      'command id over 64 chars',
      Buffer.from(JSON.stringify({ type: 'command', id: 'i'.repeat(65), device: 'a', line: 'X' })),
      false,
      'invalid_field',
    ],
    [
      'nested 10,000 deep',
      Buffer.from('{"type":"command","id":"n","device":"m","payload":' + '['.repeat(10_000) + ']'.repeat(10_000) + '}'),
      false,
      'too_deep',
    ],
    ['__proto__ key', Buffer.from('{"type":"subscribe","devices":["*"],"__proto__":{"since":1}}'), false, 'forbidden_key'],
    ['binary frame on JSON', Buffer.from('{"type":"subscribe","devices":["*"]}'), true, 'bad_encoding'],
  ];
  for (const [what, data, binary, code] of cases) {
    it(`${what} → error ${code}, connection stays open`, () => {
      const { connect, read } = setup();
      const c = connect();
      c.emit('message', data, binary);
      expect(c.of('error')).toEqual([{ type: 'error', error: { code, message: expect.any(String) } }]);
      expect(c.closedWith).toBeUndefined();
      read('a', 1);
      expect(c.of('reading').length).toBe(1);
    });
  }

  it('an unknown type with an id echoes the id', () => {
    const { connect } = setup();
    const c = connect();
    c.sendJson({ type: 'nope', id: 'q1' });
    expect(c.of('error')[0]).toMatchObject({ id: 'q1', error: { code: 'unknown_type' } });
  });

  it('a text frame on CBOR → error bad_encoding in CBOR', () => {
    const { connect } = setup();
    const c = connect('operator', 'serialgate.v1.cbor');
    c.emit('message', Buffer.from('{}'), false);
    expect(c.of('error')).toEqual([{ type: 'error', error: { code: 'bad_encoding', message: expect.any(String) } }]);
  });

  it('more than hub.badMessageLimit within 10 s → close 1008', () => {
    const { connect } = setup({ badMessageLimit: 5 });
    const c = connect();
    for (let i = 0; i < 5; i++) c.emit('message', Buffer.from('x'), false);
    expect(c.closedWith).toBeUndefined();
    c.emit('message', Buffer.from('x'), false);
    expect(c.closedWith).toEqual({ code: 1008, reason: 'too many bad messages' });
  });
});

describe('routeCommand (federation)', () => {
  it("applies the same device rules and reports refusals as CommandErrors, with the router's codes", async () => {
    const { hub, devs } = setup();
    await expect(hub.routeCommand('b', { line: 'LED ON' })).resolves.toEqual({ reply: 'OK LED ON' });
    await expect(hub.routeCommand('zz', { line: 'X' })).rejects.toMatchObject({ code: 'unknown_device', message: 'no device "zz"' });
    // the owner's refusal travels back to the origin dashboard as its own code (fleet mode)
    await expect(hub.routeCommand('b', { line: 'REBOOT' })).rejects.toMatchObject({
      code: 'forbidden',
      message: 'line not allowed by commands.allow',
    });
    await expect(hub.routeCommand('a', { line: 'A\rB' })).rejects.toMatchObject({ code: 'invalid' });
    devs.a.state = 'down';
    await expect(hub.routeCommand('a', { line: 'PING' })).rejects.toMatchObject({ code: 'device_unavailable' });
  });

  it('goes through the router: rate limited per origin (hub.commandRate), counted in metrics.commands', async () => {
    const { hub, devs } = setup({ commandRate: { perSecond: 0.001, burst: 2 } });
    const before = await commandCount('a', 'rate_limited');
    await expect(hub.routeCommand('a', { line: 'P1' })).resolves.toEqual({ reply: 'OK P1' });
    await expect(hub.routeCommand('a', { line: 'P2' })).resolves.toEqual({ reply: 'OK P2' });
    await expect(hub.routeCommand('a', { line: 'P3' })).rejects.toMatchObject({ code: 'rate_limited' });
    expect(await commandCount('a', 'rate_limited')).toBe(before + 1);
    // another gateway is another origin: its own bucket
    await expect(hub.routeCommand('a', { line: 'P4' }, { kind: 'fleet', gateway: 'gw2' })).resolves.toEqual({ reply: 'OK P4' });
    expect(devs.a.calls.map((c) => c.line)).toEqual(['P1', 'P2', 'P4']);
  });

  it('a pending federated command is answered shutting_down at shutdown', async () => {
    const { hub, devs } = setup();
    devs.a.respond = () => new Promise(() => {});
    const pending = hub.routeCommand('a', { line: 'SLOW' });
    await hub.shutdown();
    await expect(pending).rejects.toMatchObject({ code: 'shutting_down' });
  });
});

describe('command lengths', () => {
  it('commands.maxLength counts UTF-8 bytes, for dashboards and federation alike', async () => {
    const { hub, connect } = setup();
    // 8 characters, 16 bytes: at the limit of device a (maxLength 16)
    await expect(hub.routeCommand('a', { line: 'éééééééé' })).resolves.toEqual({ reply: 'OK éééééééé' });
    // 9 characters, 17 bytes: under the limit in UTF-16 units, over it in bytes
    await expect(hub.routeCommand('a', { line: 'éééééééé1' })).rejects.toMatchObject({
      code: 'invalid',
      message: '"line" is longer than 16 bytes (commands.maxLength)',
    });
    const c = connect();
    c.sendJson({ type: 'command', id: 'u', device: 'a', line: 'éééééééé1' });
    expect(c.of('ack')).toEqual([
      { type: 'ack', id: 'u', ok: false, error: { code: 'invalid', message: '"line" is longer than 16 bytes (commands.maxLength)' } },
    ]);
  });
});

describe('devices and readings', () => {
  it('setDevices on reload: removed devices are announced down and leave the snapshot', () => {
    const { hub, devs, connect, read } = setup();
    read('a', 1);
    read('m', 2);
    const c = connect('viewer');
    hub.setDevices([devs.a, devs.b]);
    expect(c.of('state')).toEqual([{ type: 'state', device: 'm', state: 'down', reason: 'removed from the configuration' }]);
    const late = connect('viewer');
    expect(late.of('hello')[0].devices.map((d: any) => d.id)).toEqual(['a', 'b']);
    expect(late.of('reading').map((r) => r.device)).toEqual(['a']);
  });

  it('serialgate_device_up is derived from the state the hub keeps (sources do not set it)', async () => {
    const { hub } = setup();
    const up = async (device: string) => (await metrics.deviceUp.get()).values.find((v) => v.labels.device === device)?.value;
    expect(await up('a')).toBe(1);
    hub.state({ id: 'a', source: 'serial', state: 'down', reason: 'ENOENT' });
    expect(await up('a')).toBe(0);
    hub.state({ id: 'a', source: 'serial', state: 'up' });
    expect(await up('a')).toBe(1);
  });

  it('onReading sees every reading with its seq', () => {
    const { hub, read } = setup();
    const seen: number[] = [];
    hub.onReading((r) => seen.push(r.seq));
    read('a', 1);
    read('b', 2);
    expect(seen).toEqual([1, 2]);
    expect(hub.stats()).toEqual({ connections: 0, seq: 2 });
  });

  it('tapState sees each state change once; hello names the gateway of a remote device', () => {
    const { hub, devs, connect } = setup();
    const seen: string[] = [];
    hub.onState((st) => seen.push(`${st.id}:${st.state}`));
    hub.state({ id: 'a', source: 'serial', state: 'down', reason: 'unplugged' });
    hub.state({ id: 'a', source: 'serial', state: 'down', reason: 'unplugged' });
    const remote = {
      id: 'B/dev',
      source: 'serial' as const,
      status: () => ({ id: 'B/dev', source: 'serial' as const, gateway: 'B', state: 'up' as const }),
      command: async () => ({}),
    };
    hub.setDevices([...Object.values(devs), remote]);
    expect(seen).toEqual(['a:down', 'a:up', 'B/dev:up']);
    expect(connect('viewer').of('hello')[0].devices).toContainEqual({ id: 'B/dev', source: 'serial', gateway: 'B', state: 'up' });
  });

  it('a line that did not parse is forwarded with raw and its error, and no values', () => {
    const { hub, connect } = setup();
    const c = connect('viewer');
    hub.reading({ device: 'a', ts: 5, raw: 'garbage', error: 'not kv' });
    expect(c.of('reading')).toEqual([{ type: 'reading', seq: 1, device: 'a', ts: 5, raw: 'garbage', error: 'not kv' }]);
  });
});
