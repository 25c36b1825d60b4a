/**
 * `npm run build` / `npm start`: transpiles src/, firmware-mock/ and bench/ file by file into
 * dist/ (the layout tsc's rootDir "." gives: dist/src/cli.js is the bin) with esbuild, then builds
 * the dashboard (web/build.mjs). No type check here: esbuild only strips types, so a fresh
 * clone's `npm start` takes a second instead of a full tsc run. The type check and the client's
 * .d.ts come from tsc (`npm run typecheck`, part of `npm run build` and `npm test`);
 * tsconfig.json's isolatedModules makes tsc refuse what per-file transpiling would get wrong.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const SOURCES = ['src', 'firmware-mock', 'bench'];

async function tsFiles(dir) {
  const entries = await readdir(path.join(root, dir), { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)));
}

await build({
  absWorkingDir: root,
  entryPoints: (await Promise.all(SOURCES.map(tsFiles))).flat(),
  outdir: 'dist',
  outbase: '.',
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
});
await import('../web/build.mjs');
