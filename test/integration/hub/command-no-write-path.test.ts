/**
 * A command to a device that has no write path (an MQTT device without commandTopic), through the
 * real gateway and a `ws` dashboard: `invalid`, as the ack table says, whether the device is up or
 * down. Down, it was `device_unavailable` ("is down"), which tells the user to send it again later.
 */
import { afterEach, expect, it } from 'vitest';
import { configSchema } from '../../../src/config/schema.js';
import { startGateway, type Gateway } from '../../../src/gateway.js';
import { silentLogger } from '../../../src/log.js';
import { freePort } from '../../helpers/mosquitto.js';
import { Peer } from './peer.js';

const OPERATOR = 'operator-token-for-no-write-path';
let gw: Gateway | undefined;
let peer: Peer | undefined;
afterEach(async () => {
  await peer?.close();
  await gw?.stop();
  peer = gw = undefined;
});

it('an MQTT device without commandTopic answers invalid while the broker is away; one with it, device_unavailable', async () => {
  // nobody listens there: both devices stay down
  const port = await freePort();
  const config = configSchema.parse({
    gateway: { id: 'nowrite' },
    server: { host: '127.0.0.1', port: 0, path: '/ws' },
    auth: { tokens: [{ token: OPERATOR, role: 'operator' }] },
    mqtt: { url: `mqtt://127.0.0.1:${port}` },
    devices: [
      { id: 'sensor', mqtt: { topic: 'nowrite/sensor' } },
      { id: 'lamp', mqtt: { topic: 'nowrite/lamp', commandTopic: 'nowrite/lamp/set' } },
    ],
  });
  gw = await startGateway(config, silentLogger());
  peer = await Peer.open(gw.url.replace('http', 'ws') + '/ws', { headers: { authorization: `Bearer ${OPERATOR}` } });
  expect(peer.of('hello')[0].devices.map((d: { state: string }) => d.state)).toEqual(['down', 'down']);

  peer.send({ type: 'command', id: 'c1', device: 'sensor', payload: 'ON' });
  peer.send({ type: 'command', id: 'c2', device: 'lamp', payload: 'ON' });
  expect(await peer.next('ack', (a) => a.id === 'c1')).toEqual({
    type: 'ack',
    id: 'c1',
    ok: false,
    error: { code: 'invalid', message: 'device "sensor" has no mqtt.commandTopic' },
  });
  expect(await peer.next('ack', (a) => a.id === 'c2')).toMatchObject({ ok: false, error: { code: 'device_unavailable' } });
});
