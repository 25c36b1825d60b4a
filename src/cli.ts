#!/usr/bin/env -S node --
// `--`: Node reads an `--env-file` anywhere on its command line as its own (nodejs/node, 20 and 24),
// and a missing one exits 9 before serialgate could say which file; after `--` it is ours alone.
/**
 * `serialgate` — the command line: run the daemon, the demo (npm start), check a config, list
 * serial ports, diagnose a Pi. Errors go to stderr; exit codes are listed in --help.
 */
// first: `run` and `demo` replace this process before the other modules are evaluated
import './cli/relaunch.js';
// second: from here a Ctrl-C during the start is a clean stop once the gateway runs
import './cli/early-signals.js';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { Document, visit } from 'yaml';
import { formatChecks, doctorRootsFromEnv, runDoctor } from './cli/doctor.js';
import { EXIT, exitOnCrash, superviseGateway } from './cli/lifecycle.js';
import { formatPorts, listPorts, rootsFromEnv } from './cli/ports.js';
import { envWithFile } from './config/env-file.js';
import { ConfigError, loadConfig } from './config/load.js';
import type { Config } from './config/schema.js';
import { configSecrets, maskSecrets } from './config/secrets.js';
import { createLogger } from './log.js';
import { createNotifier } from './cli/sd-notify.js';
import { STOP_DEADLINE_MS } from './bounds.js';
import { version } from './version.js';
import { hasUnprintable, printable } from './text.js';

const DEFAULT_CONFIGS = ['/etc/serialgate/config.yaml', './serialgate.yaml'];

const HELP = `serialgate — serial and MQTT sensors to live browser dashboards over WebSocket

Usage:
  serialgate run [--config FILE] [--env-file F]
                                      run the gateway (default config: ${DEFAULT_CONFIGS.join(', else ')})
  serialgate demo [--port N] [--link PATH] [--state-dir DIR] [--verbose]
                                      firmware mock + gateway + dashboard on http://localhost:8080/;
                                      history in DIR (default $XDG_STATE_HOME/serialgate/demo,
                                      else ~/.local/state/serialgate/demo)
  serialgate check-config FILE [--env-file F]
                                      validate FILE; print the effective config (secrets masked);
                                      \${NAME} from F (default for the installed config: /etc/serialgate/env)
  serialgate ports [--json]           list serial ports with /dev/serial/by-id and by-path names
  serialgate doctor [--config FILE] [--user NAME] [--env-file F]
                                      check dialout, UART getty, /dev/serial0, configured ports
  serialgate --version | --help

Examples:
  npm start                                         # the demo: no hardware, no broker needed
  serialgate check-config /etc/serialgate/config.yaml
  serialgate ports                                  # which by-id path to put in the config
  sudo serialgate doctor --config /etc/serialgate/config.yaml
  sudo systemctl reload serialgate                  # SIGHUP: re-read the config, keep dashboards

Signals (run):  SIGTERM/SIGINT stop gracefully (dashboards get 1001); SIGHUP reloads the config.
Exit codes:     0 ok · 1 failure (invalid config in check-config, problems found by doctor,
                start-up or shutdown failure) · 2 usage error · 78 configuration error at run
                (systemd does not restart on 78: RestartPreventExitStatus=78)
Environment:    NOTIFY_SOCKET/WATCHDOG_USEC (set by systemd), SERIALGATE_SYSFS_ROOT,
                SERIALGATE_DEV_ROOT, SERIALGATE_ETC_ROOT, SERIALGATE_PROC_ROOT, SERIALGATE_BOOT_ROOT
                (inspect another root tree with ports/doctor)
`;

class UsageError extends Error {}

function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T, positionals = 0) {
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: positionals > 0, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (parsed.positionals.length > positionals) throw new UsageError(`unexpected argument "${parsed.positionals[positionals]}"`);
  return parsed;
}

function printConfigError(err: unknown): boolean {
  if (!(err instanceof ConfigError)) return false;
  process.stderr.write(err.message + '\n');
  return true;
}

async function cmdRun(args: string[]): Promise<number> {
  const { values } = parse(args, { config: { type: 'string', short: 'c' }, 'env-file': { type: 'string' } });
  const file = values.config ?? DEFAULT_CONFIGS.find((f) => existsSync(f));
  if (!file) {
    process.stderr.write(
      `serialgate: no config file: none of ${DEFAULT_CONFIGS.join(', ')} exists.\nPass --config FILE (systemd/config.example.yaml is an annotated start).\n`,
    );
    return EXIT.config;
  }
  let config: Config;
  try {
    config = await loadConfig(file, envFor(file, values['env-file']));
  } catch (err) {
    if (printConfigError(err)) return EXIT.config;
    throw err;
  }
  let secrets = configSecrets(config);
  const logger = createLogger(config.log.level, { secrets: () => secrets });
  exitOnCrash(logger);
  const notifier = createNotifier({ logger });
  logger.info({ version: version(), config: file, devices: config.devices.map((d) => d.id), pid: process.pid }, 'starting');
  const { startGateway } = await import('./gateway.js');
  let gateway;
  try {
    gateway = await startGateway(config, logger);
  } catch (err) {
    logger.fatal({ err }, `could not start: ${startHint(err, config.server.port, '--config with another server.port')}`);
    return EXIT.failure;
  }
  const stopping = superviseGateway({
    gateway,
    logger,
    notifier,
    // a reload re-reads the env file too: a rotated token applies without a restart
    loadConfig: () => loadConfig(file, envFor(file, values['env-file'])),
    onReloaded: (next) => (secrets = configSecrets(next)),
    stopDeadlineMs: STOP_DEADLINE_MS,
  });
  // a SIGTERM during the start: systemd must not hear READY=1 after STOPPING=1
  if (stopping) return -1;
  logger.info({ url: gateway.url, ws: gateway.url.replace(/^http/, 'ws') + config.server.path }, 'ready');
  await notifier.ready(`listening on ${gateway.url}`);
  return -1;
}

async function cmdDemo(args: string[]): Promise<number> {
  const { values } = parse(args, {
    port: { type: 'string', short: 'p', default: '8080' },
    link: { type: 'string', default: '/tmp/serialgate-mock0' },
    'state-dir': { type: 'string' },
    verbose: { type: 'boolean', short: 'v', default: false },
  });
  // digits only: Number('') is 0, a random port nobody asked for
  const port = /^\d{1,5}$/.test(values.port) ? Number(values.port) : NaN;
  if (!(port >= 0 && port <= 65535)) throw new UsageError(`--port: expected 0-65535, got "${values.port}"`);
  const { demoStateDir, startDemo } = await import('./cli/demo.js');
  const stateDir = values['state-dir'] ?? demoStateDir();
  const logger = createLogger(values.verbose ? 'info' : 'warn');
  exitOnCrash(logger);
  let demo;
  try {
    demo = await startDemo({ port, link: values.link, stateDir, logger });
  } catch (err) {
    process.stderr.write(`serialgate demo: could not start: ${startHint(err, port, 'npm start -- --port 8081')}\n`);
    return EXIT.failure;
  }
  const stopping = superviseGateway({
    gateway: demo.gateway,
    logger,
    notifier: createNotifier({ logger }),
    afterStop: demo.stopMock,
    stopDeadlineMs: STOP_DEADLINE_MS,
  });
  // a Ctrl-C during the start: it is stopping, no dashboard to offer
  if (stopping) return -1;
  const url = new URL(demo.gateway.url);
  // where the history really goes: a folder that could not be made leaves it in memory (logged above)
  const where = demo.gateway.historyDir ?? `memory only (${stateDir} is not usable)`;
  process.stdout.write(`dashboard: http://localhost:${url.port}/   (mock device on ${values.link}, history in ${where}; Ctrl-C stops)\n`);
  return -1;
}

/**
 * The config as YAML for a terminal. yaml escapes C0 controls only inside double quotes and
 * leaves C1 controls and bidi overrides as they are (a path's U+009B is a CSI to some
 * terminals): a string holding one is double-quoted, where every such character is then written
 * as its `\u` escape, which YAML reads back as the same string.
 */
function yamlText(value: unknown): string {
  const doc = new Document(value);
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === 'string' && hasUnprintable(node.value)) node.type = 'QUOTE_DOUBLE';
    },
  });
  return doc.toString().split('\n').map(printable).join('\n');
}

const DEFAULT_ENV_FILE = '/etc/serialgate/env';

/** --env-file, else /etc/serialgate/env when checking the installed config (what the unit reads) */
function envFor(configFile: string | undefined, envFile: string | undefined): NodeJS.ProcessEnv {
  if (envFile) return envWithFile(envFile);
  if (configFile === DEFAULT_CONFIGS[0] && existsSync(DEFAULT_ENV_FILE)) return envWithFile(DEFAULT_ENV_FILE);
  return process.env;
}

async function cmdCheckConfig(args: string[]): Promise<number> {
  const { positionals, values } = parse(args, { 'env-file': { type: 'string' } }, 1);
  const file = positionals[0];
  if (!file) throw new UsageError('check-config needs a FILE');
  try {
    const config = await loadConfig(file, envFor(file, values['env-file']));
    process.stdout.write(
      `# ${printable(file)}: valid. Effective configuration, defaults filled in, secrets masked:\n` + yamlText(maskSecrets(config)),
    );
    return EXIT.ok;
  } catch (err) {
    if (printConfigError(err)) return EXIT.failure;
    throw err;
  }
}

async function cmdPorts(args: string[]): Promise<number> {
  const { values } = parse(args, { json: { type: 'boolean', default: false } });
  const ports = await listPorts(rootsFromEnv());
  process.stdout.write(values.json ? JSON.stringify(ports, null, 2) + '\n' : formatPorts(ports));
  return EXIT.ok;
}

async function cmdDoctor(args: string[]): Promise<number> {
  const { values } = parse(args, { config: { type: 'string', short: 'c' }, user: { type: 'string' }, 'env-file': { type: 'string' } });
  const roots = doctorRootsFromEnv();
  let config: Config | undefined;
  const file = values.config ?? DEFAULT_CONFIGS.find((f) => existsSync(f));
  if (file) {
    try {
      config = await loadConfig(file, envFor(file, values['env-file']));
    } catch (err) {
      if (!printConfigError(err)) throw err;
      return EXIT.failure;
    }
  }
  // the service user when installed, else whoever runs doctor
  const passwd = readFileSafe(`${roots.etc}/passwd`);
  const user = values.user ?? (/^serialgate:/m.test(passwd) ? 'serialgate' : os.userInfo().username);
  const checks = await runDoctor({ roots, user, config });
  process.stdout.write(formatChecks(checks));
  return checks.some((c) => c.verdict === 'fail') ? EXIT.failure : EXIT.ok;
}

/** The usual start-up failures in one line with what to do. */
function startHint(err: unknown, port: number, otherPort: string): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'EADDRINUSE') return `port ${port} is already in use (another serialgate?); try ${otherPort}`;
  // EACCES of listen() only: a file refused elsewhere in the start is not a port problem
  if (e.code === 'EACCES' && e.syscall === 'listen')
    return `not allowed to listen on port ${port} (ports below 1024 need privileges: use 8080 and a reverse proxy)`;
  return e.message ?? String(err);
}

function readFileSafe(p: string): string {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}

const COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  run: cmdRun,
  demo: cmdDemo,
  'check-config': cmdCheckConfig,
  ports: cmdPorts,
  doctor: cmdDoctor,
};

/** Returns the exit code, or -1 for a command that keeps running (run, demo). */
export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(HELP);
    return cmd === undefined ? EXIT.usage : EXIT.ok;
  }
  if (cmd === '--version' || cmd === '-V') {
    process.stdout.write(version() + '\n');
    return EXIT.ok;
  }
  const command = Object.hasOwn(COMMANDS, cmd) ? COMMANDS[cmd] : undefined;
  try {
    if (!command) throw new UsageError(`unknown command "${cmd}"`);
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(HELP);
      return EXIT.ok;
    }
    return await command(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`serialgate: ${err.message}\nRun "serialgate --help" for usage.\n`);
      return EXIT.usage;
    }
    process.stderr.write(`serialgate: ${(err as Error).stack ?? String(err)}\n`);
    return EXIT.failure;
  }
}

// no top-level await: the bundle is CommonJS (README "Footprint")
void main(process.argv.slice(2)).then((code) => {
  // exit now: a failed start may leave a handle (a serial port being closed) that would keep us alive;
  // stdout and stderr are synchronous for files, pipes and terminals on Linux, so nothing is lost
  if (code >= 0) process.exit(code);
});
