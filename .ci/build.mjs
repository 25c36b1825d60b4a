/**
 * `npm run build` / `npm start`: transpiles src/, firmware-mock/ and bench/ file by file into
 * dist/ (the layout tsc's rootDir "." gives: dist/src/cli.cjs is the bin) with esbuild, then builds
 * the dashboard (web/build.mjs). No type check here: esbuild only strips types, so a fresh
 * clone's `npm start` takes a second instead of a full tsc run. The type check and the client's
 * .d.ts come from tsc (`npm run typecheck`, part of `npm run build` and `npm test`);
 * tsconfig.json's isolatedModules makes tsc refuse what per-file transpiling would get wrong.
 *
 * The daemon's entry, dist/src/cli.cjs (the bin), is one minified CommonJS bundle of src/cli.ts and
 * its pure-JS packages (README "Footprint"): ~7 MB less RSS at rest than ~250 separately loaded
 * modules, because V8 keeps every module's source text and per-module records, and CommonJS
 * because an ES module entry costs the ESM loader's pages and state besides (1.5-3 MB at rest, and
 * start-up time). src/cli.ts gets no per-file output: one file runs the daemon. The other per-file
 * outputs stay for the benches and tests that import dist/src/... modules one by one.
 *
 * Nothing changed since the last build (same input files, same mtimes and sizes): nothing to do,
 * so a second `npm start` goes straight to the demo.
 *
 * `node .ci/build.mjs --analyze` then prints what the daemon's bundle is made of, per package (and
 * per src/ directory), largest first: where to look for the MB a gateway keeps at rest (README
 * "Footprint"). It writes nothing: the bundle is built again in memory with esbuild's metafile.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
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

/**
 * Packages that load a native addon from a path next to their own files (node-gyp-build,
 * optional requires) stay in node_modules, loaded by name at run time.
 */
const NATIVE = ['serialport', '@serialport/*', 'cbor-extract'];

/**
 * A CommonJS bundle has no `import.meta.url`: each src file's is rewritten to the URL its per-file
 * output has, relative to the bundle's own (dist/src/http/routes.js → dist/web/ keeps working).
 */
const perFileImportMetaUrl = {
  name: 'per-file-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, async (args) => {
      if (!SOURCES.some((d) => args.path.startsWith(path.join(root, d) + path.sep))) return undefined;
      const text = await readFile(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return undefined;
      const rel = path.relative(path.join(root, 'src'), args.path).replace(/\.ts$/, '.js').split(path.sep).join('/');
      return { contents: text.replaceAll('import.meta.url', `new URL(${JSON.stringify('./' + rel)}, __sgBundleUrl).href`), loader: 'ts' };
    });
  },
};

/**
 * A module the bundle replaces by `contents`: a package's code serialgate never runs, whose loading
 * costs RSS at every start. `importer`, when given, limits it to requires from that file.
 */
function stub(name, filter, contents, importer) {
  return {
    name,
    setup(b) {
      b.onResolve({ filter }, (args) => (importer === undefined || importer.test(args.importer) ? { path: name, namespace: name } : undefined));
      b.onLoad({ filter: /.*/, namespace: name }, () => ({ contents, loader: 'js' }));
    },
  };
}

/**
 * mqtt.js requires `socks` (and with it ip-address and smart-buffer, ~60 KB) when it loads, for
 * SOCKS proxies (its socksProxy option), which serialgate never sets: the stub says so if it were
 * ever reached. ws:// brokers stay: the config accepts them.
 */
const noSocks = stub(
  'no-socks',
  /^socks$/,
  "exports.SocksClient = class { constructor() { throw new Error('serialgate does not support SOCKS proxies'); } };",
);

/**
 * mqtt.js fills its transport table on the first connect() with every transport's module, so a
 * plain mqtt:// broker loads `node:tls`, `node:https` and the `ws` package too (~3 MB of RSS on
 * Node 24). In the bundle each entry requires its module when that transport is first used; the
 * table and the builders are mqtt.js's own.
 */
const lazyMqttTransports = {
  name: 'lazy-mqtt-transports',
  setup(b) {
    b.onLoad({ filter: /[\\/]mqtt[\\/]build[\\/]lib[\\/]connect[\\/]index\.js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      let n = 0;
      const lazy = text.replace(/= (require\('\.\/(?:ws|tls|tcp)'\)\.\w+);/g, (_, req) => (n++, `= (...a) => ${req}(...a);`));
      // ws, wss, mqtt, tcp, ssl, mqtts for Node, ws and wss for browsers: a changed mqtt.js fails the build, not a broker URL
      if (n !== 8) throw new Error(`lazy-mqtt-transports: ${args.path} has ${n} transport requires, not the 8 expected`);
      return { contents: lazy, loader: 'js' };
    });
  },
};

/**
 * prom-client's index requires its Pushgateway client, and with it `node:https` and `node:tls`
 * (~3 MB of RSS on Node 24), which serialgate never uses (/metrics is scraped).
 */
const noPushgateway = stub(
  'no-pushgateway',
  /^\.\/lib\/pushgateway$/,
  "module.exports = class Pushgateway { constructor() { throw new Error('serialgate does not push metrics: /metrics is scraped'); } };",
  /[\\/]prom-client[\\/]index\.js$/,
);

const DAEMON_ENTRY = path.join('src', 'cli.ts');
const DAEMON_BUNDLE = {
  entryPoints: [DAEMON_ENTRY],
  outfile: 'dist/src/cli.cjs',
  bundle: true,
  minify: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  external: NATIVE,
  // an external package loaded on demand (serialport, with the first port) goes through require():
  // a dynamic import() would start Node's ES module loader for it, which costs what the bundle
  // being CommonJS saves (1.5-3 MB at rest)
  supported: { 'dynamic-import': false },
  // strict as the ES modules it is built from were (the directive must come first)
  banner: { js: "'use strict'; const __sgBundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  plugins: [perFileImportMetaUrl, noSocks, noPushgateway, lazyMqttTransports],
  logLevel: 'warning',
};

const { all, digest } = await inputsDigest();
// the outputs are checked too: a dist/ emptied by hand but for the stamp is rebuilt
const outputsThere = ['src/cli.cjs', 'web/index.html'].every((f) => existsSync(path.join(root, 'dist', f)));
if (!outputsThere || (await readFile(STAMP, 'utf8').catch(() => '')) !== digest) {
  const { build } = await import('esbuild'); // not loaded at all when there is nothing to do
  await build({
    absWorkingDir: root,
    entryPoints: all.filter(
      (f) => SOURCES.some((d) => f.startsWith(d + path.sep)) && f.endsWith('.ts') && !f.endsWith('.d.ts') && f !== DAEMON_ENTRY,
    ),
    outdir: 'dist',
    outbase: '.',
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: true,
    logLevel: 'warning',
  });
  await build({ ...DAEMON_BUNDLE, absWorkingDir: root });
  // the bin was the ES module dist/src/cli.js before: a stale one must not be run by mistake
  await rm(path.join(root, 'dist/src/cli.js'), { force: true });
  await rm(path.join(root, 'dist/src/cli.js.map'), { force: true });
  await import('../web/build.mjs');
  await writeFile(STAMP, digest);
}

/** `node_modules/<pkg>/…` → `<pkg>` (scoped too), `src/<dir>/…` → `src/<dir>`, anything else as it is */
function owner(input) {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
  if (pkg) return pkg[1];
  const parts = input.split('/');
  return parts[0] === 'src' && parts.length > 2 ? `src/${parts[1]}` : input;
}

if (process.argv.includes('--analyze')) {
  const { build } = await import('esbuild');
  const { metafile } = await build({ ...DAEMON_BUNDLE, absWorkingDir: root, write: false, metafile: true });
  const bytes = new Map();
  let total = 0;
  for (const out of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(out.inputs)) {
      bytes.set(owner(input), (bytes.get(owner(input)) ?? 0) + bytesInOutput);
      total += bytesInOutput;
    }
  }
  console.log(`| part of ${DAEMON_BUNDLE.outfile} | KB | share |\n|---|---:|---:|`);
  for (const [name, n] of [...bytes].sort((a, b) => b[1] - a[1])) {
    console.log(`| ${name} | ${(n / 1024).toFixed(1)} | ${((n / total) * 100).toFixed(1)} % |`);
  }
  console.log(`| total | ${(total / 1024).toFixed(1)} | 100 % |`);
}
