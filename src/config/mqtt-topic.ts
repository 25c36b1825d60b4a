/**
 * What makes an MQTT topic filter or topic name valid (MQTT 3.1.1 §4.7 / 5.0 §4.7). The config
 * checks every topic it is given with these, and the MQTT source asserts with the same rules, so
 * they live below both: the config never imports a source.
 */

import { MAX_TOPIC_BYTES } from '../bounds.js';

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
