import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * `npm run test:systemd` (root): the service under a real systemd. Not in `npm test`: it needs
 * root, systemd-nspawn and debootstrap, and one run takes about two minutes of wall time, most
 * of it the watchdog and the stop deadline waiting as they should. Files are `*.system.ts` so
 * that the default include glob (`test/**\/*.test.ts`) never picks them up.
 */
export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['test/system/**/*.system.ts'],
    // one booted system, checks in order: each leaves the service in the state the next expects
    fileParallelism: false,
    sequence: { concurrent: false },
    testTimeout: 120_000,
    // a first run builds the root file system (~1 min here, more on a slow mirror)
    hookTimeout: 900_000,
    pool: 'forks',
  },
});
