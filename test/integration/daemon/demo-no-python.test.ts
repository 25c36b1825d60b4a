/**
 * `npm start` on a machine without python3: the demo says what is missing and how to get it.
 * This machine has /usr/bin/python3, so the demo runs in its own user + mount namespace where
 * /usr/bin is an empty tmpfs and PATH holds only node: python3 is really gone for it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ensureBuilt } from './daemon-helpers.js';

beforeAll(ensureBuilt, 200_000);

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** /usr/bin hides node too (it may live there): bind it into a directory of its own first */
const WITHOUT_USR_BIN = `
set -e
touch "$DIR/node"
mount --bind "$NODE" "$DIR/node"
mount -t tmpfs tmpfs /usr/bin
PATH="$DIR" exec "$DIR/node" "$@"`;

function runWithoutPython(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'sg-nopython-'));
  dirs.push(dir);
  const script = path.join(dir, 'run.sh');
  writeFileSync(script, WITHOUT_USR_BIN);
  return spawnSync('unshare', ['--user', '--map-root-user', '--mount', '--fork', '/bin/sh', script, ...args], {
    env: { ...process.env, DIR: dir, NODE: process.execPath },
    encoding: 'utf8',
    timeout: 20_000,
  });
}

describe('the demo without python3', () => {
  it('the namespace really has no python3', () => {
    const r = runWithoutPython(['-e', `require('node:child_process').spawnSync('python3', ['-V']).error ? process.exit(3) : process.exit(0)`]);
    expect([r.status, r.stderr]).toEqual([3, '']);
  });

  it('exits 1 naming python3 and how to install it, not a bare spawn ENOENT', () => {
    const r = runWithoutPython([CLI, 'demo', '--port', '0', '--link', `/tmp/sg-nopython-${process.pid}`]);
    expect(r.stderr).toBe(
      "serialgate demo: could not start: the demo's mock device runs on python3 (standard library only), found neither at /usr/bin/python3 nor on PATH: install it (sudo apt-get install python3) and run npm start again\n",
    );
    expect(r.status).toBe(1);
  });
});
