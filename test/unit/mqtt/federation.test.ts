/** Federation without a broker: topics, command parsing and acks through a recording link. */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import { Federation } from '../../../src/sources/mqtt/federation.js';
import { CommandError } from '../../../src/domain.js';

function setup() {
  const sent: [string, unknown, 0 | 1][] = [];
  const fed = new Federation('fleet/eu', 'pi-01', { publish: (t, p, q) => sent.push([t, JSON.parse(p), q]) }, silentLogger());
  const flush = () => new Promise((r) => setTimeout(r, 0));
  return { fed, sent, flush };
}

describe('Federation', () => {
  it('names its topics under <prefix>/<gateway>/', () => {
    const { fed } = setup();
    expect(fed.commandFilter).toBe('fleet/eu/pi-01/+/command');
    expect(fed.owns('fleet/eu/pi-01/x/command')).toBe(true);
    expect(fed.owns('fleet/eu/pi-02/x/command')).toBe(false);
    expect(fed.owns('fleet/eu/pi-01')).toBe(false);
  });

  it('publishes readings at QoS 0', () => {
    const { fed, sent } = setup();
    fed.publishReading({ seq: 1, device: 'd', ts: 2, values: { a: 1 } });
    expect(sent).toEqual([['fleet/eu/pi-01/d/reading', { seq: 1, device: 'd', ts: 2, values: { a: 1 } }, 0]]);
  });

  it('without a handler, answers device_unavailable', async () => {
    const { fed, sent, flush } = setup();
    fed.handleMessage('fleet/eu/pi-01/d/command', Buffer.from('{"id":1,"line":"X"}'));
    await flush();
    expect(sent).toEqual([
      ['fleet/eu/pi-01/d/ack', { id: 1, ok: false, error: { code: 'device_unavailable', message: 'this gateway does not route federated commands' } }, 1],
    ]);
  });

  it('a handler that throws synchronously or rejects with a non-CommandError → internal', async () => {
    const { fed, sent, flush } = setup();
    fed.onCommand((device) => {
      if (device === 'sync') throw new Error('boom');
      return Promise.reject(new Error('later'));
    });
    fed.handleMessage('fleet/eu/pi-01/sync/command', Buffer.from('{"id":"a","payload":1}'));
    fed.handleMessage('fleet/eu/pi-01/async/command', Buffer.from('{"id":"b","payload":2}'));
    await flush();
    expect(sent).toEqual([
      ['fleet/eu/pi-01/sync/ack', { id: 'a', ok: false, error: { code: 'internal', message: 'boom' } }, 1],
      ['fleet/eu/pi-01/async/ack', { id: 'b', ok: false, error: { code: 'internal', message: 'later' } }, 1],
    ]);
  });

  it('keeps the CommandError code and the reply', async () => {
    const { fed, sent, flush } = setup();
    fed.onCommand(async (device, cmd) => {
      if (cmd.line === 'bad') throw new CommandError('timeout', 'no reply within 2000 ms', device);
      return { reply: `OK ${cmd.line}` };
    });
    fed.handleMessage('fleet/eu/pi-01/d/command', Buffer.from('{"id":"1","line":"LED ON"}'));
    fed.handleMessage('fleet/eu/pi-01/d/command', Buffer.from('{"id":"2","line":"bad"}'));
    await flush();
    expect(sent.map(([, body]) => body)).toEqual([
      { id: '1', ok: true, reply: 'OK LED ON' },
      { id: '2', ok: false, error: { code: 'timeout', message: 'no reply within 2000 ms' } },
    ]);
  });

  it.each([
    ['{"id":{"x":1},"line":"a"}', null, '"id" must be a string of at most 64 characters or a number'],
    // one MAX_ID_LENGTH for dashboard and federated command ids (it was 128 here, 64 on the WebSocket)
    [`{"id":"${'x'.repeat(65)}","line":"a"}`, null, '"id" must be a string of at most 64 characters or a number'],
    ['{"id":"k"}', 'k', 'a command has exactly one of "line" or "payload"'],
    ['{"id":"k","line":null}', 'k', '"line" must be a string'],
    ['"str"', null, 'command must be a JSON object'],
    ['null', null, 'command must be a JSON object'],
  ])('refuses %s', async (body, id, message) => {
    const { fed, sent, flush } = setup();
    fed.onCommand(async () => ({}));
    fed.handleMessage('fleet/eu/pi-01/d/command', Buffer.from(body));
    await flush();
    expect(sent).toEqual([['fleet/eu/pi-01/d/ack', { id, ok: false, error: { code: 'invalid', message } }, 1]]);
  });

  it('ignores its own readings and acks and malformed topics in its namespace', async () => {
    const { fed, sent, flush } = setup();
    let calls = 0;
    fed.onCommand(async () => (calls++, {}));
    for (const t of ['fleet/eu/pi-01/d/reading', 'fleet/eu/pi-01/d/ack', 'fleet/eu/pi-01//command', 'fleet/eu/pi-01/d/command/x', 'fleet/eu/pi-01/command']) {
      fed.handleMessage(t, Buffer.from('{"line":"x"}'));
    }
    await flush();
    expect(calls).toBe(0);
    expect(sent).toEqual([]);
  });
});
