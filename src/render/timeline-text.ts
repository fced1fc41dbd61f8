/**
 * Text report of `xendoctor timeline`: the incidents led by their root cause and its fix, then the
 * merged chronology (findings among boots, gaps and missing evidence, with hourly line counts), the
 * hosts × severity table and the findings shared across hosts; with `--around`, the merged lines of
 * the window. All log text goes through safeText.
 */
import type { Finding, Severity } from '../types.js';
import { SEVERITIES } from '../types.js';
import type { ChainNode, Mark, TimelineReport } from '../timeline/model.js';
import { safeText } from './sanitize.js';
import { BOLD, COLORS, DIM, plural, renderFindingText, RESET, summaryLine, unrecognizedText } from './text.js';

export interface TimelineTextOptions {
  color: boolean;
  quiet?: boolean;
  width?: number;
}

const MARK_LABEL: Record<Mark['kind'], string> = {
  boot: 'BOOT',
  'xen-boot': 'XEN BOOT',
  gap: 'GAP',
  'rotation-gap': 'ROTATION GAP',
  missing: 'MISSING',
  undated: 'UNDATED',
};

/** "2026-11-20 08:01:10Z" from an ISO time. */
export function stamp(iso: string | null): string {
  return iso === null ? 'time unknown' : iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

/** The same day as `ref`: only the time of day. */
function short(iso: string, ref: string | null): string {
  return ref !== null && iso.slice(0, 10) === ref.slice(0, 10) ? iso.slice(11).replace(/\.\d+Z$/, 'Z') : stamp(iso);
}

interface Entry {
  time: string | null;
  order: number;
  lines: string[];
}

/** Render the timeline report as text. */
export function renderTimelineText(report: TimelineReport, opts: TimelineTextOptions): string {
  const c = (code: string, s: string) => (opts.color ? `${code}${s}${RESET}` : s);
  const tl = report.timeline;
  const byId = new Map(report.findings.map((f) => [f.id, f]));
  const out: string[] = [];
  const hostsNamed = tl.hosts.filter((h) => h.host !== null).length;
  const firsts = report.inputs.map((i) => i.first).filter((x): x is string => x !== null);
  const lasts = report.inputs.map((i) => i.last).filter((x): x is string => x !== null);
  const lines = report.inputs.reduce((n, i) => n + i.lines, 0);
  const span = firsts.length ? ` ${stamp(firsts.sort()[0]!)} → ${stamp(lasts.sort()[lasts.length - 1] ?? null)}` : '';
  out.push(
    c(
      BOLD,
      `xendoctor timeline: ${plural(hostsNamed, 'host')}, ${plural(report.inputs.length, 'input')}, ${plural(lines, 'line')}${span} (times in UTC)`,
    ),
  );
  if (!opts.quiet) {
    for (const i of report.inputs) {
      out.push(`  read ${safeText(i.source)}: ${i.lines} lines${i.first ? `, ${stamp(i.first)} → ${stamp(i.last)}` : ''}`);
      for (const e of i.errors) out.push(`    ! ${safeText(e)}`);
    }
  }
  out.push('');

  // ---- incidents, root cause first (with --around: those that reach into the window)
  const win = tl.window;
  const overlaps = (f: Finding) => win === null || (f.first !== null && f.first <= win.to && (f.last ?? f.first) >= win.from);
  const chained = tl.incidents.filter((i) => i.findings.length > 1 && (win === null || i.findings.some((id) => overlaps(byId.get(id)!))));
  if (chained.length) {
    out.push(c(BOLD, `== ROOT CAUSES (${chained.length}) ==`), '');
    chained.forEach((inc, n) => {
      const root = byId.get(inc.root)!;
      out.push(
        `${n + 1}. ${c(COLORS[inc.severity], inc.severity.toUpperCase())}  ${c(BOLD, safeText(root.title))}  ${c(DIM, `[${root.rule}]`)}`,
        `   root cause on ${safeText(inc.host ?? 'unknown host')}${root.first ? ` at ${stamp(root.first)}` : ' (undated)'}; ${plural(inc.findings.length, 'finding')} in the chain${inc.first ? `, ${stamp(inc.first)} → ${stamp(inc.last)}` : ''}`,
        '   chain:',
      );
      const walk = (node: ChainNode, prefix: string, last: boolean, top: boolean) => {
        const f = byId.get(node.finding)!;
        const branch = top ? '' : last ? '└─ ' : '├─ ';
        const when = f.first ? short(f.first, top ? null : root.first) : 'time unknown';
        out.push(
          `     ${prefix}${branch}${when}  ${c(COLORS[f.severity], f.severity.toUpperCase())}  ${safeText(f.title)} ${c(DIM, `[${f.rule}]`)}${f.count > 1 ? ` ×${f.count}` : ''}`,
        );
        const childPrefix = top ? '' : prefix + (last ? '   ' : '│  ');
        node.effects.forEach((e, k) => walk(e, childPrefix, k === node.effects.length - 1, false));
      };
      walk(inc.chain, '', true, true);
      out.push('   fix the root cause first:');
      inc.fix.forEach((s, k) => out.push(`     ${k + 1}. ${safeText(s)}`));
      out.push('');
    });
  }

  // ---- the chronology
  const within = (iso: string | null) => win === null || (iso !== null && iso >= win.from && iso <= win.to);
  const rootOf = new Map<string, number>();
  chained.forEach((inc, n) => inc.findings.forEach((id) => rootOf.set(id, n + 1)));
  const entries: Entry[] = [];
  let order = 0;
  for (const f of report.findings) {
    const t = f.first;
    if (win !== null && !within(t) && !(f.last !== null && t !== null && t <= win.to && f.last >= win.from)) continue;
    const inc = rootOf.get(f.id);
    const tag = inc === undefined ? '' : c(DIM, f.causedBy.length ? `  (incident ${inc})` : `  (root cause of incident ${inc})`);
    const first = f.evidence[0];
    entries.push({
      time: t,
      order: order++,
      lines: [
        `${c(COLORS[f.severity], f.severity.toUpperCase().padEnd(8))} ${safeText(f.host ?? '-')}  ${safeText(f.title)} ${c(DIM, `[${f.rule}]`)}${f.count > 1 ? ` ×${f.count}` : ''}${f.last && f.last !== f.first ? ` until ${stamp(f.last)}` : ''}${f.harmless ? ' (harmless)' : ''}${tag}`,
        ...(first ? [`${c(DIM, '   | ' + safeText(first.text))}`] : []),
      ],
    });
  }
  for (const m of tl.marks) {
    if (!within(m.time) && !(m.end && m.time && m.time <= (win?.to ?? '') && m.end >= (win?.from ?? ''))) continue;
    const label = MARK_LABEL[m.kind];
    const until = m.end ? ` → ${m.time ? short(m.end, m.time) : stamp(m.end)}` : '';
    entries.push({
      time: m.time,
      order: order++,
      lines: [`${c(BOLD, `◆ ${label}`)}${until}  ${safeText(m.host ?? '-')}  ${safeText(m.text)}`],
    });
  }
  entries.sort((a, b) => ((a.time ?? '9') < (b.time ?? '9') ? -1 : (a.time ?? '9') > (b.time ?? '9') ? 1 : a.order - b.order));
  const hourly = new Map<string, { host: string | null; lines: number; hits: Record<Severity, number> }[]>();
  for (const h of tl.hours) {
    const l = hourly.get(h.hour) ?? [];
    l.push(h);
    hourly.set(h.hour, l);
  }
  out.push(c(BOLD, win ? `== AROUND ${stamp(win.from)} → ${stamp(win.to)} ==` : '== TIMELINE (UTC) =='), '');
  let hour = '';
  for (const e of entries) {
    if (e.time === null) {
      if (hour !== 'unknown') out.push(c(DIM, '── time unknown ──'));
      hour = 'unknown';
      out.push(`  ${'?'.padEnd(9)} ${e.lines[0]}`, ...e.lines.slice(1).map((l) => `  ${''.padEnd(9)} ${l}`));
      continue;
    }
    const h = `${e.time.slice(0, 13)}:00:00Z`;
    if (h !== hour) {
      hour = h;
      const rows = hourly.get(h) ?? [];
      const desc = rows
        .slice(0, 6)
        .map((r) => {
          const hits = [...SEVERITIES]
            .reverse()
            .filter((s) => r.hits[s] > 0)
            .map((s) => `${r.hits[s]} ${s}`)
            .join(', ');
          return `${safeText(r.host ?? '-')} ${r.lines} lines${hits ? ` (${hits})` : ''}`;
        })
        .join(' · ');
      out.push(
        c(DIM, `── ${stamp(h).slice(0, 16)} ──${desc ? ` ${desc}` : ''}${rows.length > 6 ? ` · ${rows.length - 6} more hosts` : ''}`),
      );
    }
    out.push(`  ${e.time.slice(11, 19)}  ${e.lines[0]}`, ...e.lines.slice(1).map((l) => `  ${''.padEnd(8)}  ${l}`));
  }
  if (entries.length === 0) out.push('  nothing to show');
  out.push('');

  if (win) {
    const ev = new Map<string, Finding>();
    for (const f of report.findings) for (const e of f.evidence) ev.set(`${e.source}\0${e.line}`, f);
    out.push(c(BOLD, `== LINES ${stamp(win.from)} → ${stamp(win.to)} (all inputs, merged) ==`), '');
    for (const l of win.lines) {
      const f = ev.get(`${l.source}\0${l.line}`);
      const mark = f ? c(COLORS[f.severity], '▶') : ' ';
      out.push(
        `${mark} ${stamp(l.time)}  ${safeText(l.host ?? '-')}  ${c(DIM, `${safeText(l.source)}:${l.line}`)}  ${safeText(l.text)}${f ? c(DIM, `  [${f.rule}]`) : ''}`,
      );
    }
    if (win.omitted) out.push(`  … ${win.omitted} more lines in the window not shown (narrow --window)`);
    if (win.lines.length === 0) out.push('  no dated line in this window');
    out.push('');
  }

  // ---- the fleet
  if (tl.hosts.length > 1 || tl.shared.length) {
    out.push(c(BOLD, '== HOSTS =='), '');
    const w = Math.max(6, ...tl.hosts.map((h) => (h.host ?? '(no host)').length));
    out.push(`  ${'host'.padEnd(w)}  ${'lines'.padStart(9)}  boots  critical  error  warning  info`);
    for (const h of tl.hosts) {
      const f = h.findings;
      out.push(
        `  ${safeText(h.host ?? '(no host)').padEnd(w)}  ${String(h.lines).padStart(9)}  ${String(h.boots).padStart(5)}  ${String(f.critical).padStart(8)}  ${String(f.error).padStart(5)}  ${String(f.warning).padStart(7)}  ${String(f.info).padStart(4)}`,
      );
    }
    out.push('');
    if (tl.shared.length) {
      out.push(c(BOLD, '== SHARED ACROSS HOSTS =='), '');
      for (const s of tl.shared) {
        out.push(
          `  ${c(COLORS[s.severity], s.severity.toUpperCase())}  ${s.rule} on ${plural(s.hosts.length, 'host')}: ${s.hosts.map(safeText).join(', ')} (${s.count} hits)`,
        );
      }
      out.push('');
    }
  }

  // ---- the findings in full
  const shown = win
    ? report.findings.filter((f) => within(f.first) || (f.first !== null && f.last !== null && f.first <= win.to && f.last >= win.from))
    : report.findings;
  if (shown.length) {
    out.push(c(BOLD, `== FINDINGS (${shown.length}) ==`), '');
    for (const f of shown) out.push(...renderFindingText(f, byId, { color: opts.color, width: opts.width }), '');
  }
  out.push(...unrecognizedText(report.unrecognized, (h) => c(BOLD, h)));
  if (!opts.quiet) out.push(`xendoctor ${report.version}: ${summaryLine(report.summary)}`);
  return out.join('\n').replace(/\n+$/, '') + '\n';
}
