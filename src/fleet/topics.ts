/**
 * The fleet's topic tree under `<prefix>` (README "Fleet"). Each gateway writes only below
 * `<prefix>/<gateway>/` (what the example ACL enforces) and reads the whole tree:
 *
 *   <prefix>/<gateway>/status              retained birth / last will: online (instance, version, devices) | offline
 *   <prefix>/<gateway>/probe               our own round trip: every retained message came before it
 *   <prefix>/<gateway>/<device>/reading    readings of the owner's devices (QoS 1: kept in an offline session)
 *   <prefix>/<gateway>/<device>/state      retained: up | down with reason
 *   <prefix>/<gateway>/<device>/command    requests from any gateway (QoS 1, MQTT 5 correlation data)
 *   <prefix>/<gateway>/<device>/ack        the owner's one answer, correlation data echoed
 *
 * Gateway and device ids match ID_PATTERN (no `/`, no wildcard), so every level is one id and a
 * remote device's id here, `<gateway>/<device>`, can never equal a local one.
 */
import { ID_PATTERN } from '../config/schema.js';

export type FleetTopic =
  { kind: 'status' | 'probe'; gateway: string } | { kind: 'reading' | 'state' | 'command' | 'ack'; gateway: string; device: string };

const DEVICE_KINDS = new Set(['reading', 'state', 'command', 'ack']);

export class FleetTopics {
  private readonly root: string;
  readonly filter: string;

  constructor(prefix: string) {
    this.root = `${prefix}/`;
    this.filter = `${prefix}/#`;
  }

  status(gateway: string): string {
    return `${this.root}${gateway}/status`;
  }

  probe(gateway: string): string {
    return `${this.root}${gateway}/probe`;
  }

  device(gateway: string, device: string, kind: 'reading' | 'state' | 'command' | 'ack'): string {
    return `${this.root}${gateway}/${device}/${kind}`;
  }

  /** undefined for anything that is not one of ours (a level that is not an id, another layout) */
  parse(topic: string): FleetTopic | undefined {
    if (!topic.startsWith(this.root)) return undefined;
    const levels = topic.slice(this.root.length).split('/');
    const gateway = levels[0]!;
    if (!ID_PATTERN.test(gateway)) return undefined;
    if (levels.length === 2 && (levels[1] === 'status' || levels[1] === 'probe')) return { kind: levels[1], gateway };
    if (levels.length !== 3 || !ID_PATTERN.test(levels[1]!) || !DEVICE_KINDS.has(levels[2]!)) return undefined;
    return { kind: levels[2] as 'reading', gateway, device: levels[1]! };
  }
}

/** A remote device as this gateway's dashboards see it. */
export const remoteId = (gateway: string, device: string): string => `${gateway}/${device}`;

/** Readings of remote devices are never published again (no loops between gateways). */
export const isRemoteId = (id: string): boolean => id.includes('/');
