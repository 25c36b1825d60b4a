/**
 * `npm run bench`: runs every benchmark in bench/ (compiled to dist/bench/) one after another,
 * each in its own process so that one's heap and sockets cannot colour the next one's figures.
 * `npm run bench -- parse broadcast` runs only the named ones.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const benches = readdirSync(here)
  .filter((f) => f.endsWith('.js') && f !== 'run.js' && !f.startsWith('_'))
  .map((f) => f.slice(0, -3))
  .filter((name) => wanted.length === 0 || wanted.includes(name))
  .sort();

let failed = 0;
for (const name of benches) {
  console.log(`\n## ${name}\n`);
  const r = spawnSync(process.execPath, ['--expose-gc', join(here, `${name}.js`)], { stdio: 'inherit', timeout: 15 * 60_000 });
  if (r.status !== 0) {
    failed++;
    console.log(`bench ${name} failed: ${r.error?.message ?? `exit ${r.status ?? r.signal}`}`);
  }
}
process.exit(failed ? 1 : 0);
