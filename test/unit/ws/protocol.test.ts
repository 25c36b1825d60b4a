/**
 * The sans-I/O server protocol, byte by byte: what it tells the I/O layer to do for each input,
 * and above all the close handshake (who closed first, what is echoed, who closes TCP, when
 * to give up).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeFrame } from '../../../src/ws/frame-encoder.js';
import { Action, ReadyState, WsProtocol, type ActionKind } from '../../../src/ws/protocol.js';
import { hex, utf8 } from './events.js';

/** One action, with frames and payloads as hex. */
type Step =
  ['message', string, 'text' | 'binary'] | ['send', string] | ['close', string, 'end' | 'wait'] | ['end'] | ['destroy'] | ['violation', string];

/** Masking key 0: a masked client frame whose payload reads as plain hex. */
const M0 = '00000000';

function server(): WsProtocol {
  return new WsProtocol({ maxMessageBytes: 1024, maxFragments: 4 });
}

/** Reads an action (returned by next() or a local call) in the protocol's current fields. */
function step(p: WsProtocol, action: ActionKind): Step | undefined {
  switch (action) {
    case Action.Done:
      return undefined;
    case Action.Message:
      return ['message', p.data.toString('hex'), p.binary ? 'binary' : 'text'];
    case Action.Send:
      return ['send', p.data.toString('hex')];
    case Action.Close:
      return ['close', p.data.toString('hex'), p.endAfter ? 'end' : 'wait'];
    case Action.End:
      return ['end'];
    case Action.Destroy:
      return ['destroy'];
    default:
      return ['violation', p.error!.code];
  }
}

/** Feeds each hex chunk and collects every action until Done. */
function feed(p: WsProtocol, ...chunks: string[]): Step[] {
  const steps: Step[] = [];
  for (const chunk of chunks) {
    p.receive(hex(chunk));
    for (let s = step(p, p.next()); s !== undefined; s = step(p, p.next())) steps.push(s);
  }
  return steps;
}

/** The same bytes, one byte per receive(). */
function feedBytewise(p: WsProtocol, chunk: string): Step[] {
  const bytes = hex(chunk);
  return feed(p, ...[...bytes].map((b) => b.toString(16).padStart(2, '0')));
}

const closeFrame = (code: number, reason = '') =>
  `88 ${(2 + Buffer.byteLength(reason)).toString(16).padStart(2, '0')} ${code.toString(16).padStart(4, '0')} ${utf8(reason)}`.replace(/\s+/g, '');
const clientClose = (code: number, reason = '') =>
  `88 ${(0x80 | (2 + Buffer.byteLength(reason))).toString(16)} ${M0} ${code.toString(16).padStart(4, '0')} ${utf8(reason)}`;

describe('WsProtocol: data and control frames', () => {
  it('hands a message to the application, text and binary', () => {
    const p = server();
    expect(feed(p, `81 82 ${M0} 6869`, `82 81 ${M0} ff`)).toEqual([
      ['message', '6869', 'text'],
      ['message', 'ff', 'binary'],
    ]);
    expect(p.state).toBe(ReadyState.Open);
    // once everything is read the protocol holds no payload (a view would pin the whole socket read)
    expect(p.data.length).toBe(0);
  });

  it('returns one action per next(), so the state a handler sees is that of the bytes before it', () => {
    const p = server();
    p.receive(hex(`81 81 ${M0} 61 ${clientClose(1000)}`));
    expect(p.next()).toBe(Action.Message);
    // the close frame behind the message is not parsed yet
    expect(p.state).toBe(ReadyState.Open);
    expect(step(p, p.next())).toEqual(['close', closeFrame(1000), 'end']);
    expect(p.state).toBe(ReadyState.Closing);
    expect(p.next()).toBe(Action.Done);
  });

  it('answers a ping with a pong carrying the same payload, and ignores a pong', () => {
    const p = server();
    expect(feed(p, `89 82 ${M0} 7071`, `8a 81 ${M0} 71`)).toEqual([['send', '8a027071']]);
  });

  it('gives the same actions whatever the byte split', () => {
    const stream = `81 81 ${M0} 61 89 80 ${M0} ${clientClose(4000, 'x')}`;
    expect(feedBytewise(server(), stream)).toEqual(feed(server(), stream));
    expect(feed(server(), stream)).toEqual([
      ['message', '61', 'text'],
      ['send', '8a00'],
      ['close', closeFrame(4000, 'x'), 'end'],
    ]);
  });
});

describe('WsProtocol: the peer closes first', () => {
  it("echoes code and reason, closes TCP after the echo, and reports the peer's code", () => {
    const p = server();
    expect(feedBytewise(p, clientClose(1001, 'bye'))).toEqual([['close', closeFrame(1001, 'bye'), 'end']]);
    expect(p.state).toBe(ReadyState.Closing);
    expect(p.closed()).toEqual({ code: 1001, reason: 'bye' });
    expect(p.state).toBe(ReadyState.Closed);
  });

  it('answers a close without a code with 1000 and reports 1005', () => {
    const p = server();
    expect(feed(p, `88 80 ${M0}`)).toEqual([['close', closeFrame(1000), 'end']]);
    expect(p.closed()).toEqual({ code: 1005, reason: '' });
  });

  it('ignores whatever follows the close frame', () => {
    const p = server();
    expect(feed(p, `${clientClose(1000)} 81 81 ${M0} 61`, `89 80 ${M0}`)).toEqual([['close', closeFrame(1000), 'end']]);
  });

  it("a local close() after the peer's close frame was read sends nothing more", () => {
    const p = server();
    feed(p, clientClose(1000));
    expect(p.close(4000, 'late')).toBe(Action.Done);
    expect(p.closed()).toEqual({ code: 1000, reason: '' });
  });
});

describe('WsProtocol: the server closes first', () => {
  it('sends the close frame and keeps TCP open for the answer; the answer completes the handshake and the server closes TCP', () => {
    const p = server();
    expect(step(p, p.close(4001, 'bye'))).toEqual(['close', closeFrame(4001, 'bye'), 'wait']);
    expect(p.state).toBe(ReadyState.Closing);
    expect(feedBytewise(p, clientClose(4001, 'bye'))).toEqual([['end']]);
    // the event reports our code, not the echo
    expect(p.closed()).toEqual({ code: 4001, reason: 'bye' });
  });

  it('while closing, messages are dropped and pings are not answered', () => {
    const p = server();
    p.close(1000, '');
    expect(feed(p, `81 81 ${M0} 61`, `89 80 ${M0}`, clientClose(1000))).toEqual([['end']]);
  });

  it('a second close() does nothing', () => {
    const p = server();
    p.close(1000, '');
    expect(p.close(4000, 'again')).toBe(Action.Done);
    expect(p.closed().code).toBe(1000);
  });

  it('close() refuses a code that may not be sent before changing anything', () => {
    const p = server();
    expect(() => p.close(1005, '')).toThrow(RangeError);
    expect(() => p.close(1000, 'x'.repeat(124))).toThrow(RangeError);
    expect(p.state).toBe(ReadyState.Open);
    expect(feed(p, `81 81 ${M0} 61`)).toEqual([['message', '61', 'text']]);
  });

  it('reports 1006 when TCP closes without any close frame', () => {
    const p = server();
    feed(p, `81 81 ${M0} 61`);
    expect(p.closed()).toEqual({ code: 1006, reason: '' });
  });
});

describe('WsProtocol: failing the connection', () => {
  it('a protocol violation: first the violation, then a close frame with its code and reason, TCP closed right after', () => {
    const p = server();
    expect(feed(p, '81 00')).toEqual([
      ['violation', 'SG_ERR_WS_UNMASKED'],
      ['close', closeFrame(1002, 'client frame is not masked'), 'end'],
    ]);
    expect(p.closed()).toEqual({ code: 1002, reason: 'client frame is not masked' });
  });

  it('a violation after our close frame: no second close frame, the TCP connection is dropped', () => {
    const p = server();
    p.close(4000, 'bye');
    expect(feedBytewise(p, `83 80 ${M0}`)).toEqual([['violation', 'SG_ERR_WS_OPCODE'], ['destroy']]);
    expect(p.closed().code).toBe(4000);
  });

  it('fail(): 1011 and TCP closed right after; destroy once closing; nothing once closed', () => {
    const p = server();
    expect(step(p, p.fail(1011, 'internal error'))).toEqual(['close', closeFrame(1011, 'internal error'), 'end']);
    expect(p.fail(1011, 'internal error')).toBe(Action.Destroy);
    expect(p.closed()).toEqual({ code: 1011, reason: 'internal error' });
    expect(p.fail(1011, 'internal error')).toBe(Action.Done);
  });

  it('messages behind a failure are not delivered', () => {
    const p = server();
    p.receive(hex(`81 81 ${M0} 61 81 81 ${M0} 62`));
    expect(p.next()).toBe(Action.Message);
    p.fail(1011, 'internal error'); // the handler of the first message threw
    expect(p.next()).toBe(Action.Done);
  });

  it('abort(): drop TCP now, reporting the given code unless someone closed first', () => {
    const p = server();
    expect(p.abort(1013, 'send buffer full')).toBe(Action.Destroy);
    expect(p.closed()).toEqual({ code: 1013, reason: 'send buffer full' });

    const q = server();
    q.close(4000, 'first');
    expect(q.abort(1013, 'send buffer full')).toBe(Action.Destroy);
    expect(q.closed()).toEqual({ code: 4000, reason: 'first' });
  });

  it('eof(): the peer closed its side of TCP, so does the server', () => {
    expect(server().eof()).toBe(Action.End);
  });
});

describe('WsProtocol: totality', () => {
  const frameArb = fc
    .record({
      b0: fc.integer({ min: 0, max: 255 }),
      masked: fc.boolean(),
      payload: fc.uint8Array({ maxLength: 40 }),
    })
    .map(({ b0, masked, payload }) => {
      const frame = encodeFrame(b0 & 0x0f, Buffer.from(payload), {
        fin: (b0 & 0x80) !== 0,
        rsv: (b0 >> 4) & 7,
        mask: masked ? Buffer.from('a1b2c3d4', 'hex') : undefined,
      });
      return frame;
    });

  it('never throws on any bytes, any split and any local call, and ends in one close at most', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            frameArb,
            fc.uint8Array({ maxLength: 16 }).map((b) => Buffer.from(b)),
          ),
          { maxLength: 10 },
        ),
        fc.array(fc.nat(), { maxLength: 10 }),
        fc.constantFrom('none', 'close', 'fail', 'abort'),
        (frames, cuts, local) => {
          const p = server();
          const stream = Buffer.concat(frames);
          const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
          const steps: Array<Step | undefined> = [];
          let from = 0;
          for (const [i, to] of [...points, stream.length].entries()) {
            p.receive(Buffer.from(stream.subarray(from, to)));
            for (let s = step(p, p.next()); s !== undefined; s = step(p, p.next())) steps.push(s);
            if (i === 0 && local === 'close') steps.push(step(p, p.close(1000, '')));
            if (i === 0 && local === 'fail') steps.push(step(p, p.fail(1011, 'internal error')));
            if (i === 0 && local === 'abort') steps.push(step(p, p.abort(1013, 'send buffer full')));
            from = to;
          }
          expect(steps.filter((s) => s?.[0] === 'close').length).toBeLessThanOrEqual(1);
          const { code } = p.closed();
          expect(code).toBeGreaterThanOrEqual(1000);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
