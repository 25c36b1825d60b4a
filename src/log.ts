/**
 * Structured logs to stdout (journald keeps them). Modules take a `Logger` and make children
 * carrying `device` or `conn`, so every line says what it is about.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string = 'info'): Logger {
  return pino({
    level,
    base: undefined,
    // secrets must never reach a log line, whatever a caller passes in
    redact: { paths: ['token', '*.token', 'password', '*.password', 'headers.authorization'], censor: '[redacted]' },
  });
}

/** A logger that drops everything: for unit tests and tools that print their own output. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
