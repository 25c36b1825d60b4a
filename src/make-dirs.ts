/**
 * `mkdir -p` without Node's recursive mkdirSync, which never returns on a path under /proc or
 * /sys (Node 20 and 24): the kernel answers ENOENT for the missing entry, Node takes that as "the
 * parent is missing", finds the parent there (EEXIST) and asks again, for ever. `serialgate demo
 * --state-dir /proc/x` hung on it before saying a word. Here each missing level is made once, top
 * down, so any refusal is an error naming the path.
 */
import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** Makes `dir` and its missing parents; throws the first refusal (ENOENT under /proc, EACCES, ENOTDIR…). */
export function makeDirs(dir: string): void {
  const missing: string[] = [];
  // at most one step per level of the absolute path: the walk ends at the root at the latest
  for (let cur = path.resolve(dir); ; cur = path.dirname(cur)) {
    try {
      statSync(cur);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    missing.push(cur);
    if (path.dirname(cur) === cur) break;
  }
  for (const d of missing.reverse()) {
    try {
      mkdirSync(d);
    } catch (err) {
      // made by someone else meanwhile: fine, as mkdir -p
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  // an existing file (not a folder) at `dir` is refused as mkdir -p refuses it
  if (!statSync(dir).isDirectory()) throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${dir}'`), { code: 'ENOTDIR', path: dir });
}
