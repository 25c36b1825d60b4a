/**
 * Hostile frames over raw sockets: each case expects its precise close code (the close frame
 * the server sends, then the TCP close), and afterwards a fresh client must still be served.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Opcode } from '../../../src/ws/constants.js';
import { expectServed, startServer, type TestServer } from './harness.js';
import { clientFrame, isMessage, isPong, RawPeer } from './raw-peer.js';

let server: TestServer;
const peers: RawPeer[] = [];

beforeAll(async () => {
  server = await startServer({ limits: { maxMessageBytes: 64 * 1024, maxFragments: 128 } });
});
afterAll(() => server.stop());

afterEach(async () => {
  for (const p of peers.splice(0)) p.destroy();
  await expectServed(server);
});

async function peer(opts: Parameters<typeof RawPeer.open>[1] = {}): Promise<RawPeer> {
  const p = await RawPeer.open(server.port, opts);
  peers.push(p);
  return p;
}

/** Sends `bytes` (each element its own write) and expects a close frame with `code`, then TCP close. */
async function expectClose(chunks: Buffer[], code: number): Promise<RawPeer> {
  const p = await peer();
  for (const c of chunks) p.send(c);
  expect((await p.closeFrame()).code).toBe(code);
  await p.closed;
  return p;
}

describe('frame rules (RFC 6455 §5)', () => {
  it('an unmasked client frame → 1002', async () => {
    await expectClose([Buffer.from('810568656c6c6f', 'hex')], 1002);
  });

  it('RSV1, RSV2, RSV3 set without an extension → 1002', async () => {
    for (const rsv of [4, 2, 1]) await expectClose([clientFrame(Opcode.Text, 'hi', { rsv })], 1002);
  });

  it('reserved opcodes 3-7 and 0xB-0xF → 1002', async () => {
    for (const opcode of [3, 7, 0xb, 0xf]) await expectClose([clientFrame(opcode, 'x')], 1002);
  });

  it('a control frame over 125 bytes → 1002', async () => {
    await expectClose([clientFrame(Opcode.Ping, Buffer.alloc(126))], 1002);
  });

  it('a fragmented control frame → 1002', async () => {
    await expectClose([clientFrame(Opcode.Ping, 'x', { fin: false })], 1002);
  });

  it('a continuation without a started message, and a new message inside a fragmented one → 1002', async () => {
    await expectClose([clientFrame(Opcode.Continuation, 'x')], 1002);
    await expectClose([clientFrame(Opcode.Text, 'a', { fin: false }), clientFrame(Opcode.Text, 'b')], 1002);
  });

  it('the server reason names the violation', async () => {
    const p = await peer();
    p.send(clientFrame(3, 'x'));
    expect(await p.closeFrame()).toEqual({ code: 1002, reason: 'reserved opcode 0x3' });
  });
});

describe('UTF-8', () => {
  it('invalid UTF-8 in a whole text frame → 1007', async () => {
    await expectClose([clientFrame(Opcode.Text, Buffer.from([0x68, 0xc3, 0x28]))], 1007);
  });

  it('invalid UTF-8 split across fragments → 1007 (a lone start byte, then a bad continuation)', async () => {
    await expectClose(
      [clientFrame(Opcode.Text, Buffer.from([0xe2, 0x82]), { fin: false }), clientFrame(Opcode.Continuation, Buffer.from([0x28]))],
      1007,
    );
  });

  it('invalid UTF-8 split across TCP writes inside one frame → 1007', async () => {
    const frame = clientFrame(Opcode.Text, Buffer.from([0x61, 0xf0, 0x90, 0x28, 0x62]));
    await expectClose([frame.subarray(0, 8), frame.subarray(8)], 1007);
  });

  it('valid UTF-8 split anywhere across fragments still echoes', async () => {
    const p = await peer();
    const bytes = Buffer.from('€🌡');
    p.send(clientFrame(Opcode.Text, bytes.subarray(0, 2), { fin: false }));
    p.send(clientFrame(Opcode.Continuation, bytes.subarray(2, 5), { fin: false }));
    p.send(clientFrame(Opcode.Continuation, bytes.subarray(5)));
    expect((await p.waitFor(isMessage)).data.toString()).toBe('€🌡');
  });

  it('an invalid UTF-8 close reason → 1007', async () => {
    await expectClose([clientFrame(Opcode.Close, Buffer.from([0x03, 0xe8, 0xff, 0xfe]))], 1007);
  });

  it('a close frame with a 1-byte payload or an invalid code → 1002', async () => {
    await expectClose([clientFrame(Opcode.Close, Buffer.from([0x03]))], 1002);
    for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000]) {
      const payload = Buffer.alloc(2);
      payload.writeUInt16BE(code);
      await expectClose([clientFrame(Opcode.Close, payload)], 1002);
    }
  });
});

describe('sizes', () => {
  it('a declared length of 2^63-1 → 1009 before any payload is buffered', async () => {
    const header = Buffer.from([0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4]);
    await expectClose([header], 1009);
  });

  it('a 64-bit length with the top bit set → 1002', async () => {
    await expectClose([Buffer.from([0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4])], 1002);
  });

  it('a message over maxMessageBytes → 1009, also when only the running total of fragments is over', async () => {
    await expectClose([clientFrame(Opcode.Binary, Buffer.alloc(64 * 1024 + 1))], 1009);
    const half = Buffer.alloc(40 * 1024);
    await expectClose([clientFrame(Opcode.Binary, half, { fin: false }), clientFrame(Opcode.Continuation, half)], 1009);
  });

  it('exactly maxMessageBytes is accepted', async () => {
    const p = await peer();
    p.send(clientFrame(Opcode.Binary, Buffer.alloc(64 * 1024, 7)));
    expect((await p.waitFor(isMessage)).data.length).toBe(64 * 1024);
  });

  it('a million empty fragments: closed with 1009 after maxFragments, long before the million', async () => {
    const p = await peer();
    const empty = clientFrame(Opcode.Continuation, Buffer.alloc(0), { fin: false });
    const batch = Buffer.concat(Array.from({ length: 10_000 }, () => empty));
    p.send(clientFrame(Opcode.Binary, Buffer.alloc(0), { fin: false }));
    let sent = 0;
    // bounded batches: stop at a million, or as soon as the server has closed
    while (sent < 1_000_000 && !p.tcpClosed && !p.events.some((e) => e.type === 'close')) {
      if (!p.send(batch)) await new Promise<void>((resolve) => p.socket.once('drain', resolve).once('close', resolve));
      sent += 10_000;
      await new Promise((r) => setImmediate(r));
    }
    expect((await p.closeFrame()).code).toBe(1009);
    expect(sent).toBeLessThan(1_000_000);
    await p.closed;
  });
});

describe('handshake edge cases that must work', () => {
  it('handshake bytes sent one at a time', async () => {
    const p = await peer({ byteByByte: true });
    p.send(clientFrame(Opcode.Text, 'slow'));
    expect((await p.waitFor(isMessage)).data.toString()).toBe('slow');
  });

  it('frame bytes in the same packet as the handshake are delivered', async () => {
    const early = Buffer.concat([clientFrame(Opcode.Text, 'early'), clientFrame(Opcode.Binary, Buffer.from([9]))]);
    const p = await peer({ firstBytes: early });
    await p.waitUntil(() => p.events.filter(isMessage).length >= 2);
    expect(p.events.filter(isMessage).map((m) => [m.data.toString('hex'), m.binary])).toEqual([
      [Buffer.from('early').toString('hex'), false],
      ['09', true],
    ]);
  });

  it('`__proto__` and `constructor` as header and extension names are just names', async () => {
    const p = await peer({
      headers: '__proto__: x\r\nconstructor: y\r\nhasOwnProperty: z\r\nSec-WebSocket-Extensions: __proto__, constructor; toString=1\r\n',
    });
    expect(p.response.toLowerCase()).not.toContain('sec-websocket-extensions');
    p.send(clientFrame(Opcode.Text, 'proto-safe'));
    expect((await p.waitFor(isMessage)).data.toString()).toBe('proto-safe');
  });
});

describe('ping and pong', () => {
  it('a ping gets a pong with the same payload; an unsolicited pong is ignored', async () => {
    const p = await peer();
    p.send(clientFrame(Opcode.Pong, 'unsolicited'));
    p.send(clientFrame(Opcode.Ping, 'p1'));
    const pong = await p.waitFor(isPong);
    expect(pong.data.toString()).toBe('p1');
  });

  it('a ping between fragments of a message is answered and the message still arrives', async () => {
    const p = await peer();
    p.send(clientFrame(Opcode.Text, 'frag', { fin: false }));
    p.send(clientFrame(Opcode.Ping, 'mid'));
    p.send(clientFrame(Opcode.Continuation, 'ment'));
    expect((await p.waitFor(isMessage)).data.toString()).toBe('fragment');
    expect(p.events.some(isPong)).toBe(true);
  });
});
