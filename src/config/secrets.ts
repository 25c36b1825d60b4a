/**
 * Which configuration values are secrets, and masking them for display (`check-config`, logs).
 * A secret is masked by its position in the config, not by guessing from its content.
 */
import type { Config } from './schema.js';

export const MASK = '********';

/** `auth.tokens[i].token`, `mqtt.password`, and `mqtt.url` (it may carry one): never echoed in an error. */
export function isSecretPath(path: readonly PropertyKey[]): boolean {
  const last = path[path.length - 1];
  return (last === 'token' && path[0] === 'auth') || ((last === 'password' || last === 'url') && path[0] === 'mqtt' && path.length === 2);
}

/** `mqtt://user:secret@host` → `mqtt://user:********@host`; other URLs unchanged. */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (!u.password) return url;
    u.password = MASK;
    return u.toString();
  } catch {
    return url;
  }
}

/** A deep copy of the config with every secret replaced by MASK. */
export function maskSecrets(config: Config): Config {
  const copy = structuredClone(config);
  for (const t of copy.auth.tokens) t.token = MASK;
  if (copy.mqtt) {
    if (copy.mqtt.password !== undefined) copy.mqtt.password = MASK;
    copy.mqtt.url = maskUrl(copy.mqtt.url);
  }
  return copy;
}

/** Every secret value of a config, for the logger to mask wherever it might appear. */
export function configSecrets(config: Config): string[] {
  const out = config.auth.tokens.map((t) => t.token);
  if (config.mqtt?.password) out.push(config.mqtt.password);
  if (config.mqtt) {
    try {
      const pw = new URL(config.mqtt.url).password;
      if (pw) out.push(decodeURIComponent(pw));
    } catch {
      // not a parseable URL: nothing to extract
    }
  }
  return out;
}
