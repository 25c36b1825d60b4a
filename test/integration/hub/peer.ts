/** A `ws` dashboard peer for hub integration tests: decodes both encodings and waits for messages. */
import { decode } from 'cbor-x';
import WebSocket from 'ws';
import { Waiter } from '../../helpers/waiter.js';

export class Peer {
  readonly messages: any[] = [];
  closed: { code: number; reason: string } | undefined;
  private waiter = new Waiter();

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, binary: boolean) => {
      this.messages.push(binary ? decode(data) : JSON.parse(data.toString()));
      this.wake();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
  }

  /** opens a connection; rejects with the HTTP status of a refused handshake (`Error: 401`) */
  static open(url: string, opts: { protocols?: string[]; headers?: Record<string, string> } = {}): Promise<Peer> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, opts.protocols ?? [], { headers: opts.headers ?? {} });
      const peer = new Peer(ws);
      ws.once('open', () => resolve(peer));
      ws.once('unexpected-response', (_req, res) => {
        reject(new Error(String(res.statusCode)));
        res.resume();
        ws.terminate();
      });
      ws.once('error', reject);
    });
  }

  send(msg: unknown): void {
    this.ws.send(JSON.stringify(msg));
  }

  of(type: string): any[] {
    return this.messages.filter((m) => m.type === type);
  }

  /** resolves when cond() holds, rejects after timeoutMs naming `what` */
  waitFor(what: string, cond: () => boolean, timeoutMs = 5_000): Promise<void> {
    return this.waiter.waitFor(what, cond, timeoutMs, () => `last: ${JSON.stringify(this.messages.slice(-3)).slice(0, 400)}`);
  }

  /** the first message of `type` matching `pred`, waiting for it */
  async next(type: string, pred: (m: any) => boolean = () => true, timeoutMs = 5_000): Promise<any> {
    const find = () => this.messages.find((m) => m.type === type && pred(m));
    await this.waitFor(`a ${type}`, () => find() !== undefined, timeoutMs);
    return find();
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }

  private wake(): void {
    this.waiter.wake();
  }
}
