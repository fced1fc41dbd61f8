/**
 * What is new since the last cron run: the tracked files across rotation (src/sources/incremental.ts),
 * the hypervisor console's new lines and the journal after its cursor, read through the scan
 * pipeline; evidence line numbers are the files' own, and notes on possibly lost lines are kept
 * with their input.
 */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { defaultInputs, findOnPath, journaldOnly, resolveInputs, type Input, type ResolveProblem } from '../sources/inputs.js';
import { planFile, trackedPaths, type FilePlan } from '../sources/incremental.js';
import { bufferInput, capture, consoleNews, type ConsoleNews } from '../sources/console-news.js';
import { JournalInput } from '../sources/journal-cursor.js';
import { scanInputs } from '../pipeline/scan-inputs.js';
import type { Rule } from '../engine/catalogue.js';
import type { PendingThreshold } from '../engine/groups.js';
import type { ReportState } from '../state/state.js';
import type { InputSummary, ScanReport } from '../types.js';
import type { Io } from '../io.js';
import type { CronSettings, CronOptions } from './options.js';

/** What one pass over the inputs found. */
export interface Analysis {
  report: ScanReport;
  plans: FilePlan[];
  console: { name: string; news: ConsoleNews } | null;
  journal: JournalInput | null;
  /** Thresholds still short of firing at the end of this run (kept in the state for the next). */
  pending: PendingThreshold[];
  consistent: boolean;
  /** Something could be read (a tracked file, the console or the journal). */
  readable: boolean;
}

/** The files to track: the operands (each rotated set stands for its live file), or this host's usual logs. */
export function trackedFiles(
  ro: CronOptions,
  state: ReportState,
  now: number,
  io: Io,
  quiet: boolean,
): { files: string[]; problems: ResolveProblem[]; console: boolean } {
  if (ro.paths.length === 0 && !ro.console && !ro.journal) {
    const d = defaultInputs(now, hostname());
    const files = d.inputs.filter((i) => i.kind === 'file').map((i) => resolve(i.name));
    const withConsole = d.inputs.some((i) => i.kind === 'command' && /\b(?:xl|xm) dmesg$/.test(i.name));
    // a journald-only dom0 (no syslog file): the journal, after the last run's cursor
    const journalctl = journaldOnly() ? findOnPath('journalctl') : null;
    if (journalctl) {
      ro.journal = true;
      ro.journalctl = journalctl;
    }
    if (!quiet) {
      io.err(
        files.length || withConsole || journalctl
          ? `xendoctor: no file named; following this host's logs: ${[...trackedPaths(files), ...(withConsole ? ['xl dmesg'] : []), ...(journalctl ? ['the journal'] : [])].join(', ')}\n`
          : "xendoctor: no file named, and none of this host's usual logs (/var/log/kern.log, syslog, messages, xen/*.log, xl dmesg) is here\n",
      );
    }
    return { files: trackedPaths(files), problems: [], console: withConsole };
  }
  const r = resolveInputs(ro.paths, now);
  const files = r.inputs.filter((i) => i.kind === 'file').map((i) => resolve(i.name));
  const problems: ResolveProblem[] = [];
  for (const p of r.problems) {
    // a live file missing for a moment (rotated, not yet re-created) is still followed
    const abs = resolve(p.source);
    if (state.files[abs]) files.push(abs);
    else problems.push(p);
  }
  return { files: trackedPaths(files), problems, console: ro.console };
}

export async function readNew(
  ro: CronOptions,
  s: CronSettings,
  state: ReportState,
  tracked: string[],
  useConsole: boolean,
  baseProblems: ResolveProblem[],
  rules: Rule[],
): Promise<Analysis> {
  const now = s.now;
  const problems = [...baseProblems];
  const plans: FilePlan[] = [];
  const inputs: Input[] = [];
  const lineBase = new Map<string, number>();
  for (const path of tracked) {
    const plan = await planFile(path, state.files[path]);
    plans.push(plan);
    for (const seg of plan.segments) {
      if (!seg.hasWork) continue;
      inputs.push(seg);
      lineBase.set(seg.name, seg.lineBase);
    }
  }
  let consoleResult: Analysis['console'] = null;
  if (useConsole) {
    const xl = ro.xl ?? findOnPath('xl') ?? findOnPath('xm');
    const name = `${xl ?? 'xl'} dmesg`;
    if (!xl) problems.push({ source: 'xl dmesg', message: 'neither xl nor xm is installed here (give --xl PATH)' });
    else {
      try {
        const news = consoleNews(await capture(xl, ['dmesg'], ro.commandTimeoutMs), state.console, name);
        consoleResult = { name, news };
        if (news.newLines > 0) {
          inputs.push(bufferInput(name, news.data, now, hostname()));
          lineBase.set(name, news.lineBase);
        }
      } catch (e) {
        problems.push({ source: name, message: (e as Error).message });
      }
    }
  }
  let journal: JournalInput | null = null;
  if (ro.journal) {
    journal = new JournalInput(ro.journalctl, state.journal?.cursor ?? null, now, ro.commandTimeoutMs);
    inputs.push(journal);
  }
  let pending: PendingThreshold[] = [];
  const report = await scanInputs(inputs, problems, rules, {
    zone: s.zone,
    year: s.year,
    since: s.since,
    until: s.until,
    hosts: s.hosts,
    unrecognized: ro.unrecognized || ro.baseline != null,
    baseline: ro.baseline,
    // thresholds whose hits fall in two runs (or more) still add up
    carry: { from: state.pending ?? [], to: (p) => (pending = p) },
    now,
  });

  // evidence line numbers: real line numbers in each file, not counted from where this run began
  for (const f of report.findings) for (const e of f.evidence) e.line += lineBase.get(e.source) ?? 0;
  // inputs: no "empty input" for a file with nothing new; notes on possibly lost lines where they belong
  for (const i of report.inputs) i.errors = i.errors.filter((e) => e !== 'empty input');
  const note = (source: string, message: string) => {
    let i = report.inputs.find((x) => x.source === source);
    if (!i) {
      i = { source, lines: 0, bytes: 0, formats: {}, first: null, last: null, errors: [] } satisfies InputSummary;
      report.inputs.push(i);
    }
    i.errors.push(message);
  };
  for (const p of plans) for (const n of p.notes) note(p.path, n);
  if (consoleResult?.news.note) note(consoleResult.name, consoleResult.news.note);
  if (journal?.note) note(journal.name, journal.note);
  const journalOk = journal !== null && !report.inputs.some((i) => i.source === journal!.name && i.errors.length > 0 && i.bytes === 0);
  return {
    report,
    plans,
    console: consoleResult,
    journal,
    pending,
    consistent: plans.every((p) => p.consistent()),
    readable: plans.some((p) => p.live || p.segments.length > 0) || consoleResult !== null || journalOk,
  };
}
