/** Command-line entry: wires the commands to the pipeline and maps failures to exit codes. Nothing else. */
import { existsSync } from 'node:fs';
import { Command, CommanderError, type Option } from 'commander';
import { CliError, ExitCode } from '../errors.js';
import { toolVersion } from '../pipeline/scan-inputs.js';
import { nagiosUnknown } from '../render/nagios.js';
import { defaultIo, type Io } from './io.js';
import { registerScan } from './scan.js';
import { registerRules } from './rules.js';
import { registerTimeline } from './timeline.js';
import { registerWatch } from './watch.js';
import { registerCheck } from './check.js';
import { registerReport } from './report.js';
import { registerAck } from './ack.js';
import { registerExplain } from './explain.js';
import { registerBaseline } from './baseline.js';
import { registerCompletion } from './completion.js';

/** Each command registers itself here (one module per command under src/cli/). */
const COMMANDS = [
  registerScan,
  registerRules,
  registerTimeline,
  registerWatch,
  registerCheck,
  registerReport,
  registerAck,
  registerExplain,
  registerBaseline,
  registerCompletion,
];

/** Build the command tree; exposed for tests. */
export function buildProgram(io: Io, setCode: (c: number) => void): Command {
  const program = new Command('xendoctor')
    .description('Diagnose a Xen host from its logs: known failure signatures, root causes and the documented fix.')
    .version(toolVersion(), '-V, --version')
    .showHelpAfterError('(run xendoctor --help for usage)')
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride();
  program.addHelpText(
    'after',
    `
Examples:
  xl dmesg | xendoctor                       the hypervisor console
  zcat /var/log/kern.log.*.gz | xendoctor    rotated, compressed kernel logs
  xendoctor /var/log/kern.log* /var/log/xen  files, rotated sets and folders
  xendoctor --format json --since 24h        this host's logs, last day, as JSON
  xendoctor rules list                       the catalogue

Exit codes: 0 nothing at or above --fail-on (warning), 1 warning, 2 error or critical, 3 could not do the job.`,
  );

  for (const register of COMMANDS) register(program, io, setCode);
  return program;
}

/**
 * Options may stand before the command (`xendoctor --quiet rules list`): the command word is moved
 * to the front, so its options apply to it. A first operand that is neither a command nor an
 * existing path, and does not look like one, is an unknown command (not a missing log file).
 */
export function commandFirst(program: Command, args: string[]): string[] {
  const names = new Map<string, Command>();
  for (const c of program.commands) for (const n of [c.name(), ...c.aliases()]) names.set(n, c);
  const scan = program.commands.find((c) => c.name() === 'scan');
  const all: readonly Option[] = [...program.options, ...program.commands.flatMap((c) => c.options)];
  const takesValue = (tok: string) => {
    if (!tok.startsWith('-') || tok.includes('=')) return false;
    const o = all.find((x) => x.long === tok || x.short === tok);
    return o !== undefined && (o.required || o.optional) && !o.negate;
  };
  for (let i = 0; i < args.length; i++) {
    const tok = args[i]!;
    if (tok === '--') break;
    if (tok.startsWith('-') && tok !== '-') {
      if (takesValue(tok)) i++;
      continue;
    }
    const cmd = names.get(tok);
    if (cmd) {
      if (i === 0) return args;
      // its subcommand (`rules list`) comes along, so the options reach the command that has them
      const next = args[i + 1];
      const sub = next !== undefined && cmd.commands.some((c) => c.name() === next) ? [next] : [];
      return [tok, ...sub, ...args.slice(0, i), ...args.slice(i + 1 + sub.length)];
    }
    if (i > 0 || !scan) return args;
    // the first word, not a command: a log path for scan, unless it cannot be one
    if (/^[a-z][a-z-]*$/.test(tok) && !existsSync(tok)) {
      const known = [...names.keys()].filter((n) => n !== 'help');
      throw new CliError(
        `unknown command "${tok}" (and no file or folder of that name)`,
        `commands: ${known.join(', ')}; xendoctor --help`,
      );
    }
    return args;
  }
  return args;
}

/** A Nagios check that fails must still print its one UNKNOWN line on stdout. */
function wantsNagios(argv: string[]): boolean {
  return argv.some((a, i) => a === '--format=nagios' || (a === 'nagios' && argv[i - 1] === '--format'));
}

/** Run the CLI; resolves to the exit code. */
export async function main(argv: string[], io: Io = defaultIo): Promise<number> {
  let code: number = ExitCode.Ok;
  const program = buildProgram(io, (c) => (code = c));
  try {
    await program.parseAsync([...argv.slice(0, 2), ...commandFirst(program, argv.slice(2))]);
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return ExitCode.Ok;
      if (wantsNagios(argv)) io.out(nagiosUnknown(e.message.replace(/^error: /, '')));
      return ExitCode.Unusable;
    }
    if (e instanceof CliError) {
      io.err(`xendoctor: ${e.message}\n`);
      if (e.hint) io.err(`hint: ${e.hint}\n`);
      if (wantsNagios(argv)) io.out(nagiosUnknown(e.message));
      return e.code;
    }
    io.err(`xendoctor: internal error: ${(e as Error).stack ?? String(e)}\n`);
    return ExitCode.Unusable;
  }
}
