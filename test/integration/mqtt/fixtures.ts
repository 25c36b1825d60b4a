/** Shared by the MQTT integration tests: config builders, a recording sink, a test publisher. */
import mqtt from 'mqtt';
import { deviceSchema, mqttSchema, type DeviceConfig, type MqttConfig } from '../../../src/config/schema.js';
import { silentLogger } from '../../../src/log.js';
import { MqttSource } from '../../../src/sources/mqtt/index.js';
import type { DeviceStatus, ReadingInput, SourceSink } from '../../../src/sources/types.js';

export function mqttConfig(url: string, extra: Record<string, unknown> = {}): MqttConfig {
  // fast retries so the tests do not wait for production backoff
  return mqttSchema.parse({ url, reconnect: { minMs: 100, maxMs: 400 }, ...extra });
}

export function device(raw: Record<string, unknown>): DeviceConfig {
  return deviceSchema.parse(raw);
}

export class RecordingSink implements SourceSink {
  readonly readings: ReadingInput[] = [];
  readonly states: DeviceStatus[] = [];
  private waiters = new Set<() => void>();

  reading(r: ReadingInput): void {
    this.readings.push(r);
    this.wake();
  }
  state(s: DeviceStatus): void {
    this.states.push({ ...s });
    this.wake();
  }
  private wake(): void {
    for (const w of this.waiters) w();
  }

  /** Resolves when `pred` holds (checked on every event); rejects after `timeoutMs` with `what`. */
  waitFor(what: string, pred: () => boolean, timeoutMs = 5000): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!pred()) return;
        cleanup();
        resolve();
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; states: ${JSON.stringify(this.states)}; readings: ${this.readings.length}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }

  lastState(id: string): DeviceStatus | undefined {
    for (let i = this.states.length - 1; i >= 0; i--) if (this.states[i]!.id === id) return this.states[i];
    return undefined;
  }

  waitState(id: string, state: 'up' | 'down', timeoutMs = 5000, reason?: string): Promise<void> {
    return this.waitFor(`${id} ${state}${reason ? ` (${reason})` : ''}`, () => {
      const s = this.lastState(id);
      return s?.state === state && (reason === undefined || s.reason === reason);
    }, timeoutMs);
  }

  readingsOf(id: string): ReadingInput[] {
    return this.readings.filter((r) => r.device === id);
  }
}

export function newSource(cfg: MqttConfig, devices: DeviceConfig[], gateway = 'gw1'): { source: MqttSource; sink: RecordingSink } {
  const sink = new RecordingSink();
  return { source: new MqttSource(cfg, devices, sink, silentLogger(), gateway), sink };
}

/** A plain mqtt.js client for the test side (publisher / command subscriber). */
export async function testClient(url: string): Promise<mqtt.MqttClient> {
  return mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 3000, clientId: `test-${Math.random().toString(16).slice(2)}` });
}

/** Plain object copy of values (they have a null prototype, which toEqual treats like any object). */
export function plain(v: unknown): unknown {
  return v === undefined ? undefined : { ...(v as object) };
}
