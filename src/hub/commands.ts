/**
 * Command routing: validate, route to Device.command(), answer exactly one ack. Every command
 * ends in exactly one result (counted in metrics.commands); the ack is skipped only when its
 * connection is gone.
 *
 * The router arms no timer: each command has exactly one deadline and its source owns it, because
 * only the source can act when it passes (serial: the queue's deadline from the moment the command
 * goes on the wire, and a port reset when the write never drained; MQTT: mqtt.commandTimeoutMs for
 * the PUBREC). shutdown() still ends whatever is pending.
 *
 * Dashboards (Session) and federation (FleetOwner, via Hub.routeCommand) are both owners of this
 * one router: the same validation, rate limit, in-flight table and metric for every origin.
 * Lengths are UTF-8 bytes, the unit a port or a broker carries, and the same for `line` and
 * `payload`; sources execute what the router let through and do not check it again.
 */
import type { DeviceConfig } from '../config/schema.js';
import type { AckErrorCode } from '../errors.js';
import { metrics } from '../metrics.js';
import type { Logger } from '../log.js';
import { CommandError, type Device, type DeviceCommand } from '../domain.js';
import { jsonText } from '../codecs/json-text.js';
import type { CommandRequest } from '../protocol/client-messages.js';
import { clip } from '../text.js';

/** The ack the router builds: AckMessage with its code typed. */
export type CommandAck =
  { type: 'ack'; id: string; ok: true; reply?: string } | { type: 'ack'; id: string; ok: false; error: { code: AckErrorCode; message: string } };

/** A routable device with its command rules, compiled once per configuration. */
export interface CommandTarget {
  device: Device;
  rules: DeviceConfig['commands'];
  /** commands.allow compiled; undefined = anything valid goes */
  allow?: RegExp;
  /** why the device takes no command at all (an MQTT device without commandTopic); undefined = it takes them */
  noCommands?: string;
}

/** The origin side of a command (a dashboard's Session, a FleetOwner): who asks, and where the ack goes. */
export interface CommandOwner {
  readonly role: string;
  /** false once the connection is closed: the command still completes, no ack is sent */
  readonly open: boolean;
  /** ids of this connection's commands still in flight */
  readonly inflight: Set<string>;
  /** token bucket of the connection (hub.commandRate) */
  takeToken(): boolean;
  ack(msg: CommandAck): void;
}

// C0 controls, DEL and C1 controls: a line must not smuggle a terminator or escape sequence.
function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return true;
  }
  return false;
}

type Check = { ok: true; cmd: DeviceCommand } | { ok: false; code: AckErrorCode; message: string };

/** Field rules: serial devices take a `line`, MQTT devices a `payload`. */
export function checkCommand(msg: CommandRequest, target: CommandTarget): Check {
  const { rules, device } = target;
  const invalid = (message: string): Check => ({ ok: false, code: 'invalid', message });
  // whatever the device's state: a command it can never take is not "down, send it again"
  if (target.noCommands !== undefined) return invalid(target.noCommands);
  if (device.source === 'serial') {
    if (msg.payload !== undefined) return invalid(`${device.id} is a serial device: send "line", not "payload"`);
    if (typeof msg.line !== 'string' || msg.line.length === 0) return invalid('"line" must be a non-empty string');
    if (Buffer.byteLength(msg.line) > rules.maxLength) return invalid(`"line" is longer than ${rules.maxLength} bytes (commands.maxLength)`);
    if (hasControl(msg.line)) return invalid('"line" must not contain control characters');
    // a terminator that is no control character (";") would split the line into two commands on the wire
    if (rules.terminator !== '' && msg.line.includes(rules.terminator)) return invalid('"line" must not contain commands.terminator');
    if (target.allow && !target.allow.test(msg.line)) return { ok: false, code: 'forbidden', message: 'line not allowed by commands.allow' };
    return { ok: true, cmd: { line: msg.line } };
  }
  if (msg.line !== undefined) return invalid(`${device.id} is an MQTT device: send "payload", not "line"`);
  if (msg.payload === undefined) return invalid('"payload" is required for an MQTT device');
  const text = typeof msg.payload === 'string' ? msg.payload : jsonText(msg.payload);
  // (decoded client messages always have JSON text; this guards every other caller)
  if (text === undefined) return invalid('"payload" cannot be sent as JSON');
  if (Buffer.byteLength(text) > rules.maxLength) return invalid(`"payload" is longer than ${rules.maxLength} bytes (commands.maxLength)`);
  if (target.allow && !(typeof msg.payload === 'string' && target.allow.test(msg.payload))) {
    return { ok: false, code: 'forbidden', message: 'payload not allowed by commands.allow' };
  }
  return { ok: true, cmd: { payload: msg.payload } };
}

interface Pending {
  owner: CommandOwner;
  id: string;
  device: string;
  done: boolean;
}

export class CommandRouter {
  private readonly pending = new Set<Pending>();
  private closing = false;

  constructor(
    private readonly lookup: (device: string) => CommandTarget | undefined,
    private readonly logger: Logger,
  ) {}

  handle(owner: CommandOwner, msg: CommandRequest): void {
    const target = typeof msg.device === 'string' ? this.lookup(msg.device) : undefined;
    // metrics labels come from the config only, never from input
    const label = target?.device.id ?? '';
    const refuse = (code: AckErrorCode, message: string) => this.finish(owner, msg.id, label, { code, message });

    if (this.closing) return refuse('shutting_down', 'the gateway is shutting down');
    // before the role: a viewer's refused commands cost acks too, and share the one limit
    if (!owner.takeToken()) return refuse('rate_limited', 'too many commands: slow down (hub.commandRate)');
    if (owner.role !== 'operator') return refuse('forbidden', 'commands need an operator token');
    if (owner.inflight.has(msg.id)) return refuse('busy', `a command with id "${msg.id}" is already in flight`);
    if (typeof msg.device !== 'string') return refuse('invalid', '"device" must be a device id');
    if (!target) return refuse('unknown_device', `no device "${clip(msg.device, 64)}"`);
    const check = checkCommand(msg, target);
    if (!check.ok) return refuse(check.code, check.message);
    const status = target.device.status();
    if (status.state !== 'up') return refuse('device_unavailable', `${label} is down${status.reason ? `: ${status.reason}` : ''}`);

    owner.inflight.add(msg.id);
    const p: Pending = { owner, id: msg.id, device: label, done: false };
    this.pending.add(p);
    let result: Promise<{ reply?: string }>;
    try {
      result = target.device.command(check.cmd, owner);
    } catch (err) {
      result = Promise.reject(err);
    }
    result.then(
      (r) => this.settle(p, r),
      (err: unknown) => {
        if (err instanceof CommandError) return this.settle(p, { code: err.code, message: err.message });
        this.logger.error({ device: label, err }, 'device command failed unexpectedly');
        this.settle(p, { code: 'internal', message: 'internal error' });
      },
    );
  }

  /** Every pending command is answered `shutting_down` now; new ones are refused. */
  shutdown(): void {
    this.closing = true;
    for (const p of [...this.pending]) this.settle(p, { code: 'shutting_down', message: 'the gateway is shutting down' });
  }

  private settle(p: Pending, result: { reply?: string } | { code: AckErrorCode; message: string }): void {
    if (p.done) return;
    p.done = true;
    this.pending.delete(p);
    p.owner.inflight.delete(p.id);
    this.finish(p.owner, p.id, p.device, result);
  }

  private finish(owner: CommandOwner, id: string, device: string, result: { reply?: string } | { code: AckErrorCode; message: string }): void {
    const failed = 'code' in result;
    metrics.commands.inc({ device, result: failed ? result.code : 'ok' });
    if (!owner.open) return;
    if (failed) owner.ack({ type: 'ack', id, ok: false, error: { code: result.code, message: result.message } });
    else owner.ack(result.reply === undefined ? { type: 'ack', id, ok: true } : { type: 'ack', id, ok: true, reply: result.reply });
  }
}
