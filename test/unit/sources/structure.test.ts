/**
 * Sources are one part per job (issue 10): only the MQTT connection talks to mqtt.js at run time,
 * and no source file grows back into a file of many jobs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('../../../src/sources/', import.meta.url).pathname;
const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
const text = (f: string) => readFileSync(join(root, f), 'utf8');

describe('src/sources shape', () => {
  it('no file is over 300 lines', () => {
    const long = files.map((f) => [f, text(f).split('\n').length] as const).filter(([, n]) => n > 300);
    expect(long).toEqual([]);
  });

  it('only the connection (and its options) imports mqtt.js at run time; commands use its types alone', () => {
    const runtime = files.filter((f) => /^import (?!type )[^;]*from 'mqtt';/m.test(text(f)));
    expect(runtime.sort()).toEqual(['mqtt/connection.ts']);
    const typed = files.filter((f) => /^import type [^;]*from 'mqtt';/m.test(text(f)));
    expect(typed.sort()).toEqual(['mqtt/client-options.ts', 'mqtt/commands.ts']);
  });
});
