/**
 * The compiled build the browser tests drive (what `npm test` built first; built here when a file is
 * missing, e.g. a single test file run on its own), loaded as modules: the gateway, its config
 * schema and logger, the firmware mock.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as GatewayModule from '../../src/gateway.js';
import type * as SchemaModule from '../../src/config/schema.js';
import type * as LogModule from '../../src/log.js';
import type * as MockModule from '../../firmware-mock/index.js';

export interface Compiled {
  gw: typeof GatewayModule;
  schema: typeof SchemaModule;
  log: typeof LogModule;
  mock: typeof MockModule;
}

const root = fileURLToPath(new URL('../../', import.meta.url));
const dist = (p: string) => import(pathToFileURL(`${root}dist/${p}`).href);

export async function compiled(): Promise<Compiled> {
  if (!existsSync(`${root}dist/web/app.js`) || !existsSync(`${root}dist/src/gateway.js`)) {
    execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit', timeout: 170_000 });
  }
  return {
    gw: await dist('src/gateway.js'),
    schema: await dist('src/config/schema.js'),
    log: await dist('src/log.js'),
    mock: await dist('firmware-mock/index.js'),
  };
}
