/**
 * Readings → dashboards, commands → devices (DESIGN.md "Dashboard wire protocol, version 1").
 *
 * Cost per reading: one encode + one frame per encoding in use (Encoded), one Buffer push per
 * subscribed connection, and per connection one write per coalescing window (hub.coalesceMs)
 * however many readings fell into it.
 */
import { commandsSchema, type Config, type DeviceConfig, type Role } from '../config/schema.js';
import { metrics } from '../http/metrics.js';
import type { Logger } from '../log.js';
import type { EndpointOptions } from '../server/ws-server.js';
import { CommandError, type Device, type DeviceCommand, type DeviceStatus, type Reading, type ReadingInput, type SourceSink } from '../sources/types.js';
import {
  PROTOCOLS,
  decodeClientMessage,
  encodingOf,
  frameMessage,
  type Encoding,
  type ReadingMessage,
  type ServerMessage,
} from '../codecs/messages.js';
import { Authenticator, type AuthContext } from './auth.js';
import { parseClientMessage, type SubscribeMessage } from './client-messages.js';
import { compilePattern } from '../codecs/line-parser.js';
import { CommandRouter, checkCommand, type CommandTarget } from './commands.js';
import { canDerive } from './derived.js';
import { newEpoch, type StreamStart } from './epoch.js';
import { ResumeRing } from './ring.js';
import { Encoded, Session, matches, type HubConnection, type SharedBatch, type Subscription } from './session.js';

export type { AuthContext } from './auth.js';
export type { StreamStart } from './epoch.js';

/** Subscription changes remembered per connection for resume de-duplication. */
const MAX_PERIODS = 16;

export interface HubOptions {
  /** the stream to continue (History restores it across a planned restart); default: a new epoch from seq 0 */
  stream?: StreamStart;
}

export class Hub implements SourceSink {
  /** the stream `seq` counts in (hello.epoch) */
  readonly epoch: string;
  private seq: number;
  private readonly ring: ResumeRing;
  private auth: Authenticator;
  private readonly router: CommandRouter;
  private readonly devices = new Map<string, CommandTarget>();
  private readonly statuses = new Map<string, DeviceStatus>();
  /** last reading of each device with its frames: the snapshot a new connection gets */
  private readonly last = new Map<string, Encoded>();
  private readonly sessions = new Set<Session>();
  /** subscription groups: a session is in `everyone` or in the set of each device it names */
  private readonly everyone = new Set<Session>();
  private readonly byDevice = new Map<string, Set<Session>>();
  private readonly dirty = new Set<Session>();
  private flushTimer: NodeJS.Timeout | undefined;
  private closing = false;
  private readonly taps: ((r: Reading) => void)[] = [];
  private readonly stateTaps: ((s: DeviceStatus) => void)[] = [];
  private readonly markDirty = (s: Session) => this.scheduleFlush(s);
  private readonly flushAll = () => {
    // it fired: clearing it again would only cost a timer-list lookup per pass
    this.flushTimer = undefined;
    this.flush();
  };

  constructor(
    private config: Config,
    private readonly logger: Logger,
    opts: HubOptions = {},
  ) {
    this.epoch = opts.stream?.epoch ?? newEpoch();
    this.seq = opts.stream?.seq ?? 0;
    this.ring = new ResumeRing(config.hub.resumeBuffer, this.seq);
    this.auth = new Authenticator(config.auth, config.server.host);
    this.router = new CommandRouter((id) => this.devices.get(id), logger);
  }

  /**
   * A reload (the gateway keeps server.* and hub.resumeBuffer at their running values: see
   * src/reload.ts). Auth applies to open connections too: one whose token was removed, or whose
   * role went down, is closed with 1008 (reconnecting gets it the new role, or a 401); a role that
   * went up applies from its next connection. The other hub.* limits apply to every connection at
   * once; device command rules with setDevices.
   */
  reconfigure(config: Config): void {
    this.config = config;
    this.auth = new Authenticator(config.auth, config.server.host);
    let closed = 0;
    for (const s of this.sessions) {
      const role = this.auth.roleOf(s.credential);
      if (role === undefined || RANK[role] < RANK[s.role]) {
        closed++;
        s.conn.close(1008, role === undefined ? 'token no longer valid (configuration reloaded)' : `role is now ${role} (configuration reloaded): reconnect`);
        continue;
      }
      s.applyLimits(config.hub);
    }
    if (closed > 0) this.logger.warn({ closed }, 'closed dashboard connections whose token the reload removed or downgraded');
  }

  /** Every reading after it got its seq (federation publishes them to the broker). */
  tap(listener: (r: Reading) => void): void {
    this.taps.push(listener);
  }

  /** Every state change of a device (the fleet publishes this gateway's own, retained). */
  tapState(listener: (s: DeviceStatus) => void): void {
    this.stateTaps.push(listener);
  }

  /**
   * A command from outside a dashboard (federation over MQTT): the same device rules as a
   * dashboard's, without a connection; refusals are CommandErrors.
   */
  routeCommand(device: string, cmd: DeviceCommand): Promise<{ reply?: string }> {
    const target = this.devices.get(device);
    if (!target) return Promise.reject(new CommandError('invalid', `no device "${device.slice(0, 64)}"`, device));
    const check = checkCommand({ type: 'command', id: '', device, line: cmd.line, payload: cmd.payload }, target);
    if (!check.ok) return Promise.reject(new CommandError(check.code === 'forbidden' ? 'forbidden' : 'invalid', check.message, device));
    if (this.closing) return Promise.reject(new CommandError('shutting_down', 'the gateway is shutting down', device));
    if (target.device.status().state !== 'up') return Promise.reject(new CommandError('device_unavailable', `${device} is down`, device));
    return target.device.command(check.cmd);
  }

  /** At start and on reload; connections stay open and learn about changes from `state`. */
  setDevices(devices: Device[]): void {
    const configs = new Map<string, DeviceConfig>(this.config.devices.map((d) => [d.id, d]));
    const next = new Map<string, CommandTarget>();
    for (const device of devices) {
      const rules = configs.get(device.id)?.commands ?? defaultRules;
      next.set(device.id, { device, rules, allow: rules.allow === undefined ? undefined : compilePattern(rules.allow, `device ${device.id}: commands.allow`) });
    }
    for (const id of this.devices.keys()) {
      if (next.has(id)) continue;
      this.statuses.delete(id);
      forgetMetrics(id);
      this.broadcast({ type: 'state', device: id, state: 'down', reason: 'removed from the configuration' });
    }
    // last values of removed devices, and of derived ids the new topic filters cannot yield any more
    const running = this.config.devices.filter((d) => next.has(d.id));
    for (const id of this.last.keys()) if (!next.has(id) && !canDerive(running, id)) this.last.delete(id);
    this.devices.clear();
    for (const [id, t] of next) this.devices.set(id, t);
    for (const t of next.values()) this.state(t.device.status());
  }

  // ---- SourceSink ----

  reading(input: ReadingInput): void {
    const msg: ReadingMessage = { type: 'reading', seq: ++this.seq, device: input.device, ts: input.ts };
    if (input.values !== undefined) msg.values = input.values;
    if (input.raw !== undefined) msg.raw = input.raw;
    if (input.error !== undefined) msg.error = input.error;
    this.ring.push(msg);
    const r = new Encoded(msg);
    this.last.set(msg.device, r);
    for (const tap of this.taps) {
      try {
        tap(msg);
      } catch (err) {
        // a federation hiccup must not cost the dashboards this reading
        this.logger.error({ err, device: msg.device }, 'reading tap failed');
      }
    }
    for (const s of this.everyone) s.deliver(r);
    const group = this.byDevice.get(msg.device);
    if (group) for (const s of group) s.deliver(r);
  }

  state(s: DeviceStatus): void {
    const prev = this.statuses.get(s.id);
    this.statuses.set(s.id, s);
    if (prev && prev.state === s.state && prev.reason === s.reason) return;
    const msg: ServerMessage = s.reason === undefined ? { type: 'state', device: s.id, state: s.state } : { type: 'state', device: s.id, state: s.state, reason: s.reason };
    this.broadcast(msg);
    for (const tap of this.stateTaps) {
      try {
        tap(s);
      } catch (err) {
        this.logger.error({ err, device: s.id }, 'state tap failed');
      }
    }
  }

  // ---- connections ----

  endpoint(): EndpointOptions<AuthContext> {
    return {
      path: this.config.server.path,
      protocols: PROTOCOLS,
      originAllowed: (origin, host) => this.auth.originAllowed(origin, host),
      authorize: (info) => this.auth.authorize(info),
      onConnection: (conn, _info, context) => this.attach(conn, context),
    };
  }

  /** A new dashboard: hello, the last value of every device, then live readings. */
  attach(conn: HubConnection, context: AuthContext): Session {
    const { hub } = this.config;
    const s = new Session(
      conn,
      { ...hub, role: context.role, credential: context.credential, encoding: encodingOf(conn.protocol) },
      this.markDirty,
    );
    if (this.closing) {
      conn.close(1001, 'gateway shutting down');
      return s;
    }
    this.sessions.add(s);
    conn.on('message', (data, binary) => this.onMessage(s, data, binary));
    conn.on('close', () => this.detach(s));
    conn.on('drain', () => s.drained());
    s.sent.helloSeq = this.seq;
    s.sent.periods.push({ after: this.seq, sub: '*' });
    // remote devices (fleet mode) name their gateway
    const devices = [...this.statuses.values()].map((d) => (d.gateway === undefined ? { id: d.id, source: d.source, state: d.state } : { id: d.id, source: d.source, gateway: d.gateway, state: d.state }));
    // hello and the snapshot leave in one write
    s.queue(frameMessage({ type: 'hello', protocol: 1, gateway: this.config.gateway.id, role: context.role, epoch: this.epoch, seq: this.seq, devices }, s.encoding));
    const snapshot = [...this.last.values()].sort((a, b) => a.msg.seq - b.msg.seq);
    for (const r of snapshot) {
      s.sent.snapshot.add(r.msg.seq);
      s.queue(r.frame(s.encoding));
    }
    s.flush();
    this.everyone.add(s);
    return s;
  }

  shutdown(): Promise<void> {
    this.closing = true;
    this.router.shutdown();
    this.flush();
    const open = [...this.sessions];
    if (open.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      let left = open.length;
      const done = () => {
        if (--left === 0) resolve();
      };
      // the Connection's close timeout bounds this
      for (const s of open) {
        s.conn.on('close', done);
        s.conn.close(1001, 'gateway shutting down');
      }
    });
  }

  stats(): { connections: number; seq: number } {
    return { connections: this.sessions.size, seq: this.seq };
  }

  /** Where the stream is now: what a planned restart hands to the next Hub to continue it. */
  stream(): StreamStart {
    return { epoch: this.epoch, seq: this.seq };
  }

  // ---- internals ----

  private detach(s: Session): void {
    s.closed();
    this.sessions.delete(s);
    this.dirty.delete(s);
    this.unsubscribe(s);
  }

  private unsubscribe(s: Session): void {
    if (s.subscription === '*') {
      this.everyone.delete(s);
      return;
    }
    for (const id of s.subscription) {
      const group = this.byDevice.get(id);
      group?.delete(s);
      if (group?.size === 0) this.byDevice.delete(id);
    }
  }

  private subscribe(s: Session, sub: Subscription): void {
    this.unsubscribe(s);
    s.subscription = sub;
    if (sub === '*') {
      this.everyone.add(s);
      return;
    }
    for (const id of sub) {
      let group = this.byDevice.get(id);
      if (!group) this.byDevice.set(id, (group = new Set()));
      group.add(s);
    }
  }

  private scheduleFlush(s: Session): void {
    if (this.config.hub.coalesceMs === 0) return s.flush();
    this.dirty.add(s);
    this.flushTimer ??= setTimeout(this.flushAll, this.config.hub.coalesceMs);
  }

  private flush(): void {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
    }
    const shared: Record<Encoding, SharedBatch> = { json: { frames: [], buf: undefined }, cbor: { frames: [], buf: undefined } };
    for (const s of this.dirty) s.flush(shared[s.encoding]);
    this.dirty.clear();
  }

  /** A small message to every connection (state changes): framed once per encoding. */
  private broadcast(msg: ServerMessage): void {
    const frames: Partial<Record<Encoding, Buffer>> = {};
    for (const s of this.sessions) {
      s.queue((frames[s.encoding] ??= frameMessage(msg, s.encoding)));
      s.flush();
    }
  }

  private onMessage(s: Session, data: Buffer, binary: boolean): void {
    const decoded = decodeClientMessage(data, binary, s.encoding);
    const parsed = decoded.ok ? parseClientMessage(decoded.value) : decoded;
    if (!parsed.ok) {
      const id = 'id' in parsed ? parsed.id : undefined;
      return this.clientError(s, parsed.code, parsed.message, id);
    }
    const msg = parsed.msg;
    if (msg.type === 'command') return this.router.handle(s, msg);
    if (!s.takeToken()) return this.clientError(s, 'rate_limited', 'too many subscribe messages: slow down (hub.commandRate)');
    this.resubscribe(s, msg);
  }

  private clientError(s: Session, code: string, message: string, id?: string): void {
    metrics.clientErrors.inc({ code });
    s.send(id === undefined ? { type: 'error', error: { code, message } } : { type: 'error', error: { code, message }, id });
    if (s.badMessage()) s.conn.close(1008, 'too many bad messages');
  }

  /**
   * `subscribe`: replace the subscription; with `since`, first replay what the ring holds after
   * it (a `gap` for what it no longer holds), skipping what this connection was already sent.
   * A since continues this stream only when it names this epoch and does not lie beyond its
   * newest seq (Centrifugo's rule); any other since is answered with `reset` and counts as 0, so
   * a restarted count is never taken for a continuation of the old one.
   */
  private resubscribe(s: Session, msg: SubscribeMessage): void {
    const sub = msg.devices;
    if (msg.since !== undefined) {
      const continues = msg.epoch === this.epoch && msg.since <= this.seq;
      if (!continues) s.queue(frameMessage({ type: 'reset', epoch: this.epoch }, s.encoding));
      const since = continues ? msg.since : 0;
      const replay = this.ring.since(since);
      const frames: Buffer[] = [];
      const seqs: number[] = [];
      for (const r of replay.readings) {
        if (!matches(sub, r.device) || wasSent(s, r.seq, r.device)) continue;
        const cached = this.last.get(r.device);
        frames.push(cached && cached.msg.seq === r.seq ? cached.frame(s.encoding) : frameMessage(r as ReadingMessage, s.encoding));
        seqs.push(r.seq);
      }
      // A replay bigger than half the hard send limit would get the connection closed with 1013
      // (and the client would reconnect and ask again): the newest part is sent, the rest is a gap.
      let first = frames.length;
      for (let budget = this.config.server.limits.sendHardLimitBytes / 2; first > 0 && budget >= frames[first - 1]!.length; first--) {
        budget -= frames[first - 1]!.length;
      }
      let gap = replay.gap;
      if (first > 0) gap = { from: gap?.from ?? since + 1, to: seqs[first - 1]! };
      if (gap) {
        metrics.gaps.inc();
        s.queue(frameMessage({ type: 'gap', ...gap }, s.encoding));
      }
      for (let i = first; i < frames.length; i++) s.queue(frames[i]!);
    }
    this.subscribe(s, sub);
    const periods = s.sent.periods;
    periods.push({ after: this.seq, sub });
    // a period wholly older than the ring cannot matter to a replay any more
    while (periods.length > MAX_PERIODS || (periods.length > 1 && periods[1]!.after < this.ring.oldest)) periods.shift();
    s.flush();
  }
}

/** Was reading `seq` of `device` already sent on this connection (snapshot or live)? */
function wasSent(s: Session, seq: number, device: string): boolean {
  const { helloSeq, snapshot, periods } = s.sent;
  if (seq <= helloSeq) return snapshot.has(seq);
  for (let i = periods.length - 1; i >= 0; i--) {
    const e = periods[i]!;
    if (seq > e.after) return matches(e.sub, device);
  }
  return false;
}

/**
 * A device removed by a reload leaves /metrics: its series would otherwise stay forever, frozen
 * (device_up 0 reads as "down", not as "gone").
 */
function forgetMetrics(device: string): void {
  for (const m of [metrics.readings, metrics.parseErrors, metrics.overlongLines, metrics.deviceUp]) m.remove({ device });
  metrics.reconnects.remove({ source: device });
  // commands carry a second label (the result): remove every series of this device
  void metrics.commands.get().then(({ values }) => {
    for (const v of values) if (v.labels.device === device) metrics.commands.remove(v.labels);
  });
}

/** a reload may lower a connection's role, never raise it in place */
const RANK: Readonly<Record<Role, number>> = { viewer: 0, operator: 1 };

/** rules for a device the config does not list (e.g. one a source derived from a topic) */
const defaultRules: DeviceConfig['commands'] = commandsSchema.parse({});
