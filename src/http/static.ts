/**
 * Static files of the dashboard (dist/web) for GET/HEAD: safe path resolution, content types,
 * ETag revalidation and gzip. The web root is small and ours, so each file is read once, cached
 * with its gzip form and validated against its mtime/size on every request.
 */
import { createHash } from 'node:crypto';
import { realpathSync, type Stats } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { MAX_STATIC_FILE_BYTES, MIN_GZIP_BYTES } from '../bounds.js';

const TYPES = new Map<string, string>([
  ['.html', 'text/html; charset=utf-8'],
  ['.js', 'text/javascript; charset=utf-8'],
  ['.mjs', 'text/javascript; charset=utf-8'],
  ['.css', 'text/css; charset=utf-8'],
  ['.json', 'application/json; charset=utf-8'],
  ['.map', 'application/json; charset=utf-8'],
  ['.webmanifest', 'application/manifest+json; charset=utf-8'],
  ['.txt', 'text/plain; charset=utf-8'],
  ['.svg', 'image/svg+xml'],
  ['.png', 'image/png'],
  ['.ico', 'image/x-icon'],
  ['.woff2', 'font/woff2'],
]);
const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.json', '.map', '.webmanifest', '.txt', '.svg']);

interface StaticFile {
  body: Buffer;
  gzip?: Buffer;
  etag: string;
  type: string;
}

interface Entry extends StaticFile {
  mtimeMs: number;
  size: number;
}

export type Lookup = { ok: true; file: StaticFile } | { ok: false; status: 400 | 404 };

export class StaticFiles {
  private readonly cache = new Map<string, Entry>();
  private readonly root: string;

  constructor(root: string) {
    // resolve symlinks of the root once: containment is checked against the real path
    let real = path.resolve(root);
    try {
      real = realpathSync(real);
    } catch {
      // not built yet: every lookup answers 404
    }
    this.root = real;
  }

  /** Map a URL pathname (still percent-encoded) to a file under the root. */
  async lookup(pathname: string): Promise<Lookup> {
    let decoded: string;
    try {
      decoded = decodeURIComponent(pathname);
    } catch {
      return { ok: false, status: 400 };
    }
    // NUL and backslashes have no business in our asset names; `..` segments are refused outright
    if (decoded.includes('\0') || decoded.includes('\\') || decoded.split('/').includes('..')) return { ok: false, status: 400 };
    const rel = decoded.endsWith('/') ? decoded + 'index.html' : decoded;
    const candidate = path.join(this.root, rel);
    if (!this.contains(candidate)) return { ok: false, status: 404 };
    let real: string;
    let st: Stats;
    try {
      // a symlink inside the root that points outside it is refused
      real = await realpath(candidate);
      if (!this.contains(real)) return { ok: false, status: 404 };
      st = await stat(real);
    } catch {
      return { ok: false, status: 404 };
    }
    if (!st.isFile() || st.size > MAX_STATIC_FILE_BYTES) return { ok: false, status: 404 };
    const hit = this.cache.get(real);
    if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return { ok: true, file: hit };
    const entry = await this.load(real, st);
    this.cache.set(real, entry);
    return { ok: true, file: entry };
  }

  private contains(p: string): boolean {
    return p === this.root || p.startsWith(this.root + path.sep);
  }

  private async load(file: string, st: Stats): Promise<Entry> {
    const body = await readFile(file);
    const ext = path.extname(file).toLowerCase();
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    let gzip: Buffer | undefined;
    if (COMPRESSIBLE.has(ext) && body.length >= MIN_GZIP_BYTES) {
      const z = gzipSync(body, { level: 9 });
      if (z.length < body.length) gzip = z;
    }
    return { body, gzip, etag, type: TYPES.get(ext) ?? 'application/octet-stream', mtimeMs: st.mtimeMs, size: st.size };
  }
}

/** Does an Accept-Encoding header allow gzip? (`gzip;q=0` says no) */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  for (const part of header.split(',')) {
    const [name, ...params] = part.trim().split(';');
    const n = name.trim().toLowerCase();
    if (n !== 'gzip' && n !== '*') continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return !q || Number(q.slice(2)) > 0;
  }
  return false;
}

/** Does If-None-Match name this ETag? (`*`, a list, weak forms) */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}
