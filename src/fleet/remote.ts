/**
 * Remote devices: what the other gateways of the fleet announce, presented to the hub like a
 * source presents its devices (SourceSink.reading/state, Device), so that they get this
 * gateway's seq and epoch, the snapshot, subscriptions and resume like local ones.
 *
 * - A device is `<gateway>/<device>` (topics.ts: no collision with a local id).
 * - Its state is the owner's retained state, or down while the owner is offline (its last will).
 * - The owners' presence goes to the sink too (PresenceSink): a dashboard groups by gateway.
 * - Readings: only of devices the owner's birth lists, and only with a seq above the last one of
 *   that owner's instance (a bridge loop or a redelivery is not shown twice).
 * - Nothing here throws on bad input from the broker: it is dropped (the Fleet counts it).
 * - Bounded whatever is published on the fleet topics (a broker without the ACL, a gateway gone
 *   wrong): at most FLEET_MAX_GATEWAYS other gateways (a later one is ignored), FLEET_MAX_DEVICES
 *   device states kept per gateway, FLEET_MAX_REMOTE_DEVICES remote devices in all, and each
 *   gateway's messages within `mqtt.federation.inputRate`, dropped unparsed beyond it.
 */
import type { DeviceCommand, DeviceStatus, PresenceSink, SourceKind, SourceSink, Values, Device } from '../domain.js';
import type { InputRateConfig } from '../config/schema.js';
import type { Logger } from '../log.js';
import { LogRateLimiter } from '../log-rate.js';
import { InputRate } from '../sources/input-rate.js';
import { FLEET_CLOCK_SKEW_MS, FLEET_MAX_DEVICES, FLEET_MAX_GATEWAYS, FLEET_MAX_REMOTE_DEVICES, FLEET_STATE_COST_BYTES } from '../bounds.js';
import { remoteId } from './topics.js';

export interface Birth {
  state: 'online';
  instance: string;
  version: string;
  devices: { id: string; source: SourceKind }[];
}
export interface Will {
  state: 'offline';
  instance: string;
  reason: string;
}
export type Presence = Birth | Will;

interface OwnState {
  state: 'up' | 'down';
  reason?: string;
}

interface RemoteGateway {
  instance: string;
  online: boolean;
  reason: string;
  /** device → source kind, from the last birth */
  listed: Map<string, SourceKind>;
  states: Map<string, OwnState>;
  lastSeq: number;
  /** what its subtree may cost us (mqtt.federation.inputRate) */
  input: InputRate;
  /** offline only because our broker link went down, and no status of it came since */
  unconfirmed: boolean;
  /** the smallest (arrival − ts) of this instance's readings: its clock's offset from ours, plus the path */
  minLag: number;
  /** the newest ts given to its readings here (they never go back) */
  lastTs: number;
}

/** Sends one command to its owner; settles exactly once (remote-commands.ts). */
export type RemoteSend = (gateway: string, device: string, cmd: DeviceCommand) => Promise<{ reply?: string }>;

export class RemoteDevices {
  private readonly gateways = new Map<string, RemoteGateway>();
  private readonly devices = new Map<string, Device>();
  private readonly limitLog = new LogRateLimiter(10_000);
  private readonly clockLog = new LogRateLimiter(10_000);

  constructor(
    private readonly sink: SourceSink & PresenceSink,
    private readonly send: RemoteSend,
    /** include filter on `<gateway>/<device>` (mqtt.federation.include) */
    private readonly include: (id: string) => boolean,
    /** the set of remote devices changed: the hub must learn it before their readings */
    private readonly changed: () => void,
    private readonly inputRate: InputRateConfig,
    private readonly log: Logger,
    /** this gateway's wall clock, the one its own readings' ts come from */
    private readonly now: () => number = Date.now,
  ) {}

  list(): Device[] {
    return [...this.devices.values()];
  }

  isOnline(gateway: string): boolean {
    return this.gateways.get(gateway)?.online ?? false;
  }

  /**
   * May a message of `bytes` from `gateway`'s subtree be parsed? Not when it is over that
   * gateway's input budget, nor when it would be one gateway too many (counted and logged here).
   */
  admit(gateway: string, bytes: number): boolean {
    return this.entry(gateway)?.input.admit(bytes) ?? false;
  }

  presence(gateway: string, p: Presence | undefined): void {
    const gw = this.entry(gateway);
    if (!gw) return;
    gw.unconfirmed = false;
    if (p === undefined || p.state === 'offline') {
      // a will of an instance that was replaced already (a restart faster than the keepalive) says nothing
      if (p && gw.online && p.instance !== gw.instance) return;
      // each device it takes down is a state message to every dashboard (FLEET_STATE_COST_BYTES)
      if (gw.online) gw.input.owe(gw.listed.size * FLEET_STATE_COST_BYTES);
      gw.online = false;
      gw.reason = p?.reason ?? 'status cleared';
      this.publishStates(gateway, gw);
      return;
    }
    // each device it lists is a state message to every dashboard (FLEET_STATE_COST_BYTES), and a
    // new list more: births alternating two lists of 1,024 devices held the loop for seconds
    gw.input.owe(p.devices.length * FLEET_STATE_COST_BYTES);
    if (p.instance !== gw.instance) {
      // a new run: it counts afresh, and its clock may have been set meanwhile
      gw.lastSeq = 0;
      gw.minLag = Infinity;
      gw.lastTs = 0;
    }
    gw.instance = p.instance;
    gw.online = true;
    gw.listed = new Map(p.devices.filter((d) => this.include(remoteId(gateway, d.id))).map((d) => [d.id, d.source]));
    let changed = false;
    for (const id of this.devices.keys()) {
      const [g, d] = id.split('/') as [string, string];
      if (g === gateway && !gw.listed.has(d)) changed = this.devices.delete(id);
    }
    for (const [d, source] of gw.listed) {
      const id = remoteId(gateway, d);
      const known = this.devices.get(id);
      if (known?.source === source) continue;
      if (!known && this.devices.size >= FLEET_MAX_REMOTE_DEVICES) {
        // the fleet is larger than one gateway shows: the devices past the bound are not listed
        gw.listed.delete(d);
        this.refused(gateway, `more than ${FLEET_MAX_REMOTE_DEVICES} remote devices: the others of this gateway are not shown`);
        continue;
      }
      this.devices.set(id, this.device(gateway, d, id, source));
      changed = true;
    }
    if (changed) this.changed();
    this.publishStates(gateway, gw);
  }

  /** our broker link is down: we know nothing about any gateway until it is back */
  allOffline(reason: string): void {
    for (const [gateway, gw] of this.gateways) {
      if (!gw.online) continue;
      gw.online = false;
      gw.unconfirmed = true;
      gw.reason = reason;
      this.publishStates(gateway, gw);
    }
  }

  /**
   * Our broker link is back and every retained status came before our probe: a gateway offline
   * since the link went down that none came for is not "unreachable from this gateway" any more.
   * It went while the broker was away and the broker lost its will (a restart without
   * persistence), or its status was cleared: dashboards showed the old reason for good.
   */
  noStatusSince(reason: string): void {
    for (const [gateway, gw] of this.gateways) {
      if (!gw.unconfirmed) continue;
      gw.unconfirmed = false;
      gw.reason = reason;
      this.publishStates(gateway, gw);
    }
  }

  deviceState(gateway: string, device: string, s: OwnState): void {
    // retained states may come before the birth: kept for it, as many as a birth may list
    const gw = this.entry(gateway);
    if (!gw) return;
    if (!gw.states.has(device) && gw.states.size >= FLEET_MAX_DEVICES) {
      this.refused(gateway, `states of more than ${FLEET_MAX_DEVICES} devices: the others are dropped`);
      return;
    }
    gw.states.set(device, s);
    const d = this.devices.get(remoteId(gateway, device));
    if (d) this.sink.state(d.status());
  }

  /**
   * false when dropped (not listed, or not newer than the last seq). Not "not online": what our
   * session held during an outage arrives before the retained births tell us who is online.
   */
  reading(gateway: string, device: string, r: { seq: number; ts: number; values?: Values; raw?: string; error?: string }): boolean {
    const gw = this.gateways.get(gateway);
    if (!gw || !this.devices.has(remoteId(gateway, device)) || r.seq <= gw.lastSeq) return false;
    gw.lastSeq = r.seq;
    const input: Parameters<SourceSink['reading']>[0] = { device: remoteId(gateway, device), ts: this.localTs(gateway, gw, r.ts) };
    if (r.values !== undefined) input.values = r.values;
    if (r.raw !== undefined) input.raw = r.raw;
    if (r.error !== undefined) input.error = r.error;
    this.sink.reading(input);
    return true;
  }

  /**
   * A reading's ts in this gateway's clock: the owner's may be off (a Pi without an RTC before NTP
   * answers, a clock set by hand).
   * - Ahead: its readings were in our future, and history requests ending now (every chart and
   *   sparkline a dashboard loads) left them out. Moved back to now, their arrival.
   * - Behind: every reading looked late, its tiles `silent` with an age of minutes. A reading that
   *   waited in the broker looks late too, but never less late than the live ones, so the smallest
   *   lag seen from this run of the owner is its clock's offset (plus the path's latency): beyond
   *   FLEET_CLOCK_SKEW_MS it is added back. What a replay after an outage held keeps its spacing.
   * Either way readings never go back in time here.
   */
  private localTs(gateway: string, gw: RemoteGateway, ts: number): number {
    const now = this.now();
    let local = ts;
    if (ts > now) {
      local = now;
      if (ts - now > FLEET_CLOCK_SKEW_MS) this.clockSkew(gateway, { aheadMs: ts - now }, 'ahead of');
    } else {
      gw.minLag = Math.min(gw.minLag, now - ts);
      if (gw.minLag > FLEET_CLOCK_SKEW_MS) {
        local = ts + gw.minLag;
        this.clockSkew(gateway, { behindMs: gw.minLag }, 'behind');
      }
    }
    return (gw.lastTs = Math.max(local, gw.lastTs));
  }

  private clockSkew(gateway: string, by: { aheadMs: number } | { behindMs: number }, how: string): void {
    this.clockLog.log(
      this.log,
      'warn',
      gateway,
      { code: 'SG_ERR_FLEET_CLOCK', gateway, ...by },
      `the clock of gateway ${gateway} is ${how} this one's: its readings' ts are moved to this gateway's time (check NTP on both)`,
    );
  }

  /** The record of `gateway`, made on its first message; undefined when it would be one too many. */
  private entry(gateway: string): RemoteGateway | undefined {
    const known = this.gateways.get(gateway);
    if (known) return known;
    if (this.gateways.size >= FLEET_MAX_GATEWAYS) {
      this.refused(gateway, `more than ${FLEET_MAX_GATEWAYS} other gateways on the fleet broker: its messages are ignored`);
      return undefined;
    }
    const gw: RemoteGateway = {
      instance: '',
      online: false,
      reason: 'no birth message yet',
      listed: new Map(),
      states: new Map(),
      lastSeq: 0,
      unconfirmed: false,
      minLag: Infinity,
      lastTs: 0,
      input: new InputRate(`${gateway}/*`, this.inputRate, this.log, 'mqtt.federation.inputRate'),
    };
    this.gateways.set(gateway, gw);
    return gw;
  }

  private refused(gateway: string, why: string): void {
    this.limitLog.log(this.log, 'warn', why, { code: 'SG_ERR_FLEET_LIMIT', gateway }, `fleet bound reached: ${why}`);
  }

  /** the owner's presence (offline: with why), then the state of each of its devices */
  private publishStates(gateway: string, gw: RemoteGateway): void {
    this.sink.presence(gw.online ? { id: gateway, state: 'online' } : { id: gateway, state: 'offline', reason: gw.reason });
    for (const d of gw.listed.keys()) this.sink.state(this.devices.get(remoteId(gateway, d))!.status());
  }

  private device(gateway: string, name: string, id: string, source: SourceKind): Device {
    return {
      id,
      source,
      status: (): DeviceStatus => {
        const gw = this.gateways.get(gateway)!;
        const own = gw.states.get(name);
        if (!gw.online) return { id, source, gateway, state: 'down', reason: `gateway ${gateway} is offline: ${gw.reason}` };
        if (!own) return { id, source, gateway, state: 'down', reason: `no state from gateway ${gateway} yet` };
        return own.reason === undefined ? { id, source, gateway, state: own.state } : { id, source, gateway, state: own.state, reason: own.reason };
      },
      command: (cmd) => this.send(gateway, name, cmd),
    };
  }
}
