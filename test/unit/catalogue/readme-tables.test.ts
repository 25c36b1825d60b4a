import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TABLES, readmeTable, renderTables } from '../../../.ci/readme-tables.js';

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

describe('README tables generated from code', () => {
  it.each(Object.keys(TABLES))('%s matches the code (npx tsx .ci/readme-tables.ts --write)', (name) => {
    const current = readmeTable(readme, name);
    expect(current, `README has no <!-- table:${name} --> markers`).toBeDefined();
    expect(current).toBe(TABLES[name]());
  });

  it('rewriting the README leaves it as it is, and repairs a drifted row', () => {
    expect(renderTables(readme)).toBe(readme);
    const drifted = readme.replace('| `unknown_device` | no device with that id |', '| `unknown_device` | stale text |');
    expect(drifted).not.toBe(readme);
    expect(renderTables(drifted)).toBe(readme);
  });
});
