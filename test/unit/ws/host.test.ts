import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hostField, parseHost } from '../../../src/ws/host.js';

describe('parseHost: uri-host [":" port] (RFC 3986), as sent', () => {
  it.each([
    ['localhost', 'localhost', undefined],
    ['LocalHost:8080', 'localhost', 8080],
    ['127.0.0.1', '127.0.0.1', undefined],
    ['127.0.0.1:0', '127.0.0.1', 0],
    ['pi.local:65535', 'pi.local', 65535],
    ['gw:08443', 'gw', 8443],
    ['localhost:', 'localhost', undefined],
    // reg-name: digits and dots are a name, never read as a number (no URL normalisation)
    ['0177.0.0.1', '0177.0.0.1', undefined],
    ['2130706433:80', '2130706433', 80],
    ['256.1.1.1', '256.1.1.1', undefined],
    ['localhost.', 'localhost.', undefined],
    ['%6Cocalhost', '%6cocalhost', undefined],
    ["a-b_c~d!$&'()*+,;=", "a-b_c~d!$&'()*+,;=", undefined],
    ['[::1]', '[::1]', undefined],
    ['[::1]:8080', '[::1]', 8080],
    ['[::1]:', '[::1]', undefined],
    ['[::]', '[::]', undefined],
    ['[0:0:0:0:0:0:0:1]', '[0:0:0:0:0:0:0:1]', undefined],
    ['[FE80::A:1]', '[fe80::a:1]', undefined],
    ['[1::]', '[1::]', undefined],
    ['[1:2:3:4:5:6:7::]', '[1:2:3:4:5:6:7::]', undefined],
    ['[::ffff:127.0.0.1]', '[::ffff:127.0.0.1]', undefined],
    ['[1:2:3:4:5:6:1.2.3.4]:1', '[1:2:3:4:5:6:1.2.3.4]', 1],
    ['[v1.fe80::a+en1]', '[v1.fe80::a+en1]', undefined],
  ])('%j → %j port %j', (value, name, port) => {
    expect(parseHost(value)).toEqual({ name, port });
  });

  it.each([
    '', // no host at all
    ':8080',
    'evil@localhost', // userinfo: a URL parser would answer "localhost"
    'user:pw@localhost',
    'localhost/x',
    'localhost?q',
    'localhost#f',
    'local host',
    'localhost\t',
    'localhost:port',
    'localhost:65536',
    'localhost:123456',
    'localhost:-1',
    'localhost:+80',
    'localhost:80:80',
    'localhost:80 ',
    'http://localhost',
    'bücher.example',
    '%zz.example',
    'a%4',
    '::1', // IPv6 without brackets
    '[::1',
    '[::1]x',
    '[]',
    '[:::]',
    '[1::2::3]',
    '[:1::]',
    '[1:2:3:4:5:6:7:8:9]',
    '[1:2:3:4:5:6:7]',
    '[1:2:3:4:5:6:7:8::]',
    '[12345::]',
    '[::g]',
    '[::1.2.3.04]', // dec-octet has no leading zeros
    '[::1.2.3.256]',
    '[::1.2.3]',
    '[::1.2.3.4.5]',
    '[::1..3.4]',
    '[::1.2.3.1000]',
    '[::1.2.3.x]',
    '[1.2.3.4::]',
    '[::1%25eth0]', // zone ids are not part of RFC 3986
    '[fe80::1%eth0]',
    '[v.x]',
    '[v1.]',
    '[vg.x]',
    '[v1.a%20]',
    '[127.0.0.1]',
    '[1:2:3:4:5:6:7:8]:1:2',
  ])('%j is not a Host', (value) => {
    expect(parseHost(value)).toBeUndefined();
  });
});

describe('parseHost on any input', () => {
  // the characters of a Host, and the ones that must never pass
  const alphabet = fc.constantFrom(...'aZ09.-_~!$&()*+,;=%[]:vF@/?# \t\u00fc'.split(''));
  it('never throws; what it accepts holds no userinfo, path, query, fragment or space, and a port up to 65535', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.array(alphabet, { maxLength: 24 }).map((a) => a.join('')),
        ),
        (value) => {
          const host = parseHost(value);
          if (host === undefined) return;
          expect(value).not.toMatch(/[@/?#\s\u0080-\uffff]/);
          expect(value.toLowerCase().startsWith(host.name)).toBe(true);
          if (host.port !== undefined) expect(host.port).toBeLessThanOrEqual(65535);
        },
      ),
      { numRuns: 2_000 },
    );
  });
});

describe('hostField: RFC 9112 §3.2 over the raw header list', () => {
  it('one Host line', () => {
    expect(hostField(['Accept', '*/*', 'HOST', 'Localhost:1'], true)).toEqual({ ok: true, host: { name: 'localhost', port: 1 } });
  });

  it('no Host (or an empty one): refused where required (HTTP/1.1), absent otherwise', () => {
    for (const raw of [[], ['Host', '']]) {
      expect(hostField(raw, true)).toEqual({ ok: false, message: 'missing Host header' });
      expect(hostField(raw, false)).toEqual({ ok: true, host: undefined });
    }
  });

  it('two Host lines, even equal ones, or a malformed value are refused whether required or not', () => {
    for (const required of [true, false]) {
      expect(hostField(['Host', 'localhost', 'host', 'localhost'], required)).toEqual({ ok: false, message: 'more than one Host header' });
      expect(hostField(['Host', 'evil@localhost'], required)).toMatchObject({ ok: false, message: expect.stringMatching(/^malformed Host header/) });
    }
  });
});
