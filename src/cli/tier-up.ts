/**
 * How soon Node 20's V8 optimises a function, for the daemon (`run`, `demo`).
 *
 * V8 11 (Node 20) hands a function to Turbofan once it has run ~66 KB of bytecode
 * (`--interrupt-budget`). The upgrade path runs once per dashboard, so after a restart the
 * reconnect of 1,000 dashboards makes it "hot": Turbofan compiled 67 functions during those
 * handshakes, ~300 ms of compile time, to speed up code that then runs again only when a dashboard
 * connects. With four times the budget it compiles 17 (~50 ms) and a handshake costs ~80-110 µs
 * less CPU (README "Footprint"); the code that runs for every reading still reaches Turbofan, a
 * little later in the process's life (at 1,000 readings a second, within seconds). V8 13 (Node 24)
 * tiers up by invocation count instead (Turbofan at 3,000) and has no such flag: nothing is set
 * there. An explicit `--interrupt-budget` on the command line wins. (It cannot come through
 * NODE_OPTIONS, and V8 reads it whenever it gives a function a new budget, so setting it here, at
 * start, before the bundle's other modules are evaluated, is as good as a command-line flag.)
 */
import { setFlagsFromString } from 'node:v8';
import { INTERRUPT_BUDGET_BYTES } from '../bounds.js';

/** The V8 flag the daemon sets in itself, if any (see above). */
export function tierUpFlag(v8Version: string, execArgv: readonly string[]): string | undefined {
  if (v8Version.split('.')[0] !== '11') return undefined;
  // V8 takes both spellings of a flag's name
  if (execArgv.some((a) => /^--interrupt[-_]budget(=|$)/.test(a))) return undefined;
  return `--interrupt-budget=${INTERRUPT_BUDGET_BYTES}`;
}

export function tierUpLater(): void {
  const flag = tierUpFlag(process.versions.v8, process.execArgv);
  if (flag) setFlagsFromString(flag);
}
