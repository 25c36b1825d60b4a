/**
 * JSON text of a command payload, or undefined when it has none. JSON.stringify throws on a
 * BigInt, a cycle or a throwing toJSON, and returns undefined for undefined, functions and
 * symbols: on a command path either would escape as an exception instead of becoming an ack.
 * Decoded client messages never hold such values (decodeClientMessage); this keeps a payload
 * from any other origin from crashing the gateway all the same.
 */
export function jsonText(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}
