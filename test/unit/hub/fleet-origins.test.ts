/** Federated commands are rate limited per requesting gateway, and the table of gateways is bounded. */
import { describe, expect, it } from 'vitest';
import { Hub } from '../../../src/hub/hub.js';
import { silentLogger } from '../../../src/log.js';
import { FLEET_MAX_ORIGINS } from '../../../src/bounds.js';
import { FakeDevice, testConfig } from './fakes.js';

function setup() {
  // one command per origin, refilled only after ~17 minutes: the second one is rate_limited
  const hub = new Hub(testConfig({ hub: { coalesceMs: 0, commandRate: { perSecond: 0.001, burst: 1 } } }), silentLogger());
  const dev = new FakeDevice('a');
  hub.setDevices([dev, new FakeDevice('b'), new FakeDevice('m', 'mqtt')]);
  const from = (gateway: string, line: string) => hub.routeCommand('a', { line }, { kind: 'fleet', gateway });
  return { hub, dev, from };
}

describe('federation origins (Hub.routeCommand)', () => {
  it('two requesting gateways have separate buckets', async () => {
    const { dev, from } = setup();
    await expect(from('gw-1', 'P1')).resolves.toEqual({ reply: 'OK P1' });
    await expect(from('gw-1', 'P2')).rejects.toMatchObject({ code: 'rate_limited' });
    await expect(from('gw-2', 'P3')).resolves.toEqual({ reply: 'OK P3' });
    await expect(from('gw-2', 'P4')).rejects.toMatchObject({ code: 'rate_limited' });
    expect(dev.calls.map((c) => c.line)).toEqual(['P1', 'P3']);
  });

  it(`keeps at most FLEET_MAX_ORIGINS (${FLEET_MAX_ORIGINS}): a new origin evicts the one idle longest`, async () => {
    const { from } = setup();
    await expect(from('old', 'X')).resolves.toEqual({ reply: 'OK X' });
    await expect(from('recent', 'X')).resolves.toEqual({ reply: 'OK X' });
    for (let i = 0; i < FLEET_MAX_ORIGINS - 2; i++) await from(`gw-${i}`, 'X');
    // the table is full; `old` is used again (rate_limited still counts as use), so `recent` is now idle longest
    await expect(from('old', 'X')).rejects.toMatchObject({ code: 'rate_limited' });
    await expect(from('new', 'X')).resolves.toEqual({ reply: 'OK X' });
    // `recent` was forgotten: it starts with a full bucket again; `old` was kept and is still empty
    await expect(from('recent', 'X')).resolves.toEqual({ reply: 'OK X' });
    await expect(from('old', 'X')).rejects.toMatchObject({ code: 'rate_limited' });
  });

  it('an evicted origin still gets the answer of its command in flight', async () => {
    const { dev, from } = setup();
    let release!: () => void;
    dev.respond = (cmd) => (cmd.line === 'SLOW' ? new Promise((r) => (release = () => r({ reply: 'OK SLOW' }))) : Promise.resolve({}));
    const slow = from('slow', 'SLOW');
    for (let i = 0; i < FLEET_MAX_ORIGINS; i++) await from(`gw-${i}`, 'X');
    release();
    await expect(slow).resolves.toEqual({ reply: 'OK SLOW' });
  });
});
