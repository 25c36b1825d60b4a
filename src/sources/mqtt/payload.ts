/**
 * MQTT payload → values, per device `mqtt.payload` format. Sans-I/O: bytes in, a LineResult out,
 * never a throw. Errors carry the payload text in `raw` (like the line parsers) so a device with
 * `parser.onError: raw` can forward it. The size cap is checked before (routing.ts): an oversized
 * payload is dropped, not decoded into an error reading.
 *
 * - `json`:   the serial json line parser (one object, flattened; anything else is an error)
 * - `number`: the whole payload is one number → `{ value: n }` (sensors that publish "21.5")
 * - `string`: the payload is one line for the device's `parser` (kv, csv, regex, raw, json)
 */
import type { DeviceConfig } from '../../config/schema.js';
import { createLineParser, type LineResult } from '../../codecs/line-parser.js';
import { emptyValues, isStrictNumber, numberOf } from '../../codecs/line-values.js';
import { clip } from '../../text.js';

export type PayloadDecoder = (payload: Uint8Array) => LineResult;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

export function createPayloadDecoder(format: NonNullable<DeviceConfig['mqtt']>['payload'], parser: DeviceConfig['parser']): PayloadDecoder {
  const parseText = textParser(format, parser);
  return (payload) => {
    let text: string;
    try {
      text = utf8.decode(payload);
    } catch {
      return { error: 'payload is not valid UTF-8', raw: Buffer.from(payload).toString('utf8') };
    }
    return parseText(text);
  };
}

function textParser(format: NonNullable<DeviceConfig['mqtt']>['payload'], parser: DeviceConfig['parser']): (text: string) => LineResult {
  switch (format) {
    case 'json':
      // the device's keepRaw/onError still apply; only the format is fixed by the payload type
      return createLineParser({ ...parser, format: 'json' });
    case 'string':
      return createLineParser(parser);
    case 'number':
      return (text) => {
        const t = text.trim();
        if (!isStrictNumber(t)) return { error: `number: expected a number, got "${clip(t)}"`, raw: text };
        if (!Number.isFinite(Number(t))) return { error: `number: "${clip(t)}" is out of the range of a double`, raw: text };
        const n = numberOf(t);
        if (n === undefined) return { error: `number: "${clip(t)}" is a whole number beyond ±(2^53−1): a double would round it`, raw: text };
        const values = emptyValues();
        values.value = n;
        return parser.keepRaw ? { values, raw: text } : { values };
      };
  }
}
