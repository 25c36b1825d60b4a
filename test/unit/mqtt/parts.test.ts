/** The small sans-I/O parts of the MQTT source: error reasons. */
import { describe, expect, it } from 'vitest';
import { describeError, isAuthFailure } from '../../../src/sources/mqtt/reasons.js';

describe('describeError / isAuthFailure', () => {
  const withCode = (message: string, code: unknown) => Object.assign(new Error(message), { code });
  it.each([
    [withCode('connect ECONNREFUSED 127.0.0.1:1883', 'ECONNREFUSED'), 'broker unreachable: ECONNREFUSED 127.0.0.1:1883', false],
    [withCode('getaddrinfo ENOTFOUND broker.lan', 'ENOTFOUND'), 'broker unreachable: ENOTFOUND broker.lan', false],
    [withCode('read ECONNRESET', 'ECONNRESET'), 'broker unreachable: ECONNRESET', false],
    [withCode('Connection refused: Not authorized', 5), 'not authorized', true],
    [withCode('Connection refused: Bad username or password', 4), 'not authorized: bad username or password', true],
    [withCode('Connection refused: Not authorized', 0x87), 'not authorized', true],
    [withCode('Connection refused: Bad User Name or Password', 0x86), 'not authorized: bad username or password', true],
    [withCode('Connection refused: Server unavailable', 3), 'broker refused the connection: Server unavailable', false],
    [
      withCode('self-signed certificate', 'DEPTH_ZERO_SELF_SIGNED_CERT'),
      'broker connection failed: self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)',
      false,
    ],
    [new Error('connack timeout'), 'broker did not answer CONNECT in time', false],
    [new Error('Keepalive timeout'), 'broker stopped answering (keepalive timeout)', false],
    [
      new Error('Invalid pubrec reason code'),
      'broker answered a message with a reason code MQTT 5 does not define (Invalid pubrec reason code; Mosquitto does so for a message over its message_size_limit)',
      false,
    ],
    [
      new Error('Invalid puback reason code'),
      'broker answered a message with a reason code MQTT 5 does not define (Invalid puback reason code; Mosquitto does so for a message over its message_size_limit)',
      false,
    ],
    // a reason code outside a CONNACK is the broker breaking the protocol, not a refusal (nor credentials)
    [
      withCode('Received a PUBLISH Topic Alias but no Topic Alias Maximum was advertised', 148),
      'broker broke the MQTT protocol: Received a PUBLISH Topic Alias but no Topic Alias Maximum was advertised',
      false,
    ],
    [
      withCode('Protocol error: duplicate CONNACK on the same network connection', 130),
      'broker broke the MQTT protocol: Protocol error: duplicate CONNACK on the same network connection',
      false,
    ],
    [withCode('not a CONNACK', 0x87), 'broker broke the MQTT protocol: not a CONNACK', false],
    [new Error('something else'), 'broker connection failed: something else', false],
    ['a string', 'broker connection failed: a string', false],
  ])('%s → %s', (err, reason, auth) => {
    expect(describeError(err)).toBe(reason);
    expect(isAuthFailure(err)).toBe(auth);
  });
});
