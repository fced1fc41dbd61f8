/**
 * Metrics for node_exporter's textfile collector (`--format prometheus`; `report --textfile PATH`
 * writes them atomically): findings and matched lines by rule, severity and host, findings by
 * severity, input problems, and the time of the last successful run. Label values escaped as the
 * exposition format wants (backslash, double quote, newline) after control characters are made visible.
 */
import type { ScanReport } from '../types.js';
import { SEVERITIES } from '../types.js';
import { safeText } from './sanitize.js';

export interface MetricsExtra {
  /** Time of this (successful) run, ms. */
  now?: number;
  /** Matched lines in all runs so far, from the report state, by rule, severity and host. */
  totals?: { rule: string; severity: string; host: string | null; count: number }[];
  /** Lines read in this run. */
  linesRead?: number;
}

function label(v: string): string {
  return safeText(v).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labels(o: Record<string, string | null>): string {
  return `{${Object.entries(o)
    .map(([k, v]) => `${k}="${label(v ?? '')}"`)
    .join(',')}}`;
}

export function renderPrometheus(report: ScanReport, extra: MetricsExtra = {}): string {
  const out: string[] = [];
  const metric = (name: string, type: string, help: string, rows: [string, number][]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [l, v] of rows) out.push(`${name}${l} ${v}`);
  };
  const groups = new Map<string, { l: string; findings: number; lines: number }>();
  for (const f of report.findings) {
    const l = labels({ rule: f.rule, severity: f.severity, host: f.host });
    const g = groups.get(l) ?? { l, findings: 0, lines: 0 };
    g.findings++;
    g.lines += f.count;
    groups.set(l, g);
  }
  const rows = [...groups.values()].sort((a, b) => (a.l < b.l ? -1 : 1));
  metric(
    'xendoctor_findings',
    'gauge',
    'Findings in the last run (in report mode: with new occurrences since the previous run), by rule, severity and host.',
    rows.map((g) => [g.l, g.findings]),
  );
  metric(
    'xendoctor_finding_lines',
    'gauge',
    'Log lines matched in the last run (in report mode: new ones only), by rule, severity and host.',
    rows.map((g) => [g.l, g.lines]),
  );
  metric(
    'xendoctor_findings_by_severity',
    'gauge',
    'Findings in the last run by severity.',
    SEVERITIES.map((s) => [labels({ severity: s }), report.summary[s]]),
  );
  if (extra.totals) {
    const t = new Map<string, number>();
    for (const x of extra.totals) {
      const l = labels({ rule: x.rule, severity: x.severity, host: x.host });
      t.set(l, (t.get(l) ?? 0) + x.count);
    }
    metric(
      'xendoctor_finding_lines_total',
      'counter',
      'Log lines matched in all report runs kept in the state file, by rule, severity and host.',
      [...t.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)),
    );
  }
  metric('xendoctor_input_errors', 'gauge', 'Problems with inputs in the last run (missing files, read errors, possibly lost lines).', [
    ['', report.inputs.reduce((n, i) => n + i.errors.length, 0)],
  ]);
  metric('xendoctor_lines_read', 'gauge', 'Log lines read in the last run.', [
    ['', extra.linesRead ?? report.inputs.reduce((n, i) => n + i.lines, 0)],
  ]);
  metric('xendoctor_last_success_timestamp_seconds', 'gauge', 'Time of the last successful xendoctor run (Unix seconds).', [
    ['', Math.floor((extra.now ?? Date.now()) / 1000)],
  ]);
  return out.join('\n') + '\n';
}
