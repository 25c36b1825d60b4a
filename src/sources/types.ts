/**
 * The contract between sources (serial, MQTT) and the hub.
 * Sources never assign `seq`: the hub owns the one gateway-wide counter.
 */

/** Parsed fields of one line. Built with a null prototype: `__proto__` from input is data. */
export type Values = Record<string, number | string | boolean | null>;

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

/** A command as routed to a device: `line` for serial devices, `payload` for MQTT devices. */
export interface DeviceCommand {
  line?: string;
  payload?: unknown;
}

export type CommandErrorCode =
  | 'device_unavailable'
  | 'timeout'
  | 'busy'
  | 'invalid'
  | 'forbidden'
  | 'shutting_down'
  | 'internal';

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
  command(cmd: DeviceCommand): Promise<{ reply?: string }>;
}

/** A source owns some devices and their I/O. Constructors do nothing; start() begins I/O. */
export interface Source {
  start(): Promise<void>;
  /** stop I/O, reject pending commands with `shutting_down`, release ports and clients */
  stop(): Promise<void>;
  devices(): Device[];
}
