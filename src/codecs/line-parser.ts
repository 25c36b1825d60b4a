/**
 * Line parsers: one received text line → `values` (or `raw`), or an `error`. The returned function
 * never throws, whatever the line; configuration mistakes (a regex that does not compile, csv
 * without columns) throw a ParserConfigError once, from createLineParser.
 *
 * Formats: json (line-json.ts), kv (line-kv.ts), csv, regex (named groups), raw. Every values
 * object has a null prototype. With `keepRaw` a successful result carries the line in `raw` too.
 * An error result always carries the line in `raw`, so a caller configured with
 * `onError: raw` can forward it as is.
 */
import type { ParserConfig } from '../config/schema.js';
import type { Values } from '../domain.js';
import { clip } from '../text.js';
import { parseJsonLine } from './line-json.js';
import { parseKvLine } from './line-kv.js';
import { emptyValues, scalarOf } from './line-values.js';

export interface LineResult {
  values?: Values;
  raw?: string;
  error?: string;
}

export class ParserConfigError extends Error {
  readonly code = 'SG_ERR_PARSER_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'ParserConfigError';
  }
}

/** compile a pattern from the config once, or say which key is wrong (a SyntaxError would not) */
export function compilePattern(pattern: string, key: string): RegExp {
  try {
    return new RegExp(pattern);
  } catch (err) {
    throw new ParserConfigError(`${key} does not compile: ${(err as Error).message}`);
  }
}

/** Only `format` is required; the rest defaults as in the config schema. */
export type LineParserOptions = Pick<ParserConfig, 'format'> & Partial<ParserConfig>;

type Parse = (line: string) => LineResult;

export function createLineParser(cfg: LineParserOptions): (line: string) => LineResult {
  const parse = formatParser(cfg);
  const keepRaw = cfg.keepRaw ?? false;
  return (line: string): LineResult => {
    let r: LineResult;
    try {
      r = parse(line);
    } catch (err) {
      // not reachable by design; the promise "never throws" must not depend on that
      r = { error: `${cfg.format}: ${(err as Error)?.message ?? String(err)}` };
    }
    if (r.error !== undefined) return { error: r.error, raw: line };
    if (keepRaw && r.raw === undefined) r.raw = line;
    return r;
  };
}

function formatParser(cfg: LineParserOptions): Parse {
  switch (cfg.format) {
    case 'json':
      return parseJsonLine;
    case 'kv':
      return parseKvLine;
    case 'csv':
      return csvParser(cfg.columns, cfg.separator ?? ',');
    case 'regex':
      return regexParser(cfg.pattern);
    case 'raw':
      return (line) => ({ raw: line });
    default:
      throw new ParserConfigError(`unknown parser format "${String(cfg.format)}"`);
  }
}

/**
 * csv: fields split at every `separator` (no quoting: sensor firmware does not quote), trimmed of
 * spaces and tabs; the field count must equal the column count exactly, because a missing or
 * extra field means the columns no longer line up and every value would be mislabelled.
 */
function csvParser(columns: readonly string[] | undefined, separator: string): Parse {
  if (!columns?.length) throw new ParserConfigError('csv needs column names (parser.columns)');
  if (separator === '') throw new ParserConfigError('csv separator must not be empty');
  const cols = [...columns];
  return (line) => {
    const values = emptyValues();
    let start = 0;
    let i = 0;
    for (;;) {
      const end = line.indexOf(separator, start);
      const field = (end < 0 ? line.slice(start) : line.slice(start, end)).trim();
      if (i >= cols.length) return { error: `csv: more than ${cols.length} fields` };
      values[cols[i]!] = scalarOf(field);
      i++;
      if (end < 0) break;
      start = end + separator.length;
    }
    if (i < cols.length) return { error: `csv: ${i} field${i === 1 ? '' : 's'}, expected ${cols.length}` };
    return { values };
  };
}

/**
 * regex: the pattern comes from the config file, which is trusted, and is compiled once. It runs on
 * device input, so a pattern with nested quantifiers (`(a+)+`) can take exponential time on a
 * crafted line (ReDoS); keep patterns anchored and simple. Lines are capped by maxLineBytes.
 * Each named group becomes a field; a group that did not take part in the match is null.
 */
function regexParser(pattern: string | undefined): Parse {
  if (!pattern) throw new ParserConfigError('regex needs a pattern with named groups (parser.pattern)');
  const re = compilePattern(pattern, 'regex pattern');
  if (!/\(\?<[^=!]/.test(pattern)) throw new ParserConfigError('regex pattern has no named groups (?<name>...)');
  return (line) => {
    const m = re.exec(line);
    if (!m) return { error: `regex: line does not match ${clip(pattern)}` };
    const values = emptyValues();
    for (const [k, v] of Object.entries(m.groups ?? {})) values[k] = v === undefined ? null : scalarOf(v);
    return { values };
  };
}
