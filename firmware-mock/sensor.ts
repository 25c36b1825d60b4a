/**
 * What the mock sensor measures and how it prints it. Temperature is a mean-reverting random walk
 * around 21.5 °C, humidity drifts around 45 %, and a counter numbers the lines (so a test can see
 * which lines arrived). `random` is injectable so output can be made deterministic.
 */
export type MockFormat = 'json' | 'kv' | 'csv';

export interface SensorState {
  temp: number;
  hum: number;
  count: number;
}

export class Sensor {
  readonly state: SensorState = { temp: 21.5, hum: 45, count: 0 };

  constructor(private readonly random: () => number = Math.random) {}

  /** advance one sample */
  step(): SensorState {
    const s = this.state;
    s.temp = clamp(s.temp + (this.random() - 0.5) * 0.2 + (21.5 - s.temp) * 0.02, -40, 85);
    s.hum = clamp(s.hum + (this.random() - 0.5) * 0.5 + (45 - s.hum) * 0.02, 0, 100);
    s.count++;
    return s;
  }

  /** the next sample as one line (without the newline) */
  line(format: MockFormat): string {
    return formatLine(format, this.step());
  }
}

/** csv columns are temp, hum, count: parser { format: csv, columns: [temp, hum, count] } */
export function formatLine(format: MockFormat, s: SensorState): string {
  const temp = round(s.temp, 2);
  const hum = round(s.hum, 1);
  switch (format) {
    case 'json':
      return JSON.stringify({ temp, hum, count: s.count });
    case 'kv':
      return `temp=${temp} hum=${hum} count=${s.count}`;
    case 'csv':
      return `${temp},${hum},${s.count}`;
  }
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
const round = (v: number, digits: number) => Number(v.toFixed(digits));
