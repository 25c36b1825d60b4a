/**
 * One device card: state, last-seen age, live values, a chart per numeric metric, a console and
 * the command controls. `reading()` runs per reading and only updates memory (bounded);
 * `render()` runs at most once per animation frame and touches the DOM.
 */
import type { HistoryMessage, ReadingMessage, Values } from '../src/client/index.js';
import { Chart } from './chart.js';
import { consoleLine, formatAge, formatValue } from './format.js';
import { LineRing } from './lines.js';
import { Series } from './series.js';

/** what the charts show by default: the last 5 minutes, in at most POINTS points (250 ms buckets) */
export const WINDOW_MS = 5 * 60_000;
/** points per chart whatever the range (5 min: 250 ms apart; 24 h: 72 s): also what a history request asks for */
export const POINTS = 1_200;
const CONSOLE_LINES = 200;
const REDRAW_MS = 100;
const QUICK_COMMANDS = ['LED ON', 'LED OFF', 'PING'];
const COLORS = ['#3b82f6', '#f59e0b', '#10b981', '#ef4444', '#8b5cf6', '#ec4899'];

interface Metric {
  /** undefined until a live reading brings one (a metric may first come from history) */
  value: Values[string] | undefined;
  dirty: boolean;
  series?: Series;
  dd?: HTMLElement;
  chart?: Chart;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

export class DeviceView {
  readonly el: HTMLElement;
  private readonly stateEl: HTMLElement;
  private readonly ageEl: HTMLElement;
  private readonly valuesEl: HTMLElement;
  private readonly chartsEl: HTMLElement;
  private readonly consoleEl: HTMLElement;
  private readonly resultEl: HTMLOutputElement;
  private readonly controls: (HTMLInputElement | HTMLButtonElement)[] = [];
  private readonly metrics = new Map<string, Metric>();
  private readonly lines = new LineRing(CONSOLE_LINES);
  private dirty = false;
  private consoleDirty = false;
  /** when the card was last redrawn (rAF clock) */
  private drawnAt = -Infinity;
  /** newest reading time (gateway clock) */
  private lastTs = 0;
  /** the range the charts show (the range selector) */
  private windowMs = WINDOW_MS;

  constructor(
    readonly id: string,
    source: string,
    onCommand: (device: string, line: string) => void,
  ) {
    const t = (name: string) => `${name}-${id}`;
    this.el = el('section', { class: 'device', 'data-testid': t('device'), 'data-device': id });
    const head = el('header');
    head.append(
      el('h2', {}, id),
      el('span', { class: 'source' }, source),
      (this.stateEl = el('span', { class: 'state', 'data-testid': t('device-state') }, '…')),
      (this.ageEl = el('span', { class: 'age', 'data-testid': t('device-age') }, 'no readings yet')),
    );
    this.valuesEl = el('dl', { class: 'values', 'data-testid': t('values') });
    this.chartsEl = el('div', { class: 'charts' });
    const details = el('details', { class: 'console-box', open: '' });
    // column-reverse keeps the scroll position at the newest line without reading layout per frame
    const scroller = el('div', { class: 'console-scroll' });
    scroller.append((this.consoleEl = el('pre', { class: 'console', 'data-testid': t('console') })));
    details.append(el('summary', {}, 'Console'), scroller);

    const form = el('form', { class: 'command', 'data-testid': t('cmd-form') });
    const input = el('input', { name: 'line', placeholder: 'command line', maxlength: '256', autocomplete: 'off', 'data-testid': t('cmd-input') });
    const sendBtn = el('button', { type: 'submit', 'data-testid': t('cmd-send') }, 'Send');
    const quick = el('div', { class: 'quick' });
    for (const line of QUICK_COMMANDS) {
      const b = el('button', { type: 'button', 'data-line': line, 'data-testid': t(`cmd-${line.toLowerCase().replace(' ', '-')}`) }, line);
      b.addEventListener('click', () => onCommand(id, line));
      quick.append(b);
      this.controls.push(b);
    }
    this.resultEl = el('output', { class: 'result', 'data-testid': t('cmd-result') });
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const line = input.value.trim();
      if (line) onCommand(id, line);
    });
    form.append(input, sendBtn, quick, this.resultEl);
    this.controls.push(input, sendBtn);
    this.el.append(head, this.valuesEl, this.chartsEl, form, details);
  }

  /** per reading: memory only */
  reading(r: ReadingMessage): void {
    if (r.ts > this.lastTs) this.lastTs = r.ts;
    const values = r.values;
    for (const k in values) {
      const v = values[k]!;
      let m = this.metrics.get(k);
      if (!m) this.metrics.set(k, (m = { value: v, dirty: true }));
      m.value = v;
      m.dirty = true;
      if (typeof v === 'number' && Number.isFinite(v)) (m.series ??= this.newSeries()).push(r.ts, v);
    }
    this.lines.push(consoleLine(r));
    this.consoleDirty = this.dirty = true;
  }

  /**
   * A history answer: each chart is drawn again from it (buckets at their mean, at the middle of
   * their span, then the raw points), after what the chart already held from before the answer's
   * oldest entry (a gateway restarted without persistence remembers less than this page does) and
   * followed by what arrived live after its newest entry, so a reading that came both ways is drawn
   * once. A reload thus draws the curve it drew before.
   */
  history(h: HistoryMessage): void {
    const entries: { name: string; ts: number; v: number }[] = [];
    const add = (name: string, ts: number, v: unknown) => {
      if (typeof v === 'number' && Number.isFinite(v)) entries.push({ name, ts, v });
    };
    for (const b of h.buckets) for (const name in b.fields) add(name, b.ts + b.span / 2, b.fields[name]!.mean);
    let newest = 0;
    for (const p of h.points) {
      newest = Math.max(newest, p.ts);
      for (const name in p.values) add(name, p.ts, p.values[name]);
    }
    let oldest = Infinity;
    for (const e of entries) oldest = Math.min(oldest, e.ts);
    const fresh = new Map<string, Series>();
    for (const { name, ts, v } of entries) {
      let series = fresh.get(name);
      if (!series) {
        fresh.set(name, (series = this.newSeries()));
        // the chart's own points from before the gateway's history begins
        const [xs, ys] = this.metrics.get(name)?.series?.view() ?? [[], []];
        for (let i = 0; i < xs.length && xs[i]! * 1000 < oldest; i++) series.push(xs[i]! * 1000, ys[i]!);
      }
      series.push(ts, v);
    }
    for (const [name, series] of fresh) {
      let m = this.metrics.get(name);
      if (!m) this.metrics.set(name, (m = { value: undefined, dirty: false }));
      const [xs, ys] = m.series?.view(newest + 1) ?? [[], []];
      for (let i = 0; i < xs.length; i++) series.push(xs[i]! * 1000, ys[i]!);
      m.series = series;
    }
    if (newest > this.lastTs) this.lastTs = newest;
    this.dirty = true;
  }

  /** the range selector: charts start empty at the new bucket size until history refills them */
  setWindow(ms: number): void {
    this.windowMs = ms;
    for (const m of this.metrics.values()) {
      if (!m.series) continue;
      m.series = this.newSeries();
      // drawn empty now rather than showing the old range at the new scale
      m.series.changed = true;
    }
    this.dirty = true;
  }

  private newSeries(): Series {
    return new Series(POINTS, this.windowMs / POINTS);
  }

  /** a line of our own in the console (commands and their answers) */
  note(line: string): void {
    this.lines.push(line);
    this.consoleDirty = this.dirty = true;
  }

  /**
   * Per animation frame: the DOM, at most every REDRAW_MS. Ten updates a second is as fast as a
   * number can be read, a chart point is a 250 ms bucket and a console line is text: redrawing a
   * card 60 times a second at 1,000 readings/s would only burn CPU. A 1 Hz sensor still shows each
   * reading at the next frame. Returns true while something waits for a later frame.
   */
  render(now: number): boolean {
    if (!this.dirty) return false;
    if (now - this.drawnAt < REDRAW_MS) return true;
    this.dirty = false;
    this.drawnAt = now;
    for (const [name, m] of this.metrics) {
      if (m.dirty && m.value !== undefined) {
        m.dirty = false;
        if (!m.dd) {
          const row = el('div', { 'data-metric': name });
          row.append(el('dt', {}, name), (m.dd = el('dd', { 'data-testid': `value-${this.id}-${name}` })));
          this.valuesEl.append(row);
        }
        const text = formatValue(m.value);
        if (m.dd.textContent !== text) m.dd.textContent = text;
      }
      if (!m.series?.changed) continue;
      if (!m.chart) {
        const box = el('figure', { class: 'chart', 'data-testid': `chart-${this.id}-${name}` });
        box.append(el('figcaption', {}, name));
        this.chartsEl.append(box);
        m.chart = new Chart(box, name, COLORS[(this.chartsEl.childElementCount - 1) % COLORS.length]!);
      }
      m.chart.setData(...m.series.view(this.lastTs - this.windowMs));
    }
    if (this.consoleDirty) {
      this.consoleDirty = false;
      this.consoleEl.textContent = this.lines.text();
    }
    return false;
  }

  /** once a second */
  tick(now: number): void {
    if (this.lastTs > 0) this.ageEl.textContent = formatAge(now - this.lastTs);
  }

  setState(state: 'up' | 'down', reason?: string): void {
    this.el.dataset.state = state;
    this.stateEl.textContent = state;
    this.stateEl.title = reason ?? '';
  }

  setCommandsEnabled(enabled: boolean): void {
    for (const c of this.controls) c.disabled = !enabled;
  }

  showResult(status: 'pending' | 'ok' | 'error', text: string): void {
    this.resultEl.dataset.status = status;
    this.resultEl.textContent = text;
  }

  resize(): void {
    for (const m of this.metrics.values()) m.chart?.resize();
  }

  /** chart x values (seconds) of a metric, for tests and the debug hook */
  chartX(metric: string): number[] {
    return this.metrics.get(metric)?.chart?.xValues() ?? [];
  }

  rejectedPoints(): number {
    let n = 0;
    for (const m of this.metrics.values()) n += m.series?.rejected ?? 0;
    return n;
  }
}
