/**
 * One dashboard connection as the hub sees it: its encoding, role, subscription, the frames
 * waiting for the next coalesced write, and the slow-consumer state (latest value per device
 * while its socket is congested). Every other part of the hub sees it through a small interface
 * (CommandOwner, Flushable, Resumer, Subscriber).
 */
import { metrics, sendTally } from '../metrics.js';
import type { SendResult } from '../server/connection.js';
import type { Encoding, ServerMessage } from '../protocol/messages.js';
import type { Role } from '../domain.js';
import type { CommandAck, CommandOwner } from './commands.js';
import type { Flushable } from './flush-scheduler.js';
import { frameMessage } from './frame.js';
import { WindowCounter } from './limits.js';
import { TokenBucket } from '../token-bucket.js';
import type { ReadingFrames } from './reading-frames.js';
import { NO_SEQS, type Resumer, type SentRecord } from './resume.js';
import { matches, type Subscriber, type Subscription } from './subscriptions.js';
import { BAD_MESSAGE_WINDOW_MS, MAX_BATCH_BYTES } from '../bounds.js';

export type { SendResult };

/** What the hub needs of a Connection (src/server/connection.ts); tests pass fakes. */
export interface HubConnection {
  readonly id: number;
  readonly protocol: string | undefined;
  sendFrame(frame: Buffer): SendResult;
  close(code?: number, reason?: string): void;
  // listeners are called with the connection as `this` (EventEmitter's rule): the hub's are shared
  on(event: 'message', listener: (this: HubConnection, data: Buffer, binary: boolean) => void): unknown;
  on(event: 'close', listener: (this: HubConnection, code: number, reason: string) => void): unknown;
  on(event: 'drain', listener: (this: HubConnection) => void): unknown;
}

/**
 * One flush pass's concatenation, reused by every session of the pass that queued exactly the
 * same frames (the common case: all subscribed to "*" with one encoding), so a pass over N
 * connections copies the window's frames once instead of N times.
 */
export interface PassBuffer {
  frames: readonly Buffer[];
  buf: Buffer | undefined;
}

/** The hub.* limits a session applies; a reload hands new ones to open sessions (applyLimits). */
export interface SessionLimits {
  commandRate: { perSecond: number; burst: number };
  badMessageLimit: number;
  stallTimeoutMs: number;
}

export interface SessionOptions {
  role: Role;
  /** what authenticated the connection (AuthContext.credential), re-checked on reload */
  credential: Buffer | undefined;
  encoding: Encoding;
}

export class Session implements CommandOwner, Flushable, Resumer, Subscriber {
  readonly role: Role;
  readonly credential: Buffer | undefined;
  readonly encoding: Encoding;
  subscription: Subscription = '*';
  open = true;
  /** what this connection was already sent (Resume's bookkeeping) */
  readonly sent: SentRecord = { helloSeq: 0, snapshot: NO_SEQS, periods: [] };

  /** frames waiting for the next flush, in order; none: no array (most of an idle dashboard's life) */
  private pending: Buffer[] | undefined;
  /** bytes of the readings in `pending` (deliver), for MAX_BATCH_BYTES */
  private pendingBytes = 0;
  /** congested: readings go to `latest` instead of the socket until 'drain' */
  private congested = false;
  private latest: Map<string, ReadingFrames> | undefined;
  private dropFrom = 0;
  private dropTo = 0;
  private dropped = 0;
  private stallTimer: NodeJS.Timeout | undefined;
  private limits!: SessionLimits;
  // Made on first use: most dashboards never send a command or a bad message, and these three
  // (with the counter's array) are ~0.5 KB of the ~3 KB a dashboard costs (README "Footprint").
  // A bucket made late starts full, as one made at connect would be by then.
  private inflightIds: Set<string> | undefined;
  private bucket: TokenBucket | undefined;
  private bad: WindowCounter | undefined;

  constructor(
    readonly conn: HubConnection,
    /** hub.* of the config, shared by all sessions */
    limits: SessionLimits,
    opts: SessionOptions,
    /** called when this session has frames to flush (the hub batches them) */
    private readonly dirty: (s: Session) => void,
  ) {
    this.role = opts.role;
    this.credential = opts.credential;
    this.encoding = opts.encoding;
    this.applyLimits(limits);
  }

  /** At start and on reload: the rate and bad-message counts start afresh under the new limits. */
  applyLimits(limits: SessionLimits): void {
    // the config's own object (read-only once loaded), not a copy per dashboard
    this.limits = limits;
    this.bucket = undefined;
    this.bad = undefined;
  }

  /** ids of this connection's commands awaiting their ack (CommandOwner) */
  get inflight(): Set<string> {
    return (this.inflightIds ??= new Set());
  }

  takeToken(): boolean {
    const { perSecond, burst } = this.limits.commandRate;
    return (this.bucket ??= new TokenBucket(perSecond, burst)).take();
  }

  /** counts one bad message; true when the connection should be closed (flood) */
  badMessage(): boolean {
    return (this.bad ??= new WindowCounter(this.limits.badMessageLimit, BAD_MESSAGE_WINDOW_MS)).hit();
  }

  /** A live reading: queued for the next coalesced write, or kept as the latest while congested. */
  deliver(r: ReadingFrames): void {
    if (!this.open) return;
    if (this.congested) {
      const latest = (this.latest ??= new Map());
      if (latest.has(r.device)) {
        // the reading it replaces is the one this client will never get
        this.dropped++;
        metrics.drops.inc();
      }
      if (this.dropFrom === 0) this.dropFrom = r.seq;
      this.dropTo = r.seq;
      latest.set(r.device, r);
      return;
    }
    const pending = (this.pending ??= []);
    const frame = r.frame(this.encoding);
    pending.push(frame);
    this.pendingBytes += frame.length;
    // A burst of large readings in one turn is written as it comes, in writes of about
    // MAX_BATCH_BYTES: one write of all of it could pass sendHardLimitBytes on a socket with a few
    // bytes still queued and close a dashboard that reads (1013), where the soft limit switches it
    // to the latest value per device.
    if (this.pendingBytes >= MAX_BATCH_BYTES) this.flush();
    // the hub's FlushScheduler writes it (at the end of this turn; held up to hub.coalesceMs under load if set)
    else if (pending.length === 1) this.dirty(this);
  }

  /** Queues a frame in order with the readings; the caller flushes (snapshot, replay: one write). */
  queue(frame: Buffer): void {
    if (this.open) (this.pending ??= []).push(frame);
  }

  /** A control message (hello, state, ack, gap, error): in order after what is queued, written now. */
  send(msg: ServerMessage): void {
    if (!this.open) return;
    (this.pending ??= []).push(frameMessage(msg, this.encoding));
    this.flush();
  }

  ack(msg: CommandAck): void {
    this.send(msg);
  }

  /** Writes everything queued as ONE frame buffer (one write, one syscall); `shared`: see PassBuffer. */
  flush(shared?: PassBuffer): void {
    const pending = this.pending;
    if (pending === undefined || !this.open) return;
    const n = pending.length;
    this.pending = undefined;
    this.pendingBytes = 0;
    const buf = n === 1 ? pending[0]! : shared ? concatShared(pending, shared) : Buffer.concat(pending);
    const result = this.conn.sendFrame(buf);
    if (result === 'closed') return;
    // sendFrame counted one message for the whole batch
    if (n > 1) sendTally.messages += n - 1;
    if (result === 'backpressure') this.congest();
  }

  /** Forgets everything queued: the connection is gone. */
  closed(): void {
    this.open = false;
    this.pending = undefined;
    this.pendingBytes = 0;
    this.latest = undefined;
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
  }

  /** Above the soft limit: stop sending intermediate readings; close 1013 if it lasts. */
  private congest(): void {
    if (this.congested) return;
    this.congested = true;
    this.stallTimer = setTimeout(() => {
      // the close frame waits behind the stuck queue (until limits.closeTimeoutMs): stop feeding it now
      this.conn.close(1013, 'slow consumer');
      this.closed();
    }, this.limits.stallTimeoutMs);
    this.stallTimer.unref();
  }

  /** 'drain': a gap for what was lost, then the latest value of each device, then live again. */
  drained(): void {
    if (!this.congested || !this.open) return;
    this.congested = false;
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
    const latest = this.latest;
    this.latest = undefined;
    if (this.dropped > 0) {
      metrics.gaps.inc();
      (this.pending ??= []).push(frameMessage({ type: 'gap', from: this.dropFrom, to: this.dropTo }, this.encoding));
    }
    this.dropFrom = this.dropTo = this.dropped = 0;
    if (latest) {
      const held = [...latest.values()].filter((r) => matches(this.subscription, r.device)).sort((a, b) => a.seq - b.seq);
      for (const r of held) this.queue(r.frame(this.encoding));
    }
    this.flush();
  }
}

/** `frames` concatenated: the pass's shared buffer when it holds the same frames, else a new one that becomes it. */
function concatShared(frames: Buffer[], shared: PassBuffer): Buffer {
  const prev = shared.frames;
  if (shared.buf !== undefined && prev.length === frames.length && frames.every((f, i) => f === prev[i])) return shared.buf;
  shared.frames = frames;
  return (shared.buf = Buffer.concat(frames));
}
