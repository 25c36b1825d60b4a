/**
 * systemd notifications (Type=notify): READY=1 once listening, STOPPING=1 on shutdown, RELOADING=1
 * around a reload and WATCHDOG=1 every WATCHDOG_USEC/2.
 *
 * Node cannot open AF_UNIX datagram sockets, which NOTIFY_SOCKET is. The choices were a native npm
 * module (unix-dgram, sd-notify: a compiler and libsystemd-dev on every Pi, a rebuild per Node
 * major) or systemd's own `systemd-notify`, present wherever systemd is. We spawn systemd-notify:
 * the unit says NotifyAccess=all because the sender is our child, not the main PID. Since systemd
 * 246 systemd-notify waits on a BARRIER=1 until the manager has processed the message, so the old
 * race (sender gone before systemd attributes the message to the unit) does not apply (Debian 12
 * ships 252). The watchdog tick is a timer on our event loop: a blocked loop sends nothing and
 * systemd restarts the service, which is the point.
 */
import { spawn } from 'node:child_process';
import type { Logger } from '../log.js';
import { MAX_TIMER_MS, NOTIFY_MAX_IN_FLIGHT, NOTIFY_TIMEOUT_MS } from '../bounds.js';

export interface Notifier {
  /** true when NOTIFY_SOCKET is set (running under systemd Type=notify, or a test) */
  readonly enabled: boolean;
  /** ms between WATCHDOG=1 messages, or undefined when systemd has no watchdog for us */
  readonly watchdogIntervalMs: number | undefined;
  ready(status?: string): Promise<void>;
  reloading(): Promise<void>;
  /** also stops the watchdog timer */
  stopping(): Promise<void>;
}

export interface NotifierOptions {
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  /** the notify command; tests may point this elsewhere */
  command?: string;
  pid?: number;
}

/** WATCHDOG_USEC/2 in ms when the watchdog is meant for this process (WATCHDOG_PID, if set, is us). */
export function watchdogInterval(env: NodeJS.ProcessEnv, pid: number): number | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (!env.WATCHDOG_USEC || !Number.isFinite(usec) || usec <= 0) return undefined;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return undefined;
  // a longer timer would fire every 1 ms (Node's timers hold a signed 32-bit ms count)
  return Math.min(MAX_TIMER_MS, Math.max(1, Math.floor(usec / 2000)));
}

export function createNotifier(opts: NotifierOptions): Notifier {
  const env = opts.env ?? process.env;
  const log = opts.logger.child({ component: 'sd-notify' });
  const enabled = !!env.NOTIFY_SOCKET;
  const command = opts.command ?? 'systemd-notify';
  const intervalMs = enabled ? watchdogInterval(env, opts.pid ?? process.pid) : undefined;
  let inFlight = 0;
  let failed = false;
  let timer: NodeJS.Timeout | undefined;

  function send(...fields: string[]): Promise<void> {
    if (!enabled || inFlight >= NOTIFY_MAX_IN_FLIGHT) return Promise.resolve();
    inFlight++;
    return new Promise<void>((resolve) => {
      const child = spawn(command, fields, { stdio: ['ignore', 'ignore', 'pipe'], env, timeout: NOTIFY_TIMEOUT_MS });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-500)));
      const done = (problem?: string): void => {
        inFlight--;
        // one line, not one per watchdog tick: without systemd-notify the service cannot be supervised
        if (problem && !failed) log.error({ command, fields }, `sd_notify failed: ${problem}`);
        failed ||= !!problem;
        resolve();
      };
      child.on('error', (err) => done(err.message));
      child.on('close', (code) => done(code === 0 ? undefined : `exit ${code}: ${stderr.trim()}`));
    });
  }

  // fed from the moment we are ready; before that TimeoutStartSec is what guards the start
  function startWatchdog(): void {
    if (intervalMs === undefined || timer) return;
    timer = setInterval(() => void send('WATCHDOG=1'), intervalMs);
    timer.unref();
    log.debug({ intervalMs }, 'watchdog enabled');
  }

  return {
    enabled,
    watchdogIntervalMs: intervalMs,
    ready: async (status) => {
      await (status ? send('READY=1', `STATUS=${status}`) : send('READY=1'));
      startWatchdog();
    },
    reloading: () => send('RELOADING=1'),
    stopping: () => {
      clearInterval(timer);
      return send('STOPPING=1');
    },
  };
}
