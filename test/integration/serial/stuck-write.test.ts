/**
 * A device that stops reading (a hung USB CDC firmware), on a real PTY through the real gateway:
 * the mock's relay stops reading the PTY master, so the kernel's buffer fills and the gateway's
 * write of a command bigger than that buffer never completes. Exactly one ack (`timeout`), the
 * port is closed and reopened, and the next command flows.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startMock, type MockDevice } from '../../../firmware-mock/index.js';
import { configSchema } from '../../../src/config/schema.js';
import { startGateway, type Gateway } from '../../../src/gateway.js';
import { silentLogger } from '../../../src/log.js';
import { uniqueLink } from '../../helpers/mock.js';
import { Peer } from '../hub/peer.js';

const OPERATOR = 'operator-token-for-stuck-write-tests';
// far more than a PTY buffers (a few KiB in the line discipline plus ~64 KiB of tty buffers)
const BIG = 200_000;
const DEADLINE_MS = 800;

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(commands: Record<string, unknown>): Promise<{ mock: MockDevice; gw: Gateway; peer: Peer }> {
  const mock = await startMock({ link: uniqueLink(), format: 'kv', intervalMs: 0 });
  cleanups.push(() => mock.stop());
  const config = configSchema.parse({
    gateway: { id: 'stuck' },
    server: { host: '127.0.0.1', port: 0, path: '/ws', limits: { maxMessageBytes: 512 * 1024 } },
    auth: { tokens: [{ token: OPERATOR, role: 'operator' }] },
    hub: { commandRate: { perSecond: 50, burst: 50 } },
    devices: [
      {
        id: 'dev',
        serial: { path: mock.link, baudRate: 115200, reconnect: { minMs: 100, maxMs: 200 } },
        parser: { format: 'kv' },
        commands: { maxLength: BIG + 16, ...commands },
      },
    ],
  });
  const gw = await startGateway(config, silentLogger());
  cleanups.push(() => gw.stop());
  const peer = await Peer.open(gw.url.replace('http', 'ws') + '/ws', { headers: { authorization: `Bearer ${OPERATOR}` } });
  cleanups.push(() => peer.close());
  await peer.waitFor('dev up', () => peer.of('hello')[0]?.devices[0]?.state === 'up' || peer.of('state').some((s) => s.state === 'up'));
  return { mock, gw, peer };
}

describe.each([
  ['without a reply pattern', { writeTimeoutMs: DEADLINE_MS }],
  ['with a reply pattern', { reply: { match: '^(OK|ERR|PONG)', timeoutMs: DEADLINE_MS } }],
])('a write that never drains (%s)', (_name, commands) => {
  it('one ack `timeout`, the port is reopened, the commands behind get device_unavailable, the next one flows', async () => {
    const { mock, peer } = await setup(commands);
    await mock.setReading(false);
    const t0 = Date.now();
    peer.send({ type: 'command', id: 'big', device: 'dev', line: `SET ${'x'.repeat(BIG)}` });
    peer.send({ type: 'command', id: 'behind', device: 'dev', line: 'PING' });
    const ack = await peer.next('ack', (m) => m.id === 'big', 5_000);
    const elapsed = Date.now() - t0;
    expect(ack).toEqual({
      type: 'ack',
      id: 'big',
      ok: false,
      error: {
        code: 'timeout',
        message: `the device did not take a command within ${DEADLINE_MS} ms (write not drained: is it still reading?); the port is reset`,
      },
    });
    expect(elapsed).toBeGreaterThanOrEqual(DEADLINE_MS - 50);
    expect(elapsed).toBeLessThan(DEADLINE_MS + 2_000);
    expect(await peer.next('ack', (m) => m.id === 'behind')).toMatchObject({
      ok: false,
      error: { code: 'device_unavailable', message: expect.stringMatching(/^the port is reset: /) },
    });

    // down with the reason, then up again through the normal reconnect
    const down = await peer.next('state', (m) => m.state === 'down');
    expect(down).toEqual({
      type: 'state',
      device: 'dev',
      state: 'down',
      reason: `the device did not take a command within ${DEADLINE_MS} ms (write not drained: is it still reading?)`,
    });
    await peer.next('state', (m) => m.state === 'up', 3_000);

    // the firmware recovers. It still holds the start of the stuck command (what the gateway's
    // flush could not take back); the terminator sent on reopen ends it as a line of its own, which
    // the mock refuses ("ERR line too long") before the next command, read as an unparseable reading
    await mock.setReading(true);
    await peer.next('reading', (m) => /^ERR /.test(m.raw ?? ''));
    peer.send({ type: 'command', id: 'next', device: 'dev', line: 'LED ON' });
    const next = await peer.next('ack', (m) => m.id === 'next');
    expect(next).toEqual('reply' in commands ? { type: 'ack', id: 'next', ok: true, reply: 'OK LED ON' } : { type: 'ack', id: 'next', ok: true });
    await peer.waitFor('the mock read LED ON', () => mock.commands.includes('LED ON'));

    // exactly one ack per command, none later from a leftover timer
    await new Promise((r) => setTimeout(r, DEADLINE_MS + 200));
    expect(peer.of('ack').map((a) => a.id)).toEqual(['big', 'behind', 'next']);
  });
});
