import { describe, expect, it } from 'vitest';
import { ResumeRing } from '../../../src/hub/ring.js';
import type { Reading } from '../../../src/domain.js';

const r = (seq: number): Reading => ({ seq, device: 'd', ts: seq });
const fill = (ring: ResumeRing<Reading>, from: number, to: number) => {
  for (let s = from; s <= to; s++) ring.push(r(s));
};
const seqs = (rs: Reading[]) => rs.map((x) => x.seq);

describe('ResumeRing', () => {
  it('replays everything after since, in order, when held', () => {
    const ring = new ResumeRing<Reading>(10);
    fill(ring, 1, 8);
    expect(ring.since(5)).toEqual({ readings: [r(6), r(7), r(8)] });
    expect(ring.since(8)).toEqual({ readings: [] });
    expect(ring.since(0)).toEqual({ readings: [1, 2, 3, 4, 5, 6, 7, 8].map(r) });
  });

  it('wraps around and reports what is no longer held as an inclusive gap', () => {
    const ring = new ResumeRing<Reading>(10);
    fill(ring, 1, 25);
    expect(ring.oldest).toBe(16);
    const replay = ring.since(3);
    expect(replay.gap).toEqual({ from: 4, to: 15 });
    expect(seqs(replay.readings)).toEqual([16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);
    expect(ring.since(15)).toEqual({ readings: [16, 17, 18, 19, 20, 21, 22, 23, 24, 25].map(r) });
    expect(ring.since(14).gap).toEqual({ from: 15, to: 15 });
  });

  it('a ring that continues a stream (start seq) holds none of the seqs before it', () => {
    const ring = new ResumeRing<Reading>(4, 10);
    expect(ring.oldest).toBe(11);
    expect(ring.since(0)).toEqual({ gap: { from: 1, to: 10 }, readings: [] });
    expect(ring.since(10)).toEqual({ readings: [] });
    fill(ring, 11, 12);
    expect(ring.since(8)).toEqual({ gap: { from: 9, to: 10 }, readings: [r(11), r(12)] });
    fill(ring, 13, 20);
    expect(ring.oldest).toBe(17);
    expect(() => ring.push(r(30))).toThrow(RangeError);
  });

  it('capacity 0 holds nothing: everything after since is a gap', () => {
    const ring = new ResumeRing<Reading>(0);
    fill(ring, 1, 3);
    expect(ring.since(1)).toEqual({ gap: { from: 2, to: 3 }, readings: [] });
    expect(ring.since(3)).toEqual({ readings: [] });
  });

  it('refuses non-contiguous seqs', () => {
    const ring = new ResumeRing<Reading>(4);
    ring.push(r(1));
    expect(() => ring.push(r(3))).toThrow(RangeError);
  });
});
