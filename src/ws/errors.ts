/**
 * Stable codes for every way a peer can break the protocol, with their meaning. The server logs
 * `code` and closes the connection with `closeCode`; tests assert both. src/errors.ts re-exports
 * these into the project's one catalogue (src/ws imports nothing, so they live here).
 */
export const WS_ERRORS = {
  SG_ERR_WS_RSV: 'RSV1-3 set, but no extension was negotiated',
  SG_ERR_WS_OPCODE: 'reserved opcode 3-7 or 0xB-0xF',
  SG_ERR_WS_UNMASKED: 'client frame without mask (server side)',
  SG_ERR_WS_MASKED: 'server frame with mask (client side)',
  SG_ERR_WS_CONTROL_TOO_LONG: 'control frame payload > 125',
  SG_ERR_WS_CONTROL_FRAGMENTED: 'control frame without FIN',
  SG_ERR_WS_LENGTH_64: '64-bit length with the most significant bit set',
  SG_ERR_WS_MESSAGE_TOO_BIG: 'declared length (running total) over maxMessageBytes',
  SG_ERR_WS_TOO_MANY_FRAGMENTS: 'more frames in one message than maxFragments',
  SG_ERR_WS_UNEXPECTED_CONTINUATION: 'continuation frame without a started message',
  SG_ERR_WS_EXPECTED_CONTINUATION: 'new text/binary frame inside a fragmented message',
  SG_ERR_WS_INVALID_UTF8: 'text message is not valid UTF-8',
  SG_ERR_WS_CLOSE_PAYLOAD: 'close frame with a 1-byte payload',
  SG_ERR_WS_CLOSE_CODE: 'close frame with a code a peer may not send',
  SG_ERR_WS_CLOSE_REASON_UTF8: 'close reason is not valid UTF-8',
} as const;
export type WsErrorCode = keyof typeof WS_ERRORS;

/** A protocol violation by the peer; `closeCode` is what the connection must close with. */
export class WsProtocolError extends Error {
  override readonly name = 'WsProtocolError';
  constructor(
    readonly closeCode: number,
    readonly code: WsErrorCode,
    message: string,
  ) {
    super(message);
  }
}
