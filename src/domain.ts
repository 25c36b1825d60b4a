/**
 * Domain types of the base layer, and the contract between sources (serial, MQTT) and the hub:
 * the hub owns these interfaces, sources implement them, codecs, protocol and history use the types.
 * Sources never assign `seq`: the hub owns the one gateway-wide counter.
 */
import type { CommandErrorCode } from './errors.js';

export type { CommandErrorCode };

/** Parsed fields of one line. Built with a null prototype: `__proto__` from input is data. */
export type Values = Record<string, number | string | boolean | null>;

/**
 * Rough bytes `values` holds in memory, for the byte budgets (the history store, the resume ring):
 * per field its slot and key (48 B) and the characters of its key and of a string value. Strings
 * count by their length: a field may carry a 60 KB MQTT payload.
 */
export function valuesBytes(values: Values): number {
  let n = 0;
  for (const k of Object.keys(values)) {
    const v = values[k];
    n += 48 + k.length + (typeof v === 'string' ? v.length : 0);
  }
  return n;
}

/** What a source produces for one received line or message. */
export interface ReadingInput {
  device: string;
  /** receive time, ms since the epoch */
  ts: number;
  values?: Values;
  /** the original line, when the parser keeps it (raw format, or a parse failure forwarded as raw) */
  raw?: string;
  /** set when the line could not be parsed and was forwarded as raw */
  error?: string;
}

/** A Reading as it leaves the hub: DESIGN.md `{ seq, device, ts, values?, raw? }`. */
export interface Reading extends ReadingInput {
  seq: number;
}

export type SourceKind = 'serial' | 'mqtt';

/** What a dashboard may do: read (viewer), or read and send commands (operator). */
export const ROLES = ['viewer', 'operator'] as const;
export type Role = (typeof ROLES)[number];

export type DeviceState = 'up' | 'down';

export interface DeviceStatus {
  id: string;
  source: SourceKind;
  state: DeviceState;
  /** the gateway that owns a remote device (fleet mode); absent for this gateway's own */
  gateway?: string;
  /** why the device is down (human readable, e.g. "ENOENT: /dev/ttyUSB0 does not exist") */
  reason?: string;
}

/** Where sources deliver what they receive. The hub implements it. */
export interface SourceSink {
  reading(r: ReadingInput): void;
  state(s: DeviceStatus): void;
}

/** Whether another gateway of the fleet is online, as its retained birth or last will says. */
export interface GatewayPresence {
  id: string;
  state: 'online' | 'offline';
  /** why it is offline ("connection lost", "stopped", "the fleet broker is unreachable from this gateway") */
  reason?: string;
}

/** Where fleet mode reports the other gateways' presence, for the dashboards' gateway groups. The hub implements it. */
export interface PresenceSink {
  presence(p: GatewayPresence): void;
}

/** A command as routed to a device: `line` for serial devices, `payload` for MQTT devices. */
export interface DeviceCommand {
  line?: string;
  payload?: unknown;
}

/** Typed failure of a device command; `code` is what the hub puts in `ack.error.code`. */
export class CommandError extends Error {
  constructor(
    readonly code: CommandErrorCode,
    message: string,
    readonly device?: string,
  ) {
    super(message);
    this.name = 'CommandError';
  }
}

/** One configured device as a source exposes it. */
export interface Device {
  readonly id: string;
  readonly source: SourceKind;
  status(): DeviceStatus;
  /**
   * Send a command. Resolves with the device's reply line when the device config declares a reply
   * pattern (else with no reply once written / published). Rejects with CommandError. Always
   * settles: the source owns the command's one deadline (the router arms no timer of its own).
   */
  /** `origin`: who asked (a dashboard connection, a fleet origin); a serial port shares its queue fairly between them */
  command(cmd: DeviceCommand, origin?: object): Promise<{ reply?: string }>;
}

/**
 * A source owns some devices and their I/O. Constructors start no I/O (they may read the files their
 * config names, so that a reload they refuse is refused before anything running stops); start() begins it.
 */
export interface Source {
  start(): Promise<void>;
  /**
   * Stops I/O and releases ports and clients. Pending commands fail with `shutting_down`; when a
   * reload stops the source (`reload` says why), with `device_unavailable` and that reason instead:
   * the gateway goes on, and the command may be sent again.
   */
  stop(reload?: string): Promise<void>;
  devices(): Device[];
}

// ---- history (issue 11): what the hub asks of the store; the store lives in history/ ----

/** One raw reading as history keeps it (numbers stay numbers; non-numeric fields kept as they came). */
export interface HistoryPoint {
  /** the reading's seq, only when it was recorded in the stream the gateway runs now (hello.epoch) */
  seq?: number;
  ts: number;
  values: Values;
}

/** Statistics of one numeric field over one bucket. */
export interface FieldStats {
  min: number;
  max: number;
  mean: number;
  count: number;
}

/** A downsampled time bucket: [ts, ts + span) in ms since the epoch. */
export interface HistoryBucket {
  ts: number;
  span: number;
  /** readings that fell into the bucket */
  count: number;
  fields: Record<string, FieldStats>;
}

export interface HistoryQuery {
  device: string;
  /** ms since the epoch, inclusive */
  from: number;
  /** ms since the epoch, inclusive */
  to: number;
  /** the most points (raw points + buckets) the answer may hold; the store downsamples further to fit */
  maxPoints: number;
}

export interface HistoryAnswer {
  device: string;
  from: number;
  to: number;
  /** oldest first; older parts of the range come as buckets, the recent raw window as points */
  buckets: HistoryBucket[];
  points: HistoryPoint[];
}

export interface HistoryReader {
  query(q: HistoryQuery): HistoryAnswer;
  /** device ids the history holds data for */
  devices(): string[];
}

export interface HistoryWriter {
  /** every reading after it got its seq; must never throw into the hub */
  record(r: Reading): void;
}

// ---- the stream (hub/resume.ts keeps it; history/ saves it across a planned restart) ----

/** Where a Hub's stream starts: a fresh one, or one restored across a planned restart (History). */
export interface StreamStart {
  epoch: string;
  /** the last seq already used in this epoch; the next reading gets seq + 1 */
  seq: number;
}

/**
 * A stream as a planned restart saves it (History): where it is, and what the resume buffer and
 * the last values held, so that dashboards resume across the restart with no gap and no reset.
 */
export interface StreamSnapshot extends StreamStart {
  /** the resume buffer, oldest first; used only when contiguous and ending at `seq` */
  readings: Reading[];
  /** the last reading of each device (what a new dashboard gets first) */
  last: Reading[];
}
