/**
 * The firmware mock as a library, for tests and benches: `const dev = await startMock({ link })`,
 * then point a gateway device at `dev.link`, and script faults (`unplug`, `garbage`, `burst`...).
 */
import { Mock, type MockDevice, type MockOptions } from './device.js';

export type { MockDevice, MockOptions } from './device.js';
export { LINE_RATE_BYTES_PER_S } from './device.js';
export { formatLine, Sensor, type MockFormat } from './sensor.js';

export async function startMock(opts: MockOptions): Promise<MockDevice> {
  const mock = new Mock(opts);
  await mock.start();
  return mock;
}
