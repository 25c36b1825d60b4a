/**
 * Properties of decodeClientMessage, alone and in front of a real Hub (recording fake devices):
 * arbitrary bytes and arbitrary values, on both encodings, give one message or one typed error,
 * never an exception, and nothing reaches a device unless it is a valid command.
 *
 * The oracle below says, from the generated JS value alone, what the JSON data model admits
 * (README "Wire protocol"), independently of the decoder's code.
 */
import { Encoder } from 'cbor-x';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_DEPTH } from '../../../src/bounds.js';
import { decodeClientMessage, type Decoded } from '../../../src/protocol/codec.js';
import type { Encoding } from '../../../src/protocol/messages.js';
import { Hub } from '../../../src/hub/hub.js';
import { silentLogger } from '../../../src/log.js';
import type { DeviceCommand } from '../../../src/domain.js';
import { FakeConn, FakeDevice, testConfig } from '../hub/fakes.js';

const DECODE_CODES = ['bad_encoding', 'malformed', 'too_deep', 'forbidden_key', 'out_of_range'];
const LONE = /\p{Cs}/u;

// ---- generated values and how a client encodes them ----------------------------------------

/** A Date, Set, Map, typed array, RegExp, Error, undefined…: what cbor-x encodes as a tag or simple value. */
class Exotic {
  constructor(readonly value: unknown) {}
}
/** The same object twice: with the structured-clone encoder, a shared reference (tags 28/29). */
class Shared {
  constructor(readonly value: object) {}
}

const edgeNumbers = [
  0,
  -0,
  1,
  -1,
  0.5,
  2 ** 53 - 1,
  -(2 ** 53 - 1),
  2 ** 53,
  -(2 ** 53),
  2 ** 53 + 2,
  1e20,
  1e300,
  Number.MAX_VALUE,
  5e-324,
  NaN,
  Infinity,
  -Infinity,
  65504,
  2 ** 32,
];
const edgeBigInts = [
  0n,
  1n,
  -1n,
  2n ** 53n - 1n,
  -(2n ** 53n - 1n),
  2n ** 53n,
  -(2n ** 53n),
  2n ** 53n + 1n,
  2n ** 63n,
  2n ** 64n - 1n,
  -(2n ** 64n),
  2n ** 64n,
  2n ** 70n,
];

function values(opts: { exotic: boolean; lone: boolean }): fc.Arbitrary<unknown> {
  const loneUnit = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
  const str = opts.lone
    ? fc.oneof(
        { weight: 4, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
        { weight: 1, arbitrary: fc.string({ unit: fc.oneof(loneUnit, fc.constantFrom('a', 'é', '😀')), maxLength: 6 }) },
      )
    : fc.string({ unit: 'binary', maxLength: 12 });
  const key = fc.oneof({ weight: 8, arbitrary: str }, { weight: 1, arbitrary: fc.constant('__proto__') });
  const leaf = fc.oneof(
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double(),
    fc.constantFrom(...edgeNumbers),
    fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
    fc.constantFrom(...edgeBigInts),
    str,
  );
  const exotic = fc.oneof(
    fc.constant(new Exotic(undefined)),
    fc.date({ noInvalidDate: true }).map((d) => new Exotic(d)),
    fc.constant(new Exotic(new Set([1, 'a']))),
    fc.constant(new Exotic(new Map([['k', 1]]))),
    fc.constant(new Exotic(new Map<unknown, unknown>([[1, 'one']]))),
    fc.uint8Array({ maxLength: 4 }).map((b) => new Exotic(b)),
    fc.uint8Array({ maxLength: 4 }).map((b) => new Exotic(Buffer.from(b))),
    fc.constant(new Exotic(new Float32Array([1.5]))),
    fc.constant(new Exotic(/re+/g)),
    fc.constant(new Exotic(new Error('boom'))),
  );
  const tree = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc.array(tie('value'), { maxLength: 4 }),
      fc.array(fc.tuple(key, tie('value')), { maxLength: 4 }).map((entries) => Object.fromEntries(entries)),
      ...(opts.exotic ? [exotic, fc.array(tie('value'), { maxLength: 2 }).map((v) => new Shared(v))] : []),
    ),
  })).value;
  // and now and then one buried deep, around MAX_DEPTH
  return fc.oneof(
    { weight: 6, arbitrary: tree },
    { weight: 1, arbitrary: fc.tuple(fc.integer({ min: MAX_DEPTH - 3, max: MAX_DEPTH + 3 }), leaf).map(([n, v]) => nest(n, v)) },
  );
}

function nest(levels: number, v: unknown): unknown {
  for (let i = 0; i < levels; i++) v = i % 2 ? { k: v } : [v];
  return v;
}

/** JSON text as a client might write it: bigints as integer literals, non-finite as overflowing literals, -0 kept. */
function toJson(v: unknown): string {
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return Number.isFinite(v) ? (Object.is(v, -0) ? '-0' : JSON.stringify(v)) : v < 0 ? '-1e999' : '1e999';
  if (Array.isArray(v)) return `[${v.map(toJson).join(',')}]`;
  if (v !== null && typeof v === 'object')
    return `{${Object.entries(v)
      .map(([k, x]) => `${JSON.stringify(k)}:${toJson(x)}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

const plainEncoder = new Encoder({ useRecords: false });
const cloneEncoder = new Encoder({ useRecords: false, structuredClone: true });

/** Unwraps Exotic/Shared into what cbor-x gets. */
function forCbor(v: unknown): unknown {
  if (v instanceof Exotic) return v.value;
  if (v instanceof Shared) {
    const inner = forCbor(v.value) as object;
    return [inner, inner];
  }
  if (Array.isArray(v)) return v.map(forCbor);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, forCbor(x)]));
  return v;
}

function encode(v: unknown, encoding: Encoding, clone: boolean): Buffer {
  if (encoding === 'json') return Buffer.from(toJson(v));
  return Buffer.from((clone ? cloneEncoder : plainEncoder).encode(forCbor(v)));
}

// ---- the oracle ---------------------------------------------------------------------------

interface Expected {
  /** every rule the value breaks (the decoder reports one of them) */
  codes: Set<string>;
  /** cbor-x may write a lone surrogate as U+FFFD (long strings) instead of invalid UTF-8 */
  lossy: boolean;
  /** the decoded value when no rule is broken */
  value: unknown;
}

function expected(root: unknown, encoding: Encoding, clone: boolean): Expected {
  const codes = new Set<string>();
  let lone = false;
  const str = (s: string): string => {
    if (!LONE.test(s)) return s;
    lone = true;
    return s.replace(/\p{Cs}/gu, '\ufffd');
  };
  const walk = (v: unknown, depth: number): unknown => {
    if (v === null || typeof v === 'boolean') return v;
    if (typeof v === 'number' || typeof v === 'bigint') {
      // (a bigint beyond 2^53 converts to at least 2^53)
      const n = Number(v);
      if (!(Math.abs(n) <= Number.MAX_SAFE_INTEGER)) codes.add('out_of_range');
      return n === 0 ? 0 : n;
    }
    if (typeof v === 'string') return str(v);
    if (v instanceof Exotic) {
      // a bare Map with text keys is still a tag (259) in cbor-x; everything here is outside the model
      codes.add('malformed');
      return undefined;
    }
    if (depth >= MAX_DEPTH) codes.add('too_deep');
    if (v instanceof Shared) {
      if (clone) codes.add('malformed');
      const inner = walk(v.value, depth + 1);
      return [inner, inner];
    }
    if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
    const out: Record<string, unknown> = Object.create(null);
    for (const [k, x] of Object.entries(v as object)) {
      if (k === '__proto__') codes.add('forbidden_key');
      out[str(k)] = walk(x, depth + 1);
    }
    return out;
  };
  const value = walk(root, 0);
  // when a lone surrogate is all that is wrong, cbor-x's rewrite makes it decodable
  const lossy = lone && encoding === 'cbor' && codes.size === 0;
  if (lone) codes.add('malformed');
  return { codes, lossy, value };
}

/** What every successful decode must be: plain JSON data, whatever came in. */
function assertJsonModel(v: unknown, depth = 0): void {
  if (v === null || typeof v === 'boolean') return;
  if (typeof v === 'number') {
    expect(Math.abs(v) <= Number.MAX_SAFE_INTEGER && !Object.is(v, -0)).toBe(true);
    return;
  }
  if (typeof v === 'string') {
    expect(LONE.test(v)).toBe(false);
    return;
  }
  expect(typeof v).toBe('object');
  expect(depth).toBeLessThan(MAX_DEPTH);
  if (Array.isArray(v)) return v.forEach((x) => assertJsonModel(x, depth + 1));
  expect(Object.getPrototypeOf(v)).toBe(null);
  for (const k of Reflect.ownKeys(v as object)) {
    expect(typeof k).toBe('string');
    expect(k).not.toBe('__proto__');
    expect(LONE.test(k as string)).toBe(false);
    assertJsonModel((v as Record<string, unknown>)[k as string], depth + 1);
  }
}

function assertOneOutcome(r: Decoded): void {
  if (r.ok) assertJsonModel(r.value);
  else {
    expect(DECODE_CODES).toContain(r.code);
    expect(typeof r.message).toBe('string');
    expect(r.message.length).toBeGreaterThan(0);
  }
}

function assertMatches(r: Decoded, exp: Expected): void {
  assertOneOutcome(r);
  if (exp.codes.size === 0) {
    expect(r).toEqual({ ok: true, value: exp.value });
  } else if (exp.lossy && r.ok) {
    expect(r.value).toEqual(exp.value);
  } else {
    expect(r.ok).toBe(false);
    if (!r.ok) expect([...exp.codes]).toContain(r.code);
  }
}

// ---- arbitrary bytes ----------------------------------------------------------------------

// heads that matter: 64-bit integers, floats, bignum and other tags, simple values, containers, text
const cborPieces = [
  '1b',
  '3b',
  '1b001fffffffffffff',
  '1b0020000000000000',
  '3b001fffffffffffff',
  'f97e00',
  'f97c00',
  'fa7fc00000',
  'fb7ff0000000000000',
  'fb4340000000000000',
  'f98000',
  'c2',
  'c3',
  'c1',
  'd81c',
  'd81d',
  'd81b',
  'f7',
  'f0',
  'f8ff',
  'a1',
  'a2',
  '81',
  '82',
  '9f',
  'bf',
  'ff',
  '61',
  '63eda080',
  '62c328',
  '6474797065',
  '67636f6d6d616e64',
  '41',
  '00',
  '20',
  '7a',
  '9b',
];
const jsonPieces = [
  '{',
  '}',
  '[',
  ']',
  ',',
  ':',
  '"',
  '"type"',
  '"command"',
  '"payload"',
  '"__proto__"',
  '9007199254740993',
  '-9007199254740993',
  '1e400',
  '-0',
  '0.5',
  '"\\ud800"',
  '"\\udfff"',
  '"\\ud83d\\ude00"',
  'null',
  'true',
  '1',
  ' ',
  '\\',
  '"\\u0000"',
];

const cborNoise = fc.oneof(
  fc.uint8Array({ maxLength: 48 }).map((b) => Buffer.from(b)),
  fc
    .array(
      fc.oneof(
        fc.constantFrom(...cborPieces),
        fc.uint8Array({ minLength: 1, maxLength: 3 }).map((b) => Buffer.from(b).toString('hex')),
      ),
      { maxLength: 16 },
    )
    .map((p) => Buffer.from(p.join(''), 'hex')),
);
const jsonNoise = fc.oneof(
  fc.string({ maxLength: 48 }),
  fc.array(fc.constantFrom(...jsonPieces), { maxLength: 16 }).map((p) => p.join('')),
);

/** A valid encoding with a few bytes changed, dropped or inserted. */
const mutated = (encoding: Encoding, source: fc.Arbitrary<unknown> = values({ exotic: encoding === 'cbor', lone: true })) =>
  fc
    .tuple(
      source,
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'drop', 'insert')), { minLength: 1, maxLength: 4 }),
    )
    .map(([v, edits]) => {
      const bytes = [...encode(v, encoding, false)];
      for (const [at, b, op] of edits) {
        const i = bytes.length === 0 ? 0 : at % bytes.length;
        if (op === 'set') bytes[i] = b;
        else if (op === 'drop') bytes.splice(i, 1);
        else bytes.splice(i, 0, b);
      }
      return Buffer.from(bytes);
    });

describe('decodeClientMessage (property)', () => {
  it('arbitrary bytes, both encodings, either frame kind: one value inside the JSON data model or one typed error, never a throw', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          cborNoise.map((b) => ['cbor', b] as const),
          jsonNoise.map((s) => ['json', Buffer.from(s)] as const),
          mutated('cbor').map((b) => ['cbor', b] as const),
          mutated('json').map((b) => ['json', b] as const),
        ),
        fc.boolean(),
        ([encoding, bytes], flipFrameKind) => {
          const binary = encoding === 'cbor' ? !flipFrameKind : flipFrameKind;
          assertOneOutcome(decodeClientMessage(bytes, binary, encoding));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('arbitrary values as JSON text: decoded exactly when inside the model, else refused with the right code', () => {
    fc.assert(
      fc.property(values({ exotic: false, lone: true }), (v) => {
        assertMatches(decodeClientMessage(encode(v, 'json', false), false, 'json'), expected(v, 'json', false));
      }),
      { numRuns: 2000 },
    );
  });

  it('arbitrary values as cbor-x writes them (plain and structured clone): decoded exactly when inside the model, else refused with the right code', () => {
    fc.assert(
      fc.property(values({ exotic: true, lone: true }), fc.boolean(), (v, clone) => {
        assertMatches(decodeClientMessage(encode(v, 'cbor', clone), true, 'cbor'), expected(v, 'cbor', clone));
      }),
      { numRuns: 2000 },
    );
  });
});

// ---- in front of a hub --------------------------------------------------------------------

const MAX_ID = 64;
/** testConfig: a = serial, maxLength 16; b = serial, allow ^(LED (ON|OFF)|PING)$; m = MQTT */
const RULES = { a: { maxLength: 16 }, b: { maxLength: 256, allow: /^(LED (ON|OFF)|PING)$/ }, m: { maxLength: 256 } } as const;
const hasControl = (s: string) =>
  [...s].some((ch) => {
    const c = ch.charCodeAt(0);
    return c < 0x20 || (c >= 0x7f && c <= 0x9f);
  });

/** What the device must receive for this (already decodable) message, or undefined when nothing may reach it. */
function deviceCall(msg: Record<string, unknown>): { device: keyof typeof RULES; cmd: DeviceCommand } | undefined {
  const { type, id, device, line, payload } = msg;
  if (type !== 'command' || typeof id !== 'string' || id.length === 0 || id.length > MAX_ID) return undefined;
  if (device !== 'a' && device !== 'b' && device !== 'm') return undefined;
  const rules = RULES[device];
  if (device === 'm') {
    if (line !== undefined || payload === undefined) return undefined;
    const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
    // commands.maxLength counts UTF-8 bytes
    return Buffer.byteLength(text) <= rules.maxLength ? { device, cmd: { payload } } : undefined;
  }
  if (payload !== undefined || typeof line !== 'string' || line.length === 0 || Buffer.byteLength(line) > rules.maxLength || hasControl(line))
    return undefined;
  if ('allow' in rules && !rules.allow.test(line)) return undefined;
  return { device, cmd: { line } };
}

const commandLike = (opts: { exotic: boolean; lone: boolean }) => {
  const hostile = values(opts);
  const text = fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('PING', 'LED ON', 'LED OFF', 'x'.repeat(17), 'a\nb', 'ok\u0085'));
  return fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record(
        {
          type: fc.oneof({ weight: 9, arbitrary: fc.constant('command') }, { weight: 1, arbitrary: hostile }),
          id: fc.oneof(
            { weight: 6, arbitrary: fc.string({ minLength: 1, maxLength: 8 }) },
            { weight: 1, arbitrary: fc.constant('i'.repeat(MAX_ID + 1)) },
            { weight: 1, arbitrary: hostile },
          ),
          device: fc.oneof({ weight: 6, arbitrary: fc.constantFrom('a', 'b', 'm', 'nope') }, { weight: 1, arbitrary: hostile }),
          line: fc.oneof({ weight: 3, arbitrary: text }, { weight: 1, arbitrary: hostile }),
          payload: fc.oneof({ weight: 2, arbitrary: text }, { weight: 2, arbitrary: hostile }),
        },
        { requiredKeys: ['type', 'id', 'device'] },
      ),
    },
    // well-aimed: the field each device takes, with an arbitrary value in it
    {
      weight: 2,
      arbitrary: fc.record({
        type: fc.constant('command'),
        id: fc.string({ minLength: 1, maxLength: 8 }),
        device: fc.constant('m'),
        payload: hostile,
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        type: fc.constant('command'),
        id: fc.string({ minLength: 1, maxLength: 8 }),
        device: fc.constantFrom('a', 'b'),
        line: text,
      }),
    },
    { weight: 1, arbitrary: hostile },
  );
};

function hubWithDevices() {
  const hub = new Hub(testConfig({ hub: { coalesceMs: 0, commandRate: { perSecond: 1e6, burst: 1e6 }, badMessageLimit: 1e6 } }), silentLogger());
  const devs = { a: new FakeDevice('a'), b: new FakeDevice('b'), m: new FakeDevice('m', 'mqtt') };
  hub.setDevices(Object.values(devs));
  return { hub, devs };
}

const settle = () => new Promise((r) => setImmediate(r));

/** One operator connection to a Hub with recording devices: what one client frame brings about. */
function harness(encoding: Encoding, protocol: string | undefined) {
  const { hub, devs } = hubWithDevices();
  const conn = new FakeConn(protocol);
  hub.attach(conn, { role: 'operator' });
  conn.writes.length = 0; // hello
  return {
    conn,
    async send(bytes: Buffer): Promise<{ replies: any[]; calls: Record<keyof typeof devs, DeviceCommand[]> }> {
      const before = { a: devs.a.calls.length, b: devs.b.calls.length, m: devs.m.calls.length };
      conn.emit('message', bytes, encoding === 'cbor');
      await settle();
      const replies = conn.messages();
      conn.writes.length = 0;
      return { replies, calls: { a: devs.a.calls.slice(before.a), b: devs.b.calls.slice(before.b), m: devs.m.calls.slice(before.m) } };
    },
  };
}

function assertCalls(calls: Record<string, DeviceCommand[]>, want: ReturnType<typeof deviceCall>): void {
  for (const id of ['a', 'b', 'm']) expect(calls[id]).toEqual(want?.device === id ? [want.cmd] : []);
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

describe.each([
  ['json', undefined],
  ['cbor', 'serialgate.v1.cbor'],
] as const)('a Hub behind decodeClientMessage, %s (property)', (encoding, protocol) => {
  it('arbitrary values: exactly one ack or error each; a device sees only the valid commands, each exactly as sent', async () => {
    const h = harness(encoding, protocol);
    // lone surrogates stay out of this CBOR run: cbor-x may rewrite them (covered above)
    await fc.assert(
      fc.asyncProperty(commandLike({ exotic: encoding === 'cbor', lone: encoding === 'json' }), fc.boolean(), async (v, clone) => {
        const exp = expected(v, encoding, clone);
        const { replies, calls } = await h.send(encode(v, encoding, clone));
        expect(replies).toHaveLength(1);
        expect(['ack', 'error']).toContain(replies[0].type);
        if (exp.codes.size > 0) {
          expect(replies[0].type).toBe('error');
          expect([...exp.codes]).toContain(replies[0].error.code);
        }
        const want = exp.codes.size === 0 && isRecord(exp.value) ? deviceCall(exp.value) : undefined;
        assertCalls(calls, want);
        if (want) expect(replies[0]).toMatchObject({ type: 'ack', ok: true });
      }),
      { numRuns: 1500 },
    );
    expect(h.conn.closedWith).toBeUndefined();
  });

  it('arbitrary and mutated bytes: exactly one ack or error each; a device call only for bytes that decode to a valid command', async () => {
    const h = harness(encoding, protocol);
    const command = commandLike({ exotic: encoding === 'cbor', lone: true });
    const bytes =
      encoding === 'cbor'
        ? fc.oneof(cborNoise, mutated('cbor', command))
        : fc.oneof(
            jsonNoise.map((t) => Buffer.from(t)),
            mutated('json', command),
          );
    await fc.assert(
      fc.asyncProperty(bytes, async (b) => {
        const decoded = decodeClientMessage(b, encoding === 'cbor', encoding);
        const { replies, calls } = await h.send(b);
        expect(replies).toHaveLength(1);
        expect(['ack', 'error']).toContain(replies[0].type);
        if (!decoded.ok) expect(replies[0]).toMatchObject({ type: 'error', error: { code: decoded.code } });
        else assertJsonModel(decoded.value);
        const want = decoded.ok && isRecord(decoded.value) ? deviceCall(decoded.value) : undefined;
        assertCalls(calls, want);
        if (want) expect(replies[0]).toMatchObject({ type: 'ack', ok: true });
      }),
      { numRuns: 1500 },
    );
    expect(h.conn.closedWith).toBeUndefined();
  });
});
