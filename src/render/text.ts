/** Text report for a terminal or a cron mail: findings grouped by severity, with evidence and the fix. */
import type { Finding, ScanReport, Severity, Unrecognized } from '../types.js';
import { SEVERITIES, severityRank } from '../types.js';
import { buildIncidents } from '../timeline/incidents.js';
import type { ChainNode, Incident } from '../timeline/model.js';
import { safeText } from './sanitize.js';

export interface TextOptions {
  color: boolean;
  /** Leave out the verdict and the closing summary. */
  quiet?: boolean;
  /** List the inputs read before the findings (scan's --verbose prints them on stderr instead). */
  inputs?: boolean;
  width?: number;
}

/** Terminal colours of the text reports (used only on a TTY without NO_COLOR). */
export const COLORS: Record<Severity, string> = { critical: '\x1b[1;35m', error: '\x1b[1;31m', warning: '\x1b[1;33m', info: '\x1b[36m' };
export const RESET = '\x1b[0m';
export const DIM = '\x1b[2m';
export const BOLD = '\x1b[1m';

function wrap(text: string, width: number, indent: string): string[] {
  const out: string[] = [];
  for (const para of text.split(/\n\s*\n/)) {
    let line = '';
    for (const word of para.split(/\s+/).filter(Boolean)) {
      if (line && line.length + 1 + word.length > width - indent.length) {
        out.push(indent + line);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    if (line) out.push(indent + line);
    out.push('');
  }
  if (out.length && out[out.length - 1] === '') out.pop();
  return out;
}

function span(f: Finding): string {
  if (!f.first) return 'time unknown';
  const fmt = (s: string) => s.replace('T', ' ');
  return f.first === f.last || !f.last ? fmt(f.first) : `${fmt(f.first)} → ${fmt(f.last)}`;
}

/** Plural helper: "1 error", "2 warnings". */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** One-line summary: "1 critical, 2 errors, 1 warning" (zero counts left out), or "no findings". */
export function summaryLine(summary: Record<Severity, number>): string {
  const parts = [...SEVERITIES]
    .reverse()
    .filter((s) => summary[s] > 0)
    .map((s) => (s === 'critical' || s === 'info' ? `${summary[s]} ${s}` : plural(summary[s], s)));
  return parts.length ? parts.join(', ') : 'no findings';
}

/** Render one finding as text lines. */
export function renderFindingText(f: Finding, byId: Map<string, Finding>, opts: TextOptions): string[] {
  const c = (code: string, s: string) => (opts.color ? `${code}${s}${RESET}` : s);
  const width = opts.width ?? 100;
  const lines: string[] = [];
  const sev = f.severity.toUpperCase().padEnd(8);
  lines.push(`${c(COLORS[f.severity], sev)} ${c(BOLD, safeText(f.title))}  ${c(DIM, `[${f.rule}]`)}`);
  const meta = [`host ${safeText(f.host ?? 'unknown')}`, `${f.count}×`, span(f)];
  if (f.ongoing) meta.push(`ongoing since ${f.ongoing.since ?? 'an earlier run'} (${f.ongoing.before} before)`);
  if (f.harmless) meta.push('harmless');
  lines.push(`   ${meta.join(' · ')}`);
  const keys = Object.entries(f.key).map(([k, v]) => `${k}=${safeText(v)}`);
  if (keys.length) lines.push(`   key: ${keys.join(' ')}`);
  if (f.causedBy.length) {
    const causes = f.causedBy.map((id) => {
      const cf = byId.get(id);
      return cf ? `${cf.rule} (${cf.first ?? 'time unknown'}, id ${id})` : id;
    });
    lines.push(`   caused by: ${causes.join('; ')}`);
  }
  if (f.possiblyRelated?.length) {
    const rel = f.possiblyRelated.map((id) => {
      const cf = byId.get(id);
      return cf ? `${cf.rule} (${cf.first ?? 'time unknown'}, id ${id})` : id;
    });
    lines.push(`   possibly related (untested): ${rel.join('; ')}`);
  }
  lines.push('   evidence:');
  for (const e of f.evidence) lines.push(`     ${c(DIM, `${safeText(e.source)}:${e.line}`)}  ${safeText(e.text)}`);
  lines.push('   diagnosis:');
  // diagnosis and fix are filled in with values captured from the log: neutralised like the evidence
  lines.push(...wrap(f.diagnosis, width, '     ').map(safeText));
  lines.push('   fix:');
  f.fix.forEach((step, i) => {
    const w = wrap(step, width - 3, '     ').map(safeText);
    w[0] = `     ${i + 1}. ${(w[0] ?? '').trimStart()}`;
    lines.push(...w.map((l, j) => (j === 0 ? l : `   ${l}`)));
  });
  if (f.references.length) lines.push(`   see: ${f.references.join(' ')}`);
  return lines;
}

/** The inputs read, one line each (scan --verbose, on stderr). */
export function inputsText(report: ScanReport): string[] {
  const out: string[] = [];
  for (const i of report.inputs) {
    const span = i.first ? ` ${i.first} → ${i.last ?? '?'}` : '';
    out.push(`read ${safeText(i.source)}: ${i.lines} lines, ${i.bytes} bytes${span}`);
    for (const e of i.errors) out.push(`  ! ${safeText(e)}`);
  }
  return out;
}

/** Most incidents named in the verdict. */
const VERDICT_INCIDENTS = 3;

/**
 * The verdict that opens a text report: what is wrong, on which host, since when, and what to do
 * first — one entry per incident (a root cause with what it caused), worst first.
 */
export function verdictText(report: ScanReport, opts: TextOptions): string[] {
  const c = (code: string, s: string) => (opts.color ? `${code}${s}${RESET}` : s);
  const byId = new Map(report.findings.map((f) => [f.id, f]));
  const lines: number = report.inputs.reduce((n, i) => n + i.lines, 0);
  const serious = report.findings.filter((f) => !f.harmless && severityRank(f.severity) >= severityRank('warning'));
  if (serious.length === 0) {
    const rest = report.findings.length ? ` (${summaryLine(report.summary)}, nothing to act on)` : '';
    return [`VERDICT: no known problem in ${plural(lines, 'line')} from ${plural(report.inputs.length, 'input')}${rest}.`, ''];
  }
  const incidents = buildIncidents(serious).sort(
    (a, b) =>
      severityRank(b.severity) - severityRank(a.severity) ||
      b.findings.length - a.findings.length ||
      ((a.first ?? '9') < (b.first ?? '9') ? -1 : 1),
  );
  const out = [c(BOLD, `VERDICT: ${plural(incidents.length, 'problem')} to act on (${summaryLine(report.summary)})`)];
  for (const inc of incidents.slice(0, VERDICT_INCIDENTS)) {
    const root = byId.get(inc.root)!;
    const since = inc.first ? `since ${inc.first.replace('T', ' ')}` : 'time unknown';
    out.push(`  ${c(COLORS[inc.severity], inc.severity.toUpperCase().padEnd(8))} ${safeText(root.title)}  [${root.rule}]`);
    out.push(`           host ${safeText(root.host ?? 'unknown')} · ${since}`);
    out.push(...ledTo(inc, byId));
    if (root.fix[0]) out.push(`           do first: ${safeText(root.fix[0])}`);
  }
  if (incidents.length > VERDICT_INCIDENTS) out.push(`  … and ${incidents.length - VERDICT_INCIDENTS} more below`);
  out.push('');
  return out;
}

/** Most paths shown under one incident of the verdict ("led to", then "together with"). */
const VERDICT_PATHS = 3;

/**
 * What an incident's root led to, as paths through its tree (timeline/incidents.ts `causeTree`: an
 * effect under its deepest cause): one line per path from the root to an effect that caused nothing
 * further, so page-allocation failure → OOM kill → hung task reads as one path while a root with two
 * separate effects gives two lines, never a false chain. What the root did not cause (another root of
 * a shared effect, with its branch) is told as "together with". A rule named twice shows the key values
 * its title does not, so two disk-full findings are told apart.
 */
export function ledTo(inc: Incident, byId: Map<string, Finding>): string[] {
  const rules = new Map<string, number>();
  for (const id of inc.findings) rules.set(byId.get(id)!.rule, (rules.get(byId.get(id)!.rule) ?? 0) + 1);
  const label = (id: string) => {
    const f = byId.get(id)!;
    // the values the title does not already show
    const key = Object.entries(f.key)
      .filter(([, v]) => !f.title.includes(v))
      .map(([k, v]) => `${k}=${v}`);
    return `${safeText(f.title)} [${f.rule}${rules.get(f.rule)! > 1 && key.length ? ` ${safeText(key.join(' '))}` : ''}]`;
  };
  const paths = (n: ChainNode, path: string[], into: string[][]): string[][] => {
    const here = [...path, label(n.finding)];
    if (n.effects.length === 0) into.push(here);
    for (const e of n.effects) paths(e, here, into);
    return into;
  };
  const caused = (n: ChainNode) => byId.get(n.finding)!.causedBy.includes(inc.root);
  const lines = (head: string, list: string[][]) => {
    const pad = ' '.repeat(head.length);
    const out = list.slice(0, VERDICT_PATHS).map((p, i) => `${i ? pad : head}${p.join(' → ')}`);
    if (list.length > VERDICT_PATHS) out.push(`${pad}… and ${plural(list.length - VERDICT_PATHS, 'more path')}`);
    return out;
  };
  const from = (keep: boolean) => inc.chain.effects.filter((e) => caused(e) === keep).flatMap((e) => paths(e, [], []));
  return [...lines('           led to: ', from(true)), ...lines('           together with: ', from(false))];
}

/** The whole report as text: the verdict, then every finding with its evidence and fix. */
export function renderText(report: ScanReport, opts: TextOptions): string {
  const out: string[] = [];
  const byId = new Map(report.findings.map((f) => [f.id, f]));
  if (opts.inputs) out.push(...inputsText(report), '');
  if (!opts.quiet) out.push(...verdictText(report, opts));
  for (const sev of [...SEVERITIES].reverse()) {
    const group = report.findings.filter((f) => f.severity === sev);
    if (group.length === 0) continue;
    out.push(
      opts.color ? `${COLORS[sev]}== ${sev.toUpperCase()} (${group.length}) ==${RESET}` : `== ${sev.toUpperCase()} (${group.length}) ==`,
    );
    out.push('');
    for (const f of group) {
      out.push(...renderFindingText(f, byId, opts), '');
    }
  }
  out.push(...unrecognizedText(report.unrecognized));
  if (!opts.quiet) out.push(`xendoctor ${report.version}: ${summaryLine(report.summary)}`);
  return out.join('\n').replace(/\n+$/, '') + '\n';
}

/** The unrecognised messages' section of a text report (no lines when there are none). */
export function unrecognizedText(list: Unrecognized[], heading = (h: string) => h): string[] {
  if (list.length === 0) return [];
  const out = [heading(`== UNRECOGNISED (${list.length}) ==`), ''];
  for (const u of list) {
    out.push(`   ${u.count}×  ${safeText(u.template)}`);
    out.push(`        e.g. ${safeText(u.example)}`);
    if (u.related.length) out.push(`        see: ${u.related.join(', ')}`);
  }
  out.push('');
  return out;
}
