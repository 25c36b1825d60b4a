/**
 * The history as the daemon runs it: the in-memory store (store.ts) fed by the hub, its points
 * and closed buckets appended to segment files in the state directory every `flushMs`, loaded
 * back at start. Disk trouble is logged and counted, never thrown into the hub or the start.
 */
import type { HistoryConfig } from '../config/schema.js';
import type { StreamSnapshot } from '../domain.js';
import type { Logger } from '../log.js';
import type { Reading } from '../domain.js';
import { isBucketRecord, pointsOf, type PointRecord, type StreamMark } from './records.js';
import { SegmentLog, type WriteCounters } from './segment-log.js';
import { HistoryStore, pointBytes, pointsShare } from './store.js';
import { LogRateLimiter } from '../log-rate.js';
import { saveStream, takeStream } from './stream-file.js';
import { HistoryDirInUseError, lockDir } from './dir-lock.js';
import { makeDirs } from '../make-dirs.js';
import type { HistoryAnswer, HistoryQuery, HistoryReader, HistoryWriter } from '../domain.js';

/** The directory history.dir names, else systemd's StateDirectory=; undefined: memory only. */
export function stateDir(cfg: HistoryConfig, env: NodeJS.ProcessEnv = process.env): string | undefined {
  // systemd may pass several directories separated by ':'; the first is ours
  return cfg.dir || env.STATE_DIRECTORY?.split(':')[0] || undefined;
}

export class History implements HistoryReader, HistoryWriter {
  readonly store: HistoryStore;
  /** what the files got since start (bench and tests read it) */
  readonly written: WriteCounters = { bytes: 0, fsyncs: 0 };
  private readonly points: SegmentLog | undefined;
  private readonly buckets: SegmentLog | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** write trouble, once a minute per kind and cause: it repeats at every flush until fixed */
  private readonly writeLog = new LogRateLimiter(60_000);
  private flushing: Promise<void> = Promise.resolve();
  /** the stream a clean stop saved, taken at open */
  readonly restored: StreamSnapshot | undefined;
  /** the stream the hub numbers readings in (hello.epoch), from start(): what the points written are marked with */
  private epoch: string | undefined;

  /** gives the state directory back (dir-lock.ts) */
  private readonly release: () => void = () => {};

  /** the state directory in use; undefined: memory only (none configured, or it could not be made) */
  readonly dir: string | undefined;

  constructor(
    private readonly cfg: HistoryConfig,
    private readonly logger: Logger,
    dir: string | undefined,
    private readonly now: () => number = Date.now,
  ) {
    let usable = dir !== undefined && makeDir(dir, logger) ? dir : undefined;
    // before anything is read: another live gateway's files are not ours to restore or cut (throws)
    const release = usable === undefined ? undefined : lockOrMemoryOnly(usable, logger);
    if (release) this.release = release;
    else usable = undefined;
    this.dir = usable;
    this.store = new HistoryStore(cfg, now, usable !== undefined);
    if (usable === undefined) return;
    // points matter only for the raw window: their files are short-lived, buckets' live for the retention
    this.points = new SegmentLog(usable, 'points', cfg.rawWindowMs, this.written);
    this.buckets = new SegmentLog(usable, 'buckets', cfg.segmentMs, this.written);
    this.restored = this.takeStream(usable);
    this.load();
  }

  record(r: Reading): void {
    this.store.record(r);
  }

  query(q: HistoryQuery): HistoryAnswer {
    return this.store.query(q);
  }

  devices(): string[] {
    return this.store.devices();
  }

  /** Batches to disk every flushMs from now on; `epoch`: the stream the readings recorded count in. */
  start(epoch: string): void {
    this.epoch = epoch;
    if (!this.points || this.timer) return;
    this.timer = setInterval(() => void this.flush(), this.cfg.flushMs);
    this.timer.unref();
  }

  /** Appends what is pending: one append and one fsync per file touched. Serialized; never rejects. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.write());
    return this.flushing;
  }

  /**
   * A clean stop: the last batch, and the stream saved for the next start. Open buckets are not
   * written: their points are, and the next start folds them again (a bucket written now would
   * be closed for good, and readings of the same minute after the start would miss it on disk).
   */
  async stop(snapshot: StreamSnapshot | undefined): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    if (!this.dir) return;
    try {
      await this.save(this.dir, snapshot);
    } finally {
      this.release();
    }
  }

  private async save(dir: string, snapshot: StreamSnapshot | undefined): Promise<void> {
    await this.flush();
    if (!snapshot) return;
    try {
      saveStream(dir, snapshot);
      this.logger.info({ epoch: snapshot.epoch, seq: snapshot.seq, readings: snapshot.readings.length }, 'stream saved for the next start');
    } catch (err) {
      this.logger.error({ err, code: 'SG_ERR_HISTORY_WRITE' }, 'could not save the stream: the next start begins a new epoch');
    }
  }

  private async write(): Promise<void> {
    if (!this.points || !this.buckets) return;
    // a quiet device's open bucket closes with age too, so it is written before its points files go
    this.store.expire();
    const pendingBytes = this.store.pendingPointBytes;
    const { points, buckets } = this.store.drain();
    // each step on its own: a points file that cannot be appended (left root-owned by a manual
    // `sudo serialgate run`) must not cost the buckets, which hold every reading for days
    const before = await this.attempt('expire', {}, () => this.expireFiles());
    const room = this.pointsCap() - (before?.pointsBytes ?? 0);
    // the whole batch fits (the usual case): no walk over its fields
    const kept = pendingBytes <= room ? points : newestWithin(points, room);
    if (kept.length < points.length) {
      this.writeLog.log(
        this.logger,
        'warn',
        'points cap',
        { code: 'SG_ERR_HISTORY_WRITE', points: points.length - kept.length, capBytes: this.pointsCap() },
        'raw points not written: the points files hold their half of history.budgetBytes (the buckets have every reading)',
      );
    }
    // unmarked (before start()), the points count as of an unknown stream at the next start
    const epoch = this.epoch;
    const mark = epoch === undefined ? undefined : (n: number): StreamMark => ({ e: epoch, n });
    await this.attempt('points', { points: kept.length }, () =>
      this.points!.append(
        kept.map((p) => ({ ts: p.t, record: p })),
        mark,
      ),
    );
    await this.attempt('buckets', { buckets: buckets.length }, () => this.buckets!.append(buckets.map((b) => ({ ts: b.t, record: b }))));
    const after = await this.attempt('expire', {}, () => this.expireFiles());
    const dropped = [...(before?.dropped ?? []), ...(after?.dropped ?? [])];
    if (dropped.length > 0) this.logger.debug({ files: dropped }, 'history files expired');
  }

  /**
   * One step of a flush; a failure (a full or failing card, a file not ours) loses this step's
   * batch only, and the next flush tries again. Logged once a minute per step and cause, without
   * a stack: the same cause comes back at every flush until someone fixes it.
   */
  private async attempt<T>(step: string, batch: Record<string, number>, run: () => T | Promise<T>): Promise<T | undefined> {
    try {
      return await run();
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const msg = step === 'expire' ? 'history files not expired' : `history ${step} batch not written`;
      this.writeLog.log(
        this.logger,
        'error',
        `${step} ${e.code ?? e.message}`,
        { code: 'SG_ERR_HISTORY_WRITE', ...batch, cause: e.code, error: e.message },
        msg,
      );
      return undefined;
    }
  }

  /**
   * The points files may take their share of history.budgetBytes (pointsShare, half), the buckets
   * the rest. Without the split, a device flooding within its inputRate (256 KiB/s, 150 MB per raw
   * window) grew the current points file past the whole budget, the bucket files were then deleted
   * to make room, every device's stored days with them, and the next start read it all back into
   * memory at once.
   */
  private pointsCap(): number {
    return pointsShare(this.cfg.budgetBytes);
  }

  /**
   * Deletes the files past their windows, then the oldest beyond the budget (never the newest of a
   * kind); says which went and what the points files left hold.
   */
  private expireFiles(): { dropped: string[]; pointsBytes: number } {
    const now = this.now();
    // a points file goes once its points are older than any open bucket: an open bucket is rebuilt from them at start
    const points = this.points!.expire(now - this.cfg.rawWindowMs - this.cfg.bucketMs, this.pointsCap());
    const buckets = this.buckets!.expire(now - this.cfg.retentionMs, this.cfg.budgetBytes - points.bytes);
    return { dropped: [...points.dropped, ...buckets.dropped], pointsBytes: points.bytes };
  }

  private takeStream(dir: string): StreamSnapshot | undefined {
    try {
      const taken = takeStream(dir);
      if ('snapshot' in taken) {
        this.logger.info(
          { epoch: taken.snapshot.epoch, seq: taken.snapshot.seq },
          'stream restored: dashboards resume where the last clean stop left them',
        );
        return taken.snapshot;
      }
      if (taken.none === 'absent') this.logger.info('no saved stream (first start, or the last stop was not clean): a new epoch starts');
      if (taken.none === 'damaged')
        this.logger.warn({ code: 'SG_ERR_HISTORY_DAMAGED', error: taken.error }, 'saved stream damaged, dropped: a new epoch starts');
    } catch (err) {
      this.logger.warn({ err, code: 'SG_ERR_HISTORY_DAMAGED' }, 'saved stream unreadable, dropped: a new epoch starts');
    }
    return undefined;
  }

  private load(): void {
    try {
      const buckets = this.buckets!.load();
      const points = this.points!.load();
      const stored = buckets.files.flatMap((f) => f.records);
      const b = stored.filter(isBucketRecord);
      // seqs of the stream this run continues (a clean stop saved it) stay; any other stream's are meaningless now
      const read = points.files.map((f) => pointsOf(f.records, this.restored?.epoch));
      const p = read.flatMap((r) => r.points);
      this.store.restore(b, p);
      const damage = [...buckets.damage, ...points.damage];
      const badShape = stored.length - b.length + read.reduce((n, r) => n + r.bad, 0);
      if (damage.length > 0 || badShape > 0) {
        this.logger.warn(
          { code: 'SG_ERR_HISTORY_DAMAGED', files: damage, badRecords: badShape },
          `history files damaged: dropped ${damage.reduce((n, d) => n + d.droppedBytes, 0)} bytes and ${badShape} records, kept the rest`,
        );
      }
      this.logger.info({ dir: this.dir, points: p.length, buckets: b.length }, 'history loaded');
    } catch (err) {
      // an unreadable directory: start with an empty history rather than not at all
      this.logger.error({ err, code: 'SG_ERR_HISTORY_DAMAGED' }, 'history not loaded, starting empty');
    }
  }
}

/** A state directory that cannot be made (read-only, wrong owner) costs the persistence, not the start. */
function makeDir(dir: string, logger: Logger): boolean {
  try {
    makeDirs(dir);
    return true;
  } catch (err) {
    logger.error({ err, dir, code: 'SG_ERR_HISTORY_WRITE' }, 'history directory unusable: history kept in memory only');
    return false;
  }
}

/**
 * The directory's lock, or undefined when the lock cannot be written (a read-only directory or
 * mount, another owner): like a directory that cannot be made, that costs the persistence, not
 * the start (which failed with EACCES, reported as a port that needs privileges). Another live
 * gateway's lock still refuses the start (HistoryDirInUseError).
 */
function lockOrMemoryOnly(dir: string, logger: Logger): (() => void) | undefined {
  try {
    return lockDir(dir);
  } catch (err) {
    if (err instanceof HistoryDirInUseError) throw err;
    logger.error({ err, dir, code: 'SG_ERR_HISTORY_WRITE' }, 'history directory not writable: history kept in memory only');
    return undefined;
  }
}

/** The newest points whose estimated bytes (as the memory budget counts them) fit `room`, oldest first. */
function newestWithin(points: PointRecord[], room: number): PointRecord[] {
  let i = points.length;
  for (let used = 0; i > 0; i--) {
    used += pointBytes(points[i - 1]!.v);
    if (used > room) break;
  }
  return i === 0 ? points : points.slice(i);
}
