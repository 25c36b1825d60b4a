import { describe, expect, it } from 'vitest';
import { RetainedRedelivery } from '../../../src/sources/mqtt/retained.js';

const b = (s: string) => Buffer.from(s);

describe('RetainedRedelivery', () => {
  it('a retained payload the topic delivered last is a repeat; another payload, or a live message, is not', () => {
    const r = new RetainedRedelivery(10);
    expect(r.repeat('t', b('7'), true)).toBe(false);
    expect(r.repeat('t', b('7'), true)).toBe(true);
    // a live message on that topic is what it delivered last: the retained 7 after it is news again
    expect(r.repeat('t', b('5'), false)).toBe(false);
    expect(r.repeat('t', b('7'), true)).toBe(false);
    expect(r.repeat('t', b('7'), false)).toBe(false); // live messages are never repeats
  });

  it('topics without a retained message are not remembered; past the bound the oldest topic is forgotten', () => {
    const r = new RetainedRedelivery(2);
    for (let i = 0; i < 100; i++) expect(r.repeat('live', b(String(i)), false)).toBe(false);
    r.repeat('a', b('1'), true);
    r.repeat('b', b('1'), true);
    r.repeat('c', b('1'), true);
    expect(r.repeat('b', b('1'), true)).toBe(true);
    expect(r.repeat('c', b('1'), true)).toBe(true);
    expect(r.repeat('a', b('1'), true)).toBe(false); // forgotten: delivered once more
  });

  it('a cleared topic forgets its payload: the same value retained again is news', () => {
    const r = new RetainedRedelivery(10);
    r.repeat('t', b('7'), true);
    r.forget('t');
    expect(r.repeat('t', b('7'), true)).toBe(false);
    expect(r.repeat('t', b('7'), true)).toBe(true);
  });
});
