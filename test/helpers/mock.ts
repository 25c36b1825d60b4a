/**
 * Helpers for tests that drive a SerialSource against the firmware mock on a real PTY.
 */
import { deviceSchema, type DeviceConfig } from '../../src/config/schema.js';

let n = 0;
/** a link path no other test (or test worker) uses */
export function uniqueLink(): string {
  return `/tmp/sg-test-${process.pid}-${++n}`;
}

/** a device config as the schema would produce it from YAML (all defaults applied) */
export function serialDevice(id: string, input: Record<string, unknown>): DeviceConfig {
  return deviceSchema.parse({ id, ...input });
}

export { RecordingSink } from './recording-sink.js';
