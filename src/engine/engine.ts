/**
 * The rule engine: matches parsed lines against the rules, gathers multi-line reports, groups hits
 * into findings per rule, host and key, applies thresholds within time windows and version gates,
 * and links findings to their root causes.
 */
import { createHash } from 'node:crypto';
import type { Evidence, Finding, LogEvent, Severity, Unrecognized } from '../types.js';
import { severityRank } from '../types.js';
import { toIso } from '../parse/time.js';
import { otherReadings } from '../parse/fallback.js';
import type { Rule } from './catalogue.js';
import { jsonEscaped } from './literals.js';
import { LiteralSet } from './prefilter.js';
import { TemplateMiner, TROUBLE_LITERALS, looksLikeTrouble, type MinerState } from './unrecognized.js';
import { HostFacts, observeFacts, FACT_LITERALS, ruleApplies } from './facts.js';

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

export interface EngineOptions {
  since?: number | null;
  until?: number | null;
  /** Keep only these hosts (lines without a host name are kept). */
  hosts?: string[] | null;
  /** Host name for lines that carry none (e.g. `xl dmesg` read on this host). */
  defaultHost?: string | null;
  /**
   * Called as hits are recorded (live use: `watch`): "new" when a finding first fires (its first
   * line, or the line that crossed its threshold), "repeat" for each later hit of a fired finding.
   * The version gate and root causes are only known at the end (`findings()`).
   */
  onFinding?: (f: Finding, kind: 'new' | 'repeat') => void;
  /** Mine the lines that look like trouble but match no rule into templates (`unrecognized`). */
  unrecognized?: boolean;
}

const FACT_OWNER = -1;
const TROUBLE_OWNER = -2;
const EVIDENCE_FIRST = 3;
const BLOCK_EVIDENCE = 12;
const MAX_GROUPS = 20_000;

interface Group {
  rule: Rule;
  host: string | null;
  key: Record<string, string>;
  captures: Record<string, string>;
  count: number;
  first: number | null;
  last: number | null;
  firstSeq: number;
  lastSeq: number;
  /** The first few hits, each with the lines of its report. */
  hits: RawHit[];
  /** The latest hit (shown after the first few when the count is higher). */
  latest: RawHit | null;
  fired: boolean;
  /** Threshold state: times of the hits before it fired (first `count` and the recent window). */
  head: (number | null)[];
  recent: (number | null)[];
  /** Distinct threshold state: value → time last seen. */
  distinct: Map<string, number | null>;
}

/** A hit as kept for evidence: raw time, converted only for output. */
interface RawHit {
  source: string;
  line: number;
  time: number | null;
  text: string;
  block: Evidence[];
}

/** A group in a form that crosses a worker boundary (structured clone), rule by index. */
export interface GroupState extends Omit<Group, 'rule' | 'distinct'> {
  rule: number;
  distinct: [string, number | null][];
}

/**
 * A threshold that had not fired when a run ended: the times (or distinct values) counting towards
 * it, carried to the next run (report's state) so that hits split across two runs still add up.
 */
export interface PendingThreshold {
  rule: string;
  host: string | null;
  key: Record<string, string>;
  /** Times of the hits in the window (count thresholds). */
  recent: (number | null)[];
  /** Value → time last seen (distinct thresholds). */
  distinct: [string, number | null][];
}

/** Most pending thresholds carried from one run to the next. */
const MAX_PENDING = 2000;

/** What one engine learnt from its inputs, to be merged into another in input order. */
export interface EngineState {
  miner: MinerState | null;
  groups: GroupState[];
  facts: [string, HostFacts][];
  seq: number;
  dropped: number;
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

function groupKey(rule: string, host: string | null, key: Record<string, string>): string {
  let k = `${rule}\0${host ?? ''}`;
  for (const name in key) k += `\0${name}=${key[name]}`;
  return k;
}

function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{([A-Za-z_]\w*)\}/g, (_, name: string) => values[name] ?? `<${name}>`);
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

/** No rule to try (shared: never changed). */
/** The rest of a line a mail client or an editor wrapped: indented, perhaps behind mail quoting. */
const WRAPPED_REST = /^(?:[ \t]*>)*[ \t]+\S/;
const NO_RULES: Rule[] = [];

export class Engine {
  /** The literals of all rules: a line holding none of them needs no rule. Null: every line must be tried. */
  readonly prefilter: LiteralSet | null;
  /** True when some rule has no literal: every line must be tested. */
  readonly everyLine: boolean;
  private readonly groups = new Map<string, Group>();
  /** Each rule's group of its last hit (see record). Cleared whenever groups are dropped. */
  private readonly lastGroup = new Map<Rule, Group>();
  private readonly facts = new Map<string, HostFacts>();
  private block: { hit: Hit; left: number; host: string | null } | null = null;
  /** A candidate line no rule matched, kept for one line: a mail client may have wrapped it onto the next. */
  private wrapped: { ev: LogEvent; text: string; source: string; line: number; host: string | null; rules: Rule[] } | null = null;
  private seq = 0;
  private droppedGroups = 0;
  private readonly found = new Set<number>();
  /** Whether the last candidate line held a trouble word, or a fact literal (from rulesIn). */
  private trouble = false;
  private factLine = true;
  private readonly miner: TemplateMiner | null;
  /** `[rule]` for each rule: what rulesIn returns for a line with one rule's literals, without a new array. */
  private readonly oneRule: Rule[][];

  constructor(
    readonly rules: Rule[],
    private readonly opts: EngineOptions = {},
  ) {
    const literals: [string, number][] = FACT_LITERALS.map((l) => [l, FACT_OWNER]);
    this.miner = opts.unrecognized ? new TemplateMiner() : null;
    if (this.miner) for (const w of TROUBLE_LITERALS) literals.push([w, TROUBLE_OWNER]);
    let everyLine = false;
    rules.forEach((r, i) => {
      if (r.literals === null) everyLine = true;
      for (const lit of r.literals ?? []) {
        literals.push([lit, i]);
        const j = jsonEscaped(lit);
        if (j) literals.push([j, i]);
      }
    });
    this.everyLine = everyLine;
    this.prefilter = everyLine ? null : new LiteralSet(literals);
    this.oneRule = rules.map((r) => [r]);
  }

  /** The rules whose literals occur in a candidate line's bytes (all rules on the simple path). */
  rulesIn(raw: Uint8Array, start: number, end: number): Rule[] {
    if (!this.prefilter) {
      this.trouble = this.miner !== null;
      this.factLine = true;
      return this.rules;
    }
    this.found.clear();
    this.prefilter.ownersIn(raw, start, end, this.found);
    this.trouble = this.found.has(TROUBLE_OWNER);
    this.factLine = this.found.has(FACT_OWNER);
    let only = -1; // the one rule, when the line holds the literals of exactly one (the usual case)
    let n = 0;
    for (const i of this.found) {
      if (i >= 0) {
        only = i;
        n++;
      }
    }
    if (n === 0) return NO_RULES;
    if (n === 1) return this.oneRule[only]!;
    const out: Rule[] = [];
    for (const i of this.found) if (i >= 0) out.push(this.rules[i]!);
    return out;
  }

  /** True while a multi-line report is open and the next lines must be offered. */
  wantsAll(): boolean {
    return this.block !== null || this.wrapped !== null;
  }

  private hostOf(ev: LogEvent, inputHost: string | null): string | null {
    return ev.host ?? inputHost ?? this.opts.defaultHost ?? null;
  }

  /**
   * Offer one line. Returns the hits it produced (already recorded). `candidate` is false for the
   * lines offered only because a multi-line report is open.
   */
  offer(
    ev: LogEvent,
    text: string,
    source: string,
    line: number,
    inputHost: string | null,
    candidate: boolean,
    rules: Rule[] = this.rules,
  ): void {
    this.seq++;
    if (this.wrapped) {
      // the line before, joined with this one when this one is its indented (or quoted) rest
      const w = this.wrapped;
      this.wrapped = null;
      if (ev.format === 'plain' && WRAPPED_REST.test(text)) {
        const joined = { ...w.ev, message: `${w.ev.message} ${ev.message.trim()}` };
        if (this.matchRules(joined, w.text, w.source, w.line, w.host, w.rules)) return;
      }
    }
    if (this.block) {
      const b = this.block;
      if (b.left > 0 && b.hit.rule.blockEnd?.test(ev.message)) {
        b.hit.block.push({ source, line, time: toIso(ev.time), text });
        b.hit.blockMessages.push(ev.message);
        this.closeBlock();
        return;
      }
      if (b.left > 0 && b.hit.rule.continuation!.test(ev.message)) {
        b.left--;
        b.hit.block.push({ source, line, time: toIso(ev.time), text });
        b.hit.blockMessages.push(ev.message);
        return;
      }
      this.closeBlock();
    }
    if (!candidate) return;
    const host = this.hostOf(ev, inputHost);
    // version and memory lines hold a fact literal; xend and toolstack lines tell the toolstack
    if (rules === this.rules || this.factLine || ev.source === 'xend' || ev.source === 'toolstack') observeFacts(this.factsOf(host), ev);
    const { since, until, hosts } = this.opts;
    if (ev.time !== null && ((since != null && ev.time < since) || (until != null && ev.time > until))) return;
    if (hosts && host !== null && !hosts.includes(host)) return;
    let matched = this.matchRules(ev, text, source, line, host, rules);
    // nothing matched the line as parsed: a glued console line, or a message after an unread prefix
    if (!matched && rules.length > 0) {
      // on the simple path, only the rules whose literals the line holds (every rule at every place would be slow)
      const some = rules === this.rules && this.prefilter ? this.rulesIn(Buffer.from(text), 0, Buffer.byteLength(text)) : rules;
      for (const other of otherReadings(ev, some === this.rules && this.prefilter === null)) {
        if ((matched = this.matchRules(other, text, source, line, host, some, ev))) break;
      }
    }
    if (!matched && rules.length > 0 && this.block === null) this.wrapped = { ev, text, source, line, host, rules };
    if (!matched && this.miner && (rules === this.rules ? looksLikeTrouble(ev.message) : this.trouble))
      this.miner.add(ev, text, source, line);
  }

  /**
   * Try `rules` on one reading of a line; record the hits. True when one matched. For another
   * reading (`asParsed`: the line as parsed), a rule's ignore patterns hold on either text.
   */
  private matchRules(
    ev: LogEvent,
    text: string,
    source: string,
    line: number,
    host: string | null,
    rules: Rule[],
    asParsed: LogEvent | null = null,
  ): boolean {
    let matched = false;
    for (const rule of rules) {
      if (rule.sources && ev.source !== 'unknown' && !rule.sources.has(ev.source)) continue;
      if (rule.programs && ev.program !== null && !rule.programs.has(ev.program.toLowerCase()) && ev.source === 'daemon') continue;
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
      if (!captures) continue;
      if (rule.ignore.length > 0 && rule.ignore.some((re) => re.test(ev.message) || (asParsed !== null && re.test(asParsed.message))))
        continue;
      if (!whereHolds(rule, captures)) continue;
      matched = true;
      const hit: Hit = { rule, captures, event: ev, source, line, text, seq: this.seq, block: [], blockMessages: [] };
      if (rule.continuation && !this.block && !rule.blockEnd?.test(ev.message)) {
        this.block = { hit, left: rule.continuationMax, host };
      } else {
        this.record(hit, host);
      }
    }
    return matched;
  }

  /** Unrecognised templates (when enabled), most frequent first. */
  unrecognizedTemplates(): Unrecognized[] {
    return this.miner?.results() ?? [];
  }

  /** The miner's templates with their example's place and hourly counts (baselines), or null. */
  unrecognizedState(): MinerState | null {
    return this.miner?.exportState() ?? null;
  }

  private factsOf(host: string | null): HostFacts {
    const k = host ?? '';
    let f = this.facts.get(k);
    if (!f) {
      f = {};
      this.facts.set(k, f);
    }
    return f;
  }

  /** Close an open multi-line report (end of input, or a line that does not continue it). */
  closeBlock(): void {
    this.wrapped = null;
    const b = this.block;
    if (!b) return;
    this.block = null;
    // a key the first line lacks may stand on a later line of the report (e.g. the OOM victim)
    const hit = b.hit;
    for (const k of hit.rule.key) {
      if (hit.captures[k] !== undefined) continue;
      for (const msg of hit.blockMessages) {
        const m = hit.rule.patterns.map((re) => re.exec(msg)).find((x) => x?.groups?.[k] !== undefined);
        if (m) {
          for (const [name, v] of Object.entries(m.groups!))
            if (v !== undefined && hit.captures[name] === undefined) hit.captures[name] = v;
          break;
        }
      }
    }
    this.record(hit, b.host);
  }

  /** Close what is open at the end of one input. */
  endInput(): void {
    this.closeBlock();
  }

  /** The group a rule's last hit went to, and whether a hit belongs to it (same host and key). */
  private sameGroup(last: Group | undefined, hit: Hit, host: string | null): last is Group {
    if (last === undefined || last.host !== host || hit.rule.traceFingerprint) return false;
    for (const k of hit.rule.key) if (hit.captures[k] !== last.key[k]) return false;
    return true;
  }

  private record(hit: Hit, host: string | null): void {
    const rule = hit.rule;
    // a rule's hits mostly go to the group of its hit before: no key to build and look up then
    const last = this.lastGroup.get(rule);
    let g = this.sameGroup(last, hit, host) ? last : undefined;
    const key: Record<string, string> = g ? g.key : {};
    if (!g) {
      for (const k of rule.key) if (hit.captures[k] !== undefined) key[k] = hit.captures[k];
      if (rule.traceFingerprint) {
        const fp = traceFingerprint([hit.event.message, ...hit.blockMessages]);
        if (fp) key.trace = fp;
      }
      g = this.groups.get(groupKey(rule.id, host, key));
    }
    if (!g) {
      if (this.groups.size >= MAX_GROUPS) {
        this.droppedGroups++;
        return;
      }
      g = {
        rule,
        host,
        key,
        captures: { ...hit.captures },
        count: 0,
        first: null,
        last: null,
        firstSeq: hit.seq,
        lastSeq: hit.seq,
        hits: [],
        latest: null,
        fired: rule.threshold === null,
        head: [],
        recent: [],
        distinct: new Map(),
      };
      this.groups.set(groupKey(rule.id, host, key), g);
    }
    this.lastGroup.set(rule, g);
    const t = hit.event.time;
    g.count++;
    if (t !== null) {
      if (g.first === null || t < g.first) g.first = t;
      if (g.last === null || t > g.last) g.last = t;
    }
    g.lastSeq = hit.seq;
    const raw: RawHit = {
      source: hit.source,
      line: hit.line,
      time: t,
      text: hit.text,
      block: g.hits.length === 0 ? hit.block.slice(0, BLOCK_EVIDENCE) : [],
    };
    if (g.hits.length < EVIDENCE_FIRST) g.hits.push(raw);
    g.latest = raw;
    const wasFired = g.fired;
    if (!g.fired) this.thresholdStep(g, t, rule.threshold?.distinct ? hit.captures[rule.threshold.distinct] : undefined);
    if (this.opts.onFinding && g.fired) this.opts.onFinding(this.toFinding(g), wasFired && g.count > 1 ? 'repeat' : 'new');
  }

  /** One hit's step of a threshold: count (or distinct values) within the window; sets `fired`. */
  private thresholdStep(g: Group, t: number | null, value: string | undefined): void {
    const th = g.rule.threshold!;
    const expired = (x: number | null) => th.within !== null && t !== null && x !== null && x < t - th.within;
    if (th.distinct) {
      if (value === undefined) return;
      g.distinct.set(value, t);
      if (g.distinct.size >= th.count) {
        for (const [k, x] of g.distinct) if (expired(x)) g.distinct.delete(k);
      }
      if (g.distinct.size >= th.count) g.fired = true;
    } else {
      if (g.head.length < th.count) g.head.push(t);
      g.recent.push(t);
      while (g.recent.length > 0 && expired(g.recent[0]!)) g.recent.shift();
      if (g.recent.length > th.count) g.recent.shift();
      if (g.recent.length >= th.count) g.fired = true;
    }
    if (g.fired) {
      g.head = [];
      g.recent = [];
      g.distinct.clear();
    }
  }

  /**
   * Forget findings last seen before `cutoff` (ms), so a long-lived engine (watch) stays bounded;
   * groups without times are kept. Returns how many were dropped.
   */
  expire(cutoff: number): number {
    this.lastGroup.clear();
    let n = 0;
    for (const [k, g] of this.groups) {
      if (g.last !== null && g.last < cutoff) {
        this.groups.delete(k);
        n++;
      }
    }
    return n;
  }

  /** Does a finding pass its rule's version gate, given what the logs showed of its host so far? */
  applies(f: Finding): boolean {
    const rule = this.rules.find((r) => r.id === f.rule);
    return !rule || ruleApplies(rule.spec.applies, this.facts.get(f.host ?? '') ?? {});
  }

  /** This engine's groups and facts, to be merged into another engine (workers). */
  exportState(): EngineState {
    this.closeBlock();
    const index = new Map(this.rules.map((r, i) => [r, i]));
    return {
      miner: this.miner?.exportState() ?? null,
      groups: [...this.groups.values()].map((g) => ({ ...g, rule: index.get(g.rule)!, distinct: [...g.distinct] })),
      facts: [...this.facts],
      seq: this.seq,
      dropped: this.droppedGroups,
    };
  }

  /**
   * Merge what another engine (same rules) learnt from the inputs that follow this engine's, as if
   * one engine had read them all: counts add up, time spans widen, evidence keeps the first hits
   * and the latest, thresholds continue across the boundary. `lineOffset` shifts its line numbers
   * (a later part of the same file).
   */
  absorb(state: EngineState, lineOffset = 0): void {
    const seqOffset = this.seq;
    const shift = (h: RawHit): RawHit =>
      lineOffset === 0 ? h : { ...h, line: h.line + lineOffset, block: h.block.map((b) => ({ ...b, line: b.line + lineOffset })) };
    for (const [host, f] of state.facts) Object.assign(this.factsOf(host || null), f);
    if (state.miner && this.miner) this.miner.absorb(state.miner, lineOffset);
    for (const s of state.groups) {
      const rule = this.rules[s.rule]!;
      const gk = groupKey(rule.id, s.host, s.key);
      const mine = this.groups.get(gk);
      const incoming: Group = {
        ...s,
        rule,
        distinct: new Map(s.distinct),
        hits: s.hits.map(shift),
        latest: s.latest && shift(s.latest),
        firstSeq: s.firstSeq + seqOffset,
        lastSeq: s.lastSeq + seqOffset,
      };
      if (!mine) {
        if (this.groups.size >= MAX_GROUPS) {
          this.droppedGroups++;
          continue;
        }
        this.groups.set(gk, incoming);
        continue;
      }
      if (mine.count === 0) {
        // a threshold carried from an earlier run (seedPending): this run's first hit is its first
        mine.captures = incoming.captures;
        mine.firstSeq = incoming.firstSeq;
      }
      addSpan(mine, incoming);
      mine.lastSeq = incoming.lastSeq;
      for (const h of incoming.hits)
        if (mine.hits.length < EVIDENCE_FIRST) mine.hits.push({ ...h, block: mine.hits.length === 0 ? h.block : [] });
      mine.latest = incoming.latest ?? mine.latest;
      if (mine.fired) continue;
      if (incoming.fired) {
        mine.fired = true;
        continue;
      }
      // replay the incoming hits' threshold state on top of ours
      const th = rule.threshold!;
      if (th.distinct) {
        for (const [v, t] of incoming.distinct) {
          this.thresholdStep(mine, t, v);
          if (mine.fired) break;
        }
      } else {
        // after `count` incoming hits none of ours is left in the window: the rest is incoming's own state
        for (const t of incoming.head) {
          this.thresholdStep(mine, t, undefined);
          if (mine.fired) break;
        }
        if (!mine.fired && incoming.count > th.count) mine.recent = [...incoming.recent];
      }
    }
    this.seq += state.seq;
    this.droppedGroups += state.dropped;
  }

  /**
   * Thresholds that have not fired, with what counts towards them (see PendingThreshold), the
   * latest first, at most MAX_PENDING. `latest`: the latest time read; hits a window before it can
   * no longer count with any later one (null: keep all).
   */
  pendingThresholds(latest: number | null): PendingThreshold[] {
    const out: { p: PendingThreshold; last: number }[] = [];
    for (const g of this.groups.values()) {
      const th = g.rule.threshold;
      if (!th || g.fired) continue;
      const alive = (t: number | null) => th.within === null || t === null || latest === null || t >= latest - th.within;
      const recent = g.recent.filter(alive);
      const distinct = [...g.distinct].filter(([, t]) => alive(t));
      if (recent.length === 0 && distinct.length === 0) continue;
      const last = Math.max(...recent.map((t) => t ?? 0), ...distinct.map(([, t]) => t ?? 0));
      out.push({ p: { rule: g.rule.id, host: g.host, key: g.key, recent, distinct }, last });
    }
    return out
      .sort((a, b) => b.last - a.last)
      .slice(0, MAX_PENDING)
      .map((x) => x.p);
  }

  /**
   * Start from the thresholds an earlier run left pending: the first hits of this run continue
   * them. They count no hit of their own (a finding's count is what this run saw). Entries of rules
   * not in this catalogue, or no longer thresholds, are ignored.
   */
  seedPending(list: PendingThreshold[]): void {
    const byId = new Map(this.rules.filter((r) => r.threshold).map((r) => [r.id, r]));
    for (const p of list) {
      const rule = byId.get(p.rule);
      if (!rule || this.groups.size >= MAX_GROUPS) continue;
      const gk = groupKey(rule.id, p.host, p.key);
      if (this.groups.has(gk)) continue;
      this.groups.set(gk, {
        rule,
        host: p.host,
        key: { ...p.key },
        captures: { ...p.key },
        count: 0,
        first: null,
        last: null,
        firstSeq: 0,
        lastSeq: 0,
        hits: [],
        latest: null,
        fired: false,
        head: [...p.recent],
        recent: [...p.recent],
        distinct: new Map(p.distinct),
      });
    }
  }

  /** Groups that were capped away (a flood of distinct keys). */
  get dropped(): number {
    return this.droppedGroups;
  }

  private toFinding(g: Group): Finding {
    const values: Record<string, string> = { ...g.captures, ...g.key, host: g.host ?? '<host>' };
    const evidence: Evidence[] = [];
    for (const h of g.hits) evidence.push({ source: h.source, line: h.line, time: toIso(h.time), text: h.text }, ...h.block);
    const l = g.latest;
    if (l && g.count > g.hits.length) evidence.push({ source: l.source, line: l.line, time: toIso(l.time), text: l.text });
    const spec = g.rule.spec;
    const f: Finding = {
      id: findingId(g.rule.id, g.host, g.key),
      rule: g.rule.id,
      title: fill(spec.title, values),
      severity: g.rule.severity,
      host: g.host,
      key: g.key,
      count: g.count,
      first: toIso(g.first),
      last: toIso(g.last),
      evidence,
      diagnosis: fill(spec.diagnosis.trim(), values),
      fix: spec.fix.map((s) => fill(s, values)),
      references: spec.references ?? [],
      harmless: spec.harmless ?? false,
      causedBy: [],
      tags: spec.tags ?? [],
    };
    // the first hit's captures, for tests and templates; not part of the JSON output
    Object.defineProperty(f, 'captures', { value: { ...g.captures }, enumerable: false });
    return f;
  }

  /**
   * When the lines that matched name exactly one host, the lines that name none (the hypervisor console,
   * `xl` output, a dmesg capture beside that host's syslog) are that host's too: their groups and
   * facts join the host's, so one problem is one finding, not one with the host and one without.
   */
  private adoptHostless(): void {
    // the hosts of the lines that matched some rule (the same on the fast path and the slow one;
    // the lines that only carry facts are not, and do not count)
    const named = new Set<string>();
    for (const g of this.groups.values()) if (g.host !== null) named.add(g.host);
    if (named.size !== 1) return;
    const host = [...named][0]!;
    const loose = this.facts.get('');
    if (loose) {
      this.facts.set(host, { ...loose, ...this.facts.get(host) });
      this.facts.delete('');
    }
    for (const [k, g] of [...this.groups]) {
      if (g.host !== null) continue;
      this.groups.delete(k);
      const gk = groupKey(g.rule.id, host, g.key);
      const mine = this.groups.get(gk);
      if (!mine) {
        g.host = host;
        this.groups.set(gk, g);
        continue;
      }
      mergeGroups(mine, g);
    }
    this.lastGroup.clear();
  }

  /** The findings: fired groups passing their version gate, with root causes linked. */
  findings(): Finding[] {
    this.closeBlock();
    this.adoptHostless();
    const out: { f: Finding; g: Group }[] = [];
    for (const g of this.groups.values()) {
      if (!g.fired) continue;
      if (!ruleApplies(g.rule.spec.applies, this.facts.get(g.host ?? '') ?? {})) continue;
      out.push({ g, f: this.toFinding(g) });
    }
    // Root causes: a finding follows another rule's finding on the same host within the window.
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
    return out.map((o) => o.f).sort(compareFindings);
  }
}

/** Add `b`'s hits to `a`'s count and widen `a`'s time span to cover `b`'s. */
function addSpan(a: Group, b: Pick<Group, 'count' | 'first' | 'last'>): void {
  a.count += b.count;
  if (b.first !== null && (a.first === null || b.first < a.first)) a.first = b.first;
  if (b.last !== null && (a.last === null || b.last > a.last)) a.last = b.last;
}

/**
 * Fold group `b` into `a` (same rule and key, lines of one host): counts add, spans widen, the
 * earliest hits stay the evidence, and the threshold fires if the hits of both reach it.
 */
function mergeGroups(a: Group, b: Group): void {
  const first = b.firstSeq < a.firstSeq ? b : a;
  a.hits = [...a.hits, ...b.hits].sort((x, y) => (x.time ?? 0) - (y.time ?? 0)).slice(0, EVIDENCE_FIRST);
  if (b.lastSeq > a.lastSeq) a.latest = b.latest ?? a.latest;
  a.captures = first.captures;
  addSpan(a, b);
  a.firstSeq = Math.min(a.firstSeq, b.firstSeq);
  a.lastSeq = Math.max(a.lastSeq, b.lastSeq);
  if (a.fired || b.fired) {
    a.fired = true;
    return;
  }
  const th = a.rule.threshold!;
  if (th.distinct) {
    for (const [v, t] of b.distinct) if (!a.distinct.has(v) || (t ?? 0) > (a.distinct.get(v) ?? 0)) a.distinct.set(v, t);
    a.fired = a.distinct.size >= th.count;
  } else {
    // count hits within the window: any `count` consecutive times (in order) spanning at most `within`
    const times = [...a.recent, ...b.recent].sort((x, y) => (x ?? 0) - (y ?? 0));
    a.recent = times.slice(-th.count);
    for (let i = 0; i + th.count <= times.length && !a.fired; i++) {
      const lo = times[i]!;
      const hi = times[i + th.count - 1]!;
      a.fired = th.within === null || lo === null || hi === null || hi - lo <= th.within;
    }
  }
  if (a.fired) {
    a.head = [];
    a.recent = [];
    a.distinct.clear();
  }
}

/** Worst first; then by time, then rule id. */
export function compareFindings(a: Finding, b: Finding): number {
  const s = severityRank(b.severity) - severityRank(a.severity);
  if (s !== 0) return s;
  if (a.first !== b.first) return (a.first ?? '9') < (b.first ?? '9') ? -1 : 1;
  return a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : a.id < b.id ? -1 : 1;
}

/** Count findings per severity. */
export function summarize(findings: Finding[]): Record<Severity, number> {
  const s: Record<Severity, number> = { critical: 0, error: 0, warning: 0, info: 0 };
  for (const f of findings) s[f.severity]++;
  return s;
}
