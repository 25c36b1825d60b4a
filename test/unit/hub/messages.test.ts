import { Encoder, decode } from 'cbor-x';
import { describe, expect, it } from 'vitest';
import { MAX_DEPTH } from '../../../src/bounds.js';
import { decodeClientMessage } from '../../../src/protocol/codec.js';
import { encodingOf, type ReadingMessage } from '../../../src/protocol/messages.js';
import { frameMessage } from '../../../src/hub/frame.js';

const reading: ReadingMessage = {
  type: 'reading',
  seq: 7,
  device: 'm1',
  ts: 1_764_000_000_123,
  values: { t: 21.5, n: 3, ok: true, s: 'x', z: null },
};

describe('server messages', () => {
  it('JSON text frame: 2-byte header, opcode 1, payload is the JSON', () => {
    const f = frameMessage(reading, 'json');
    expect(f[0]).toBe(0x81);
    const json = JSON.stringify(reading);
    expect(f[1]).toBe(json.length);
    expect(f.subarray(2).toString()).toBe(json);
  });

  it('CBOR binary frame decodes with cbor-x decode to a plain object, numbers stay numbers', () => {
    const f = frameMessage(reading, 'cbor');
    expect(f[0]).toBe(0x82);
    const payload = f.subarray(f[1]! < 126 ? 2 : 4);
    const back = decode(payload);
    expect(back).toEqual(reading);
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(typeof back.values.t).toBe('number');
    expect(back.ts).toBe(1_764_000_000_123);
  });

  it('frames own their bytes: cbor-x reuses its buffer, two frames stay distinct', () => {
    const a = frameMessage({ type: 'gap', from: 1, to: 2 }, 'cbor');
    const b = frameMessage({ type: 'gap', from: 3, to: 4 }, 'cbor');
    expect(decode(a.subarray(2))).toEqual({ type: 'gap', from: 1, to: 2 });
    expect(decode(b.subarray(2))).toEqual({ type: 'gap', from: 3, to: 4 });
  });

  it('encoding follows the negotiated subprotocol; none → JSON', () => {
    expect(encodingOf('serialgate.v1.cbor')).toBe('cbor');
    expect(encodingOf('serialgate.v1.json')).toBe('json');
    expect(encodingOf(undefined)).toBe('json');
  });
});

describe('client messages', () => {
  // what a browser client would use: plain maps, no records extension
  const encoder = new Encoder({ useRecords: false });
  const encode = (v: unknown) => encoder.encode(v);
  const json = (s: string) => decodeClientMessage(Buffer.from(s), false, 'json');
  const cbor = (v: unknown) => decodeClientMessage(Buffer.from(encode(v)), true, 'cbor');
  const cborHex = (h: string) => decodeClientMessage(Buffer.from(h, 'hex'), true, 'cbor');

  it('JSON object → null-prototype object', () => {
    const r = json('{"type":"subscribe","devices":["*"],"since":3}');
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(Object.getPrototypeOf(r.value)).toBe(null);
    expect({ ...(r.value as object) }).toEqual({ type: 'subscribe', devices: ['*'], since: 3 });
  });

  it('not JSON → malformed', () => {
    expect(json('{"type":')).toMatchObject({ ok: false, code: 'malformed' });
  });

  it('binary frame on JSON, text frame on CBOR → bad_encoding', () => {
    expect(decodeClientMessage(Buffer.from('{}'), true, 'json')).toMatchObject({ ok: false, code: 'bad_encoding' });
    expect(decodeClientMessage(Buffer.from(encode({})), false, 'cbor')).toMatchObject({ ok: false, code: 'bad_encoding' });
  });

  it('__proto__ keys are refused at any depth, in both encodings', () => {
    expect(json('{"__proto__":{"x":1},"type":"command"}')).toMatchObject({ ok: false, code: 'forbidden_key' });
    expect(json('{"type":"command","payload":{"a":[{"__proto__":1}]}}')).toMatchObject({ ok: false, code: 'forbidden_key' });
    // {"__proto__": {"x": 1}, "type": "x"} by hand: an encoder would not produce it from an object
    expect(cborHex('a2695f5f70726f746f5f5fa1617801647479706561' + '78')).toMatchObject({ ok: false, code: 'forbidden_key' });
  });

  it('10,000-deep nesting → too_deep without recursion (JSON and CBOR)', () => {
    expect(json('['.repeat(10_000) + ']'.repeat(10_000))).toMatchObject({ ok: false, code: 'too_deep' });
    expect(json('{"type":"command","payload":' + '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_001))).toMatchObject({ ok: false, code: 'too_deep' });
    expect(cborHex('81'.repeat(10_000) + '01')).toMatchObject({ ok: false, code: 'too_deep' });
  });

  it(`exactly ${MAX_DEPTH} levels are accepted`, () => {
    expect(json('['.repeat(MAX_DEPTH) + ']'.repeat(MAX_DEPTH)).ok).toBe(true);
    expect(json('['.repeat(MAX_DEPTH + 1) + ']'.repeat(MAX_DEPTH + 1))).toMatchObject({ ok: false, code: 'too_deep' });
    expect(cborHex('81'.repeat(MAX_DEPTH - 1) + '80').ok).toBe(true);
    expect(cborHex('81'.repeat(MAX_DEPTH) + '80')).toMatchObject({ ok: false, code: 'too_deep' });
  });

  it('CBOR: the JSON data model decodes to the same value as JSON', () => {
    const msg = { type: 'command', id: 'c1', device: 'm', payload: { on: true, level: 0.5, n: -3, big: 2 ** 40, s: 'é', z: null, list: [1, 'a'] } };
    const r = cbor(msg);
    expect(r.ok).toBe(true);
    if (r.ok) expect(JSON.parse(JSON.stringify(r.value))).toEqual(msg);
  });

  it('CBOR: tags (27 would call a global by name), byte strings, undefined, indefinite lengths, non-text keys are refused', () => {
    // tag 27 ["eval", "1"]
    expect(cborHex('d81b82646576616c6131')).toMatchObject({ ok: false, code: 'malformed', message: 'CBOR tags are not accepted' });
    expect(cborHex('a1617842abcd')).toMatchObject({ ok: false, message: 'CBOR byte strings are not accepted' });
    expect(cborHex('f7')).toMatchObject({ ok: false, code: 'malformed' });
    expect(cborHex('bf617801ff')).toMatchObject({ ok: false, code: 'malformed' });
    expect(cborHex('a10102')).toMatchObject({ ok: false, message: 'map keys must be text strings' });
    expect(cborHex('a1a16161016178')).toMatchObject({ ok: false, message: 'map keys must be text strings' });
  });

  it('CBOR: truncated data, trailing bytes and lying lengths → malformed', () => {
    expect(cborHex('a2617801')).toMatchObject({ ok: false, code: 'malformed' });
    expect(cborHex('0102')).toMatchObject({ ok: false, message: 'not CBOR: bytes after the end of the message' });
    expect(cborHex('9bffffffffffffffff')).toMatchObject({ ok: false, code: 'malformed' });
    expect(cborHex('7a00010000')).toMatchObject({ ok: false, code: 'malformed' });
    expect(cborHex('')).toMatchObject({ ok: false, code: 'malformed' });
  });
});
