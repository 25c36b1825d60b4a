/**
 * Issue 10 "one path per job": a module a newcomer can read in one sitting. The parser and the
 * client were split by job (frame-reader / frame-parser, options / phase / client); this keeps
 * them so. Other folders are not checked here (their owners split them in their own time).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const MAX_LINES = 300;
const root = join(import.meta.dirname, '../../..');

describe.each(['src/ws', 'src/client'])('%s', (dir) => {
  it(`has no file over ${MAX_LINES} lines`, () => {
    const files = readdirSync(join(root, dir)).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(3);
    const over = files
      .map((f) => ({ file: f, lines: readFileSync(join(root, dir, f), 'utf8').split('\n').length - 1 }))
      .filter((f) => f.lines > MAX_LINES);
    expect(over).toEqual([]);
  });
});
