/**
 * What a reload (SIGHUP) can apply to a running gateway: everything except the keys a running
 * process cannot honour. `server.*` is the listener (host, port, TLS), the endpoints (path, echo)
 * and the socket limits the HTTP and WebSocket servers were built with; `hub.resumeBuffer` sizes
 * the preallocated ring that holds the stream; `history.*` the store and its files. Those keep their running values until a restart,
 * and the reload names every one that changed, so that a reload never looks like it applied
 * something it did not.
 */
import { ConfigError, formatPath } from '../config/load.js';
import { configSchema, type Config } from '../config/schema.js';

export interface ReloadPlan {
  /** the config to run: `next` with the restart-only keys at their running values */
  config: Config;
  /** dotted paths of the restart-only keys that `next` changes, e.g. "server.port" */
  needsRestart: string[];
}

export function planReload(running: Config, next: Config): ReloadPlan {
  const needsRestart = [...changedPaths(running.server, next.server, 'server')];
  if (next.hub.resumeBuffer !== running.hub.resumeBuffer) needsRestart.push('hub.resumeBuffer');
  // the history's store, files and timer are built at start
  needsRestart.push(...changedPaths(running.history, next.history, 'history'));
  const config: Config = { ...next, server: running.server, history: running.history, hub: { ...next.hub, resumeBuffer: running.hub.resumeBuffer } };
  // The rules that tie keys together must hold for what will actually run: an anonymous
  // operator is refused unless the *running* listener is loopback, whatever the file now says.
  const checked = configSchema.safeParse(config);
  if (!checked.success) {
    throw new ConfigError(
      'the reloaded configuration',
      checked.error.issues.map((i) => ({ path: formatPath(i.path), message: `${i.message} (server.* keeps its running value until a restart)` })),
    );
  }
  return { config, needsRestart };
}

/** leaf paths under `prefix` whose values differ (lists compare as a whole) */
function* changedPaths(a: unknown, b: unknown, prefix: string): Generator<string> {
  if (isPlainObject(a) && isPlainObject(b)) {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) yield* changedPaths(a[key], b[key], `${prefix}.${key}`);
    return;
  }
  if (JSON.stringify(a) !== JSON.stringify(b)) yield prefix;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
