/**
 * `npm run build` / `npm start`: transpiles src/, firmware-mock/ and bench/ file by file into
 * dist/ (the layout tsc's rootDir "." gives: dist/src/cli.js is the bin) with esbuild, then builds
 * the dashboard (web/build.mjs). No type check here: esbuild only strips types, so a fresh
 * clone's `npm start` takes a second instead of a full tsc run. The type check and the client's
 * .d.ts come from tsc (`npm run typecheck`, part of `npm run build` and `npm test`);
 * tsconfig.json's isolatedModules makes tsc refuse what per-file transpiling would get wrong.
 *
 * Nothing changed since the last build (same input files, same mtimes and sizes): nothing to do,
 * so a second `npm start` goes straight to the demo.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const SOURCES = ['src', 'firmware-mock', 'bench'];
/** what else decides the output: the dashboard, the build scripts, the installed packages */
const INPUTS = [...SOURCES, 'web', '.ci', 'tsconfig.json', 'package-lock.json'];
const STAMP = path.join(root, 'dist', '.build-inputs');

async function files(entry) {
  const full = path.join(root, entry);
  if (!(await stat(full)).isDirectory()) return [entry];
  const entries = await readdir(full, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(root, path.join(e.parentPath, e.name)));
}

async function inputsDigest() {
  const all = (await Promise.all(INPUTS.map(files))).flat().sort();
  const hash = createHash('sha256');
  for (const f of all) {
    const s = await stat(path.join(root, f));
    hash.update(`${f}\0${s.size}\0${s.mtimeMs}\n`);
  }
  return { all, digest: hash.digest('hex') };
}

const { all, digest } = await inputsDigest();
// the outputs are checked too: a dist/ emptied by hand but for the stamp is rebuilt
const outputsThere = ['src/cli.js', 'web/index.html'].every((f) => existsSync(path.join(root, 'dist', f)));
if (!outputsThere || (await readFile(STAMP, 'utf8').catch(() => '')) !== digest) {
  const { build } = await import('esbuild'); // not loaded at all when there is nothing to do
  await build({
    absWorkingDir: root,
    entryPoints: all.filter((f) => SOURCES.some((d) => f.startsWith(d + path.sep)) && f.endsWith('.ts') && !f.endsWith('.d.ts')),
    outdir: 'dist',
    outbase: '.',
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: true,
    logLevel: 'warning',
  });
  await import('../web/build.mjs');
  await writeFile(STAMP, digest);
}
