/** A remote command names its requesting gateway (`from`), and the owner hands it to the router. */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import { Federation } from '../../../src/fleet/federation.js';
import { RemoteCommands } from '../../../src/fleet/remote-commands.js';
import { FleetTopics } from '../../../src/fleet/topics.js';

const topics = new FleetTopics('fleet/eu');
const flush = () => new Promise((r) => setTimeout(r, 0));

describe('the requesting gateway of a remote command', () => {
  it('the origin puts its gateway id in the request as `from`', async () => {
    const sent: unknown[] = [];
    const requests = new RemoteCommands(
      topics,
      'pi-02',
      'i1',
      { connected: () => true, publish: (_t, p) => void sent.push(JSON.parse(p)) },
      50,
      () => true,
    );
    const result = requests.send('pi-01', 'd', { line: 'PING' });
    expect(sent).toEqual([{ id: 'i1:1', from: 'pi-02', line: 'PING', deadline: expect.any(Number) }]);
    await expect(result).rejects.toMatchObject({ code: 'timeout' });
  });

  it("the owner passes `from` to the router ('' when absent) and refuses a `from` that is no gateway id", async () => {
    const acks: unknown[] = [];
    const fed = new Federation(topics, 'pi-01', { publish: (_t, p) => acks.push(JSON.parse(p)) }, silentLogger());
    const origins: string[] = [];
    fed.onCommand(async (_device, _cmd, from) => (origins.push(from), {}));
    fed.handleCommand('d', Buffer.from('{"id":1,"from":"pi-02","line":"A"}'), undefined);
    fed.handleCommand('d', Buffer.from('{"id":2,"line":"B"}'), undefined);
    fed.handleCommand('d', Buffer.from('{"id":3,"from":7,"line":"C"}'), undefined);
    fed.handleCommand('d', Buffer.from(JSON.stringify({ id: 4, from: 'x'.repeat(200), line: 'D' })), undefined);
    await flush();
    expect(origins).toEqual(['pi-02', '']);
    expect(acks).toEqual([
      { id: 3, ok: false, error: { code: 'invalid', message: expect.stringContaining('"from"') } },
      { id: 4, ok: false, error: { code: 'invalid', message: expect.stringContaining('"from"') } },
      { id: 1, ok: true },
      { id: 2, ok: true },
    ]);
  });

  it('a request the fleet broker refused, or that could not be sent, is device_unavailable at once, not timeout at its deadline', async () => {
    const link = { connected: () => true, notSent: undefined as string | undefined, publish: () => link.notSent };
    const requests = new RemoteCommands(topics, 'pi-02', 'i1', link, 60_000, () => true);
    const refused = requests.send('pi-01', 'd', { line: 'x'.repeat(3000) });
    requests.refused('i1:1', 3080);
    await expect(refused).rejects.toMatchObject({
      code: 'device_unavailable',
      device: 'pi-01/d',
      message: 'the fleet broker refused the command (3080 bytes) as too large (its message_size_limit)',
    });
    requests.refused('i1:1', 3080); // settled already: nothing happens
    link.notSent = 'the fleet broker refused a message of 3080 bytes as too large (its message_size_limit): not sent';
    await expect(requests.send('pi-01', 'd', { line: 'y'.repeat(3000) })).rejects.toMatchObject({
      code: 'device_unavailable',
      message: link.notSent,
    });
    requests.stop();
  });
});
