/**
 * The dashboard: the typed client feeding the overview (a tile per device, grouped by gateway) and,
 * when the URL names a device (`?device=<id>`), its detailed view. Readings arrive at a sensor's pace
 * and only touch memory; the DOM is updated once per animation frame for what changed and is on
 * screen, so 1,000 readings/s cost the same number of paints as 10.
 *
 * Sparklines are filled from the gateway's history on every session (a small request per device,
 * paced below the gateway's request rate); the detailed view's charts from the history over the
 * range picked in the header (5 min, 1 h, 24 h; `?range=ms`), then the live tail is appended. A
 * request the gateway refuses for a reason that passes (its history work spent by other viewers)
 * is asked again by the client (src/client/history.ts); a session's requests are aborted when it
 * ends, since the next one asks anew.
 *
 * Settings: `?protocol=json|cbor` (default CBOR, also switchable in the header), `?ws=/path`
 * when the gateway's server.path is not /ws, `?q=` the filter. A token entered in the prompt is
 * kept in sessionStorage (this tab only) and offered as the `bearer.<token>` subprotocol.
 */
import {
  checkToken,
  CommandFailedError,
  connect,
  HistoryFailedError,
  type ConnectionInfo,
  type DeviceInfo,
  type Encoding,
  type HelloMessage,
  type ReadingMessage,
  type SerialgateClient,
} from '../src/client/index.js';
import { DASHBOARD_GAP_REFILL_MS } from '../src/bounds.js';
import { DeviceView, POINTS, WINDOW_MS, type Placement } from './device-view.js';
import { GatewayClock } from './clock.js';
import { connectionText } from './format.js';
import { Overview } from './overview.js';
import { Pacer } from './pacer.js';
import { SPARK_POINTS, SPARK_WINDOW_MS } from './tile.js';

const TOKEN_KEY = 'serialgate.token';
const PROTOCOL_KEY = 'serialgate.protocol';
const RANGE_KEY = 'serialgate.range';
const RANGES = [5 * 60_000, 60 * 60_000, 24 * 60 * 60_000];
/**
 * Sparkline history requests share the gateway's request rate (hub.commandRate, 20/s with a burst
 * of 40 by default) with commands: a burst of SPARK_BURST, then one every SPARK_EVERY_MS (pacer.ts),
 * leaves room for a command while 50 devices fill in about 3 s, and so do devices that appear later
 * (derived from a topic, a fleet gateway's): each is asked for when its tile comes.
 */
const SPARK_BURST = 16;
const SPARK_EVERY_MS = 80;
/** a slow consumer's gaps come in a burst while it drains: the chart's history is asked once they stopped */
const GAP_SETTLE_MS = 1_000;

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const connEl = $('conn');
const gatewayEl = $('gateway');
const roleEl = $('role');
const rateEl = $('rate');
const overviewEl = $('overview');
const detailEl = $('detail');
const devicesEl = $('devices');
const filterInput = $<HTMLInputElement>('filter');
const protocolSel = $<HTMLSelectElement>('protocol');
const rangeSel = $<HTMLSelectElement>('range');
const rangeLabel = $('range-label');
const tokenForm = $<HTMLFormElement>('token-form');
const tokenInput = $<HTMLInputElement>('token-input');
const tokenMessage = $('token-message');

const params = new URLSearchParams(location.search);
const wsPath = params.get('ws') ?? '/ws';
const url = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}${wsPath.startsWith('/') ? wsPath : '/ws'}`;
const protocol: Encoding = (params.get('protocol') ?? sessionStorage.getItem(PROTOCOL_KEY)) === 'json' ? 'json' : 'cbor';
protocolSel.value = protocol;
const storedRange = Number(params.get('range') ?? sessionStorage.getItem(RANGE_KEY));
let windowMs = RANGES.includes(storedRange) ? storedRange : WINDOW_MS;
rangeSel.value = String(windowMs);

/** the page's URL with `key` set (or removed): the overview, a device, a filter are addresses */
function urlWith(key: string, value: string | undefined): string {
  const u = new URL(location.href);
  if (value === undefined || value === '') u.searchParams.delete(key);
  else u.searchParams.set(key, value);
  return `${u.pathname}${u.search}`;
}

const deviceHref = (id: string) => urlWith('device', id);
const overview = new Overview($('groups'), $('summary'), deviceHref, (id) => sparks?.add(id));
/** the detailed view of the device the URL names, if any: the only uPlot charts on the page */
let detail: DeviceView | undefined;
let detailDirty = false;
/** devices as the hello listed them (source, owning gateway) */
const known = new Map<string, DeviceInfo>();
let gatewayId = '';
/** the gateway's clock (readings' ts, history ranges), which the browser's may be far from */
const clock = new GatewayClock();
/** per device: the last seq shown, to prove no reading is shown twice or out of order */
const lastShown = new Map<string, number>();
const stats = {
  readings: 0,
  nonIncreasing: 0,
  frames: 0,
  cspViolations: 0,
  histories: 0,
  historyErrors: 0,
  sparkHistories: 0,
  sparkHistoryErrors: 0,
};
/** the seqs shown, newest last (bounded), for tests and the debug hook */
const shownLog: number[] = [];
/** connection states seen, newest last (bounded), for tests and the debug hook */
const stateLog: string[] = [];
let role: HelloMessage['role'] | undefined;
let info: ConnectionInfo = { state: 'connecting', failures: 0, refused: false };
let frameQueued = false;
let rateCount = 0;
/** a session was open with the current token since the page loaded or the token changed */
let everOpen = false;
/** the token form was opened by a refusal, not by the user */
let autoPrompted = false;
/**
 * The history requests of the current session (sparklines): aborted when it ends, so that neither
 * the client's resend on the next session nor its retries pile old requests onto the new one's.
 */
let session: AbortController | undefined;
/** the current session's sparkline requests, one per tile, paced */
let sparks: Pacer | undefined;
/** the open view's chart request: another range, another view or the session's end drops it */
let chartLoad: AbortController | undefined;
/** the newest seq the open chart's last history request covers (a `gap` up to it is filled), and when it was asked (browser clock) */
let historyUpTo = 0;
let historyAt = -Infinity;
/** the chart's history asked again after a gap, once the stream settled */
let gapRefill: ReturnType<typeof setTimeout> | undefined;

document.addEventListener('securitypolicyviolation', () => stats.cspViolations++);

function storedToken(): string | undefined {
  const t = sessionStorage.getItem(TOKEN_KEY);
  if (!t) return undefined;
  try {
    checkToken(t);
    return t;
  } catch {
    sessionStorage.removeItem(TOKEN_KEY);
    return undefined;
  }
}

function placement(id: string): Placement {
  const d = known.get(id);
  const slash = id.indexOf('/');
  const gateway = d?.gateway ?? (slash > 0 ? id.slice(0, slash) : gatewayId);
  return { source: d?.source ?? '', gateway, local: gateway === gatewayId };
}

// ---- rendering ----

function frame(now: number): void {
  frameQueued = false;
  stats.frames++;
  let again = false;
  if (!overviewEl.hidden) again = overview.render(now);
  if (detail && detailDirty) again = (detailDirty = detail.render(now)) || again;
  if (again) requestFrame();
}

function requestFrame(): void {
  if (frameQueued) return;
  frameQueued = true;
  requestAnimationFrame(frame);
}

function markDetail(): void {
  detailDirty = true;
  requestFrame();
}

// ---- the URL: which device is open ----

/** Shows what the URL names: the overview, or one device's detailed view. */
function route(): void {
  const id = new URLSearchParams(location.search).get('device') ?? undefined;
  if (id === detail?.id) return;
  const closed = detail?.id;
  if (detail) {
    chartLoad?.abort();
    detail.el.remove();
    detail = undefined;
  }
  if (id === undefined) {
    detailEl.hidden = rangeLabel.hidden = true;
    overviewEl.hidden = false;
    document.title = 'serialgate';
    requestFrame();
    // back where the user left: the tile of the device that was open
    if (closed !== undefined) overview.tile(closed)?.link.focus();
    return;
  }
  overviewEl.hidden = true;
  detailEl.hidden = rangeLabel.hidden = false;
  document.title = `${id} · serialgate`;
  const v = new DeviceView(id, placement(id), runCommand);
  detail = v;
  v.setWindow(windowMs);
  v.derivedFrom(overview.parent(id), deviceHref);
  v.setOperator(role === 'operator');
  const d = known.get(overview.parent(id) ?? id);
  if (d) v.setState(d.state, d.reason);
  const last = overview.tile(id)?.last;
  if (last) v.reading(last);
  devicesEl.append(v.el);
  v.heading.focus();
  window.scrollTo(0, 0);
  markDetail();
  if (client.state === 'open') loadHistory(v);
}

function navigate(id: string | undefined): void {
  history.pushState({ fromOverview: id !== undefined }, '', urlWith('device', id));
  route();
}

// a tile is a link (middle-click, copy address, open in a new tab all work); a plain click stays in the page
$('groups').addEventListener('click', (ev) => {
  if (ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  const a = (ev.target as Element).closest<HTMLAnchorElement>('a.tile');
  if (!a?.dataset.device) return;
  ev.preventDefault();
  navigate(a.dataset.device);
});
// the detailed view of a derived device links to the one it comes from
detailEl.addEventListener('click', (ev) => {
  if (ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  const a = (ev.target as Element).closest<HTMLAnchorElement>('a[data-device]');
  if (!a?.dataset.device) return;
  ev.preventDefault();
  navigate(a.dataset.device);
});
$('back').addEventListener('click', (ev) => {
  ev.preventDefault();
  closeDetail();
});
window.addEventListener('popstate', route);
document.addEventListener('keydown', (ev) => {
  // keys typed into a field are the field's (Escape clears a search box, '/' is part of a command)
  const typing = ['INPUT', 'SELECT', 'TEXTAREA'].includes(document.activeElement?.tagName ?? '');
  if (typing) return;
  if (ev.key === 'Escape' && detail) closeDetail();
  else if (ev.key === '/' && !detail) {
    ev.preventDefault();
    filterInput.focus();
  }
});

/** back to the overview: the browser's back when the overview opened the device (its scroll position comes back too) */
function closeDetail(): void {
  if ((history.state as { fromOverview?: boolean } | null)?.fromOverview) history.back();
  else navigate(undefined);
}

filterInput.value = params.get('q') ?? '';
overview.filter(filterInput.value);
filterInput.addEventListener('input', () => {
  overview.filter(filterInput.value);
  history.replaceState(history.state, '', urlWith('q', filterInput.value.trim()));
});

// ---- the session ----

function onReading(r: ReadingMessage): void {
  clock.reading(r.ts);
  stats.readings++;
  rateCount++;
  const prev = lastShown.get(r.device) ?? -1;
  if (r.seq <= prev) stats.nonIncreasing++;
  lastShown.set(r.device, r.seq);
  shownLog.push(r.seq);
  if (shownLog.length > 1000) shownLog.shift();
  overview.reading(r);
  if (detail?.id === r.device) {
    // a derived device's first reading says where it comes from
    detail.derivedFrom(overview.parent(r.device), deviceHref);
    detail.reading(r);
    detailDirty = true;
  }
  requestFrame();
}

function onHello(h: HelloMessage): void {
  role = h.role;
  gatewayId = h.gateway;
  gatewayEl.textContent = h.gateway;
  roleEl.textContent = h.role === 'operator' ? 'operator' : 'viewer · commands need an operator token';
  document.body.dataset.role = h.role;
  known.clear();
  for (const d of h.devices) known.set(d.id, d);
  // the previous session's were aborted when it ended (onState)
  const current = (session = new AbortController());
  overview.hello(h.gateway, h.devices, h.gateways);
  overview.setConnected(true);
  if (detail) {
    detail.place(placement(detail.id));
    detail.derivedFrom(overview.parent(detail.id), deviceHref);
    detail.setOperator(h.role === 'operator');
    const d = known.get(overview.parent(detail.id) ?? detail.id);
    if (d) detail.setState(d.state, d.reason);
  }
  // the request below covers every reading up to here: a resume's gap, which comes before it is sent, asks nothing more
  historyUpTo = Math.max(historyUpTo, h.seq);
  // History ranges are in the gateway's clock (a restarted gateway may have another): asked once it is known.
  void clock.sync(location.pathname).then(() => {
    if (current.signal.aborted) return;
    // every tile asks for its sparklines' history: those known now here, those first seen in a
    // reading (derived from a topic) when they come
    sparks = sparklines(current.signal);
    for (const id of overview.ids()) sparks.add(id);
    // every session (page load, reconnect, gateway restart) refills the charts from the history
    if (detail) loadHistory(detail);
  });
}

/** The open view's history over its range; a range change, another view or a new session aborts it. */
function loadHistory(v: DeviceView): void {
  chartLoad?.abort();
  clearTimeout(gapRefill);
  gapRefill = undefined;
  const { signal } = (chartLoad = new AbortController());
  const to = clock.now();
  // every reading numbered so far is in the answer: a gap up to here is filled by it
  historyUpTo = Math.max(client.lastSeq, client.hello?.seq ?? 0);
  historyAt = Date.now();
  client.history(v.id, { from: to - windowMs, to, maxPoints: POINTS }, { signal }).then(
    (h) => {
      stats.histories++;
      v.history(h);
      markDetail();
    },
    (err: Error) => {
      if (aborted(err)) return;
      stats.historyErrors++;
      console.info(`serialgate: no history for ${v.id}: ${err.message}`);
    },
  );
}

/** A tile's sparklines from the last SPARK_WINDOW_MS, paced (SPARK_BURST, SPARK_EVERY_MS), for this session only. */
function sparklines(signal: AbortSignal): Pacer {
  const ask = (id: string): void => {
    if (signal.aborted) return;
    const to = clock.now();
    client.history(id, { from: to - SPARK_WINDOW_MS, to, maxPoints: SPARK_POINTS }, { signal }).then(
      (h) => {
        stats.sparkHistories++;
        overview.history(h);
        requestFrame();
      },
      (err: Error) => {
        if (aborted(err)) return;
        stats.sparkHistoryErrors++;
        console.info(`serialgate: no sparkline history for ${id}: ${err.message}`);
      },
    );
  };
  return new Pacer(ask, SPARK_BURST, SPARK_EVERY_MS);
}

/**
 * A `gap`: readings the gateway did not send this page (it fell behind: a busy tab, a slow link;
 * or a resume older than the gateway's buffer). The gateway recorded them in its history, so the
 * open chart asks for it again once the stream has settled, rather than drawing a straight line
 * where readings were; at most once per DASHBOARD_GAP_REFILL_MS, so a link too slow for the stream
 * is not handed a history answer after every gap. A gap the chart's last answer already covers
 * (a resume's, which the session's own request follows) asks nothing.
 */
function onGap(g: { from: number; to: number }): void {
  console.info(`serialgate: readings ${g.from}–${g.to} were not delivered (gap)`);
  if (!detail || g.to <= historyUpTo || gapRefill !== undefined) return;
  detail.note('… readings skipped while this page fell behind (gap): the charts are filled again from the history');
  markDetail();
  const wait = Math.max(GAP_SETTLE_MS, historyAt + DASHBOARD_GAP_REFILL_MS - Date.now());
  gapRefill = setTimeout(() => {
    gapRefill = undefined;
    if (detail && client.state === 'open') loadHistory(detail);
  }, wait);
}

/** a request this page dropped itself (its session, view or range ended): nothing to report */
const aborted = (err: Error): boolean => err instanceof HistoryFailedError && err.code === 'aborted';

/** The session ended (closing, reconnecting, closed): its requests would only be resent or retried into the next one, which asks anew. */
function endSession(): void {
  session?.abort();
  sparks?.stop();
  sparks = undefined;
  chartLoad?.abort();
  // the next session asks for the open chart's history anyway
  clearTimeout(gapRefill);
  gapRefill = undefined;
}

function renderConnection(): void {
  connEl.dataset.state = info.state;
  connEl.textContent = connectionText(info, Date.now());
  overview.setConnected(info.state === 'open');
  if (info.state === 'open') {
    everOpen = true;
    if (autoPrompted) tokenForm.hidden = true;
    autoPrompted = false;
  } else if (info.refused && !everOpen && (info.state === 'reconnecting' || info.state === 'closed')) {
    // A browser sees a refused token (401) and an unreachable gateway alike (close 1006). Before
    // the first open the likely cause is auth; after it, a gateway restart: only the button then.
    if (tokenForm.hidden) autoPrompted = true;
    showTokenForm('The gateway refused the connection (auth?). Enter a token:');
  }
}

function showTokenForm(message: string): void {
  if (!tokenForm.hidden) return;
  tokenMessage.textContent = message;
  tokenForm.hidden = false;
  tokenInput.focus();
}

async function runCommand(device: string, line: string): Promise<void> {
  const show = (status: 'pending' | 'ok' | 'error', text: string, note: string) => {
    if (detail?.id !== device) return;
    detail.showResult(status, text);
    detail.note(note);
    markDetail();
  };
  show('pending', `${line} …`, `> ${line}`);
  try {
    const ack = await client.command(device, line);
    show('ok', ack.reply ?? 'ok', `< ${ack.reply ?? 'ok'}`);
  } catch (err) {
    const code = err instanceof CommandFailedError ? err.code : 'error';
    const text = `${code}: ${(err as Error).message}`;
    show('error', text, `! ${text}`);
  }
}

const client: SerialgateClient = connect(url, {
  protocol,
  token: storedToken(),
  onReading,
  onHello,
  onState: (i) => {
    info = i;
    if (i.state !== 'open') endSession();
    stateLog.push(i.state);
    if (stateLog.length > 100) stateLog.shift();
    renderConnection();
  },
  onDeviceState: (s) => {
    const d = known.get(s.device);
    if (d) known.set(s.device, { ...d, state: s.state, reason: s.reason });
    overview.setState(s.device, s.state, s.reason);
    if (detail && (overview.parent(detail.id) ?? detail.id) === s.device) detail.setState(s.state, s.reason);
  },
  onPresence: (p) => overview.setPresence({ id: p.gateway, state: p.state, reason: p.reason }),
  onGap,
  onReset: (r) => {
    // A new stream: its seqs say nothing about the old one's, so the per-device order check starts
    // again. The charts keep their points (x is the gateway's receive time, which goes on).
    lastShown.clear();
    historyUpTo = 0;
    console.info(`serialgate: gateway restarted (stream ${r.previousEpoch} at seq ${r.previousSeq} → ${r.epoch} at seq ${r.seq})`);
  },
  onError: (e) => console.warn('serialgate:', 'error' in e ? `${e.error.code}: ${e.error.message}` : e.message),
});

route();

protocolSel.addEventListener('change', () => {
  const p: Encoding = protocolSel.value === 'json' ? 'json' : 'cbor';
  sessionStorage.setItem(PROTOCOL_KEY, p);
  client.reconnect({ protocol: p });
});

rangeSel.addEventListener('change', () => {
  const ms = Number(rangeSel.value);
  if (!RANGES.includes(ms)) return;
  windowMs = ms;
  sessionStorage.setItem(RANGE_KEY, String(ms));
  if (!detail) return;
  detail.setWindow(ms);
  markDetail();
  if (client.state === 'open') loadHistory(detail);
});

$('token-button').addEventListener('click', () => showTokenForm('Enter a token (kept for this tab only):'));
$('token-cancel').addEventListener('click', () => {
  tokenForm.hidden = true;
});
$('token-clear').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  tokenForm.hidden = true;
  everOpen = false;
  client.reconnect({ token: null });
});
tokenForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const t = tokenInput.value.trim();
  try {
    checkToken(t);
  } catch (err) {
    tokenMessage.textContent = (err as Error).message;
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, t);
  tokenInput.value = '';
  tokenForm.hidden = true;
  everOpen = false;
  client.reconnect({ token: t });
});

setInterval(() => {
  const now = clock.now();
  overview.tick(now);
  detail?.tick(now);
  rateEl.textContent = `${rateCount} readings/s`;
  rateCount = 0;
  if (info.state === 'reconnecting') renderConnection();
}, 1000);

let resizeQueued = false;
window.addEventListener('resize', () => {
  if (resizeQueued) return;
  resizeQueued = true;
  requestAnimationFrame(() => {
    resizeQueued = false;
    detail?.resize();
  });
});

/** Debug and test hook: counters, the client, chart contents of the open device. */
(window as unknown as { __sg: unknown }).__sg = {
  client,
  stats: () => ({ ...client.stats(), ...stats, tiles: overview.size, rejectedPoints: detail?.rejectedPoints() ?? 0 }),
  chartX: (device: string, metric: string) => (detail?.id === device ? detail.chartX(metric) : []),
  states: () => [...stateLog],
  shown: () => [...shownLog],
};
