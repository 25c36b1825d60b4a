/**
 * One device in the overview: a link (focusable, Enter opens the detailed view) holding its name,
 * state, the age of its last reading, its latest values and a sparkline per numeric field over
 * the last SPARK_WINDOW_MS. `reading()` runs per reading and only updates memory (bounded: one
 * Series of SPARK_POINTS per field, at most MAX_FIELDS fields); `render()` touches the DOM at most
 * every VALUES_MS, a sparkline at most every SPARK_MS: 50 tiles at 20 readings/s each cost about
 * 200 text updates and 50 polylines a second, not 1,000 of each.
 */
import type { DeviceState, HistoryMessage, ReadingMessage, Values } from '../src/client/index.js';
import { Cadence } from './cadence.js';
import { el } from './dom.js';
import { formatAge, formatShort } from './format.js';
import { fillFromHistory } from './history-fill.js';
import { Series } from './series.js';
import { Sparkline } from './sparkline.js';

export const SPARK_WINDOW_MS = 5 * 60_000;
/** points per sparkline (5 s buckets over 5 min): also what the overview's history request asks for */
export const SPARK_POINTS = 60;
const VALUES_MS = 250;
const SPARK_MS = 1_000;
/** fields shown per tile: a tile is a glance, the detailed view has them all */
const MAX_FIELDS = 4;

interface Field {
  value: Values[string] | undefined;
  series?: Series;
  row?: HTMLElement;
  valueEl?: HTMLElement;
  spark?: Sparkline;
}

export class Tile {
  /** the list item; hidden by the filter */
  readonly el: HTMLLIElement;
  readonly link: HTMLAnchorElement;
  private readonly stateEl: HTMLElement;
  private readonly ageEl: HTMLElement;
  private readonly fieldsEl: HTMLElement;
  private readonly fields = new Map<string, Field>();
  private readonly cadence = new Cadence();
  private state: DeviceState | undefined;
  private silent = false;
  /** the newest reading (gateway clock), handed to the detailed view when it opens */
  last: ReadingMessage | undefined;
  private lastTs = 0;
  private valuesDirty = false;
  private sparkDirty = false;
  private valuesAt = -Infinity;
  private sparkAt = -Infinity;
  private ageText = '';
  /** how many devices derived from this one's topic have come (0: none, no note) */
  private derived = 0;
  private derivedEl: HTMLElement | undefined;

  constructor(
    readonly id: string,
    /** the gateway whose group holds it */
    readonly gateway: string,
    href: string,
  ) {
    const name = id.startsWith(`${gateway}/`) ? id.slice(gateway.length + 1) : id;
    this.el = el('li');
    this.link = el('a', { class: 'tile', href, 'data-testid': `tile-${id}`, 'data-device': id, 'data-state': 'unknown' });
    const head = el('span', { class: 't-head' });
    head.append(
      el('span', { class: 't-name', title: id }, name),
      (this.stateEl = el('span', { class: 't-state', 'data-testid': `tile-state-${id}` }, '…')),
      (this.ageEl = el('span', { class: 't-age', 'data-testid': `tile-age-${id}` })),
    );
    this.fieldsEl = el('span', { class: 't-fields' });
    this.link.append(head, this.fieldsEl);
    this.el.append(this.link);
  }

  /** what the filter matches: the id, its gateway, its state, "silent" */
  matches(words: readonly string[]): boolean {
    if (words.length === 0) return true;
    const hay = `${this.id} ${this.gateway} ${this.state ?? ''}${this.silent ? ' silent' : ''}`.toLowerCase();
    return words.every((w) => hay.includes(w));
  }

  get down(): boolean {
    return this.state === 'down';
  }

  get isSilent(): boolean {
    return this.silent;
  }

  /** per reading: memory only */
  reading(r: ReadingMessage): void {
    if (r.ts >= this.lastTs) {
      this.lastTs = r.ts;
      this.last = r;
    }
    this.cadence.observe(r.ts);
    const values = r.values;
    for (const k in values) {
      let f = this.fields.get(k);
      if (!f) {
        if (this.fields.size >= MAX_FIELDS) continue;
        this.fields.set(k, (f = { value: undefined }));
      }
      const v = values[k]!;
      f.value = v;
      if (typeof v === 'number' && Number.isFinite(v)) {
        (f.series ??= newSeries()).push(r.ts, v);
        this.sparkDirty = true;
      }
    }
    this.valuesDirty = true;
  }

  /** the overview's history answer: the sparklines from the last SPARK_WINDOW_MS, and the device's usual pace */
  history(h: HistoryMessage): void {
    let room = MAX_FIELDS - this.fields.size;
    const { series, newest } = fillFromHistory(
      h,
      newSeries,
      (name) => this.fields.get(name)?.series,
      (name) => this.fields.has(name) || room-- > 0,
    );
    for (const [name, s] of series) {
      let f = this.fields.get(name);
      if (!f) {
        if (this.fields.size >= MAX_FIELDS) continue;
        this.fields.set(name, (f = { value: undefined }));
      }
      f.series = s;
    }
    // the busiest of the last two buckets (the newest may be a minute just begun) gives the pace when no raw points came
    const recent = h.buckets.slice(-2).sort((a, b) => b.count - a.count)[0];
    this.cadence.seed(
      h.points.map((p) => p.ts),
      recent && recent.count > 1 ? recent.span / recent.count : undefined,
    );
    if (newest > this.lastTs) this.lastTs = newest;
    this.sparkDirty = this.valuesDirty = true;
  }

  /**
   * An MQTT device with `idFromTopicSegment`: its readings come as other ids (`fleet-dev07`), each
   * a tile of its own; this one says so instead of staying an empty tile.
   */
  setDerived(n: number): void {
    if (n === this.derived) return;
    this.derived = n;
    if (n === 0) {
      this.derivedEl?.remove();
      this.derivedEl = undefined;
      return;
    }
    this.derivedEl ??= el('span', { class: 't-derived', 'data-testid': `tile-derived-${this.id}` });
    if (!this.derivedEl.isConnected) this.link.append(this.derivedEl);
    this.derivedEl.textContent = `readings as ${n} device${n === 1 ? '' : 's'} ${this.id}-…`;
  }

  setState(state: DeviceState, reason?: string): void {
    this.state = state;
    this.link.dataset.state = state;
    if (state === 'down' && this.silent) {
      this.silent = false;
      delete this.link.dataset.flag;
    }
    this.stateEl.textContent = state;
    this.link.title = reason ? `${this.id}: ${reason}` : '';
  }

  /**
   * Per animation frame while the overview is shown; returns true while something waits for a
   * later frame (the throttles).
   */
  render(now: number): boolean {
    if (this.valuesDirty && now - this.valuesAt >= VALUES_MS) {
      this.valuesDirty = false;
      this.valuesAt = now;
      for (const [name, f] of this.fields) {
        if (!f.row) this.addRow(name, f);
        if (f.value === undefined) continue;
        const text = formatShort(f.value);
        if (f.valueEl!.textContent !== text) f.valueEl!.textContent = text;
      }
    }
    if (this.sparkDirty && now - this.sparkAt >= SPARK_MS) {
      this.sparkDirty = false;
      this.sparkAt = now;
      for (const f of this.fields.values()) if (f.series && f.spark) f.spark.draw(f.series, this.lastTs, SPARK_WINDOW_MS);
    }
    return this.valuesDirty || this.sparkDirty;
  }

  /** once a second: the age, and whether the device is quieter than it usually is; true when the silent flag changed */
  tick(now: number): boolean {
    if (this.lastTs > 0) {
      const text = formatAge(now - this.lastTs, true);
      if (text !== this.ageText) this.ageEl.textContent = this.ageText = text;
    }
    // the silence that flags this device, once its pace is known (until then it is never flagged):
    // whole seconds, so that the median's jitter does not rewrite the DOM every tick
    const limit = this.cadence.limit();
    const after = limit === undefined ? undefined : String(Math.round(limit / 1000));
    if (after !== this.link.dataset.silentAfter) {
      if (after === undefined) delete this.link.dataset.silentAfter;
      else this.link.dataset.silentAfter = after;
    }
    const silent = this.state === 'up' && this.cadence.silent(now);
    if (silent === this.silent) return false;
    this.silent = silent;
    // "silent" takes the place of "up": the one word a glance needs
    this.stateEl.textContent = silent ? 'silent' : (this.state ?? '…');
    if (silent) this.link.dataset.flag = 'silent';
    else delete this.link.dataset.flag;
    return true;
  }

  private addRow(name: string, f: Field): void {
    f.row = el('span', { class: 't-row', 'data-field': name });
    f.row.append(el('span', { class: 't-k' }, name), (f.valueEl = el('span', { class: 't-v', 'data-testid': `tile-value-${this.id}-${name}` }, '–')));
    if (f.series) {
      f.spark = new Sparkline();
      f.row.append(f.spark.el);
      this.sparkDirty = true;
    }
    this.fieldsEl.append(f.row);
  }
}

const newSeries = () => new Series(SPARK_POINTS, SPARK_WINDOW_MS / SPARK_POINTS);
