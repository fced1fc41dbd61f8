/**
 * Incidents and the fleet view, from findings alone: a root finding plus everything caused by it
 * (the engine's `causedBy` links, written in the rule files' `follows:`), the hosts × severity table,
 * and the rules that fire on several hosts. Pure functions: the scan report's HTML uses them too.
 */
import type { Finding, Severity } from '../types.js';
import { SEVERITIES, severityRank } from '../types.js';
import type { ChainNode, HostSummary, Incident, SharedFinding } from './model.js';

const byTime = (a: Finding, b: Finding) =>
  (a.first ?? '9') < (b.first ?? '9') ? -1 : (a.first ?? '9') > (b.first ?? '9') ? 1 : severityRank(b.severity) - severityRank(a.severity);

function worst(fs: Finding[]): Severity {
  let w: Severity = 'info';
  for (const f of fs) if (severityRank(f.severity) > severityRank(w)) w = f.severity;
  return w;
}

/**
 * The tree of an incident: each finding hangs under its cause on the longest way from the root (the
 * latest cause on a tie), so page-allocation failure → OOM kill → hung task is one branch, though the
 * hung task names both as causes. A depth-first walk along the effects drops the edges that close a
 * cycle; its reverse finishing order is topological. What the root does not lead to (another root of
 * a shared effect, with its own branch; a cycle no root leads to, from its earliest finding) hangs
 * under the root too, as an effect it did not cause. Children are in time order.
 */
export function causeTree(members: Finding[], root: Finding): ChainNode {
  const byId = new Map(members.map((f) => [f.id, f]));
  const causes = (f: Finding) => f.causedBy.filter((c) => c !== f.id && byId.has(c));
  const effects = new Map<string, Finding[]>();
  for (const f of members) for (const c of causes(f)) (effects.get(c) ?? effects.set(c, []).get(c)!).push(f);
  const parent = new Map<string, string>();
  const seen = new Set<string>();
  const hang = (from: Finding[]) => {
    const finished: Finding[] = [];
    const visit = (f: Finding) => {
      seen.add(f.id);
      for (const e of effects.get(f.id) ?? []) if (!seen.has(e.id)) visit(e);
      finished.push(f);
    };
    for (const r of from) if (!seen.has(r.id)) visit(r);
    const depth = new Map<string, number>(from.map((r) => [r.id, 0]));
    const rank = new Map(finished.map((f, i) => [f.id, i]));
    for (const f of finished.reverse()) {
      for (const e of effects.get(f.id) ?? []) {
        // an edge to a finding not finished before this one closes a cycle (or leads to a root)
        if (!rank.has(e.id) || rank.get(e.id)! > rank.get(f.id)! || depth.get(e.id) === 0) continue;
        const d = depth.get(f.id)! + 1;
        const p = parent.get(e.id);
        if (d > (depth.get(e.id) ?? -1) || (d === depth.get(e.id) && (f.first ?? '9') > (byId.get(p!)!.first ?? '9'))) {
          depth.set(e.id, d);
          parent.set(e.id, f.id);
        }
      }
    }
  };
  hang([root]);
  const rest = members.filter((f) => !seen.has(f.id));
  const others = rest.filter((f) => !causes(f).some((c) => !seen.has(c)));
  hang(others);
  for (const f of rest) {
    if (seen.has(f.id)) continue;
    others.push(f);
    hang([f]);
  }
  const kids = new Map<string, Finding[]>();
  for (const [id, p] of parent) (kids.get(p) ?? kids.set(p, []).get(p)!).push(byId.get(id)!);
  const node = (f: Finding): ChainNode => ({ finding: f.id, effects: (kids.get(f.id) ?? []).sort(byTime).map(node) });
  const tree = node(root);
  tree.effects.push(...others.sort(byTime).map(node));
  return tree;
}

/**
 * Group findings into incidents: the findings linked through `causedBy` (transitively) form one
 * incident; its root is the finding nothing else caused (the earliest, if there are several or a
 * cycle); its chain is {@link causeTree}. Incidents with a chain come first, then by worst severity, then by time.
 */
export function buildIncidents(findings: Finding[]): Incident[] {
  const byId = new Map(findings.map((f) => [f.id, f]));
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    let r = x;
    while (parent.get(r) !== r) r = parent.get(r)!;
    parent.set(x, r);
    return r;
  };
  for (const f of findings) parent.set(f.id, f.id);
  for (const f of findings) for (const c of f.causedBy) if (byId.has(c) && c !== f.id) parent.set(find(f.id), find(c));
  const groups = new Map<string, Finding[]>();
  for (const f of findings) {
    const r = find(f.id);
    const g = groups.get(r) ?? [];
    g.push(f);
    groups.set(r, g);
  }
  const incidents: Incident[] = [];
  for (const members of groups.values()) {
    members.sort(byTime);
    const roots = members.filter((f) => !f.causedBy.some((c) => byId.has(c) && c !== f.id));
    const root = (roots.length ? roots : members)[0]!;
    const chain = causeTree(members, root);
    const firsts = members.map((m) => m.first).filter((x): x is string => x !== null);
    const lasts = members.map((m) => m.last).filter((x): x is string => x !== null);
    const order: string[] = [];
    const walk = (n: ChainNode) => {
      order.push(n.finding);
      n.effects.forEach(walk);
    };
    walk(chain);
    incidents.push({
      root: root.id,
      rule: root.rule,
      title: root.title,
      host: root.host,
      severity: worst(members),
      first: firsts.length ? firsts.sort()[0]! : null,
      last: lasts.length ? lasts.sort()[lasts.length - 1]! : null,
      findings: order,
      chain,
      fix: root.fix,
    });
  }
  const harmless = (i: Incident) => i.findings.every((id) => byId.get(id)!.harmless);
  return incidents.sort(
    (a, b) =>
      Number(harmless(a)) - Number(harmless(b)) ||
      Number(b.findings.length > 1) - Number(a.findings.length > 1) ||
      severityRank(b.severity) - severityRank(a.severity) ||
      ((a.first ?? '9') < (b.first ?? '9') ? -1 : (a.first ?? '9') > (b.first ?? '9') ? 1 : 0),
  );
}

const zero = (): Record<Severity, number> => ({ critical: 0, error: 0, warning: 0, info: 0 });

/** Hosts × severity: findings per host, with the line counts and boots the timeline saw (when given). */
export function hostSummaries(
  findings: Finding[],
  seen: Map<string | null, { lines: number; first: number | null; last: number | null; boots: number }> = new Map(),
): HostSummary[] {
  const rows = new Map<string | null, HostSummary>();
  const row = (h: string | null) => {
    let r = rows.get(h);
    if (!r) {
      const s = seen.get(h);
      r = {
        host: h,
        lines: s?.lines ?? 0,
        first: s?.first != null ? new Date(s.first).toISOString() : null,
        last: s?.last != null ? new Date(s.last).toISOString() : null,
        boots: s?.boots ?? 0,
        findings: zero(),
      };
      rows.set(h, r);
    }
    return r;
  };
  for (const h of seen.keys()) row(h);
  for (const f of findings) row(f.host).findings[f.severity]++;
  const score = (r: HostSummary) => SEVERITIES.reduce((n, s) => n * 1000 + r.findings[s], 0);
  return [...rows.values()].sort((a, b) => {
    // worst hosts first: compare critical, then error, warning, info counts
    for (const s of [...SEVERITIES].reverse()) if (a.findings[s] !== b.findings[s]) return b.findings[s] - a.findings[s];
    return score(b) - score(a) || (a.host ?? '~').localeCompare(b.host ?? '~');
  });
}

/** Rules that fired on two or more hosts. */
export function sharedFindings(findings: Finding[]): SharedFinding[] {
  const byRule = new Map<string, Finding[]>();
  for (const f of findings) {
    if (f.host === null) continue;
    const l = byRule.get(f.rule) ?? [];
    l.push(f);
    byRule.set(f.rule, l);
  }
  const out: SharedFinding[] = [];
  for (const [rule, fs] of byRule) {
    const hosts = [...new Set(fs.map((f) => f.host!))].sort();
    if (hosts.length < 2) continue;
    out.push({ rule, title: fs[0]!.title, severity: worst(fs), hosts, count: fs.reduce((n, f) => n + f.count, 0) });
  }
  return out.sort(
    (a, b) => b.hosts.length - a.hosts.length || severityRank(b.severity) - severityRank(a.severity) || a.rule.localeCompare(b.rule),
  );
}
