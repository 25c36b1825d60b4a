import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  test: {
    include: ['test/**/*.test.ts'],
    // Integration tests start real processes (PTYs, Mosquitto, Chromium) on a 2-core machine.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Most of a test's time here is spent waiting on real processes (PTYs, Mosquitto, Chromium,
    // gateways starting and stopping), not computing: one worker per core overlaps those waits.
    // vitest's default (cores − 1) ran one at a time on 2 cores: 266 s against 136 s. Twice the
    // cores (101 s) starved a timing test's mock process of CPU once in five full runs.
    maxWorkers: availableParallelism(),
    // Node 22+ sizes the young generation from the machine's memory (semi-spaces up to 64 MB on
    // this 24 GiB machine), Node 20 caps them at 16 MB: hold both to 16 MB so that a test bounding
    // RSS growth means the same retention on both, not garbage V8 has not needed to collect yet.
    execArgv: ['--max-semi-space-size=16'],
    reporters: ['default', './test/summary-reporter.ts'],
    // On with --coverage (npm test): the thresholds hold for the whole suite, not for one file.
    // V8 sees the test processes only: src/ code that runs in a spawned `node dist/src/cli.cjs`
    // (the daemon tests) is not counted.
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      reporter: ['text-summary', ['json-summary', { file: 'coverage-summary.json' }]],
      reportsDirectory: 'test-results/coverage',
      thresholds: {
        lines: 90,
        // the sans-I/O protocol core: every branch is a wire behaviour
        'src/ws/**': { branches: 100 },
      },
    },
  },
});
