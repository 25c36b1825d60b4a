/**
 * The dashboard: the typed client feeding device cards. Readings arrive at a sensor's pace and
 * only touch memory; the DOM and the charts are updated once per animation frame for the cards
 * that changed, so 1,000 readings/s cost the same number of paints as 10.
 *
 * Charts are filled from the gateway's history on every session (load, reconnect) for the range
 * picked in the header (5 min, 1 h, 24 h; `?range=ms`), then the live tail is appended.
 *
 * Settings: `?protocol=json|cbor` (default CBOR, also switchable in the header), `?ws=/path`
 * when the gateway's server.path is not /ws. A token entered in the prompt is kept in
 * sessionStorage (this tab only) and offered as the `bearer.<token>` subprotocol.
 */
import {
  checkToken,
  CommandFailedError,
  connect,
  type ConnectionInfo,
  type Encoding,
  type HelloMessage,
  type ReadingMessage,
  type SerialgateClient,
} from '../src/client/index.js';
import { DeviceView, POINTS, WINDOW_MS } from './device-view.js';
import { connectionText } from './format.js';

const TOKEN_KEY = 'serialgate.token';
const PROTOCOL_KEY = 'serialgate.protocol';
const RANGE_KEY = 'serialgate.range';
const RANGES = [5 * 60_000, 60 * 60_000, 24 * 60 * 60_000];

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const connEl = $('conn');
const gatewayEl = $('gateway');
const roleEl = $('role');
const rateEl = $('rate');
const devicesEl = $('devices');
const protocolSel = $<HTMLSelectElement>('protocol');
const rangeSel = $<HTMLSelectElement>('range');
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

const views = new Map<string, DeviceView>();
const dirty = new Set<DeviceView>();
/** per device: the last seq shown, to prove no reading is shown twice or out of order */
const lastShown = new Map<string, number>();
const stats = { readings: 0, nonIncreasing: 0, frames: 0, cspViolations: 0, histories: 0, historyErrors: 0 };
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

function view(id: string, source = ''): DeviceView {
  let v = views.get(id);
  if (!v) {
    v = new DeviceView(id, source, runCommand);
    v.setWindow(windowMs);
    v.setCommandsEnabled(role === 'operator');
    views.set(id, v);
    devicesEl.append(v.el);
  }
  return v;
}

function frame(now: number): void {
  frameQueued = false;
  stats.frames++;
  const again: DeviceView[] = [];
  for (const v of dirty) if (v.render(now)) again.push(v);
  dirty.clear();
  if (again.length > 0) {
    for (const v of again) dirty.add(v);
    requestFrame();
  }
}

function requestFrame(): void {
  if (frameQueued) return;
  frameQueued = true;
  requestAnimationFrame(frame);
}

function onReading(r: ReadingMessage): void {
  stats.readings++;
  rateCount++;
  const prev = lastShown.get(r.device) ?? -1;
  if (r.seq <= prev) stats.nonIncreasing++;
  lastShown.set(r.device, r.seq);
  shownLog.push(r.seq);
  if (shownLog.length > 1000) shownLog.shift();
  const v = view(r.device);
  v.reading(r);
  dirty.add(v);
  requestFrame();
}

function onHello(h: HelloMessage): void {
  role = h.role;
  gatewayEl.textContent = h.gateway;
  roleEl.textContent = h.role === 'operator' ? 'operator' : 'viewer · commands need an operator token';
  document.body.dataset.role = h.role;
  const ids = new Set(h.devices.map((d) => d.id));
  for (const [id, v] of views) {
    if (!ids.has(id)) {
      v.el.remove();
      views.delete(id);
    }
  }
  for (const d of h.devices) {
    const v = view(d.id, d.source);
    v.setState(d.state, d.reason);
    v.setCommandsEnabled(h.role === 'operator');
  }
  // every session (page load, reconnect, gateway restart) refills the charts from the history
  loadHistory();
}

/** Asks for the selected range of every device; an answer that comes after a range change is dropped. */
function loadHistory(): void {
  const range = windowMs;
  const to = Date.now();
  for (const id of views.keys()) {
    client.history(id, { from: to - range, to, maxPoints: POINTS }).then(
      (h) => {
        const v = views.get(id);
        if (!v || range !== windowMs) return;
        stats.histories++;
        v.history(h);
        dirty.add(v);
        requestFrame();
      },
      (err: Error) => {
        stats.historyErrors++;
        console.info(`serialgate: no history for ${id}: ${err.message}`);
      },
    );
  }
}

function renderConnection(): void {
  connEl.dataset.state = info.state;
  connEl.textContent = connectionText(info, Date.now());
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
  const v = view(device);
  v.showResult('pending', `${line} …`);
  v.note(`> ${line}`);
  dirty.add(v);
  try {
    const ack = await client.command(device, line);
    v.showResult('ok', ack.reply ?? 'ok');
    v.note(`< ${ack.reply ?? 'ok'}`);
  } catch (err) {
    const code = err instanceof CommandFailedError ? err.code : 'error';
    const text = `${code}: ${(err as Error).message}`;
    v.showResult('error', text);
    v.note(`! ${text}`);
  }
  dirty.add(v);
  requestFrame();
}

const client: SerialgateClient = connect(url, {
  protocol,
  token: storedToken(),
  onReading,
  onHello,
  onState: (i) => {
    info = i;
    stateLog.push(i.state);
    if (stateLog.length > 100) stateLog.shift();
    renderConnection();
  },
  onDeviceState: (s) => view(s.device).setState(s.state, s.reason),
  onGap: (g) => console.info(`serialgate: readings ${g.from}–${g.to} were not delivered (gap)`),
  onReset: (r) => {
    // A new stream: its seqs say nothing about the old one's, so the per-device order check starts
    // again. The charts keep their points (x is the gateway's receive time, which goes on).
    lastShown.clear();
    console.info(`serialgate: gateway restarted (stream ${r.previousEpoch} at seq ${r.previousSeq} → ${r.epoch} at seq ${r.seq})`);
  },
  onError: (e) => console.warn('serialgate:', 'error' in e ? `${e.error.code}: ${e.error.message}` : e.message),
});

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
  for (const v of views.values()) {
    v.setWindow(ms);
    dirty.add(v);
  }
  requestFrame();
  if (client.state === 'open') loadHistory();
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
  const now = Date.now();
  for (const v of views.values()) v.tick(now);
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
    for (const v of views.values()) v.resize();
  });
});

/** Debug and test hook: counters, the client, chart contents. */
(window as unknown as { __sg: unknown }).__sg = {
  client,
  stats: () => ({ ...client.stats(), ...stats, rejectedPoints: [...views.values()].reduce((n, v) => n + v.rejectedPoints(), 0) }),
  chartX: (device: string, metric: string) => views.get(device)?.chartX(metric) ?? [],
  states: () => [...stateLog],
  shown: () => [...shownLog],
};
