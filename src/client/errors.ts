/**
 * Typed failures of the client. `code` is stable: the gateway's ack codes (`forbidden`,
 * `unknown_device`, `device_unavailable`, `timeout`, `invalid`, `rate_limited`, `busy`,
 * `shutting_down`) pass through unchanged; failures decided on this side have their own
 * (ClientSideCode). Both come from the one catalogue in src/errors.ts.
 */
import type { LogCode } from '../errors.js';

export type { ClientSideCode } from '../errors.js';

/** A request the gateway answered with an error, or that got no answer (commands, history). */
abstract class RequestFailedError extends Error {
  constructor(
    /** the gateway's `error.code`, or a ClientSideCode */
    readonly code: string,
    message: string,
    readonly device: string,
    /** the request id on the wire */
    readonly id: string,
  ) {
    super(message);
  }
}

export class CommandFailedError extends RequestFailedError {
  override readonly name = 'CommandFailedError';
}

/**
 * A history request that got no answer: the gateway's `error.code` (`invalid_field`; or
 * `history_unavailable`, `rate_limited` once the retries are spent), `client_timeout`, `closed`
 * or `aborted`.
 */
export class HistoryFailedError extends RequestFailedError {
  override readonly name = 'HistoryFailedError';
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
