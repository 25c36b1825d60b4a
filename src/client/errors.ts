/**
 * Typed failures of the client. `code` is stable: the gateway's ack codes (`forbidden`,
 * `unknown_device`, `device_unavailable`, `timeout`, `invalid`, `rate_limited`, `busy`,
 * `shutting_down`) pass through unchanged; failures decided on this side have their own
 * (ClientSideCode). Both come from the one catalogue in src/errors.ts.
 */
import type { LogCode } from '../errors.js';

export type { ClientSideCode } from '../errors.js';

export class CommandFailedError extends Error {
  constructor(
    /** the ack's `error.code`, or a ClientSideCode */
    readonly code: string,
    message: string,
    readonly device: string,
    /** the command id on the wire */
    readonly id: string,
  ) {
    super(message);
    this.name = 'CommandFailedError';
  }
}

/** Misuse of the client API (bad token, bad URL): thrown synchronously by connect(). */
export class ClientError extends Error {
  constructor(
    readonly code: Extract<LogCode, 'SG_ERR_CLIENT_TOKEN' | 'SG_ERR_CLIENT_NO_WEBSOCKET' | 'SG_ERR_CLIENT_OPTIONS'>,
    message: string,
  ) {
    super(message);
    this.name = 'ClientError';
  }
}
