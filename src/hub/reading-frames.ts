/** A reading with its frames: encoded lazily, at most once per encoding, shared by every connection and every replay. */
import { encodeServerMessage } from '../protocol/codec.js';
import type { Encoding, ReadingMessage } from '../protocol/messages.js';
import { Opcode } from '../ws/constants.js';
import { encodeFrame } from '../ws/frame-encoder.js';
import { frameMessage } from './frame.js';

export class ReadingFrames {
  readonly seq: number;
  readonly device: string;
  private text: string | undefined;
  private json: Buffer | undefined;
  private cbor: Buffer | undefined;

  constructor(readonly msg: ReadingMessage) {
    this.seq = msg.seq;
    this.device = msg.device;
  }

  /** The JSON text, once: the JSON frame and the fleet's publish (the same object) share it. */
  jsonText(): string {
    return (this.text ??= encodeServerMessage(this.msg, 'json') as string);
  }

  frame(encoding: Encoding): Buffer {
    if (encoding === 'json') return (this.json ??= encodeFrame(Opcode.Text, this.jsonText()));
    return (this.cbor ??= frameMessage(this.msg, 'cbor'));
  }
}
