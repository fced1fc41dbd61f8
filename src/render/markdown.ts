/** Markdown report (for a ticket or a wiki page); every piece of log text escaped. */
import type { ScanReport } from '../types.js';
import { SEVERITIES } from '../types.js';
import { escapeMarkdown, safeText } from './sanitize.js';
import { summaryLine } from './text.js';

/** Code span that cannot be broken out of by backticks in the text. */
function code(s: string): string {
  const t = safeText(s);
  const longest = Math.max(0, ...(t.match(/`+/g) ?? []).map((m) => m.length));
  const fence = '`'.repeat(longest + 1);
  return `${fence} ${t.replace(/\|/g, '\\|')} ${fence}`;
}

export function renderMarkdown(report: ScanReport): string {
  const out: string[] = [`# xendoctor report`, '', `${summaryLine(report.summary)} — xendoctor ${report.version}`, ''];
  out.push('## Inputs', '', '| source | lines | bytes | first | last | errors |', '| --- | ---: | ---: | --- | --- | --- |');
  for (const i of report.inputs) {
    out.push(
      `| ${escapeMarkdown(i.source)} | ${i.lines} | ${i.bytes} | ${i.first ?? ''} | ${i.last ?? ''} | ${escapeMarkdown(i.errors.join('; '))} |`,
    );
  }
  out.push('');
  const byId = new Map(report.findings.map((f) => [f.id, f]));
  for (const sev of [...SEVERITIES].reverse()) {
    const group = report.findings.filter((f) => f.severity === sev);
    if (!group.length) continue;
    out.push(`## ${sev[0]!.toUpperCase()}${sev.slice(1)} (${group.length})`, '');
    for (const f of group) {
      out.push(`### ${escapeMarkdown(f.title)} (\`${f.rule}\`)`, '');
      out.push(
        `- host: ${escapeMarkdown(f.host ?? 'unknown')}; count: ${f.count}; first: ${f.first ?? 'unknown'}; last: ${f.last ?? 'unknown'}${f.harmless ? '; harmless' : ''}`,
      );
      const keys = Object.entries(f.key).map(([k, v]) => `${k}=${escapeMarkdown(v)}`);
      if (keys.length) out.push(`- key: ${keys.join(', ')}`);
      if (f.causedBy.length) out.push(`- caused by: ${f.causedBy.map((id) => `\`${byId.get(id)?.rule ?? id}\``).join(', ')}`);
      if (f.possiblyRelated?.length)
        out.push(`- possibly related (untested): ${f.possiblyRelated.map((id) => `\`${byId.get(id)?.rule ?? id}\``).join(', ')}`);
      out.push('', '**Evidence**', '', '```text');
      for (const e of f.evidence) out.push(safeText(`${e.source}:${e.line}  ${e.text}`).replace(/```/g, '`\u200b``'));
      out.push('```', '', `**Diagnosis.** ${escapeMarkdown(f.diagnosis.replace(/\s+/g, ' '))}`, '', '**Fix**', '');
      f.fix.forEach((s, i) => out.push(`${i + 1}. ${escapeMarkdown(s)}`));
      if (f.references.length) out.push('', `References: ${f.references.map((r) => `<${r}>`).join(' ')}`);
      out.push('');
    }
  }
  if (report.unrecognized.length) {
    out.push('## Unrecognised messages', '', '| count | template | example |', '| ---: | --- | --- |');
    for (const u of report.unrecognized) out.push(`| ${u.count} | ${code(u.template)} | ${code(u.example)} |`);
    out.push('');
  }
  return out.join('\n');
}
