/**
 * Two dashboards share a serial port, on a real PTY through the real gateway: one sends as many
 * commands as its rate allows, the other one command. The second one is neither refused `busy`
 * nor put behind the first one's queue: one origin holds at most half of `commands.queue`, and
 * the origin served least recently goes next.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startMock } from '../../../firmware-mock/index.js';
import { configSchema } from '../../../src/config/schema.js';
import { startGateway } from '../../../src/gateway.js';
import { silentLogger } from '../../../src/log.js';
import { uniqueLink } from '../../helpers/mock.js';
import { Peer } from '../hub/peer.js';

const OPERATOR = 'operator-token-for-fairness-tests';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('a serial port shared by two dashboards', () => {
  it("one dashboard's flood holds half the queue; the other's command is taken and goes on the wire next", async () => {
    const mock = await startMock({ link: uniqueLink(), format: 'kv', intervalMs: 0, replyDelayMs: 50 });
    cleanups.push(() => mock.stop());
    const config = configSchema.parse({
      gateway: { id: 'fair' },
      server: { host: '127.0.0.1', port: 0, path: '/ws' },
      auth: { tokens: [{ token: OPERATOR, role: 'operator' }] },
      devices: [
        {
          id: 'dev',
          serial: { path: mock.link, baudRate: 115200 },
          parser: { format: 'kv' },
          commands: { queue: 16, reply: { match: '^(OK|ERR|PONG)', timeoutMs: 2_000 } },
        },
      ],
    });
    const gw = await startGateway(config, silentLogger());
    cleanups.push(() => gw.stop());
    const open = async () => {
      const peer = await Peer.open(gw.url.replace('http', 'ws') + '/ws', { headers: { authorization: `Bearer ${OPERATOR}` } });
      cleanups.push(() => peer.close());
      return peer;
    };
    const script = await open();
    const operator = await open();
    await script.waitFor('dev up', () => script.of('hello')[0]?.devices[0]?.state === 'up' || script.of('state').some((s) => s.state === 'up'));

    for (let i = 0; i < 16; i++) script.send({ type: 'command', id: `s${i}`, device: 'dev', line: 'PING' });
    // answered in order after the sixteen: the router has taken every one of them
    script.send({ type: 'command', id: 'marker', device: 'nope', line: 'PING' });
    await script.next('ack', (a) => a.id === 'marker');
    operator.send({ type: 'command', id: 'mine', device: 'dev', line: 'LED ON' });

    expect(await operator.next('ack', (a) => a.id === 'mine')).toEqual({ type: 'ack', id: 'mine', ok: true, reply: 'OK LED ON' });
    // the first of the script's commands was on the wire already; the operator's came next
    expect(mock.commands.slice(0, 2)).toEqual(['PING', 'LED ON']);
    await script.waitFor('every ack of the script', () => script.of('ack').length === 17, 10_000);
    const busy = script.of('ack').filter((a) => !a.ok && a.error.code === 'busy');
    expect(busy.map((a) => a.id)).toEqual(['s8', 's9', 's10', 's11', 's12', 's13', 's14', 's15']);
    expect(busy[0].error.message).toBe('8 commands of this origin already queued for this port (one origin may hold half of commands.queue: 8)');
  });
});
