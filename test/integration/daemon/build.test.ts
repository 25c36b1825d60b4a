/**
 * .ci/build.mjs (npm start, npm run build) on a copy of the checkout, so that the dist/ the
 * other tests read is never rewritten under them: it builds what runs, and does nothing at all
 * when no input changed (what makes a second `npm start` start the demo at once).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from './daemon-helpers.js';

const copy = mkdtempSync(path.join(tmpdir(), 'sg-build-'));
afterAll(() => rmSync(copy, { recursive: true, force: true }));
for (const entry of ['src', 'firmware-mock', 'bench', 'web', '.ci', 'tsconfig.json', 'package.json', 'package-lock.json']) {
  cpSync(path.join(ROOT, entry), path.join(copy, entry), { recursive: true });
}
symlinkSync(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'));

const build = () => spawnSync(process.execPath, ['.ci/build.mjs'], { cwd: copy, encoding: 'utf8', timeout: 60_000 });
const out = (f: string) => path.join(copy, 'dist', f);

describe('.ci/build.mjs', () => {
  it('builds a runnable CLI, the mock and the dashboard from a clean tree', () => {
    expect(build()).toMatchObject({ status: 0, stderr: '' });
    for (const f of ['src/cli.cjs', 'src/client/index.js', 'firmware-mock/cli.js', 'bench/run.js', 'web/app.js', 'web/index.html'])
      expect(existsSync(out(f)), f).toBe(true);
    const pkg = JSON.parse(readFileSync(path.join(copy, 'package.json'), 'utf8')) as { version: string };
    const r = spawnSync(process.execPath, [out('src/cli.cjs'), '--version'], { encoding: 'utf8', timeout: 10_000 });
    expect([r.status, r.stdout]).toEqual([0, `${pkg.version}\n`]);
  });

  it('writes nothing when no input changed, rebuilds when one did or an output is gone', () => {
    const before = statSync(out('src/cli.cjs')).mtimeMs;
    const web = statSync(out('web/app.js')).mtimeMs;
    expect(build()).toMatchObject({ status: 0, stderr: '' });
    expect([statSync(out('src/cli.cjs')).mtimeMs, statSync(out('web/app.js')).mtimeMs]).toEqual([before, web]);

    const log = path.join(copy, 'src/log.ts');
    writeFileSync(log, readFileSync(log, 'utf8') + '\nexport const BUILT_FROM_THE_EDIT = 1;\n');
    expect(build()).toMatchObject({ status: 0, stderr: '' });
    expect(readFileSync(out('src/log.js'), 'utf8')).toContain('BUILT_FROM_THE_EDIT');

    // an output removed by hand, the inputs unchanged: built again
    rmSync(out('web/index.html'));
    expect(build()).toMatchObject({ status: 0, stderr: '' });
    expect(existsSync(out('web/index.html'))).toBe(true);
  });

  it('--analyze: what the daemon bundle is made of, per package, summing to the bundle, and writes nothing', () => {
    const before = statSync(out('src/cli.cjs')).mtimeMs;
    const r = spawnSync(process.execPath, ['.ci/build.mjs', '--analyze'], { cwd: copy, encoding: 'utf8', timeout: 60_000 });
    expect(r).toMatchObject({ status: 0, stderr: '' });
    const rows = new Map([...r.stdout.matchAll(/^\| (\S+) \| ([\d.]+) \|/gm)].map((m) => [m[1]!, Number(m[2])]));
    for (const part of ['zod', 'mqtt', 'src/hub', 'src/ws']) expect(rows.get(part), part).toBeGreaterThan(0);
    const parts = [...rows].filter(([name]) => name !== 'total').reduce((a, [, kb]) => a + kb, 0);
    expect(Math.abs(parts - rows.get('total')!)).toBeLessThan(1);
    // the metafile counts bytes of code; the file adds only the banner, the shebang and the source map comment
    expect(rows.get('total')! * 1024).toBeGreaterThan(statSync(out('src/cli.cjs')).size * 0.95);
    expect(statSync(out('src/cli.cjs')).mtimeMs).toBe(before);
  });
});
