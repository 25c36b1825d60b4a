/**
 * The device registry: every device the hub routes to, with its command rules compiled once per
 * configuration, its state (kept here once: the hello's device list, the `state` messages and the
 * `serialgate_device_up` gauge all come from it) and its last reading (the snapshot a new
 * connection gets).
 */
import { commandsSchema, type DeviceConfig } from '../config/schema.js';
import { compilePattern } from '../codecs/line-parser.js';
import { metrics } from '../metrics.js';
import type { Device, DeviceStatus } from '../domain.js';
import type { CommandTarget } from './commands.js';
import { canDerive } from './derived.js';
import type { ReadingFrames } from './reading-frames.js';

/** rules for a device the config does not list (e.g. one a source derived from a topic) */
const defaultRules: DeviceConfig['commands'] = commandsSchema.parse({});

export class DeviceRegistry {
  private readonly targets = new Map<string, CommandTarget>();
  private readonly statuses = new Map<string, DeviceStatus>();
  /** last reading of each device id (derived ids included) */
  private readonly last = new Map<string, ReadingFrames>();

  target(id: string): CommandTarget | undefined {
    return this.targets.get(id);
  }

  /** as hello lists them: remote devices (fleet mode) name their gateway, a down device says why */
  list(): DeviceStatus[] {
    return [...this.statuses.values()].map(({ id, source, gateway, state, reason }) => ({
      id,
      source,
      ...(gateway === undefined ? {} : { gateway }),
      state,
      ...(reason === undefined ? {} : { reason }),
    }));
  }

  /** the last reading of every device, oldest first */
  snapshot(): ReadingFrames[] {
    return [...this.last.values()].sort((a, b) => a.seq - b.seq);
  }

  /** last values saved by a clean stop (History), before any device reports */
  restore(last: readonly ReadingFrames[]): void {
    for (const r of last) this.last.set(r.device, r);
  }

  reading(r: ReadingFrames): void {
    this.last.set(r.device, r);
  }

  /** Records a device's state; true when it differs from the one known (a `state` message is due). */
  state(s: DeviceStatus): boolean {
    const prev = this.statuses.get(s.id);
    this.statuses.set(s.id, s);
    metrics.deviceUp.set({ device: s.id }, s.state === 'up' ? 1 : 0);
    return !(prev && prev.state === s.state && prev.reason === s.reason);
  }

  /**
   * The devices of a (re)loaded configuration; returns the ids that are gone. Their state and
   * metrics go, and so do the last values of removed devices and of derived ids the new topic
   * filters cannot yield any more. The caller records the state of each device (state()).
   */
  replace(devices: readonly Device[], configs: readonly DeviceConfig[]): string[] {
    const byId = new Map<string, DeviceConfig>(configs.map((d) => [d.id, d]));
    const next = new Map<string, CommandTarget>();
    for (const device of devices) {
      const cfg = byId.get(device.id);
      const rules = cfg?.commands ?? defaultRules;
      next.set(device.id, {
        device,
        rules,
        allow: rules.allow === undefined ? undefined : compilePattern(rules.allow, `device ${device.id}: commands.allow`),
        ...(cfg?.mqtt && cfg.mqtt.commandTopic === undefined && { noCommands: `device "${device.id}" has no mqtt.commandTopic` }),
      });
    }
    const removed = [...this.targets.keys()].filter((id) => !next.has(id));
    for (const id of removed) {
      this.statuses.delete(id);
      forgetMetrics(id);
    }
    const running = configs.filter((d) => next.has(d.id));
    for (const id of this.last.keys()) if (!next.has(id) && !canDerive(running, id)) this.last.delete(id);
    this.targets.clear();
    for (const [id, t] of next) this.targets.set(id, t);
    return removed;
  }
}

/**
 * A device removed by a reload leaves /metrics: its series would otherwise stay forever, frozen
 * (device_up 0 reads as "down", not as "gone").
 */
function forgetMetrics(device: string): void {
  for (const m of [metrics.readings, metrics.parseErrors, metrics.overlongLines, metrics.deviceUp]) m.remove({ device });
  metrics.reconnects.remove({ source: device });
  // commands carry a second label (the result): remove every series of this device
  void metrics.commands.get().then(({ values }) => {
    for (const v of values) if (v.labels.device === device) metrics.commands.remove(v.labels);
  });
}
