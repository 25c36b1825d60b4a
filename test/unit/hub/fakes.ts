/** In-process fakes of a Connection and a Device for fast hub tests. */
import { EventEmitter } from 'node:events';
import { decode } from 'cbor-x';
import { FrameParser } from '../../../src/ws/frame-parser.js';
import { pushTo, type ParserHandlers } from '../ws/events.js';
import type { SendResult } from '../../../src/hub/session.js';
import { CommandError, type Device, type DeviceCommand, type DeviceStatus, type SourceKind } from '../../../src/domain.js';
import { configSchema, type Config } from '../../../src/config/schema.js';

let nextId = 1;

export class FakeConn extends EventEmitter {
  readonly id = nextId++;
  /** every Buffer passed to sendFrame: one entry per write */
  readonly writes: Buffer[] = [];
  /** what sendFrame answers */
  result: SendResult = 'ok';
  /** run before messages() reads `writes`: a test's hub writes what it queued (Hub.flushQueued) */
  settle: () => void = () => {};
  closedWith: { code?: number; reason?: string } | undefined;

  constructor(readonly protocol: string | undefined = undefined) {
    super();
  }

  sendFrame(frame: Buffer): SendResult {
    if (this.closedWith) return 'closed';
    this.writes.push(frame);
    return this.result;
  }

  close(code?: number, reason?: string): void {
    if (this.closedWith) return;
    this.closedWith = { code, reason };
    this.emit('close', code ?? 1005, reason ?? '');
  }

  /** client → server message in this connection's encoding */
  sendJson(msg: unknown): void {
    this.emit('message', Buffer.from(JSON.stringify(msg)), false);
  }

  /** all messages written so far, decoded */
  messages(): any[] {
    this.settle();
    const out: any[] = [];
    const parser = new FrameParser({ maxMessageBytes: 1 << 24, maxFragments: 8, expectMasked: false });
    const handlers: ParserHandlers = {
      message: (data, binary) => out.push(binary ? decode(data) : JSON.parse(data.toString())),
      ping: () => {},
      pong: () => {},
      close: () => {},
      error: (err) => {
        throw err;
      },
    };
    for (const w of this.writes) pushTo(parser, w, handlers);
    return out;
  }

  /** messages of one type */
  of(type: string): any[] {
    return this.messages().filter((m) => m.type === type);
  }
}

export class FakeDevice implements Device {
  state: DeviceStatus['state'] = 'up';
  reason: string | undefined;
  readonly calls: DeviceCommand[] = [];
  /** how the next commands settle; default: reply "OK <line>" */
  respond: (cmd: DeviceCommand) => Promise<{ reply?: string }> = async (cmd) => ({ reply: `OK ${cmd.line ?? ''}` });

  constructor(
    readonly id: string,
    readonly source: SourceKind = 'serial',
  ) {}

  status(): DeviceStatus {
    return this.reason === undefined
      ? { id: this.id, source: this.source, state: this.state }
      : { id: this.id, source: this.source, state: this.state, reason: this.reason };
  }

  command(cmd: DeviceCommand): Promise<{ reply?: string }> {
    this.calls.push(cmd);
    return this.respond(cmd);
  }
}

export const timeoutError = (device: string) => new CommandError('timeout', 'no reply within 2000 ms', device);

export function testConfig(over: Record<string, unknown> = {}): Config {
  return configSchema.parse({
    devices: [
      { id: 'a', serial: { path: '/dev/null' }, commands: { maxLength: 16 } },
      { id: 'b', serial: { path: '/dev/null-b' }, commands: { allow: '^(LED (ON|OFF)|PING)$' } },
      { id: 'm', mqtt: { topic: 'x/#', commandTopic: 'x/cmd' } },
    ],
    mqtt: { url: 'mqtt://127.0.0.1:1' },
    ...over,
  });
}
