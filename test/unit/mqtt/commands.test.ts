/**
 * CommandPublisher against a fake connection and client: the bookkeeping that keeps an error ack
 * final (test/integration/mqtt/late-commands.test.ts proves it against real brokers).
 */
import type { MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CommandPublisher } from '../../../src/sources/mqtt/commands.js';
import { CommandError } from '../../../src/domain.js';

function setup() {
  let nextId = 1;
  const published: { topic: string; text: string; qos: number; done: (err?: Error) => void }[] = [];
  const removed: number[] = [];
  const client = {
    publish(topic: string, text: string, opts: { qos: number }, done: (err?: Error) => void) {
      published.push({ topic, text, qos: opts.qos, done });
      nextId++;
    },
    getLastMessageId: () => nextId - 1,
    removeOutgoingMessage: (id: number) => removed.push(id),
  } as unknown as MqttClient;
  const drops: [MqttClient, string][] = [];
  const link = {
    up: true,
    reason: 'connection to the MQTT broker lost',
    live: () => (link.up ? client : undefined),
    drop: (c: MqttClient, r: string) => drops.push([c, r]),
  };
  const commands = new CommandPublisher(link, 500);
  return { commands, published, removed, drops, link, client };
}

describe('CommandPublisher', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] }));
  afterEach(() => vi.useRealTimers());

  it('publishes at QoS 2 (strings as is, the rest as JSON) and resolves at the PUBREC of its packet id', async () => {
    const { commands, published } = setup();
    const a = commands.send('lamp', 'lamp/set', { payload: 'ON' });
    const b = commands.send('lamp', 'lamp/set', { payload: { on: true } });
    expect(published.map((p) => [p.topic, p.text, p.qos])).toEqual([
      ['lamp/set', 'ON', 2],
      ['lamp/set', '{"on":true}', 2],
    ]);
    commands.pubrec(2);
    await expect(b).resolves.toEqual({});
    commands.pubrec(1);
    await expect(a).resolves.toEqual({});
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a timeout fails the command, makes mqtt.js forget it (never released) and drops the connection it went out on', async () => {
    const { commands, removed, drops, client } = setup();
    const a = commands.send('lamp', 'lamp/set', { payload: 'ON' });
    vi.advanceTimersByTime(500);
    await expect(a).rejects.toEqual(new CommandError('timeout', 'the broker did not acknowledge the command within 500 ms', 'lamp'));
    expect(removed).toEqual([1]);
    expect(drops).toEqual([[client, 'the broker did not acknowledge a command within 500 ms']]);
    commands.pubrec(1); // a late PUBREC settles nothing
  });

  it('a lost connection fails every pending command; close() fails them with shutting_down and refuses new ones', async () => {
    const { commands, removed, link } = setup();
    const a = commands.send('lamp', 'lamp/set', { payload: 'A' });
    commands.failAll('connection to the MQTT broker lost');
    await expect(a).rejects.toMatchObject({
      code: 'device_unavailable',
      message: 'connection to the MQTT broker lost before the broker acknowledged the command',
    });
    link.up = false;
    await expect(commands.send('lamp', 'lamp/set', { payload: 'B' })).rejects.toMatchObject({
      code: 'device_unavailable',
      message: 'MQTT broker is down: connection to the MQTT broker lost',
    });
    link.up = true;
    const c = commands.send('lamp', 'lamp/set', { payload: 'C' });
    commands.close();
    await expect(c).rejects.toMatchObject({ code: 'shutting_down' });
    await expect(commands.send('lamp', 'lamp/set', { payload: 'D' })).rejects.toMatchObject({ code: 'shutting_down' });
    expect(removed).toEqual([1, 2]);
  });

  it('a publish error before the PUBREC is device_unavailable; a payload JSON cannot carry is refused, not thrown', async () => {
    const { commands, published } = setup();
    const a = commands.send('lamp', 'lamp/set', { payload: 'ON' });
    published[0]!.done(new Error('client disconnecting'));
    await expect(a).rejects.toMatchObject({ code: 'device_unavailable', message: 'publish failed: client disconnecting' });
    await expect(commands.send('lamp', 'lamp/set', { payload: 10n })).rejects.toMatchObject({
      code: 'invalid',
      message: 'the command payload cannot be sent as JSON',
    });
    await expect(commands.send('mute', undefined, { payload: 'x' })).rejects.toMatchObject({
      code: 'invalid',
      message: 'device "mute" has no mqtt.commandTopic',
    });
    expect(published).toHaveLength(1);
  });
});
