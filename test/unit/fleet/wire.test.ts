import { describe, expect, it } from 'vitest';
import { RemoteCommands } from '../../../src/fleet/remote-commands.js';
import { FleetTopics } from '../../../src/fleet/topics.js';
import { parsePresence, parseReading } from '../../../src/fleet/wire.js';

const buf = (s: string) => Buffer.from(s);

describe('fleet wire: text from another gateway must be well-formed Unicode (the same value in JSON and CBOR)', () => {
  it('a reading with a lone surrogate in a value, a key, raw or error is dropped like garbage', () => {
    expect(parseReading(buf('{"seq":1,"ts":1,"values":{"t":"ok 😀"},"raw":"r","error":"e"}'))).toEqual({
      seq: 1,
      ts: 1,
      values: { t: 'ok 😀' },
      raw: 'r',
      error: 'e',
    });
    expect(parseReading(buf('{"seq":1,"ts":1,"values":{"t":"\\ud800"}}'))).toBeUndefined();
    expect(parseReading(buf('{"seq":1,"ts":1,"values":{"\\udc00":1}}'))).toBeUndefined();
    expect(parseReading(buf('{"seq":1,"ts":1,"raw":"a\\ud800b"}'))).toBeUndefined();
    expect(parseReading(buf('{"seq":1,"ts":1,"error":"\\udfff"}'))).toBeUndefined();
  });

  it('a presence with a lone surrogate in its instance or reason is dropped', () => {
    expect(parsePresence(buf('{"state":"offline","instance":"i1","reason":"bye"}'))).toEqual({ state: 'offline', instance: 'i1', reason: 'bye' });
    expect(parsePresence(buf('{"state":"offline","instance":"i\\ud800"}'))).toBeUndefined();
    // a reason that is not text is replaced, as one too long is
    expect(parsePresence(buf('{"state":"offline","instance":"i1","reason":"\\ud800"}'))).toEqual({
      state: 'offline',
      instance: 'i1',
      reason: 'offline',
    });
  });
});

// JSON.parse makes 1e400 Infinity: CBOR dashboards got ±Infinity, JSON ones null
describe('fleet wire: numbers from another gateway are what a gateway sends', () => {
  it('a reading with a value that is not finite is dropped; large finite values pass', () => {
    expect(parseReading(buf('{"seq":1,"ts":1,"values":{"v":1e400}}'))).toBeUndefined();
    expect(parseReading(buf('{"seq":1,"ts":1,"values":{"v":1,"w":-1e400}}'))).toBeUndefined();
    expect(parseReading(buf('{"seq":1,"ts":1,"values":{"v":1e300,"w":-0.5,"n":null,"b":false}}'))).toEqual({
      seq: 1,
      ts: 1,
      values: { v: 1e300, w: -0.5, n: null, b: false },
    });
  });

  it('seq and ts are non-negative safe integers (ts: ms since the epoch, as Date.now() gives it)', () => {
    expect(parseReading(buf('{"seq":1,"ts":1700000000000}'))).toEqual({ seq: 1, ts: 1700000000000 });
    for (const ts of ['1e300', '-1', '1.5', '9007199254740992', '"1"', 'null']) {
      expect(parseReading(buf(`{"seq":1,"ts":${ts}}`)), ts).toBeUndefined();
    }
    for (const seq of ['-1', '0.5', '1e400']) expect(parseReading(buf(`{"seq":${seq},"ts":1}`)), seq).toBeUndefined();
  });
});

describe('fleet wire: acks', () => {
  const requests = () => new RemoteCommands(new FleetTopics('f'), 'Y', 'i1', { connected: () => true, publish: () => undefined }, 100, () => true);

  it("an owner's answer settles its command: the reply, or its refusal code (unknown codes are internal)", async () => {
    const r = requests();
    const ok = r.send('X', 'd', { line: 'PING' });
    const no = r.send('X', 'd', { line: 'NO' });
    const odd = r.send('X', 'd', { line: '?' });
    r.ack('X', 'd', buf('{"id":"i1:1","ok":true,"reply":"PONG"}'), undefined);
    r.ack('X', 'd', buf('{"ok":false,"error":{"code":"busy","message":"m"}}'), Buffer.from('i1:2'));
    r.ack('X', 'd', buf('{"id":"i1:3","ok":false,"error":"x"}'), undefined);
    await expect(ok).resolves.toEqual({ reply: 'PONG' });
    await expect(no).rejects.toMatchObject({ code: 'busy', message: 'gateway X: m' });
    await expect(odd).rejects.toMatchObject({ code: 'internal', message: 'gateway X: the owning gateway refused the command' });
  });

  it('an ack whose reply or message has a lone surrogate is dropped like garbage (two different values in JSON and CBOR)', async () => {
    const r = requests();
    const a = r.send('X', 'd', { line: 'A' });
    const b = r.send('X', 'd', { line: 'B' });
    r.ack('X', 'd', buf('{"id":"i1:1","ok":true,"reply":"A\\ud800B"}'), undefined);
    r.ack('X', 'd', buf('{"id":"i1:2","ok":false,"error":{"code":"busy","message":"\\udc00"}}'), undefined);
    await expect(a).rejects.toMatchObject({ code: 'timeout' });
    await expect(b).rejects.toMatchObject({ code: 'timeout' });
  });
});
