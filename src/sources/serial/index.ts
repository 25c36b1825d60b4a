/**
 * The serial source: one SerialDevice per configured device with a `serial` section.
 * Construction validates parsers and patterns (and may throw); start() opens the ports.
 */
import type { DeviceConfig } from '../../config/schema.js';
import type { Logger } from '../../log.js';
import type { Device, Source, SourceSink } from '../../domain.js';
import { SerialDevice } from './serial-device.js';

export { SerialDevice } from './serial-device.js';
export { explainOpenError } from './open-error.js';

export class SerialSource implements Source {
  private readonly list: SerialDevice[];

  constructor(devices: DeviceConfig[], sink: SourceSink, logger: Logger) {
    const log = logger.child({ source: 'serial' });
    this.list = devices.flatMap((d) => (d.serial ? [new SerialDevice({ ...d, serial: d.serial }, sink, log)] : []));
  }

  /** opens every port; resolves once each has been tried (a device that is down keeps retrying) */
  async start(): Promise<void> {
    await Promise.all(this.list.map((d) => d.start()));
  }

  async stop(reload?: string): Promise<void> {
    await Promise.all(this.list.map((d) => d.stop(reload)));
  }

  devices(): Device[] {
    return [...this.list];
  }
}
