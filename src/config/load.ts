/**
 * YAML → validated Config. Every error names its path and, where the file has it, its line:
 * `devices[1].serial.baudRate: expected number, received string (line 14)`.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import type * as z from 'zod/mini';
import { shapeAt, suggestKey } from './keys.js';
import { configSchema, type Config } from './schema.js';
import { isSecretPath } from './secrets.js';
import { closeSync, openSync, readSync } from 'node:fs';
import { MAX_ALIAS_EXPANSIONS, MAX_CONFIG_BYTES } from '../bounds.js';
import { clip, printable } from '../text.js';
import type { LogCode } from '../errors.js';

export interface ConfigIssue {
  /** `devices[1].serial.baudRate` */
  path: string;
  message: string;
  line?: number;
}

export class ConfigError extends Error {
  readonly code = 'SG_ERR_CONFIG' satisfies LogCode;
  constructor(
    readonly source: string,
    readonly issues: ConfigIssue[],
  ) {
    super(`${printable(source)}: invalid configuration\n` + issues.map((i) => '  ' + formatIssue(i)).join('\n'));
    this.name = 'ConfigError';
  }
}

/** One issue as a line for a terminal or the log: keys and YAML messages quote the file, which may hold anything. */
export function formatIssue(i: ConfigIssue): string {
  return printable(`${i.path ? `${i.path}: ` : ''}${i.message}${i.line ? ` (line ${i.line})` : ''}`);
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

/**
 * `${NAME}` (or `${NAME:-default}`) in any string value is replaced from the environment. Any
 * other `${` (the second alternative) is an error: `${SG_TOKEN-x}` (the shell's other default
 * form) or `${ SG_TOKEN }` stayed in the value as written, so the token was that literal text,
 * valid (16+ characters) and readable by anyone who reads the config.
 */
const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{([^}]*)\}?/g;
/** A value that is one reference and nothing else: the only kind whose text may become a number or boolean. */
const WHOLE_REF = /^\$\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}$/;

function interpolate(
  value: unknown,
  env: NodeJS.ProcessEnv,
  path: PropertyKey[],
  issues: ConfigIssue[],
  lineOf: (p: PropertyKey[]) => number | undefined,
  wholeRefs: Set<string>,
): unknown {
  if (typeof value === 'string') {
    if (WHOLE_REF.test(value)) wholeRefs.add(formatPath(path));
    return value.replace(ENV_REF, (m: string, name: string | undefined, fallback: string | undefined) => {
      if (name === undefined) {
        // a secret's text (its default may be the secret) is never quoted
        const what = isSecretPath(path) ? 'a "${"' : `"${clip(m, 32)}"`;
        issues.push({
          path: formatPath(path),
          message: `${what} that is no environment reference: write \${NAME} or \${NAME:-fallback} (NAME: letters, digits, _)`,
          line: lineOf(path),
        });
        return '';
      }
      // as in the shell: `:-` also stands in for a variable set but empty (an EnvironmentFile line `NAME=`)
      const v = env[name] === undefined || (env[name] === '' && fallback !== undefined) ? fallback : env[name];
      if (v === undefined) {
        issues.push({ path: formatPath(path), message: `environment variable ${name} is not set`, line: lineOf(path) });
        return '';
      }
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, env, [...path, i], issues, lineOf, wholeRefs));
  if (value && typeof value === 'object') {
    // keys come from the file: a null prototype keeps `__proto__` a plain (unknown) key
    const out: Record<string, unknown> = Object.create(null);
    for (const [k, v] of Object.entries(value)) out[k] = interpolate(v, env, [...path, k], issues, lineOf, wholeRefs);
    return out;
  }
  return value;
}

/** Parse and validate config text. `source` names the file in errors. Throws ConfigError. */
export function parseConfig(text: string, source = 'config', env: NodeJS.ProcessEnv = process.env): Config {
  // no YAML text holds a NUL: a binary file (a firmware image, the wrong path) gets one line, not a page of YAML errors
  const nul = text.indexOf('\0');
  if (nul >= 0) {
    const line = text.slice(0, nul).split('\n').length;
    throw new ConfigError(source, [{ path: '', message: 'not a YAML text file (a NUL byte): is this the configuration?', line }]);
  }
  const lineCounter = new LineCounter();
  // merge keys (`<<: *defaults`, YAML 1.1, as Docker Compose files use them): a key the mapping sets itself wins
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false, merge: true });
  if (doc.errors.length) {
    throw new ConfigError(
      source,
      doc.errors.map((e) => ({ path: '', message: `YAML: ${e.message.split('\n')[0]}`, line: lineCounter.linePos(e.pos[0]).line })),
    );
  }
  const lineOf = (path: PropertyKey[], atKey = false): number | undefined => {
    // Walk down as far as the path exists: an unknown or missing key points at its parent.
    let node: unknown = doc.contents;
    let found: YamlNode | undefined = node as YamlNode | undefined;
    for (const key of path) {
      if (isMap(node)) {
        const pair = node.items.find((it) => isScalar(it.key) && it.key.value === key);
        if (!pair) break;
        // a bad value points at the value; an unknown key (atKey) at the key itself
        const last = atKey && key === path[path.length - 1];
        found = (last ? pair.key : (pair.value ?? pair.key)) as YamlNode;
        node = pair.value;
        if (!pair.value) break;
      } else if (isSeq(node) && typeof key === 'number') {
        node = node.items[key];
        if (!node) break;
        found = node as YamlNode;
      } else break;
    }
    const offset = found?.range?.[0];
    return offset === undefined ? undefined : lineCounter.linePos(offset).line;
  };

  let js: unknown;
  try {
    js = doc.toJS({ maxAliasCount: MAX_ALIAS_EXPANSIONS });
  } catch (err) {
    // yaml's guard against an alias bomb (aliases of aliases, each multiplying the document)
    throw new ConfigError(source, [{ path: '', message: `YAML: ${(err as Error).message} (more than ${MAX_ALIAS_EXPANSIONS} alias expansions)` }]);
  }
  // An empty file (or only comments) would run every default with no device: a file truncated
  // by an editor or a `>` redirection being written when SIGHUP came, or the wrong path. A
  // gateway meant to have no device says so.
  if (js === null || js === undefined) {
    throw new ConfigError(source, [
      {
        path: '',
        message: 'no settings (the file is empty, only comments or `null`): nothing to run (a gateway without devices says `devices: []`)',
      },
    ]);
  }
  const issues: ConfigIssue[] = [];
  const wholeRefs = new Set<string>();
  const raw = interpolate(js, env, [], issues, lineOf, wholeRefs);
  if (issues.length) throw new ConfigError(source, issues);

  let result = configSchema.safeParse(raw, { reportInput: true });
  if (!result.success && typedFromEnvironment(raw, result.error.issues, wholeRefs)) result = configSchema.safeParse(raw, { reportInput: true });
  if (!result.success) {
    throw new ConfigError(
      source,
      result.error.issues.flatMap((iss): ConfigIssue[] => {
        if (iss.code === 'unrecognized_keys') {
          // one issue per unknown key, each with its own line and a "did you mean" when close
          const known = Object.keys(shapeAt(iss.path) ?? {});
          return iss.keys.map((k) => {
            const hint = suggestKey(k, known);
            const path = [...iss.path, k];
            return { path: formatPath(path), message: `unknown key${hint ? ` (did you mean "${hint}"?)` : ''}`, line: lineOf(path, true) };
          });
        }
        return [{ path: formatPath(iss.path), message: describeIssue(iss), line: lineOf(iss.path as PropertyKey[]) }];
      }),
    );
  }
  return result.data;
}

/**
 * The environment holds text, so `port: ${SG_PORT}` is the string "8080" where the schema asks for
 * a number. Where a value was one reference and nothing else, and the schema wanted a number or a
 * boolean, text that reads as one plainly (`8080`, `-1.5`, `true`) becomes one; anything else is
 * left for the schema's own error. Never a string field: a token of digits stays text.
 * Returns whether anything changed.
 */
function typedFromEnvironment(raw: unknown, issues: readonly z.core.$ZodIssue[], wholeRefs: Set<string>): boolean {
  let changed = false;
  for (const iss of issues) {
    if (iss.code !== 'invalid_type' || iss.path.length === 0 || !wholeRefs.has(formatPath(iss.path))) continue;
    const text = (iss as { input?: unknown }).input;
    if (typeof text !== 'string') continue;
    let typed: number | boolean | undefined;
    if ((iss.expected === 'number' || iss.expected === 'int') && /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(text)) typed = Number(text);
    else if (iss.expected === 'boolean' && (text === 'true' || text === 'false')) typed = text === 'true';
    if (typed === undefined) continue;
    const parent = iss.path.slice(0, -1).reduce<unknown>((node, key) => (node as Record<PropertyKey, unknown>)[key], raw) as Record<
      PropertyKey,
      unknown
    >;
    parent[iss.path[iss.path.length - 1]!] = typed;
    changed = true;
  }
  return changed;
}

/** A human-readable value for an error message; secrets are never echoed. */
function describeValue(v: unknown, secret: boolean): string {
  if (v === undefined) return 'nothing';
  if (secret) return 'a secret (not shown)';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  // JSON.stringify says null for these: `port: 1e400` (or .inf, .nan) read "expected a number, got null"
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  const s = JSON.stringify(v);
  return s.length > 60 ? s.slice(0, 57) + '..."' : s;
}

const NOUN: Record<string, string> = {
  number: 'a number',
  int: 'a whole number',
  string: 'a string',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  nan: 'a number',
};

/** zod's default messages ("Invalid input: expected number, received string") → config language. */
function describeIssue(iss: z.core.$ZodIssue): string {
  const input = (iss as { input?: unknown }).input;
  const got = describeValue(input, isSecretPath(iss.path));
  // a message written in schema.ts (a reason) is kept; zod's generic wording is replaced
  const custom = !/^(Invalid|Too (small|big))/.test(iss.message);
  switch (iss.code) {
    case 'invalid_type':
      if (input === undefined) return 'required';
      return `expected ${NOUN[iss.expected] ?? iss.expected}, got ${got}`;
    case 'invalid_value':
      return `expected ${iss.values.length === 1 ? '' : 'one of '}${iss.values.map((v) => String(v)).join(', ')}, got ${got}`;
    case 'invalid_union': {
      // literal unions (dataBits, stopBits, qos): list the allowed values
      const values = iss.errors.flat().flatMap((e) => (e.code === 'invalid_value' ? e.values : []));
      return values.length ? `expected one of ${values.map((v) => String(v)).join(', ')}, got ${got}` : `invalid value ${got}`;
    }
    case 'too_small':
    case 'too_big': {
      if (custom) return iss.message;
      const bound = iss.code === 'too_small' ? iss.minimum : iss.maximum;
      const op = iss.code === 'too_small' ? (iss.inclusive ? '>=' : '>') : iss.inclusive ? '<=' : '<';
      if (iss.origin === 'string') {
        return iss.code === 'too_small' && Number(bound) === 1 ? 'must not be empty' : `expected a length ${op} ${String(bound)}, got ${got}`;
      }
      if (iss.origin === 'array') return `expected ${op} ${String(bound)} entries`;
      return `expected a number ${op} ${String(bound)}, got ${got}`;
    }
    case 'invalid_format':
      if (custom) return `${iss.message}, got ${got}`;
      return iss.format === 'starts_with'
        ? `expected a value starting with "${(iss as { prefix?: string }).prefix ?? ''}", got ${got}`
        : iss.format === 'regex'
          ? `expected a value matching ${(iss as { pattern?: string }).pattern ?? 'the pattern'}, got ${got}`
          : `expected a ${iss.format === 'url' ? 'URL' : iss.format}, got ${got}`;
    default:
      return iss.message;
  }
}

export async function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Promise<Config> {
  return parseConfig(readConfigText(file), file, env);
}

/**
 * A configuration or env file, at most MAX_CONFIG_BYTES of it. Read whole, `--config /dev/zero`
 * took 10 s and 600 MB before failing with "Invalid string length", and a 9 MB file of 200,000
 * devices kept check-config parsing for minutes in 2.3 GB: on a 1 GB Pi, a reload the OOM killer
 * ends. Synchronous: a few KB, once per start or reload.
 */
export function readConfigText(file: string): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw cannotRead(file, err);
  }
  try {
    const buf = Buffer.alloc(MAX_CONFIG_BYTES + 1);
    let n = 0;
    for (let got = -1; got !== 0 && n < buf.length; n += got) got = readSync(fd, buf, n, buf.length - n, null);
    if (n > MAX_CONFIG_BYTES) {
      throw new ConfigError(file, [
        { path: '', message: `larger than ${MAX_CONFIG_BYTES} bytes (MAX_CONFIG_BYTES): not a configuration (the wrong file?)` },
      ]);
    }
    return buf.toString('utf8', 0, n);
  } catch (err) {
    throw err instanceof ConfigError ? err : cannotRead(file, err);
  } finally {
    closeSync(fd);
  }
}

const cannotRead = (file: string, err: unknown): ConfigError =>
  new ConfigError(file, [{ path: '', message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}` }]);
