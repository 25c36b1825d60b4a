/** planReload: what a SIGHUP applies, and what it names as needing a restart. */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';
import { planReload } from '../../src/cli/reload.js';

const cfg = (over: Record<string, unknown> = {}) => configSchema.parse({ server: { host: '127.0.0.1', port: 8080 }, ...over });

describe('planReload', () => {
  it('nothing restart-only changed: the new config as it is, nothing named', () => {
    const next = cfg({ auth: { anonymous: 'none' }, hub: { coalesceMs: 20, badMessageLimit: 3 } });
    expect(planReload(cfg(), next)).toEqual({ config: next, needsRestart: [] });
  });

  it('server.* and hub.resumeBuffer keep their running values and are named; the rest of hub.* applies', () => {
    const running = cfg();
    const next = cfg({
      server: { host: '127.0.0.1', port: 9090, path: '/live', limits: { maxConnections: 7 } },
      hub: { resumeBuffer: 50, coalesceMs: 20 },
    });
    const plan = planReload(running, next);
    expect(plan.needsRestart.sort()).toEqual(['hub.resumeBuffer', 'server.limits.maxConnections', 'server.path', 'server.port']);
    expect(plan.config.server).toEqual(running.server);
    expect(plan.config.hub).toEqual({ ...next.hub, resumeBuffer: running.hub.resumeBuffer });
  });

  it('history.* keeps its running values and is named (the store, its files and timer are built at start)', () => {
    const running = cfg();
    const plan = planReload(running, cfg({ history: { flushMs: 1000, dir: '/elsewhere' } }));
    expect(plan.needsRestart.sort()).toEqual(['history.dir', 'history.flushMs']);
    expect(plan.config.history).toEqual(running.history);
  });

  it('the cross-key rules are checked against what will run: no anonymous operator on a listener that stays public', () => {
    const running = cfg({ server: { host: '0.0.0.0', port: 8080 } });
    const next = cfg({ server: { host: '127.0.0.1', port: 8080 }, auth: { anonymous: 'operator' } });
    expect(() => planReload(running, next)).toThrow(ConfigError);
    try {
      planReload(running, next);
    } catch (err) {
      expect((err as ConfigError).issues).toEqual([
        {
          path: 'auth.anonymous',
          message: expect.stringMatching(
            /^anonymous operators are only allowed when server.host is loopback.*server\.\* keeps its running value until a restart\)$/,
          ),
        },
      ]);
    }
  });
});
