import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { envWithFile, parseEnvFile } from '../../../src/config/env-file.js';
import { ConfigError } from '../../../src/config/load.js';

describe('env file (systemd EnvironmentFile= format)', () => {
  it('reads NAME=value lines, skips comments and blanks, strips one pair of quotes', () => {
    const env = parseEnvFile('# secrets\n\nSG_A=abc\n SG_B = "x y" \nSG_C=\'q\'\n; other comment\nSG_D=a=b\n', 'env');
    expect([...env]).toEqual([
      ['SG_A', 'abc'],
      ['SG_B', 'x y'],
      ['SG_C', 'q'],
      ['SG_D', 'a=b'],
    ]);
  });

  it('a malformed line is a ConfigError with its line', () => {
    expect(() => parseEnvFile('SG_A=1\nnot a variable\n', '/etc/serialgate/env')).toThrow(ConfigError);
    try {
      parseEnvFile('SG_A=1\n2BAD=x\n', '/etc/serialgate/env');
    } catch (e) {
      expect((e as ConfigError).issues).toEqual([{ path: '', message: 'expected NAME=value', line: 2 }]);
    }
  });

  it('envWithFile: the file wins over the process environment; a missing file names itself', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'sg-env-'));
    try {
      const f = path.join(dir, 'env');
      writeFileSync(f, 'SG_T=from-file\n');
      expect(envWithFile(f, { SG_T: 'from-process', OTHER: '1' })).toEqual({ SG_T: 'from-file', OTHER: '1' });
      expect(() => envWithFile(path.join(dir, 'none'))).toThrow(`${path.join(dir, 'none')}: invalid configuration\n  cannot read: ENOENT`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
