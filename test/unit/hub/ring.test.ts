import { describe, expect, it } from 'vitest';
import { ResumeRing } from '../../../src/hub/ring.js';
import type { Reading } from '../../../src/domain.js';
import { Resume, readingBytes } from '../../../src/hub/resume.js';
import { MAX_RESUME_BYTES } from '../../../src/bounds.js';

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

  it('drops the oldest readings beyond maxBytes, keeps the newest whatever it weighs, and reports the rest as a gap', () => {
    const ring = new ResumeRing<Reading>(10, 0, 100);
    for (let s = 1; s <= 6; s++) ring.push(r(s), 40);
    expect(ring.oldest).toBe(5);
    expect(ring.heldBytes).toBe(80);
    expect(ring.since(2)).toEqual({ gap: { from: 3, to: 4 }, readings: [r(5), r(6)] });
    ring.push(r(7), 500);
    expect(ring.oldest).toBe(7);
    expect(ring.since(6)).toEqual({ readings: [r(7)] });
    // the count bound and the byte bound together: slots overwritten by count are not counted twice
    for (let s = 8; s <= 40; s++) ring.push(r(s), 10);
    expect(ring.oldest).toBe(31);
    expect(ring.heldBytes).toBe(100);
  });
});

describe('Resume buffer size', () => {
  it('large readings (60 KB MQTT payloads) are held within MAX_RESUME_BYTES, not resumeBuffer of them', () => {
    const resume = new Resume(10_000, undefined);
    const big = 'x'.repeat(60_000);
    for (let i = 0; i < 600; i++) resume.append({ device: 'm', ts: i, values: { s: big } });
    const held = resume.held();
    expect(held.at(-1)!.seq).toBe(600);
    expect(held.length).toBeLessThan(600);
    expect(held.reduce((n, r) => n + readingBytes(r), 0)).toBeLessThanOrEqual(MAX_RESUME_BYTES);
    // small readings still fill resumeBuffer by count
    const small = new Resume(10_000, undefined);
    for (let i = 0; i < 12_000; i++) small.append({ device: 'mock1', ts: i, values: { temp: 21.5, hum: 40, count: i } });
    expect(small.held().length).toBe(10_000);
  });
});
