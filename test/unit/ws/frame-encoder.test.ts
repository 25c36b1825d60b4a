import { describe, expect, it } from 'vitest';
import { encodeClose, encodeFrame } from '../../../src/ws/frame-encoder.js';
import { hex } from './events.js';

const headerHex = (frame: Buffer, n: number): string => frame.subarray(0, n).toString('hex');

describe('encodeFrame', () => {
  it('frames the RFC 6455 §5.7 examples', () => {
    expect(encodeFrame(1, 'Hello').toString('hex')).toBe('810548656c6c6f');
    expect(encodeFrame(1, 'Hello', { mask: hex('37fa213d') }).toString('hex')).toBe('818537fa213d7f9f4d5158');
    expect(encodeFrame(1, 'Hel', { fin: false }).toString('hex')).toBe('010348656c');
    expect(encodeFrame(0, 'lo').toString('hex')).toBe('80026c6f');
    expect(encodeFrame(9, 'Hello').toString('hex')).toBe('890548656c6c6f');
    expect(encodeFrame(10, 'Hello', { mask: hex('37fa213d') }).toString('hex')).toBe('8a8537fa213d7f9f4d5158');
  });

  it.each([
    [0, '8200', 2],
    [125, '827d', 2],
    [126, '827e007e', 4],
    [256, '827e0100', 4],
    [65535, '827effff', 4],
    [65536, '827f0000000000010000', 10],
  ])('uses the shortest header for %d bytes', (length, header, headerLength) => {
    const frame = encodeFrame(2, Buffer.alloc(length, 0xcd));
    expect(headerHex(frame, headerLength)).toBe(header);
    expect(frame.length).toBe(headerLength + length);
    expect(frame.subarray(headerLength).every((b) => b === 0xcd)).toBe(true);
  });

  it('counts UTF-8 bytes, not characters, for strings', () => {
    expect(encodeFrame(1, 'é€').toString('hex')).toBe('8105c3a9e282ac');
  });

  it('returns one Buffer that owns header and payload (the payload is copied, not referenced)', () => {
    const payload = Buffer.from('abc');
    const frame = encodeFrame(2, payload);
    payload[0] = 0;
    expect(frame.toString('hex')).toBe('8203616263');
  });

  it('does not modify a masked payload it was given', () => {
    const payload = Buffer.from('Hello');
    encodeFrame(1, payload, { mask: hex('37fa213d') });
    expect(payload.toString()).toBe('Hello');
  });

  it('can set RSV bits for hostile-input tests', () => {
    expect(encodeFrame(1, '', { rsv: 4 }).toString('hex')).toBe('c100');
  });

  it.each([
    ['opcode 16', () => encodeFrame(16, '')],
    ['opcode -1', () => encodeFrame(-1, '')],
    ['rsv 8', () => encodeFrame(1, '', { rsv: 8 })],
    ['3-byte mask', () => encodeFrame(1, '', { mask: hex('010203') })],
  ])('throws RangeError for %s', (_name, fn) => {
    expect(fn).toThrow(RangeError);
  });
});

describe('encodeClose', () => {
  it('encodes no code as an empty close frame', () => {
    expect(encodeClose().toString('hex')).toBe('8800');
  });

  it('encodes code and reason', () => {
    expect(encodeClose(1000).toString('hex')).toBe('880203e8');
    expect(encodeClose(1001, 'bye').toString('hex')).toBe('880503e9627965');
  });

  it('fits a 123-byte reason and refuses 124 bytes instead of truncating', () => {
    expect(encodeClose(1000, 'x'.repeat(123)).length).toBe(2 + 125);
    expect(() => encodeClose(1000, 'x'.repeat(124))).toThrow(RangeError);
    expect(() => encodeClose(1000, 'é'.repeat(62))).toThrow(RangeError); // 124 UTF-8 bytes
  });

  it.each([1005, 1006, 1015, 999, 5000])('refuses to send code %d', (code) => {
    expect(() => encodeClose(code)).toThrow(RangeError);
  });

  it('refuses a reason without a code', () => {
    expect(() => encodeClose(undefined, 'why')).toThrow(RangeError);
  });
});
