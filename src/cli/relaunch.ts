/**
 * cli.ts imports this first: `run` and `demo` re-execute with their memory settings
 * (memory-settings.ts) before the bundle's other modules are evaluated, which the replaced process
 * would throw away (~80 ms of a Node 24 start on this machine). ES modules run in import order,
 * and esbuild keeps that order in the bundle.
 */
import { relaunchWithMemorySettings } from './memory-settings.js';

const command = process.argv[2];
if (command === 'run' || command === 'demo') relaunchWithMemorySettings();
