import type { WebSocketLike } from './api.js';

/**
 * Where the client's one logical session is. Each state holds what only it needs, so no flag can
 * disagree with another: the socket of the current attempt (and whether it ever opened, and what
 * its error event said) exists only while there is one, the retry timer only while waiting, and
 * what follows a close we asked for is named by `then`.
 *
 *   connecting ─open→ open ─socket closed→ reconnecting ─timer→ connecting
 *   connecting|open ─reconnect()→ closing{then: reopen} ─socket closed→ connecting
 *   connecting|open ─close()→ closing{then: close} ─socket closed→ closed
 *   any ─socket closed, reconnect off→ closed;  reconnecting ─close()→ closed
 */
export type Phase =
  | { name: 'connecting' | 'open'; attempt: Attempt }
  | { name: 'closing'; attempt: Attempt; then: 'reopen' | 'close' }
  | { name: 'reconnecting'; timer: ReturnType<typeof setTimeout> }
  | { name: 'closed'; byUser: boolean };

/** One WebSocket of the session. */
export interface Attempt {
  readonly sock: WebSocketLike;
  /** the handshake completed: a close before it counts as a refusal */
  opened: boolean;
  /** what the socket's error event said (Node's ws says why, a browser never does) */
  lastError?: string;
}

/** close() was called: nothing opens again */
export function closedByUser(phase: Phase): boolean {
  return (phase.name === 'closed' && phase.byUser) || (phase.name === 'closing' && phase.then === 'close');
}
