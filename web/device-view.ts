/**
 * The detailed view of one device (the overview's tile opens it): state, last-seen age, live values,
 * a chart per numeric metric, a console and, for an operator only, the command controls with the
 * gateway that will execute them. `reading()` runs per reading and only updates memory (bounded);
 * `render()` runs at most once per animation frame and touches the DOM.
 */
import { DASHBOARD_FIELDS, DASHBOARD_LINE_CHARACTERS, DASHBOARD_VALUE_CHARACTERS } from '../src/bounds.js';
import type { HistoryMessage, ReadingMessage, Values } from '../src/client/index.js';
import { Chart } from './chart.js';
import { fillFromHistory } from './history-fill.js';
import { el } from './dom.js';
import { clip, consoleLine, formatAge, formatValue } from './format.js';
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

/** Where a device lives: its source kind, the gateway that executes its commands, whether that is the one this page is connected to. */
export interface Placement {
  source: string;
  gateway: string;
  local: boolean;
}

export class DeviceView {
  readonly el: HTMLElement;
  private readonly stateEl: HTMLElement;
  private readonly ageEl: HTMLElement;
  private readonly valuesEl: HTMLElement;
  private readonly chartsEl: HTMLElement;
  private readonly consoleEl: HTMLElement;
  private readonly resultEl: HTMLOutputElement;
  /** the command row: in the page for an operator only (a viewer sees no command controls) */
  private readonly form: HTMLFormElement;
  private readonly details: HTMLElement;
  private readonly sourceEl: HTMLElement;
  private readonly runsOnEl: HTMLElement;
  readonly heading: HTMLElement;
  private readonly metrics = new Map<string, Metric>();
  /** fields of the newest reading left out (DASHBOARD_FIELDS are shown), and the note that says so */
  private omitted = 0;
  private readonly omittedEl: HTMLElement;
  private readonly lines = new LineRing(CONSOLE_LINES);
  private dirty = false;
  private consoleDirty = false;
  /** when the card was last redrawn (rAF clock) */
  private drawnAt = -Infinity;
  /** newest reading time (gateway clock) */
  private lastTs = 0;
  /** the range the charts show (the range selector) */
  private windowMs = WINDOW_MS;
  /** the configured device this one's id was derived from (MQTT idFromTopicSegment): its state and commands are that one's */
  private parent: string | undefined;
  private parentEl: HTMLElement | undefined;

  constructor(
    readonly id: string,
    place: Placement,
    onCommand: (device: string, line: string) => void,
  ) {
    const t = (name: string) => `${name}-${id}`;
    this.el = el('section', { class: 'device', 'data-testid': t('device'), 'data-device': id, 'aria-labelledby': t('heading') });
    const head = el('header');
    head.append(
      // focused when the view opens, so a keyboard or screen reader user lands on what opened
      (this.heading = el('h2', { id: t('heading'), tabindex: '-1' }, id)),
      (this.sourceEl = el('span', { class: 'source' })),
      (this.stateEl = el('span', { class: 'state', 'data-testid': t('device-state') }, '…')),
      (this.ageEl = el('span', { class: 'age', 'data-testid': t('device-age') }, 'no readings yet')),
    );
    this.valuesEl = el('dl', { class: 'values', 'data-testid': t('values') });
    this.omittedEl = el('p', { class: 'omitted', 'data-testid': t('omitted'), hidden: '' });
    this.chartsEl = el('div', { class: 'charts' });
    const details = (this.details = el('details', { class: 'console-box', open: '' }));
    // column-reverse keeps the scroll position at the newest line without reading layout per frame
    const scroller = el('div', { class: 'console-scroll' });
    scroller.append((this.consoleEl = el('pre', { class: 'console', 'data-testid': t('console') })));
    details.append(el('summary', {}, 'Console'), scroller);

    const form = (this.form = el('form', { class: 'command', 'data-testid': t('cmd-form'), 'aria-label': `Commands to ${id}` }));
    this.runsOnEl = el('p', { class: 'runs-on', 'data-testid': t('cmd-gateway') });
    const input = el('input', {
      name: 'line',
      placeholder: 'command line',
      maxlength: '256',
      autocomplete: 'off',
      'aria-label': `Command line for ${id}`,
      'data-testid': t('cmd-input'),
    });
    const sendBtn = el('button', { type: 'submit', 'data-testid': t('cmd-send') }, 'Send');
    const quick = el('div', { class: 'quick' });
    for (const line of QUICK_COMMANDS) {
      const b = el('button', { type: 'button', 'data-line': line, 'data-testid': t(`cmd-${line.toLowerCase().replace(' ', '-')}`) }, line);
      b.addEventListener('click', () => onCommand(id, line));
      quick.append(b);
    }
    this.resultEl = el('output', { class: 'result', 'data-testid': t('cmd-result') });
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const line = input.value.trim();
      if (line) onCommand(id, line);
    });
    form.append(this.runsOnEl, input, sendBtn, quick, this.resultEl);
    this.el.append(head, this.valuesEl, this.omittedEl, this.chartsEl, details);
    this.place(place);
  }

  /** where the device lives (known once the hello lists it): which gateway executes its commands */
  place(p: Placement): void {
    this.sourceEl.textContent = p.local ? p.source : `${p.source} · on gateway ${p.gateway}`;
    this.runsOnEl.dataset.gateway = p.gateway;
    this.runsOnEl.textContent = p.local
      ? `Commands run on gateway ${p.gateway} (this one)`
      : `Commands run on gateway ${p.gateway}, relayed by the fleet broker`;
  }

  /** per reading: memory only */
  reading(r: ReadingMessage): void {
    if (r.ts > this.lastTs) this.lastTs = r.ts;
    const values = r.values;
    let omitted = 0;
    for (const k in values) {
      const v = values[k]!;
      let m = this.metrics.get(k);
      if (!m) {
        // the first fields that came keep their place: a device with thousands, or with names
        // that change with every message, must not grow the page without end
        if (this.metrics.size >= DASHBOARD_FIELDS) {
          omitted++;
          continue;
        }
        this.metrics.set(k, (m = { value: v, dirty: true }));
      }
      m.value = v;
      m.dirty = true;
      if (typeof v === 'number' && Number.isFinite(v)) (m.series ??= this.newSeries()).push(r.ts, v);
    }
    this.omitted = omitted;
    this.lines.push(consoleLine(r));
    this.consoleDirty = this.dirty = true;
  }

  /** A history answer: each chart is drawn again from it (history-fill.ts), so a reload draws the curve it drew before. */
  history(h: HistoryMessage): void {
    let room = DASHBOARD_FIELDS - this.metrics.size;
    const { series, newest } = fillFromHistory(
      h,
      () => this.newSeries(),
      (name) => this.metrics.get(name)?.series,
      (name) => this.metrics.has(name) || room-- > 0,
    );
    for (const [name, s] of series) {
      let m = this.metrics.get(name);
      if (!m) this.metrics.set(name, (m = { value: undefined, dirty: false }));
      m.series = s;
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

  /** a line of our own in the console (commands and their answers: a device's reply is as long as it likes) */
  note(line: string): void {
    this.lines.push(clip(line, DASHBOARD_LINE_CHARACTERS));
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
    const note =
      this.omitted === 0
        ? ''
        : `${this.omitted} more field${this.omitted === 1 ? '' : 's'} of the last reading not shown (the first ${DASHBOARD_FIELDS} that came are)`;
    if (this.omittedEl.textContent !== note) {
      this.omittedEl.textContent = note;
      this.omittedEl.hidden = note === '';
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

  /**
   * A device known only by its readings, derived from `parent`'s topic: the gateway routes no
   * command to it (it would answer unknown_device), so instead of a command row the view links to
   * the device that has its state and takes its commands.
   */
  derivedFrom(parent: string | undefined, href: (device: string) => string): void {
    if (parent === this.parent) return;
    this.parent = parent;
    this.parentEl?.remove();
    this.parentEl = undefined;
    if (parent === undefined) return;
    this.form.remove();
    const p = (this.parentEl = el('p', { class: 'runs-on', 'data-testid': `derived-${this.id}` }, 'Derived from the topic of '));
    p.append(el('a', { href: href(parent), 'data-device': parent }, parent), document.createTextNode(': its state and commands are that device’s.'));
    this.el.insertBefore(p, this.details);
  }

  /** an operator gets the command row, a viewer none (the gateway refuses a viewer's command anyway) */
  setOperator(operator: boolean): void {
    if (operator && this.parent === undefined && !this.form.isConnected) this.el.insertBefore(this.form, this.details);
    else if (!operator) this.form.remove();
  }

  /** a command's outcome; the reply is the device's line (up to its maxLineBytes), shown as a value is */
  showResult(status: 'pending' | 'ok' | 'error', text: string): void {
    this.resultEl.dataset.status = status;
    this.resultEl.textContent = clip(text, DASHBOARD_VALUE_CHARACTERS);
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
