/**
 * Findings: a fired group becomes a `Finding` (title, diagnosis and fix filled with its values,
 * evidence, stable id); lines that name no host join the one host the others name; findings are
 * linked to their root causes (`causedBy`) and sorted worst first.
 */
import { createHash } from 'node:crypto';
import type { Evidence, Finding, Severity } from '../types.js';
import { severityRank } from '../types.js';
import { toIso } from '../parse/time.js';
import type { HostFacts } from './facts.js';
import { groupKey, mergeGroups, type Group } from './groups.js';

/**
 * The one placeholder filler (log rules and config checks): `{name}` takes its value, `{{` and `}}`
 * stand for literal braces, and a name without a value stays visible as `<name>`.
 */
export function fillPlaceholders(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{\{|\}\}|\{([A-Za-z_]\w*)\}/g, (m, name: string | undefined) =>
    m === '{{' ? '{' : m === '}}' ? '}' : values[name!] !== undefined ? String(values[name!]) : `<${name}>`,
  );
}

/** Stable id of a finding: a fingerprint of rule, host and key (scripts and mail filters key on it). */
export function findingId(rule: string, host: string | null, key: Record<string, string>): string {
  const keyText = JSON.stringify(
    Object.keys(key)
      .sort()
      .map((k) => [k, key[k]]),
  );
  return createHash('sha1')
    .update(`${rule}\0${host ?? ''}\0${keyText}`)
    .digest('hex')
    .slice(0, 16);
}

/** What makes a finding; the rest (id, causes, defaults) is filled in by `buildFinding`. */
export interface FindingParts {
  rule: string;
  title: string;
  severity: Severity;
  host: string | null;
  key: Record<string, string>;
  count: number;
  first: string | null;
  last: string | null;
  evidence: Evidence[];
  diagnosis: string;
  fix: string[];
  references?: string[];
  harmless?: boolean;
  tags?: string[];
}

/** The one builder of a Finding (log rules, config checks, the baseline's findings): fields in the order of the JSON contract. */
export function buildFinding(p: FindingParts): Finding {
  return {
    id: findingId(p.rule, p.host, p.key),
    rule: p.rule,
    title: p.title,
    severity: p.severity,
    host: p.host,
    key: p.key,
    count: p.count,
    first: p.first,
    last: p.last,
    evidence: p.evidence,
    diagnosis: p.diagnosis,
    fix: p.fix,
    references: p.references ?? [],
    harmless: p.harmless ?? false,
    causedBy: [],
    tags: p.tags ?? [],
  };
}

/** The finding of a group, its texts filled with the group's values. */
export function toFinding(g: Group): Finding {
  const values: Record<string, string> = { ...g.captures, ...g.key, host: g.host ?? '<host>' };
  const evidence: Evidence[] = [];
  for (const h of g.hits) evidence.push({ source: h.source, line: h.line, time: toIso(h.time), text: h.text }, ...h.block);
  const l = g.latest;
  if (l && g.count > g.hits.length) evidence.push({ source: l.source, line: l.line, time: toIso(l.time), text: l.text });
  const spec = g.rule.spec;
  const f = buildFinding({
    rule: g.rule.id,
    title: fillPlaceholders(spec.title, values),
    severity: g.rule.severity,
    host: g.host,
    key: g.key,
    count: g.count,
    first: toIso(g.first),
    last: toIso(g.last),
    evidence,
    diagnosis: fillPlaceholders(spec.diagnosis.trim(), values),
    fix: spec.fix.map((s) => fillPlaceholders(s, values)),
    references: spec.references,
    harmless: spec.harmless,
    tags: spec.tags,
  });
  // the first hit's captures, for tests and templates; not part of the JSON output
  Object.defineProperty(f, 'captures', { value: { ...g.captures }, enumerable: false });
  return f;
}

/**
 * When the lines that matched name exactly one host, the lines that name none (the hypervisor console,
 * `xl` output, a dmesg capture beside that host's syslog) are that host's too: their groups and
 * facts join the host's, so one problem is one finding, not one with the host and one without.
 */
export function adoptHostless(groups: Map<string, Group>, facts: Map<string, HostFacts>): void {
  // the hosts of the lines that matched some rule (the same on the fast path and the slow one;
  // the lines that only carry facts are not, and do not count)
  const named = new Set<string>();
  for (const g of groups.values()) if (g.host !== null) named.add(g.host);
  if (named.size !== 1) return;
  const host = [...named][0]!;
  const loose = facts.get('');
  if (loose) {
    facts.set(host, { ...loose, ...facts.get(host) });
    facts.delete('');
  }
  for (const [k, g] of [...groups]) {
    if (g.host !== null) continue;
    groups.delete(k);
    const gk = groupKey(g.rule.id, host, g.key);
    const mine = groups.get(gk);
    if (!mine) {
      g.host = host;
      groups.set(gk, g);
      continue;
    }
    mergeGroups(mine, g);
  }
}

/** Root causes: a finding follows another rule's finding on the same host within the rule's window. */
export function linkCauses(out: { f: Finding; g: Group }[]): void {
  for (const { f, g } of out) {
    for (const dep of g.rule.follows) {
      for (const { f: cf, g: cg } of out) {
        if (cf === f || cg.rule.id !== dep.rule || cg.host !== g.host) continue;
        let linked: boolean;
        if (g.first !== null && cg.first !== null && cg.last !== null) {
          linked = cg.first <= g.first && g.first <= cg.last + dep.within;
        } else {
          linked = cg.firstSeq <= g.firstSeq;
        }
        if (linked && !f.causedBy.includes(cf.id)) f.causedBy.push(cf.id);
      }
    }
  }
}

/** The one order of findings everywhere (scan, timeline, report, check): worst first; then by time, rule id, key. */
export function compareFindings(a: Finding, b: Finding): number {
  const s = severityRank(b.severity) - severityRank(a.severity);
  if (s !== 0) return s;
  if (a.first !== b.first) return (a.first ?? '9') < (b.first ?? '9') ? -1 : 1;
  if (a.rule !== b.rule) return a.rule < b.rule ? -1 : 1;
  const ka = JSON.stringify(a.key);
  const kb = JSON.stringify(b.key);
  if (ka !== kb) return ka < kb ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Count findings per severity. */
export function summarize(findings: Finding[]): Record<Severity, number> {
  const s: Record<Severity, number> = { critical: 0, error: 0, warning: 0, info: 0 };
  for (const f of findings) s[f.severity]++;
  return s;
}
