/**
 * Sources execute, the router validates (issue 10): what the serial CommandQueue used to check a
 * second time is refused here, once, before any device sees it; and serialgate_device_up is derived
 * by the hub from the state sources report, not set by the sources.
 */
import { describe, expect, it } from 'vitest';
import type { AckMessage } from '../../../src/protocol/messages.js';
import { CommandRouter, type CommandOwner, type CommandTarget } from '../../../src/hub/commands.js';
import { Hub } from '../../../src/hub/hub.js';
import { metrics } from '../../../src/metrics.js';
import { silentLogger } from '../../../src/log.js';
import { FakeDevice, testConfig } from './fakes.js';

function route(terminator: string, line: string) {
  const device = new FakeDevice('a');
  const rules = { ...testConfig().devices[0]!.commands, terminator };
  const target: CommandTarget = { device, rules };
  const router = new CommandRouter((id) => (id === 'a' ? target : undefined), silentLogger());
  const acks: AckMessage[] = [];
  const owner: CommandOwner = { role: 'operator', open: true, inflight: new Set(), takeToken: () => true, ack: (m) => acks.push(m) };
  router.handle(owner, { type: 'command', id: 'c', device: 'a', line, payload: undefined });
  return { device, acks };
}

const gauge = async (device: string) => (await metrics.deviceUp.get()).values.find((v) => v.labels.device === device)?.value;

describe('one command path', () => {
  it('a line holding a terminator that is no control character is refused by the router, never written', () => {
    const { device, acks } = route(';', 'LED ON;REBOOT');
    expect(acks).toEqual([{ type: 'ack', id: 'c', ok: false, error: { code: 'invalid', message: '"line" must not contain commands.terminator' } }]);
    expect(device.calls).toEqual([]);
  });

  it('the same line goes to the device under the default terminator', () => {
    const { device } = route('\n', 'LED ON;REBOOT');
    expect(device.calls).toEqual([{ line: 'LED ON;REBOOT' }]);
  });
});

describe('serialgate_device_up', () => {
  it('is derived by the hub: down at setDevices, then whatever state the source reports', async () => {
    const hub = new Hub(testConfig(), silentLogger());
    const a = new FakeDevice('a');
    a.state = 'down';
    hub.setDevices([a]);
    expect(await gauge('a')).toBe(0);
    hub.state({ id: 'a', source: 'serial', state: 'up' });
    expect(await gauge('a')).toBe(1);
    hub.state({ id: 'a', source: 'serial', state: 'down', reason: 'unplugged' });
    expect(await gauge('a')).toBe(0);
  });
});
