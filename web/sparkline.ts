/**
 * A sparkline: one SVG polyline per numeric field of a tile, drawn from the tile's bounded Series.
 * The viewBox is fixed (WIDTH × HEIGHT) and stretched to the tile's width by CSS, so a redraw is one
 * `points` attribute, no layout. No style attribute is written (the page's CSP).
 */
import type { Series } from './series.js';

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 100;
const HEIGHT = 24;
const PAD = 2;

/**
 * "x,y x,y …" for the points of [from, to] (ms), y scaled to the points' own min..max. Points that
 * cover less than the window (a page just opened on a gateway without history) are stretched over
 * the width: a sparkline shows a shape, the detailed view has the time axis.
 */
export function polyline(xs: ArrayLike<number>, ys: ArrayLike<number>, fromMs: number, toMs: number): string {
  const n = xs.length;
  if (n === 0 || !(toMs > fromMs)) return '';
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    if (ys[i]! < min) min = ys[i]!;
    if (ys[i]! > max) max = ys[i]!;
  }
  const span = max - min;
  const from = Math.max(fromMs / 1000, xs[0]!);
  const sx = WIDTH / Math.max(toMs / 1000 - from, 1e-3);
  let out = '';
  let y = 0;
  for (let i = 0; i < n; i++) {
    const x = Math.max(0, (xs[i]! - from) * sx);
    // a flat line sits in the middle
    y = span > 0 ? PAD + (HEIGHT - 2 * PAD) * (1 - (ys[i]! - min) / span) : HEIGHT / 2;
    out += `${x.toFixed(1)},${y.toFixed(1)} `;
  }
  // one point alone is a level stroke to the newest edge, not an invisible dot
  if (n === 1) out += `${WIDTH},${y.toFixed(1)}`;
  return out.trimEnd();
}

export class Sparkline {
  readonly el: SVGSVGElement;
  private readonly line: SVGPolylineElement;
  private drawn = '';

  constructor() {
    this.el = document.createElementNS(SVG, 'svg');
    this.el.setAttribute('class', 'spark');
    this.el.setAttribute('viewBox', `0 0 ${WIDTH} ${HEIGHT}`);
    this.el.setAttribute('preserveAspectRatio', 'none');
    this.el.setAttribute('aria-hidden', 'true');
    this.line = document.createElementNS(SVG, 'polyline');
    this.line.setAttribute('vector-effect', 'non-scaling-stroke');
    this.el.append(this.line);
  }

  draw(series: Series, toMs: number, windowMs: number): void {
    const [xs, ys] = series.view(toMs - windowMs);
    const points = polyline(xs, ys, toMs - windowMs, toMs);
    if (points === this.drawn) return;
    this.drawn = points;
    this.line.setAttribute('points', points);
  }
}
