/** One line per event of `watch`: a new finding, or the repeats of one folded into a summary. */
import type { Finding, Severity } from '../types.js';
import type { RepeatSummary } from '../live/analyser.js';
import { toIso } from '../parse/time.js';
import { safeJson, safeText } from './sanitize.js';

const COLORS: Record<Severity, string> = { critical: '\x1b[1;35m', error: '\x1b[1;31m', warning: '\x1b[1;33m', info: '\x1b[36m' };
const RESET = '\x1b[0m';
const EVIDENCE_MAX = 240;

/** "3 seconds", "1 minute", "5 minutes", "2 hours". */
export function spanText(ms: number): string {
  const s = Math.max(1, Math.round(ms / 1000));
  const unit = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
  if (s < 120) return unit(s, 'second');
  if (s < 7200) return unit(Math.round(s / 60), 'minute');
  return unit(Math.round(s / 3600), 'hour');
}

/** ISO time to the second. */
function second(ms: number): string {
  return toIso(Math.floor(ms / 1000) * 1000)!;
}

function head(f: Finding, color: boolean, time: string): string {
  const sev = f.severity.toUpperCase().padEnd(8);
  const keys = Object.entries(f.key).map(([k, v]) => `${k}=${v}`);
  return [
    time,
    color ? `${COLORS[f.severity]}${sev}${RESET}` : sev,
    `[${f.rule}]`,
    `${safeText(f.host ?? 'unknown')}:`,
    safeText(f.title) + (keys.length ? ` (${safeText(keys.join(' '))})` : ''),
  ].join(' ');
}

/** A new finding as one text line: when, how bad, which rule, host, title, key, and the line that showed it. */
export function newFindingText(f: Finding, color: boolean, now: number): string {
  const ev = f.evidence[0];
  let where = '';
  if (ev) {
    const t = safeText(ev.text);
    where = ` — ${safeText(ev.source)}:${ev.line}: ${t.length > EVIDENCE_MAX ? `${t.slice(0, EVIDENCE_MAX)}…` : t}`;
  }
  const harmless = f.harmless ? ' (harmless)' : '';
  return `${head(f, color, f.last ?? second(now))}${harmless}${where} · xendoctor rules show ${f.rule}`;
}

/** A repeat summary as one text line. */
export function repeatText(r: RepeatSummary, color: boolean): string {
  const n = r.repeats;
  return `${head(r.finding, color, second(r.until))} — repeated ${n} time${n === 1 ? '' : 's'} in the last ${spanText(r.until - r.since)} (${r.total} in all)`;
}

/** A new finding as one NDJSON record: the finding of the JSON report, with `event: "new"`. */
export function newFindingJson(f: Finding): string {
  return safeJson({ event: 'new', ...f });
}

/** A repeat summary as one NDJSON record. */
export function repeatJson(r: RepeatSummary): string {
  const f = r.finding;
  return safeJson({
    event: 'repeated',
    id: f.id,
    rule: f.rule,
    title: f.title,
    severity: f.severity,
    host: f.host,
    key: f.key,
    repeats: r.repeats,
    since: toIso(r.since),
    until: toIso(r.until),
    count: r.total,
    last: f.last,
  });
}
