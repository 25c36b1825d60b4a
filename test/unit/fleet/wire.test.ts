import { describe, expect, it } from 'vitest';
import { parsePresence, parseReading } from '../../../src/fleet/wire.js';

const buf = (s: string) => Buffer.from(s);

describe('fleet wire: text from another gateway must be well-formed Unicode (the same value in JSON and CBOR)', () => {
  it('a reading with a lone surrogate in a value, a key, raw or error is dropped like garbage', () => {
    expect(parseReading(buf('{"seq":1,"ts":1,"values":{"t":"ok 😀"},"raw":"r","error":"e"}'))).toEqual({
      seq: 1,
      ts: 1,
      values: { t: 'ok 😀' },
      raw: 'r',
      error: 'e',
    });
    expect(parseReading(buf('{"seq":1,"ts":1,"values":{"t":"\\ud800"}}'))).toBeUndefined();
    expect(parseReading(buf('{"seq":1,"ts":1,"values":{"\\udc00":1}}'))).toBeUndefined();
    expect(parseReading(buf('{"seq":1,"ts":1,"raw":"a\\ud800b"}'))).toBeUndefined();
    expect(parseReading(buf('{"seq":1,"ts":1,"error":"\\udfff"}'))).toBeUndefined();
  });

  it('a presence with a lone surrogate in its instance or reason is dropped', () => {
    expect(parsePresence(buf('{"state":"offline","instance":"i1","reason":"bye"}'))).toEqual({ state: 'offline', instance: 'i1', reason: 'bye' });
    expect(parsePresence(buf('{"state":"offline","instance":"i\\ud800"}'))).toBeUndefined();
    // a reason that is not text is replaced, as one too long is
    expect(parsePresence(buf('{"state":"offline","instance":"i1","reason":"\\ud800"}'))).toEqual({
      state: 'offline',
      instance: 'i1',
      reason: 'offline',
    });
  });
});
