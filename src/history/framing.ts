/**
 * Record framing of the segment files: [u32 length][u32 CRC-32 of the payload][payload], big
 * endian, payload UTF-8 JSON. A power cut tears at most the tail of the last append; the length
 * and the CRC find it, and everything before it is intact because files are only ever appended.
 */
import { crc32 } from './crc32.js';
import { MAX_RECORD_BYTES } from '../bounds.js';

const HEADER = 8;

export function frame(record: unknown): Buffer {
  const payload = Buffer.from(JSON.stringify(record), 'utf8');
  const out = Buffer.allocUnsafe(HEADER + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.writeUInt32BE(crc32(payload), 4);
  payload.copy(out, HEADER);
  return out;
}

export interface Unframed {
  records: unknown[];
  /** bytes from the start that hold whole, valid records: the file is cut back to this */
  validBytes: number;
  /** bytes after validBytes that were dropped (a torn tail, or damage and all that followed it) */
  droppedBytes: number;
}

/**
 * Reads records up to the first one that is short, oversized, fails its CRC or is not JSON.
 * Nothing after a bad record is trusted: a length field that was hit cannot say where the next
 * record starts, and guessing could resurrect garbage as data.
 */
export function unframe(buf: Buffer, maxRecordBytes: number = MAX_RECORD_BYTES): Unframed {
  const records: unknown[] = [];
  let at = 0;
  while (at + HEADER <= buf.length) {
    const len = buf.readUInt32BE(at);
    if (len > maxRecordBytes || at + HEADER + len > buf.length) break;
    const payload = buf.subarray(at + HEADER, at + HEADER + len);
    if (crc32(payload) !== buf.readUInt32BE(at + 4)) break;
    let record: unknown;
    try {
      record = JSON.parse(payload.toString('utf8'));
    } catch {
      break;
    }
    records.push(record);
    at += HEADER + len;
  }
  return { records, validBytes: at, droppedBytes: buf.length - at };
}
