/** Command-line entry: wires the commands to the pipeline and maps failures to exit codes. Nothing else. */
import { existsSync } from 'node:fs';
import { Command, CommanderError, type Option } from 'commander';
import { CliError, ExitCode } from '../errors.js';
import { toolVersion } from '../report-document.js';
import { nagiosUnknown } from '../render/nagios.js';
import { defaultIo, type Io } from '../io.js';
type Register = (program: Command, io: Io, setCode: (c: number) => void) => void;

/**
 * Each command's module (one per command under src/cli/) and the command words it registers, in
 * the order of --help. A run loads only the module of its command when the arguments name it (see
 * commandNeeded): the others would add some 40 modules and lunr to the start-up of every run.
 */
const COMMANDS: { names: string[]; load: () => Promise<Register> }[] = [
  { names: ['scan'], load: async () => (await import('./scan.js')).registerScan },
  { names: ['rules'], load: async () => (await import('./rules.js')).registerRules },
  { names: ['timeline'], load: async () => (await import('./timeline.js')).registerTimeline },
  { names: ['watch'], load: async () => (await import('./watch.js')).registerWatch },
  { names: ['check'], load: async () => (await import('./check.js')).registerCheck },
  { names: ['report'], load: async () => (await import('./report.js')).registerReport },
  { names: ['ack'], load: async () => (await import('./ack.js')).registerAck },
  { names: ['explain'], load: async () => (await import('./explain.js')).registerExplain },
  { names: ['baseline'], load: async () => (await import('./baseline.js')).registerBaseline },
  { names: ['completion', '__complete'], load: async () => (await import('./completion.js')).registerCompletion },
];
const COMMAND_NAMES = COMMANDS.flatMap((c) => c.names);

/**
 * The one command a run needs, when the arguments tell it without the other commands' definitions:
 * the command word first, or no command word at all (scan, the default). Null when every command
 * is needed: help, the version, completion, options before the command word (commandFirst reads
 * them with every command's options).
 */
export function commandNeeded(args: string[]): (typeof COMMANDS)[number] | null {
  const end = args.indexOf('--');
  const words = end < 0 ? args : args.slice(0, end);
  if (words.some((w) => w === '-h' || w === '--help' || w === '-V' || w === '--version')) return null;
  const at = words.findIndex((w) => COMMAND_NAMES.includes(w));
  if (at > 0) return null;
  const name = at === 0 ? words[0]! : 'scan';
  // completion answers from every command's definitions
  if (name === 'completion' || name === '__complete') return null;
  return COMMANDS.find((c) => c.names.includes(name))!;
}

/** Does the program know every option the arguments give (before `--`)? */
function knowsOptions(program: Command, args: string[]): boolean {
  const end = args.indexOf('--');
  const words = end < 0 ? args : args.slice(0, end);
  const all: readonly Option[] = [
    ...program.options,
    ...program.commands.flatMap((c) => [...c.options, ...c.commands.flatMap((s) => s.options)]),
  ];
  return words.every((w) => !w.startsWith('-') || w === '-' || all.some((o) => o.long === w.split('=')[0] || o.short === w));
}

/** Build the command tree (of the given commands; all by default); exposed for tests and the build. */
export async function buildProgram(io: Io, setCode: (c: number) => void, only: (typeof COMMANDS)[number][] = COMMANDS): Promise<Command> {
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

  const registers = await Promise.all(only.map((c) => c.load()));
  for (const register of registers) register(program, io, setCode);
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
      const known = COMMAND_NAMES.filter((n) => n !== 'help');
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
  const setCode = (c: number) => (code = c);
  const args = argv.slice(2);
  const one = commandNeeded(args);
  let program = await buildProgram(io, setCode, one ? [one] : COMMANDS);
  // an option of another command: every command, for commander's own account of it
  if (one && !knowsOptions(program, args)) program = await buildProgram(io, setCode);
  try {
    await program.parseAsync([...argv.slice(0, 2), ...commandFirst(program, args)]);
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
