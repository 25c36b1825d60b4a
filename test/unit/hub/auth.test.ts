import { describe, expect, it } from 'vitest';
import { Authenticator, type AuthRequest } from '../../../src/hub/auth.js';
import type { Config } from '../../../src/config/schema.js';
import { parseHost } from '../../../src/ws/host.js';

const OP = 'operator-token-0123456789';
const VIEW = 'viewer-token-0123456789ab';
const auth = (over: Partial<Config['auth']> = {}): Config['auth'] => ({
  tokens: [
    { token: OP, role: 'operator' },
    { token: VIEW, role: 'viewer' },
  ],
  origins: ['https://dash.example'],
  anonymous: 'viewer',
  queryToken: false,
  hosts: [],
  ...over,
});
/** an upgrade as the server hands it to auth: Host parsed, the query as sent */
const req = (opts: { url?: string; headers?: Record<string, string>; offered?: string[] } = {}): AuthRequest => {
  const headers = new Map(Object.entries({ host: '127.0.0.1:8080', ...opts.headers }));
  return {
    host: parseHost(headers.get('host')!),
    query: new URL(opts.url ?? 'http://127.0.0.1:8080/ws').search.slice(1),
    headers,
    offered: opts.offered ?? [],
  };
};

describe('Authenticator.authorize', () => {
  const a = new Authenticator(auth(), '127.0.0.1');

  it('Bearer header, bearer.<token> subprotocol → the token role', () => {
    expect(a.authorize(req({ headers: { authorization: `Bearer ${OP}` } }))).toEqual({
      ok: true,
      context: { role: 'operator', credential: expect.any(Buffer) },
    });
    expect(a.authorize(req({ headers: { authorization: `bearer ${VIEW}` } }))).toEqual({
      ok: true,
      context: { role: 'viewer', credential: expect.any(Buffer) },
    });
    expect(a.authorize(req({ offered: ['serialgate.v1.json', `bearer.${OP}`] }))).toEqual({
      ok: true,
      context: { role: 'operator', credential: expect.any(Buffer) },
    });
  });

  it('wrong or malformed token → 401', () => {
    expect(a.authorize(req({ headers: { authorization: 'Bearer nope-nope-nope-nope' } }))).toMatchObject({
      ok: false,
      status: 401,
      message: 'invalid token',
    });
    expect(a.authorize(req({ headers: { authorization: `Bearer ${OP}x` } }))).toMatchObject({ ok: false, status: 401 });
    expect(a.authorize(req({ headers: { authorization: 'Bearer' } }))).toMatchObject({ ok: false, status: 401 });
    expect(a.authorize(req({ headers: { authorization: 'Bearer   ' } }))).toMatchObject({ ok: false, status: 401 });
    expect(a.authorize(req({ offered: ['bearer.'] }))).toMatchObject({ ok: false, status: 401 });
  });

  it("another Authorization scheme (a reverse proxy's Basic login) is not ours: the other credentials, else anonymous", () => {
    const basic = { authorization: `Basic ${Buffer.from('alice:pw').toString('base64')}` };
    expect(a.authorize(req({ headers: basic }))).toEqual({ ok: true, context: { role: 'viewer' } });
    expect(a.authorize(req({ headers: { authorization: OP } }))).toEqual({ ok: true, context: { role: 'viewer' } });
    expect(a.authorize(req({ headers: basic, offered: ['serialgate.v1.json', `bearer.${OP}`] }))).toEqual({
      ok: true,
      context: { role: 'operator', credential: expect.any(Buffer) },
    });
    const closed = new Authenticator(auth({ anonymous: 'none' }), '127.0.0.1');
    expect(closed.authorize(req({ headers: basic }))).toMatchObject({ ok: false, status: 401, message: 'a token is required' });
  });

  it('no token → auth.anonymous; none → 401', () => {
    expect(a.authorize(req())).toEqual({ ok: true, context: { role: 'viewer' } });
    expect(new Authenticator(auth({ anonymous: 'none' }), '127.0.0.1').authorize(req())).toMatchObject({
      ok: false,
      status: 401,
      message: 'a token is required',
    });
  });

  it('?token= only when auth.queryToken', () => {
    expect(a.authorize(req({ url: `http://127.0.0.1:8080/ws?token=${OP}` }))).toMatchObject({ ok: false, status: 401 });
    const q = new Authenticator(auth({ queryToken: true }), '127.0.0.1');
    expect(q.authorize(req({ url: `http://127.0.0.1:8080/ws?token=${OP}` }))).toEqual({
      ok: true,
      context: { role: 'operator', credential: expect.any(Buffer) },
    });
  });

  it('Host check: loopback names on a loopback bind, auth.hosts when set, anything otherwise', () => {
    for (const host of ['localhost:8080', '127.0.0.1', '[::1]:9']) expect(a.authorize(req({ headers: { host } })).ok).toBe(true);
    expect(a.authorize(req({ headers: { host: 'evil.example:8080' } }))).toMatchObject({ ok: false, status: 403 });
    const listed = new Authenticator(auth({ hosts: ['pi.local', 'gw:8443'] }), '0.0.0.0');
    expect(listed.authorize(req({ headers: { host: 'pi.local:8080' } })).ok).toBe(true);
    expect(listed.authorize(req({ headers: { host: 'gw:8443' } })).ok).toBe(true);
    expect(listed.authorize(req({ headers: { host: 'gw:8444' } }))).toMatchObject({ ok: false, status: 403 });
    expect(listed.authorize(req({ headers: { host: '127.0.0.1' } }))).toMatchObject({ ok: false, status: 403 });
    expect(new Authenticator(auth(), '0.0.0.0').authorize(req({ headers: { host: 'anything:1' } })).ok).toBe(true);
  });

  it('Host names are compared as sent (lower-cased), never normalised into a listed one', () => {
    for (const host of ['0177.0.0.1', '2130706433:8080', '127.1', '[0:0:0:0:0:0:0:1]', 'localhost.', '%6cocalhost']) {
      expect(a.authorize(req({ headers: { host } })), host).toMatchObject({ ok: false, status: 403 });
    }
    expect(a.authorize(req({ headers: { host: 'LOCALHOST:8080' } })).ok).toBe(true);
    // entries: a name allows every port, name:port that port only (the port read as a number)
    const listed = new Authenticator(auth({ hosts: ['Pi.Local', 'gw:8443', '[::1]'] }), '0.0.0.0');
    for (const host of ['pi.local', 'PI.LOCAL:1', 'gw:08443', '[::1]:9']) expect(listed.authorize(req({ headers: { host } })).ok, host).toBe(true);
    for (const host of ['gw', 'gw:', 'gw:443', 'pi.local.', '::1']) {
      expect(listed.authorize(req({ headers: { host } })), host).toMatchObject({ ok: false, status: 403 });
    }
  });
});

describe('Authenticator.originAllowed', () => {
  const a = new Authenticator(auth(), '127.0.0.1');
  it('same origin, allowlisted origin and no Origin pass; others fail', () => {
    expect(a.originAllowed(undefined, parseHost('127.0.0.1:8080'))).toBe(true);
    expect(a.originAllowed('http://127.0.0.1:8080', parseHost('127.0.0.1:8080'))).toBe(true);
    expect(a.originAllowed('http://localhost', parseHost('localhost:80'))).toBe(true);
    expect(a.originAllowed('https://localhost', parseHost('localhost:443'))).toBe(true);
    expect(a.originAllowed('https://dash.example', parseHost('127.0.0.1:8080'))).toBe(true);
    expect(a.originAllowed('http://127.0.0.1:8081', parseHost('127.0.0.1:8080'))).toBe(false);
    expect(a.originAllowed('https://evil.example', parseHost('127.0.0.1:8080'))).toBe(false);
    expect(a.originAllowed('null', parseHost('127.0.0.1:8080'))).toBe(false);
    expect(a.originAllowed('file://127.0.0.1:8080', parseHost('127.0.0.1:8080'))).toBe(false);
    expect(a.originAllowed('http://127.0.0.1:8080', undefined)).toBe(false);
    // Host is not normalised to meet Origin: 0177.0.0.1 is not the origin http://127.0.0.1
    expect(a.originAllowed('http://127.0.0.1', parseHost('0177.0.0.1'))).toBe(false);
    expect(a.originAllowed('http://[::1]:8080', parseHost('[::1]:8080'))).toBe(true);
    expect(a.originAllowed('http://localhost:8080', parseHost('evil@localhost:8080'))).toBe(false);
  });
});
