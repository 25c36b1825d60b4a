/**
 * The daemon around a running gateway: signals, graceful stop with a hard deadline, reload on
 * SIGHUP, systemd notifications. `run` and `demo` share it.
 *
 *  SIGTERM / SIGINT  stop accepting, pending commands answered `shutting_down`, dashboards closed
 *                    with 1001 while the sources close (gateway.stop(), which drops peers that do
 *                    not answer within its grace period), exit 0 — or exit 1 with a log line when
 *                    that takes longer than the deadline (a stuck source). A second SIGINT exits at once.
 *  SIGHUP            read and validate the config first; on error keep the running one and log
 *                    every issue with path and line; else gateway.reload() (dashboards stay).
 */
import { ConfigError, formatIssue } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { Gateway } from '../gateway.js';
import type { Logger } from '../log.js';
import { keepMemoryReducerWorking } from './idle-gc.js';
import { releaseHeldSignals } from './early-signals.js';
import type { Notifier } from './sd-notify.js';

/** exit codes, documented in `serialgate --help` */
export const EXIT = { ok: 0, failure: 1, usage: 2, config: 78 } as const;

export interface LifecycleOptions {
  gateway: Gateway;
  logger: Logger;
  notifier: Notifier;
  /** reads and validates the config again (SIGHUP); absent: reload is not supported (demo) */
  loadConfig?: () => Promise<Config>;
  /** after a successful reload (the CLI updates the secrets its logger masks) */
  onReloaded?: (config: Config) => void;
  /** runs after gateway.stop() (the demo stops its mock here) */
  afterStop?: () => Promise<void>;
  /** stop must be done within this, else exit 1 */
  stopDeadlineMs: number;
}

/** Returns true when a stop has already begun (a signal came during the start): then announce nothing. */
export function superviseGateway(opts: LifecycleOptions): boolean {
  const { gateway, logger, notifier } = opts;
  // V8 gives idle memory back (README "Footprint"), on Node 24 too
  keepMemoryReducerWorking();
  let stopping = false;
  let reloading: Promise<void> | undefined;
  let reloadAgain = false;

  async function stop(signal: string): Promise<void> {
    if (stopping) {
      if (signal === 'SIGINT') {
        logger.warn({ signal }, 'second interrupt: exiting without waiting');
        process.exit(EXIT.failure);
      }
      return;
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      logger.error({ deadlineMs: opts.stopDeadlineMs }, 'shutdown did not finish in time, exiting anyway');
      process.exit(EXIT.failure);
    }, opts.stopDeadlineMs);
    try {
      await Promise.all([notifier.stopping(), gateway.stop().then(() => opts.afterStop?.())]);
      clearTimeout(deadline);
      logger.info('stopped');
      process.exit(EXIT.ok);
    } catch (err) {
      logger.error({ err }, 'error while stopping');
      process.exit(EXIT.failure);
    }
  }

  async function reloadOnce(load: () => Promise<Config>): Promise<void> {
    await notifier.reloading();
    try {
      const next = await load();
      await gateway.reload(next);
      logger.level = next.log.level;
      opts.onReloaded?.(next);
    } catch (err) {
      if (err instanceof ConfigError) {
        logger.error(
          { code: err.code, source: err.source, issues: err.issues.map(formatIssue) },
          `reload refused, still running the previous config: ${err.issues.map(formatIssue).join('; ')}`,
        );
      } else {
        logger.error({ err }, 'reload failed, still running the previous config');
      }
    } finally {
      await notifier.ready();
    }
  }

  function reload(): void {
    const load = opts.loadConfig;
    if (!load) return void logger.warn('SIGHUP ignored: this mode has no config file to reload');
    if (stopping) return;
    // a SIGHUP during a reload is not lost: one more reload runs after the current one
    if (reloading) {
      reloadAgain = true;
      return;
    }
    reloading = (async () => {
      do {
        reloadAgain = false;
        await reloadOnce(load);
      } while (reloadAgain && !stopping);
    })().finally(() => (reloading = undefined));
  }

  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGHUP', reload);
  // what came while the gateway started, in order: a stop is a stop now, a SIGHUP a reload
  for (const signal of releaseHeldSignals()) {
    if (signal === 'SIGHUP') reload();
    else void stop(signal);
  }
  return stopping;
}

/** Crashes are logged as one structured line before exiting 1 (systemd restarts on failure). */
export function exitOnCrash(logger: Logger): void {
  const die = (kind: string) => (err: unknown) => {
    logger.fatal({ err }, kind);
    process.exit(EXIT.failure);
  };
  process.on('uncaughtException', die('uncaught exception'));
  process.on('unhandledRejection', die('unhandled rejection'));
}
