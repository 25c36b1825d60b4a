/**
 * The overview: one tile per device, grouped by the gateway that owns it (this page's gateway
 * first, then the fleet's others by name), each group with its gateway's presence and counts; a
 * filter box; a summary line. Tiles are kept in id order within their group. The DOM work is the
 * tiles' own (Tile.render, at most a few times a second each) plus a relabel of the group heads
 * once a second and whenever a tile comes or goes.
 *
 * A device the hello does not list but whose readings come (an MQTT id derived from a topic,
 * derived.ts) gets a tile like any other, counted like any other, with the up/down state of the
 * configured device it comes from; a new session keeps it while that device is listed. The
 * configured device keeps its tile (its state, and its commands in the detailed view), which says
 * how many devices its readings come as.
 */
import type { DeviceInfo, DeviceState, GatewayPresence, HistoryMessage, ReadingMessage } from '../src/client/index.js';
import { DASHBOARD_VALUE_CHARACTERS } from '../src/bounds.js';
import { parentOf } from './derived.js';
import { el } from './dom.js';
import { clip } from './format.js';
import { Tile } from './tile.js';

interface Group {
  id: string;
  el: HTMLElement;
  list: HTMLElement;
  presenceEl: HTMLElement;
  countEl: HTMLElement;
  tiles: Tile[];
}

/** a device the gateway lists: the hello says its source, a later state message does not */
interface Listed {
  source?: DeviceInfo['source'];
  gateway?: string;
  state: DeviceState;
  reason?: string;
}

const byId = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

export class Overview {
  private readonly tiles = new Map<string, Tile>();
  private readonly groups = new Map<string, Group>();
  private readonly presence = new Map<string, GatewayPresence>();
  /** the gateway this page is connected to (hello.gateway) and whether the session is open */
  private local = '';
  private connected = false;
  private words: string[] = [];
  /** the devices the gateway lists (hello, then state messages): their source and state */
  private readonly listed = new Map<string, Listed>();
  /** derived id → the listed device it comes from */
  private readonly parents = new Map<string, string>();
  readonly dirty = new Set<Tile>();

  constructor(
    private readonly root: HTMLElement,
    private readonly summaryEl: HTMLElement,
    private readonly href: (device: string) => string,
    /** a tile was added (a device listed, or first seen in a reading): its sparklines want the history */
    private readonly onTile: (id: string) => void = () => {},
  ) {}

  get size(): number {
    return this.tiles.size;
  }

  ids(): string[] {
    return [...this.tiles.keys()];
  }

  tile(id: string): Tile | undefined {
    return this.tiles.get(id);
  }

  /** a new session: its gateway, the fleet's presence and the device list (tiles of devices it no longer lists go) */
  hello(gateway: string, devices: readonly DeviceInfo[], gateways: readonly GatewayPresence[] = []): void {
    this.local = gateway;
    this.presence.clear();
    for (const p of gateways) this.presence.set(p.id, p);
    const listed = this.listed;
    listed.clear();
    for (const d of devices) listed.set(d.id, d);
    for (const [id, t] of this.tiles) {
      const d = listed.get(id);
      if (d && this.groupOf(id, d.gateway) === t.gateway) continue;
      // a derived device stays while the device it comes from is listed (in the same group)
      const parent = d ? undefined : parentOf(id, listed);
      if (parent !== undefined && this.groupOf(parent, listed.get(parent)!.gateway) === t.gateway) {
        this.parents.set(id, parent);
        continue;
      }
      this.remove(t);
    }
    for (const d of devices) this.ensure(d.id, d.gateway).setState(d.state, d.reason);
    for (const [id, parent] of this.parents) this.inherit(this.tiles.get(id)!, parent);
    this.noteDerived();
    this.relabel();
  }

  setConnected(open: boolean): void {
    this.connected = open;
    this.relabel();
  }

  setPresence(p: GatewayPresence): void {
    this.presence.set(p.id, p);
    this.ensureGroup(p.id);
    this.relabel();
  }

  /** per reading: memory, and the group heads when the reading brought a device not seen before */
  reading(r: ReadingMessage): void {
    const known = this.tiles.size;
    const t = this.ensure(r.device);
    t.reading(r);
    this.dirty.add(t);
    if (this.tiles.size === known) return;
    const parent = parentOf(r.device, this.listed);
    if (parent !== undefined) {
      this.parents.set(r.device, parent);
      this.inherit(t, parent);
      this.noteDerived();
    }
    this.applyFilter(t);
    this.relabel();
  }

  history(h: HistoryMessage): void {
    const t = this.tiles.get(h.device);
    if (!t) return;
    t.history(h);
    this.dirty.add(t);
  }

  setState(device: string, state: DeviceState, reason?: string): void {
    const d = this.listed.get(device);
    // a state message names a listed device (a fleet gateway's devices come this way after the hello)
    this.listed.set(device, { ...d, state, reason });
    // an id first seen in a reading that the gateway now names itself is no derived one
    if (this.parents.delete(device)) this.noteDerived();
    const t = this.ensure(device);
    t.setState(state, reason);
    this.applyFilter(t);
    for (const [id, parent] of this.parents) {
      if (parent !== device) continue;
      const c = this.tiles.get(id)!;
      this.inherit(c, parent);
      this.applyFilter(c);
    }
    this.relabel();
  }

  /** the listed device a derived tile comes from, for the detailed view (undefined for a listed one) */
  parent(id: string): string | undefined {
    return this.parents.get(id);
  }

  /** the filter box: every word must match the id, the gateway or the state ("down", "silent") */
  filter(text: string): void {
    this.words = text.toLowerCase().split(/\s+/).filter(Boolean);
    for (const t of this.tiles.values()) this.applyFilter(t);
    this.relabel();
  }

  /** per animation frame while shown: true while a tile waits for a later frame */
  render(now: number): boolean {
    const again: Tile[] = [];
    for (const t of this.dirty) if (t.render(now)) again.push(t);
    this.dirty.clear();
    for (const t of again) this.dirty.add(t);
    return again.length > 0;
  }

  /** once a second */
  tick(now: number): void {
    let flagged = false;
    for (const t of this.tiles.values()) {
      if (t.tick(now)) {
        flagged = true;
        this.applyFilter(t);
      }
    }
    if (flagged) this.relabel();
  }

  private groupOf(id: string, gateway?: string): string {
    if (gateway !== undefined) return gateway;
    // a device the hello did not list (an MQTT id derived from a topic): a remote one names its owner
    const slash = id.indexOf('/');
    return slash > 0 ? id.slice(0, slash) : this.local;
  }

  private ensure(id: string, gateway?: string): Tile {
    let t = this.tiles.get(id);
    if (t) return t;
    const g = this.ensureGroup(this.groupOf(id, gateway));
    t = new Tile(id, g.id, this.href(id));
    this.tiles.set(id, t);
    const at = g.tiles.findIndex((o) => byId(o.id, id) > 0);
    if (at < 0) {
      g.tiles.push(t);
      g.list.append(t.el);
    } else {
      g.list.insertBefore(t.el, g.tiles[at]!.el);
      g.tiles.splice(at, 0, t);
    }
    this.applyFilter(t);
    this.onTile(id);
    return t;
  }

  /** a derived tile shows the state of the device it comes from */
  private inherit(t: Tile, parent: string): void {
    const p = this.listed.get(parent);
    if (p) t.setState(p.state, p.reason ?? `state of ${parent}`);
  }

  /** each configured device with derived ones says how many its readings come as */
  private noteDerived(): void {
    const counts = new Map<string, number>();
    for (const parent of this.parents.values()) counts.set(parent, (counts.get(parent) ?? 0) + 1);
    for (const [id, t] of this.tiles) t.setDerived(counts.get(id) ?? 0);
  }

  private remove(t: Tile): void {
    this.tiles.delete(t.id);
    this.parents.delete(t.id);
    this.dirty.delete(t);
    t.el.remove();
    const g = this.groups.get(t.gateway);
    if (!g) return;
    g.tiles.splice(g.tiles.indexOf(t), 1);
    if (g.tiles.length === 0 && !this.presence.has(g.id)) {
      g.el.remove();
      this.groups.delete(g.id);
    }
  }

  private ensureGroup(id: string): Group {
    let g = this.groups.get(id);
    if (g) return g;
    const headingId = `gw-${id}`;
    const section = el('section', { class: 'group', 'data-testid': `group-${id}`, 'data-gateway': id, 'aria-labelledby': headingId });
    const head = el('header', { class: 'g-head' });
    const presenceEl = el('span', { class: 'presence', 'data-testid': `presence-${id}` });
    const countEl = el('span', { class: 'g-count', 'data-testid': `group-count-${id}` });
    head.append(el('h2', { id: headingId }, id), presenceEl, countEl);
    const list = el('ul', { class: 'tiles', 'aria-label': `Devices of gateway ${id}` });
    section.append(head, list);
    g = { id, el: section, list, presenceEl, countEl, tiles: [] };
    this.groups.set(id, g);
    // this page's gateway first, the others by name
    const order = [...this.groups.keys()].sort((a, b) => (a === this.local ? -1 : b === this.local ? 1 : byId(a, b)));
    const next = order[order.indexOf(id) + 1];
    this.root.insertBefore(section, next === undefined ? null : this.groups.get(next)!.el);
    return g;
  }

  private applyFilter(t: Tile): void {
    const hide = !t.matches(this.words);
    if (t.el.hidden !== hide) t.el.hidden = hide;
  }

  /** group heads (presence, counts, hidden when the filter leaves none) and the summary line */
  private relabel(): void {
    let shown = 0;
    let down = 0;
    let silent = 0;
    for (const g of this.groups.values()) {
      let gShown = 0;
      let gDown = 0;
      for (const t of g.tiles) {
        if (!t.el.hidden) gShown++;
        if (t.down) gDown++;
        if (t.isSilent) silent++;
      }
      shown += gShown;
      down += gDown;
      const p = this.presenceOf(g.id);
      g.el.dataset.presence = p.state;
      setText(g.presenceEl, p.text);
      g.presenceEl.title = p.reason ?? '';
      setText(g.countEl, `${g.tiles.length} device${g.tiles.length === 1 ? '' : 's'}${gDown > 0 ? ` · ${gDown} down` : ''}`);
      // a filter hides groups it leaves empty; without one, an online gateway with no devices still shows (an
      // offline one without devices is one this gateway no longer federates with: its devices went with it)
      const hide = gShown === 0 && (this.words.length > 0 || this.presence.get(g.id)?.state !== 'online');
      if (g.el.hidden !== hide) g.el.hidden = hide;
    }
    const total = this.tiles.size;
    const parts = [this.words.length > 0 ? `${shown} of ${total} devices` : `${total} device${total === 1 ? '' : 's'}`];
    if (down > 0) parts.push(`${down} down`);
    if (silent > 0) parts.push(`${silent} silent`);
    setText(this.summaryEl, parts.join(' · '));
  }

  private presenceOf(id: string): { state: string; text: string; reason?: string } {
    if (id === this.local) return this.connected ? { state: 'online', text: 'online · this gateway' } : { state: 'offline', text: 'not connected' };
    const p = this.presence.get(id);
    if (!p) return { state: 'unknown', text: 'presence unknown' };
    // the reason is another gateway's words (up to FLEET_MAX_TEXT): the head shows its start, the tooltip all of it
    return p.state === 'online'
      ? { state: 'online', text: 'online' }
      : { state: 'offline', text: `offline: ${clip(p.reason ?? '', DASHBOARD_VALUE_CHARACTERS)}`, reason: p.reason };
  }
}

function setText(e: HTMLElement, text: string): void {
  if (e.textContent !== text) e.textContent = text;
}
