/**
 * One uPlot chart of one device metric. uPlot draws on a canvas and sets sizes through the CSSOM
 * (el.style.x = …), which a strict CSP (style-src 'self') allows; its stylesheet is bundled
 * into app.css. Colours are mid-tones that read on light and dark backgrounds alike.
 */
import uPlot from 'uplot';

const HEIGHT = 140;
const AXIS = { stroke: '#8a8f98', grid: { stroke: 'rgba(128,128,128,0.18)', width: 1 }, ticks: { stroke: 'rgba(128,128,128,0.3)', width: 1 } };
/** tick steps in seconds: whole seconds at least, since labels show no fraction */
const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600];
const two = (n: number) => String(n).padStart(2, '0');
/** HH:MM:SS on one line: the window is minutes, the date adds nothing but height */
const clock = (_u: uPlot, splits: number[]) =>
  splits.map((s) => {
    const d = new Date(s * 1000);
    return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
  });

export class Chart {
  private readonly plot: uPlot;

  constructor(
    readonly el: HTMLElement,
    label: string,
    color: string,
  ) {
    this.plot = new uPlot(
      {
        width: Math.max(el.clientWidth, 200),
        height: HEIGHT,
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true } },
        axes: [
          { ...AXIS, values: clock, space: 70, incrs: TIME_STEPS, size: 30 },
          { ...AXIS, size: 56 },
        ],
        series: [{}, { label, stroke: color, width: 1.5 }],
      },
      [[], []],
      el,
    );
  }

  setData(xs: Float64Array, ys: Float64Array): void {
    this.plot.setData([xs, ys]);
  }

  /** the x values on screen (seconds), for tests */
  xValues(): number[] {
    return Array.from(this.plot.data[0] as ArrayLike<number>);
  }

  resize(): void {
    const width = Math.max(this.el.clientWidth, 200);
    if (width !== this.plot.width) this.plot.setSize({ width, height: HEIGHT });
  }
}
