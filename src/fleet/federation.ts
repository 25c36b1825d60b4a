/**
 * The owner's side of a remote command: a request on `<prefix>/<gateway>/<device>/command` is
 * executed through this gateway's own router (hub.routeCommand: its allow patterns, its device
 * rules) and answered once on `<prefix>/<gateway>/<device>/ack`, the MQTT 5 correlation data
 * echoed (the payload `id` too, for MQTT 3.1.1 peers).
 *
 * Request payload (JSON): `{ "id"?: string|number, "from"?: gateway, "line"?: string, "payload"?: any, "deadline"?: ms since the epoch }`.
 * `from` names the requesting gateway: the router keeps one rate limit and in-flight table per origin.
 * Ack payload: `{ "id", "ok": true, "reply"? }` or `{ "id", "ok": false, "error": { code, message } }`.
 *
 * Never twice, never late: a request whose deadline has passed is never run (it is answered
 * `timeout`, which an origin that answered so already ignores), and one whose correlation (or id)
 * we have seen before is a redelivery (QoS 1, a bridge): dropped, unexecuted and unanswered. Both
 * are counted in the log.
 *
 * No I/O here: the Fleet owns the client and passes messages and publishes through.
 */
import type { Logger } from '../log.js';
import { LogRateLimiter } from '../log-rate.js';
import { CommandError, type DeviceCommand } from '../domain.js';
import type { FleetTopics } from './topics.js';
import { decodeClientMessage } from '../protocol/codec.js';
import { FLEET_DEFAULT_TTL_MS, FLEET_MAX_COMMAND_MS, FLEET_MAX_CORRELATION_BYTES, FLEET_MAX_SEEN, MAX_ID_LENGTH } from '../bounds.js';

/** Routes a command received from the broker to one of this gateway's devices (the hub does it); `from`: the requesting gateway, '' if unnamed. */
export type FederatedCommandHandler = (device: string, cmd: DeviceCommand, from: string) => Promise<{ reply?: string }>;

export interface FederationLink {
  publish(topic: string, payload: string, opts: { qos: 0 | 1; retain?: boolean; correlation?: Buffer }): void;
}

export class Federation {
  private handler: FederatedCommandHandler | undefined;
  private readonly badLog = new LogRateLimiter(10_000);
  /** correlation key → until when it counts as seen (deadlines differ per origin: not in insertion order) */
  private readonly seen = new Map<string, number>();
  /** the earliest `until` in `seen`: nothing to forget before then */
  private soonest = Infinity;

  constructor(
    private readonly topics: FleetTopics,
    private readonly gatewayId: string,
    private readonly link: FederationLink,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  onCommand(handler: FederatedCommandHandler): void {
    this.handler = handler;
  }

  /** A request for one of our devices. */
  handleCommand(device: string, payload: Buffer, correlation: Buffer | undefined): void {
    const parsed = parseCommand(payload);
    // remembered until the deadline and echoed in the ack: MQTT 5 allows 65,535 bytes, and 4,096
    // remembered ones of that size held ~600 MB (a peer's flood, past the unit's MemoryMax)
    if (correlation !== undefined && correlation.length > FLEET_MAX_CORRELATION_BYTES) {
      const error = `correlation data of ${correlation.length} bytes: at most ${FLEET_MAX_CORRELATION_BYTES}`;
      this.badLog.log(this.log, 'warn', 'invalid', { device, error }, 'federated command refused');
      this.ack(device, parsed.id, undefined, { ok: false, error: { code: 'invalid', message: `command refused: ${error}` } });
      return;
    }
    const ack = (body: object) => this.ack(device, parsed.id, correlation, body);
    if ('error' in parsed) {
      this.badLog.log(this.log, 'warn', 'invalid', { device, error: parsed.error }, 'federated command refused');
      ack({ ok: false, error: { code: 'invalid', message: parsed.error } });
      return;
    }
    const now = this.now();
    if (parsed.deadline !== undefined && parsed.deadline <= now) {
      const lateMs = now - parsed.deadline;
      this.badLog.log(
        this.log,
        'warn',
        'late',
        { code: 'SG_ERR_FLEET_LATE_COMMAND', device, lateMs },
        'federated command arrived after its deadline: dropped, not executed',
      );
      // Not run, whatever the answer. An origin that answered `timeout` already ignores it; one
      // still waiting has a clock behind ours (by more than lateMs): without this it waited out
      // its whole timeout for a command that was refused on arrival, and never learnt why.
      ack({
        ok: false,
        error: {
          code: 'timeout',
          message: `arrived ${lateMs} ms after its deadline by this gateway's clock: not run (if the origin was still waiting, the two gateways' clocks disagree: check NTP)`,
        },
      });
      return;
    }
    const key = correlation?.toString('base64') ?? (parsed.id === null ? undefined : JSON.stringify(parsed.id));
    if (key !== undefined) {
      this.forgetExpired(now);
      if (this.seen.has(key)) {
        this.badLog.log(
          this.log,
          'warn',
          'duplicate',
          { code: 'SG_ERR_FLEET_DUPLICATE_COMMAND', device },
          'federated command seen before: dropped, not executed again',
        );
        return;
      }
      if (this.seen.size >= FLEET_MAX_SEEN) this.seen.delete(this.seen.keys().next().value!);
      const until = Math.min(parsed.deadline ?? now + FLEET_DEFAULT_TTL_MS, now + FLEET_MAX_COMMAND_MS);
      this.seen.set(key, until);
      this.soonest = Math.min(this.soonest, until);
    }
    if (!this.handler) {
      ack({ ok: false, error: { code: 'device_unavailable', message: 'this gateway does not route federated commands' } });
      return;
    }
    let result: Promise<{ reply?: string }>;
    try {
      result = this.handler(device, parsed.cmd, parsed.from);
    } catch (err) {
      result = Promise.reject(err);
    }
    result.then(
      (r) => ack(r.reply === undefined ? { ok: true } : { ok: true, reply: r.reply }),
      (err: unknown) => {
        const code = err instanceof CommandError ? err.code : 'internal';
        const message = err instanceof Error ? err.message : String(err);
        ack({ ok: false, error: { code, message } });
      },
    );
  }

  private forgetExpired(now: number): void {
    if (now < this.soonest) return;
    this.soonest = Infinity;
    for (const [k, until] of this.seen) {
      if (until <= now) this.seen.delete(k);
      else this.soonest = Math.min(this.soonest, until);
    }
  }

  private ack(device: string, id: string | number | null, correlation: Buffer | undefined, body: object): void {
    const opts = correlation ? { qos: 1 as const, correlation } : { qos: 1 as const };
    this.link.publish(this.topics.device(this.gatewayId, device, 'ack'), JSON.stringify({ id, ...body }), opts);
  }
}

interface Command {
  id: string | number | null;
  /** the requesting gateway; '' when the request does not say (a 3.1.1 tool) */
  from: string;
  cmd: DeviceCommand;
  deadline?: number;
}
type Parsed = Command | { id: string | number | null; error: string };

function parseCommand(payload: Buffer): Parsed {
  // the data model a dashboard's command must keep (well-formed text, numbers within ±(2^53−1),
  // no `__proto__`, bounded depth), checked by the same decoder: a lone surrogate would reach the
  // device as U+FFFD, 1e400 an MQTT device as null
  const decoded = decodeClientMessage(payload, false, 'json');
  if (!decoded.ok) return { id: null, error: `command refused (${decoded.code}): ${decoded.message}` };
  const doc = decoded.value;
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return { id: null, error: 'command must be a JSON object' };
  const o = doc as Record<string, unknown>;
  const id = Object.hasOwn(o, 'id') ? o.id : null;
  if (!(id === null || typeof id === 'number' || (typeof id === 'string' && id.length <= MAX_ID_LENGTH))) {
    return { id: null, error: `"id" must be a string of at most ${MAX_ID_LENGTH} characters or a number` };
  }
  const hasLine = Object.hasOwn(o, 'line');
  const hasPayload = Object.hasOwn(o, 'payload');
  if (hasLine && typeof o.line !== 'string') return { id, error: '"line" must be a string' };
  if (hasLine === hasPayload) return { id, error: 'a command has exactly one of "line" or "payload"' };
  if (Object.hasOwn(o, 'deadline') && !Number.isFinite(o.deadline)) return { id, error: '"deadline" must be a number (ms since the epoch)' };
  const from = Object.hasOwn(o, 'from') ? o.from : '';
  if (typeof from !== 'string' || from.length > MAX_ID_LENGTH)
    return { id, error: `"from" must be a gateway id of at most ${MAX_ID_LENGTH} characters` };
  const parsed: Command = { id, from, cmd: hasLine ? { line: o.line as string } : { payload: o.payload } };
  if (typeof o.deadline === 'number') parsed.deadline = o.deadline;
  return parsed;
}
