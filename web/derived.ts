/**
 * Devices that appear only through their readings: an MQTT device with `idFromTopicSegment` (a
 * wildcard topic such as `fleet/+/x`) sends its readings as `<id>-<segment>` (`fleet-dev07`), while
 * the device list, the up/down state and commands stay with the configured device (`fleet`).
 * The overview gives such a derived id its own tile with its parent's state, and the parent's tile
 * says where its readings go.
 */
/**
 * The configured MQTT device a reading's unlisted id was derived from (the longest `<id>-` prefix
 * naming a listed device whose source is MQTT, or unknown: a fleet gateway's device known from a
 * state message only), if any.
 */
export function parentOf(id: string, listed: ReadonlyMap<string, { source?: string }>): string | undefined {
  if (listed.has(id)) return undefined;
  let parent: string | undefined;
  for (let i = id.indexOf('-'); i > 0; i = id.indexOf('-', i + 1)) {
    const p = id.slice(0, i);
    const d = listed.get(p);
    if (d && (d.source === 'mqtt' || d.source === undefined)) parent = p;
  }
  return parent;
}
