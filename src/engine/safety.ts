/**
 * Catastrophic backtracking: recheck's verdict on a regular expression, with verdicts that come from
 * its fuzzer (not from its automata proof) confirmed by timing the attack it found, grown up to the
 * longest line xendoctor matches. A pattern is unsafe when that attack takes more than a moment; one
 * recheck cannot prove safe (it gave up) is unsafe too, and repeated groups whose body is a repeat
 * (`(a{1,10}){1,10}`, which recheck passes) are caught by a reading of the pattern itself.
 *
 * Whatever the checker says, matching time is bounded: V8 falls back to its linear-time engine after
 * too many backtracks (flags set by bin/xendoctor.js), and a site pattern that engine cannot run is
 * matched with a time budget per line (`boundMatching`): a line that takes longer is cut short (no
 * match) and noted, and after a few such lines the pattern is set aside.
 */
import { createRequire } from 'node:module';
import vm from 'node:vm';
import { MAX_LINE } from '../sources/lines.js';

const lazyRequire = createRequire(import.meta.url);

/** Longest a single match may take on an attack string before the pattern counts as unsafe. */
const SLOW_MS = 100;

interface Pump {
  prefix: string;
  pump: string;
}

/**
 * Time one search of `re` over the attack string with each pump repeated `k` times; a search still
 * running after SLOW_MS is stopped (Infinity): an exponential pattern would otherwise run for hours.
 */
function timeAttack(re: RegExp, pumps: Pump[], suffix: string, k: number): { ms: number; length: number } {
  const s = pumps.map((p) => p.prefix + p.pump.repeat(k)).join('') + suffix;
  const t = performance.now();
  if (execWithin(re, s, SLOW_MS + 1) === TIMED_OUT) return { ms: Infinity, length: s.length };
  return { ms: performance.now() - t, length: s.length };
}

/**
 * A fuzzer's attack is real when growing it makes one search slow before the line-length cap. A
 * search that looks slow (or was cut at SLOW_MS) is timed twice more and the fastest of the three
 * counts: on a loaded machine one search can lose the CPU for longer than SLOW_MS (a linear pattern
 * was once found "slow" that way), while a real attack is slow every time.
 */
function attackIsSlow(source: string, flags: string, pumps: Pump[], suffix: string): boolean {
  if (pumps.length === 0 || pumps.every((p) => p.pump.length === 0)) return false;
  const re = new RegExp(source, flags);
  for (let k = 8; ; k *= 2) {
    const first = timeAttack(re, pumps, suffix, k);
    let ms = first.ms;
    // each timing is cut at SLOW_MS (execWithin), so trying again costs at most 0.2 s more
    for (let again = 0; again < 2 && ms > SLOW_MS; again++) {
      ms = Math.min(ms, timeAttack(re, pumps, suffix, k).ms);
    }
    if (ms > SLOW_MS) return true;
    if (first.length > MAX_LINE) return false;
  }
}

type Diagnostics = ReturnType<typeof import('recheck').checkSync>;

/** The risk in a recheck result (sync or async check), or null when there is none. */
export function riskOf(source: string, flags: string, r: Diagnostics): string | null {
  // recheck gave up (timeout, or a pattern beyond it): not proven safe is not safe
  if (r.status === 'unknown') return `could not be proven safe (the checker gave up: ${r.error.kind})`;
  if (r.status !== 'vulnerable') return null;
  if (r.complexity.isFuzz && !attackIsSlow(source, flags, r.attack.pumps, r.attack.suffix)) return null;
  return `can backtrack catastrophically (${r.complexity.type}); attack string: ${JSON.stringify(r.attack.string.slice(0, 60))}`;
}

/** How long recheck may judge one pattern: XENDOCTOR_RECHECK_TIMEOUT (ms), default 5 s. */
function recheckTimeout(): number {
  const v = Number(process.env.XENDOCTOR_RECHECK_TIMEOUT);
  return Number.isInteger(v) && v > 0 ? v : 5000;
}

/** Patterns recheck could not prove safe (it gave up, e.g. on a loaded machine): always matched with a time budget. */
const unproven = new Set<string>();

/**
 * Why a pattern is unsafe (complexity and an attack string), or null when it may be used. A pattern
 * recheck gives up on is not counted as safe: it is used only under a time budget per line (see
 * `bounded`), since refusing it would make a site rule come and go with the machine's load.
 */
export function backtrackingRisk(source: string, flags: string, timeoutMs = recheckTimeout()): string | null {
  const nested = nestedRepeat(source);
  if (nested) return `can backtrack catastrophically (${nested})`;
  const { checkSync } = lazyRequire('recheck') as typeof import('recheck');
  const r = checkSync(source, flags, { timeout: timeoutMs, randomSeed: 42 });
  if (r.status === 'unknown') {
    unproven.add(`${flags}/${source}`);
    return null;
  }
  return riskOf(source, flags, r);
}

/* ---- nested repeats: the class recheck's automata miss (bounded repeats are not expanded) ---- */

interface Item {
  /** Alternatives of a group (each a sequence), or null for a single-character atom, anchor, escape or backreference. */
  group: Item[][] | null;
  min: number;
  max: number;
}

/**
 * Parse a pattern into sequences of items (groups with their alternatives); enough of the syntax to see
 * repeats. Read without the `u` flag, as rules are compiled (their flags are '' or 'i'): `\u{2}` is `u`
 * twice and `\p{L}` four characters.
 */
function parsePattern(src: string): Item[][] {
  let i = 0;
  /** Just past the next `ch` from `from`, or the end when there is none (never back to the start). */
  const past = (ch: string, from: number): number => {
    const j = src.indexOf(ch, from);
    return j < 0 ? src.length : j + 1;
  };
  const alternatives = (): Item[][] => {
    const alts: Item[][] = [[]];
    while (i < src.length) {
      const c = src[i]!;
      if (c === ')') break;
      if (c === '|') {
        i++;
        alts.push([]);
        continue;
      }
      let item: Item;
      if (c === '(') {
        i++;
        if (src[i] === '?') {
          // (?: (?= (?! (?<= (?<! (?<name>
          i++;
          if (src[i] === '<' && src[i + 1] !== '=' && src[i + 1] !== '!') i = past('>', i);
          else i += src[i] === '<' ? 2 : 1;
        }
        const inner = alternatives();
        i++; // ')'
        item = { group: inner, min: 1, max: 1 };
      } else if (c === '[') {
        i++;
        // no ']' is skipped first: in JavaScript `[]` is a class of nothing and `[^]` of any character
        while (i < src.length && src[i] !== ']') i += src[i] === '\\' ? 2 : 1;
        i++;
        item = { group: null, min: 1, max: 1 };
      } else if (c === '\\') {
        const e = src[i + 1];
        i += 2;
        // one atom: \uXXXX, \xXX, \cX, a named backreference
        if (e === 'u' && /^[\da-f]{4}/i.test(src.slice(i, i + 4))) i += 4;
        else if (e === 'x' && /^[\da-f]{2}/i.test(src.slice(i, i + 2))) i += 2;
        else if (e === 'c' && /^[a-z]/i.test(src.slice(i, i + 1))) i += 1;
        else if (e === 'k' && src[i] === '<') i = past('>', i);
        item = { group: null, min: 1, max: 1 };
      } else if (c === '^' || c === '$') {
        i++;
        item = { group: null, min: 0, max: 0 };
      } else {
        i++;
        item = { group: null, min: 1, max: 1 };
      }
      // a quantifier
      const q = /^(?:([*+?])|\{(\d+)(?:(,)(\d*))?\})\??/.exec(src.slice(i));
      if (q) {
        i += q[0].length;
        if (q[1] === '*') [item.min, item.max] = [0, Infinity];
        else if (q[1] === '+') [item.min, item.max] = [1, Infinity];
        else if (q[1] === '?') [item.min, item.max] = [0, 1];
        else {
          item.min = Number(q[2]);
          item.max = q[3] ? (q[4] ? Number(q[4]) : Infinity) : item.min;
        }
      }
      alts[alts.length - 1]!.push(item);
    }
    return alts;
  };
  return alternatives();
}

/** Can this item match the empty string? */
const nullable = (it: Item): boolean => it.min === 0 || (it.group !== null && it.group.some((seq) => seq.every(nullable)));
/** Can this item match runs of different lengths by repeating (a repeat, or a group holding one)? */
const repeats = (it: Item): boolean => it.max > 1 || (it.group !== null && it.group.some((seq) => seq.some(repeats)));

/**
 * A repeated group whose body can be a repeat alone (every other part of it optional), as in
 * `(a{1,10}){1,10}` or `(\s*\w+)*`: a run of characters then splits between the inner and outer
 * repeats in a number of ways that grows exponentially (or as a high power) with its length.
 */
export function nestedRepeat(source: string): string | null {
  let found: string | null = null;
  const visit = (seqs: Item[][]) => {
    for (const seq of seqs)
      for (const it of seq) {
        if (!it.group) continue;
        if (it.max > 1 && it.group.some((body) => body.some((x) => repeats(x) && body.every((y) => y === x || nullable(y)))))
          found ??= 'a repeated group whose body is itself a repeat';
        visit(it.group);
      }
  };
  try {
    visit(parsePattern(source));
  } catch {
    return null; // recheck judges what this reader cannot parse
  }
  return found;
}

/* ---- a time budget per match, for site patterns the linear-time engine cannot run ---- */

/** Longest one match of a site pattern may take on one line. */
export const MATCH_BUDGET_MS = 200;
/** Lines cut short before a pattern is set aside for the rest of the run. */
const MAX_CUTS = 5;
/** Tries of one match whose wall-clock timeouts used less CPU than the budget (a busy machine): 5 s at most. */
const MAX_TRIES = 25;

/** A pattern cut short on a line (taken by the scan, which notes it with the line number). */
export interface SlowMatch {
  source: string;
  /** The pattern is set aside from now on. */
  disabled: boolean;
}

const slowMatches: SlowMatch[] = [];

/** Cheap test, once per line: was a match cut short since the last take? */
export function hasSlowMatches(): boolean {
  return slowMatches.length > 0;
}

/** What to tell about a slow match. */
export function slowNote(m: SlowMatch): string {
  return `matching the pattern ${JSON.stringify(m.source.slice(0, 80))} took over ${MATCH_BUDGET_MS} ms: cut short (no match)${m.disabled ? '; the pattern is set aside for the rest of the run' : ''}`;
}

/** The slow matches since the last call. */
export function takeSlowMatches(): SlowMatch[] {
  return slowMatches.splice(0);
}

let sandbox: vm.Context | null = null;
let run: vm.Script | null = null;
const TIMED_OUT = Symbol('timed out');

/** One `re.exec(text)` that V8 interrupts after `ms` (TIMED_OUT then). */
function execWithin(re: RegExp, text: string, ms: number): RegExpExecArray | null | typeof TIMED_OUT {
  sandbox ??= vm.createContext({ exec: RegExp.prototype.exec, re: null, text: '', out: null });
  run ??= new vm.Script('out = exec.call(re, text)');
  sandbox.re = re;
  sandbox.text = text;
  try {
    run.runInContext(sandbox, { timeout: ms });
    return sandbox.out as RegExpExecArray | null;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw e;
    return TIMED_OUT;
  } finally {
    sandbox.re = null;
    sandbox.text = '';
    sandbox.out = null;
  }
}

/**
 * `execWithin` with a budget of CPU time. V8's timeout counts wall time, which a loaded machine spends
 * with the process waiting for a CPU: a match of a few microseconds was cut short (a line lost) when
 * the process was descheduled for 200 ms. A timeout after less CPU than the budget is tried again.
 */
function execWithinCpu(re: RegExp, text: string, ms: number): RegExpExecArray | null | typeof TIMED_OUT {
  let cpu = 0;
  for (let attempt = 1; ; attempt++) {
    const before = process.cpuUsage();
    const out = execWithin(re, text, ms);
    if (out !== TIMED_OUT) return out;
    const used = process.cpuUsage(before);
    cpu += (used.user + used.system) / 1000;
    if (cpu >= ms || attempt >= MAX_TRIES) return TIMED_OUT;
  }
}

/** A RegExp whose every match runs with a time budget (V8 interrupts it when the budget is spent). */
class BoundedRegExp extends RegExp {
  private cuts = 0;
  override exec(text: string): RegExpExecArray | null {
    if (this.cuts >= MAX_CUTS) return null;
    const out = execWithinCpu(this, text, MATCH_BUDGET_MS);
    if (out !== TIMED_OUT) return out;
    this.cuts++;
    slowMatches.push({ source: this.source, disabled: this.cuts >= MAX_CUTS });
    return null;
  }
}

/** Can V8's linear-time engine run this pattern (so its automatic fallback bounds it)? */
function linearCapable(re: RegExp): boolean {
  try {
    new RegExp(re.source, re.flags + 'l');
    return true;
  } catch {
    return false; // not linear (backreferences, lookaround, large bounded repeats), or the engine is off
  }
}

/** The same pattern, matched with a time budget unless the linear-time engine can bound it. */
export function bounded(re: RegExp): RegExp {
  if (re instanceof BoundedRegExp) return re;
  if (linearCapable(re) && !unproven.has(`${re.flags}/${re.source}`)) return re;
  return new BoundedRegExp(re.source, re.flags);
}
