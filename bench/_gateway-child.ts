/**
 * bench/fanout.ts's gateway process: startGateway from a config file, "READY <port>" on stdout,
 * stop on SIGTERM. Its CPU time and peak RSS are what the bench reads from /proc.
 */
import { loadConfig } from '../src/config/load.js';
import { startGateway } from '../src/gateway.js';
import { silentLogger } from '../src/log.js';

const config = await loadConfig(process.argv[2]!);
const gw = await startGateway(config, silentLogger());
// READY once the MQTT source has subscribed: the bench's warm-up must not be spent connecting
for (let i = 0; i < 500 && !gw.sources.every((src) => src.devices().every((d) => d.status().state === 'up')); i++) {
  await new Promise((r) => setTimeout(r, 20));
}
process.stdout.write(`READY ${new URL(gw.url).port}\n`);
process.on('SIGTERM', () => {
  void gw.stop().then(() => process.exit(0));
});
