/**
 * A Nagios/Icinga plugin result (`--format nagios`), as the Monitoring Plugins development
 * guidelines describe it: one status line `XENDOCTOR <STATE> - <text> | <perfdata>`, then the long
 * output (one line per finding). The state word is the exit code's (0 OK, 1 WARNING, 2 CRITICAL,
 * 3 UNKNOWN), so the line and the exit code never disagree.
 */
import type { Finding, ScanReport, Severity } from '../types.js';
import { SEVERITIES, severityRank } from '../types.js';
import { safeText } from './sanitize.js';
import { summaryLine } from './text.js';

export type PluginStatus = 0 | 1 | 2 | 3;
const STATE = ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'] as const;

/** 0 below --fail-on, 1 for a warning, 2 for an error or a critical finding (the CLI's exit code). */
export function pluginStatus(findings: Finding[], failOn: Severity): 0 | 1 | 2 {
  let worst = -1;
  for (const f of findings) worst = Math.max(worst, severityRank(f.severity));
  if (worst < severityRank(failOn)) return 0;
  return worst >= severityRank('error') ? 2 : 1;
}

/** Plugin output may not hold `|` outside the perfdata separator, nor line breaks in the status line. */
function clean(s: string): string {
  return safeText(s)
    .replace(/\|/g, '/')
    .replace(/[\r\n]+/g, ' ');
}

/** The one line for a run that could not do its job (exit 3). */
export function nagiosUnknown(message: string): string {
  return `XENDOCTOR UNKNOWN - ${clean(message)}\n`;
}

function perfdata(report: ScanReport): string {
  const lines = report.inputs.reduce((n, i) => n + i.lines, 0);
  const errors = report.inputs.reduce((n, i) => n + i.errors.length, 0);
  const counts = [...SEVERITIES].reverse().map((s) => `${s}=${report.summary[s]};;;0`);
  return [...counts, `findings=${report.findings.length};;;0`, `lines=${lines};;;0`, `input_errors=${errors};;;0`].join(' ');
}

/** Most long-output lines printed; the rest are counted. */
const LONG_MAX = 50;

/** Render the plugin output for a report whose exit code is `status` (from {@link pluginStatus}). */
export function renderNagios(report: ScanReport, status: PluginStatus): string {
  const worstFirst = [...report.findings].sort((a, b) => severityRank(b.severity) - severityRank(a.severity));
  let text: string;
  if (report.findings.length === 0) text = 'no known failure signature found';
  else {
    const top = worstFirst[0]!;
    text = `${summaryLine(report.summary)}: ${top.title}${top.host ? ` on ${top.host}` : ''}${worstFirst.length > 1 ? ` and ${worstFirst.length - 1} more` : ''}`;
  }
  const out = [`XENDOCTOR ${STATE[status]} - ${clean(text)} | ${perfdata(report)}`];
  for (const f of worstFirst.slice(0, LONG_MAX)) {
    out.push(clean(`${f.severity.toUpperCase()} ${f.rule}${f.host ? ` ${f.host}` : ''}: ${f.title} (${f.count}x) [${f.id}]`));
  }
  if (worstFirst.length > LONG_MAX) out.push(`… and ${worstFirst.length - LONG_MAX} more findings`);
  return out.join('\n') + '\n';
}
