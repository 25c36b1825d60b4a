import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { unmask } from '../../../src/ws/mask.js';

describe('unmask', () => {
  it('XORs with the RFC 6455 §5.7 key', () => {
    const data = Buffer.from('7f9f4d5158', 'hex');
    unmask(data, Buffer.from('37fa213d', 'hex'), 0, data.length, 0);
    expect(data.toString()).toBe('Hello');
  });

  it('equals the byte-wise definition for any alignment, range, length and mask phase', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.uint8Array({ minLength: 4, maxLength: 4 }),
        fc.nat(7), // byte offset of the view inside its ArrayBuffer: exercises the aligned word path
        fc.nat(),
        fc.nat(),
        fc.nat(),
        (bytes, mask, shift, a, b, phase) => {
          const backing = new Uint8Array(bytes.length + 8);
          const data = backing.subarray(shift, shift + bytes.length);
          data.set(bytes);
          const start = a % (bytes.length + 1);
          const end = start + (b % (bytes.length - start + 1));
          const expected = Uint8Array.from(bytes);
          for (let i = start; i < end; i++) expected[i] = bytes[i]! ^ mask[(phase + i - start) & 3]!;
          unmask(data, mask, start, end, phase);
          expect(Buffer.from(data).toString('hex')).toBe(Buffer.from(expected).toString('hex'));
        },
      ),
      { numRuns: 2000 },
    );
  });
});
