/**
 * Defence behind decodeClientMessage: a command payload that has no JSON text (a BigInt, a cycle,
 * a function…) can only come from a caller that skipped the decoder, and still must end in an
 * ack with an error, never in an exception on the command path.
 */
import { describe, expect, it } from 'vitest';
import { commandsSchema } from '../../../src/config/schema.js';
import type { AckMessage } from '../../../src/protocol/messages.js';
import { Hub } from '../../../src/hub/hub.js';
import { CommandRouter, type CommandOwner, type CommandTarget } from '../../../src/hub/commands.js';
import { silentLogger } from '../../../src/log.js';
import { CommandError } from '../../../src/domain.js';
import { FakeDevice, testConfig } from '../hub/fakes.js';

const cyclic: Record<string, unknown> = {};
cyclic.self = cyclic;
const noJsonText: [string, unknown][] = [
  ['a BigInt', 10n],
  ['a BigInt inside an object', { n: 2n ** 64n }],
  ['a cycle', cyclic],
  ['a function', () => 1],
  ['a symbol', Symbol('x')],
  [
    'a throwing toJSON',
    {
      toJSON: () => {
        throw new Error('no');
      },
    },
  ],
];

describe('a payload with no JSON text, validation bypassed', () => {
  it.each(noJsonText)('%s: the router answers invalid and calls no device', (_name, payload) => {
    const device = new FakeDevice('m', 'mqtt');
    const target: CommandTarget = { device, rules: commandsSchema.parse({}) };
    const router = new CommandRouter((id) => (id === 'm' ? target : undefined), silentLogger());
    const acks: AckMessage[] = [];
    const owner: CommandOwner = { role: 'operator', open: true, inflight: new Set(), takeToken: () => true, ack: (m) => acks.push(m) };

    expect(() => router.handle(owner, { type: 'command', id: 'c1', device: 'm', line: undefined, payload })).not.toThrow();
    expect(acks).toEqual([{ type: 'ack', id: 'c1', ok: false, error: { code: 'invalid', message: '"payload" cannot be sent as JSON' } }]);
    expect(device.calls).toEqual([]);
  });

  it.each(noJsonText)('%s: a federated command (Hub.routeCommand) is refused with a CommandError', async (_name, payload) => {
    const hub = new Hub(testConfig(), silentLogger());
    const device = new FakeDevice('m', 'mqtt');
    hub.setDevices([device]);
    const err = await hub.routeCommand('m', { payload }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandError);
    expect(err).toMatchObject({ code: 'invalid', message: '"payload" cannot be sent as JSON' });
    expect(device.calls).toEqual([]);
  });
});
