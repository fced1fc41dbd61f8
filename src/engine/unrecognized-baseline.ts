/**
 * Baselines of unrecognised messages: the templates a healthy period produced and their usual
 * hourly rates (`xendoctor baseline learn`). Against a baseline, a later scan flags templates never
 * seen before (`unrecognized-novel`) and templates whose busiest hour is far above their usual rate
 * (`unrecognized-burst`), as warning findings.
 */
import { readRegularFile } from '../sources/safe-read.js';
import type { Finding } from '../types.js';
import { parseLine } from '../parse/line.js';
import { toIso } from '../parse/time.js';
import { peakHour, templatesMatch, type MinerState } from './unrecognized.js';
import { buildFinding } from './findings.js';

/** Largest baseline read (one holds at most a few thousand templates). */
const MAX_BASELINE_BYTES = 64 * 1024 * 1024;

export const NOVEL_RULE = 'unrecognized-novel';
export const BURST_RULE = 'unrecognized-burst';

export interface BaselineTemplate {
  template: string;
  count: number;
  /** Lines per hour over the learnt period (null when the lines carried no time). */
  rate: number | null;
  /** The most lines of this template in one clock hour. */
  peak: number;
}

export interface Baseline {
  tool: 'xendoctor';
  kind: 'baseline';
  format: 1;
  created: string;
  /** Length of the learnt period in hours (null: no line carried a time). */
  hours: number | null;
  first: string | null;
  last: string | null;
  lines: number;
  sources: string[];
  templates: BaselineTemplate[];
}

const HOUR = 3600_000;

/** What a scan learnt: its mined templates and the time span of its inputs. */
export interface LearnInput {
  mined: MinerState;
  first: string | null;
  last: string | null;
  lines: number;
  sources: string[];
}

/** A baseline from one healthy period, merged into `previous` when given (`--merge`). */
export function learnBaseline(input: LearnInput, previous: Baseline | null = null, now = Date.now()): Baseline {
  const span = input.first && input.last ? Math.max(1, (Date.parse(input.last) - Date.parse(input.first)) / HOUR) : null;
  const hours = span === null ? (previous?.hours ?? null) : span + (previous?.hours ?? 0);
  const templates: { template: string; count: number; peak: number }[] = (previous?.templates ?? []).map((t) => ({
    template: t.template,
    count: t.count,
    peak: t.peak,
  }));
  for (const t of input.mined.templates) {
    const peak = peakHour(t.hours)?.count ?? 0;
    const known = templates.find((b) => templatesMatch(b.template, t.template));
    if (known) {
      known.count += t.count;
      known.peak = Math.max(known.peak, peak);
    } else templates.push({ template: t.template, count: t.count, peak });
  }
  const round = (x: number) => Math.round(x * 10000) / 10000;
  const firsts = [previous?.first, input.first].filter((x): x is string => !!x).sort();
  const lasts = [previous?.last, input.last].filter((x): x is string => !!x).sort();
  return {
    tool: 'xendoctor',
    kind: 'baseline',
    format: 1,
    created: new Date(now).toISOString(),
    hours: hours === null ? null : round(hours),
    first: firsts[0] ?? null,
    last: lasts[lasts.length - 1] ?? null,
    lines: (previous?.lines ?? 0) + input.lines,
    sources: [...new Set([...(previous?.sources ?? []), ...input.sources])],
    templates: templates
      .sort((a, b) => b.count - a.count || (a.template < b.template ? -1 : 1))
      .map((t) => ({ ...t, rate: hours === null ? null : round(t.count / hours) })),
  };
}

/** Read a baseline file; throws an Error that says what is wrong with it. */
export function readBaseline(path: string): Baseline {
  let data: unknown;
  try {
    data = JSON.parse(readRegularFile(path, { max: MAX_BASELINE_BYTES }));
  } catch (e) {
    throw new Error(`cannot read the baseline ${path}: ${(e as Error).message}`);
  }
  // JSON's null has no fields to read (it once gave "Cannot read properties of null")
  const b = (data ?? {}) as Partial<Baseline>;
  if (b.kind !== 'baseline' || b.format !== 1 || !Array.isArray(b.templates))
    throw new Error(`${path} is not a xendoctor baseline (made by \`xendoctor baseline learn\`)`);
  return b as Baseline;
}

export interface BaselineCheck {
  baseline: Baseline;
  /** The file, for the findings' fix steps. */
  file: string;
  /** A burst is a busiest hour at least this many times the usual hourly rate (default 10). */
  factor?: number;
  /** ... and with at least this many lines (default 10). */
  minCount?: number;
}

/** Quote a text for a POSIX shell. */
function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function short(template: string, max = 100): string {
  return template.length > max ? `${template.slice(0, max - 1)}…` : template;
}

function rateText(r: number | null): string {
  if (r === null) return 'unknown';
  return r >= 1 ? `${Math.round(r * 10) / 10}` : r >= 0.01 ? r.toFixed(2) : r.toExponential(1);
}

/**
 * The findings of a scan's templates against a baseline: one per template never seen before, one
 * per template in a burst. `related` gives each template's closest knowledge-base entries.
 */
export function baselineFindings(mined: MinerState, check: BaselineCheck, related: Map<string, string[]> = new Map()): Finding[] {
  const { baseline, file } = check;
  const factor = check.factor ?? 10;
  const minCount = check.minCount ?? 10;
  const out: Finding[] = [];
  const learnt = `${file} (${baseline.hours === null ? 'a period without times' : `${Math.round(baseline.hours)} h`} from ${baseline.first ?? '?'} to ${baseline.last ?? '?'})`;
  for (const t of mined.templates) {
    const known = baseline.templates.filter((b) => templatesMatch(b.template, t.template));
    const ev = parseLine(t.example, { zone: 'UTC', year: null, reference: t.last ?? Date.now() });
    const host = ev.host;
    const key = { template: t.template };
    const rel = related.get(t.template) ?? [];
    const evidence = [{ source: t.source, line: t.line, time: toIso(t.first), text: t.example }];
    const base = (rule: string, title: string, diagnosis: string, extraFix: string[], around: number | null = t.first): Finding =>
      buildFinding({
        rule,
        title,
        severity: 'warning',
        host,
        key,
        count: t.count,
        first: toIso(t.first),
        last: toIso(t.last),
        evidence,
        diagnosis,
        fix: [
          `Look the message up in the knowledge base: xendoctor explain ${shellQuote(ev.message.length > 300 ? ev.message.slice(0, 300) : ev.message)}`,
          ...(rel.length ? [`Read the closest entries: ${rel.map((id) => `xendoctor explain ${id}`).join('; ')}`] : []),
          ...(around !== null
            ? [`See what else happened on the host then: xendoctor timeline --around ${toIso(around)} --window 30m <logs>`]
            : []),
          ...extraFix,
        ],
        tags: ['unrecognized', rule === NOVEL_RULE ? 'novel' : 'burst'],
      });
    if (known.length === 0) {
      out.push(
        base(
          NOVEL_RULE,
          `New kind of message, not in the baseline: ${short(t.template)}`,
          `A message that looks like trouble, and that no rule of the catalogue recognises, appeared ${t.count} time${t.count === 1 ? '' : 's'}` +
            `${t.first !== null ? ` between ${toIso(t.first)} and ${toIso(t.last)}` : ''}; the baseline ${learnt} never saw a message of its kind:\n` +
            `  ${t.template}\n` +
            'On large hosts faults build up slowly and a message nobody has seen before is often their first sign. ' +
            'Find out what it means before it matters: which device, guest or daemon wrote it, and whether it keeps coming.',
          [
            `If it is normal for this host, learn it into the baseline: xendoctor baseline learn <logs of a healthy period> --state ${shellQuote(file)} --merge`,
            'If it is a real problem, write a rule for it (docs/rule-format.md) so that it comes with its diagnosis and fix next time',
          ],
        ),
      );
      continue;
    }
    const peak = peakHour(t.hours);
    if (!peak) continue;
    const usual = known.some((b) => b.rate === null) ? null : known.reduce((n, b) => n + (b.rate ?? 0), 0);
    const usualPeak = Math.max(...known.map((b) => b.peak));
    if (usual === null || peak.count < minCount || peak.count < factor * usual || peak.count <= usualPeak) continue;
    const ratio = peak.count / Math.max(usual, 1e-9);
    if (t.latest) evidence.push({ source: t.latest.source, line: t.latest.line, time: toIso(t.latest.time), text: t.latest.text });
    out.push(
      base(
        BURST_RULE,
        `Burst of a known message: ${peak.count} in one hour (usually ${rateText(usual)} an hour): ${short(t.template)}`,
        `A message that looks like trouble and that no rule recognises came ${peak.count} times in the hour from ${toIso(peak.hour)}, ` +
          `${ratio > 1000 ? 'more than a thousand' : Math.round(ratio)} times its usual rate ` +
          `of ${rateText(usual)} an hour (at most ${usualPeak} in one hour) in the baseline ${learnt}; ${t.count} in all in this scan:\n` +
          `  ${t.template}\n` +
          'A familiar message that suddenly comes much more often usually means that something it reports on is degrading: a disk, a link, a daemon, a guest.',
        [
          `If the new rate is the new normal (more guests, a changed setup), learn it: xendoctor baseline learn <logs> --state ${shellQuote(file)} --merge`,
        ],
        peak.hour,
      ),
    );
  }
  return out;
}
