import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseDocument, isMap, isSeq, isScalar, type Node as YamlNode } from 'yaml';
import { allKeyPaths } from '../../../src/config/keys.js';
import { parseConfig } from '../../../src/config/load.js';
import { configKeyTable } from '../../../systemd/config-table.js';

const EXAMPLE = new URL('../../../systemd/config.example.yaml', import.meta.url);
const text = readFileSync(EXAMPLE, 'utf8');
const env = { SG_OPERATOR_TOKEN: 'operator-token-0123456789', SG_MQTT_PASSWORD: 'mqtt-password' };
/** The example with every optional section ("#: " lines) switched on. */
const full = text
  .split('\n')
  .map((l) => (l.startsWith('#: ') ? l.slice(3) : l))
  .join('\n');

/** Key paths present in a YAML text, lists written as `[]` (same shape as allKeyPaths). */
function keysIn(yamlText: string): Set<string> {
  const out = new Set<string>();
  const walk = (node: unknown, prefix: string): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        if (!isScalar(pair.key)) continue;
        const p = prefix ? `${prefix}.${String(pair.key.value)}` : String(pair.key.value);
        out.add(p);
        walk(pair.value, p);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) walk(item as YamlNode, prefix + '[]');
    }
  };
  walk(parseDocument(yamlText).contents, '');
  return out;
}

describe('systemd/config.example.yaml', () => {
  it('validates as shipped (what install.sh installs)', () => {
    const c = parseConfig(text, 'config.example.yaml', env);
    expect(c.devices.map((d) => d.id)).toEqual(['bench1']);
    expect(c.auth.tokens[0]).toEqual({ token: env.SG_OPERATOR_TOKEN, role: 'operator' });
  });

  it('validates with every optional section switched on', () => {
    const c = parseConfig(full, 'config.example.yaml (full)', env);
    expect(c.mqtt?.password).toBe(env.SG_MQTT_PASSWORD);
    expect(c.devices.map((d) => d.id)).toEqual(['bench1', 'uart0', 'meter', 'greenhouse']);
  });

  it('shows every key of the schema', () => {
    const shown = keysIn(full);
    const missing = allKeyPaths().filter((k) => !shown.has(k));
    expect(missing).toEqual([]);
  });

  it('states each default the schema has (value in the example = default)', () => {
    // the example documents defaults: where it sets a key the schema defaults, the values agree,
    // except the keys the example deliberately changes for a Pi on a LAN
    const deliberate = new Set(['gateway.id', 'server.host', 'devices']);
    const defaults = parseConfig('{}', 'defaults', {});
    const shipped = parseConfig(text, 'example', env) as unknown as Record<string, Record<string, unknown>>;
    for (const section of ['server', 'hub', 'history', 'log'] as const) {
      for (const [k, v] of Object.entries(defaults[section] as Record<string, unknown>)) {
        if (!deliberate.has(`${section}.${k}`)) expect(shipped[section][k], `${section}.${k}`).toEqual(v);
      }
    }
    expect(shipped.auth.anonymous).toBe(defaults.auth.anonymous);
  });

  it('generates the README key table: one row per key, each with a meaning', () => {
    const rows = configKeyTable(text).trim().split('\n').slice(2);
    const keys = rows.map((r) => /^\| `([^`]+)` \|/.exec(r)?.[1]);
    // every leaf key has a row (optional sections such as server.tls have one too)
    const leaves = allKeyPaths().filter((k) => !allKeyPaths().some((o) => o.startsWith(k + '.')));
    expect(leaves.filter((k) => !keys.includes(k))).toEqual([]);
    expect(keys.filter((k) => !allKeyPaths().includes(k!))).toEqual([]);
    for (const r of rows) expect(r, r).toMatch(/^\| `[^`]+` \| (required|—|`.+`) \| \S.* \|$/);
    expect(rows).toContain('| `server.port` | `8080` | default 8080; no privileged port needed |');
  });
});
