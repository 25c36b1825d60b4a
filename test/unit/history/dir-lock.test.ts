import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dirHolder, HistoryDirInUseError, lockDir } from '../../../src/history/dir-lock.js';

const dirs: string[] = [];
const kids: { kill(): void }[] = [];
afterEach(() => {
  for (const k of kids.splice(0)) k.kill();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tmp = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'sg-dir-lock-'));
  dirs.push(d);
  return d;
};

describe('the state directory lock', () => {
  it('is taken with this pid and given back; taken again by the same process (a restart in one process)', () => {
    const dir = tmp();
    const release = lockDir(dir);
    expect(readFileSync(path.join(dir, 'lock'), 'utf8')).toBe(`${process.pid}\n`);
    expect(dirHolder(dir)).toBeUndefined();
    lockDir(dir)();
    release();
    expect(existsSync(path.join(dir, 'lock'))).toBe(false);
  });

  it('another live process holding it: refused, naming the pid; its lock is left alone', () => {
    const dir = tmp();
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    kids.push(other);
    writeFileSync(path.join(dir, 'lock'), `${other.pid}\n`);
    expect(dirHolder(dir)).toBe(other.pid);
    expect(() => lockDir(dir)).toThrow(HistoryDirInUseError);
    expect(() => lockDir(dir)).toThrow(`holds the history of another serialgate (pid ${other.pid})`);
    expect(readFileSync(path.join(dir, 'lock'), 'utf8')).toBe(`${other.pid}\n`);
  });

  it('a lock of a process that is gone, from before this boot, or unreadable is taken over', () => {
    const dir = tmp();
    const gone = spawnSync(process.execPath, ['-e', 'process.pid'], { stdio: 'ignore' }).pid!;
    writeFileSync(path.join(dir, 'lock'), `${gone}\n`);
    expect(dirHolder(dir)).toBeUndefined();
    // a live pid, but the file is older than this boot: a power cut, and pids are reused
    writeFileSync(path.join(dir, 'lock'), '1\n');
    utimesSync(path.join(dir, 'lock'), 0, 0);
    expect(dirHolder(dir)).toBeUndefined();
    writeFileSync(path.join(dir, 'lock'), 'garbage');
    expect(dirHolder(dir)).toBeUndefined();
    const release = lockDir(dir);
    expect(readFileSync(path.join(dir, 'lock'), 'utf8')).toBe(`${process.pid}\n`);
    release();
  });
});
