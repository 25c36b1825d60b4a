import { describe, expect, it } from 'vitest';
import { RateLimitedLog } from '../../../src/sources/serial/error-log.js';
import type { Logger } from '../../../src/log.js';

function fakeLogger() {
  const lines: [Record<string, unknown>, string][] = [];
  return { lines, logger: { warn: (o: Record<string, unknown>, m: string) => lines.push([o, m]) } as unknown as Logger };
}

describe('RateLimitedLog', () => {
  it('logs the first at once, then at most one per interval with the suppressed count', () => {
    let now = 0;
    const { lines, logger } = fakeLogger();
    const log = new RateLimitedLog(logger, 10_000, () => now);
    log.warn('parse', 'bad line', { format: 'kv' });
    for (let i = 0; i < 5; i++) {
      now += 1_000;
      log.warn('parse', 'bad line');
    }
    log.warn('overlong', 'too long'); // kinds are limited separately
    expect(lines).toEqual([
      [{ format: 'kv', kind: 'parse' }, 'bad line'],
      [{ kind: 'overlong' }, 'too long'],
    ]);
    now = 10_000;
    log.warn('parse', 'bad line');
    expect(lines[2]).toEqual([{ kind: 'parse', suppressed: 5 }, 'bad line (+5 more since the last report)']);
    now = 25_000;
    log.warn('parse', 'bad line');
    expect(lines[3]).toEqual([{ kind: 'parse' }, 'bad line']);
  });
});
