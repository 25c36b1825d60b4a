/** The owner's side of remote commands without a broker: parsing, acks, never twice, never late. */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import { Federation } from '../../../src/fleet/federation.js';
import { FleetTopics } from '../../../src/fleet/topics.js';
import { CommandError } from '../../../src/domain.js';
import { FLEET_MAX_COMMAND_MS, MAX_ID_LENGTH } from '../../../src/bounds.js';
import { mqttSchema } from '../../../src/config/schema.js';

function setup(now = () => 1_000_000) {
  const sent: [string, unknown, { qos: 0 | 1; correlation?: Buffer }][] = [];
  const fed = new Federation(new FleetTopics('fleet/eu'), 'pi-01', { publish: (t, p, o) => sent.push([t, JSON.parse(p), o]) }, silentLogger(), now);
  const flush = () => new Promise((r) => setTimeout(r, 0));
  const cmd = (device: string, body: string, correlation?: string) =>
    fed.handleCommand(device, Buffer.from(body), correlation === undefined ? undefined : Buffer.from(correlation));
  return { fed, sent, flush, cmd };
}

describe('Federation (owner side)', () => {
  it('without a handler, answers device_unavailable on <prefix>/<gateway>/<device>/ack', async () => {
    const { sent, flush, cmd } = setup();
    cmd('d', '{"id":1,"line":"X"}');
    await flush();
    expect(sent).toEqual([
      [
        'fleet/eu/pi-01/d/ack',
        { id: 1, ok: false, error: { code: 'device_unavailable', message: 'this gateway does not route federated commands' } },
        { qos: 1 },
      ],
    ]);
  });

  it('echoes the MQTT 5 correlation data with the ack', async () => {
    const { fed, sent, flush, cmd } = setup();
    fed.onCommand(async () => ({ reply: 'PONG' }));
    cmd('d', '{"id":"A:x:1","line":"PING"}', 'A:x:1');
    await flush();
    expect(sent).toEqual([['fleet/eu/pi-01/d/ack', { id: 'A:x:1', ok: true, reply: 'PONG' }, { qos: 1, correlation: Buffer.from('A:x:1') }]]);
  });

  it('a handler that throws synchronously or rejects with a non-CommandError → internal', async () => {
    const { fed, sent, flush, cmd } = setup();
    fed.onCommand((device) => {
      if (device === 'sync') throw new Error('boom');
      return Promise.reject(new Error('later'));
    });
    cmd('sync', '{"id":"a","payload":1}');
    cmd('async', '{"id":"b","payload":2}');
    await flush();
    expect(sent.map(([t, body]) => [t, body])).toEqual([
      ['fleet/eu/pi-01/sync/ack', { id: 'a', ok: false, error: { code: 'internal', message: 'boom' } }],
      ['fleet/eu/pi-01/async/ack', { id: 'b', ok: false, error: { code: 'internal', message: 'later' } }],
    ]);
  });

  it("keeps the CommandError code (the owner's refusal) and the reply", async () => {
    const { fed, sent, flush, cmd } = setup();
    fed.onCommand(async (device, c) => {
      if (c.line === 'bad') throw new CommandError('forbidden', 'line not allowed by commands.allow', device);
      return { reply: `OK ${c.line}` };
    });
    cmd('d', '{"id":"1","line":"LED ON"}');
    cmd('d', '{"id":"2","line":"bad"}');
    await flush();
    expect(sent.map(([, body]) => body)).toEqual([
      { id: '1', ok: true, reply: 'OK LED ON' },
      { id: '2', ok: false, error: { code: 'forbidden', message: 'line not allowed by commands.allow' } },
    ]);
  });

  it('never twice: a redelivered correlation (or id) is dropped unexecuted and unanswered', async () => {
    const { fed, sent, flush, cmd } = setup();
    let calls = 0;
    fed.onCommand(async () => (calls++, {}));
    cmd('d', '{"id":"x","line":"LED ON","deadline":2000000}', 'corr-1');
    cmd('d', '{"id":"x","line":"LED ON","deadline":2000000}', 'corr-1');
    cmd('d', '{"id":7,"line":"LED ON"}');
    cmd('d', '{"id":7,"line":"LED ON"}');
    await flush();
    expect(calls).toBe(2);
    expect(sent).toHaveLength(2);
  });

  it('never late: a request past its deadline is not executed, and answered timeout saying by how much', async () => {
    let now = 1_000_250;
    const { fed, sent, flush, cmd } = setup(() => now);
    let calls = 0;
    fed.onCommand(async () => (calls++, {}));
    cmd('d', '{"id":"a","line":"LED ON","deadline":1000000}', 'c-a');
    now = 999_000;
    cmd('d', '{"id":"b","line":"LED ON","deadline":1000000}', 'c-b');
    await flush();
    expect(calls).toBe(1);
    expect(sent.map(([, body]) => body)).toEqual([
      {
        id: 'a',
        ok: false,
        error: { code: 'timeout', message: expect.stringMatching(/^arrived 250 ms after its deadline by this gateway's clock: not run/) },
      },
      { id: 'b', ok: true },
    ]);
    expect(sent[0]![2]).toEqual({ qos: 1, correlation: Buffer.from('c-a') });
  });

  it('forgets a correlation once its deadline passed (bounded memory), and may see it again then', async () => {
    let now = 0;
    const { fed, flush, cmd } = setup(() => now);
    let calls = 0;
    fed.onCommand(async () => (calls++, {}));
    cmd('d', '{"line":"A","deadline":100}', 'k');
    now = 200;
    cmd('d', '{"line":"A","deadline":300}', 'k');
    await flush();
    expect(calls).toBe(2);
  });

  // a deadline is what the origin says: 2^53−1 held its entry for ever, and entries expired behind it
  // stayed seen (the table was swept in insertion order, up to the first one still valid)
  it('an absurd deadline is remembered at most FLEET_MAX_COMMAND_MS, and holds no other entry', async () => {
    let now = 0;
    const { fed, flush, cmd } = setup(() => now);
    let calls = 0;
    fed.onCommand(async () => (calls++, {}));
    cmd('d', `{"line":"A","deadline":${Number.MAX_SAFE_INTEGER}}`, 'far');
    cmd('d', '{"line":"B","deadline":100}', 'k');
    now = 200;
    cmd('d', '{"line":"B","deadline":300}', 'k'); // k's deadline passed: forgotten, whatever came before it
    cmd('d', `{"line":"A","deadline":${Number.MAX_SAFE_INTEGER}}`, 'far'); // a redelivery: still dropped
    now = FLEET_MAX_COMMAND_MS + 1;
    cmd('d', `{"line":"A","deadline":${Number.MAX_SAFE_INTEGER}}`, 'far');
    await flush();
    expect(calls).toBe(4);
  });

  it('mqtt.federation.commandTimeoutMs is at most FLEET_MAX_COMMAND_MS: what an owner remembers covers every deadline', () => {
    const parse = (commandTimeoutMs: number) => mqttSchema.safeParse({ url: 'mqtt://b', federation: { enabled: true, commandTimeoutMs } }).success;
    expect(parse(FLEET_MAX_COMMAND_MS)).toBe(true);
    expect(parse(FLEET_MAX_COMMAND_MS + 1)).toBe(false);
  });

  it.each([
    ['{"id":{"x":1},"line":"a"}', null, `"id" must be a string of at most ${MAX_ID_LENGTH} characters or a number`],
    [`{"id":"${'x'.repeat(MAX_ID_LENGTH + 1)}","line":"a"}`, null, `"id" must be a string of at most ${MAX_ID_LENGTH} characters or a number`],
    ['{"id":"k"}', 'k', 'a command has exactly one of "line" or "payload"'],
    ['{"id":"k","line":null}', 'k', '"line" must be a string'],
    ['{"id":"k","line":"a","deadline":"soon"}', 'k', '"deadline" must be a number (ms since the epoch)'],
    ['"str"', null, 'command must be a JSON object'],
    ['null', null, 'command must be a JSON object'],
    ['{', null, expect.stringMatching(/^command refused \(malformed\): not JSON: /)],
    // the data model dashboards' commands keep (src/protocol/codec.ts)
    ['{"id":"k","line":"A\\ud800B"}', null, 'command refused (malformed): strings must be well-formed Unicode (no lone surrogates)'],
    [
      '{"id":"k","payload":{"v":1e400}}',
      null,
      `command refused (out_of_range): numbers must be finite and within ±${Number.MAX_SAFE_INTEGER} (2^53−1)`,
    ],
    ['{"id":1e400,"line":"a"}', null, `command refused (out_of_range): numbers must be finite and within ±${Number.MAX_SAFE_INTEGER} (2^53−1)`],
    ['{"id":"k","payload":{"__proto__":1}}', null, 'command refused (forbidden_key): "__proto__" is not allowed as a key'],
  ])('refuses %s', async (body, id, message) => {
    const { fed, sent, flush, cmd } = setup();
    fed.onCommand(async () => ({}));
    cmd('d', body);
    await flush();
    expect(sent).toEqual([['fleet/eu/pi-01/d/ack', { id, ok: false, error: { code: 'invalid', message } }, { qos: 1 }]]);
  });
});

describe('FleetTopics', () => {
  const t = new FleetTopics('fleet/eu');
  it('names and parses the tree; anything else is not ours', () => {
    expect(t.filter).toBe('fleet/eu/#');
    expect(t.parse(t.status('pi-01'))).toEqual({ kind: 'status', gateway: 'pi-01' });
    expect(t.parse(t.probe('pi-01'))).toEqual({ kind: 'probe', gateway: 'pi-01' });
    for (const kind of ['reading', 'state', 'command', 'ack'] as const) {
      expect(t.parse(t.device('pi-01', 'd', kind))).toEqual({ kind, gateway: 'pi-01', device: 'd' });
    }
    for (const other of [
      'fleet/eu',
      'fleet/eu/pi-01',
      'fleet/eu/pi-01/d/other',
      'fleet/eu/pi 01/status',
      'fleet/eu/pi-01//command',
      'fleet/eu/pi-01/d/command/x',
      'other/pi-01/status',
    ]) {
      expect(t.parse(other)).toBeUndefined();
    }
  });
});
