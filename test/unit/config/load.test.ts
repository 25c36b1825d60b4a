import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig, type ConfigIssue } from '../../../src/config/load.js';
import { MASK, maskSecrets, maskUrl } from '../../../src/config/secrets.js';
import { keyMeta } from '../../../src/config/keys.js';
import { isLoopbackHost } from '../../../src/config/loopback.js';
import { MAX_CONFIG_BYTES, MAX_TIMER_MS } from '../../../src/bounds.js';
import { envWithFile } from '../../../src/config/env-file.js';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** The issues a config text produces (fails the test if it parses). */
function issuesOf(text: string, env: NodeJS.ProcessEnv = {}): ConfigIssue[] {
  try {
    parseConfig(text, 'test.yaml', env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  throw new Error('expected a ConfigError');
}

const TOKEN = 'abcdefghijklmnop-0123456789';

describe('parseConfig: each error class names its path and line', () => {
  it('a wrong type: the example from the issue', () => {
    const text = [
      'devices:',
      '  - id: a',
      '    serial: { path: /dev/ttyUSB0 }',
      '  - id: b',
      '    serial:',
      '      path: /dev/ttyUSB1',
      '      baudRate: fast',
      '',
    ].join('\n');
    expect(issuesOf(text)).toEqual([{ path: 'devices[1].serial.baudRate', message: 'expected a number, got "fast"', line: 7 }]);
    expect(() => parseConfig(text, 'test.yaml', {})).toThrow('devices[1].serial.baudRate: expected a number, got "fast" (line 7)');
  });

  it('a number YAML reads as infinite or NaN is named as such, not as null', () => {
    expect(issuesOf('server:\n  port: 1e400\nhub:\n  stallTimeoutMs: .nan\n  badMessageLimit: -.inf\n')).toEqual([
      { path: 'server.port', message: 'expected a number, got Infinity', line: 2 },
      { path: 'hub.stallTimeoutMs', message: 'expected a number, got NaN', line: 4 },
      { path: 'hub.badMessageLimit', message: 'expected a number, got -Infinity', line: 5 },
    ]);
  });

  it('a fraction where a whole number is needed', () => {
    expect(issuesOf('server:\n  port: 80.5\n')).toEqual([{ path: 'server.port', message: 'expected a whole number, got 80.5', line: 2 }]);
  });

  it('a number out of range', () => {
    expect(issuesOf('server:\n  port: 70000\n')).toEqual([{ path: 'server.port', message: 'expected a number <= 65535, got 70000', line: 2 }]);
    expect(issuesOf('hub:\n  coalesceMs: -1\n')).toEqual([{ path: 'hub.coalesceMs', message: 'expected a number >= 0, got -1', line: 2 }]);
  });

  it('a device input budget of zero, a typo in its keys', () => {
    const text = ['devices:', '  - id: a', '    serial: { path: /dev/x }', '    inputRate: { bytesPerSecond: 0, burst: 1024 }', ''].join('\n');
    expect(issuesOf(text).map((i) => [i.path, i.line, i.message.split(' (')[0]])).toEqual([
      ['devices[0].inputRate.bytesPerSecond', 4, 'expected a number > 0, got 0'],
      ['devices[0].inputRate.burst', 4, 'unknown key'],
    ]);
  });

  it('a value outside an enum lists the allowed ones', () => {
    expect(issuesOf('log:\n  level: loud\n')).toEqual([
      { path: 'log.level', message: 'expected one of fatal, error, warn, info, debug, trace, got "loud"', line: 2 },
    ]);
  });

  it('a value outside a literal union lists the allowed ones', () => {
    const text = 'devices:\n  - id: a\n    serial:\n      path: /dev/x\n      dataBits: 9\n';
    expect(issuesOf(text)).toEqual([{ path: 'devices[0].serial.dataBits', message: 'expected one of 5, 6, 7, 8, got 9', line: 5 }]);
  });

  it('a mapping where a scalar belongs, a scalar where a list belongs', () => {
    expect(issuesOf('server:\n  host:\n    a: 1\n')).toEqual([{ path: 'server.host', message: 'expected a string, got a mapping', line: 3 }]);
    expect(issuesOf('devices: bench1\n')).toEqual([{ path: 'devices', message: 'expected a list, got "bench1"', line: 1 }]);
  });

  it('an empty string and a missing required key', () => {
    expect(issuesOf('server:\n  host: ""\n')).toEqual([{ path: 'server.host', message: 'must not be empty', line: 2 }]);
    expect(issuesOf('devices:\n  - serial: { path: /dev/x }\n')).toEqual([{ path: 'devices[0].id', message: 'required', line: 2 }]);
  });

  it('a reason written in the schema is kept (id pattern, path prefix, URL)', () => {
    expect(issuesOf('devices:\n  - id: "bad id"\n    serial: { path: /dev/x }\n')).toEqual([
      { path: 'devices[0].id', message: 'ids are 1-64 of A-Z a-z 0-9 _ . -, got "bad id"', line: 2 },
    ]);
    expect(issuesOf('server:\n  path: ws\n')).toEqual([{ path: 'server.path', message: 'expected a value starting with "/", got "ws"', line: 2 }]);
    expect(issuesOf('auth:\n  origins: [ "not a url" ]\n')).toEqual([
      { path: 'auth.origins[0]', message: 'expected a URL, got "not a url"', line: 2 },
    ]);
  });

  it('mqtt.protocolVersion is 5 or 4, and fleet mode needs 5', () => {
    expect(parseConfig('mqtt: { url: "mqtt://b" }\n', 'test.yaml', {}).mqtt?.protocolVersion).toBe(5);
    expect(issuesOf('mqtt: { url: "mqtt://b", protocolVersion: 3 }\n')).toEqual([expect.objectContaining({ path: 'mqtt.protocolVersion', line: 1 })]);
    expect(issuesOf('mqtt:\n  url: "mqtt://b"\n  protocolVersion: 4\n  federation: { enabled: true }\n')).toEqual([
      { path: 'mqtt.protocolVersion', message: 'fleet mode (mqtt.federation.enabled) needs MQTT 5', line: 3 },
    ]);
  });

  it('auth.hosts entries that could never equal a Host header are config errors, not a silent 403 for everyone', () => {
    const message = (v: string) =>
      `expected a host name or name:port as the Host header carries it (no scheme, path, wildcard or spaces), got ${JSON.stringify(v)}`;
    for (const bad of ['http://pi.local', 'pi.local/', '*.local', 'pi .local', 'pi.local:8080:1', 'pi.local:port', 'user@pi.local', '']) {
      expect(issuesOf(`auth:\n  hosts: [ "${bad}" ]\n`), bad).toEqual([{ path: 'auth.hosts[0]', message: message(bad), line: 2 }]);
    }
    for (const good of ['pi.local', 'PI.local:8080', '192.168.1.20', '192.168.1.20:8080', '[::1]', '[fe80::1]:8080', 'gateway-01']) {
      expect(parseConfig(`auth:\n  hosts: [ "${good}" ]\n`, 'test.yaml', {}).auth.hosts, good).toEqual([good]);
    }
  });

  it('cross-field rules: one source per device, csv columns, duplicate ids, anonymous operator off loopback', () => {
    const text = [
      'server: { host: 0.0.0.0 }',
      'auth: { anonymous: operator }',
      'devices:',
      '  - id: a',
      '    parser: { format: csv }',
      '    serial: { path: /dev/x }',
      '    mqtt: { topic: t }',
      '',
    ].join('\n');
    expect(issuesOf(text)).toEqual([
      { path: 'devices[0]', message: 'a device has exactly one source: serial or mqtt', line: 4 },
      { path: 'devices[0].parser.columns', message: 'csv needs column names', line: 5 },
      { path: 'devices[0].mqtt', message: 'an MQTT device needs the top-level mqtt.url', line: 7 },
      { path: 'auth.anonymous', message: 'anonymous operators are only allowed when server.host is loopback (127.0.0.1, ::1)', line: 2 },
    ]);
    const dup =
      'server: { host: 0.0.0.0 }\nauth: { anonymous: operator }\ndevices:\n  - { id: a, serial: { path: /dev/x } }\n  - { id: a, serial: { path: /dev/y } }\n';
    expect(issuesOf(dup)).toEqual([
      { path: 'devices[1].id', message: 'duplicate device id "a"', line: 5 },
      { path: 'auth.anonymous', message: 'anonymous operators are only allowed when server.host is loopback (127.0.0.1, ::1)', line: 2 },
    ]);
  });

  it('an id an idFromTopicSegment device could derive is refused (a topic could feed and command that device)', () => {
    const yaml = [
      'mqtt: { url: "mqtt://127.0.0.1" }',
      'devices:',
      '  - { id: gh-kitchen, serial: { path: /dev/ttyUSB0 } }',
      '  - { id: gh, mqtt: { topic: "sensors/+", idFromTopicSegment: 1 } }',
      '  - { id: gh-k, mqtt: { topic: "other/+", idFromTopicSegment: 1 } }',
      '  - { id: ghost, serial: { path: /dev/ttyUSB1 } }',
      '',
    ].join('\n');
    expect(issuesOf(yaml)).toEqual([
      {
        path: 'devices[0].id',
        message: 'devices[1] ("gh", idFromTopicSegment) derives ids "gh-<segment>": its readings could carry this id too',
        line: 3,
      },
      {
        path: 'devices[2].id',
        message: 'devices[1] ("gh", idFromTopicSegment) derives ids "gh-<segment>": its readings could carry this id too',
        line: 5,
      },
    ]);
  });

  it('two devices on one serial path: the second is refused with the first named (it never opened: "port is busy")', () => {
    const yaml =
      'devices:\n  - { id: a, serial: { path: /dev/ttyUSB0 } }\n  - { id: b, serial: { path: /dev/ttyUSB1 } }\n  - { id: c, serial: { path: /dev/ttyUSB0 } }\n';
    expect(issuesOf(yaml)).toEqual([{ path: 'devices[2].serial.path', message: 'the same port as devices[0] (one device per port)', line: 4 }]);
  });

  it('a regular expression that does not compile names its key and line', () => {
    const text = [
      'devices:',
      '  - id: a',
      '    serial: { path: /dev/x }',
      '    parser: { format: regex, pattern: "(?<t>[0-9" }',
      '    commands:',
      '      allow: "("',
      '      reply: { match: "^(OK" }',
      '',
    ].join('\n');
    expect(issuesOf(text).map((i) => [i.path, i.line, i.message.split(':')[0]])).toEqual([
      ['devices[0].parser.pattern', 4, 'not a valid regular expression'],
      ['devices[0].commands.allow', 6, 'not a valid regular expression'],
      ['devices[0].commands.reply.match', 7, 'not a valid regular expression'],
    ]);
  });

  it('YAML syntax errors and duplicate keys carry their line', () => {
    const [syntax] = issuesOf('server:\n  port: [8080\nlog: {}\n');
    expect(syntax.path).toBe('');
    expect(syntax.message).toMatch(/^YAML: /);
    expect(syntax.line).toBeGreaterThanOrEqual(2);
    const [dup] = issuesOf('server:\n  port: 1\n  port: 2\n');
    expect(dup).toMatchObject({ path: '', line: 3 });
    expect(dup.message).toMatch(/^YAML: Map keys must be unique/);
  });

  it('every issue is reported, not just the first', () => {
    expect(issuesOf('server:\n  port: x\n  echo: 1\nlog:\n  level: 3\n').map((i) => i.path)).toEqual(['server.port', 'server.echo', 'log.level']);
  });
});

describe('parseConfig: unknown keys', () => {
  it('names the path and line of each unknown key, with a hint when one is close', () => {
    const text = [
      'server:',
      '  limits:',
      '    maxFragment: 3',
      '    banana: 1',
      'devices:',
      '  - id: a',
      '    serial: { path: /dev/x, baudrate: 9600 }',
      '',
    ].join('\n');
    expect(issuesOf(text)).toEqual([
      { path: 'server.limits.maxFragment', message: 'unknown key (did you mean "maxFragments"?)', line: 3 },
      { path: 'server.limits.banana', message: 'unknown key', line: 4 },
      { path: 'devices[0].serial.baudrate', message: 'unknown key (did you mean "baudRate"?)', line: 7 },
    ]);
  });

  it('an unknown top-level key', () => {
    expect(issuesOf('gateway: { id: x }\ndevcies:\n  - id: a\n')).toEqual([
      { path: 'devcies', message: 'unknown key (did you mean "devices"?)', line: 2 },
    ]);
  });

  it('__proto__ and constructor are plain unknown keys, not prototype changes', () => {
    expect(issuesOf('server:\n  __proto__: { echo: true }\n  constructor: 1\n')).toEqual([
      { path: 'server.__proto__', message: 'unknown key', line: 2 },
      { path: 'server.constructor', message: 'unknown key', line: 3 },
    ]);
    expect(({} as Record<string, unknown>).echo).toBeUndefined();
  });
});

describe('parseConfig: YAML anchors and aliases', () => {
  it('101 devices sharing one parser by alias is a config; an alias bomb is a config error, not a crash', () => {
    const devices = Array.from({ length: 101 }, (_, i) => `  - { id: d${i}, serial: { path: /dev/ttyUSB${i} }, parser: *kv }`);
    const text = ['x-parser: &kv { format: kv }', 'devices:', ...devices].join('\n');
    // the anchor's own key is unknown: the aliases resolved, then the schema spoke
    expect(issuesOf(text)).toEqual([{ path: 'x-parser', message: 'unknown key', line: 1 }]);
    const shared = ['devices:', `  - { id: d0, serial: { path: /dev/ttyUSB0 }, parser: &kv { format: kv } }`, ...devices.slice(1)].join('\n');
    expect(parseConfig(shared, 'test.yaml', {}).devices).toHaveLength(101);
    // billion laughs: nine levels of ten aliases each, 10^9 strings if expanded
    const bomb = ['l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
    for (let i = 1; i < 9; i++)
      bomb.push(
        `l${i}: &l${i} [${Array(10)
          .fill(`*l${i - 1}`)
          .join(', ')}]`,
      );
    expect(issuesOf(bomb.join('\n'))).toEqual([{ path: '', message: expect.stringContaining('more than 10000 alias expansions') }]);
  });
});

describe('parseConfig: YAML merge keys', () => {
  it('`<<: *anchor` merges a mapping, a key set beside it wins; a merged unknown key is still an error', () => {
    const text = [
      'devices:',
      '  - id: a',
      '    serial: &port { path: /dev/ttyUSB0, baudRate: 115200 }',
      '    parser: &kv { format: kv, keepRaw: true }',
      '  - id: b',
      '    serial: { <<: *port, path: /dev/ttyUSB1 }',
      '    parser:',
      '      <<: *kv',
      '      keepRaw: false',
      '',
    ].join('\n');
    const c = parseConfig(text, 'test.yaml', {});
    expect(c.devices[1]!.serial).toMatchObject({ path: '/dev/ttyUSB1', baudRate: 115200 });
    expect(c.devices[1]!.parser).toMatchObject({ format: 'kv', keepRaw: false });
    expect(issuesOf('devices:\n  - id: a\n    serial: { path: /dev/x }\n    parser: { <<: { format: kv, keepRow: true } }\n')).toEqual([
      expect.objectContaining({ path: 'devices[0].parser.keepRow', message: 'unknown key (did you mean "keepRaw"?)' }),
    ]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(() => parseConfig('devices: []\nlog: { <<: { __proto__: { polluted: 1 } } }\n', 'test.yaml', {})).toThrow();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('parseConfig: environment interpolation', () => {
  it('replaces ${NAME} in any string, also inside a longer string', () => {
    const c = parseConfig('gateway: { id: "pi-${SITE}" }\nauth:\n  tokens:\n    - { token: "${SG_TOKEN}", role: operator }\n', 'test.yaml', {
      SITE: '07',
      SG_TOKEN: TOKEN,
    });
    expect(c.gateway.id).toBe('pi-07');
    expect(c.auth.tokens[0].token).toBe(TOKEN);
  });

  it('${NAME:-fallback} uses the fallback when NAME is unset or empty, as the shell does; ${NAME} set but empty is empty', () => {
    const text = 'gateway: { id: "${GW:-pi-default}" }\n';
    expect(parseConfig(text, 'test.yaml', {}).gateway.id).toBe('pi-default');
    expect(parseConfig(text, 'test.yaml', { GW: '' }).gateway.id).toBe('pi-default');
    expect(parseConfig(text, 'test.yaml', { GW: 'pi-env' }).gateway.id).toBe('pi-env');
    expect(parseConfig('gateway: { id: "pi${SUFFIX}" }\n', 'test.yaml', { SUFFIX: '' }).gateway.id).toBe('pi');
  });

  it('an unset variable is an error with path and line', () => {
    expect(issuesOf('log: { level: info }\nauth:\n  tokens:\n    - token: "${SG_MISSING}"\n      role: viewer\n')).toEqual([
      { path: 'auth.tokens[0].token', message: 'environment variable SG_MISSING is not set', line: 4 },
    ]);
  });

  it('a value that is one reference becomes the number or boolean its key asks for; a string key keeps digits as text', () => {
    const text = [
      'server:',
      '  port: ${SG_PORT}',
      'mqtt:',
      '  url: mqtt://127.0.0.1:1883',
      '  tls:',
      '    rejectUnauthorized: ${SG_VERIFY:-true}',
      'auth:',
      '  tokens:',
      '    - token: ${SG_T}',
      '      role: operator',
      '',
    ].join('\n');
    const c = parseConfig(text, 'test.yaml', { SG_PORT: '8081', SG_VERIFY: 'false', SG_T: '1234567890123456' });
    expect(c.server.port).toBe(8081);
    expect(c.mqtt?.tls?.rejectUnauthorized).toBe(false);
    expect(c.auth.tokens[0].token).toBe('1234567890123456');
    expect(parseConfig('server:\n  port: "${SG_PORT:-8082}"\n', 'test.yaml', {}).server.port).toBe(8082);
    // only a whole reference, only plain notation; the rest is the schema's usual error
    expect(issuesOf('server:\n  port: ${SG_PORT}\n', { SG_PORT: '0x50' })).toEqual([
      { path: 'server.port', message: 'expected a number, got "0x50"', line: 2 },
    ]);
    expect(issuesOf('server:\n  port: 80${SG_P}\n', { SG_P: '80' })).toEqual([
      { path: 'server.port', message: 'expected a number, got "8080"', line: 2 },
    ]);
    expect(issuesOf('server:\n  port: ${SG_PORT}\n', { SG_PORT: '70000' })).toEqual([
      { path: 'server.port', message: expect.stringMatching(/70000/) as string, line: 2 },
    ]);
  });

  it('a value from the environment is validated like any other', () => {
    expect(issuesOf('log: { level: "${LVL}" }\n', { LVL: 'chatty' })).toEqual([
      { path: 'log.level', message: 'expected one of fatal, error, warn, info, debug, trace, got "chatty"', line: 1 },
    ]);
  });

  it('a ${ that is no reference is an error, not a literal: `${TOKEN-x}` made the token that readable text', () => {
    const env = { SG_T: 'from-the-environment-0123' };
    expect(issuesOf('gateway: { id: "a${ GW }" }\nauth:\n  tokens: [ { token: "${SG_T-fallback-0123456789}", role: operator } ]\n', env)).toEqual([
      {
        path: 'gateway.id',
        message: '"${ GW }" that is no environment reference: write ${NAME} or ${NAME:-fallback} (NAME: letters, digits, _)',
        line: 1,
      },
      {
        path: 'auth.tokens[0].token',
        message: 'a "${" that is no environment reference: write ${NAME} or ${NAME:-fallback} (NAME: letters, digits, _)',
        line: 3,
      },
    ]);
    expect(issuesOf('gateway: { id: "a${" }\n')).toEqual([
      expect.objectContaining({ path: 'gateway.id', message: expect.stringMatching(/^"\$\{" that is no/) }),
    ]);
  });

  it('text without ${ is left alone, $NAME without braces too', () => {
    expect(parseConfig('server: { path: "/a$HOME" }\n', 'test.yaml', { HOME: '/root' }).server.path).toBe('/a$HOME');
    expect(issuesOf('gateway: { id: "pi 1" }\n')).toEqual([
      { path: 'gateway.id', message: 'expected a value matching /^[A-Za-z0-9_.-]{1,64}$/, got "pi 1"', line: 1 },
    ]);
  });
});

describe('secrets', () => {
  it('an invalid secret is never echoed in an error', () => {
    const err = (() => {
      try {
        parseConfig('auth:\n  tokens:\n    - { token: 12345, role: viewer }\n', 'test.yaml', {});
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect(err?.issues).toEqual([{ path: 'auth.tokens[0].token', message: 'expected a string, got a secret (not shown)', line: 3 }]);
    expect(err?.message).not.toContain('12345');
  });

  it('an mqtt.url the client could not parse (a password with / unencoded) is a config error that never quotes it', () => {
    const issues = issuesOf('mqtt: { url: "mqtt://gw:Zm9v/YmFy+cXV4@broker:1883" }\n');
    expect(issues).toEqual([
      { path: 'mqtt.url', message: expect.stringContaining('not a URL: a password or user name in it must be percent-encoded'), line: 1 },
    ]);
    expect(JSON.stringify(issues)).not.toContain('Zm9v');
    // a wrong scheme is not quoted either: the URL may carry a password
    expect(JSON.stringify(issuesOf('mqtt: { url: "http://gw:s3cret@broker" }\n'))).not.toContain('s3cret');
    expect(parseConfig('mqtt: { url: "mqtt://gw:Zm9v%2FYmFy@broker:1883" }\n', 'test.yaml', {}).mqtt?.url).toBe('mqtt://gw:Zm9v%2FYmFy@broker:1883');
  });

  it('maskSecrets masks tokens, the MQTT password and URL credentials, and leaves the input alone', () => {
    const c = parseConfig(
      `mqtt: { url: "mqtt://gw:urlpass@broker:1883", password: hunter2hunter2 }\nauth:\n  tokens: [ { token: "${TOKEN}", role: operator } ]\n`,
      'test.yaml',
      {},
    );
    const m = maskSecrets(c);
    expect(m.auth.tokens[0]).toEqual({ token: MASK, role: 'operator' });
    expect(m.mqtt?.password).toBe(MASK);
    expect(m.mqtt?.url).toBe(`mqtt://gw:${MASK}@broker:1883`);
    expect(JSON.stringify(m)).not.toMatch(/urlpass|hunter2|abcdefghijklmnop/);
    expect(c.auth.tokens[0].token).toBe(TOKEN);
    expect(maskUrl('mqtt://broker:1883')).toBe('mqtt://broker:1883');
  });
});

describe('loadConfig', () => {
  it('a missing file is a ConfigError naming the file', async () => {
    await expect(loadConfig('/nonexistent/serialgate.yaml')).rejects.toThrow(
      '/nonexistent/serialgate.yaml: invalid configuration\n  cannot read: ENOENT',
    );
  });

  it('reads at most MAX_CONFIG_BYTES: /dev/zero and a file of 200,000 devices are refused at once, not parsed for minutes in GBs', async () => {
    const tooBig = `larger than ${MAX_CONFIG_BYTES} bytes (MAX_CONFIG_BYTES): not a configuration (the wrong file?)`;
    await expect(loadConfig('/dev/zero')).rejects.toMatchObject({ issues: [{ path: '', message: tooBig }] });
    const dir = mkdtempSync(path.join(tmpdir(), 'sg-config-'));
    try {
      const big = path.join(dir, 'big.yaml');
      writeFileSync(big, 'devices:\n' + Array.from({ length: 200_000 }, (_, i) => `  - {id: d${i}, serial: {path: /dev/x${i}}}\n`).join(''));
      await expect(loadConfig(big)).rejects.toMatchObject({ issues: [{ path: '', message: tooBig }] });
      expect(() => envWithFile('/dev/zero', {})).toThrow(tooBig);
      // exactly the bound is read and parsed
      const edge = path.join(dir, 'edge.yaml');
      writeFileSync(edge, 'devices: []\n' + '#'.repeat(MAX_CONFIG_BYTES - 13) + '\n');
      expect(statSync(edge).size).toBe(MAX_CONFIG_BYTES);
      await expect(loadConfig(edge)).resolves.toMatchObject({ devices: [] });
      await expect(loadConfig(dir)).rejects.toThrow('cannot read: EISDIR');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an empty file, only comments or null is refused; `{}` is the all-defaults config', () => {
    for (const text of ['', '\n\n', '# nothing yet\n', 'null\n', '~']) {
      expect(issuesOf(text), JSON.stringify(text)).toEqual([
        {
          path: '',
          message: 'no settings (the file is empty, only comments or `null`): nothing to run (a gateway without devices says `devices: []`)',
        },
      ]);
    }
    const c = parseConfig('{}', 'empty.yaml', {});
    expect(c.server).toMatchObject({ host: '127.0.0.1', port: 8080, path: '/ws', echo: false });
    expect(c.devices).toEqual([]);
  });

  it('a ConfigError carries SG_ERR_CONFIG; its text escapes controls a terminal would act on', () => {
    try {
      parseConfig('"a\\u009bb\\u202ec": 1\n', 'f\u001b.yaml', {});
    } catch (err) {
      expect(err).toMatchObject({ code: 'SG_ERR_CONFIG', issues: [{ path: 'a\u009bb\u202ec' }] });
      expect((err as Error).message).toBe('f\\u001b.yaml: invalid configuration\n  a\\u009bb\\u202ec: unknown key (line 1)');
      return;
    }
    throw new Error('expected a ConfigError');
  });
});

describe('durations: 0 only where the key says what it means', () => {
  it.each(['server.limits.pingIntervalMs', 'hub.coalesceMs'])('%s accepts 0 and documents it', (key) => {
    const [section, ...rest] = key.split('.');
    const yaml = `${section}:\n${rest.map((k, i) => '  '.repeat(i + 1) + k + ':').join('\n')} 0\n`;
    expect(() => parseConfig(yaml, 'test.yaml', {})).not.toThrow();
    expect(keyMeta(key.split('.')).zero).toMatch(/\S/);
  });

  it.each([
    'server.limits.handshakeTimeoutMs',
    'server.limits.pongTimeoutMs',
    'server.limits.closeTimeoutMs',
    'hub.stallTimeoutMs',
    'mqtt.authRetryMs',
    'mqtt.commandTimeoutMs',
    'mqtt.reconnect.minMs',
    'mqtt.reconnect.maxMs',
  ])('%s refuses 0 (it would time out or retry at once)', (key) => {
    const [section, ...rest] = key.split('.');
    const url = section === 'mqtt' ? '  url: mqtt://127.0.0.1\n' : '';
    const yaml = `${section}:\n${url}${rest.map((k, i) => '  '.repeat(i + 1) + k + ':').join('\n')} 0\n`;
    expect(issuesOf(yaml)).toEqual([expect.objectContaining({ path: key, message: expect.stringContaining('> 0') })]);
    expect(keyMeta(key.split('.')).zero).toBeUndefined();
  });

  // Node fires a timer longer than 2^31-1 ms after 1 ms: "three years" was "at once"
  it.each([
    'server.limits.handshakeTimeoutMs',
    'server.limits.pingIntervalMs',
    'server.limits.pongTimeoutMs',
    'server.limits.closeTimeoutMs',
    'hub.coalesceMs',
    'hub.stallTimeoutMs',
    'history.flushMs',
    'mqtt.authRetryMs',
    'mqtt.commandTimeoutMs',
    'mqtt.reconnect.maxMs',
  ])('%s refuses more than MAX_TIMER_MS and takes MAX_TIMER_MS', (key) => {
    const [section, ...rest] = key.split('.');
    const url = section === 'mqtt' ? '  url: mqtt://127.0.0.1\n' : '';
    const yaml = (v: number) => `${section}:\n${url}${rest.map((k, i) => '  '.repeat(i + 1) + k + ':').join('\n')} ${v}\n`;
    expect(issuesOf(yaml(MAX_TIMER_MS + 1))).toEqual([
      expect.objectContaining({ path: key, message: `at most ${MAX_TIMER_MS} ms (~24.8 days, the longest timer Node can set)` }),
    ]);
    expect(() => parseConfig(yaml(MAX_TIMER_MS), 'test.yaml', {})).not.toThrow();
  });

  it("a device's command deadlines and reconnect steps refuse more than MAX_TIMER_MS too", () => {
    const yaml = [
      'devices:',
      '  - id: a',
      '    serial: { path: /dev/x, reconnect: { minMs: 3000000000, maxMs: 3000000000 } }',
      '    commands: { writeTimeoutMs: 3000000000, reply: { match: OK, timeoutMs: 3000000000 } }',
      '',
    ].join('\n');
    expect(issuesOf(yaml).map((i) => i.path)).toEqual([
      'devices[0].serial.reconnect.minMs',
      'devices[0].serial.reconnect.maxMs',
      'devices[0].commands.reply.timeoutMs',
      'devices[0].commands.writeTimeoutMs',
    ]);
  });

  it('reply.timeoutMs refuses 0 too', () => {
    const yaml = 'devices:\n  - id: a\n    serial: { path: /dev/x }\n    commands: { reply: { match: OK, timeoutMs: 0 } }\n';
    expect(issuesOf(yaml).map((i) => i.path)).toEqual(['devices[0].commands.reply.timeoutMs']);
  });
});

describe('one definition of loopback (src/config/loopback.ts)', () => {
  it('an anonymous operator is allowed on any loopback listener the Host rule calls loopback', () => {
    for (const host of ['127.0.0.1', '127.0.0.2', '::1', 'localhost']) {
      expect(isLoopbackHost(host), host).toBe(true);
      expect(() => parseConfig(`server: { host: "${host}" }\nauth: { anonymous: operator }\n`, 'test.yaml', {}), host).not.toThrow();
    }
    expect(issuesOf('server: { host: 0.0.0.0 }\nauth: { anonymous: operator }\n').map((i) => i.path)).toEqual(['auth.anonymous']);
  });
});
