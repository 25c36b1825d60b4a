/**
 * MQTT topic filters (MQTT 3.1.1 §4.7 / 5.0 §4.7), matched by a linear walk over both strings:
 * no regex, no split arrays, one pass. The broker already filters what it sends us; we match again
 * because one client subscription set feeds many devices and each message must find its device(s).
 */
import { MAX_TOPIC_BYTES } from '../../bounds.js';

export class TopicError extends Error {
  readonly code = 'SG_ERR_MQTT_TOPIC';
  constructor(
    readonly topic: string,
    message: string,
  ) {
    super(`${message}: "${topic}"`);
    this.name = 'TopicError';
  }
}

/** Why `filter` is not a valid subscription filter, or undefined when it is. */
export function filterProblem(filter: string): string | undefined {
  if (filter.length === 0) return 'a topic filter must not be empty';
  if (Buffer.byteLength(filter) > MAX_TOPIC_BYTES) return 'a topic filter is at most 65535 bytes';
  for (let i = 0; i < filter.length; i++) {
    const c = filter.charCodeAt(i);
    if (c === 0) return 'a topic filter must not contain U+0000';
    if (c !== 0x23 /* # */ && c !== 0x2b /* + */) continue;
    const alone = (i === 0 || filter.charCodeAt(i - 1) === 0x2f) && (i + 1 === filter.length || filter.charCodeAt(i + 1) === 0x2f);
    if (!alone) return `"${filter[i]}" must occupy a whole topic level`;
    if (c === 0x23 && i + 1 !== filter.length) return '"#" must be the last topic level';
  }
  return undefined;
}

/** Why `topic` is not a valid topic name to publish to, or undefined when it is. */
export function topicNameProblem(topic: string): string | undefined {
  if (topic.length === 0) return 'a topic must not be empty';
  if (Buffer.byteLength(topic) > MAX_TOPIC_BYTES) return 'a topic is at most 65535 bytes';
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i);
    if (c === 0) return 'a topic must not contain U+0000';
    if (c === 0x23 || c === 0x2b) return 'a topic to publish to must not contain the wildcards + or #';
  }
  return undefined;
}

export function assertFilter(filter: string): void {
  const problem = filterProblem(filter);
  if (problem) throw new TopicError(filter, problem);
}

export function assertTopicName(topic: string): void {
  const problem = topicNameProblem(topic);
  if (problem) throw new TopicError(topic, problem);
}

/**
 * Does the (valid) `filter` match the topic name `topic`?
 * `+` matches exactly one level (possibly empty), a trailing `#` matches the parent level and any
 * number of levels below it, and wildcards in the first level never match topics starting with `$`.
 */
export function matchTopic(filter: string, topic: string): boolean {
  const fc0 = filter.charCodeAt(0);
  if (topic.charCodeAt(0) === 0x24 /* $ */ && (fc0 === 0x2b || fc0 === 0x23)) return false;
  let f = 0;
  let t = 0;
  for (;;) {
    // at the start of a level in both strings
    const fc = filter.charCodeAt(f);
    if (fc === 0x23) return true; // "#": this level and everything below, including nothing
    if (fc === 0x2b) {
      // "+": skip one topic level
      while (t < topic.length && topic.charCodeAt(t) !== 0x2f) t++;
      f++;
    } else {
      // literal level: compare up to the next "/" of the filter
      while (f < filter.length && filter.charCodeAt(f) !== 0x2f) {
        if (t >= topic.length || topic.charCodeAt(t) !== filter.charCodeAt(f)) return false;
        f++;
        t++;
      }
      if (t < topic.length && topic.charCodeAt(t) !== 0x2f) return false;
    }
    // both at a "/" or at the end
    const fEnd = f >= filter.length;
    const tEnd = t >= topic.length;
    if (fEnd && tEnd) return true;
    if (tEnd) {
      // the topic ended: only a trailing "/#" still matches (the parent level)
      return filter.length - f === 2 && filter.charCodeAt(f + 1) === 0x23;
    }
    if (fEnd) return false;
    f++;
    t++;
  }
}

/** Level `index` (0-based) of a topic name, or undefined when the topic has fewer levels. */
export function topicLevel(topic: string, index: number): string | undefined {
  let start = 0;
  for (let level = 0; level < index; level++) {
    const slash = topic.indexOf('/', start);
    if (slash < 0) return undefined;
    start = slash + 1;
  }
  const end = topic.indexOf('/', start);
  return topic.slice(start, end < 0 ? topic.length : end);
}
