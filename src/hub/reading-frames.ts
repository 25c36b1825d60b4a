/** A reading with its frames: encoded lazily, at most once per encoding, shared by every connection and every replay. */
import type { Encoding, ReadingMessage } from '../protocol/messages.js';
import { frameMessage } from './frame.js';

export class ReadingFrames {
  readonly seq: number;
  readonly device: string;
  private json: Buffer | undefined;
  private cbor: Buffer | undefined;

  constructor(readonly msg: ReadingMessage) {
    this.seq = msg.seq;
    this.device = msg.device;
  }

  frame(encoding: Encoding): Buffer {
    if (encoding === 'json') return (this.json ??= frameMessage(this.msg, 'json'));
    return (this.cbor ??= frameMessage(this.msg, 'cbor'));
  }
}
