/**
 * `NAME=value` lines as systemd's EnvironmentFile= reads them (/etc/serialgate/env), so that
 * check-config and doctor see the same ${NAME} values as the service.
 */
import { ConfigError, readConfigText } from './load.js';

export function parseEnvFile(text: string, source: string): Map<string, string> {
  const out = new Map<string, string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) return;
    const eq = line.indexOf('=');
    const name = eq > 0 ? line.slice(0, eq).trim() : '';
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new ConfigError(source, [{ path: '', message: 'expected NAME=value', line: i + 1 }]);
    }
    let value = line.slice(eq + 1).trim();
    // systemd strips one pair of matching quotes
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.at(-1) === value[0]) value = value.slice(1, -1);
    out.set(name, value);
  });
  return out;
}

/** process.env with the file's variables on top (the file wins, as in the unit). */
export function envWithFile(file: string, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...base, ...Object.fromEntries(parseEnvFile(readConfigText(file), file)) };
}
