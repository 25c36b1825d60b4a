/**
 * Readings → dashboards, commands → devices (DESIGN.md "Dashboard wire protocol, version 1"): the
 * facade the daemon uses. Each job is a module of its own; the hub wires them and owns only what
 * crosses them (the sessions, auth, the bad-message policy):
 *
 * - devices.ts       device registry: command rules, state (the device_up gauge), last values
 * - resume.ts        the stream (epoch, seq), the ring of readings with their frames, de-duplication
 * - subscriptions.ts which connection gets which reading
 * - flush-scheduler.ts when queued frames are written (held back only with hub.coalesceMs > 0)
 * - commands.ts      the one command router, for dashboards and federation (fleet-owner.ts)
 * - session.ts       one connection
 *
 * Cost per reading: one encode + one frame per encoding in use (ReadingFrames), one Buffer push per
 * subscribed connection, and per connection at most one write per flush pass: one pass per loop
 * turn; with hub.coalesceMs > 0, under load, passes are spaced so that writing takes at most
 * FLUSH_SHARE_PERCENT of the time, a frame waiting at most hub.coalesceMs.
 */
import type { Config } from '../config/schema.js';
import type {
  Device,
  DeviceCommand,
  DeviceStatus,
  GatewayPresence,
  HistoryReader,
  PresenceSink,
  Reading,
  ReadingInput,
  Role,
  SourceSink,
} from '../domain.js';
import { metrics } from '../metrics.js';
import type { Logger } from '../log.js';
import type { EndpointOptions } from '../server/ws-server.js';
import { PROTOCOLS, encodingOf, type Encoding, type ServerMessage } from '../protocol/messages.js';
import { decodeClientMessage } from '../protocol/codec.js';
import { parseClientMessage, type HistoryRequest, type SubscribeRequest } from '../protocol/client-messages.js';
import { Authenticator, type AuthContext } from './auth.js';
import { frameMessage } from './frame.js';
import { HistoryRequests, NO_HISTORY, type HistoryWork } from './history-requests.js';
import { CommandRouter } from './commands.js';
import { DeviceRegistry } from './devices.js';
import type { StreamSnapshot, StreamStart } from './epoch.js';
import { FleetOwners, type FleetOrigin } from './fleet-owner.js';
import { FlushScheduler } from './flush-scheduler.js';
import { ReadingFrames } from './reading-frames.js';
import { Resume, readingMessage } from './resume.js';
import { Session, type HubConnection } from './session.js';
import { SubscriptionIndex } from './subscriptions.js';

export type { AuthContext } from './auth.js';
export type { StreamSnapshot, StreamStart } from './epoch.js';
export type { FleetOrigin } from './fleet-owner.js';

export interface HubOptions {
  /** the stream to continue (History restores it across a planned restart); default: a new epoch from seq 0 */
  stream?: StreamStart | StreamSnapshot;
  /** answers `history` requests (issue 11); default NO_HISTORY: empty answers */
  history?: HistoryReader;
  /** the gateway's history work, shared with the HTTP export; default: the hub's own */
  historyWork?: HistoryWork;
}

export class Hub implements SourceSink, PresenceSink {
  private auth: Authenticator;
  private readonly registry = new DeviceRegistry();
  private readonly resume: Resume;
  private readonly router: CommandRouter;
  private readonly history: HistoryRequests;
  /** federation origins by gateway: each its own rate limit and in-flight table */
  private readonly fleet = new FleetOwners(() => this.config.hub.commandRate);
  /** by their connection: what the shared connection listeners (below) look up */
  private readonly sessions = new Map<HubConnection, Session>();
  /** the other gateways of the fleet as their births and wills say (hello.gateways, `presence`) */
  private readonly gateways = new Map<string, GatewayPresence>();
  private readonly subscribers = new SubscriptionIndex<Session>();
  private readonly flusher = new FlushScheduler<Session>(() => this.config.hub.coalesceMs);
  private closing = false;
  private readonly readingListeners: ReadingListener[] = [];
  private readonly stateListeners: ((s: DeviceStatus) => void)[] = [];
  private readonly scheduleFlush = (s: Session) => this.flusher.schedule(s);
  private readonly listeners = connectionListeners((conn) => this.sessions.get(conn), {
    message: (s, data, binary) => this.onMessage(s, data, binary),
    close: (s) => this.detach(s),
  });

  constructor(
    private config: Config,
    private readonly logger: Logger,
    opts: HubOptions = {},
  ) {
    this.resume = new Resume(config.hub.resumeBuffer, opts.stream);
    if (opts.stream && 'last' in opts.stream) this.registry.restore(opts.stream.last.map((r) => new ReadingFrames(readingMessage(r))));
    this.auth = new Authenticator(config.auth, config.server.host);
    this.router = new CommandRouter((id) => this.registry.target(id), logger);
    this.history = new HistoryRequests(opts.history ?? NO_HISTORY, opts.historyWork);
  }

  /** the stream `seq` counts in (hello.epoch) */
  get epoch(): string {
    return this.resume.epoch;
  }

  /**
   * A reload (the gateway keeps server.* and hub.resumeBuffer at their running values: see
   * src/cli/reload.ts). Auth applies to open connections too: one whose token was removed, or whose
   * role went down, is closed with 1008 (reconnecting gets it the new role, or a 401); a role that
   * went up applies from its next connection. The other hub.* limits apply to every connection at
   * once; device command rules with setDevices.
   */
  reconfigure(config: Config): void {
    this.config = config;
    this.auth = new Authenticator(config.auth, config.server.host);
    let closed = 0;
    for (const s of this.sessions.values()) {
      const role = this.auth.roleOf(s.credential);
      if (role === undefined || RANK[role] < RANK[s.role]) {
        closed++;
        s.conn.close(
          1008,
          role === undefined ? 'token no longer valid (configuration reloaded)' : `role is now ${role} (configuration reloaded): reconnect`,
        );
        continue;
      }
      s.applyLimits(config.hub);
    }
    this.fleet.applyLimits();
    if (closed > 0) this.logger.warn({ closed }, 'closed dashboard connections whose token the reload removed or downgraded');
  }

  /** Every reading after it got its seq (the fleet publishes it, reusing its JSON text; history records it). */
  onReading(listener: ReadingListener): void {
    this.readingListeners.push(listener);
  }

  /** Every state change of a device (the fleet publishes this gateway's own, retained). */
  onState(listener: (s: DeviceStatus) => void): void {
    this.stateListeners.push(listener);
  }

  /**
   * A command from outside a dashboard (federation over MQTT): through the same router as a
   * dashboard's, as `origin` with its own rate limit and in-flight table; refusals are CommandErrors.
   */
  routeCommand(device: string, cmd: DeviceCommand, origin: FleetOrigin = { kind: 'fleet', gateway: '' }): Promise<{ reply?: string }> {
    const owner = this.fleet.of(origin.gateway);
    const { msg, result } = owner.command(device, cmd);
    this.router.handle(owner, msg);
    return result;
  }

  /** At start and on reload; connections stay open and learn about changes from `state`. */
  setDevices(devices: Device[]): void {
    for (const id of this.registry.replace(devices, this.config.devices)) {
      this.broadcast({ type: 'state', device: id, state: 'down', reason: 'removed from the configuration' });
    }
    for (const d of devices) this.state(d.status());
  }

  // ---- SourceSink ----

  reading(input: ReadingInput): void {
    const r = this.resume.append(input);
    this.registry.reading(r);
    for (const listener of this.readingListeners) {
      try {
        listener(r.msg, r);
      } catch (err) {
        // a federation hiccup must not cost the dashboards this reading
        this.logger.error({ err, device: r.device }, 'reading listener failed');
      }
    }
    this.subscribers.deliver(r);
  }

  state(s: DeviceStatus): void {
    if (!this.registry.state(s)) return;
    this.broadcast(
      s.reason === undefined ? { type: 'state', device: s.id, state: s.state } : { type: 'state', device: s.id, state: s.state, reason: s.reason },
    );
    for (const listener of this.stateListeners) {
      try {
        listener(s);
      } catch (err) {
        this.logger.error({ err, device: s.id }, 'state listener failed');
      }
    }
  }

  // ---- PresenceSink (fleet mode) ----

  presence(p: GatewayPresence): void {
    const prev = this.gateways.get(p.id);
    if (prev && prev.state === p.state && prev.reason === p.reason) return;
    this.gateways.set(p.id, p);
    const { id, ...presence } = p;
    this.broadcast({ type: 'presence', gateway: id, ...presence });
  }

  /**
   * The fleet this gateway was in is gone (a reload turned federation off or changed it): every
   * gateway it reported goes offline, with `reason`, for open dashboards, and a later hello lists
   * none of them. A fleet started again reports its gateways afresh.
   */
  leaveFleet(reason: string): void {
    for (const id of this.gateways.keys()) this.broadcast({ type: 'presence', gateway: id, state: 'offline', reason });
    this.gateways.clear();
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
    const s = new Session(
      conn,
      this.config.hub,
      { role: context.role, credential: context.credential, encoding: encodingOf(conn.protocol) },
      this.scheduleFlush,
    );
    if (this.closing) {
      conn.close(1001, 'gateway shutting down');
      return s;
    }
    this.sessions.set(conn, s);
    conn.on('message', this.listeners.message);
    conn.on('close', this.listeners.close);
    conn.on('drain', this.listeners.drain);
    const snapshot = this.registry.snapshot();
    this.resume.started(s, snapshot);
    // hello and the snapshot leave in one write
    const hello = {
      type: 'hello',
      protocol: 1,
      gateway: this.config.gateway.id,
      role: context.role,
      epoch: this.epoch,
      seq: this.resume.newest,
      devices: this.registry.list(),
      // only in fleet mode: a single gateway's hello stays what DESIGN.md shows
      ...(this.gateways.size > 0 ? { gateways: [...this.gateways.values()] } : {}),
    } as const;
    s.queue(frameMessage(hello, s.encoding));
    for (const r of snapshot) s.queue(r.frame(s.encoding));
    s.flush();
    this.subscribers.subscribe(s, '*');
    return s;
  }

  /** Writes every frame queued for dashboards now instead of at the end of the loop turn. */
  flushQueued(): void {
    this.flusher.flushAll();
  }

  shutdown(): Promise<void> {
    this.closing = true;
    this.router.shutdown();
    this.flushQueued();
    const open = [...this.sessions.values()];
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
    return { connections: this.sessions.size, seq: this.resume.newest };
  }

  /** Where the stream is now: what a planned restart hands to the next Hub to continue it. */
  stream(): StreamStart {
    return this.resume.stream();
  }

  /** The stream with the resume buffer and the last values: what a clean stop saves (History). */
  snapshot(): StreamSnapshot {
    return { ...this.resume.stream(), readings: this.resume.held(), last: this.registry.snapshot().map((r) => r.msg) };
  }

  // ---- internals ----

  private detach(s: Session): void {
    s.closed();
    this.sessions.delete(s.conn);
    this.flusher.forget(s);
    this.subscribers.remove(s);
  }

  /** A small message to every connection (state changes): framed once per encoding. */
  private broadcast(msg: ServerMessage): void {
    const frames: Partial<Record<Encoding, Buffer>> = {};
    for (const s of this.sessions.values()) {
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
    if (!s.takeToken()) {
      // a history request's refusal names it, so that the client can tell which one to ask again
      const id = msg.type === 'history' ? msg.id : undefined;
      return this.clientError(s, 'rate_limited', `too many ${msg.type} messages: slow down (hub.commandRate)`, id);
    }
    if (msg.type === 'history') return this.answerHistory(s, msg);
    this.resubscribe(s, msg);
  }

  /** One answer in order after what is queued; live readings go on around it. */
  private answerHistory(s: Session, msg: HistoryRequest): void {
    const reply = this.history.answer(msg, s.encoding, this.config.server.limits.sendHardLimitBytes / 2);
    // the store's fault, or the whole gateway's history work spent (by others as likely as by this
    // client): not counted towards hub.badMessageLimit; a store failure is logged
    if (!reply.ok && reply.code !== 'invalid_field') {
      if (reply.code === 'history_unavailable') this.logger.warn({ code: 'SG_ERR_HISTORY_READ', conn: s.conn.id }, reply.message);
      metrics.clientErrors.inc({ code: reply.code });
      return s.send({ type: 'error', error: { code: reply.code, message: reply.message }, id: msg.id });
    }
    if (!reply.ok) return this.clientError(s, reply.code, reply.message, msg.id);
    s.queue(reply.frame);
    s.flush();
  }

  private clientError(s: Session, code: string, message: string, id?: string): void {
    metrics.clientErrors.inc({ code });
    s.send(id === undefined ? { type: 'error', error: { code, message } } : { type: 'error', error: { code, message }, id });
    if (s.badMessage()) s.conn.close(1008, 'too many bad messages');
  }

  /**
   * `subscribe`: replace the subscription; with `since`, first the replay (Resume.replay). The
   * replay leaves like live readings do, through the flush scheduler: dashboards resuming in the
   * same loop turn (all of them, after a restart) share one concatenation of the same frames.
   */
  private resubscribe(s: Session, msg: SubscribeRequest): void {
    if (msg.since !== undefined) this.resume.replay(s, { ...msg, since: msg.since }, this.config.server.limits.sendHardLimitBytes / 2);
    this.subscribers.subscribe(s, msg.devices);
    this.resume.subscribed(s, msg.devices);
    this.flusher.schedule(s);
  }
}

/** `frames.jsonText()` is the reading's JSON, encoded once for every JSON dashboard and the fleet alike. */
export type ReadingListener = (r: Reading, frames: { jsonText(): string }) => void;

/** a reload may lower a connection's role, never raise it in place */
const RANK: Readonly<Record<Role, number>> = { viewer: 0, operator: 1 };

/**
 * One listener per event for all of a hub's connections: EventEmitter calls a listener with the
 * emitting connection as `this`, which finds its session. Three closures per connection (and the
 * context they share) were ~0.2 KB of every idle dashboard (README "Footprint").
 */
function connectionListeners(
  sessionOf: (conn: HubConnection) => Session | undefined,
  on: { message(s: Session, data: Buffer, binary: boolean): void; close(s: Session): void },
) {
  return {
    message(this: HubConnection, data: Buffer, binary: boolean): void {
      const s = sessionOf(this);
      if (s) on.message(s, data, binary);
    },
    close(this: HubConnection): void {
      const s = sessionOf(this);
      if (s) on.close(s);
    },
    drain(this: HubConnection): void {
      sessionOf(this)?.drained();
    },
  };
}
