/** Text view of one rule for `xendoctor rules show`. */
import type { Rule } from '../engine/catalogue.js';

export function renderRuleText(rule: Rule): string {
  const s = rule.spec;
  const out = [`${s.id} — ${s.title}`, `severity: ${s.severity}${s.harmless ? ' (harmless)' : ''}`];
  if (s.tags?.length) out.push(`tags: ${s.tags.join(', ')}`);
  out.push(`sources: ${(s.sources ?? ['any']).join(', ')}${s.programs ? ` (programs: ${s.programs.join(', ')})` : ''}`);
  out.push('patterns:', ...s.patterns.map((p) => `  ${p}`));
  if (s.ignore?.length) out.push('ignore:', ...s.ignore.map((p) => `  ${p}`));
  if (s.key?.length) out.push(`key: ${s.key.join(', ')}`);
  if (s.threshold)
    out.push(
      `threshold: ${s.threshold.count}${s.threshold.distinct ? ` distinct ${s.threshold.distinct}` : ''}${s.threshold.within ? ` within ${s.threshold.within}` : ''}`,
    );
  if (s.follows?.length) out.push(`follows: ${s.follows.map((f) => `${f.rule} within ${f.within}`).join(', ')}`);
  if (s.applies)
    out.push(
      `applies: ${Object.entries(s.applies)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}`,
    );
  out.push(
    '',
    'diagnosis:',
    ...s.diagnosis
      .trim()
      .split('\n')
      .map((l) => `  ${l}`),
    '',
    'fix:',
  );
  s.fix.forEach((f, i) => out.push(`  ${i + 1}. ${f}`));
  if (s.references?.length) out.push('', 'references:', ...s.references.map((r) => `  ${r}`));
  out.push('', `file: ${rule.file}`);
  return out.join('\n') + '\n';
}
