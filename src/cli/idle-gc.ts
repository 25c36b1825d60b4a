/**
 * Keeps V8's memory reducer working on Node 24 (V8 13.6), where it otherwise never runs in this
 * daemon.
 *
 * The memory reducer is what gives memory back once a process goes idle: ~8 s after a burst (the
 * start, 1,000 dashboards connecting, a load peak) it runs a full GC that shrinks the young
 * generation back and releases emptied pages. It starts only when the allocation rates V8 tracks
 * are all low: the young generation's, the old generation's and the embedder's (Node's cppgc
 * heap). V8 13 keeps them as exponentially decaying averages and counts a rate of exactly 0 as
 * the highest; this daemon allocates nothing on the cppgc heap, so its embedder rate is exactly 0
 * and the reducer answers "high alloc" every 8 s for ever (`--trace-memory-reducer`;
 * `--trace-mutator-utilization` prints "Embedder mutator utilization = 0.000 (mutator_speed=0").
 * Measured: the gateway at rest on Node 24 kept its young generation at 4 MB instead of 1 and its
 * RSS ~3 MB higher (README "Footprint"). Node 20 is not affected.
 *
 * A `node:vm` script is a cppgc object: with one, the embedder rate is a tiny positive number,
 * which counts as low. Once is not enough: the average decays back to exactly 0 during a long idle
 * (measured on Node 24.21: one script at start, a burst, 130 s idle, a second burst: only the
 * first was reduced; a script every 30 s: both, 8 s after each). Cost: ~4 µs per script (V8
 * caches the compile), every 30 s, on Node 20 too, where it changes nothing.
 */
import { Script } from 'node:vm';
import { MEMORY_REDUCER_NUDGE_MS } from '../bounds.js';

function nudge(): void {
  new Script('');
}

/** Starts the nudges; the timer never keeps the process alive. */
export function keepMemoryReducerWorking(): void {
  nudge();
  setInterval(nudge, MEMORY_REDUCER_NUDGE_MS).unref();
}
