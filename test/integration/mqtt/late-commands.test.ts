/**
 * A command answered with an error is never delivered afterwards (issue 9, point 5). The broker is a
 * real Mosquitto that hangs (SIGSTOP) while a command is in flight: the PUBLISH then sits unread in
 * its socket buffer, and mqtt.js keeps it in its outgoing store. Whatever ends the wait (timeout,
 * keepalive loss, stop), neither the resumed broker nor a reconnect may publish it later.
 * Each test ends by sending a sentinel command that does arrive, so "never seen" is not vacuous.
 */
import type mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import type { MqttSource } from '../../../src/sources/mqtt/index.js';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { device, mqttConfig, newSource, testClient, type RecordingSink } from './fixtures.js';

const lamp = device({ id: 'lamp', mqtt: { topic: 'lamp/state', commandTopic: 'lamp/set' } });

describe('MqttSource: no late commands (Mosquitto paused with a command in flight)', () => {
  let broker: Mosquitto | undefined;
  let source: MqttSource | undefined;
  let observer: mqtt.MqttClient | undefined;

  afterEach(async () => {
    broker?.resume();
    await observer?.endAsync(true);
    await source?.stop();
    await broker?.stop();
    broker = source = observer = undefined;
  });

  const seen: string[] = [];
  async function setUp(extra: Record<string, unknown>): Promise<{ s: MqttSource; sink: RecordingSink; b: Mosquitto }> {
    seen.length = 0;
    const b = (broker = await startMosquitto());
    await observe(b);
    const made = newSource(mqttConfig(b.url, extra), [lamp]);
    source = made.source;
    await source.start();
    await made.sink.waitState('lamp', 'up');
    return { s: made.source, sink: made.sink, b };
  }
  async function observe(b: Mosquitto): Promise<void> {
    await observer?.endAsync(true);
    observer = await testClient(b.url);
    await observer.subscribeAsync('lamp/set', { qos: 1 });
    observer.on('message', (_t, p) => seen.push(p.toString()));
  }
  /** the sentinel goes through, and nothing else did (before it, or in the 300 ms after it) */
  async function expectOnlySentinel(s: MqttSource, sink: RecordingSink): Promise<void> {
    await sink.waitState('lamp', 'up', 10_000);
    await expect(s.devices()[0]!.command({ payload: 'SENTINEL' })).resolves.toEqual({});
    for (let i = 0; i < 100 && !seen.includes('SENTINEL'); i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 300));
    expect(seen).toEqual(['SENTINEL']);
  }

  it('timeout, then the broker resumes: the timed-out command is not published', async () => {
    const { s, sink, b } = await setUp({ commandTimeoutMs: 1000 });
    b.pause();
    await expect(s.devices()[0]!.command({ payload: 'LATE' })).rejects.toMatchObject({ code: 'timeout' });
    // the timeout ends the connection (the broker may hold the message under that packet id)
    await sink.waitState('lamp', 'down', 5000, 'the broker did not acknowledge a command within 1000 ms');
    b.resume();
    await expectOnlySentinel(s, sink);
  });

  it('timeout, then the broker is killed and restarted: the reconnect does not replay the command', async () => {
    const { s, sink, b } = await setUp({ commandTimeoutMs: 1000 });
    b.pause();
    await expect(s.devices()[0]!.command({ payload: 'LATE' })).rejects.toMatchObject({ code: 'timeout' });
    await sink.waitState('lamp', 'down');
    await b.stop('SIGKILL');
    await b.restart();
    await observe(b);
    await expectOnlySentinel(s, sink);
  });

  it('keepalive loss while the command waits → device_unavailable, and the resumed broker does not publish it', async () => {
    const { s, sink, b } = await setUp({ commandTimeoutMs: 20_000, keepaliveSeconds: 1 });
    b.pause();
    const err = await s
      .devices()[0]!
      .command({ payload: 'LATE' })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'device_unavailable' });
    await sink.waitState('lamp', 'down', 5000, 'broker stopped answering (keepalive timeout)');
    b.resume();
    await expectOnlySentinel(s, sink);
  });

  it('stop() while the command waits → shutting_down, and the resumed broker does not publish it', async () => {
    const { s, b } = await setUp({ commandTimeoutMs: 20_000 });
    b.pause();
    const pending = s
      .devices()[0]!
      .command({ payload: 'LATE' })
      .catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 100));
    await s.stop();
    expect(await pending).toMatchObject({ code: 'shutting_down' });
    b.resume();
    // a second source proves the broker and observer work, then nothing but its sentinel arrived
    const again = newSource(mqttConfig(b.url), [lamp]);
    source = again.source;
    await source.start();
    await expectOnlySentinel(again.source, again.sink);
  });
});
