/** Shared by the MQTT integration tests: config builders, a recording sink, a test publisher. */
import mqtt from 'mqtt';
import { deviceSchema, mqttSchema, type DeviceConfig, type MqttConfig } from '../../../src/config/schema.js';
import { silentLogger } from '../../../src/log.js';
import { MqttSource } from '../../../src/sources/mqtt/index.js';
import type { Mosquitto } from '../../helpers/mosquitto.js';
import { RecordingSink } from '../../helpers/recording-sink.js';

export { RecordingSink };

export function mqttConfig(url: string, extra: Record<string, unknown> = {}): MqttConfig {
  // fast retries so the tests do not wait for production backoff
  return mqttSchema.parse({ url, reconnect: { minMs: 100, maxMs: 400 }, ...extra });
}

export function device(raw: Record<string, unknown>): DeviceConfig {
  return deviceSchema.parse(raw);
}

export function newSource(cfg: MqttConfig, devices: DeviceConfig[], gateway = 'gw1'): { source: MqttSource; sink: RecordingSink } {
  const sink = new RecordingSink();
  return { source: new MqttSource(cfg, devices, sink, silentLogger(), gateway), sink };
}

/** A plain mqtt.js client for the test side (publisher / command subscriber). */
export async function testClient(url: string): Promise<mqtt.MqttClient> {
  return mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 3000, clientId: `test-${Math.random().toString(16).slice(2)}` });
}

/** Start `source`, wait until each of `devices` is up, then connect a test publisher to `url`. */
export async function startWithPublisher(source: MqttSource, sink: RecordingSink, devices: DeviceConfig[], url: string): Promise<mqtt.MqttClient> {
  await source.start();
  for (const d of devices) await sink.waitState(d.id, 'up');
  return testClient(url);
}

/** Undo startWithPublisher and stop the broker, whichever of them got started. */
export async function stopAll(pub: mqtt.MqttClient | undefined, source: MqttSource | undefined, broker: Mosquitto | undefined): Promise<void> {
  await pub?.endAsync();
  await source?.stop();
  await broker?.stop();
}

/** Plain object copy of values (they have a null prototype, which toEqual treats like any object). */
export function plain(v: unknown): unknown {
  return v === undefined ? undefined : { ...(v as object) };
}
