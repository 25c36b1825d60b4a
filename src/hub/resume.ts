/**
 * Resume (README "Resume and gaps"): the stream (its epoch and seq), the ring of readings with
 * their frames, and what each connection was already sent, so that `subscribe {since, epoch}`
 * replays every missed reading exactly once, within the replay budget.
 *
 * A replay costs no encode the live fan-out (or another replay) already did: the ring holds
 * ReadingFrames, and the reset and gap frames are shared too, so N dashboards resuming at once
 * queue the same Buffers and their flush pass can share one concatenation (PassBuffer).
 */
import { metrics } from '../metrics.js';
import type { Encoding, ReadingMessage } from '../protocol/messages.js';
import { frameMessage } from './frame.js';
import { valuesBytes, type Reading, type ReadingInput } from '../domain.js';
import type { SubscribeRequest } from '../protocol/client-messages.js';
import { newEpoch, type StreamSnapshot, type StreamStart } from './epoch.js';
import { ReadingFrames } from './reading-frames.js';
import { ResumeRing } from './ring.js';
import { matches, type Subscription } from './subscriptions.js';
import { MAX_PERIODS, MAX_RESUME_BYTES } from '../bounds.js';

/** What one connection was already sent (kept by its Session, read and written only here). */
export interface SentRecord {
  /** hello.seq: later readings were sent live */
  helloSeq: number;
  /** seqs sent in the snapshot on connect (NO_SEQS until then, and when there was none) */
  snapshot: ReadonlySet<number>;
  /** live readings with seq > after were sent when they matched sub (the latest period that began before a seq applies) */
  periods: { after: number; sub: Subscription }[];
}

/** One shared empty set: a dashboard that got no snapshot (no device has a value yet) keeps no Set of its own. */
export const NO_SEQS: ReadonlySet<number> = new Set();

/** The part of a Session a replay needs. */
export interface Resumer {
  readonly encoding: Encoding;
  readonly sent: SentRecord;
  queue(frame: Buffer): void;
}

export class Resume {
  /** the stream `seq` counts in (hello.epoch) */
  readonly epoch: string;
  private seq: number;
  private readonly ring: ResumeRing<ReadingFrames>;
  private readonly resets: Partial<Record<Encoding, Buffer>> = {};
  /** the last gap frame per encoding: resumes after a restart all ask for the same one */
  private readonly gaps: Partial<Record<Encoding, { from: number; to: number; frame: Buffer }>> = {};

  constructor(capacity: number, stream: StreamStart | StreamSnapshot | undefined) {
    this.epoch = stream?.epoch ?? newEpoch();
    this.seq = stream?.seq ?? 0;
    this.ring = restoreRing(capacity, this.seq, stream);
  }

  /** the newest seq (0, or the restored one, before the first reading) */
  get newest(): number {
    return this.seq;
  }

  stream(): StreamStart {
    return { epoch: this.epoch, seq: this.seq };
  }

  /** The readings the ring holds, oldest first: what a clean stop saves (History). */
  held(): Reading[] {
    return this.ring.since(this.ring.oldest - 1).readings.map((r) => r.msg);
  }

  /** The next reading of the stream: numbered, kept for replay, ready to be framed once per encoding. */
  append(input: ReadingInput): ReadingFrames {
    const msg = readingMessage({ ...input, seq: ++this.seq });
    const r = new ReadingFrames(msg);
    this.ring.push(r, readingBytes(msg));
    return r;
  }

  /** A connection starts at the newest seq, subscribed to everything; `snapshot`: the seqs it gets with hello. */
  started(s: Resumer, snapshot: readonly ReadingFrames[]): void {
    s.sent.helloSeq = this.seq;
    // a literal, not a push: an array grown by push keeps room for 16 more (60 B of each dashboard)
    s.sent.periods = [{ after: this.seq, sub: '*' }];
    if (snapshot.length > 0) s.sent.snapshot = new Set(snapshot.map((r) => r.seq));
  }

  /**
   * Queues on `s` what it missed after `msg.since` for the subscription it asks for: a `reset`
   * when the since counts in another stream, a `gap` for what the ring (or the budget) does not
   * cover, then the readings it was not already sent. A since continues this stream only when it
   * names this epoch and does not lie beyond its newest seq (Centrifugo's rule); any other since
   * counts as 0, so a restarted count is never taken for a continuation of the old one.
   * `budgetBytes`: a bigger replay would get the connection closed with 1013 (and the client would
   * reconnect and ask again), so the newest part is sent and the rest is a gap.
   */
  replay(s: Resumer, msg: SubscribeRequest & { since: number }, budgetBytes: number): void {
    const continues = msg.epoch === this.epoch && msg.since <= this.seq;
    if (!continues) s.queue((this.resets[s.encoding] ??= frameMessage({ type: 'reset', epoch: this.epoch }, s.encoding)));
    const since = continues ? msg.since : 0;
    const replay = this.ring.since(since);
    const frames: Buffer[] = [];
    const seqs: number[] = [];
    for (const r of replay.readings) {
      if (!matches(msg.devices, r.device) || wasSent(s.sent, r.seq, r.device)) continue;
      frames.push(r.frame(s.encoding));
      seqs.push(r.seq);
    }
    let first = frames.length;
    for (let budget = budgetBytes; first > 0 && budget >= frames[first - 1]!.length; first--) budget -= frames[first - 1]!.length;
    let gap = replay.gap;
    if (first > 0) gap = { from: gap?.from ?? since + 1, to: seqs[first - 1]! };
    if (gap) {
      metrics.gaps.inc();
      s.queue(this.gapFrame(gap, s.encoding));
    }
    for (let i = first; i < frames.length; i++) s.queue(frames[i]!);
  }

  /** The subscription changed to `sub` at the newest seq. */
  subscribed(s: Resumer, sub: Subscription): void {
    const periods = s.sent.periods;
    periods.push({ after: this.seq, sub });
    // a period wholly older than the ring cannot matter to a replay any more
    while (periods.length > MAX_PERIODS || (periods.length > 1 && periods[1]!.after < this.ring.oldest)) periods.shift();
  }

  private gapFrame(gap: { from: number; to: number }, encoding: Encoding): Buffer {
    const cached = this.gaps[encoding];
    if (cached && cached.from === gap.from && cached.to === gap.to) return cached.frame;
    const frame = frameMessage({ type: 'gap', ...gap }, encoding);
    this.gaps[encoding] = { ...gap, frame };
    return frame;
  }
}

/** Was reading `seq` of `device` already sent on this connection (snapshot or live)? */
function wasSent(sent: SentRecord, seq: number, device: string): boolean {
  const { helloSeq, snapshot, periods } = sent;
  if (seq <= helloSeq) return snapshot.has(seq);
  for (let i = periods.length - 1; i >= 0; i--) {
    const e = periods[i]!;
    if (seq > e.after) return matches(e.sub, device);
  }
  return false;
}

/**
 * Rough bytes a reading weighs in the ring, for MAX_RESUME_BYTES: its fields (keys, strings) and
 * the encodings it may come to hold beside them (the JSON text, its frame, the CBOR frame), each
 * about as large. Only the order of magnitude matters: a reading of a few numbers is ~1 KB, one
 * carrying a 60 KB MQTT payload ~240 KB.
 */
export function readingBytes(r: Reading): number {
  return 4 * (64 + r.device.length + (r.raw?.length ?? 0) + (r.error?.length ?? 0) + (r.values ? valuesBytes(r.values) : 0));
}

export function readingMessage(r: Reading): ReadingMessage {
  const msg: ReadingMessage = { type: 'reading', seq: r.seq, device: r.device, ts: r.ts };
  if (r.values !== undefined) msg.values = r.values;
  if (r.raw !== undefined) msg.raw = r.raw;
  if (r.error !== undefined) msg.error = r.error;
  return msg;
}

/**
 * The resume buffer of a restored stream: its saved readings when they count up to `seq` without
 * a hole (else none, and a resuming client is told the honest gap).
 */
function restoreRing(capacity: number, seq: number, stream: StreamStart | StreamSnapshot | undefined): ResumeRing<ReadingFrames> {
  const saved = stream && 'readings' in stream ? stream.readings.slice(-capacity) : [];
  const contiguous = saved.length > 0 && saved.every((r, i) => r.seq === seq - saved.length + 1 + i);
  if (!contiguous) return new ResumeRing(capacity, seq, MAX_RESUME_BYTES);
  const ring = new ResumeRing<ReadingFrames>(capacity, saved[0]!.seq - 1, MAX_RESUME_BYTES);
  for (const r of saved) ring.push(new ReadingFrames(readingMessage(r)), readingBytes(r));
  return ring;
}
