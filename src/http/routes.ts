/**
 * Plain HTTP on the gateway's server: the dashboard's static files, /healthz, /metrics and the
 * history export (history-export.ts).
 * WebSocket upgrades never reach this handler (the server routes 'upgrade' separately); a plain
 * request at a WebSocket endpoint's path is answered with why it is no handshake (`notUpgrade`).
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../log.js';
import type { DeviceStatus } from '../domain.js';
import { registry } from '../metrics.js';
import { EXPORT_PATHS, exportHistory, type ExportDeps } from './history-export.js';
import { acceptsGzip, etagMatches, StaticFiles } from './static.js';

export interface HealthReport {
  status: 'ok' | 'degraded' | 'starting';
  devices: DeviceStatus[];
  broker?: 'up' | 'down';
  connections: number;
}

/**
 * The health rule in one place: `starting` until the gateway listens, `degraded` while a device
 * marked `required` is down, else `ok`. A down device that is not required does not fail health.
 */
export function buildHealthReport(input: {
  ready: boolean;
  devices: DeviceStatus[];
  required: ReadonlySet<string>;
  broker?: 'up' | 'down';
  connections: number;
}): HealthReport {
  const requiredDown = input.devices.some((d) => d.state === 'down' && input.required.has(d.id));
  const status = !input.ready ? 'starting' : requiredDown ? 'degraded' : 'ok';
  const report: HealthReport = { status, devices: input.devices, connections: input.connections };
  if (input.broker) report.broker = input.broker;
  return report;
}

/** dist/src/http/routes.js → dist/web, where web/build.mjs puts the dashboard. */
export function defaultWebRoot(): string {
  return fileURLToPath(new URL('../../web/', import.meta.url));
}

// The dashboard has no inline script or style, so the strictest policy that still lets it open
// its WebSocket applies. frame-ancestors/X-Frame-Options: nobody frames a page that drives devices.
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
};

const ALLOW = 'GET, HEAD';

export interface RequestHandlerDeps {
  health(): HealthReport;
  webRoot: string;
  logger: Logger;
  history?: ExportDeps;
  /** why a request at a WebSocket endpoint's path is no handshake; undefined for other paths */
  notUpgrade?(req: IncomingMessage): { status: number; message: string; headers: Readonly<Record<string, string>> } | undefined;
}

export function createRequestHandler(deps: RequestHandlerDeps): RequestListener {
  const files = new StaticFiles(deps.webRoot);
  const log = deps.logger.child({ component: 'http' });

  const send = (
    res: ServerResponse,
    status: number,
    type: string,
    body: string | Buffer,
    head: boolean,
    extra: Record<string, string> = {},
  ): void => {
    res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': String(Buffer.byteLength(body)), ...extra });
    res.end(head ? undefined : body);
  };
  const text = (res: ServerResponse, status: number, message: string, head: boolean, extra?: Record<string, string>): void =>
    send(res, status, 'text/plain; charset=utf-8', message + '\n', head, { 'Cache-Control': 'no-store', ...extra });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      // only the path and query matter; a relative base keeps absolute-form request targets harmless
      url = new URL(req.url ?? '/', 'http://gateway.invalid');
    } catch {
      return text(res, 400, 'bad request target', false);
    }
    const pathname = url.pathname;
    const head = req.method === 'HEAD';
    const notUpgrade = deps.notUpgrade?.(req);
    if (notUpgrade) return text(res, notUpgrade.status, notUpgrade.message, head, { ...notUpgrade.headers });
    if (req.method !== 'GET' && !head) return text(res, 405, 'method not allowed', false, { Allow: ALLOW });

    if (pathname === '/healthz') {
      const report = deps.health();
      const body = JSON.stringify(report);
      return send(res, report.status === 'ok' ? 200 : 503, 'application/json; charset=utf-8', body, head, { 'Cache-Control': 'no-store' });
    }
    if (deps.history && EXPORT_PATHS.has(pathname)) {
      const r = exportHistory(req, url, deps.history);
      // private: a shared cache must never hand one viewer's answer to a client without a token
      return send(res, r.status, r.type, r.body, head, { 'Cache-Control': 'no-store', ...r.headers });
    }
    if (pathname === '/metrics') {
      const body = await registry.metrics();
      return send(res, 200, registry.contentType, body, head, { 'Cache-Control': 'no-store' });
    }

    const found = await files.lookup(pathname);
    if (!found.ok) {
      if (found.status === 400) return text(res, 400, 'bad path', head);
      return text(res, 404, pathname === '/' ? 'dashboard not built: run `npm run build` (dist/web/index.html is missing)' : 'not found', head);
    }
    const f = found.file;
    const common = { 'Cache-Control': 'no-cache', ETag: f.etag, Vary: 'Accept-Encoding' };
    if (etagMatches(req.headers['if-none-match'], f.etag)) {
      res.writeHead(304, { ...SECURITY_HEADERS, ...common });
      res.end();
      return;
    }
    if (f.gzip && acceptsGzip(req.headers['accept-encoding'])) {
      return send(res, 200, f.type, f.gzip, head, { ...common, 'Content-Encoding': 'gzip' });
    }
    return send(res, 200, f.type, f.body, head, common);
  }

  return (req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.error({ err, url: req.url }, 'request failed');
      if (!res.headersSent) text(res, 500, 'internal error', false);
      else res.destroy();
    });
  };
}
