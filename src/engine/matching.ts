/**
 * Matching: one parsed line against one rule (sources, programs, patterns, ignore, where), and what
 * a multi-line report adds to its first line's hit (a key on a later line, the call trace's
 * fingerprint). The engine (engine.ts) decides which rules a line is tried against.
 */
import type { Evidence, LogEvent } from '../types.js';
import type { Rule } from './catalogue.js';

/** One rule hit on one line, with the lines of its report when it spans several. */
export interface Hit {
  rule: Rule;
  captures: Record<string, string>;
  event: LogEvent;
  source: string;
  line: number;
  text: string;
  seq: number;
  /** Continuation lines of a multi-line report, and their messages (prefixes stripped). */
  block: Evidence[];
  blockMessages: string[];
}

const TRACE_FRAME = /^\s*(?:\[<[0-9a-f]+>\]\s*)?(\?\s*)?([A-Za-z_][\w.]*)\+0x[0-9a-f]+\/0x[0-9a-f]+/;
/** Frames of the fault and report machinery, the same in every oops: they tell nothing apart. */
const GENERIC_FRAMES = new Set([
  'dump_stack',
  'dump_stack_lvl',
  'show_stack',
  '__die',
  '__die_body',
  'die',
  'oops_end',
  'no_context',
  'page_fault_oops',
  'kernelmode_fixup_or_oops',
  '__bad_area_nosemaphore',
  'bad_area_nosemaphore',
  'bad_area',
  'do_page_fault',
  '__do_page_fault',
  'do_user_addr_fault',
  'exc_page_fault',
  'asm_exc_page_fault',
  'page_fault',
  'do_trap',
  'do_error_trap',
  'do_invalid_op',
  'exc_invalid_op',
  'asm_exc_invalid_op',
  'invalid_op',
  'handle_bug',
  'do_general_protection',
  'exc_general_protection',
  'asm_exc_general_protection',
  'general_protection',
  'error_entry',
  'watchdog_timer_fn',
  '__hrtimer_run_queues',
]);

/** The first meaningful frames of a call trace (messages, prefixes stripped), as a stable fingerprint of an oops. */
export function traceFingerprint(messages: string[]): string {
  const frames: string[] = [];
  let inTrace = false;
  for (const l of messages) {
    if (/Call Trace:/.test(l)) inTrace = true;
    if (!inTrace && !/^\s*\[<[0-9a-f]+>\]/.test(l)) continue;
    const m = TRACE_FRAME.exec(l);
    if (m && !m[1] && !GENERIC_FRAMES.has(m[2]!)) frames.push(m[2]!);
    if (frames.length >= 4) break;
  }
  if (frames.length === 0) {
    for (const l of messages) {
      const m = /(?:RIP|EIP|IP|PC is at|pc :)\s*:?\s*(?:[0-9a-f]{4}:)?(?:\[<[0-9a-f]+>\]\s*)?([A-Za-z_][\w.]*)\+0x/.exec(l);
      if (m) return m[1]!;
    }
    return '';
  }
  return frames.join(' < ');
}

function whereHolds(rule: Rule, captures: Record<string, string>): boolean {
  const where = rule.spec.where;
  if (!where) return true;
  for (const [name, cond] of Object.entries(where)) {
    const v = Number(captures[name]);
    if (!Number.isFinite(v)) return false;
    if (cond.gt !== undefined && !(v > cond.gt)) return false;
    if (cond.gte !== undefined && !(v >= cond.gte)) return false;
    if (cond.lt !== undefined && !(v < cond.lt)) return false;
    if (cond.lte !== undefined && !(v <= cond.lte)) return false;
    if (cond.eq !== undefined && !(v === cond.eq)) return false;
  }
  return true;
}

/** The captures of a rule's match on a line, or null when the rule does not match it. */
export function matchRule(rule: Rule, ev: LogEvent): Record<string, string> | null {
  if (rule.sources && ev.source !== 'unknown' && !rule.sources.has(ev.source)) return null;
  if (rule.programs && ev.program !== null && !rule.programs.has(ev.program.toLowerCase()) && ev.source === 'daemon') return null;
  let captures: Record<string, string> | null = null;
  for (let p = 0; p < rule.patterns.length; p++) {
    const m = rule.patterns[p]!.exec(ev.message);
    if (m) {
      captures = {};
      const groups = m.groups;
      if (groups) {
        for (const k of rule.groups[p]!) {
          const v = groups[k];
          if (v !== undefined) captures[k] = v;
        }
      }
      break;
    }
  }
  if (!captures) return null;
  // a multi-line rule's ignore patterns hold for its whole report: the engine decides (isIgnored)
  if (rule.continuation === null && isIgnored(rule, ev.message)) return null;
  if (!whereHolds(rule, captures)) return null;
  return captures;
}

/** Whether one of the rule's ignore patterns matches a message. */
export function isIgnored(rule: Rule, message: string): boolean {
  return rule.ignore.length > 0 && rule.ignore.some((re) => re.test(message));
}

/** A key the first line of a multi-line report lacks may stand on a later line (e.g. the OOM victim). */
export function completeFromBlock(hit: Hit): void {
  for (const k of hit.rule.key) {
    if (hit.captures[k] !== undefined) continue;
    for (const msg of hit.blockMessages) {
      const m = hit.rule.patterns.map((re) => re.exec(msg)).find((x) => x?.groups?.[k] !== undefined);
      if (m) {
        for (const [name, v] of Object.entries(m.groups!)) if (v !== undefined && hit.captures[name] === undefined) hit.captures[name] = v;
        break;
      }
    }
  }
}

/** The key of a hit's group: the rule's key captures, and the call trace's fingerprint when the rule asks. */
export function keyOf(hit: Hit): Record<string, string> {
  const key: Record<string, string> = {};
  for (const k of hit.rule.key) if (hit.captures[k] !== undefined) key[k] = hit.captures[k];
  if (hit.rule.traceFingerprint) {
    const fp = traceFingerprint([hit.event.message, ...hit.blockMessages]);
    if (fp) key.trace = fp;
  }
  return key;
}
