/**
 * What package.json promises after `npm run build` (esbuild for the JS, tsc for the .d.ts): the
 * `serialgate` bin and the `serialgate/client` export, its types included, resolved the way a
 * consumer resolves them (by package name, through "exports").
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ROOT, ensureBuilt } from './daemon-helpers.js';

beforeAll(ensureBuilt, 200_000);

// inside the package, so that the name resolves to this checkout (a package may import itself)
mkdirSync(path.join(ROOT, 'test-results'), { recursive: true });
const dir = mkdtempSync(path.join(ROOT, 'test-results', 'sg-package-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('package.json bin and exports', () => {
  it('the bin is dist/src/cli.cjs and runs under node as a script', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string>; version: string };
    expect(path.join(ROOT, pkg.bin.serialgate!)).toBe(CLI);
    expect(readFileSync(CLI, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env -S node --'); // '--': see the README's --env-file note
    const r = spawnSync(process.execPath, [CLI, '--version'], { encoding: 'utf8', timeout: 10_000 });
    expect([r.status, r.stdout]).toEqual([0, `${pkg.version}\n`]);
  });

  it('serialgate/client loads by name and exports connect', () => {
    const r = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', `const m = await import('serialgate/client'); console.log(typeof m.connect, typeof m.ClientError)`],
      {
        cwd: dir,
        encoding: 'utf8',
        timeout: 10_000,
      },
    );
    expect([r.stderr, r.stdout]).toEqual(['', 'function function\n']);
  });

  it('serialgate/client has types: a wrong use is a type error, a right one is not', () => {
    // .mts: an ES module without a package.json of its own, which would end the self-reference
    writeFileSync(
      path.join(dir, 'use.mts'),
      `import { connect, type ConnectOptions } from 'serialgate/client';\nexport const c: typeof connect = connect;\nexport const bad: ConnectOptions = 42;\n`,
    );
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const r = spawnSync(
      process.execPath,
      [
        tsc,
        '--noEmit',
        '--strict',
        '--module',
        'nodenext',
        '--moduleResolution',
        'nodenext',
        '--skipLibCheck',
        '--types',
        'node',
        path.join(dir, 'use.mts'),
      ],
      {
        cwd: dir,
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    // exactly one error, on the line that deserves it: the module and its types were found
    expect(r.stdout.trim().split('\n')).toEqual([
      expect.stringMatching(/use\.mts\(3,14\): error TS2559: Type '42' has no properties in common with type 'ConnectOptions'/),
    ]);
  });
});
