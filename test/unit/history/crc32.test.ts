import { randomBytes } from 'node:crypto';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32 } from '../../../src/history/crc32.js';

/** The table as the textbook loop makes it (src/history/crc32.ts writes it out instead). */
function tableCrc32(buf: Uint8Array): number {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  let c = 0xffffffff;
  for (const b of buf) c = t[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

describe('crc32', () => {
  it('is CRC-32/ISO-HDLC: the check value of "123456789"', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it('the written-out table is the computed one: every byte value, alone and in random buffers', () => {
    for (let b = 0; b < 256; b++) expect(crc32(Uint8Array.of(b))).toBe(tableCrc32(Uint8Array.of(b)));
    for (let i = 0; i < 50; i++) {
      const buf = randomBytes(1 + i * 13);
      expect(crc32(buf)).toBe(tableCrc32(buf));
    }
  });

  // zlib.crc32: Node 20.15 and later only
  it.runIf(typeof zlib.crc32 === 'function')('agrees with zlib.crc32', () => {
    const buf = randomBytes(4096);
    expect(crc32(buf)).toBe(zlib.crc32(buf));
  });
});
