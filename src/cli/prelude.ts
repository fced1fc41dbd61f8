/**
 * The prelude the analysing commands (`scan`, `timeline`, `baseline learn`) share: the rules, the
 * baseline of --baseline, the inputs (operands, stdin when piped, or this host's logs) and the
 * progress bar; and after the run, the inputs read (--verbose) and their errors on stderr.
 */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { CliError } from '../errors.js';
import type { Rule } from '../engine/catalogue.js';
import { readBaseline, type BaselineCheck } from '../engine/unrecognized-baseline.js';
import { defaultInputs, resolveInputs, stdinInput, stdinIsPiped, type Input, type ResolveProblem } from '../sources/inputs.js';
import { nothingRead } from '../report-document.js';
import { safeText } from '../render/sanitize.js';
import { inputsText } from '../render/text.js';
import type { ScanReport } from '../types.js';
import type { Io } from '../io.js';
import { selectRules, type CommonSettings } from './options.js';
import { progressBar, type Progress } from './progress.js';

/** The baseline of `--baseline FILE`, or null without the option; a bad file is a usage error. */
export function baselineOption(opts: Record<string, unknown>): BaselineCheck | null {
  if (typeof opts.baseline !== 'string') return null;
  const file = resolve(opts.baseline);
  try {
    return { baseline: readBaseline(file), file };
  } catch (e) {
    throw new CliError((e as Error).message, 'learn one from a healthy period: xendoctor baseline learn /var/log/syslog* --state FILE');
  }
}

/** Inputs for the analysing commands: operands, stdin when piped, or this host's logs. */
function gatherInputs(paths: string[], s: CommonSettings, io: Io): { inputs: Input[]; problems: ResolveProblem[] } {
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

export interface Prelude {
  rules: Rule[];
  baseline: BaselineCheck | null;
  inputs: Input[];
  problems: ResolveProblem[];
  /** For the run's onProgress. */
  progress: Progress;
  /**
   * After the run: ends the progress bar, lists the inputs read (--verbose) and prints their errors
   * on stderr; false (said on stderr) when not a single input could be read.
   */
  finish(report: ScanReport): boolean;
}

/** Rules, baseline, inputs and progress of an analysing command, in this order (a usage error stops before any reading). */
export function analysisPrelude(paths: string[], s: CommonSettings, opts: Record<string, unknown>, io: Io): Prelude {
  const rules = selectRules(s);
  const baseline = baselineOption(opts);
  const { inputs, problems } = gatherInputs(paths, s, io);
  const total = inputs.reduce((n, i) => n + (i.size ?? 0), 0);
  const progress = progressBar(process.stderr, total || null, !s.quiet);
  return {
    rules,
    baseline,
    inputs,
    problems,
    progress,
    finish(report) {
      progress.done();
      if (s.verbose) io.err(inputsText(report).join('\n') + '\n');
      for (const i of report.inputs) {
        for (const e of i.errors)
          if (e !== 'empty input' || report.inputs.length === 1) io.err(`xendoctor: ${safeText(i.source)}: ${safeText(e)}\n`);
      }
      if (!nothingRead(report)) return true;
      io.err('xendoctor: no input could be read\n');
      return false;
    },
  };
}
