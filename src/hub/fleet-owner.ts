/**
 * The command owner of a federation origin (`{kind:'fleet', gateway}`): federated commands go
 * through the same CommandRouter as a dashboard's (one validation, one rate limit, one in-flight
 * table, one metric), with this origin's own token bucket and in-flight table, and the ack turned
 * back into the promise Federation answers on the broker.
 */
import { CommandError, type DeviceCommand } from '../domain.js';
import type { CommandRequest } from '../protocol/client-messages.js';
import type { CommandAck, CommandOwner } from './commands.js';
import { TokenBucket } from '../token-bucket.js';
import { FLEET_MAX_ORIGINS } from '../bounds.js';

export interface FleetOrigin {
  kind: 'fleet';
  /** the gateway the command came from (the request's `from`); '' when the request does not say */
  gateway: string;
}

type Answer = { resolve: (r: { reply?: string }) => void; reject: (err: CommandError) => void; device: string };

/** One per FleetOrigin (FleetOwners keeps them by gateway). */
export class FleetOwner implements CommandOwner {
  /** federation is trusted as an operator: whoever may publish to our command topics is one */
  readonly role = 'operator';
  /** the broker is always there to take the ack (Federation queues it while it is away) */
  readonly open = true;
  readonly inflight = new Set<string>();
  private bucket!: TokenBucket;
  private readonly answers = new Map<string, Answer>();
  /** router ids: federated ids may be absent or numbers, and only this table has to tell them apart */
  private next = 0;

  constructor(rate: { perSecond: number; burst: number }) {
    this.applyLimits(rate);
  }

  /** At start and on reload (hub.commandRate): the bucket starts full under the new rate. */
  applyLimits(rate: { perSecond: number; burst: number }): void {
    this.bucket = new TokenBucket(rate.perSecond, rate.burst);
  }

  takeToken(): boolean {
    return this.bucket.take();
  }

  /** A router message for `cmd`, and the promise its ack settles. */
  command(device: string, cmd: DeviceCommand): { msg: CommandRequest; result: Promise<{ reply?: string }> } {
    const id = `fleet-${++this.next}`;
    const msg: CommandRequest = { type: 'command', id, device, line: cmd.line, payload: cmd.payload };
    const result = new Promise<{ reply?: string }>((resolve, reject) => this.answers.set(id, { resolve, reject, device }));
    return { msg, result };
  }

  ack(msg: CommandAck): void {
    const answer = this.answers.get(msg.id);
    if (!answer) return;
    this.answers.delete(msg.id);
    if (!msg.ok) return answer.reject(new CommandError(msg.error.code, msg.error.message, answer.device));
    answer.resolve(msg.reply === undefined ? {} : { reply: msg.reply });
  }
}

/**
 * The FleetOwner of each requesting gateway, least recently used first. The gateway id is broker
 * input, so at most FLEET_MAX_ORIGINS are kept: a new one evicts the origin idle longest. An
 * evicted owner still settles the commands the router holds it for; only its bucket is forgotten.
 */
export class FleetOwners {
  private readonly owners = new Map<string, FleetOwner>();

  constructor(private readonly rate: () => { perSecond: number; burst: number }) {}

  of(gateway: string): FleetOwner {
    let owner = this.owners.get(gateway);
    if (owner) {
      this.owners.delete(gateway); // re-inserted below: most recently used last
    } else {
      owner = new FleetOwner(this.rate());
      if (this.owners.size >= FLEET_MAX_ORIGINS) this.owners.delete(this.owners.keys().next().value!);
    }
    this.owners.set(gateway, owner);
    return owner;
  }

  /** On reload (hub.commandRate): every kept origin's bucket starts full under the new rate. */
  applyLimits(): void {
    for (const owner of this.owners.values()) owner.applyLimits(this.rate());
  }
}
