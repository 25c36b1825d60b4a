import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createLogger, redactLine } from '../../../src/log.js';
import { LogRateLimiter } from '../../../src/log-rate.js';
import { watchdogInterval } from '../../../src/cli/sd-notify.js';

/** a pino logger writing into an array, with the same level numbers as the real one */
function capture(): { logger: pino.Logger; lines: () => Record<string, unknown>[] } {
  const out: string[] = [];
  const stream = new Writable({ write: (c: Buffer, _e, cb) => (out.push(c.toString()), cb()) });
  return { logger: pino({ base: undefined }, stream), lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('redactLine: no credential survives in a log line', () => {
  it('masks ?token= and &token= in URLs, bearer headers and bearer.<token> subprotocols', () => {
    expect(redactLine('{"url":"/ws?token=abc123&x=1"}')).toBe('{"url":"/ws?token=[redacted]&x=1"}');
    expect(redactLine('{"url":"/ws?a=1&token=abc123"}')).toBe('{"url":"/ws?a=1&token=[redacted]"}');
    expect(redactLine('{"h":"Authorization: Bearer eyJhbGciOi.x.y"}')).toBe('{"h":"Authorization: Bearer [redacted]"}');
    expect(redactLine('{"offered":["serialgate.v1.json","bearer.s3cr3t-token"]}')).toBe('{"offered":["serialgate.v1.json","bearer.[redacted]"]}');
  });

  it('masks every configured secret verbatim, also in its JSON-escaped form', () => {
    expect(redactLine('{"msg":"connect failed for hunter2hunter2"}', ['hunter2hunter2'])).toBe('{"msg":"connect failed for [redacted]"}');
    expect(redactLine('{"msg":"pw a\\"b-secret"}', ['a"b-secret'])).toBe('{"msg":"pw [redacted]"}');
    // very short "secrets" would blank out ordinary words
    expect(redactLine('{"msg":"abc"}', ['abc'])).toBe('{"msg":"abc"}');
  });

  it('createLogger applies it to every line, with the secrets read at write time', () => {
    const chunks: string[] = [];
    const destination = new Writable({ write: (c: Buffer, _e, cb) => (chunks.push(c.toString()), cb()) });
    let secret = 'first-secret-value';
    const logger = createLogger('info', { secrets: () => [secret], destination });
    logger.info({ token: 'field-token-value', nested: { password: 'pw-value-1' } }, 'using first-secret-value');
    secret = 'second-secret-value';
    logger.child({ device: 'd1' }).warn('now second-secret-value at ?token=qq');
    const text = chunks.join('');
    expect(chunks).toHaveLength(2);
    expect(text).not.toMatch(/first-secret-value|second-secret-value|field-token-value|pw-value-1|token=qq/);
    expect(text).toContain('"device":"d1"');
  });
});

describe('LogRateLimiter', () => {
  it('one line per key per interval; the next one carries the suppressed count', () => {
    let now = 0;
    const rl = new LogRateLimiter(1000, () => now);
    const { logger, lines } = capture();
    for (let i = 0; i < 5; i++) rl.log(logger, 'warn', 'dev1:ENOENT', { device: 'dev1' }, 'cannot open');
    expect(rl.log(logger, 'warn', 'dev2:ENOENT', { device: 'dev2' }, 'cannot open')).toBe(true);
    now = 999;
    expect(rl.log(logger, 'warn', 'dev1:ENOENT', { device: 'dev1' }, 'cannot open')).toBe(false);
    now = 1000;
    expect(rl.log(logger, 'error', 'dev1:ENOENT', { device: 'dev1' }, 'cannot open')).toBe(true);
    expect(lines().map((l) => [l.level, l.device, l.suppressed])).toEqual([
      [40, 'dev1', undefined],
      [40, 'dev2', undefined],
      [50, 'dev1', 5],
    ]);
  });

  it('reset makes the next occurrence news again', () => {
    const rl = new LogRateLimiter(60_000, () => 0);
    const { logger, lines } = capture();
    rl.log(logger, 'warn', 'k', {}, 'a');
    rl.reset('k');
    rl.log(logger, 'warn', 'k', {}, 'b');
    expect(lines().map((l) => l.msg)).toEqual(['a', 'b']);
  });

  it('keeps at most 1000 keys (a caller bug cannot grow memory)', () => {
    const rl = new LogRateLimiter(60_000, () => 0);
    const { logger } = capture();
    for (let i = 0; i < 1500; i++) rl.log(logger, 'debug', `k${i}`, {}, 'x');
    // the oldest keys were evicted: logging k0 again is allowed at once
    expect(rl.log(logger, 'debug', 'k0', {}, 'x')).toBe(true);
    expect(rl.log(logger, 'debug', 'k1499', {}, 'x')).toBe(false);
  });
});

describe('watchdogInterval', () => {
  it('is WATCHDOG_USEC/2 in ms, only for our pid, and absent without a valid value', () => {
    expect(watchdogInterval({ WATCHDOG_USEC: '30000000' }, 42)).toBe(15_000);
    expect(watchdogInterval({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '42' }, 42)).toBe(15_000);
    expect(watchdogInterval({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '7' }, 42)).toBeUndefined();
    expect(watchdogInterval({}, 42)).toBeUndefined();
    expect(watchdogInterval({ WATCHDOG_USEC: 'abc' }, 42)).toBeUndefined();
    expect(watchdogInterval({ WATCHDOG_USEC: '0' }, 42)).toBeUndefined();
    expect(watchdogInterval({ WATCHDOG_USEC: '1000' }, 42)).toBe(1);
  });
});
