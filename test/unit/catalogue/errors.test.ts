import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  ACK_ERRORS,
  CLOSE_CODES,
  LOG_CODES,
  MESSAGE_ERRORS,
  type AckErrorCode,
  type ClientErrorCode,
  type CommandErrorCode,
} from '../../../src/errors.js';
import { CloseCode } from '../../../src/ws/constants.js';
import { WS_ERRORS } from '../../../src/ws/errors.js';

const src = fileURLToPath(new URL('../../../src/', import.meta.url));
const files = readdirSync(src, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.ts'))
  .map((f) => ({ file: f, text: readFileSync(path.join(src, f), 'utf8') }));
const outsideCatalogue = files.filter((f) => f.file !== 'errors.ts' && f.file !== path.join('ws', 'errors.ts'));

describe('the error catalogue (src/errors.ts)', () => {
  it('names every SG_ERR_ code used in src/, and every code it names is used', () => {
    const used = new Set(outsideCatalogue.flatMap((f) => [...f.text.matchAll(/\bSG_ERR_[A-Z0-9_]+/g)].map((m) => m[0])));
    const known = new Set([...Object.keys(LOG_CODES), ...Object.keys(WS_ERRORS)]);
    expect([...used].filter((c) => !known.has(c)).sort()).toEqual([]);
    expect([...known].filter((c) => !used.has(c)).sort()).toEqual([]);
  });

  it('explains every close code the gateway closes with', () => {
    const byName = CloseCode as Record<string, number>;
    const sent = new Set<number>();
    for (const { text } of outsideCatalogue) {
      for (const m of text.matchAll(/\.(?:close|fail|abort)\(\s*(?:(\d{4})|CloseCode\.(\w+))/g)) sent.add(m[1] ? Number(m[1]) : byName[m[2]!]!);
    }
    expect(sent.size).toBeGreaterThan(3);
    const explained = new Set(CLOSE_CODES.flatMap((e) => e.codes));
    expect([...sent].filter((c) => !explained.has(c))).toEqual([]);
  });

  it('derives the unions: one set of command codes for every origin, the ack and message codes are the catalogue keys', () => {
    const source: CommandErrorCode = 'device_unavailable';
    const ack: AckErrorCode = source;
    const msg: ClientErrorCode = 'too_deep';
    expect(Object.hasOwn(ACK_ERRORS, ack) && Object.hasOwn(MESSAGE_ERRORS, msg)).toBe(true);
    // the router's refusals travel as CommandErrors too (a federated command's result)
    const routed: CommandErrorCode = 'forbidden';
    expect(Object.hasOwn(ACK_ERRORS, routed)).toBe(true);
    // @ts-expect-error a client message code is not an ack code
    const notAck: AckErrorCode = 'too_deep';
    expect(notAck).toBe('too_deep');
  });

  it('has no union of code literals left outside the catalogue', () => {
    const unions = outsideCatalogue.filter((f) => /export type \w*(Error)?Code\w* =\s*\n?\s*\|?\s*'[a-z_]+'\s*\|/.test(f.text)).map((f) => f.file);
    expect(unions).toEqual([]);
  });
});
