/**
 * Another dashboard's worth of history load, in its own process (so that receiving ~9 MB/s of
 * answers does not take the event loop of the gateway a test runs in-process): `peers` raw
 * connections each asking for the same large history range at `rate` requests a second, under
 * hub.commandRate (beyond it they would be closed for bad messages). Paced by elapsed time, so a
 * late timer sends what is due. Every 100 ms it prints `<refused> <answered>` (rate_limited errors,
 * answers) on stdout. It runs until killed, a connection closes, or its stdin ends (the test that
 * started it is gone), so it never outlives its test.
 *
 *   node --import tsx test/helpers/history-peer.ts <ws-url> <token> <json request fields> <peers> <rate>
 */
import WebSocket from 'ws';

const [url = '', token = '', fields = '{}', peers = '4', rate = '18'] = process.argv.slice(2);
const request = JSON.parse(fields) as Record<string, unknown>;
let refused = 0;
let answered = 0;
let n = 0;
const started = Date.now();

for (let i = 0; i < Number(peers); i++) {
  const ws = new WebSocket(url, ['serialgate.v1.json', `bearer.${token}`]);
  let sent = 0;
  ws.on('message', (data: Buffer) => {
    // answers are hundreds of KB: only the small messages (hello, errors) are worth reading
    if (data.length > 4096) return void answered++;
    const msg = JSON.parse(data.toString()) as { type: string; error?: { code: string } };
    if (msg.type === 'error' && msg.error?.code === 'rate_limited') refused++;
  });
  ws.on('error', (err) => console.error(`history peer: ${err.message}`));
  ws.on('close', () => process.exit(0));
  setInterval(() => {
    if (ws.readyState !== WebSocket.OPEN) return;
    // what the rate allows by now, at most 4 at once (hub.commandRate's burst is 40)
    const due = Math.min(4, Math.floor(((Date.now() - started) / 1000) * Number(rate)) - sent);
    for (let k = 0; k < due; k++, sent++) ws.send(JSON.stringify({ type: 'history', id: `p${++n}`, ...request }));
  }, 20);
}
setInterval(() => process.stdout.write(`${refused} ${answered}\n`), 100);
process.stdin.on('end', () => process.exit(0)).resume();
