/**
 * A reload's auth and hub.* changes reach connections that are already open: a removed or
 * downgraded token closes its connection with 1008, limits apply at once; devices and derived ids
 * that the new config cannot produce leave the snapshot and /metrics.
 */
import { describe, expect, it } from 'vitest';
import { metrics, registry } from '../../../src/metrics.js';
import { Authenticator } from '../../../src/hub/auth.js';
import { Hub } from '../../../src/hub/hub.js';
import { silentLogger } from '../../../src/log.js';
import { FakeConn, FakeDevice, testConfig } from './fakes.js';

const OP = 'operator-token-0123456789';
const VIEW = 'viewer-token-0123456789';
const tokens = (...t: [string, 'viewer' | 'operator'][]) => t.map(([token, role]) => ({ token, role }));

function setup(auth: Record<string, unknown>, hub: Record<string, unknown> = {}) {
  const hub_ = new Hub(testConfig({ auth, hub: { coalesceMs: 0, ...hub } }), silentLogger());
  hub_.setDevices([new FakeDevice('a'), new FakeDevice('b'), new FakeDevice('m', 'mqtt')]);
  /** a connection authenticated as the real handshake would: through the Authenticator */
  const connect = (token?: string) => {
    const decision = new Authenticator(testConfig({ auth }).auth, '127.0.0.1').authorize({
      host: { name: '127.0.0.1', port: undefined },
      query: '',
      headers: new Map([['host', '127.0.0.1'], ...(token ? [['authorization', `Bearer ${token}`] as [string, string]] : [])]),
      offered: [],
    });
    if (!decision.ok) throw new Error(decision.message);
    const c = new FakeConn();
    hub_.attach(c, decision.context);
    return c;
  };
  const reload = (a: Record<string, unknown>, h: Record<string, unknown> = {}) =>
    hub_.reconfigure(testConfig({ auth: a, hub: { coalesceMs: 0, ...h } }));
  return { hub: hub_, connect, reload };
}

describe('Hub.reconfigure: auth applies to open connections', () => {
  it('a removed token: its connection is closed with 1008; the others stay', () => {
    const { connect, reload } = setup({ anonymous: 'none', tokens: tokens([OP, 'operator'], [VIEW, 'viewer']) });
    const op = connect(OP);
    const view = connect(VIEW);
    reload({ anonymous: 'none', tokens: tokens([OP, 'operator']) });
    expect(view.closedWith).toEqual({ code: 1008, reason: 'token no longer valid (configuration reloaded)' });
    expect(op.closedWith).toBeUndefined();
  });

  it('a downgraded token (operator → viewer): closed with 1008, told to reconnect; an upgrade waits for the next connection', () => {
    const { connect, reload } = setup({ anonymous: 'none', tokens: tokens([OP, 'operator'], [VIEW, 'viewer']) });
    const op = connect(OP);
    const view = connect(VIEW);
    reload({ anonymous: 'none', tokens: tokens([OP, 'viewer'], [VIEW, 'operator']) });
    expect(op.closedWith).toEqual({ code: 1008, reason: 'role is now viewer (configuration reloaded): reconnect' });
    expect(view.closedWith).toBeUndefined();
    // still a viewer on this connection
    view.sendJson({ type: 'command', id: 'c', device: 'a', line: 'PING' });
    expect(view.of('ack')[0]).toMatchObject({ ok: false, error: { code: 'forbidden' } });
  });

  it('anonymous access switched off or lowered: anonymous connections are closed, token holders stay', () => {
    const { connect, reload } = setup({ anonymous: 'viewer', tokens: tokens([VIEW, 'viewer']) });
    const anon = connect();
    const view = connect(VIEW);
    reload({ anonymous: 'none', tokens: tokens([VIEW, 'viewer']) });
    expect(anon.closedWith?.code).toBe(1008);
    expect(view.closedWith).toBeUndefined();
    const lowered = setup({ anonymous: 'operator' });
    const anonOp = lowered.connect();
    lowered.reload({ anonymous: 'viewer' });
    expect(anonOp.closedWith).toEqual({ code: 1008, reason: 'role is now viewer (configuration reloaded): reconnect' });
  });

  it('an unchanged auth section closes nothing', () => {
    const auth = { anonymous: 'viewer', tokens: tokens([OP, 'operator']) };
    const { connect, reload } = setup(auth);
    const conns = [connect(), connect(OP)];
    reload(auth);
    for (const c of conns) expect(c.closedWith).toBeUndefined();
  });
});

describe('Hub.reconfigure: hub.* limits apply to open connections', () => {
  it('a lower badMessageLimit closes an open connection after that many bad messages', () => {
    const auth = { anonymous: 'viewer' };
    const { connect, reload } = setup(auth, { badMessageLimit: 50 });
    const c = connect();
    reload(auth, { badMessageLimit: 2 });
    c.sendJson({ type: 'nope' });
    c.sendJson({ type: 'nope' });
    expect(c.closedWith).toBeUndefined();
    c.sendJson({ type: 'nope' });
    expect(c.closedWith).toEqual({ code: 1008, reason: 'too many bad messages' });
  });

  it('a lower commandRate limits an open connection', () => {
    const auth = { anonymous: 'viewer' };
    const { connect, reload } = setup(auth, { commandRate: { perSecond: 1, burst: 100 } });
    const c = connect();
    reload(auth, { commandRate: { perSecond: 1, burst: 2 } });
    for (let i = 0; i < 3; i++) c.sendJson({ type: 'subscribe', devices: ['*'] });
    expect(c.of('error').map((e) => e.error.code)).toEqual(['rate_limited']);
  });
});

describe('Hub.setDevices after a reload: what no longer exists leaves the snapshot and /metrics', () => {
  const mqttDevice = (topic: string) => ({ id: 'room', mqtt: { topic, idFromTopicSegment: 1 }, parser: { format: 'json' } });
  const serial = { id: 'bench', serial: { path: '/dev/null' } };
  const cfg = (devices: unknown[]) => testConfig({ devices, hub: { coalesceMs: 0 } });

  it('derived ids the new topic filter cannot yield are dropped from the snapshot; those it can, kept', () => {
    const hub = new Hub(cfg([mqttDevice('sensors/+/temp'), serial]), silentLogger());
    const devices = [new FakeDevice('room', 'mqtt'), new FakeDevice('bench')];
    hub.setDevices(devices);
    for (const device of ['room-kitchen', 'room-cellar', 'bench']) hub.reading({ device, ts: 1, values: { t: 1 } });
    // the filter now names one room: "cellar" cannot come from it any more
    const next = cfg([mqttDevice('sensors/kitchen/temp'), serial]);
    hub.reconfigure(next);
    hub.setDevices(devices);
    const c = new FakeConn();
    hub.attach(c, { role: 'viewer' });
    expect(c.of('reading').map((r) => r.device)).toEqual(['room-kitchen', 'bench']);
    // a "#" before the level admits any segment there: still producible
    hub.reconfigure(cfg([{ ...mqttDevice('sensors/#'), mqtt: { topic: 'sensors/#', idFromTopicSegment: 2 } }, serial]));
    hub.setDevices(devices);
    const d = new FakeConn();
    hub.attach(d, { role: 'viewer' });
    expect(d.of('reading').map((r) => r.device)).toEqual(['room-kitchen', 'bench']);
    hub.reconfigure(cfg([{ id: 'room', mqtt: { topic: 'sensors/+/temp' }, parser: { format: 'json' } }, serial]));
    hub.setDevices(devices);
    const e = new FakeConn();
    hub.attach(e, { role: 'viewer' });
    expect(e.of('reading').map((r) => r.device)).toEqual(['bench']);
  });

  it('a device removed by a reload leaves /metrics (every series labelled with it), the others stay', async () => {
    metrics.readings.inc({ device: 'gone' });
    metrics.deviceUp.set({ device: 'gone' }, 0);
    metrics.reconnects.inc({ source: 'gone' });
    metrics.commands.inc({ device: 'gone', result: 'ok' });
    metrics.commands.inc({ device: 'gone', result: 'timeout' });
    metrics.readings.inc({ device: 'bench' });
    const hub = new Hub(cfg([serial, { id: 'gone', serial: { path: '/dev/null-gone' } }]), silentLogger());
    hub.setDevices([new FakeDevice('bench'), new FakeDevice('gone')]);
    hub.reconfigure(cfg([serial]));
    hub.setDevices([new FakeDevice('bench')]);
    await new Promise((r) => setImmediate(r));
    const text = await registry.metrics();
    expect(text).not.toMatch(/device="gone"|source="gone"/);
    expect(text).toMatch(/serialgate_readings_total\{device="bench"\}/);
  });
});
