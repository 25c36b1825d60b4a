/**
 * YAML → validated Config. Every error names its path and, where the file has it, its line:
 * `devices[1].serial.baudRate: expected number, received string (line 14)`.
 */
import { readFile } from 'node:fs/promises';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import { configSchema, type Config } from './schema.js';

export interface ConfigIssue {
  /** `devices[1].serial.baudRate` */
  path: string;
  message: string;
  line?: number;
}

export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly issues: ConfigIssue[],
  ) {
    super(`${source}: invalid configuration\n` + issues.map((i) => '  ' + formatIssue(i)).join('\n'));
    this.name = 'ConfigError';
  }
}

export function formatIssue(i: ConfigIssue): string {
  return `${i.path || '(root)'}: ${i.message}${i.line ? ` (line ${i.line})` : ''}`;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

/** `${NAME}` in any string value is replaced by the environment variable; a missing one is an error. */
function interpolate(value: unknown, env: NodeJS.ProcessEnv, path: PropertyKey[], issues: ConfigIssue[], lineOf: (p: PropertyKey[]) => number | undefined): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => {
      const v = env[name];
      if (v === undefined) {
        issues.push({ path: formatPath(path), message: `environment variable ${name} is not set`, line: lineOf(path) });
        return '';
      }
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, env, [...path, i], issues, lineOf));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolate(v, env, [...path, k], issues, lineOf);
    return out;
  }
  return value;
}

/** Parse and validate config text. `source` names the file in errors. Throws ConfigError. */
export function parseConfig(text: string, source = 'config', env: NodeJS.ProcessEnv = process.env): Config {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length) {
    throw new ConfigError(
      source,
      doc.errors.map((e) => ({ path: '', message: e.message.split('\n')[0], line: e.linePos?.[0]?.line })),
    );
  }
  const lineOf = (path: PropertyKey[]): number | undefined => {
    // Walk down as far as the path exists: an unknown or missing key points at its parent.
    let node: unknown = doc.contents;
    let found: YamlNode | undefined = node as YamlNode | undefined;
    for (const key of path) {
      if (isMap(node)) {
        const pair = node.items.find((it) => isScalar(it.key) && it.key.value === key);
        if (!pair) break;
        node = pair.value ?? pair.key;
        found = (pair.value ?? pair.key) as YamlNode;
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

  const issues: ConfigIssue[] = [];
  const raw = interpolate(doc.toJS() ?? {}, env, [], issues, lineOf);
  if (issues.length) throw new ConfigError(source, issues);

  const result = configSchema.safeParse(raw);
  if (!result.success) {
    throw new ConfigError(
      source,
      result.error.issues.map((iss) => {
        // For unknown keys, point at the key itself.
        const keys = iss.code === 'unrecognized_keys' ? iss.keys : [];
        const path = keys.length ? [...iss.path, keys[0]] : iss.path;
        const message = keys.length ? `unknown key${keys.length > 1 ? 's' : ''} ${keys.map((k) => `"${k}"`).join(', ')}` : iss.message;
        return { path: formatPath(keys.length === 1 ? path : iss.path), message, line: lineOf(path as PropertyKey[]) };
      }),
    );
  }
  return result.data;
}

export async function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): Promise<Config> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ConfigError(file, [{ path: '', message: `cannot read: ${e.code ?? e.message}` }]);
  }
  return parseConfig(text, file, env);
}
