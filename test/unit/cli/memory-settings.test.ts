import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MALLOC_TRIM_THRESHOLD_BYTES, SEMI_SPACE_MB } from '../../../src/bounds.js';
import { missingMemorySettings } from '../../../src/cli/memory-settings.js';

const ALL = { flags: ['--max-semi-space-size=2', '--no-concurrent-recompilation'], env: { MALLOC_TRIM_THRESHOLD_: '131072' } };

describe('missingMemorySettings', () => {
  it('a plain `node cli.cjs run` lacks all three', () => {
    expect(missingMemorySettings([], {})).toEqual(ALL);
  });

  it("the unit's Environment= lines give two; the recompilation flag is not allowed in NODE_OPTIONS, so it is missing", () => {
    expect(missingMemorySettings([], { NODE_OPTIONS: '--max-semi-space-size=2', MALLOC_TRIM_THRESHOLD_: '131072' })).toEqual({
      flags: ['--no-concurrent-recompilation'],
      env: {},
    });
  });

  it('an explicit choice wins, in either spelling, on the command line or in NODE_OPTIONS', () => {
    expect(missingMemorySettings(['--max_semi_space_size=8', '--concurrent-recompilation'], { MALLOC_TRIM_THRESHOLD_: '0' })).toEqual({
      flags: [],
      env: {},
    });
    expect(missingMemorySettings(['--no-concurrent-recompilation'], { NODE_OPTIONS: '--require x.cjs  --max-semi-space-size=16' })).toEqual({
      flags: [],
      env: ALL.env,
    });
  });

  it('other flags are not mistaken for them', () => {
    expect(missingMemorySettings(['--max-semi-space-size-x', '--concurrent-recompilation-delay=1'], { NODE_OPTIONS: '' })).toEqual(ALL);
  });

  it("gives the unit's values: the unit and the daemon hold the same settings", () => {
    const unit = readFileSync(new URL('../../../systemd/serialgate.service', import.meta.url), 'utf8');
    expect(unit).toMatch(new RegExp(`^Environment=NODE_OPTIONS=--max-semi-space-size=${SEMI_SPACE_MB}$`, 'm'));
    expect(unit).toMatch(new RegExp(`^Environment=MALLOC_TRIM_THRESHOLD_=${MALLOC_TRIM_THRESHOLD_BYTES}$`, 'm'));
    expect(ALL.flags[0]).toBe(`--max-semi-space-size=${SEMI_SPACE_MB}`);
  });
});
