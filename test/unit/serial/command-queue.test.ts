import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CommandQueue, type CommandQueueOptions } from '../../../src/sources/serial/command-queue.js';
import { CommandError } from '../../../src/domain.js';

function setup(opts: Partial<CommandQueueOptions> = {}) {
  const written: string[] = [];
  const pendingWrites: { resolve(): void; reject(e: Error): void }[] = [];
  const stalls: string[] = [];
  const q = new CommandQueue(
    { device: 'd1', terminator: '\n', queue: 3, writeTimeoutMs: 700, ...opts },
    (data) => {
      written.push(data.toString());
      return new Promise((resolve, reject) => pendingWrites.push({ resolve, reject }));
    },
    (reason) => stalls.push(reason),
  );
  return { q, written, pendingWrites, stalls };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('CommandQueue', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] }));
  afterEach(() => vi.useRealTimers());

  it('writes one command at a time; the next starts only after the previous finished', async () => {
    const { q, written, pendingWrites } = setup();
    const a = q.submit('LED ON');
    const b = q.submit('PING');
    expect(written).toEqual(['LED ON\n']);
    pendingWrites[0]!.resolve();
    await expect(a).resolves.toEqual({});
    expect(written).toEqual(['LED ON\n', 'PING\n']);
    pendingWrites[1]!.resolve();
    await expect(b).resolves.toEqual({});
    expect(q.size).toBe(0);
  });

  it('with a reply pattern: the first matching line is the reply, others are not consumed', async () => {
    const { q, written, pendingWrites } = setup({ reply: { match: /^(OK|ERR)/, timeoutMs: 1000 } });
    const a = q.submit('LED ON');
    const b = q.submit('LED OFF');
    expect(q.offer('temp=1')).toBe(false);
    // the reply may come before the drain callback: it still counts
    expect(q.offer('OK LED ON')).toBe(true);
    await expect(a).resolves.toEqual({ reply: 'OK LED ON' });
    expect(written).toEqual(['LED ON\n', 'LED OFF\n']);
    pendingWrites[0]!.resolve(); // the late drain of the first command changes nothing
    pendingWrites[1]!.resolve();
    await settle();
    expect(q.offer('ERR nope')).toBe(true);
    await expect(b).resolves.toEqual({ reply: 'ERR nope' });
    expect(q.offer('OK stray')).toBe(false); // nothing waiting: an ordinary line
  });

  it('no reply within timeoutMs → timeout, and the queue moves on', async () => {
    const { q, written, pendingWrites } = setup({ reply: { match: /^OK/, timeoutMs: 500 } });
    const a = q.submit('PING');
    const b = q.submit('PING');
    const aDone = expect(a).rejects.toEqual(new CommandError('timeout', 'no reply matching /^OK/ within 500 ms', 'd1'));
    pendingWrites[0]!.resolve();
    await settle(); // drained: what is missing now is only the reply
    vi.advanceTimersByTime(499);
    expect(written).toHaveLength(1);
    vi.advanceTimersByTime(1);
    await aDone;
    expect(written).toHaveLength(2);
    q.offer('OK');
    await expect(b).resolves.toEqual({ reply: 'OK' });
  });

  it.each([
    ['without a reply pattern', {}, 700],
    ['with a reply pattern', { reply: { match: /^OK/, timeoutMs: 500 } }, 500],
  ])('%s, a write that never drains → timeout, the commands behind → device_unavailable, the port is reset', async (_name, opts, ms) => {
    const { q, written, stalls } = setup(opts);
    const stuck = `the device did not take a command within ${ms} ms (write not drained: is it still reading?)`;
    const a = expect(q.submit('A')).rejects.toEqual(new CommandError('timeout', `${stuck}; the port is reset`, 'd1'));
    const b = expect(q.submit('B')).rejects.toEqual(new CommandError('device_unavailable', `the port is reset: ${stuck}`, 'd1'));
    expect(vi.getTimerCount()).toBe(1); // one deadline, for the command on the wire
    vi.advanceTimersByTime(ms - 1);
    expect(stalls).toEqual([]);
    vi.advanceTimersByTime(1);
    await Promise.all([a, b]);
    expect(stalls).toEqual([stuck]);
    expect(written).toEqual(['A\n']); // B never went onto the stuck port
    expect(q.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('each command gets its own deadline when it goes on the wire, not while it waits', async () => {
    const { q, pendingWrites } = setup({ writeTimeoutMs: 1000 });
    const a = q.submit('A');
    const b = q.submit('B');
    vi.advanceTimersByTime(900);
    pendingWrites[0]!.resolve();
    await expect(a).resolves.toEqual({});
    vi.advanceTimersByTime(900); // 1800 ms after it was accepted, 900 ms on the wire
    pendingWrites[1]!.resolve();
    await expect(b).resolves.toEqual({});
  });

  it('beyond `queue` accepted commands → busy', async () => {
    const { q } = setup({ queue: 2 });
    void q.submit('A', {});
    void q.submit('B', {});
    await expect(q.submit('C', {})).rejects.toMatchObject({
      code: 'busy',
      device: 'd1',
      message: '2 commands already queued for this port (commands.queue)',
    });
  });

  it('one origin holds at most half of the queue: another one still gets in', async () => {
    const { q } = setup({ queue: 5 });
    const script = {};
    const accepted = [1, 2, 3].map((i) => q.submit(`S${i}`, script));
    await expect(q.submit('S4', script)).rejects.toMatchObject({
      code: 'busy',
      message: '3 commands of this origin already queued for this port (one origin may hold half of commands.queue: 3)',
    });
    expect(q.size).toBe(3);
    accepted.push(q.submit('D1', {}));
    expect(q.size).toBe(4);
    q.failAll('shutting_down', 'bye');
    await Promise.allSettled(accepted);
  });

  it('the next command on the wire is the oldest of the origin served least recently', async () => {
    const { q, written, pendingWrites } = setup({ queue: 16 });
    const script = {};
    const dashboard = {};
    const done = ['S1', 'S2', 'S3', 'S4'].map((l) => q.submit(l, script));
    done.push(q.submit('D1', dashboard), q.submit('D2', dashboard));
    for (let i = 0; i < 6; i++) {
      pendingWrites[i]!.resolve();
      await settle();
    }
    await Promise.all(done);
    expect(written).toEqual(['S1\n', 'D1\n', 'S2\n', 'D2\n', 'S3\n', 'S4\n']);
  });

  it('a failed write → device_unavailable', async () => {
    const { q, pendingWrites } = setup();
    const a = q.submit('A');
    pendingWrites[0]!.reject(new Error('EIO'));
    await expect(a).rejects.toMatchObject({ code: 'device_unavailable', message: 'write failed: EIO' });
  });

  it('failAll rejects the active and every waiting command', async () => {
    const { q } = setup({ reply: { match: /^OK/, timeoutMs: 500 } });
    const all = ['A', 'B', 'C'].map((l) => expect(q.submit(l, {})).rejects.toMatchObject({ code: 'shutting_down', message: 'bye' }));
    q.failAll('shutting_down', 'bye');
    await Promise.all(all);
    expect(q.size).toBe(0);
    expect(q.offer('OK')).toBe(false);
  });

  // what the queue may be given (one line, within commands.maxLength, allowed) is the router's
  // check alone: test/unit/hub/command-path.test.ts
  it('a custom terminator ends every line written', async () => {
    const { q, written, pendingWrites } = setup({ terminator: '\r\n' });
    const a = q.submit('PING');
    pendingWrites[0]!.resolve();
    await a;
    expect(written).toEqual(['PING\r\n']);
  });
});
