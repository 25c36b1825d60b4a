/**
 * Which derived reading device ids a config can still produce: those an MQTT device with
 * `idFromTopicSegment` derives (`<id>-<segment>`, segment = that level of a matching topic).
 * After a reload changed a topic filter, a derived id the new filter cannot yield any more must
 * not linger in the snapshot as if the device still existed.
 */
import type { DeviceConfig } from '../config/schema.js';

export function canDerive(devices: readonly DeviceConfig[], id: string): boolean {
  for (const d of devices) {
    const level = d.mqtt?.idFromTopicSegment;
    if (level === undefined || !id.startsWith(`${d.id}-`)) continue;
    if (filterAdmits(d.mqtt!.topic, level, id.slice(d.id.length + 1))) return true;
  }
  return false;
}

/** Can a topic matching `filter` have `segment` at 0-based `level`? */
function filterAdmits(filter: string, level: number, segment: string): boolean {
  const levels = filter.split('/');
  for (let i = 0; i < level && i < levels.length; i++) if (levels[i] === '#') return true;
  const at = levels[level];
  return at === '+' || at === '#' || at === segment;
}
