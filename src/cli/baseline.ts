/**
 * `xendoctor baseline learn PATH... --state FILE`: record the unrecognised-message templates of a
 * healthy period and their usual hourly rates; `baseline show --state FILE` lists them. `scan
 * --baseline FILE` then flags new and bursting templates (see src/engine/unrecognized-baseline.ts).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { refuseSpecial, writeFileAtomic } from '../state/atomic.js';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import { CliError, ExitCode } from '../errors.js';
import { learnBaseline, type Baseline } from '../engine/unrecognized-baseline.js';
import type { MinerState } from '../engine/unrecognized.js';
import { scanInputs } from '../pipeline/scan-inputs.js';
import { safeText } from '../render/sanitize.js';
import { addCommonOptions, commonSettings, scanWindow } from './options.js';
import { analysisPrelude, baselineOption } from './prelude.js';
import type { Io } from '../io.js';

function statePath(opts: Record<string, unknown>): string {
  if (typeof opts.state !== 'string' || opts.state === '')
    throw new CliError('--state FILE is required', 'the baseline file to write or read');
  return resolve(opts.state);
}

function writeBaseline(path: string, b: Baseline): void {
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileAtomic(path, JSON.stringify(b, null, 1) + '\n', 0o600, 'baseline file');
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`cannot write the baseline ${path}: ${(e as Error).message}`);
  }
}

async function runLearn(paths: string[], opts: Record<string, unknown>, io: Io): Promise<number> {
  const s = commonSettings(opts);
  const path = statePath(opts);
  refuseSpecial(path, 'baseline file'); // before the scan, not after it
  const previous = opts.merge === true && existsSync(path) ? (baselineOption({ baseline: path })?.baseline ?? null) : null;
  const { rules, inputs, problems, progress, finish } = analysisPrelude(paths, s, opts, io);
  let mined: MinerState | null = null;
  const report = await scanInputs(inputs, problems, rules, {
    ...scanWindow(s),
    unrecognized: true,
    onMined: (m) => (mined = m),
    onProgress: (b) => progress.update(b),
  });
  if (!finish(report)) return ExitCode.Unusable;
  if (!mined) {
    io.err('xendoctor: no input could be read\n');
    return ExitCode.Unusable;
  }
  const firsts = report.inputs.map((i) => i.first).filter((x): x is string => x !== null);
  const lasts = report.inputs.map((i) => i.last).filter((x): x is string => x !== null);
  const b = learnBaseline(
    {
      mined,
      first: firsts.sort()[0] ?? null,
      last: lasts.sort()[lasts.length - 1] ?? null,
      lines: report.inputs.reduce((n, i) => n + i.lines, 0),
      sources: report.inputs.filter((i) => i.lines > 0).map((i) => i.source),
    },
    previous,
    s.now,
  );
  writeBaseline(path, b);
  const bad = report.findings.filter((f) => f.severity !== 'info' && !f.harmless);
  if (bad.length && !s.quiet)
    io.err(
      `xendoctor: note: this period is not clean (${bad.length} finding${bad.length === 1 ? '' : 's'}, e.g. ${bad[0]!.rule}); ` +
        'a baseline should come from a healthy period, or what went wrong then will count as usual\n',
    );
  const span = b.hours === null ? 'no dated lines' : `${Math.round(b.hours * 10) / 10} h, ${b.first} → ${b.last}`;
  if (s.format === 'json')
    io.out(JSON.stringify({ state: path, hours: b.hours, lines: b.lines, templates: b.templates.length }, null, 2) + '\n');
  else
    io.out(
      `${previous ? 'merged into' : 'learnt'} ${path}: ${b.templates.length} message template${b.templates.length === 1 ? '' : 's'} ` +
        `from ${b.lines} lines (${span})\n`,
    );
  return ExitCode.Ok;
}

function runShow(opts: Record<string, unknown>, io: Io): number {
  const path = statePath(opts);
  const b = baselineOption({ baseline: path })!.baseline;
  if (opts.format === 'json') {
    io.out(JSON.stringify(b, null, 2) + '\n');
    return ExitCode.Ok;
  }
  const out = [
    `baseline ${path}`,
    `learnt ${b.created} from ${b.lines} lines, ${b.hours === null ? 'no dated lines' : `${Math.round(b.hours * 10) / 10} h (${b.first} → ${b.last})`}`,
    `sources: ${b.sources.map(safeText).join(', ') || '-'}`,
    '',
    `${b.templates.length} template${b.templates.length === 1 ? '' : 's'} (count, per hour, busiest hour):`,
  ];
  for (const t of b.templates)
    out.push(
      `  ${String(t.count).padStart(6)} ${(t.rate === null ? '-' : t.rate.toFixed(2)).padStart(8)} ${String(t.peak).padStart(5)}  ${safeText(t.template)}`,
    );
  io.out(out.join('\n') + '\n');
  return ExitCode.Ok;
}

/** Register `baseline learn` and `baseline show`. */
export function registerBaseline(program: Command, io: Io, setCode: (c: number) => void): void {
  const cmd = program
    .command('baseline')
    .description('the usual unrecognised messages of a healthy period, against which scans flag new and bursting ones');
  addCommonOptions(
    cmd
      .command('learn')
      .description('learn the message templates and their hourly rates from logs of a healthy period')
      .argument('[paths...]', "files, folders or globs; - for stdin (default: this host's usual logs)")
      .requiredOption('--state <file>', 'the baseline file to write')
      .option('--merge', 'add to the baseline in the file instead of replacing it'),
    'text',
    ['text', 'json'],
  )
    .addHelpText(
      'after',
      `
Example:
  xendoctor baseline learn /var/log/syslog.1 /var/log/kern.log.1 --state /var/lib/xendoctor/baseline.json
  xendoctor scan --baseline /var/lib/xendoctor/baseline.json /var/log/syslog`,
    )
    .action(async (paths: string[], opts: Record<string, unknown>) => setCode(await runLearn(paths, opts, io)));
  cmd
    .command('show')
    .description('list the templates of a baseline')
    .requiredOption('--state <file>', 'the baseline file')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .action((opts: Record<string, unknown>) => setCode(runShow(opts, io)));
}
