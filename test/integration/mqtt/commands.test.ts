/** Commands publish to the device's command topic at QoS 1 and resolve on PUBACK. */
import type mqtt from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { MqttSource } from '../../../src/sources/mqtt/index.js';
import { CommandError } from '../../../src/domain.js';
import { metrics } from '../../../src/metrics.js';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { device, mqttConfig, newSource, testClient } from './fixtures.js';
import { startSilentBroker, type SilentBroker } from './silent-broker.js';

const devs = [device({ id: 'lamp', mqtt: { topic: 'lamp/state', commandTopic: 'lamp/set' } }), device({ id: 'mute', mqtt: { topic: 'mute/state' } })];

describe('MqttSource commands (Mosquitto)', () => {
  let broker: Mosquitto;
  let source: MqttSource;
  let sub: mqtt.MqttClient;
  const received: string[] = [];

  beforeAll(async () => {
    broker = await startMosquitto();
    sub = await testClient(broker.url);
    await sub.subscribeAsync('lamp/set', { qos: 1 });
    sub.on('message', (_t, p) => received.push(p.toString()));
    const made = newSource(mqttConfig(broker.url, { maxPayloadBytes: 100 }), devs);
    source = made.source;
    await source.start();
    await made.sink.waitState('lamp', 'up');
  });
  afterAll(async () => {
    await sub?.endAsync();
    await source?.stop();
    await broker?.stop();
  });

  const lamp = () => source.devices()[0]!;
  const waitReceived = async (n: number) => {
    for (let i = 0; i < 100 && received.length < n; i++) await new Promise((r) => setTimeout(r, 20));
  };

  it('publishes strings as-is, objects and numbers as JSON, and resolves on PUBACK', async () => {
    await expect(lamp().command({ payload: 'ON' })).resolves.toEqual({});
    await expect(lamp().command({ payload: { led: true, level: 3 } })).resolves.toEqual({});
    await expect(lamp().command({ payload: 42 })).resolves.toEqual({});
    await expect(lamp().command({ line: 'PING' })).resolves.toEqual({}); // a serial-style line is a string payload
    await waitReceived(4);
    expect(received).toEqual(['ON', '{"led":true,"level":3}', '42', 'PING']);
  });

  // the router is the one check of a command (commands.maxLength, in test/unit/hub); the source
  // executes what it is given, and mqtt.maxPayloadBytes bounds what it reads, not what it sends
  it('publishes a command over mqtt.maxPayloadBytes as given: the source does not measure again', async () => {
    const big = 'x'.repeat(101);
    await expect(lamp().command({ payload: big })).resolves.toEqual({});
    await waitReceived(5);
    expect(received.at(-1)).toBe(big);
  });

  it('refuses what cannot be sent, with precise errors', async () => {
    const cases: [Promise<unknown>, string, string][] = [
      [source.devices()[1]!.command({ payload: 'x' }), 'invalid', 'device "mute" has no mqtt.commandTopic'],
      [lamp().command({}), 'invalid', 'an MQTT command needs a payload'],
    ];
    for (const [p, code, message] of cases) {
      const err = await p.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CommandError);
      expect(err).toMatchObject({ code, message });
    }
  });
});

describe('MqttSource commands the broker refuses (Mosquitto ACL)', () => {
  // MQTT 5: a denied publish gets a PUBREC with 0x87 "not authorized"; under 3.1.1 the broker took
  // it silently and the command was acked `ok` although nothing was delivered
  it('a command to a topic the ACL denies is device_unavailable naming the refusal, not ok; the next allowed one is ok', async () => {
    const broker = await startMosquitto({
      users: { gw: 'pw' },
      acl: 'user gw\ntopic read lamp/#\ntopic read mute/#\ntopic write lamp/set\n',
    });
    const acl = [...devs, device({ id: 'door', mqtt: { topic: 'lamp/door', commandTopic: 'door/set' } })];
    const made = newSource(mqttConfig(broker.url, { username: 'gw', password: 'pw' }), acl);
    try {
      await made.source.start();
      await made.sink.waitState('door', 'up');
      const [lamp, , door] = made.source.devices();
      const err = await door!.command({ payload: 'open' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CommandError);
      expect(err).toMatchObject({ code: 'device_unavailable', message: expect.stringMatching(/not authorized/i) });
      await expect(lamp!.command({ payload: 'ON' })).resolves.toEqual({});
      expect(made.source.brokerState()).toBe('up');
    } finally {
      await made.source.stop();
      await broker.stop();
    }
  });
});

describe("MqttSource commands over the broker's message_size_limit (Mosquitto)", () => {
  // Mosquitto 2.0 answers a PUBLISH over message_size_limit with a PUBREC of 0x95, a reason code
  // MQTT 5 does not define for a PUBREC. mqtt-packet refuses it and then cannot find the next
  // packet: the connection read nothing more (readings, acks, pings) until the keepalive gave up.
  it('the command is refused at once, the connection is back and reads again, and no command that large is published again', async () => {
    const broker = await startMosquitto({ messageSizeLimit: 100 });
    // a timeout far past the test's own waits: only the refusal itself can answer the command
    const made = newSource(mqttConfig(broker.url, { commandTimeoutMs: 60_000, keepaliveSeconds: 60, reconnect: { minMs: 50, maxMs: 200 } }), devs);
    const pub = await testClient(broker.url);
    const sent: string[] = [];
    try {
      await pub.subscribeAsync('lamp/set', { qos: 1 });
      pub.on('message', (_t, p) => sent.push(p.toString()));
      await made.source.start();
      await made.sink.waitState('lamp', 'up');
      const lamp = made.source.devices()[0]!;
      await expect(lamp.command({ payload: 'ON' })).resolves.toEqual({});

      const err = await lamp.command({ payload: 'x'.repeat(200) }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CommandError);
      expect(err).toMatchObject({
        code: 'device_unavailable',
        message:
          "the broker refused the command (200 bytes) with a reason code MQTT 5 does not define for it: Mosquitto's answer to a message over its message_size_limit",
      });
      const why =
        'broker answered a message with a reason code MQTT 5 does not define (Invalid pubrec reason code; Mosquitto does so for a message over its message_size_limit)';
      await made.sink.waitState('lamp', 'down', 5_000, why);
      await made.sink.waitState('lamp', 'up');
      await pub.publishAsync('lamp/state', '{"on":true}', { qos: 1 });
      await made.sink.waitFor('a reading after the refusal', () => made.sink.readingsOf('lamp').some((r) => r.values?.on === true));

      await expect(lamp.command({ payload: 'y'.repeat(300) })).rejects.toMatchObject({
        code: 'invalid',
        message: 'the broker refused a command of 200 bytes as too large (its message_size_limit): one of 300 bytes is not sent',
      });
      await expect(lamp.command({ payload: 'OFF' })).resolves.toEqual({});
      for (let i = 0; i < 100 && sent.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
      expect(sent).toEqual(['ON', 'OFF']);
    } finally {
      await pub.endAsync();
      await made.source.stop();
      await broker.stop();
    }
  }, 20_000);
});

describe('MqttSource against a broker that sends a malformed packet', () => {
  // mqtt.js reports it and goes on with a parser that never finds the next packet: the connection
  // must be ended at once (MQTT 5 §4.13), not read nothing until the keepalive gives up
  it('the connection is ended at once and the devices come back on a new one', async () => {
    const broken = await startSilentBroker({ malformedOnce: true });
    const made = newSource(mqttConfig(broken.url, { keepaliveSeconds: 60, reconnect: { minMs: 50, maxMs: 100 } }), devs);
    try {
      await made.source.start();
      await made.sink.waitState('lamp', 'down', 5_000, 'broker connection failed: Packet must not have both QoS bits set to 1');
      await made.sink.waitState('lamp', 'up');
      expect(broken.connects).toBe(2);
      expect(made.source.brokerState()).toBe('up');
    } finally {
      await made.source.stop();
      await broken.close();
    }
  });
});

describe("MqttSource commands over the broker's Maximum Packet Size (Mosquitto max_packet_size)", () => {
  // the broker announces it in CONNACK and disconnects a client that sends more: never sent
  it('a command too big for it is refused before it is sent, and the connection stays up', async () => {
    const broker = await startMosquitto({ maxPacketSize: 200 });
    const made = newSource(mqttConfig(broker.url), devs);
    try {
      await made.source.start();
      await made.sink.waitState('lamp', 'up');
      const lamp = made.source.devices()[0]!;
      // 1 + 2 + (2 + 8 + 2 + 1 + 200) bytes
      await expect(lamp.command({ payload: 'x'.repeat(200) })).rejects.toMatchObject({
        code: 'invalid',
        message: "the broker takes packets of at most 200 bytes (its Maximum Packet Size): this command's would be 216",
      });
      await expect(lamp.command({ payload: 'ON' })).resolves.toEqual({});
      expect(made.sink.states.filter((s) => s.state === 'down')).toEqual([]);
    } finally {
      await made.source.stop();
      await broker.stop();
    }
  });
});

describe('MqttSource against a broker of MQTT 3.1.1 only', () => {
  it('by default every MQTT device is down with the reason the README names', async () => {
    const old = await startSilentBroker({ only311: true });
    const made = newSource(mqttConfig(old.url, { reconnect: { minMs: 50, maxMs: 100 } }), devs);
    try {
      await made.source.start();
      await made.sink.waitState('lamp', 'down', 5_000, 'broker refused the connection: Unacceptable protocol version');
      expect(made.source.devices()[1]!.status()).toMatchObject({
        state: 'down',
        reason: 'broker refused the connection: Unacceptable protocol version',
      });
    } finally {
      await made.source.stop();
      await old.close();
    }
  });

  it('mqtt.protocolVersion: 4 on a real Mosquitto: readings and commands as under 5; no Maximum Packet Size, so an oversized payload arrives to be counted', async () => {
    const broker = await startMosquitto();
    const made = newSource(mqttConfig(broker.url, { protocolVersion: 4, maxPayloadBytes: 1024 }), devs);
    const pub = await testClient(broker.url);
    try {
      const lampErrors = async () => (await metrics.parseErrors.get()).values.find((v) => v.labels.device === 'lamp')?.value ?? 0;
      const before = await lampErrors();
      await made.source.start();
      await made.sink.waitState('lamp', 'up');
      await expect(made.source.devices()[0]!.command({ payload: 'ON' })).resolves.toEqual({});
      await pub.publishAsync('lamp/state', 'x'.repeat(256 * 1024), { qos: 1 }); // over maxPayloadBytes + 128 KiB
      await pub.publishAsync('lamp/state', '{"on":true}', { qos: 1 });
      await made.sink.waitFor('the reading after it', () => made.sink.readingsOf('lamp').some((r) => r.values?.on === true));
      expect((await lampErrors()) - before).toBe(1);
    } finally {
      await pub.endAsync();
      await made.source.stop();
      await broker.stop();
    }
  });

  it('mqtt.protocolVersion: 4 connects to it, and the devices are up', async () => {
    const old = await startSilentBroker({ only311: true });
    const made = newSource(mqttConfig(old.url, { protocolVersion: 4 }), devs);
    try {
      await made.source.start();
      await made.sink.waitState('lamp', 'up');
      await made.sink.waitState('mute', 'up');
    } finally {
      await made.source.stop();
      await old.close();
    }
  });
});

describe('MqttSource against a broker that never acknowledges publishes or refuses subscriptions', () => {
  let silent: SilentBroker;
  let source: MqttSource | undefined;
  beforeAll(async () => {
    silent = await startSilentBroker();
  });
  afterEach(async () => {
    await source?.stop();
    source = undefined;
  });
  afterAll(async () => {
    await silent?.close();
  });

  async function started(): Promise<MqttSource> {
    const made = newSource(mqttConfig(silent.url, { commandTimeoutMs: 300 }), devs);
    source = made.source;
    await source.start();
    await made.sink.waitState('lamp', 'up');
    return source;
  }

  it('no PUBACK within commandTimeoutMs → timeout', async () => {
    const s = await started();
    const before = silent.publishes;
    await expect(s.devices()[0]!.command({ payload: 'ON' })).rejects.toMatchObject({
      code: 'timeout',
      message: 'the broker did not acknowledge the command within 300 ms',
      device: 'lamp',
    });
    expect(silent.publishes).toBe(before + 1);
  });

  it('stop() while a command waits → shutting_down', async () => {
    const s = await started();
    const pending = s
      .devices()[0]!
      .command({ payload: 'ON' })
      .catch((e: unknown) => e);
    await s.stop();
    expect(await pending).toMatchObject({ code: 'shutting_down', device: 'lamp' });
  });

  it('connection lost while a command waits → device_unavailable, before the timeout', async () => {
    const s = await started();
    const pending = s
      .devices()[0]!
      .command({ payload: 'ON' })
      .catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    await silent.close();
    const err = await pending;
    expect(err).toMatchObject({ code: 'device_unavailable', device: 'lamp' });
    expect((err as Error).message).toMatch(/before the broker acknowledged the command$/);
    silent = await startSilentBroker();
  });

  it('a refused subscription takes down only the devices on that filter, with the reason', async () => {
    const refusing = await startSilentBroker({ refuse: ['secret/#'] });
    try {
      const made = newSource(mqttConfig(refusing.url), [
        device({ id: 'open', mqtt: { topic: 'open/#' } }),
        device({ id: 'hidden', mqtt: { topic: 'secret/#' } }),
      ]);
      source = made.source;
      await source.start();
      await made.sink.waitState('open', 'up');
      await made.sink.waitState('hidden', 'down', 5000, 'the broker refused the subscription to "secret/#"');
      expect(source.brokerState()).toBe('up');
    } finally {
      await source?.stop();
      source = undefined;
      await refusing.close();
    }
  });

  it('a broker that goes silent (cable pulled) is noticed by the keepalive: down with the reason', async () => {
    const mute = await startSilentBroker({ stopReading: true });
    try {
      const made = newSource(mqttConfig(mute.url, { keepaliveSeconds: 1 }), devs);
      source = made.source;
      await source.start();
      await made.sink.waitState('lamp', 'up');
      // mqtt.js gives up 1.5 × keepalive after the last packet: about 1.5-2 s here
      await made.sink.waitState('lamp', 'down', 5000, 'broker stopped answering (keepalive timeout)');
      expect(source.brokerState()).toBe('down');
    } finally {
      await source?.stop();
      source = undefined;
      await mute.close();
    }
  });
});
