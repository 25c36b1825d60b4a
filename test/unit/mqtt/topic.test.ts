import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { filterProblem, topicNameProblem } from '../../../src/config/mqtt-topic.js';
import { matchTopic, topicLevel } from '../../../src/sources/mqtt/topic.js';

/**
 * Reference oracle, written straight from MQTT 3.1.1 §4.7 over level lists (recursive, obviously
 * right, slow): the matcher under test walks characters instead.
 */
function oracle(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const go = (f: string[], t: string[]): boolean => {
    if (f.length === 0) return t.length === 0;
    if (f[0] === '#') return true; // "#" matches the parent level and any number of child levels
    if (t.length === 0) return false;
    if (f[0] === '+' || f[0] === t[0]) return go(f.slice(1), t.slice(1));
    return false;
  };
  return go(filter.split('/'), topic.split('/'));
}

const nameLevel = fc.constantFrom('a', 'b', 'ab', '', '$SYS', 'x y', 'é', 'A');
const topicArb = fc
  .array(nameLevel, { minLength: 1, maxLength: 6 })
  .map((l) => l.join('/'))
  .filter((t) => t.length > 0);
const filterArb = fc
  .tuple(fc.array(fc.oneof(nameLevel, fc.constant('+')), { minLength: 0, maxLength: 6 }), fc.boolean())
  .map(([levels, hash]) => (hash ? [...levels, '#'] : levels).join('/'))
  .filter((f) => f.length > 0);

describe('matchTopic', () => {
  it('agrees with the spec oracle on random filters and topics', () => {
    fc.assert(
      fc.property(filterArb, topicArb, (filter, topic) => {
        expect(filterProblem(filter)).toBeUndefined();
        expect(matchTopic(filter, topic)).toBe(oracle(filter, topic));
      }),
      { numRuns: 5000 },
    );
  });

  it('agrees with the oracle on topics derived from the filter (mostly matches)', () => {
    // random pairs rarely match; instantiate the filter's wildcards to get matching topics too
    const derived = filterArb.chain((filter) =>
      fc
        .tuple(fc.array(nameLevel, { minLength: 6, maxLength: 6 }), fc.array(nameLevel, { maxLength: 3 }))
        .map(([fill, tail]) => {
          let i = 0;
          const levels = filter.split('/').flatMap((l) => (l === '+' ? [fill[i++]!] : l === '#' ? tail : [l]));
          return [filter, levels.join('/')] as const;
        })
        .filter(([, topic]) => topic.length > 0),
    );
    fc.assert(
      fc.property(derived, ([filter, topic]) => {
        expect(matchTopic(filter, topic)).toBe(oracle(filter, topic));
      }),
      { numRuns: 5000 },
    );
  });

  it.each([
    ['sport/tennis/player1/#', 'sport/tennis/player1', true],
    ['sport/tennis/player1/#', 'sport/tennis/player1/ranking', true],
    ['sport/tennis/player1/#', 'sport/tennis/player1/score/wimbledon', true],
    ['sport/#', 'sport', true],
    ['sport/tennis/+', 'sport/tennis/player1', true],
    ['sport/tennis/+', 'sport/tennis/player1/ranking', false],
    ['sport/+', 'sport', false],
    ['sport/+', 'sport/', true],
    ['+/+', '/finance', true],
    ['/+', '/finance', true],
    ['+', '/finance', false],
    ['#', '$SYS/broker', false],
    ['+/monitor/Clients', '$SYS/monitor/Clients', false],
    ['$SYS/#', '$SYS/monitor/Clients', true],
    ['$SYS/monitor/+', '$SYS/monitor/Clients', true],
    ['sensors/+/temp', 'sensors/kitchen/temp', true],
    ['sensors/+/temp', 'sensors/kitchen/temperature', false],
    ['sensors/+/temp', 'sensors/kitchen/tem', false],
    ['a', 'ab', false],
    ['ab', 'a', false],
    ['a/b', 'a', false],
    ['a//b', 'a//b', true],
    ['a/+/b', 'a//b', true],
  ])('%s vs %s → %s', (filter, topic, expected) => {
    expect(matchTopic(filter, topic)).toBe(expected);
    expect(oracle(filter, topic)).toBe(expected);
  });
});

describe('filterProblem', () => {
  it.each(['#', '+', '/', 'a//b', '+/+/#', 'sport/+/player1', '$SYS/#', 'a/b/c'])('accepts %s', (f) => {
    expect(filterProblem(f)).toBeUndefined();
  });

  it.each([
    ['', 'a topic filter must not be empty'],
    ['a#', '"#" must occupy a whole topic level'],
    ['a/#/b', '"#" must be the last topic level'],
    ['#/', '"#" must be the last topic level'],
    ['a/+b', '"+" must occupy a whole topic level'],
    ['+a', '"+" must occupy a whole topic level'],
    ['a\u0000b', 'a topic filter must not contain U+0000'],
    ['x'.repeat(65536), 'a topic filter is at most 65535 bytes'],
  ])('rejects %j', (f, problem) => {
    expect(filterProblem(f)).toBe(problem);
  });
});

describe('topicNameProblem', () => {
  it.each([
    ['', 'a topic must not be empty'],
    ['a/+', 'a topic to publish to must not contain the wildcards + or #'],
    ['a/#', 'a topic to publish to must not contain the wildcards + or #'],
    ['a\u0000', 'a topic must not contain U+0000'],
  ])('rejects %j', (t, problem) => expect(topicNameProblem(t)).toBe(problem));
  it('accepts plain names', () => expect(topicNameProblem('sensors/greenhouse/cmd')).toBeUndefined());
});

describe('topicLevel', () => {
  it.each([
    ['sensors/kitchen/temp', 0, 'sensors'],
    ['sensors/kitchen/temp', 1, 'kitchen'],
    ['sensors/kitchen/temp', 2, 'temp'],
    ['sensors/kitchen/temp', 3, undefined],
    ['a//b', 1, ''],
    ['/x', 0, ''],
  ])('%s level %d → %s', (topic, i, expected) => expect(topicLevel(topic, i)).toBe(expected));

  it('agrees with split for any topic and index', () => {
    fc.assert(
      fc.property(topicArb, fc.nat(8), (topic, i) => {
        expect(topicLevel(topic, i)).toBe(topic.split('/')[i]);
      }),
    );
  });
});
