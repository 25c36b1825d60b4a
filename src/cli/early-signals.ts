/**
 * cli.ts imports this right after relaunch.js: `run` and `demo` hold SIGINT, SIGTERM and SIGHUP
 * from the moment serialgate's code runs until the supervisor (lifecycle.ts) takes them over, so
 * a Ctrl-C while the demo is still starting (Node's default: die at once, exit 130) becomes a
 * clean stop once the gateway is up: history saved, the mock's link removed, exit 0. A start
 * that does not finish within the stop deadline after such a signal exits 1 anyway, and a
 * second Ctrl-C exits at once, as after the start.
 */
import { STOP_DEADLINE_MS } from '../bounds.js';

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
type HeldSignal = (typeof SIGNALS)[number];

const held: HeldSignal[] = [];
let deadline: NodeJS.Timeout | undefined;

function hold(signal: HeldSignal): void {
  const stopping = held.some((s) => s !== 'SIGHUP');
  if (signal === 'SIGINT' && held.includes('SIGINT')) {
    process.stderr.write('serialgate: second interrupt during start-up: exiting without waiting\n');
    process.exit(1);
  }
  held.push(signal);
  if (signal !== 'SIGHUP' && !stopping) {
    deadline = setTimeout(() => {
      process.stderr.write(`serialgate: ${signal} during start-up, and the start did not finish within ${STOP_DEADLINE_MS} ms: exiting\n`);
      process.exit(1);
    }, STOP_DEADLINE_MS);
  }
}

const command = process.argv[2];
if (command === 'run' || command === 'demo') for (const s of SIGNALS) process.on(s, hold);

/** Stops holding (the caller installs its own handlers first); returns what arrived meanwhile, in order. */
export function releaseHeldSignals(): HeldSignal[] {
  for (const s of SIGNALS) process.removeListener(s, hold);
  clearTimeout(deadline);
  return held.splice(0);
}
