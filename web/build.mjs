/**
 * Builds the dashboard into dist/web: index.html, app.js (the page + client + uPlot + cbor-x,
 * minified) and app.css (ours + uPlot's). No inline script or style anywhere, so the gateway's
 * CSP (script-src 'self'; style-src 'self') holds; nothing loaded from a CDN.
 *
 * Run by .ci/build.mjs (`npm run build`, `npm start`), or alone as `node web/build.mjs`. esbuild
 * only strips types: web/tsconfig.json is type-checked by `npm run build` and `npm test`.
 */
import { copyFile, mkdir, readFile, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = `${root}dist/web`;

/**
 * cbor-x probes `new Function('')` at load to decide whether to compile record readers; under
 * our CSP (no 'unsafe-eval') that probe is a reported violation. Upstream's own no-eval build
 * renames the constructor so the probe fails quietly: do the same to the ES module source.
 */
const cborNoEval = {
  name: 'cbor-x-no-eval',
  setup(b) {
    b.onLoad({ filter: /[\\/]cbor-x[\\/]decode\.js$/ }, async (args) => ({
      contents: (await readFile(args.path, 'utf8')).replaceAll('new Function(', 'new BlockedFunction('),
      loader: 'js',
    }));
  },
};

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
const common = { bundle: true, minify: true, legalComments: 'none', logLevel: 'warning', absWorkingDir: root };
await build({
  ...common,
  entryPoints: ['web/app.ts'],
  outfile: 'dist/web/app.js',
  format: 'esm',
  target: 'es2020',
  // the browser entry of cbor-x, not its Node one (which loads cbor-extract natively)
  platform: 'browser',
  plugins: [cborNoEval],
});
await build({ ...common, entryPoints: ['web/app.css'], outfile: 'dist/web/app.css' });
await copyFile(`${root}web/index.html`, `${out}/index.html`);
