import { readFileSync } from 'node:fs';

/** This package's version (the CLI's --version, the fleet birth message). */
export function version(): string {
  // dist/src/version.js → package.json two levels up
  for (const rel of ['../../package.json', '../package.json']) {
    try {
      return (JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { version: string }).version;
    } catch {
      // try the next layout
    }
  }
  return 'unknown';
}
