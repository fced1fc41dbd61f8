/**
 * The cron report's body (`xendoctor report`, and the parts of its e-mail): what is new since the
 * last run, by severity, new findings before ongoing ones, each with the id to acknowledge it by.
 * Plain text and HTML; all log text through safeText / escapeHtml.
 */
import type { Finding, ScanReport, Severity } from '../types.js';
import { SEVERITIES } from '../types.js';
import { escapeHtml as esc, safeText } from './sanitize.js';
import { renderFindingText, summaryLine, unrecognizedText, verdictText } from './text.js';

export interface DigestContext {
  /** The host the report is about (the subject's host when findings name none). */
  host: string;
  /** End of the last delivered run (ISO), or null on the first run. */
  since: string | null;
  /** Say that the report covers only what is new (report), rather than everything read (scan). */
  incremental: boolean;
}

/** Hosts named by the findings (this host when none names one), for headlines and subjects. */
export function reportHosts(report: ScanReport, fallback: string): string[] {
  const hosts = [...new Set(report.findings.map((f) => f.host).filter((h): h is string => h !== null))].sort();
  return hosts.length ? hosts : [fallback];
}

/** "xen07", "xen07, xen08", "xen07, xen08, xen09 and 4 more". */
export function hostList(hosts: string[]): string {
  return hosts.length <= 3 ? hosts.join(', ') : `${hosts.slice(0, 3).join(', ')} and ${hosts.length - 3} more`;
}

/** "xendoctor: xen07: 2 errors, 1 warning" (untrusted host names neutralised; headers encode further). */
export function headline(report: ScanReport, host: string): string {
  return `xendoctor: ${safeText(hostList(reportHosts(report, host)))}: ${summaryLine(report.summary)}`;
}

function coverage(ctx: DigestContext): string {
  if (!ctx.incremental) return '';
  return ctx.since ? `new since the last report (${ctx.since})` : 'first run: everything the logs hold';
}

/** Findings of one severity: new ones first, then those going on from earlier runs. */
function ordered(report: ScanReport, sev: Severity): Finding[] {
  const g = report.findings.filter((f) => f.severity === sev);
  return [...g.filter((f) => !f.ongoing), ...g.filter((f) => f.ongoing)];
}

/** Rule text filled with captured values may carry log bytes: neutralise it line by line (colours are added later). */
function neutral(f: Finding): Finding {
  const lines = (s: string) => s.split('\n').map(safeText).join('\n');
  return { ...f, diagnosis: lines(f.diagnosis), fix: f.fix.map(safeText), references: f.references.map(safeText) };
}

/** The report as plain text (also the text part of the e-mail). */
export function digestText(report: ScanReport, ctx: DigestContext, color = false): string {
  const out: string[] = [headline(report, ctx.host)];
  const cov = coverage(ctx);
  if (cov) out.push(cov);
  out.push('', ...verdictText(report, { color }));
  for (const i of report.inputs) {
    const span = i.first ? ` ${i.first} → ${i.last ?? '?'}` : '';
    out.push(`read ${safeText(i.source)}: ${i.lines} ${ctx.incremental ? 'new ' : ''}lines${span}`);
    for (const e of i.errors) out.push(`  ! ${safeText(e)}`);
  }
  if (report.inputs.length) out.push('');
  const byId = new Map(report.findings.map((f) => [f.id, f]));
  for (const sev of [...SEVERITIES].reverse()) {
    const group = ordered(report, sev);
    if (!group.length) continue;
    out.push(`== ${sev.toUpperCase()} (${group.length}) ==`, '');
    for (const f of group) {
      out.push(...renderFindingText(neutral(f), byId, { color }));
      out.push(`   id: ${f.id}  (\`xendoctor ack ${f.id}\` silences it while it goes on)`, '');
    }
  }
  out.push(...unrecognizedText(report.unrecognized));
  out.push(`xendoctor ${report.version}: ${summaryLine(report.summary)}`);
  return out.join('\n') + '\n';
}

const COLOR: Record<Severity, string> = { critical: '#7b1fa2', error: '#c62828', warning: '#b26a00', info: '#0277bd' };
const MONO = 'font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px';

function ref(u: string): string {
  return /^https?:\/\/[^\s"'<>]+$/.test(u) ? `<a href="${esc(u)}">${esc(u)}</a>` : esc(u);
}

function findingHtml(f: Finding, byId: Map<string, Finding>): string {
  const c = COLOR[f.severity];
  const span = f.first ? (f.last && f.last !== f.first ? `${f.first} → ${f.last}` : f.first) : 'time unknown';
  const meta = [`host ${esc(f.host ?? 'unknown')}`, `${f.count}× ${f.ongoing ? 'more ' : ''}`, esc(span)];
  if (f.ongoing) meta.push(`<b>ongoing</b> since ${esc(f.ongoing.since ?? 'an earlier run')} (${f.ongoing.before} before)`);
  if (f.harmless) meta.push('harmless');
  const keys = Object.entries(f.key).map(([k, v]) => `${esc(k)}=${esc(v)}`);
  const out = [
    `<div style="border-left:4px solid ${c};padding:4px 12px;margin:14px 0">`,
    `<div><span style="color:#fff;background:${c};padding:1px 6px;border-radius:3px;font-size:11px;font-weight:bold">${f.severity.toUpperCase()}</span> ` +
      `<b>${esc(f.title)}</b> <code style="${MONO};color:#666">[${esc(f.rule)}]</code>${f.ongoing ? '' : ' <b style="color:#2e7d32">new</b>'}</div>`,
    `<div style="color:#555;font-size:13px">${meta.join(' · ')}</div>`,
  ];
  if (keys.length) out.push(`<div style="color:#555;font-size:13px">key: ${keys.join(' ')}</div>`);
  if (f.causedBy.length) {
    const causes = f.causedBy.map((id) => {
      const cf = byId.get(id);
      return esc(cf ? `${cf.rule} (${cf.first ?? 'time unknown'}, id ${id})` : id);
    });
    out.push(`<div style="font-size:13px">caused by: ${causes.join('; ')}</div>`);
  }
  if (f.possiblyRelated?.length) {
    const rel = f.possiblyRelated.map((id) => esc(byId.get(id)?.rule ?? id));
    out.push(`<div style="font-size:13px">possibly related (untested): ${rel.join('; ')}</div>`);
  }
  out.push(
    `<pre style="${MONO};background:#f4f4f4;padding:6px;white-space:pre-wrap;word-break:break-all">${f.evidence
      .map((e) => `${esc(e.source)}:${e.line}  ${esc(e.text)}`)
      .join('\n')}</pre>`,
  );
  for (const para of f.diagnosis.split(/\n\s*\n/)) out.push(`<p style="margin:6px 0">${esc(para.replace(/\s+/g, ' ').trim())}</p>`);
  out.push(`<ol style="margin:6px 0">${f.fix.map((s) => `<li>${esc(s)}</li>`).join('')}</ol>`);
  if (f.references.length) out.push(`<div style="font-size:12px">see: ${f.references.map(ref).join(' ')}</div>`);
  out.push(
    `<div style="font-size:12px;color:#666">id <code style="${MONO}">${esc(f.id)}</code> — <code style="${MONO}">xendoctor ack ${esc(f.id)}</code> silences it while it goes on</div>`,
  );
  out.push('</div>');
  return out.join('\n');
}

/** The report as an HTML document with inline styles only (for the e-mail's HTML part). */
export function digestHtml(report: ScanReport, ctx: DigestContext): string {
  const title = headline(report, ctx.host);
  const out = [
    '<!DOCTYPE html>',
    '<html><head><meta charset="utf-8"><meta name="color-scheme" content="light">',
    `<title>${esc(title)}</title></head>`,
    '<body style="font-family:system-ui,Segoe UI,Roboto,Helvetica,Arial,sans-serif;font-size:14px;color:#1c1c1c;max-width:960px">',
    `<h1 style="font-size:20px;margin:0 0 4px">${esc(title)}</h1>`,
  ];
  const cov = coverage(ctx);
  if (cov) out.push(`<div style="color:#555">${esc(cov)}</div>`);
  if (report.inputs.length) {
    out.push('<table style="border-collapse:collapse;margin:10px 0;font-size:13px">');
    out.push(
      '<tr><th style="text-align:left;padding:2px 8px">input</th><th style="padding:2px 8px">lines</th><th style="text-align:left;padding:2px 8px">span</th></tr>',
    );
    for (const i of report.inputs) {
      const span = i.first ? `${i.first} → ${i.last ?? '?'}` : '';
      const errs = i.errors.map((e) => `<div style="color:#c62828">! ${esc(e)}</div>`).join('');
      out.push(
        `<tr><td style="padding:2px 8px;${MONO}">${esc(i.source)}${errs}</td><td style="padding:2px 8px;text-align:right">${i.lines}</td><td style="padding:2px 8px">${esc(span)}</td></tr>`,
      );
    }
    out.push('</table>');
  }
  const byId = new Map(report.findings.map((f) => [f.id, f]));
  for (const sev of [...SEVERITIES].reverse()) {
    const group = ordered(report, sev);
    if (!group.length) continue;
    out.push(
      `<h2 style="font-size:16px;color:${COLOR[sev]};border-bottom:1px solid #ddd;margin:20px 0 4px">${sev.toUpperCase()} (${group.length})</h2>`,
    );
    for (const f of group) out.push(findingHtml(f, byId));
  }
  if (report.unrecognized.length) {
    out.push(
      `<h2 style="font-size:16px;color:#555;border-bottom:1px solid #ddd;margin:20px 0 4px">UNRECOGNISED (${report.unrecognized.length})</h2>`,
      '<p style="color:#555;font-size:13px;margin:4px 0">Messages that look like trouble and that no rule knows, grouped by template.</p>',
      '<table style="border-collapse:collapse;font-size:13px">',
    );
    for (const u of report.unrecognized) {
      const see = u.related.length ? `<div style="color:#555">see: ${esc(u.related.join(', '))}</div>` : '';
      out.push(
        `<tr><td style="padding:2px 8px;text-align:right;vertical-align:top">${u.count}×</td><td style="padding:2px 8px"><code style="${MONO}">${esc(u.template)}</code><div style="${MONO};color:#666">e.g. ${esc(u.example)}</div>${see}</td></tr>`,
      );
    }
    out.push('</table>');
  }
  out.push(
    `<p style="color:#888;font-size:12px">xendoctor ${esc(report.version)}: ${esc(summaryLine(report.summary))}</p>`,
    '</body></html>',
  );
  return out.join('\n') + '\n';
}
