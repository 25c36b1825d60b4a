/**
 * Structured logs to stdout (journald keeps them). Modules take a `Logger` and make children
 * carrying `device` or `conn`, so every line says what it is about.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

const CENSOR = '[redacted]';

// Credentials that can appear inside logged strings (a request URL, a header dump): the query
// token, a bearer header and the bearer.<token> subprotocol. Linear patterns: one character class
// each, no nested quantifiers.
const CREDENTIAL_PATTERNS: [RegExp, string][] = [
  [/([?&]token=)[^&\s"\\]+/g, `$1${CENSOR}`],
  [/(bearer[ .])[^\s",\\]+/gi, `$1${CENSOR}`],
];

/** Mask credentials in a finished log line: patterns above, then every known secret verbatim. */
export function redactLine(line: string, secrets: Iterable<string> = []): string {
  let out = line;
  for (const [re, to] of CREDENTIAL_PATTERNS) out = out.replace(re, to);
  for (const s of secrets) {
    // a JSON line escapes some characters: mask the raw and the escaped form
    if (s.length >= 4) out = out.split(s).join(CENSOR).split(JSON.stringify(s).slice(1, -1)).join(CENSOR);
  }
  return out;
}

export interface LoggerOptions {
  /** the configured secrets (tokens, passwords), read on every line so a reload can change them */
  secrets?: () => Iterable<string>;
  /** default stdout; tests pass a stream to read the lines */
  destination?: pino.DestinationStream;
}

export function createLogger(level: string = 'info', opts: LoggerOptions = {}): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: undefined,
    // secrets must never reach a log line, whatever a caller passes in
    redact: { paths: ['token', '*.token', 'password', '*.password', 'headers.authorization'], censor: CENSOR },
    // and whatever string they hide in (a URL with ?token=, an error message)
    hooks: { streamWrite: (line: string) => redactLine(line, opts.secrets?.() ?? []) },
  };
  // Synchronous writes to stdout: pino's default is an asynchronous SonicBoom whose exit hook calls
  // flushSync(), and that retries a failed write forever (100 ms sleeps) on any error but EAGAIN:
  // with stdout's reader gone (EPIPE: a closed pipe, `serialgate run | …` whose reader died) the
  // daemon then hung at its first exit, SIGTERM or not. Written at once, EPIPE surfaces on the
  // write itself, pino's own handler turns logging off, and the gateway goes on and exits. The
  // daemon logs little (repeats are rate-limited), so a write per line costs nothing measurable.
  return pino(options, opts.destination ?? pino.destination({ dest: 1, sync: true }));
}

/** A logger that drops everything: for unit tests and tools that print their own output. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
