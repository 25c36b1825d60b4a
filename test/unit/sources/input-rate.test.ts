/** A device's input budget, with an injected clock: what passes, what is dropped, what is counted and logged. */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { metrics } from '../../../src/metrics.js';
import { InputRate } from '../../../src/sources/input-rate.js';

function capture(): { logger: pino.Logger; lines: () => Record<string, unknown>[] } {
  const out: string[] = [];
  const stream = new Writable({ write: (c: Buffer, _e, cb) => (out.push(c.toString()), cb()) });
  return { logger: pino({ base: undefined }, stream), lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

const dropped = async (device: string) => (await metrics.inputDropped.get()).values.find((v) => v.labels.device === device)?.value ?? 0;

describe('InputRate', () => {
  it('passes the burst at once, then the rate; the rest is dropped, counted and logged once per 10 s with the number left out', async () => {
    let t = 0;
    const log = capture();
    const input = new InputRate('flood-unit', { bytesPerSecond: 1000, burstBytes: 4000 }, log.logger, undefined, () => t);
    const passed = Array.from({ length: 10 }, () => input.admit(1000)).filter(Boolean).length;
    expect(passed).toBe(4);
    expect(await dropped('flood-unit')).toBe(6);
    // one second refills one input's worth
    t = 1000;
    expect([input.admit(1000), input.admit(1000)]).toEqual([true, false]);
    // 100 s at the rate: 100,000 bytes offered in 100-byte lines every 100 ms... only the rate passes
    let ok = 0;
    for (let i = 0; i < 1000; i++) {
      t += 100;
      for (let j = 0; j < 10; j++) if (input.admit(100)) ok++;
    }
    expect(ok).toBeGreaterThanOrEqual(990);
    expect(ok).toBeLessThanOrEqual(1000);
    const lines = log.lines();
    // the first drop at t=0, then one line per 10 s of dropping
    expect(lines.length).toBeGreaterThanOrEqual(10);
    expect(lines.length).toBeLessThanOrEqual(12);
    expect(lines[0]).toMatchObject({ code: 'SG_ERR_INPUT_RATE', device: 'flood-unit', bytesPerSecond: 1000, burstBytes: 4000, level: 40 });
    expect(lines[1]!.suppressed).toBeGreaterThan(0);
  });

  it('an input larger than the burst passes on a full bucket, and the device owes it', () => {
    let t = 0;
    const input = new InputRate('big-unit', { bytesPerSecond: 1000, burstBytes: 2000 }, pino({ level: 'silent' }), undefined, () => t);
    expect(input.admit(10_000)).toBe(true);
    // it owes 8,000 bytes: nothing passes for 8 s
    t = 7_900;
    expect(input.admit(1)).toBe(false);
    t = 8_100;
    expect(input.admit(1)).toBe(true);
  });
});
