/**
 * serialgate's typed dashboard client (browser and Node). See client.ts for the behaviour and
 * the README ("Custom dashboards") for usage.
 */
export { connect } from './client.js';
export { checkToken } from './options.js';
export type { CommandInput } from './commands.js';
export type {
  ClientStats,
  CommandResult,
  ConnectionInfo,
  ConnectionState,
  ConnectOptions,
  SerialgateClient,
  WebSocketConstructor,
  WebSocketLike,
} from './api.js';
export { ClientError, CommandFailedError, HistoryFailedError, type ClientSideCode } from './errors.js';
export { SUBPROTOCOLS } from '../protocol/messages.js';
export { ProtocolViolation } from '../protocol/server-messages.js';
export type { ResetInfo } from './sequencer.js';
export type {
  AckMessage,
  DeviceInfo,
  DeviceState,
  Encoding,
  ErrorMessage,
  FieldStats,
  GapMessage,
  GatewayPresence,
  HelloMessage,
  HistoryBucket,
  HistoryMessage,
  HistoryPoint,
  HistoryRange,
  PresenceMessage,
  ReadingMessage,
  ResetMessage,
  Role,
  ServerMessage,
  StateMessage,
  Values,
} from '../protocol/messages.js';
