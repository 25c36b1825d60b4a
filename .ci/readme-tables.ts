/**
 * The README tables that are rendered from code: error codes from src/errors.ts, limits from the
 * config schema, fixed bounds from src/bounds.ts. Each sits between
 *   <!-- table:NAME -->  and  <!-- /table:NAME -->
 * in README.md; test/unit/readme-tables.test.ts fails when one differs from what the code says.
 *   npx tsx .ci/readme-tables.ts --write     rewrites them in place after a change
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { FIXED_BOUNDS } from '../src/bounds.js';
import { allKeyPaths, keyMeta } from '../src/config/keys.js';
import { limitsSchema } from '../src/config/schema.js';
import { ACK_ERRORS, CLIENT_SIDE_ERRORS, CLOSE_CODES, HTTP_STATUSES, LOG_CODES, MESSAGE_ERRORS } from '../src/errors.js';
import { WS_ERRORS } from '../src/ws/errors.js';

const cell = (s: string | number): string => String(s).replace(/\|/g, '\\|');
const table = (head: readonly string[], rows: readonly (readonly (string | number)[])[], align?: string): string =>
  [`| ${head.join(' | ')} |`, align ?? `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');

const code = (c: string): string => '`' + c + '`';

/** 65536 → "65,536 (64 KiB)", 256 → "256 bytes" for byte sizes; thousands separators otherwise */
function amount(value: number, isBytes: boolean): string {
  const plain = value.toLocaleString('en-US');
  if (!isBytes) return plain;
  if (value < 1024 || value % 1024 !== 0) return `${plain} bytes`;
  return value % (1024 * 1024) === 0 ? `${plain} (${value / (1024 * 1024)} MiB)` : `${plain} (${value / 1024} KiB)`;
}

function limitsTable(): string {
  const defaults = limitsSchema.parse({}) as Record<string, number>;
  const rows = allKeyPaths(limitsSchema).map((key) => {
    const { why = '', zero } = keyMeta([key], limitsSchema);
    return [code(key), amount(defaults[key], key.endsWith('Bytes')), zero ? `${why}; \`0\` ${zero}` : why];
  });
  return table(['key', 'default', 'why / what happens'], rows, '|---|---:|---|');
}

export const TABLES: Readonly<Record<string, () => string>> = {
  'ack-errors': () =>
    table(
      ['code', 'when'],
      Object.entries(ACK_ERRORS).map(([c, when]) => [code(c), when]),
    ),
  'message-errors': () =>
    table(
      ['code', 'when'],
      Object.entries(MESSAGE_ERRORS).map(([c, when]) => [code(c), when]),
    ),
  'close-codes': () =>
    table(
      ['code', 'meaning', 'client should'],
      CLOSE_CODES.map((e) => [e.codes.join(' / '), e.meaning, e.action]),
    ),
  'http-statuses': () =>
    table(
      ['status', 'when'],
      Object.entries(HTTP_STATUSES).map(([s, when]) => [s, when]),
    ),
  'log-codes': () =>
    table(
      ['code', 'meaning'],
      [
        ...Object.entries(LOG_CODES),
        ...Object.entries(WS_ERRORS).map(([c, m]) => [c, `a peer broke RFC 6455: ${m} (logged, and the connection closed)`]),
      ].map(([c, m]) => [code(c), m]),
    ),
  'client-codes': () =>
    table(
      ['code', 'when'],
      Object.entries(CLIENT_SIDE_ERRORS).map(([c, when]) => [code(c), when]),
    ),
  limits: limitsTable,
  'fixed-bounds': () =>
    table(
      ['bound', 'value', 'why / what happens'],
      FIXED_BOUNDS.map((b) => [code(b.name), b.unit === 'bytes' ? amount(b.value, true) : `${amount(b.value, false)} ${b.unit}`, b.why]),
      '|---|---:|---|',
    ),
};

const region = (name: string): RegExp => new RegExp(`(<!-- table:${name} -->\\n)([\\s\\S]*?)(\\n<!-- /table:${name} -->)`);

/** The README's current text of table `name`, or undefined when its markers are missing. */
export function readmeTable(readme: string, name: string): string | undefined {
  return region(name).exec(readme)?.[2];
}

/** The README with every generated table replaced by what the code says now. */
export function renderTables(readme: string): string {
  let out = readme;
  for (const [name, render] of Object.entries(TABLES))
    out = out.replace(region(name), (_m, open: string, _old: string, close: string) => open + render() + close);
  return out;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '') && process.argv.includes('--write')) {
  const file = new URL('../README.md', import.meta.url);
  writeFileSync(file, renderTables(readFileSync(file, 'utf8')));
}
