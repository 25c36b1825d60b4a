import { describe, expect, it } from 'vitest';
import { CloseCode, Opcode, isValidCloseCode } from '../../../src/ws/constants.js';

describe('isValidCloseCode', () => {
  // RFC 6455 §7.4.1/§7.4.2 and the IANA "WebSocket Close Code Number Registry".
  const valid = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999];
  const invalid = [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535, -1, 1000.5, Number.NaN];

  it.each(valid)('accepts %d', (code) => expect(isValidCloseCode(code)).toBe(true));
  it.each(invalid)('rejects %d', (code) => expect(isValidCloseCode(code)).toBe(false));

  it('agrees with the ranges for every 16-bit code', () => {
    const wrong: number[] = [];
    for (let code = 0; code <= 0xffff; code++) {
      const expected = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
      if (isValidCloseCode(code) !== expected) wrong.push(code);
    }
    expect(wrong).toEqual([]);
  });

  it('names the codes of the contract', () => {
    expect(Opcode).toEqual({ Continuation: 0, Text: 1, Binary: 2, Close: 8, Ping: 9, Pong: 10 });
    expect(CloseCode.MessageTooBig).toBe(1009);
    expect(CloseCode.TryAgainLater).toBe(1013);
  });
});
