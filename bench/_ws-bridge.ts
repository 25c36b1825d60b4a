/**
 * The baseline of bench/fanout.ts: the mqtt + ws bridge a user would write by hand. Subscribe,
 * JSON-encode each reading once, client.send() it to every client. "READY <port>" on stdout.
 *
 *   node dist/bench/_ws-bridge.js <mqtt-url> <topic>
 */
import mqtt from 'mqtt';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

const [url, topic] = process.argv.slice(2) as [string, string];
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/ws' });
await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
let seq = 0;
const client = await mqtt.connectAsync(url);
client.on('message', (_topic, payload) => {
  const msg = JSON.stringify({ type: 'reading', seq: ++seq, device: 'bench', ts: Date.now(), values: JSON.parse(payload.toString()) });
  for (const c of wss.clients) c.send(msg);
});
await client.subscribeAsync(topic);
process.stdout.write(`READY ${(wss.address() as AddressInfo).port}\n`);
process.on('SIGTERM', () => {
  for (const c of wss.clients) c.terminate();
  void client.endAsync().then(() => process.exit(0));
});
