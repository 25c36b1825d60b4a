/**
 * The README's table of every configuration key, generated: keys and defaults from the schema
 * (src/config/schema.ts), meanings from the inline comments of systemd/config.example.yaml.
 *   npx tsx systemd/config-table.ts > config-keys.md
 * test/unit/config/example.test.ts checks that every key gets a row with a meaning.
 */
import { readFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, parseDocument } from 'yaml';
import { allKeyPaths } from '../src/config/keys.js';
import { parseConfig } from '../src/config/load.js';

/** the example with its optional ("#: ") sections switched on */
export function fullExample(text: string): string {
  return text
    .split('\n')
    .map((l) => (l.startsWith('#: ') ? l.slice(3) : l))
    .join('\n');
}

function commentsByKey(yamlText: string): Map<string, string> {
  const out = new Map<string, string>();
  const clean = (c: string | null | undefined) =>
    (c ?? '')
      .split('\n')
      .map((s) => s.trim())
      .filter(Boolean)
      .join(' ');
  const walk = (node: unknown, prefix: string): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isScalar(pair.key)) continue;
        const p = prefix ? `${prefix}.${String(pair.key.value)}` : String(pair.key.value);
        const v = pair.value as { comment?: string | null; commentBefore?: string | null } | null;
        const c =
          clean(v?.comment) || clean(pair.key.comment) || (isMap(v) || isSeq(v) ? clean(v.commentBefore) : '') || clean(pair.key.commentBefore);
        if (c && !out.has(p)) out.set(p, c);
        walk(pair.value, p);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) walk(item, prefix + '[]');
    }
  };
  walk(parseDocument(yamlText).contents, '');
  return out;
}

/** keys without a default: the row says so instead of showing nothing */
const REQUIRED = new Set([
  'mqtt.url',
  'devices[].id',
  'devices[].serial.path',
  'devices[].mqtt.topic',
  'devices[].commands.reply.match',
  'auth.tokens[].token',
  'auth.tokens[].role',
  'server.tls.cert',
  'server.tls.key',
]);

export function configKeyTable(exampleText: string): string {
  const comments = commentsByKey(fullExample(exampleText));
  // a minimal config with one device of each kind: every default filled in by the schema
  const defaults = parseConfig(
    'mqtt: { url: "mqtt://127.0.0.1" }\ndevices:\n  - id: s\n    serial: { path: /dev/x }\n    commands: { reply: { match: x } }\n  - id: m\n    mqtt: { topic: t }\n',
    'defaults',
    {},
  ) as unknown as Record<string, unknown>;
  const valueAt = (key: string): unknown => {
    let cur: unknown = defaults;
    for (const seg of key.split('.')) {
      const list = seg.endsWith('[]');
      cur = (cur as Record<string, unknown> | undefined)?.[list ? seg.slice(0, -2) : seg];
      // devices[]: the serial example for serial keys, the MQTT one for mqtt keys; other lists have no element default
      if (list) cur = seg === 'devices[]' && Array.isArray(cur) ? cur[key.includes('.mqtt') ? 1 : 0] : undefined;
    }
    return cur;
  };
  const rows = ['| key | default | meaning |', '|---|---|---|'];
  for (const key of allKeyPaths()) {
    const v = valueAt(key);
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) continue; // a section: its keys have rows
    const def = REQUIRED.has(key) ? 'required' : v === undefined ? '—' : '`' + JSON.stringify(v) + '`';
    rows.push(`| \`${key}\` | ${def} | ${(comments.get(key) ?? '').replace(/\|/g, '\\|')} |`);
  }
  return rows.join('\n') + '\n';
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '')) {
  process.stdout.write(configKeyTable(readFileSync(new URL('./config.example.yaml', import.meta.url), 'utf8')));
}
