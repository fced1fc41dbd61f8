/** `xendoctor scan`: analyse files, folders, globs, .gz, rotated sets, stdin or this host's logs. */
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { ExitCode } from '../errors.js';
import { defaultInputs, resolveInputs, stdinInput, stdinIsPiped, type Input, type ResolveProblem } from '../sources/inputs.js';
import { nothingRead, scanInputs } from '../pipeline/scan-inputs.js';
import {
  addCommonOptions,
  applyMinSeverity,
  commonSettings,
  exitCodeFor,
  selectRules,
  type CommonSettings,
  scanWindow,
} from './options.js';
import { progressBar } from './progress.js';
import { baselineOption } from './baseline.js';
import { render } from '../render/dispatch.js';
import { safeText } from '../render/sanitize.js';
import { inputsText } from '../render/text.js';
import { nagiosUnknown } from '../render/nagios.js';
import type { ScanReport } from '../types.js';
import type { Io } from './io.js';

/** Inputs for the analysing commands: operands, stdin when piped, or this host's logs. */
export function gatherInputs(paths: string[], s: CommonSettings, io: Io): { inputs: Input[]; problems: ResolveProblem[] } {
  if (paths.length > 0) return resolveInputs(paths, s.now);
  if (stdinIsPiped()) return { inputs: [stdinInput(s.now)], problems: [] };
  const found = defaultInputs(s.now, hostname());
  if (!s.quiet) {
    io.err(
      found.inputs.length
        ? `xendoctor: nothing piped and no file named; reading this host's logs: ${found.inputs.map((i) => i.name).join(', ')}\n`
        : "xendoctor: nothing piped, no file named, and none of this host's usual logs (/var/log/kern.log, syslog, messages, xen/*.log, xl dmesg) is here\n",
    );
  }
  return found;
}

/** Print per-input problems on stderr. */
export function reportInputErrors(report: ScanReport, io: Io): void {
  for (const i of report.inputs) {
    for (const e of i.errors)
      if (e !== 'empty input' || report.inputs.length === 1) io.err(`xendoctor: ${safeText(i.source)}: ${safeText(e)}\n`);
  }
}

export async function runScan(paths: string[], opts: Record<string, unknown>, io: Io): Promise<number> {
  const s = commonSettings(opts);
  const rules = selectRules(s);
  const baseline = baselineOption(opts);
  const { inputs, problems } = gatherInputs(paths, s, io);
  const total = inputs.reduce((n, i) => n + (i.size ?? 0), 0);
  const progress = progressBar(process.stderr, total || null, !s.quiet);
  const report = await scanInputs(inputs, problems, rules, {
    ...scanWindow(s),
    dateUptimes: true,
    unrecognized: opts.unrecognized !== false || baseline !== null,
    baseline,
    onProgress: (b) => progress.update(b),
    onUndated: (n) =>
      io.err(
        `xendoctor: --since/--until: ${n} line${n === 1 ? '' : 's'} that could match a rule carr${n === 1 ? 'ies' : 'y'} no time and ${n === 1 ? 'was' : 'were'} kept ` +
          '(undated dmesg or console output: dmesg -T, the syslog or the journal give times)\n',
      ),
  });
  progress.done();
  if (s.verbose) io.err(inputsText(report).join('\n') + '\n');
  reportInputErrors(report, io);
  if (nothingRead(report)) {
    io.err('xendoctor: no input could be read\n');
    if (s.format === 'nagios') io.out(nagiosUnknown('no input could be read'));
    return ExitCode.Unusable;
  }
  if (opts.unrecognized === false) report.unrecognized = [];
  const shown = applyMinSeverity(report, s.minSeverity);
  io.out(render(shown, s));
  return exitCodeFor(shown.findings, s.failOn);
}

/** Register `scan` (the default command). */
export function registerScan(program: Command, io: Io, setCode: (c: number) => void): void {
  addCommonOptions(
    program
      .command('scan', { isDefault: true })
      .description('analyse files, folders, globs, .gz and rotated sets; stdin for - or when piped')
      .argument('[paths...]', 'files, folders or globs; - for stdin')
      .option('--no-unrecognized', 'leave out the section of unrecognised messages that look like trouble')
      .option('--verbose', 'list the inputs read, with their lines, bytes and time span (on stderr)')
      .option(
        '--baseline <file>',
        'flag unrecognised messages never seen in this baseline, or far more frequent than in it (made by `xendoctor baseline learn`)',
      ),
  ).action(async (paths: string[], opts: Record<string, unknown>) => setCode(await runScan(paths, opts, io)));
}
