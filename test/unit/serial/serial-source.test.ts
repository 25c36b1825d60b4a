import type { DeviceConfig } from '../../../src/config/schema.js';
import { describe, expect, it } from 'vitest';
import { ParserConfigError } from '../../../src/codecs/line-parser.js';
import { deviceSchema } from '../../../src/config/schema.js';
import { silentLogger } from '../../../src/log.js';
import { SerialSource } from '../../../src/sources/serial/index.js';
import { RecordingSink } from '../../helpers/mock.js';

const dev = (id: string, extra: Record<string, unknown> = {}) => deviceSchema.parse({ id, serial: { path: `/tmp/sg-unit-${id}` }, ...extra });

describe('SerialSource construction (no I/O)', () => {
  it('takes only serial devices; all start down, "not started"', () => {
    const mqttDev = deviceSchema.parse({ id: 'm1', mqtt: { topic: 'a/b' } });
    const s = new SerialSource([dev('s1'), mqttDev, dev('s2')], new RecordingSink(), silentLogger());
    expect(s.devices().map((d) => [d.id, d.source])).toEqual([
      ['s1', 'serial'],
      ['s2', 'serial'],
    ]);
    expect(s.devices()[0]!.status()).toEqual({ id: 's1', source: 'serial', state: 'down', reason: 'not started' });
  });

  // the schema refuses these (test/unit/config); a config built in code can still carry one
  const unchecked = (patch: (d: DeviceConfig) => void): DeviceConfig => {
    const d = dev('bad', { parser: { format: 'regex', pattern: '(?<x>.)' }, commands: { reply: { match: '.' } } });
    patch(d);
    return d;
  };
  it.each([
    ['reply.match', (d: DeviceConfig) => (d.commands.reply!.match = '('), /^device bad: commands\.reply\.match does not compile: /],
    ['parser.pattern', (d: DeviceConfig) => (d.parser.pattern = '(?<x>'), /^regex pattern does not compile: /],
  ])('a %s that does not compile fails at construction', (_key, patch, msg) => {
    expect(() => new SerialSource([unchecked(patch)], new RecordingSink(), silentLogger())).toThrow(ParserConfigError);
    expect(() => new SerialSource([unchecked(patch)], new RecordingSink(), silentLogger())).toThrow(msg);
  });

  it('a command before start → device_unavailable; after stop → shutting_down', async () => {
    const s = new SerialSource([dev('s3')], new RecordingSink(), silentLogger());
    await expect(s.devices()[0]!.command({ line: 'PING' })).rejects.toMatchObject({
      code: 'device_unavailable',
      device: 's3',
      message: 'device is down: not started',
    });
    await s.stop();
    await expect(s.devices()[0]!.command({ line: 'PING' })).rejects.toMatchObject({ code: 'shutting_down', device: 's3' });
  });
});
