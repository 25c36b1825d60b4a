/**
 * Interop with Python `websockets` (Debian python3-websockets, /usr/bin/python3) driven through
 * test/helpers/ws-peers.py: one scenario per process, its result as one JSON line.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recorder, startServer, type Recorded, type TestServer } from './harness.js';

const PEER = fileURLToPath(new URL('../../helpers/ws-peers.py', import.meta.url));
const MiB = 1024 * 1024;

function python(scenario: string, url: string, args: object = {}): Promise<Record<string, any>> {
  return new Promise((resolve, reject) => {
    execFile('/usr/bin/python3', [PEER, scenario, url, JSON.stringify(args)], { timeout: 25_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`ws-peers.py ${scenario} failed: ${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout) as Record<string, any>);
    });
  });
}

describe('Python websockets ↔ our server', () => {
  let server: TestServer;
  const conns: Recorded[] = [];
  beforeAll(async () => {
    server = await startServer({ limits: { pingIntervalMs: 100, pongTimeoutMs: 500, closeTimeoutMs: 2000 } });
    server.wss.addEndpoint(recorder('/rec', conns, ['serialgate.v1.json', 'serialgate.v1.cbor']));
  });
  afterAll(() => server.stop());

  it('echoes text and binary of 0, 125, 126, 65,535 and 65,536 bytes', async () => {
    const out = await python('echo', `${server.wsUrl}/echo`, { sizes: [0, 125, 126, 65_535, 65_536] });
    expect(out.websockets).toMatch(/^\d+\./);
    expect(out.results).toHaveLength(10);
    for (const r of out.results) expect(r, JSON.stringify(r)).toMatchObject({ same: true });
  });

  it('reassembles fragmented messages', async () => {
    expect(await python('fragments', `${server.wsUrl}/echo`)).toMatchObject({ text: 'héllo €', binary: [1, 2, 3] });
  });

  it("answers the client's ping", async () => {
    expect(await python('ping', `${server.wsUrl}/echo`)).toMatchObject({ pong: true });
  });

  it("keeps a client that answers the server's pings (pingInterval 100 ms, pongTimeout 500 ms, 1.2 s idle)", async () => {
    expect(await python('idle', `${server.wsUrl}/echo`, { seconds: 1.2 })).toMatchObject({ echo: 'still here' });
  });

  for (const [code, reason] of [
    [1000, 'done'],
    [4000, 'custom'],
  ] as const) {
    it(`client closes with ${code}: echoed, and the server reports it`, async () => {
      const before = conns.length;
      expect(await python('close', `${server.wsUrl}/rec`, { code, reason })).toMatchObject({ code, reason });
      expect(conns).toHaveLength(before + 1);
      expect(await conns[before]!.closed).toEqual({ code, reason });
    });
  }

  it('server closes with 4001 "bye": Python sees both', async () => {
    expect(await python('server-close', `${server.wsUrl}/rec`)).toMatchObject({ code: 4001, reason: 'bye' });
  });

  it('a message over maxMessageBytes: Python sees 1009 and the reason', async () => {
    expect(await python('too-big', `${server.wsUrl}/echo`, { size: 64 * 1024 + 1 })).toMatchObject({
      code: 1009,
      reason: 'message over 65536 bytes',
    });
  });

  it('negotiates the server preference, none when none is offered, 400 for only unknown ones', async () => {
    const url = `${server.wsUrl}/rec`;
    expect(await python('protocol', url, { offer: ['serialgate.v1.cbor', 'serialgate.v1.json'] })).toMatchObject({ protocol: 'serialgate.v1.json' });
    expect(await python('protocol', url, { offer: ['serialgate.v1.cbor'] })).toMatchObject({ protocol: 'serialgate.v1.cbor' });
    expect(await python('protocol', url, { offer: [] })).toMatchObject({ protocol: null });
    expect(await python('protocol', url, { offer: ['chat', 'superchat'] })).toMatchObject({ status: 400 });
  });
});

describe('ws-peers.py across websockets versions', () => {
  // Only 10.4 is installable here (Debian 12); it defines both exception shapes, so both are real.
  it('reads the refusal status from InvalidStatusCode (legacy client) and InvalidStatus (14.0+)', async () => {
    const script = `
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("peers", sys.argv[1])
peers = importlib.util.module_from_spec(spec)
spec.loader.exec_module(peers)
from websockets.datastructures import Headers
from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidStatusCode
from websockets.http11 import Response
print(json.dumps([
    peers.refused_status(InvalidStatusCode(403, Headers())),
    peers.refused_status(InvalidStatus(Response(400, "Bad Request", Headers()))),
    peers.refused_status(InvalidHandshake("no status")),
]))`;
    const out = await new Promise<string>((resolve, reject) =>
      execFile('/usr/bin/python3', ['-c', script, PEER], { timeout: 10_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(stderr)) : resolve(stdout),
      ),
    );
    expect(JSON.parse(out)).toEqual([403, 400, null]);
  });
});

describe('Python websockets, 16 MiB', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ limits: { maxMessageBytes: 17 * MiB, sendHardLimitBytes: 40 * MiB } });
  });
  afterAll(() => server.stop());

  it('echoes 16 MiB of text and of binary', async () => {
    const out = await python('echo', `${server.wsUrl}/echo`, { sizes: [16 * MiB] });
    expect(out.results).toEqual([
      { size: 16 * MiB, text: true, same: true },
      { size: 16 * MiB, text: false, same: true },
    ]);
  });
});
