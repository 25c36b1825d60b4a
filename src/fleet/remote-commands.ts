/**
 * The origin's side of a remote command: published once to the owner's command topic at QoS 1
 * with MQTT 5 correlation data, a message expiry and a deadline in the payload; settled exactly
 * once by the owner's ack (its reply or its refusal code), by `timeout` at the deadline, or
 * refused before sending with `device_unavailable` when the broker or the owner is away.
 *
 * This side owns the command's one deadline (fleet.commandTimeoutMs): the owner drops a request
 * that reaches it later (federation.ts), so an ack that said `timeout` is never followed by an
 * execution. A command in flight when its owner goes offline also ends at its deadline: whether
 * it ran is unknown, and `timeout` is the code that says so.
 */
import { CommandError, type CommandErrorCode, type DeviceCommand } from '../domain.js';
import type { FleetTopics } from './topics.js';
import { parseAck } from './wire.js';

export interface RequestLink {
  connected(): boolean;
  /** why it was not sent, if it was not */
  publish(topic: string, payload: string, opts: { qos: 1; correlation: Buffer; expirySeconds: number }): string | undefined;
}

interface Pending {
  gateway: string;
  device: string;
  resolve(r: { reply?: string }): void;
  reject(err: CommandError): void;
  timer: NodeJS.Timeout;
}

/** codes an owner may answer with; anything else from the wire is `internal` */
const CODES = new Set<string>([
  'device_unavailable',
  'timeout',
  'busy',
  'invalid',
  'forbidden',
  'shutting_down',
  'internal',
] satisfies CommandErrorCode[]);

export class RemoteCommands {
  private readonly pending = new Map<string, Pending>();
  private n = 0;

  constructor(
    private readonly topics: FleetTopics,
    /** this gateway's id: the request's `from`, so that the owner keeps each origin's rate limit apart */
    private readonly gateway: string,
    /** this process: correlations `<gateway>:<instance>:<n>` of two processes never meet */
    private readonly instance: string,
    private readonly link: RequestLink,
    private readonly timeoutMs: number,
    private readonly ownerOnline: (gateway: string) => boolean,
  ) {}

  send(gateway: string, device: string, cmd: DeviceCommand): Promise<{ reply?: string }> {
    const id = `${gateway}/${device}`;
    if (!this.link.connected()) return Promise.reject(new CommandError('device_unavailable', 'the fleet broker is down', id));
    if (!this.ownerOnline(gateway)) return Promise.reject(new CommandError('device_unavailable', `gateway ${gateway} is offline`, id));
    // unique per run (instance) and request; `from` names the gateway, so the id stays within MAX_ID_LENGTH
    const correlation = `${this.instance}:${++this.n}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(correlation);
        reject(new CommandError('timeout', `gateway ${gateway} did not answer within ${this.timeoutMs} ms`, id));
      }, this.timeoutMs);
      this.pending.set(correlation, { gateway, device, resolve, reject, timer });
      const body = { id: correlation, from: this.gateway, ...cmd, deadline: Date.now() + this.timeoutMs };
      const notSent = this.link.publish(this.topics.device(gateway, device, 'command'), JSON.stringify(body), {
        qos: 1,
        correlation: Buffer.from(correlation),
        expirySeconds: Math.ceil(this.timeoutMs / 1000),
      });
      if (notSent !== undefined) this.settle(correlation, notSent);
    });
  }

  /** The fleet broker refused this request's PUBLISH as too large (fleet.ts): it never reaches the owner. */
  refused(correlation: string, bytes: number): void {
    this.settle(correlation, `the fleet broker refused the command (${bytes} bytes) as too large (its message_size_limit)`);
  }

  /** A request that never reaches its owner: device_unavailable, now, instead of timeout at its deadline. */
  private settle(correlation: string, message: string): void {
    const p = this.pending.get(correlation);
    if (!p) return;
    this.pending.delete(correlation);
    clearTimeout(p.timer);
    p.reject(new CommandError('device_unavailable', message, `${p.gateway}/${p.device}`));
  }

  /** An ack on `<prefix>/<gateway>/<device>/ack`: ours when its correlation is pending. */
  ack(gateway: string, device: string, payload: Buffer, correlation: Buffer | undefined): void {
    const a = parseAck(payload);
    if (!a) return;
    const key = correlation?.toString('utf8') ?? a.key;
    const p = key === undefined ? undefined : this.pending.get(key);
    if (!p || p.gateway !== gateway || p.device !== device) return;
    this.pending.delete(key!);
    clearTimeout(p.timer);
    if (a.ok) {
      p.resolve(a.reply === undefined ? {} : { reply: a.reply });
      return;
    }
    const code = a.code !== undefined && CODES.has(a.code) ? (a.code as CommandErrorCode) : 'internal';
    p.reject(new CommandError(code, `gateway ${gateway}: ${a.message ?? 'the owning gateway refused the command'}`, `${gateway}/${device}`));
  }

  stop(): void {
    for (const [key, p] of this.pending) {
      this.pending.delete(key);
      clearTimeout(p.timer);
      p.reject(new CommandError('shutting_down', 'the gateway is shutting down', `${p.gateway}/${p.device}`));
    }
  }
}
