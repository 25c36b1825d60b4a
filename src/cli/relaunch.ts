/**
 * cli.ts imports this first: `run` and `demo` re-execute with their memory settings
 * (memory-settings.ts) before the bundle's other modules are evaluated, which the replaced process
 * would throw away (~80 ms of a Node 24 start on this machine), and then set how soon V8 optimises
 * (tier-up.ts) before any of the daemon's code has run. ES modules run in import order, and
 * esbuild keeps that order in the bundle.
 */
import { relaunchWithMemorySettings } from './memory-settings.js';
import { tierUpLater } from './tier-up.js';

const command = process.argv[2];
if (command === 'run' || command === 'demo') {
  relaunchWithMemorySettings();
  tierUpLater();
}
