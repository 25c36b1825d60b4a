import { describe, expect, it } from 'vitest';
import { encode } from 'cbor-x';
import { parseServerMessage, ProtocolViolation } from '../../../src/protocol/server-messages.js';
import { decodeServerFrame, encodeClientMessage } from '../../../src/protocol/client-codec.js';
import { encodingOf } from '../../../src/protocol/messages.js';
import { decodeClientMessage } from '../../../src/protocol/codec.js';

describe('parseServerMessage', () => {
  it('accepts every message type of protocol v1', () => {
    const msgs = [
      {
        type: 'hello',
        protocol: 1,
        gateway: 'g',
        role: 'viewer',
        epoch: 'Qx3_9kTz-aB1',
        seq: 0,
        devices: [{ id: 'd', source: 'serial', state: 'up' }],
      },
      { type: 'reading', seq: 1, device: 'd', ts: 1, values: { t: 21.5, ok: true, s: 'x', n: null } },
      { type: 'reading', seq: 2, device: 'd', ts: 1, raw: 'line' },
      { type: 'state', device: 'd', state: 'down', reason: 'unplugged' },
      { type: 'ack', id: 'c1', ok: true, reply: 'OK' },
      { type: 'ack', id: 'c1', ok: false, error: { code: 'forbidden', message: 'viewer' } },
      { type: 'gap', from: 3, to: 3 },
      { type: 'error', error: { code: 'malformed', message: 'x' } },
      { type: 'reset', epoch: 'Qx3_9kTz-aB1' },
      {
        type: 'hello',
        protocol: 1,
        gateway: 'A',
        role: 'operator',
        epoch: 'Qx3_9kTz-aB1',
        seq: 0,
        devices: [{ id: 'B/d', source: 'mqtt', gateway: 'B', state: 'down', reason: 'gateway B is offline: stopped' }],
        gateways: [{ id: 'B', state: 'offline', reason: 'stopped' }],
      },
      { type: 'presence', gateway: 'B', state: 'online' },
      { type: 'presence', gateway: 'B', state: 'offline', reason: 'connection lost' },
    ];
    for (const m of msgs) expect(parseServerMessage(m)).toBe(m);
  });

  it('ignores a message type it does not know (a newer gateway)', () => {
    expect(parseServerMessage({ type: 'stats', x: 1 })).toBeUndefined();
  });

  it.each([
    [null, 'message is not an object with a "type"'],
    [[1], 'message is not an object with a "type"'],
    [{ type: 'reading', seq: -1, device: 'd', ts: 1 }, 'malformed "reading" message'],
    [{ type: 'reading', seq: 1.5, device: 'd', ts: 1 }, 'malformed "reading" message'],
    [{ type: 'reading', seq: 1, device: 'd', ts: 1, values: { a: { b: 1 } } }, 'malformed "reading" message'],
    [{ type: 'hello', protocol: 2, gateway: 'g', role: 'viewer', epoch: 'e', seq: 0, devices: [] }, 'malformed "hello" message'],
    [{ type: 'hello', protocol: 1, gateway: 'g', role: 'admin', epoch: 'e', seq: 0, devices: [] }, 'malformed "hello" message'],
    // a seq that names no stream cannot be resumed safely
    [{ type: 'hello', protocol: 1, gateway: 'g', role: 'viewer', seq: 0, devices: [] }, 'malformed "hello" message'],
    [{ type: 'hello', protocol: 1, gateway: 'g', role: 'viewer', epoch: '', seq: 0, devices: [] }, 'malformed "hello" message'],
    [{ type: 'reset' }, 'malformed "reset" message'],
    [{ type: 'ack', id: 'c1', ok: false }, 'malformed "ack" message'],
    [{ type: 'gap', from: 5, to: 4 }, 'malformed "gap" message'],
    [{ type: 'state', device: 'd', state: 'sideways' }, 'malformed "state" message'],
    [{ type: 'presence', gateway: 'B', state: 'up' }, 'malformed "presence" message'],
    [{ type: 'presence', state: 'online' }, 'malformed "presence" message'],
    [
      { type: 'hello', protocol: 1, gateway: 'g', role: 'viewer', epoch: 'e', seq: 0, devices: [], gateways: [{ id: 'B' }] },
      'malformed "hello" message',
    ],
  ])('refuses %j: %s', (msg, message) => {
    expect(() => parseServerMessage(msg)).toThrow(ProtocolViolation);
    expect(() => parseServerMessage(msg)).toThrow(message);
  });
});

describe('codec', () => {
  it('decodes by frame type: text as JSON, binary as CBOR (ArrayBuffer or view)', () => {
    const msg = { type: 'gap', from: 1, to: 2 };
    expect(decodeServerFrame(JSON.stringify(msg))).toEqual(msg);
    const bytes = encode(msg);
    const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    expect(decodeServerFrame(ab)).toEqual(msg);
    expect(decodeServerFrame(bytes)).toEqual(msg);
    expect(() => decodeServerFrame(42)).toThrow('unexpected frame data of type number');
  });

  it('a field named __proto__ is data in CBOR as in JSON: an own key, no prototype touched', () => {
    const msg = { type: 'reading', seq: 1, device: 'd', ts: 1, values: JSON.parse('{"__proto__":1,"constructor":2,"t":[{"__proto__":3}]}') };
    const fromCbor = decodeServerFrame(encode(msg)) as { values: Record<string, unknown> };
    expect(fromCbor).toEqual(JSON.parse(JSON.stringify(msg)));
    expect(Object.keys(fromCbor.values)).toEqual(['__proto__', 'constructor', 't']);
    expect(Object.getPrototypeOf(fromCbor.values)).toBe(Object.prototype);
    expect(Object.hasOwn((fromCbor.values.t as object[])[0]!, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).t).toBeUndefined();
  });

  it('client messages in both encodings are what the gateway accepts (JSON data model only)', () => {
    const cmd = { type: 'command', id: 'c1', device: 'mock1', line: 'LED ON' } as const;
    for (const enc of ['json', 'cbor'] as const) {
      const data = encodeClientMessage(cmd, enc);
      const decoded = decodeClientMessage(Buffer.from(data), enc === 'cbor', enc);
      expect(decoded).toEqual({ ok: true, value: { ...cmd } });
    }
    const sub = encodeClientMessage({ type: 'subscribe', devices: ['*'], since: 12, epoch: 'Qx3_9kTz-aB1' }, 'cbor');
    expect(decodeClientMessage(Buffer.from(sub), true, 'cbor')).toEqual({
      ok: true,
      value: { type: 'subscribe', devices: ['*'], since: 12, epoch: 'Qx3_9kTz-aB1' },
    });
  });

  it('maps the negotiated subprotocol to an encoding; none means JSON', () => {
    expect(encodingOf('serialgate.v1.cbor')).toBe('cbor');
    expect(encodingOf('serialgate.v1.json')).toBe('json');
    expect(encodingOf('')).toBe('json');
    expect(encodingOf(undefined)).toBe('json');
  });
});
