/**
 * Federation (DESIGN.md "Scale beyond one machine"): this gateway's readings go out to
 * `<prefix>/<gateway>/<device>/reading` (JSON, QoS 0) and commands for its devices come in on
 * `<prefix>/<gateway>/<device>/command`; each command is answered on `<prefix>/<gateway>/<device>/ack`
 * with the same ack object the WebSocket protocol uses.
 *
 * Command payload (JSON): `{ "id"?: string|number, "line"?: string, "payload"?: any }` — `line` for
 * serial devices, `payload` for MQTT devices, exactly like a dashboard `command` message.
 * Ack payload: `{ "id", "ok": true, "reply"? }` or `{ "id", "ok": false, "error": { code, message } }`.
 *
 * No I/O here: MqttSource owns the client and passes publishes and messages through.
 */
import type { Logger } from '../../log.js';
import { LogRateLimiter } from '../../log-rate.js';
import { CommandError, type DeviceCommand, type Reading } from '../../domain.js';
import { MAX_ID_LENGTH } from '../../bounds.js';

/** Routes a command received from the broker to one of this gateway's devices (the hub does it). */
export type FederatedCommandHandler = (device: string, cmd: DeviceCommand) => Promise<{ reply?: string }>;

export interface FederationLink {
  /** publish now, or queue (bounded) while the broker is away */
  publish(topic: string, payload: string, qos: 0 | 1): void;
}

export class Federation {
  /** `<prefix>/<gateway>/`: every topic of this gateway starts with it */
  private readonly base: string;
  readonly commandFilter: string;
  private handler: FederatedCommandHandler | undefined;
  private readonly badLog = new LogRateLimiter(10_000);

  constructor(
    prefix: string,
    gatewayId: string,
    private readonly link: FederationLink,
    private readonly log: Logger,
  ) {
    this.base = `${prefix}/${gatewayId}/`;
    this.commandFilter = `${this.base}+/command`;
  }

  /** Topics in our own namespace are federation traffic, never device data (no feedback loops). */
  owns(topic: string): boolean {
    return topic.startsWith(this.base);
  }

  onCommand(handler: FederatedCommandHandler): void {
    this.handler = handler;
  }

  publishReading(r: Reading): void {
    this.link.publish(`${this.base}${r.device}/reading`, JSON.stringify(r), 0);
  }

  /** A message on a topic for which owns() is true. */
  handleMessage(topic: string, payload: Buffer): void {
    const rest = topic.slice(this.base.length);
    const slash = rest.indexOf('/');
    // our own readings and acks come back to us only if someone subscribed us to them: ignore
    if (slash <= 0 || rest.slice(slash + 1) !== 'command') return;
    const device = rest.slice(0, slash);
    const parsed = parseCommand(payload);
    if ('error' in parsed) {
      this.badLog.log(this.log, 'warn', 'invalid', { device, topic, error: parsed.error }, 'federated command refused');
      this.ack(device, parsed.id, { ok: false, error: { code: 'invalid', message: parsed.error } });
      return;
    }
    const { id, cmd } = parsed;
    if (!this.handler) {
      this.ack(device, id, { ok: false, error: { code: 'device_unavailable', message: 'this gateway does not route federated commands' } });
      return;
    }
    let result: Promise<{ reply?: string }>;
    try {
      result = this.handler(device, cmd);
    } catch (err) {
      result = Promise.reject(err);
    }
    result.then(
      (r) => this.ack(device, id, r.reply === undefined ? { ok: true } : { ok: true, reply: r.reply }),
      (err: unknown) => {
        const code = err instanceof CommandError ? err.code : 'internal';
        const message = err instanceof Error ? err.message : String(err);
        this.ack(device, id, { ok: false, error: { code, message } });
      },
    );
  }

  private ack(device: string, id: string | number | null, body: object): void {
    this.link.publish(`${this.base}${device}/ack`, JSON.stringify({ id, ...body }), 1);
  }
}

type Parsed = { id: string | number | null; cmd: DeviceCommand } | { id: string | number | null; error: string };

function parseCommand(payload: Buffer): Parsed {
  let doc: unknown;
  try {
    doc = JSON.parse(payload.toString('utf8'));
  } catch (err) {
    return { id: null, error: `command is not JSON: ${(err as Error).message}` };
  }
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
  return { id, cmd: hasLine ? { line: o.line as string } : { payload: o.payload } };
}
