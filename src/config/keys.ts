/**
 * Walks the zod schema to list every configuration key. Used for "did you mean" hints on unknown
 * keys, by the test that checks the annotated example covers every key, and by the README tables.
 */
import * as z from 'zod/mini';
import { configSchema } from './schema.js';

interface Def {
  type: string;
  innerType?: z.ZodMiniType;
  shape?: Record<string, z.ZodMiniType>;
  element?: z.ZodMiniType;
  in?: z.ZodMiniType;
}

const defOf = (s: z.ZodMiniType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** Strip optional/default/prefault/nullable/pipe wrappers down to the object, array or leaf. */
function unwrap(s: z.ZodMiniType): z.ZodMiniType {
  let cur = s;
  for (let i = 0; i < 16; i++) {
    const d = defOf(cur);
    if (d.innerType) cur = d.innerType;
    else if (d.type === 'pipe' && d.in) cur = d.in;
    else return cur;
  }
  return cur;
}

/** The object shape at a parsed path (array indices step into the element), or undefined. */
export function shapeAt(path: readonly PropertyKey[], root: z.ZodMiniType = configSchema): Record<string, z.ZodMiniType> | undefined {
  let cur = unwrap(root);
  for (const key of path) {
    const d = defOf(cur);
    if (d.type === 'array' && typeof key === 'number' && d.element) cur = unwrap(d.element);
    else if (d.type === 'object' && d.shape && typeof key === 'string' && Object.hasOwn(d.shape, key)) cur = unwrap(d.shape[key]);
    else return undefined;
  }
  const d = defOf(cur);
  return d.type === 'object' ? d.shape : undefined;
}

/** What the schema says about a key besides its type: why it has its bound, what a 0 means. */
export interface KeyMeta {
  why?: string;
  zero?: string;
}

/** The metadata of the key at `path` under `root` (collected over its default/optional wrappers). */
export function keyMeta(path: readonly string[], root: z.ZodMiniType = configSchema): KeyMeta {
  const leaf = shapeAt(path.slice(0, -1), root)?.[path[path.length - 1]];
  const meta: KeyMeta = {};
  for (let cur = leaf, i = 0; cur && i < 16; cur = defOf(cur).innerType, i++) Object.assign(meta, z.globalRegistry.get(cur));
  return meta;
}

/** Every key as a dotted path, lists written as `[]`: `devices[].serial.baudRate`. Parents included. */
export function allKeyPaths(root: z.ZodMiniType = configSchema): string[] {
  const out: string[] = [];
  const walk = (s: z.ZodMiniType, prefix: string): void => {
    const d = defOf(unwrap(s));
    if (d.type === 'array' && d.element) walk(d.element, prefix + '[]');
    else if (d.type === 'object' && d.shape) {
      for (const [k, v] of Object.entries(d.shape)) {
        const p = prefix ? `${prefix}.${k}` : k;
        out.push(p);
        walk(v, p);
      }
    }
  };
  walk(root, '');
  return out;
}

/** Closest known key by edit distance (≤ 2, or a case-insensitive match), for "did you mean". */
export function suggestKey(unknown: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const k of known) {
    const d = k.toLowerCase() === unknown.toLowerCase() ? 0 : editDistance(unknown, k, bestD);
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best;
}

/** Levenshtein distance with an early exit once every cell of a row exceeds `max`. */
function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      rowMin = Math.min(rowMin, cur[j]);
    }
    if (rowMin > max) return max + 1;
    prev = cur;
  }
  return prev[b.length];
}
