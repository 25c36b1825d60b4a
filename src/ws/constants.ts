/** Frame opcodes (RFC 6455 §5.2). 3-7 and 0xB-0xF are reserved and rejected by the parser. */
export const Opcode = { Continuation: 0, Text: 1, Binary: 2, Close: 8, Ping: 9, Pong: 10 } as const;

/** Close codes this project sends or reports (RFC 6455 §7.4.1 and the IANA registry). */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  ProtocolError: 1002,
  UnsupportedData: 1003,
  NoStatus: 1005,
  Abnormal: 1006,
  InvalidPayload: 1007,
  PolicyViolation: 1008,
  MessageTooBig: 1009,
  InternalError: 1011,
  TryAgainLater: 1013,
} as const;

/** Control frames carry at most 125 payload bytes (RFC 6455 §5.5). */
export const MAX_CONTROL_PAYLOAD = 125;

/**
 * May this code appear in a close frame received from a peer (RFC 6455 §7.4 + IANA registry)?
 * 1004 is reserved, 1005/1006/1015 are "must not be sent" pseudo-codes, 1016-2999 are
 * unassigned protocol codes, 3000-3999 are registered by libraries/frameworks and
 * 4000-4999 are private use. 1010 ("mandatory extension") is only sent by clients, but a
 * server receiving it cannot tell, so it is accepted like ws and python-websockets do.
 * The same set is what we allow ourselves to send (encodeClose).
 */
export function isValidCloseCode(code: number): boolean {
  if (!Number.isInteger(code)) return false;
  if (code >= 1000 && code <= 1014) return code !== 1004 && code !== 1005 && code !== 1006;
  return code >= 3000 && code <= 4999;
}
