/**
 * Helpers for tests that drive a SerialSource against the firmware mock on a real PTY.
 */
import { deviceSchema, type DeviceConfig } from '../../src/config/schema.js';
import type { DeviceStatus, ReadingInput, SourceSink } from '../../src/sources/types.js';

let n = 0;
/** a link path no other test (or test worker) uses */
export function uniqueLink(): string {
  return `/tmp/sg-test-${process.pid}-${++n}`;
}

/** a device config as the schema would produce it from YAML (all defaults applied) */
export function serialDevice(id: string, input: Record<string, unknown>): DeviceConfig {
  return deviceSchema.parse({ id, ...input });
}

/** a SourceSink that records everything and can wait for a condition */
export class RecordingSink implements SourceSink {
  readonly readings: ReadingInput[] = [];
  readonly states: DeviceStatus[] = [];
  private waiters = new Set<() => void>();

  reading(r: ReadingInput): void {
    this.readings.push(r);
    this.wake();
  }

  state(s: DeviceStatus): void {
    this.states.push(s);
    this.wake();
  }

  lastState(device: string): DeviceStatus | undefined {
    return this.states.filter((s) => s.id === device).at(-1);
  }

  /** resolves when `cond()` holds; rejects with `what` after timeoutMs */
  waitFor(what: string, cond: () => boolean, timeoutMs = 5_000): Promise<void> {
    if (cond()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!cond()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      this.waiters.add(check);
    });
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}
