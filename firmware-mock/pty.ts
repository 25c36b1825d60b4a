/**
 * The mock's end of a real pseudo-terminal, through pty-relay.py (Python's standard `pty`/`os`
 * modules: no native npm package, no socat needed). The gateway opens `link` with the real
 * serialport binding, exactly as it opens /dev/ttyUSB0. Closing the relay is an unplug: the PTY
 * goes away (the gateway's fd sees a hangup) and the link is removed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync } from 'node:fs';
import { readlink, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const RELAY = fileURLToPath(new URL('../../firmware-mock/pty-relay.py', import.meta.url));
const RELAY_SRC = fileURLToPath(new URL('./pty-relay.py', import.meta.url));
/** the system python (the one on PATH may be a pyenv shim); both Debian and Pi OS have it */
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const READY_TIMEOUT_MS = 5_000;

export interface Pty {
  /** the /dev/pts/N the link points to */
  readonly ptsPath: string;
  write(data: Buffer): Promise<void>;
  /** false: the device end stops reading (its firmware hung); resolves once the relay took it */
  setReading(on: boolean): Promise<void>;
  /** closes the PTY and removes the link (if it still points at this PTY) */
  close(): Promise<void>;
  readonly closed: boolean;
}

/** compiled (dist/firmware-mock/) or run from source (tsx, vitest): find the script either way */
function relayScript(): string {
  return existsSync(RELAY) ? RELAY : RELAY_SRC;
}

/**
 * The relay replaces whatever is at `link` (atomically, so a stale link from the last run is no
 * obstacle): `serialgate demo --link ~/notes.txt` (or, as root, /etc/passwd) replaced the file by
 * a link to the PTY and removed it at the stop. Only a symbolic link, or nothing, is replaced.
 */
function checkLink(link: string): void {
  let st;
  try {
    st = lstatSync(link);
  } catch {
    return; // nothing there: the usual case
  }
  if (!st.isSymbolicLink()) {
    throw new Error(
      `--link ${link} exists and is not a symbolic link: the mock would replace it (choose a path of its own, e.g. /tmp/serialgate-mock0)`,
    );
  }
}

export function openPty(link: string, onData: (chunk: Buffer) => void): Promise<Pty> {
  checkLink(link);
  const child = spawn(PYTHON, ['-u', relayScript(), link], { stdio: ['pipe', 'pipe', 'pipe'] });
  let closed = false;
  let ptsPath = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdin.on('error', () => {}); // EPIPE after the relay died: exit handling reports it
  child.stdout.on('data', onData);

  // after READY the relay only acknowledges setReading, one "READING 0|1" line each
  const acks: (() => void)[] = [];
  let notices = '';
  function onNotice(s: string): void {
    notices += s;
    for (let i = notices.indexOf('\n'); i >= 0; i = notices.indexOf('\n')) {
      if (/^READING [01]$/.test(notices.slice(0, i))) acks.shift()?.();
      notices = notices.slice(i + 1);
    }
  }

  const removeLink = async () => {
    try {
      if (ptsPath && (await readlink(link)) === ptsPath) await rm(link, { force: true });
    } catch {
      // already gone, or replaced by another PTY: not ours to remove
    }
  };

  return new Promise<Pty>((resolve, reject) => {
    let stderr = '';
    const timer = setTimeout(() => fail(new Error(`pty-relay did not start within ${READY_TIMEOUT_MS} ms: ${stderr}`)), READY_TIMEOUT_MS);
    const fail = (err: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(err);
    };
    child.once('error', fail);
    child.once('exit', (code) => {
      if (!ptsPath) fail(new Error(`pty-relay exited with ${code}: ${stderr.trim()}`));
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      if (ptsPath) return onNotice(s);
      stderr += s;
      const m = /^READY (\S+)\n/.exec(stderr);
      if (!m) return;
      clearTimeout(timer);
      ptsPath = m[1]!;
      child.once('exit', () => {
        closed = true;
        void removeLink();
      });
      resolve(pty(child));
    });
  });

  function pty(proc: ChildProcess): Pty {
    return {
      ptsPath,
      get closed() {
        return closed;
      },
      write(data) {
        if (closed) return Promise.reject(new Error('the mock is unplugged'));
        return new Promise<void>((resolve, reject) => proc.stdin!.write(data, (err) => (err ? reject(err) : resolve())));
      },
      setReading(on) {
        if (closed) return Promise.reject(new Error('the mock is unplugged'));
        return new Promise<void>((resolve, reject) => {
          const acked = () => {
            clearTimeout(timer);
            resolve();
          };
          const timer = setTimeout(() => {
            acks.splice(acks.indexOf(acked), 1);
            reject(new Error(`pty-relay did not acknowledge setReading(${on}) within ${READY_TIMEOUT_MS} ms`));
          }, READY_TIMEOUT_MS);
          acks.push(acked);
          proc.kill(on ? 'SIGUSR2' : 'SIGUSR1');
        });
      },
      async close() {
        if (!closed) proc.kill('SIGTERM');
        await exited;
        await removeLink();
      },
    };
  }
}
