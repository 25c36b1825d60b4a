/** A real Mosquitto and a gateway connected to it, both stopped by the caller's cleanups (in reverse order). */
import { configSchema } from '../../../src/config/schema.js';
import { startGateway, type Gateway } from '../../../src/gateway.js';
import { silentLogger } from '../../../src/log.js';
import { startMosquitto } from '../../helpers/mosquitto.js';

export async function gatewayOnBroker(
  cleanups: (() => Promise<unknown> | void)[],
  over: { id: string; mqtt?: Record<string, unknown>; hub?: Record<string, unknown>; devices: unknown[] },
): Promise<{ gw: Gateway; brokerUrl: string }> {
  const broker = await startMosquitto();
  cleanups.push(() => broker.stop());
  const config = configSchema.parse({
    gateway: { id: over.id },
    server: { host: '127.0.0.1', port: 0 },
    mqtt: { url: broker.url, ...over.mqtt },
    hub: over.hub ?? {},
    devices: over.devices,
  });
  const gw = await startGateway(config, silentLogger());
  cleanups.push(() => gw.stop());
  return { gw, brokerUrl: broker.url };
}
