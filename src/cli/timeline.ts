/** `xendoctor timeline`: postmortem of archived logs — one merged timeline, incidents with root causes, many hosts. */
import type { Command } from 'commander';
import { CliError, ExitCode } from '../errors.js';
import { parseBound, parseDuration } from '../parse/time.js';
import { buildTimeline } from '../timeline/collect.js';
import { buildIncidents, hostSummaries, sharedFindings } from '../timeline/incidents.js';
import type { TimelineReport } from '../timeline/model.js';
import { summarize } from '../engine/findings.js';
import { render } from '../render/dispatch.js';
import { renderHtml } from '../render/html.js';
import { renderJson } from '../render/json.js';
import { renderTimelineText } from '../render/timeline-text.js';
import { severityRank, type Severity } from '../types.js';
import { addCommonOptions, commonSettings, exitCodeFor, scanWindow } from './options.js';
import { analysisPrelude } from './prelude.js';
import type { Io } from '../io.js';

/** Drop findings under --min-severity, and what hangs on them (incidents, host table), consistently. */
function applyMin(report: TimelineReport, min: Severity): TimelineReport {
  const findings = report.findings.filter((f) => severityRank(f.severity) >= severityRank(min));
  if (findings.length === report.findings.length) return report;
  const seen = new Map(
    report.timeline.hosts.map((h) => [
      h.host,
      { lines: h.lines, boots: h.boots, first: h.first ? Date.parse(h.first) : null, last: h.last ? Date.parse(h.last) : null },
    ]),
  );
  return {
    ...report,
    findings,
    summary: summarize(findings),
    timeline: {
      ...report.timeline,
      incidents: buildIncidents(findings),
      hosts: hostSummaries(findings, seen),
      shared: sharedFindings(findings),
    },
  };
}

export async function runTimeline(paths: string[], opts: Record<string, unknown>, io: Io): Promise<number> {
  const s = commonSettings(opts);
  let around: number | null = null;
  if (opts.around !== undefined) {
    around = parseBound(String(opts.around), s.zone, s.now);
    if (around === null)
      throw new CliError(
        `--around: cannot read "${String(opts.around)}"`,
        'give an ISO time (2026-11-20T08:00) or a duration back from now (2h)',
      );
  }
  const window = parseDuration(String(opts.window ?? '30m'));
  if (window === null || window <= 0)
    throw new CliError(`--window: cannot read "${String(opts.window)}"`, 'give a duration such as 10m, 30m or 2h');
  const { rules, baseline, inputs, problems, progress, finish } = analysisPrelude(paths, s, opts, io);
  const full = await buildTimeline(inputs, problems, rules, {
    ...scanWindow(s),
    around,
    window,
    unrecognized: opts.unrecognized !== false || baseline !== null,
    baseline,
    onProgress: (b) => progress.update(b),
  });
  if (!finish(full)) return ExitCode.Unusable;
  if (opts.unrecognized === false) full.unrecognized = [];
  const report = applyMin(full, s.minSeverity);
  switch (s.format) {
    case 'text':
      io.out(renderTimelineText(report, { color: s.color, quiet: s.quiet }));
      break;
    case 'json':
      io.out(renderJson(report));
      break;
    case 'html':
      io.out(renderHtml(report));
      break;
    default:
      io.out(render(report, s));
  }
  return exitCodeFor(report.findings, s.failOn);
}

/** Register `timeline`. */
export function registerTimeline(program: Command, io: Io, setCode: (c: number) => void): void {
  addCommonOptions(
    program
      .command('timeline')
      .description('postmortem: all inputs merged into one timeline, with boots, gaps, incidents and their root causes, per host')
      .argument('[paths...]', 'files, folders (an archive of rotated, compressed logs), globs; - for stdin')
      .option('--around <time>', 'zoom in: only this moment (ISO time, or a duration back from now), with the merged lines of all inputs')
      .option('--window <duration>', 'half-width of the --around window', '30m')
      .option('--no-unrecognized', 'leave out the unrecognised messages that look like trouble')
      .option('--baseline <file>', 'flag unrecognised messages new to this baseline or far more frequent (xendoctor baseline learn)')
      .addHelpText(
        'after',
        `
Examples:
  xendoctor timeline /srv/archive/xen07/                      one host's rotated, compressed logs
  xendoctor timeline /var/log/central/*.log --host xen07      one host out of a central syslog
  xendoctor timeline archive/ --around 2026-11-20T08:01 --window 10m
  xendoctor timeline archive/ --format html > postmortem.html  one self-contained page`,
      ),
  ).action(async (paths: string[], opts: Record<string, unknown>) => setCode(await runTimeline(paths, opts, io)));
}
