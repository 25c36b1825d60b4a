/** A SourceSink (and PresenceSink) that records what a source delivers and can wait for a condition. */
import type { DeviceStatus, GatewayPresence, PresenceSink, ReadingInput, SourceSink } from '../../src/domain.js';
import { Waiter } from './waiter.js';

export class RecordingSink implements SourceSink, PresenceSink {
  readonly readings: ReadingInput[] = [];
  readonly states: DeviceStatus[] = [];
  readonly presences: GatewayPresence[] = [];
  private waiter = new Waiter();

  reading(r: ReadingInput): void {
    this.readings.push(r);
    this.waiter.wake();
  }

  state(s: DeviceStatus): void {
    this.states.push({ ...s });
    this.waiter.wake();
  }

  presence(p: GatewayPresence): void {
    this.presences.push({ ...p });
    this.waiter.wake();
  }

  waitFor(what: string, cond: () => boolean, timeoutMs = 5_000): Promise<void> {
    return this.waiter.waitFor(what, cond, timeoutMs, () => `states: ${JSON.stringify(this.states)}; readings: ${this.readings.length}`);
  }

  lastState(id: string): DeviceStatus | undefined {
    for (let i = this.states.length - 1; i >= 0; i--) if (this.states[i]!.id === id) return this.states[i];
    return undefined;
  }

  waitState(id: string, state: 'up' | 'down', timeoutMs = 5_000, reason?: string): Promise<void> {
    return this.waitFor(
      `${id} ${state}${reason ? ` (${reason})` : ''}`,
      () => {
        const s = this.lastState(id);
        return s?.state === state && (reason === undefined || s.reason === reason);
      },
      timeoutMs,
    );
  }

  readingsOf(id: string): ReadingInput[] {
    return this.readings.filter((r) => r.device === id);
  }
}
