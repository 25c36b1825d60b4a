/**
 * The memory settings the daemon runs with however it was started: by the systemd unit, by hand
 * (`serialgate run`, `node dist/src/cli.cjs run`), in a container.
 *
 * Three of them can only be given when a process starts (V8 sizes its heap and its compiler
 * threads when the isolate is made; glibc reads its tunables before main), and one of them is not
 * allowed in NODE_OPTIONS. So on a Node that has `process.execve` (22.15+ and 24, the
 * recommended LTS) the daemon replaces itself once, at start, before it opens anything, with a
 * process that has them: the same PID (systemd's MainPID, a test's child), the same arguments,
 * stdio and environment plus what was missing. Node 20 has no execve; there the unit's
 * Environment= lines give two of the three (README "Footprint").
 *
 * Each was measured with 1,000 idle dashboards on Node 24.21 (README "Footprint"):
 * - `--max-semi-space-size=2`: Node sizes the young generation from the machine's memory (up to
 *   2 × 64 MB); a gateway needs 2 × 2.
 * - `--no-concurrent-recompilation`: V8 optimises a hot function on a worker thread by default.
 *   The zones of those compile jobs are malloc'd while the main thread allocates connections
 *   between them, so glibc keeps ~10 MB of freed zones it cannot trim: 85 → 74 MB with 1,000
 *   dashboards. The compile runs on the main thread instead: a few ms each while the code warms
 *   up, then never again.
 * - `MALLOC_TRIM_THRESHOLD_=131072`: glibc otherwise raises its trim threshold to tens of MB after
 *   the first large free and keeps that much at the top of its heap: ~5 MB at rest.
 * An explicit choice wins: a launch that gives a semi-space size, either recompilation flag or a
 * trim threshold keeps it.
 */
import { MALLOC_TRIM_THRESHOLD_BYTES, SEMI_SPACE_MB } from '../bounds.js';

export interface MissingSettings {
  /** node flags to put before the script */
  flags: string[];
  /** environment variables to add */
  env: Record<string, string>;
}

/** What a process started with these flags and this environment lacks. */
export function missingMemorySettings(execArgv: readonly string[], env: NodeJS.ProcessEnv): MissingSettings {
  // V8 takes both spellings of a flag's name
  const given = [...execArgv, ...(env.NODE_OPTIONS ?? '').split(/\s+/)].map((a) => a.replaceAll('_', '-'));
  const has = (name: string) => given.some((a) => a === name || a.startsWith(name + '='));
  const flags: string[] = [];
  if (!has('--max-semi-space-size')) flags.push(`--max-semi-space-size=${SEMI_SPACE_MB}`);
  if (!has('--concurrent-recompilation') && !has('--no-concurrent-recompilation')) flags.push('--no-concurrent-recompilation');
  const missingEnv: Record<string, string> = {};
  if (env.MALLOC_TRIM_THRESHOLD_ === undefined) missingEnv.MALLOC_TRIM_THRESHOLD_ = String(MALLOC_TRIM_THRESHOLD_BYTES);
  return { flags, env: missingEnv };
}

type Execve = (file: string, args: string[], env: NodeJS.ProcessEnv) => never;

/**
 * Replaces this process with one that has the settings, if it lacks any and Node can. Returns
 * only when nothing is to be done or exec is not possible (Node 20; started by fork() with an IPC
 * channel; a permission model that forbids it): the daemon then runs as started.
 */
export function relaunchWithMemorySettings(): void {
  const execve = (process as { execve?: Execve }).execve;
  // a parent's IPC channel (child_process.fork) would not survive the exec: the parent would see a disconnect
  if (typeof execve !== 'function' || process.channel) return;
  const missing = missingMemorySettings(process.execArgv, process.env);
  if (missing.flags.length === 0 && Object.keys(missing.env).length === 0) return;
  try {
    // `--` before the script: Node takes an `--env-file` anywhere on its command line for its own
    // (a missing one exits 9 before serialgate runs), ours included
    execve.call(process, process.execPath, [process.execPath, ...missing.flags, ...process.execArgv, '--', ...process.argv.slice(1)], {
      ...process.env,
      ...missing.env,
    });
  } catch {
    // not allowed here: run as started, with more memory
  }
}
