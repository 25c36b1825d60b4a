import { describe, expect, it } from 'vitest';
import { urlOptions } from '../../../src/sources/mqtt/client-options.js';

describe('the broker URL as mqtt.js options (WHATWG URL, not url.parse)', () => {
  it('protocol, host and port of each accepted scheme; a path only for WebSocket brokers', () => {
    expect(urlOptions('mqtt://127.0.0.1:1883')).toEqual({ protocol: 'mqtt', host: '127.0.0.1', port: 1883 });
    expect(urlOptions('mqtts://broker.example:8883/ignored')).toEqual({ protocol: 'mqtts', host: 'broker.example', port: 8883 });
    expect(urlOptions('tcp://localhost')).toEqual({ protocol: 'tcp', host: 'localhost' });
    expect(urlOptions('wss://broker.example/mqtt?x=1')).toEqual({ protocol: 'wss', host: 'broker.example', path: '/mqtt?x=1' });
    expect(urlOptions('ws://127.0.0.1:9001')).toEqual({ protocol: 'ws', host: '127.0.0.1', port: 9001, path: '/' });
  });

  it('an IPv6 literal loses its brackets, as net.connect wants it', () => {
    expect(urlOptions('mqtt://[::1]:1883')).toEqual({ protocol: 'mqtt', host: '::1', port: 1883 });
  });

  it('credentials and a clientId in the URL, decoded', () => {
    expect(urlOptions('mqtt://gw%40site:p%3Ass@host:1883?clientId=pi-7')).toEqual({
      protocol: 'mqtt',
      host: 'host',
      port: 1883,
      username: 'gw@site',
      password: 'p:ss',
      clientId: 'pi-7',
    });
  });
});
