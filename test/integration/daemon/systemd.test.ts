import { execFileSync, spawnSync } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  lstatSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import { ensureBuilt, ROOT } from './daemon-helpers.js';

const UNIT = path.join(ROOT, 'systemd/serialgate.service');
const INSTALL = path.join(ROOT, 'systemd/install.sh');
const unitText = readFileSync(UNIT, 'utf8');

/** `Key=value` lines of the unit (a key may repeat). */
function settings(key: string): string[] {
  return unitText
    .split('\n')
    .filter((l) => l.startsWith(`${key}=`))
    .map((l) => l.slice(key.length + 1));
}

// install.sh copies the build output
beforeAll(ensureBuilt, 200_000);

describe('systemd/serialgate.service', () => {
  it('systemd-analyze verify is clean', () => {
    const r = spawnSync('systemd-analyze', ['verify', UNIT], { encoding: 'utf8' });
    expect(r.stderr + r.stdout).toBe('');
    expect(r.status).toBe(0);
  });

  it('systemd-analyze security --offline=yes: overall exposure ≤ 1.5', () => {
    const r = spawnSync('systemd-analyze', ['security', '--offline=yes', '--no-pager', UNIT], { encoding: 'utf8' });
    const m = /Overall exposure level for serialgate\.service: (\d+\.\d+)/.exec(r.stdout);
    expect(m, r.stdout + r.stderr).not.toBeNull();
    expect(Number(m![1])).toBeLessThanOrEqual(1.5);
  });

  it('has the settings the issue asks for, and never MemoryDenyWriteExecute', () => {
    expect(settings('Type')).toEqual(['notify']);
    expect(settings('NotifyAccess')).toEqual(['all']);
    expect(settings('Restart')).toEqual(['on-failure']);
    expect(settings('WatchdogSec')).toHaveLength(1);
    expect(settings('MemoryMax')).toHaveLength(1);
    expect(settings('SupplementaryGroups')).toEqual(['dialout']);
    expect(settings('StateDirectory')).toEqual(['serialgate']);
    expect(settings('DevicePolicy')).toEqual(['closed']);
    expect(settings('DeviceAllow')).toEqual(['char-ttyUSB rw', 'char-ttyACM rw', 'char-ttyAMA rw', 'char-ttyS rw']);
    expect(settings('CapabilityBoundingSet')).toEqual(['']);
    expect(settings('SystemCallFilter')).toEqual(['@system-service', '~@privileged @resources']);
    for (const k of [
      'NoNewPrivileges',
      'PrivateUsers',
      'ProtectHome',
      'PrivateTmp',
      'ProtectKernelTunables',
      'ProtectKernelModules',
      'ProtectControlGroups',
      'LockPersonality',
      'RestrictRealtime',
      'RestrictNamespaces',
    ]) {
      expect(settings(k), k).toEqual(['yes']);
    }
    expect(settings('ProtectSystem')).toEqual(['strict']);
    expect(settings('ExecStart')[0]).toMatch(
      /^\/usr\/bin\/node \/opt\/serialgate\/dist\/src\/cli\.cjs run --config \/etc\/serialgate\/config\.yaml$/,
    );
    expect(settings('MemoryDenyWriteExecute')).toEqual([]);
  });
});

describe('systemd/install.sh into a temporary root', () => {
  let dest: string | undefined;
  afterEach(() => {
    if (dest) rmSync(dest, { recursive: true, force: true });
    dest = undefined;
  });

  const install = (...args: string[]) => {
    const r = spawnSync('bash', [INSTALL, '--skip-npm', ...args], { encoding: 'utf8', env: { ...process.env, DESTDIR: dest } });
    expect(r.status, r.stderr).toBe(0);
    return r.stdout;
  };

  it('installs, runs again without changing the config (idempotent), then uninstalls', () => {
    dest = mkdtempSync(path.join(tmpdir(), 'sg-install-'));
    const first = install();
    expect(first).toContain('created /etc/serialgate/config.yaml');
    expect(first).toContain('created /etc/serialgate/env');
    const cfg = path.join(dest, 'etc/serialgate/config.yaml');
    const env = path.join(dest, 'etc/serialgate/env');
    expect(statSync(cfg).mode & 0o777).toBe(0o640);
    expect(statSync(env).mode & 0o777).toBe(0o640);
    expect(statSync(path.join(dest, 'etc/serialgate')).mode & 0o777).toBe(0o750);
    // the installed config validates with the generated secret
    const token = /^SG_OPERATOR_TOKEN=(.+)$/m.exec(readFileSync(env, 'utf8'))![1];
    expect(parseConfig(readFileSync(cfg, 'utf8'), cfg, { SG_OPERATOR_TOKEN: token }).auth.tokens[0].token).toBe(token);
    expect(token.length).toBeGreaterThanOrEqual(32);
    expect(existsSync(path.join(dest, 'opt/serialgate/dist/src/cli.cjs'))).toBe(true);
    expect(statSync(path.join(dest, 'opt/serialgate/dist/src/cli.cjs')).mode & 0o111).not.toBe(0);
    expect(existsSync(path.join(dest, 'opt/serialgate/firmware-mock/pty-relay.py'))).toBe(true);
    expect(readlinkSync(path.join(dest, 'usr/local/bin/serialgate'))).toBe('/opt/serialgate/dist/src/cli.cjs');
    const unit = readFileSync(path.join(dest, 'etc/systemd/system/serialgate.service'), 'utf8');
    expect(unit).toContain(
      `ExecStart=${execFileSync('bash', ['-c', 'command -v node'], { encoding: 'utf8' }).trim()} /opt/serialgate/dist/src/cli.cjs run`,
    );

    // the installed tree runs: version from its package.json, the installed config checks out
    // (node_modules borrowed from the checkout: --skip-npm left them out)
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(dest, 'opt/serialgate/node_modules'));
    const cli = path.join(dest, 'opt/serialgate/dist/src/cli.cjs');
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(execFileSync(cli, ['--version'], { encoding: 'utf8' })).toBe(pkg.version + '\n');
    const checked = spawnSync(process.execPath, [cli, 'check-config', cfg, '--env-file', env], { encoding: 'utf8' });
    expect([checked.status, checked.stderr]).toEqual([0, '']);
    expect(checked.stdout).not.toContain(token);
    rmSync(path.join(dest, 'opt/serialgate/node_modules'));

    // a local edit and a stale file from an old version
    appendFileSync(cfg, '# edited by the owner\n');
    writeFileSync(path.join(dest, 'opt/serialgate/dist/stale.js'), '');
    const envBefore = readFileSync(env, 'utf8');
    const second = install();
    expect(second).toContain('kept the existing /etc/serialgate/config.yaml');
    expect(readFileSync(cfg, 'utf8')).toMatch(/# edited by the owner\n$/);
    expect(readFileSync(env, 'utf8')).toBe(envBefore);
    expect(existsSync(path.join(dest, 'opt/serialgate/dist/stale.js'))).toBe(false);
    expect(existsSync(path.join(dest, 'opt/serialgate.new'))).toBe(false);

    install('--uninstall');
    expect(existsSync(path.join(dest, 'opt/serialgate'))).toBe(false);
    expect(existsSync(path.join(dest, 'etc/systemd/system/serialgate.service'))).toBe(false);
    expect(() => lstatSync(path.join(dest!, 'usr/local/bin/serialgate'))).toThrow();
    expect(readFileSync(cfg, 'utf8')).toMatch(/# edited by the owner\n$/);

    install('--uninstall', '--purge');
    expect(existsSync(path.join(dest, 'etc/serialgate'))).toBe(false);
  });

  it('refuses unknown options with exit 2', () => {
    dest = mkdtempSync(path.join(tmpdir(), 'sg-install-'));
    const r = spawnSync('bash', [INSTALL, '--bogus'], { encoding: 'utf8', env: { ...process.env, DESTDIR: dest } });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown option --bogus');
  });
});
