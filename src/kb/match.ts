/**
 * A pasted log line: run it through the real pipeline (`Engine.read`, as every command does) and say which rules'
 * signatures it carries, with the finding each would make (title, diagnosis and fix filled in
 * with the line's values). Thresholds are set aside: one line shows whether a rule recognises it,
 * not whether it would fire.
 */
import { parseLine } from '../parse/line.js';
import { Engine } from '../engine/engine.js';
import type { Rule } from '../engine/catalogue.js';
import type { TimeContext } from '../parse/time.js';
import type { Finding, LogEvent } from '../types.js';

export interface LineMatch {
  finding: Finding;
  /** The rule only reports after several such lines (its threshold), shown for the operator. */
  threshold: string | null;
}

/** The time context of a pasted line: a log line of today, in UTC. */
function pastedContext(now: number): TimeContext {
  return { zone: 'UTC', year: null, reference: now };
}

/** Parse a pasted line as a log line of today. */
export function parsePasted(text: string, now = Date.now()): LogEvent {
  return parseLine(text, pastedContext(now));
}

/** The rules that recognise this line (a few lines: a multi-line report), as findings. */
export function matchLines(lines: string[], rules: Rule[], now = Date.now()): LineMatch[] {
  const loose = rules.map((r) => ({ ...r, threshold: null }));
  const engine = new Engine(loose);
  const ctx = pastedContext(now);
  lines.forEach((text, i) => engine.read(text, { source: 'pasted', line: i + 1, host: null, ctx, candidate: true, before: lines[i - 1] }));
  engine.endInput();
  const byId = new Map(rules.map((r) => [r.id, r]));
  return engine.findings().map((finding) => {
    const th = byId.get(finding.rule)?.spec.threshold;
    return {
      finding,
      threshold: th
        ? `${th.count}${th.distinct ? ` different ${th.distinct} values` : ' such lines'}${th.within ? ` within ${th.within}` : ''}`
        : null,
    };
  });
}

/** Does a query look like a log line rather than a few words? */
export function looksLikeLogLine(query: string, ev: LogEvent): boolean {
  if (ev.format !== 'plain') return true;
  return /[:=[\]()<>/]|\b\d{2,}\b|\b0x[0-9a-f]+\b/i.test(query) && query.trim().split(/\s+/).length >= 3;
}
