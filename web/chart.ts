/**
 * One uPlot chart of one device metric. uPlot draws on a canvas and sets sizes through the CSSOM
 * (el.style.x = …), which a strict CSP (style-src 'self') allows; its stylesheet is bundled
 * into app.css. Colours are mid-tones that read on light and dark backgrounds alike.
 */
import uPlot from 'uplot';

const HEIGHT = 140;
const AXIS = { stroke: '#8a8f98', grid: { stroke: 'rgba(128,128,128,0.18)', width: 1 }, ticks: { stroke: 'rgba(128,128,128,0.3)', width: 1 } };

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
        axes: [AXIS, { ...AXIS, size: 56 }],
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
