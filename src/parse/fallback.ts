/**
 * Other readings of a candidate line that no rule matched as parsed, so that a rule never misses
 * only because of what stands before the message:
 *  - a console line glued to the one before it with no newline (serial output interleaves): the
 *    kernel's stamp or the Xen console prefix in the middle of the message starts a line of its own;
 *  - a line whose prefix no form reads (its source unknown): the message may start where a prefix
 *    ends (see mayStart). An anchored pattern still matches only at such a start, never inside a
 *    word or a sentence, and the rule's ignore patterns hold on the whole line too.
 * The engine asks for these only after every rule failed on the line as parsed: the hot path does
 * not see them.
 */
import type { LogEvent } from '../types.js';
import { parseLine } from './line.js';

const GLUED = /\[ *\d+\.\d{3,9}\](?=[ [])|\(XEN\) /g;
/** How far into a line, and at how many places, a message start is looked for. */
const MAX_SCAN = 1024;
const MAX_STARTS = 48;

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 0xa0;
}

/**
 * True when a message may start at `p`: after a bracket, a TAB or a quote, after the line's leading
 * indentation (a line quoted in a document or a mail), or after a space that follows what ends a
 * prefix (a time's digit, ':', ']', '>', '|', ')', ',' or another space). Never after a space
 * between two words: "Starting foo ...done." does not hold a message "...done.".
 */
function mayStart(msg: string, p: number): boolean {
  if (isSpace(msg.charCodeAt(p))) return false;
  const b = msg.charCodeAt(p - 1);
  if (b === 93 /* ] */ || b === 9 || b === 34 /* " */ || b === 39 /* ' */) return true;
  if (b !== 32) return false;
  if (p === 1) return true;
  const bb = msg.charCodeAt(p - 2);
  return (bb >= 48 && bb <= 57) || bb === 58 || bb === 93 || bb === 62 || bb === 124 || bb === 41 || bb === 44 || bb === 32 || bb === 9;
}

/**
 * The other readings of `ev` (parsed from `text`), most specific first (none for most lines). When
 * the parser took the line as a console line glued onto another, the text before the glue (that
 * other line: "... Hotplug scripts not working. (XEN) ...") is read on its own too.
 */
export function otherReadings(ev: LogEvent, text?: string): LogEvent[] {
  const msg = ev.message;
  const out: LogEvent[] = [];
  const ctx = { zone: 'UTC', year: null, reference: ev.time ?? 0 };
  if (text !== undefined && ev.format !== 'plain') {
    GLUED.lastIndex = 0;
    const g = GLUED.exec(text);
    if (g && g.index > 0 && g.index < MAX_SCAN && text.endsWith(msg) && text.length - msg.length >= g.index) {
      const head = parseLine(text.slice(0, g.index), ctx);
      if (head.message.trim() !== '') {
        head.time ??= ev.time;
        head.host ??= ev.host;
        out.push(head);
        if (head.source === 'unknown') out.push(...otherReadings(head));
      }
    }
  }
  GLUED.lastIndex = 0;
  for (let g = GLUED.exec(msg); g && g.index < MAX_SCAN; g = GLUED.exec(msg)) {
    if (g.index === 0) continue;
    const inner = parseLine(msg.slice(g.index), ctx);
    if (inner.format === 'plain') continue;
    inner.time ??= ev.time;
    inner.host ??= ev.host;
    out.push(inner);
  }
  if (ev.source !== 'unknown') return out;
  const end = Math.min(msg.length, MAX_SCAN);
  let starts = 0;
  for (let p = 1; p < end && starts < MAX_STARTS; p++) {
    if (!mayStart(msg, p)) continue;
    out.push({ ...ev, message: msg.slice(p) });
    starts++;
  }
  return out;
}
