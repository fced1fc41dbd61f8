/** `xendoctor scan`: analyse files, folders, globs, .gz, rotated sets, stdin or this host's logs. */
import type { Command } from 'commander';
import { ExitCode } from '../errors.js';
import { scanInputs } from '../pipeline/scan-inputs.js';
import { addCommonOptions, applyMinSeverity, commonSettings, exitCodeFor, scanWindow } from './options.js';
import { analysisPrelude } from './prelude.js';
import { render } from '../render/dispatch.js';
import { nagiosUnknown } from '../render/nagios.js';
import type { Io } from '../io.js';

export async function runScan(paths: string[], opts: Record<string, unknown>, io: Io): Promise<number> {
  const s = commonSettings(opts);
  const { rules, baseline, inputs, problems, progress, finish } = analysisPrelude(paths, s, opts, io);
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
  if (!finish(report)) {
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
