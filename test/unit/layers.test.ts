/**
 * The layer rules of DESIGN.md ("Imports point one way"), checked on every relative import in
 * src/: an arrow that points up fails here with the file, the import and the rule it breaks.
 * And the rule that makes the protocol one module: every wire message type is declared once, in
 * src/protocol/messages.ts, for the hub and the typed client alike.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

/**
 * What each layer may import besides itself. `base` is every file directly in src/ except the
 * daemon's (domain types, metrics, logging, backoff); `daemon` is gateway.ts, cli.ts and cli/.
 * `ws` ← `server` ← `hub` ← daemon; protocol, codecs, config and base sit below their users;
 * sources, fleet and history feed the hub through the interfaces in base (domain.ts), so the hub
 * imports none of them and they import no hub; http belongs to the daemon.
 */
const ALLOWED: Record<string, readonly string[]> = {
  base: [],
  ws: [],
  protocol: ['base'],
  config: ['base'],
  codecs: ['config', 'base'],
  server: ['ws', 'config', 'base'],
  sources: ['codecs', 'config', 'base'],
  history: ['protocol', 'codecs', 'config', 'base'],
  fleet: ['sources', 'protocol', 'codecs', 'config', 'base'],
  hub: ['server', 'ws', 'protocol', 'codecs', 'config', 'base'],
  http: ['hub', 'history', 'server', 'protocol', 'config', 'base'],
  // the browser bundle: base modules it takes must stay free of Node-only code (web/build.mjs fails otherwise)
  client: ['protocol', 'base'],
  daemon: ['hub', 'server', 'ws', 'protocol', 'codecs', 'config', 'sources', 'fleet', 'history', 'http', 'base', 'client', 'firmware-mock'],
};

const DAEMON_FILES = new Set(['gateway.ts', 'cli.ts']);

/** the layer of a file in src/, or the top-level folder of one outside it (`serialgate demo` runs firmware-mock/) */
function layerOf(file: string): string {
  const rel = relative(SRC, file).split('/');
  if (rel[0] === '..') return rel[1]!;
  if (rel.length === 1) return DAEMON_FILES.has(rel[0]!) ? 'daemon' : 'base';
  return rel[0] === 'cli' ? 'daemon' : rel[0]!;
}

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (entry.name.endsWith('.ts')) yield path;
  }
}

/** every relative module specifier in a file: `import … from`, `export … from`, `import('…')` */
function importsOf(text: string): string[] {
  const specs: string[] = [];
  for (const m of text.matchAll(/(?:from\s*|import\s*\(\s*|^import\s+)'(\.{1,2}\/[^']+)'/gm)) specs.push(m[1]!);
  return specs;
}

/** the imports of `file` (its text given) that break ALLOWED */
function violationsOf(file: string, text: string): string[] {
  const from = layerOf(file);
  const out: string[] = [];
  for (const spec of importsOf(text)) {
    const to = layerOf(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
    if (to !== from && !ALLOWED[from]!.includes(to)) out.push(`${relative(SRC, file)} imports ${spec}: ${from} may not import ${to}`);
  }
  return out;
}

const WIRE_TYPES = [
  'HelloMessage',
  'ReadingMessage',
  'StateMessage',
  'AckMessage',
  'GapMessage',
  'ErrorMessage',
  'ResetMessage',
  'ServerMessage',
  'SubscribeMessage',
  'CommandMessage',
  'ClientMessage',
  'Encoding',
  'Role',
];

/** `interface X` or `type X =` for every wire type name `text` declares */
function wireTypesDeclaredIn(text: string): string[] {
  return WIRE_TYPES.filter((name) => new RegExp(`^export (?:interface ${name}\\b|type ${name}\\s*=)`, 'm').test(text));
}

describe('layers (DESIGN.md "Imports point one way")', () => {
  const files = [...sourceFiles(SRC)];

  it('knows every folder of src/', () => {
    const unknown = [...new Set(files.map(layerOf))].filter((l) => !(l in ALLOWED));
    expect(unknown).toEqual([]);
  });

  it('no import points up', () => {
    expect(files.flatMap((file) => violationsOf(file, readFileSync(file, 'utf8')))).toEqual([]);
  });

  it('the check sees an arrow pointing up', () => {
    expect(importsOf("import { metrics } from '../http/metrics.js';")).toEqual(['../http/metrics.js']);
    expect(importsOf("const m = await import('../sources/mqtt/index.js');")).toEqual(['../sources/mqtt/index.js']);
    expect(violationsOf(join(SRC, 'ws/frame-parser.ts'), "import { metrics } from '../metrics.js';")).toEqual([
      'ws/frame-parser.ts imports ../metrics.js: ws may not import base',
    ]);
    expect(violationsOf(join(SRC, 'server/connection.ts'), "import type { Hub } from '../hub/hub.js';")).toHaveLength(1);
    expect(violationsOf(join(SRC, 'config/schema.ts'), "import { filterProblem } from '../sources/mqtt/topic.js';")).toHaveLength(1);
    expect(violationsOf(join(SRC, 'protocol/codec.ts'), "import { encodeFrame } from '../ws/frame-encoder.js';")).toHaveLength(1);
    expect(violationsOf(join(SRC, 'metrics.ts'), "export { x } from './http/routes.js';")).toHaveLength(1);
    expect(violationsOf(join(SRC, 'hub/hub.ts'), "import { Opcode } from '../ws/constants.js';")).toEqual([]);
  });
});

describe('one definition of every wire type', () => {
  it('declared only in src/protocol/messages.ts (Role in src/domain.ts)', () => {
    const declared = [...sourceFiles(SRC)].flatMap((file) =>
      wireTypesDeclaredIn(readFileSync(file, 'utf8')).map((name) => `${name} in ${relative(SRC, file)}`),
    );
    const expected = WIRE_TYPES.map((name) => `${name} in ${name === 'Role' ? 'domain.ts' : 'protocol/messages.ts'}`);
    expect(declared.sort()).toEqual(expected.sort());
  });

  it('the check sees a second definition', () => {
    expect(wireTypesDeclaredIn('export interface HelloMessage {\n  role: string;\n}\nexport type Role = z.infer<typeof roleSchema>;')).toEqual([
      'HelloMessage',
      'Role',
    ]);
  });
});
