/**
 * One gateway per state directory. Two processes writing one history (a second `npm start` on
 * another port, a manual `sudo serialgate run` beside the service) interleave their points and
 * buckets and overwrite each other's saved stream: the next start restores another run's stream
 * over mixed data. `lock` holds the pid of the process using the directory; it is stale when that
 * process is gone, or was written before this boot (a power cut; pids are reused after a reboot).
 */
import { closeSync, constants, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';

const FILE = 'lock';

export class HistoryDirInUseError extends Error {
  readonly code = 'SG_ERR_HISTORY_LOCKED';
  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super(`${dir} holds the history of another serialgate (pid ${pid}): stop it, or give this one another history directory`);
    this.name = 'HistoryDirInUseError';
  }
}

/** The pid of another live process using `dir`, if one does. */
export function dirHolder(dir: string): number | undefined {
  const file = path.join(dir, FILE);
  let pid: number;
  let written: number;
  try {
    pid = Number(readFileSync(file, 'utf8').trim());
    written = statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || written < bootTime()) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    // EPERM: alive, another user's
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? pid : undefined;
  }
}

/** Takes `dir` for this process; throws HistoryDirInUseError when another live one holds it. Returns the release. */
export function lockDir(dir: string): () => void {
  const holder = dirHolder(dir);
  if (holder !== undefined) throw new HistoryDirInUseError(dir, holder);
  const file = path.join(dir, FILE);
  // a stale lock (or none): ours now; O_NOFOLLOW, never through a link
  const fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o644);
  try {
    writeSync(fd, `${process.pid}\n`);
  } finally {
    closeSync(fd);
  }
  return () => {
    try {
      if (Number(readFileSync(file, 'utf8').trim()) === process.pid) unlinkSync(file);
    } catch {
      // gone already: nothing to release
    }
  };
}

/** When this boot began (ms since the epoch), from /proc/stat; 0 where that cannot be read. */
function bootTime(): number {
  try {
    const m = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'));
    return m ? Number(m[1]) * 1000 : 0;
  } catch {
    return 0;
  }
}
