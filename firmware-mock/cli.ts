/**
 * `npm run mock -- --link /tmp/serialgate-mock0 --format kv --interval 1000`
 *
 * Runs the mock sensor on a real PTY until Ctrl-C. Type fault commands on stdin:
 *   unplug | replug | garbage [bytes] | invalid | partial | endless <bytes> | burst <lines>
 *   silent on|off | send <text> | status | help | quit
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { startMock, type MockDevice, type MockFormat } from './index.js';

const HELP = `serialgate firmware mock: a sensor on a real pseudo-terminal

usage: node dist/firmware-mock/cli.js [--link PATH] [--format kv|json|csv] [--interval MS]
                                      [--reply-delay MS] [--banner TEXT] [--boot-delay MS]
  --link         stable path to the PTY (default /tmp/serialgate-mock0)
  --format       sensor line format (default kv; csv columns: temp,hum,count)
  --interval     ms between sensor lines, 0 = none (default 1000)
  --reply-delay  ms before answering a command (default 0)
  --banner       line printed at boot and after every replug
  --boot-delay   ms from (re)plug to the banner and first line, like a bootloader (default 0)

stdin commands (fault injection):
  unplug | replug          the link disappears and the PTY closes / a new PTY at the same link
  garbage [BYTES]          a line of random non-UTF-8 bytes
  invalid                  a kv line with an invalid UTF-8 byte in it
  partial                  half a line now, the rest 500 ms later
  endless BYTES            BYTES bytes without a newline (at line rate), then a newline
  burst LINES              LINES sensor lines back to back at 115200-baud line rate
  silent on|off            stop/resume sensor lines and replies
  send TEXT                TEXT plus a newline, verbatim
  status | help | quit
`;

const FORMATS: readonly MockFormat[] = ['json', 'kv', 'csv'];

function intArg(name: string, v: string | undefined, def: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got "${v}"`);
  return n;
}

async function handle(dev: MockDevice, input: string): Promise<string | undefined> {
  const [cmd = '', ...rest] = input.trim().split(/\s+/);
  const arg = rest.join(' ');
  switch (cmd) {
    case '':
      return undefined;
    case 'unplug':
      await dev.unplug();
      return 'unplugged';
    case 'replug':
      await dev.replug();
      return `replugged at ${dev.ptsPath}`;
    case 'garbage':
      await dev.garbage(intArg('garbage', rest[0], 64));
      return 'sent garbage';
    case 'invalid':
      await dev.write(Buffer.concat([Buffer.from('temp=21.5 name='), Buffer.from([0xc3, 0x28]), Buffer.from('\n')]));
      return 'sent a line with invalid UTF-8';
    case 'partial':
      await dev.write('temp=2');
      setTimeout(() => void dev.write('1.5 hum=40\n').catch(() => {}), 500);
      return 'sent half a line';
    case 'endless':
      await dev.endless(intArg('endless', rest[0], 65536));
      return 'sent an endless line';
    case 'burst':
      await dev.burst(intArg('burst', rest[0], 100));
      return 'burst done';
    case 'silent':
      if (arg !== 'on' && arg !== 'off') return 'usage: silent on|off';
      dev.setSilent(arg === 'on');
      return `silent ${arg}`;
    case 'send':
      await dev.write(`${arg}\n`);
      return 'sent';
    case 'status':
      return `link ${dev.link} -> ${dev.ptsPath || '(unplugged)'}; ${dev.commands.length} commands received`;
    case 'help':
      return HELP;
    case 'quit':
      await dev.stop();
      process.exit(0);
  }
  return `unknown command "${cmd}" (try help)`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      link: { type: 'string', default: '/tmp/serialgate-mock0' },
      format: { type: 'string', default: 'kv' },
      interval: { type: 'string' },
      'reply-delay': { type: 'string' },
      banner: { type: 'string' },
      'boot-delay': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const format = values.format as MockFormat;
  if (!FORMATS.includes(format)) throw new Error(`--format must be one of ${FORMATS.join(', ')}, got "${values.format}"`);
  const dev = await startMock({
    link: values.link!,
    format,
    intervalMs: intArg('interval', values.interval, 1000),
    replyDelayMs: intArg('reply-delay', values['reply-delay'], 0),
    bootDelayMs: intArg('boot-delay', values['boot-delay'], 0),
    ...(values.banner !== undefined && { banner: values.banner }),
  });
  console.error(`mock sensor on ${dev.link} -> ${dev.ptsPath} (${format}); type "help" for fault commands`);
  const shutdown = () => void dev.stop().then(() => process.exit(0));
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    handle(dev, line).then(
      (msg) => msg && console.error(msg),
      (err: Error) => console.error(`error: ${err.message}`),
    );
  });
  // stdin closed (e.g. run from a script with </dev/null): keep running until a signal
}

main().catch((err: Error) => {
  console.error(`serialgate mock: ${err.message}`);
  process.exit(2);
});
