/**
 * The router arms no deadline of its own: each command has exactly one, owned by its source
 * (test/unit/serial/command-queue.test.ts, test/integration/serial/stuck-write.test.ts).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AckMessage } from '../../../src/protocol/messages.js';
import { CommandRouter, type CommandOwner, type CommandTarget } from '../../../src/hub/commands.js';
import { silentLogger } from '../../../src/log.js';
import { FakeDevice, testConfig, timeoutError } from './fakes.js';

function setup() {
  const device = new FakeDevice('a');
  const rules = testConfig().devices[0]!.commands;
  const target: CommandTarget = { device, rules };
  const router = new CommandRouter((id) => (id === 'a' ? target : undefined), silentLogger());
  const acks: AckMessage[] = [];
  const owner: CommandOwner = { role: 'operator', open: true, inflight: new Set(), takeToken: () => true, ack: (m) => acks.push(m) };
  const send = (id: string) => router.handle(owner, { type: 'command', id, device: 'a', line: 'PING', payload: undefined });
  return { device, router, acks, owner, send };
}

/** a command the device settles by hand */
function deferred() {
  let settle!: { resolve(r: { reply?: string }): void; reject(e: unknown): void };
  const promise = new Promise<{ reply?: string }>((resolve, reject) => (settle = { resolve, reject }));
  return { promise, ...settle };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('command deadlines', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] }));
  afterEach(() => vi.useRealTimers());

  it('the router starts no timer beside the source’s', () => {
    const { device, send } = setup();
    device.respond = () => deferred().promise;
    send('c1');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a command the device is still working on is not timed out by the router', async () => {
    const { device, send, acks, owner } = setup();
    const d = deferred();
    device.respond = () => d.promise;
    send('c1');
    vi.advanceTimersByTime(10 * 60_000);
    await flush();
    expect(acks).toEqual([]);
    expect(owner.inflight.has('c1')).toBe(true);
    d.resolve({ reply: 'PONG' });
    await flush();
    expect(acks).toEqual([{ type: 'ack', id: 'c1', ok: true, reply: 'PONG' }]);
    expect(owner.inflight.size).toBe(0);
  });

  it('the source’s timeout is the one ack; shutdown still ends what is pending', async () => {
    const { device, router, send, acks } = setup();
    const first = deferred();
    device.respond = () => first.promise;
    send('c1');
    first.reject(timeoutError('a'));
    await flush();
    device.respond = () => deferred().promise;
    send('c2');
    router.shutdown();
    await flush();
    expect(acks).toEqual([
      { type: 'ack', id: 'c1', ok: false, error: { code: 'timeout', message: 'no reply within 2000 ms' } },
      { type: 'ack', id: 'c2', ok: false, error: { code: 'shutting_down', message: 'the gateway is shutting down' } },
    ]);
  });
});
