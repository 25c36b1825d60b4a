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
    maxPacketBytes: undefined as number | undefined,
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

  it('close(reload): a reload that restarts the client fails pending commands device_unavailable with why, not shutting_down', async () => {
    const { commands } = setup();
    const a = commands.send('lamp', 'lamp/set', { payload: 'A' });
    commands.close('the MQTT client restarts: a reload changed the MQTT settings or devices');
    await expect(a).rejects.toEqual(
      new CommandError(
        'device_unavailable',
        'the MQTT client restarts: a reload changed the MQTT settings or devices before the broker acknowledged the command',
        'lamp',
      ),
    );
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

  it('an unreadable PUBREC refuses the oldest pending command; from then on none that large is published', async () => {
    const { commands, published, removed } = setup();
    const small = commands.send('lamp', 'lamp/set', { payload: 'ON' });
    const big = commands.send('lamp', 'lamp/set', { payload: 'x'.repeat(200) });
    const after = commands.send('door', 'door/set', { payload: 'y'.repeat(300) });
    commands.pubrec(1);
    await expect(small).resolves.toEqual({});
    commands.unreadablePubrec();
    await expect(big).rejects.toMatchObject({
      code: 'device_unavailable',
      device: 'lamp',
      message:
        "the broker refused the command (200 bytes) with a reason code MQTT 5 does not define for it: Mosquitto's answer to a message over its message_size_limit",
    });
    expect(removed).toEqual([2]);
    commands.failAll('connection to the MQTT broker lost');
    await expect(after).rejects.toMatchObject({ code: 'device_unavailable', device: 'door' });
    await expect(commands.send('lamp', 'lamp/set', { payload: 'z'.repeat(200) })).rejects.toMatchObject({
      code: 'invalid',
      message: 'the broker refused a command of 200 bytes as too large (its message_size_limit): one of 200 bytes is not sent',
    });
    const smaller = commands.send('lamp', 'lamp/set', { payload: 'z'.repeat(199) });
    expect(published).toHaveLength(4);
    commands.pubrec(4);
    await expect(smaller).resolves.toEqual({});
    commands.unreadablePubrec(); // nothing pending: nothing to refuse
  });

  it("a command whose PUBLISH would pass the broker's Maximum Packet Size is refused, not sent", async () => {
    const { commands, published, link } = setup();
    link.maxPacketBytes = 100;
    // 1 + 1 + (2 + 8 + 2 + 1 + 86) = 101 bytes for the topic "lamp/set" and 86 bytes of payload
    await expect(commands.send('lamp', 'lamp/set', { payload: 'x'.repeat(86) })).rejects.toMatchObject({
      code: 'invalid',
      message: "the broker takes packets of at most 100 bytes (its Maximum Packet Size): this command's would be 101",
    });
    const fits = commands.send('lamp', 'lamp/set', { payload: 'x'.repeat(85) });
    expect(published).toHaveLength(1);
    commands.pubrec(1);
    await expect(fits).resolves.toEqual({});
    // the Remaining Length field grows with the packet: 2 bytes from 128, 3 from 16,384
    const sent: Promise<unknown>[] = [];
    for (const [payload, size] of [
      [200, 1 + 2 + 213],
      [20_000, 1 + 3 + 20_013],
    ] as const) {
      link.maxPacketBytes = size - 1;
      await expect(commands.send('lamp', 'lamp/set', { payload: 'y'.repeat(payload) })).rejects.toMatchObject({
        message: `the broker takes packets of at most ${size - 1} bytes (its Maximum Packet Size): this command's would be ${size}`,
      });
      link.maxPacketBytes = size;
      sent.push(commands.send('lamp', 'lamp/set', { payload: 'y'.repeat(payload) }).catch((e: unknown) => e));
    }
    expect(published).toHaveLength(3);
    commands.close();
    for (const p of sent) expect(await p).toMatchObject({ code: 'shutting_down' });
  });
});
