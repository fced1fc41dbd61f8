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
export type FindingParts = Pick<
  Finding,
  'rule' | 'title' | 'severity' | 'host' | 'key' | 'count' | 'first' | 'last' | 'evidence' | 'diagnosis' | 'fix'
> &
  Partial<Pick<Finding, 'references' | 'harmless' | 'tags'>>;

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
  for (const [name, list] of Object.entries(g.collected)) if (list.length) values[name] = list.join(', ');
  // cases: chosen by what was captured; the first matching title, every matching case's fix steps first
  let title = g.rule.spec.title;
  let titled = false;
  const caseFix: string[] = [];
  for (const c of g.rule.cases) {
    if (!c.when.every(([name, re]) => values[name] !== undefined && re.test(values[name]))) continue;
    if (c.title && !titled) {
      title = c.title;
      titled = true;
    }
    caseFix.push(...c.fix);
  }
  const evidence: Evidence[] = [];
  for (const h of g.hits)
    evidence.push(...(h.before ?? []), { source: h.source, line: h.line, time: toIso(h.time), text: h.text }, ...h.block);
  const l = g.latest;
  // (after a hostless group joined its host's, the first hits are sorted by time and the latest is
  // the last read: it can be one of them, shown once)
  if (l && g.count > g.hits.length && !g.hits.some((h) => h.source === l.source && h.line === l.line && h.seq === l.seq))
    evidence.push({ source: l.source, line: l.line, time: toIso(l.time), text: l.text });
  const spec = g.rule.spec;
  // an overflow group (a flood of distinct keys) says so in its title: `*` is any key not kept apart
  const folded = g.folded
    ? ` (${g.folded.more ? 'more than ' : ''}${g.folded.keys.size} more keys folded into this finding: too many to keep apart)`
    : '';
  const f = buildFinding({
    rule: g.rule.id,
    title: fillPlaceholders(title, values) + folded,
    severity: g.rule.severity,
    host: g.host,
    key: g.key,
    count: g.count,
    first: toIso(g.first),
    last: toIso(g.last),
    evidence,
    diagnosis: fillPlaceholders(spec.diagnosis.trim(), values),
    fix: [...caseFix, ...spec.fix].map((s) => fillPlaceholders(s, values)),
    references: spec.references,
    harmless: spec.harmless,
    tags: spec.tags,
  });
  // the first hit's captures, for tests and templates; not part of the JSON output
  const collected = Object.fromEntries(
    Object.keys(g.collected)
      .filter((n) => values[n] !== undefined)
      .map((n) => [n, values[n]!]),
  );
  Object.defineProperty(f, 'captures', { value: { ...g.captures, ...collected }, enumerable: false });
  return f;
}

/**
 * When the lines that matched name exactly one host, the lines that name none (the hypervisor console,
 * `xl` output, a dmesg capture beside that host's syslog) are that host's too: their groups and
 * facts join the host's, so one problem is one finding, not one with the host and one without.
 */
export function adoptHostless(groups: Map<string, Group>, facts: Map<string, HostFacts>): string | null {
  // the hosts of the lines that matched some rule (the same on the fast path and the slow one;
  // the lines that only carry facts are not, and do not count)
  const named = new Set<string>();
  for (const g of groups.values()) if (g.host !== null) named.add(g.host);
  if (named.size !== 1) return null;
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
  return host;
}

/**
 * Root causes: a finding follows another rule's finding of the same host (or, for lines that name
 * no host, of the same capture) when both times are known and the cause began before, within the
 * rule's window; undated, only within one capture (a serial console), the cause's lines first.
 * A `follows` of `certainty: possible` (an untested observation) gives `possiblyRelated` instead.
 */
export function linkCauses(out: { f: Finding; g: Group }[]): void {
  // by rule: a flood of one rule's findings is not compared with every other finding
  const byRule = new Map<string, { f: Finding; g: Group }[]>();
  for (const o of out) {
    const list = byRule.get(o.g.rule.id);
    if (list) list.push(o);
    else byRule.set(o.g.rule.id, [o]);
  }
  for (const { f, g } of out) {
    for (const dep of g.rule.follows) {
      for (const { f: cf, g: cg } of byRule.get(dep.rule) ?? []) {
        if (cf === f || !sameMachine(g, cg)) continue;
        if (g.first !== null && cg.first !== null && cg.last !== null) {
          if (!(cg.first <= g.first && g.first <= cg.last + dep.within)) continue;
        } else if (g.first !== null || cg.first !== null || !sameCapture(g, cg) || cg.firstSeq > g.firstSeq) continue;
        const list = dep.possible ? (f.possiblyRelated ??= []) : f.causedBy;
        if (!list.includes(cf.id)) list.push(cf.id);
      }
    }
  }
}

/** Two groups are of one machine: the same named host, or no host and lines of the same capture. */
function sameMachine(a: Group, b: Group): boolean {
  if (a.host !== null || b.host !== null) return a.host === b.host;
  return sameCapture(a, b);
}

/** Both groups' first lines come from one input. */
function sameCapture(a: Group, b: Group): boolean {
  const src = (g: Group) => g.hits[0]?.source ?? null;
  return src(a) !== null && src(a) === src(b);
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
