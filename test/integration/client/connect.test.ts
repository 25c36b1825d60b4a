/**
 * The client against the real gateway and the firmware mock on a PTY: both encodings, tokens as
 * subprotocols, command acks (resolve and typed reject), refused handshakes.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { CommandFailedError, connect, ClientError, type SerialgateClient } from '../../../src/client/index.js';
import { recordingClient, startRig, VIEWER_TOKEN, waitFor } from './harness.js';

let rig: Awaited<ReturnType<typeof startRig>>;
const clients: SerialgateClient[] = [];
const track = <T extends { client: SerialgateClient }>(c: T): T => (clients.push(c.client), c);

beforeAll(async () => {
  rig = await startRig({ intervalMs: 50 });
});
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});
afterAll(async () => {
  await rig?.stop();
});

describe('client ↔ gateway', () => {
  it.each(['cbor', 'json'] as const)('%s: hello with the role, readings with values, in seq order', async (protocol) => {
    const c = track(recordingClient(rig.wsUrl, { protocol }));
    await waitFor('3 readings', () => c.readings.length >= 3);
    expect(c.client.info.protocol).toBe(`serialgate.v1.${protocol}`);
    expect(c.client.role).toBe('operator');
    expect([...c.client.devices.keys()]).toEqual(['mock1']);
    const r = c.readings.at(-1)!;
    expect(r.device).toBe('mock1');
    expect(typeof r.values?.temp).toBe('number');
    const s = c.readings.map((x) => x.seq);
    expect(s).toEqual([...s].sort((a, b) => a - b));
    expect(new Set(s).size).toBe(s.length);
    expect(c.states.map((x) => x.state).slice(0, 2)).toEqual(['connecting', 'open']);
  });

  it('a command resolves with the device reply; an unknown device rejects with unknown_device', async () => {
    const c = track(recordingClient(rig.wsUrl));
    await expect(c.client.command('mock1', 'LED ON')).resolves.toMatchObject({ reply: 'OK LED ON' });
    expect(rig.mock.commands).toContain('LED ON');
    const err = await c.client.command('nope', 'LED ON').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandFailedError);
    expect(err).toMatchObject({ code: 'unknown_device', device: 'nope' });
  });

  it('a viewer token is a viewer: its command rejects with forbidden', async () => {
    const c = track(recordingClient(rig.wsUrl, { token: VIEWER_TOKEN }));
    await waitFor('open', () => c.client.state === 'open' && c.client.role !== undefined);
    expect(c.client.role).toBe('viewer');
    await expect(c.client.command('mock1', 'LED OFF')).rejects.toMatchObject({ code: 'forbidden' });
  });

  it('no token where one is required: refused before open, surfaced, retried with backoff', async () => {
    const c = track(recordingClient(rig.wsUrl, { token: undefined }));
    await waitFor('a refused attempt', () => c.states.some((s) => s.state === 'reconnecting'));
    const s = c.states.find((x) => x.state === 'reconnecting')!;
    expect(s).toMatchObject({ refused: true, code: 1006, failures: 1 });
    // ws reports the status; a browser would only say "could not connect (gateway unreachable or handshake refused)"
    expect(s.reason).toBe('handshake refused: HTTP 401');
    expect(s.nextRetryAt).toBeGreaterThan(Date.now() - 1_000);
    expect(c.states.some((x) => x.state === 'open')).toBe(false);
  });

  it('a wrong token, then the right one via reconnect({ token }): opens, keeps the session', async () => {
    const c = track(recordingClient(rig.wsUrl, { token: 'wrong-token-wrong-token' }));
    await waitFor('refused', () => c.client.info.refused);
    c.client.reconnect({ token: VIEWER_TOKEN });
    await waitFor('open', () => c.client.state === 'open' && c.client.role === 'viewer');
    expect(c.client.info.refused).toBe(false);
  });

  it('close() is final: state closed with the code, pending and later commands reject with closed', async () => {
    const c = recordingClient(rig.wsUrl);
    await waitFor('open', () => c.client.state === 'open');
    c.client.close(1000, 'bye');
    await waitFor('closed', () => c.client.state === 'closed');
    expect(c.client.info.code).toBe(1000);
    await expect(c.client.command('mock1', 'PING')).rejects.toMatchObject({ code: 'closed' });
  });

  it('refuses what cannot work, synchronously and typed', () => {
    expect(() => connect(rig.wsUrl, { WebSocketImpl: WebSocket, token: 'has space' })).toThrow(ClientError);
    expect(() => connect(rig.wsUrl, { WebSocketImpl: WebSocket, token: 'a/b=' })).toThrow(/letters, digits/);
    expect(() => connect('ftp://x/ws', { WebSocketImpl: WebSocket })).toThrow('expected a ws:, wss:, http: or https: URL, got ftp:');
    // Node 20 has no global WebSocket
    if (!(globalThis as { WebSocket?: unknown }).WebSocket) {
      expect(() => connect(rig.wsUrl)).toThrow(expect.objectContaining({ code: 'SG_ERR_CLIENT_NO_WEBSOCKET' }));
    }
  });
});
