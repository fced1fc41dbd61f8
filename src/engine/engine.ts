/**
 * The rule engine, and the one place where a line becomes a finding: `Engine.read` parses a line,
 * chooses the rules whose literals it holds, matches them (matching.ts), gathers multi-line
 * reports, and counts the hits into groups (groups.ts) that become findings (findings.ts). Every
 * command (scan, timeline, watch, explain, the cron run) feeds its lines through `read`.
 */
import type { Evidence, Finding, LogEvent, Unrecognized } from '../types.js';
import { parseLine, wallHeader } from '../parse/line.js';
import { otherReadings } from '../parse/fallback.js';
import { toIso, type TimeContext } from '../parse/time.js';
import type { Rule } from './catalogue.js';
import { jsonEscaped } from './literals.js';
import { LiteralSet } from './prefilter.js';
import { MAX_SEEN, SeenLines, signature } from './seen-lines.js';
import { TemplateMiner, TROUBLE_LITERALS, looksLikeTrouble, type MinerState } from './unrecognized.js';
import { HostFacts, observeFacts, FACT_LITERALS, ruleApplies } from './facts.js';
import { completeFromBlock, isIgnored, keyOf, matchRule, type Hit } from './matching.js';
import {
  BLOCK_EVIDENCE,
  MAX_GROUPS,
  MAX_RULE_GROUPS,
  addCollected,
  addHit,
  continueGroup,
  foldGroup,
  foldKey,
  groupKey,
  newGroup,
  newOverflow,
  pendingGroup,
  pendingThresholds,
  releaseValue,
  type Group,
  type GroupState,
  type PendingThreshold,
  type RawHit,
} from './groups.js';
import { adoptHostless, compareFindings, linkCauses, toFinding } from './findings.js';

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
   * The version gate (`applies`) and root causes are only final at the end (`findings()`).
   */
  onFinding?: (f: Finding, kind: 'new' | 'repeat') => void;
  /** Mine the lines that look like trouble but match no rule into templates (`unrecognized`). */
  unrecognized?: boolean;
  /** Try every line against every rule, without the prefilter (the simple path; sample tests). */
  everyLine?: boolean;
  /**
   * The run's clock (report): a hit dated later counts towards its threshold as of now, so that a
   * line from the future (a forged stamp) expires nothing counted before it; a line dated more than
   * FUTURE_TOLERANCE later is counted as future-dated (see `future`).
   */
  now?: number | null;
}

/** How far after the run's clock a line's time may be before it is called future-dated (clock skew). */
export const FUTURE_TOLERANCE = 3_600_000;

/** Where a line comes from, and what its reader knows of it. */
export interface LinePlace {
  /** The input's name (evidence `source`). */
  source: string;
  /** Line number in the input. */
  line: number;
  /** Host of the input's lines that name none, or null. */
  host: string | null;
  /** Time context the line is parsed in (zone, year, reference time). */
  ctx: TimeContext;
  /** False for a line offered only because a multi-line report is open (the prefilter did not pick it). */
  candidate: boolean;
  /** The line's bytes `raw[start, end)`, when the reader has them: the rules to try are found in them. */
  raw?: Uint8Array;
  start?: number;
  end?: number;
  /**
   * What the reader knows better than the line, applied after parsing and before matching (the
   * timeline's clock dates uptime stamps and undated console lines).
   */
  settle?: (ev: LogEvent) => void;
  /**
   * The line before this one in its input, when this one may depend on it: it starts with a space,
   * a TAB or mail quoting (the wrapped rest of a long line), or it follows syslogd's wall broadcast
   * header (which lends it host and time). Readers that offer it: lines.ts scanLines, the live
   * analyser, pasted lines.
   */
  before?: string;
}

/** What one engine learnt from its inputs, to be merged into another in input order. */
export interface EngineState {
  miner: MinerState | null;
  groups: GroupState[];
  facts: [string, HostFacts][];
  seq: number;
  /** Lines that could match a rule but carry no time, kept although --since/--until were given. */
  undated: number;
  /** Lines dated more than FUTURE_TOLERANCE after the run's clock, and the earliest read of them. */
  future: { count: number; first: { source: string; time: number } | null };
}

/** The program name of xendoctor's own lines (`watch --syslog`): never analysed again. */
export const OWN_PROGRAM = 'xendoctor';

const FACT_OWNER = -1;
const TROUBLE_OWNER = -2;
/** Dated Xen console lines ("(XEN) [2026-11-26 05:21:39.696] ...") are candidates: they date dom0's uptime stamps (parse/console-clock.ts). */
const CLOCK_LITERALS = ['(XEN) [1', '(XEN) [2'];
/** The rest of a line a mail client or an editor wrapped: indented, perhaps behind mail quoting. */
const WRAPPED_REST = /^(?:[ \t]*>)*[ \t]+\S/;
/** A wrapped rest without its indentation and mail quoting. */
function restOf(text: string): string {
  return text.replace(/^(?:[ \t]*>)*[ \t]*/, '').trimEnd();
}
/** No rule to try (shared: never changed). */
const NO_RULES: Rule[] = [];

export class Engine {
  /** The literals of all rules: a line holding none of them needs no rule. Null: every line must be tried. */
  readonly prefilter: LiteralSet | null;
  /** True when every line must be tried against every rule (a rule without literals, or `everyLine`). */
  readonly everyLine: boolean;
  /** The literals of all rules, also when every line is tried (see prefilterCandidate). */
  private readonly candidacy: LiteralSet;
  private readonly groups = new Map<string, Group>();
  /** Groups kept apart per rule (see MAX_RULE_GROUPS). */
  private readonly ruleGroups = new Map<Rule, number>();
  /** Each rule's overflow group: the hits of the keys past the caps, folded into one (see admits). */
  private readonly overflow = new Map<Rule, Group>();
  /** Each rule's group of its last hit (see record). Cleared whenever groups are dropped. */
  private readonly lastGroup = new Map<Rule, Group>();
  private readonly facts = new Map<string, HostFacts>();
  private readonly byId: Map<string, Rule>;
  private block: { hit: Hit; left: number; host: string | null; ignored: boolean } | null = null;
  /** A candidate line no rule matched, kept for one line: a mail client may have wrapped it onto the next. */
  private wrapped: { ev: LogEvent; text: string; place: LinePlace; host: string | null } | null = null;
  /** The last line a rule took (matched, or a report's continuation): its rest is not joined to it again. */
  private readonly taken = { source: '', line: -1 };
  private seq = 0;
  private undatedKept = 0;
  private readonly futureLines: EngineState['future'] = { count: 0, first: null };
  private readonly found = new Set<number>();
  private readonly miner: TemplateMiner | null;
  /** `[rule]` for each rule: a line with one rule's literals gets it without a new array. */
  private readonly oneRule: Rule[][];
  /** Recent lines matching a rule's `context`, per rule (the latest `max`). */
  private readonly contextLines = new Map<Rule, { seq: number; source: string; ev: Evidence }[]>();
  /** The rules that keep `context` lines. */
  private readonly contextRules: Rule[];
  /** Signatures (rule and line) of the stamped lines that made hits, with host and time (see lineSignature). */
  private readonly seenLines = new SeenLines();

  constructor(
    readonly rules: Rule[],
    private readonly opts: EngineOptions = {},
  ) {
    const literals: [string, number][] = [...FACT_LITERALS, ...CLOCK_LITERALS].map((l) => [l, FACT_OWNER]);
    this.miner = opts.unrecognized ? new TemplateMiner() : null;
    if (this.miner) for (const w of TROUBLE_LITERALS) literals.push([w, TROUBLE_OWNER]);
    let everyLine = opts.everyLine === true;
    rules.forEach((r, i) => {
      if (r.literals === null) everyLine = true;
      for (const lit of r.literals ?? []) {
        literals.push([lit, i]);
        const j = jsonEscaped(lit);
        if (j) literals.push([j, i]);
      }
    });
    this.everyLine = everyLine;
    this.candidacy = new LiteralSet(literals);
    this.prefilter = everyLine ? null : this.candidacy;
    this.oneRule = rules.map((r) => [r]);
    this.contextRules = rules.filter((r) => r.context);
    this.byId = new Map(rules.map((r) => [r.id, r]));
  }

  /** True while a multi-line report is open and the next lines must be offered. */
  wantsAll(): boolean {
    return this.block !== null || this.wrapped !== null;
  }

  /**
   * Would the prefilter pick this line, whether or not it is in use? What depends on the lines seen
   * (the console clock) looks only at these, so that the fast path and every-line path agree.
   */
  prefilterCandidate(raw: Uint8Array, start: number, end: number): boolean {
    return this.candidacy.holds(raw, start, end) || byteArrayMessage(raw, start, end);
  }

  /** Would the engine try this line against some rule? (its bytes hold some literal) */
  isCandidate(raw: Uint8Array, start: number, end: number): boolean {
    return this.prefilter === null || this.prefilter.next(raw, start, end) >= 0 || byteArrayMessage(raw, start, end);
  }

  /**
   * A line the reader settled without `read` (the timeline's lines that no rule's literal picked, read
   * by time and host only: see timeline/plain-line.ts), while no multi-line report is open: it counts
   * as a line read, as `read` would count it.
   */
  passed(): void {
    this.seq++;
  }

  /**
   * Read one line: parse it, settle what the reader knows (`place.settle`), choose the rules whose
   * literals it holds, match them, and record the hits. The only way a line reaches the rules.
   * Returns the parsed event.
   */
  read(text: string, place: LinePlace): LogEvent {
    const ev = parseLine(text, place.ctx);
    // the line after syslogd's wall broadcast header (" kernel:[…] …") takes its host and time
    if (place.before !== undefined && (ev.host === null || ev.time === null)) {
      const wall = wallHeader(place.before, place.ctx);
      if (wall) {
        ev.host ??= wall.host;
        ev.time ??= wall.time;
      }
    }
    place.settle?.(ev);
    if (ev.program !== null && ev.program.length === OWN_PROGRAM.length && ev.program.toLowerCase() === OWN_PROGRAM) return ev;
    this.seq++;
    const now = this.opts.now;
    if (now != null && ev.time !== null && ev.time > now + FUTURE_TOLERANCE) {
      this.futureLines.count++;
      this.futureLines.first ??= { source: place.source, time: ev.time };
    }
    // a journal record is shown as a log line (time host ident: MESSAGE), not as its JSON
    const record = text;
    if (ev.format === 'journal-json') text = journalLine(ev);
    const rest = ev.format === 'plain' && WRAPPED_REST.test(text);
    let joinTried = false;
    if (this.wrapped) {
      // the line before, joined with this one when this one is its indented (or quoted) rest
      const w = this.wrapped;
      this.wrapped = null;
      if (rest) {
        joinTried = w.place.source === place.source && w.place.line === place.line - 1;
        const joined = { ...w.ev, message: `${w.ev.message} ${ev.message.trim()}` };
        const joinedText = `${w.text} ${restOf(text)}`;
        // the rules whose literals the joined line holds, not only the first half's: a literal may lie
        // in the rest or across the wrap (as joinBefore finds them when the first half was not offered)
        if (this.matchRules(joined, joinedText, w.place, w.host, this.rulesIn(joinedText))) return ev;
      }
    }
    // the same for a line before that the reader did not offer (no rule's literal, or one cut in two
    // by the wrap): the reader hands it over with this one (place.before)
    if (rest && !joinTried && !this.block && place.before !== undefined && this.joinBefore(ev, place)) return ev;
    if (this.block && this.continueBlock(ev, text, place)) {
      // a line inside another rule's report may still explain a later hit (Xen's account of a dom0 fault)
      for (const rule of this.contextRules) this.takeContext(rule, ev, text, place);
      return ev;
    }
    if (!place.candidate) return ev;
    // a comment ("# source: …", "# expect: …" in sample files, a shell prompt) is no log line
    if (text.charCodeAt(0) === 35 && (text.length === 1 || text.charCodeAt(1) === 32)) return ev;
    // the rules to try, and whether the line may carry host facts or trouble words
    let rules = this.rules;
    let facts = true;
    let trouble = this.miner !== null;
    if (this.prefilter && !(ev.format === 'journal-json' && record.includes('"MESSAGE":['))) {
      // (a journal message that is not clean UTF-8 is an array of byte values: its literals cannot
      // be seen in the line's bytes, so it is tried against every rule)
      this.found.clear();
      if (place.raw) this.prefilter.ownersIn(place.raw, place.start!, place.end!, this.found);
      else {
        const bytes = Buffer.from(record, 'utf8');
        this.prefilter.ownersIn(bytes, 0, bytes.length, this.found);
      }
      facts = this.found.has(FACT_OWNER) || ev.source === 'xend' || ev.source === 'toolstack';
      trouble = this.found.has(TROUBLE_OWNER);
      rules = this.ownersOf(this.found);
    } else if (trouble) {
      trouble = looksLikeTrouble(ev.message);
    }
    const host = ev.host ?? place.host ?? this.opts.defaultHost ?? null;
    if (facts) observeFacts(this.factsOf(host), ev);
    const { since, until, hosts } = this.opts;
    if (ev.time !== null && ((since != null && ev.time < since) || (until != null && ev.time > until))) return ev;
    if (ev.time === null && (since != null || until != null)) this.undatedKept++;
    if (hosts && host !== null && !hosts.includes(host)) return ev;
    let matched = this.matchRules(ev, text, place, host, rules);
    // nothing matched the line as parsed: a glued console line, or a message after an unread prefix;
    // only the rules whose literals the line holds can match a part of it (as on the fast path)
    if (!matched && rules.length > 0) {
      const some = this.prefilter === null ? rulesHolding(text, rules) : rules;
      if (some.length > 0) {
        for (const other of otherReadings(ev, text)) if ((matched = this.matchRules(other, text, place, host, some, ev))) break;
        // kept for one line: the next may be its wrapped rest
        if (!matched && this.block === null) this.wrapped = { ev, text, place, host };
      }
    }
    if (!matched && trouble && this.miner) this.miner.add(ev, text, place.source, place.line);
    return ev;
  }

  /**
   * A line that is the indented rest of the line before (`place.before`), which no rule took: the
   * two joined are one line, tried against the rules whose literals the joined text holds. Only a
   * line before that is a log line of its own (a prefix the parser reads: a stamp, a tag, a kernel
   * uptime) takes a rest. True when a rule matched.
   */
  private joinBefore(ev: LogEvent, place: LinePlace): boolean {
    if (this.taken.source === place.source && this.taken.line === place.line - 1) return false;
    const head = parseLine(place.before!, place.ctx);
    if (head.format === 'plain' || head.format === 'journal-json') return false;
    const joinedText = `${place.before!} ${restOf(ev.message)}`;
    const joined: LogEvent = { ...head, message: `${head.message} ${restOf(ev.message)}` };
    const rules = this.rulesIn(joinedText);
    if (rules.length === 0) return false;
    const host = joined.host ?? place.host ?? this.opts.defaultHost ?? null;
    const { since, until, hosts } = this.opts;
    if (joined.time !== null && ((since != null && joined.time < since) || (until != null && joined.time > until))) return false;
    if (hosts && host !== null && !hosts.includes(host)) return false;
    return this.matchRules(joined, joinedText, { ...place, line: place.line - 1, before: undefined }, host, rules);
  }

  /**
   * Try `rules` on one reading of a line and record the hits; true when one matched. For another
   * reading of the line (`asParsed`: the line as parsed), a rule's ignore patterns hold on either.
   */
  private matchRules(
    ev: LogEvent,
    text: string,
    place: LinePlace,
    host: string | null,
    rules: Rule[],
    asParsed: LogEvent | null = null,
  ): boolean {
    let matched = false;
    for (const rule of rules) {
      // lines that explain a later hit (context), or that take a counted value away (release)
      if ((rule.context && this.takeContext(rule, ev, text, place)) || (rule.release.length > 0 && this.release(rule, ev, host))) {
        matched = true;
        continue;
      }
      const captures = matchRule(rule, ev);
      if (!captures) continue;
      const opens = rule.continuation !== null && !this.block && !rule.blockEnd?.test(ev.message);
      // an ignored line that opens a report still takes its continuation lines, then counts for nothing
      const ignored = rule.continuation !== null && isIgnored(rule, ev.message);
      if (ignored && !opens) continue;
      if (asParsed !== null && rule.ignore.length > 0 && rule.ignore.some((re) => re.test(asParsed.message))) continue;
      matched = true;
      this.taken.source = place.source;
      this.taken.line = place.line;
      const hit: Hit = {
        rule,
        captures,
        event: ev,
        source: place.source,
        line: place.line,
        text,
        seq: this.seq,
        block: [],
        blockMessages: [],
      };
      if (opens) {
        this.block = { hit, left: rule.continuationMax, host, ignored };
      } else {
        this.record(hit, host);
      }
    }
    return matched;
  }

  /** Keep a line that matches a rule's `context` for that rule's next hit. True when it did. */
  private takeContext(rule: Rule, ev: LogEvent, text: string, place: LinePlace): boolean {
    const ctx = rule.context!;
    if (rule.sources && ev.source !== 'unknown' && !rule.sources.has(ev.source)) return false;
    if (!ctx.patterns.some((re) => re.test(ev.message))) return false;
    let list = this.contextLines.get(rule);
    if (!list) this.contextLines.set(rule, (list = []));
    list.push({ seq: this.seq, source: place.source, ev: { source: place.source, line: place.line, time: toIso(ev.time), text } });
    if (list.length > ctx.max) list.shift();
    return true;
  }

  /**
   * A line that takes a distinct value away again (a port leaving its bridge): the value no longer
   * counts towards the threshold. True when the line was such a release.
   */
  private release(rule: Rule, ev: LogEvent, host: string | null): boolean {
    let m: RegExpExecArray | null = null;
    for (let i = 0; i < rule.release.length && m === null; i++) m = rule.release[i]!.exec(ev.message);
    if (!m) return false;
    if (!rule.threshold?.distinct) return false;
    const value = m.groups?.[rule.threshold.distinct];
    if (value === undefined) return true;
    const caps = m.groups!;
    let g: Group | undefined;
    if (rule.key.every((k) => caps[k] !== undefined)) {
      const key: Record<string, string> = {};
      for (const k of rule.key) key[k] = caps[k]!;
      const gk = groupKey(rule.id, host, key);
      g = this.groups.get(gk);
      if (!g && this.admits(rule)) {
        // nothing counted here yet: remember the release for the inputs read before (absorb)
        g = newGroup(rule, host, key, key, this.seq);
        this.addGroup(gk, g);
      }
    }
    const targets = g ? [g] : [...this.groups.values()].filter((x) => x.rule === rule && x.host === host);
    for (const t of targets) releaseValue(t, value, ev.time);
    return true;
  }

  /**
   * Remember a line signature; false when the line was seen before (from the same host, or where
   * one of the two names no host; at the same time, or where one of the two has none).
   */
  private firstSight(sig: number, host: string | null, time: number | null, source: string): boolean {
    const sameSource = this.seenLines.sameSource(sig, source);
    // within one input a repeated line is the log's own (a storm): only another capture repeats it
    if (sameSource === false) {
      const before = this.seenLines.get(sig)!;
      const sameHost = before.host === null || host === null || before.host === host;
      // the same uptime stamp and text a second or more apart by the wall clock: a log that repeats stamps
      const sameTime = before.time === null || time === null || Math.abs(before.time - time) < 1000;
      if (!sameHost || !sameTime) return true;
      this.seenLines.update(sig, host, time);
      return false;
    }
    if (sameSource === true) return true;
    if (this.seenLines.size >= MAX_SEEN) this.seenLines.clear();
    this.seenLines.set(sig, host, time, source);
    return true;
  }

  /** The rules whose literals a text holds (a joined line's), or that have none. */
  private rulesIn(text: string): Rule[] {
    if (!this.prefilter) return rulesHolding(text, this.rules);
    this.found.clear();
    const bytes = Buffer.from(text, 'utf8');
    this.prefilter.ownersIn(bytes, 0, bytes.length, this.found);
    return this.ownersOf(this.found);
  }

  /** The rules among a line's prefilter owners. */
  private ownersOf(found: Set<number>): Rule[] {
    let only = -1; // the one rule, when the line holds the literals of exactly one (the usual case)
    let n = 0;
    for (const i of found) {
      if (i >= 0) {
        only = i;
        n++;
      }
    }
    if (n === 0) return NO_RULES;
    if (n === 1) return this.oneRule[only]!;
    const out: Rule[] = [];
    for (const i of found) if (i >= 0) out.push(this.rules[i]!);
    return out;
  }

  /** A line while a multi-line report is open: true when it belongs to the report (taken). */
  private continueBlock(ev: LogEvent, text: string, place: LinePlace): boolean {
    const b = this.block!;
    const rule = b.hit.rule;
    if (b.left > 0) {
      const ends = rule.blockEnd?.test(ev.message) === true;
      if (ends || rule.continuation!.test(ev.message)) {
        b.hit.block.push({ source: place.source, line: place.line, time: toIso(ev.time), text });
        this.taken.source = place.source;
        this.taken.line = place.line;
        b.hit.blockMessages.push(ev.message);
        if (ends) this.closeBlock();
        else b.left--;
        return true;
      }
    }
    this.closeBlock();
    return false;
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
    // a rule's ignore patterns hold for the whole report: one matching line of it voids it (a
    // memory-cgroup OOM report is not a dom0 OOM, a dom0 crash report is not a guest's)
    if (b.ignored || b.hit.blockMessages.some((m) => isIgnored(b.hit.rule, m))) return;
    completeFromBlock(b.hit);
    this.record(b.hit, b.host);
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
    // the same line read again from an overlapping capture (kern.log, a dmesg capture and the serial
    // console of one boot) is one event, not three
    const sig = lineSignature(rule.id, hit.event);
    if (sig !== null && !this.firstSight(sig, host, hit.event.time, hit.source)) return;
    // a rule's hits mostly go to the group of its hit before: no key to build and look up then
    const last = this.lastGroup.get(rule);
    let g = this.sameGroup(last, hit, host) ? last : undefined;
    if (!g) {
      const key = keyOf(hit);
      const gk = groupKey(rule.id, host, key);
      g = this.groups.get(gk);
      if (!g) {
        if (this.admits(rule)) {
          g = newGroup(rule, host, key, hit.captures, hit.seq);
          this.addGroup(gk, g);
        } else {
          // a flood of distinct keys: this key's hits join the rule's overflow group (counted, noted)
          g = this.overflowOf(rule, host, hit.captures, hit.seq);
          foldKey(g, host, key);
        }
      }
    }
    this.lastGroup.set(rule, g);
    // a value the first hit lacks may come with a later hit of the same finding (the bridge of a
    // failed hotplug script, the guest of a backend error): fixes and titles use it
    for (const k in hit.captures) if (g.captures[k] === undefined) g.captures[k] = hit.captures[k];
    const wasFired = g.fired;
    const raw: RawHit = {
      source: hit.source,
      line: hit.line,
      time: hit.event.time,
      text: hit.text,
      block: evidenceBlock(hit, g.hits.length === 0),
      sig,
      seq: hit.seq,
    };
    if (rule.context && g.hits.length < 3) {
      const ctx = rule.context;
      raw.before = (this.contextLines.get(rule) ?? [])
        .filter((c) => c.source === hit.source && c.seq >= hit.seq - ctx.lines)
        .map((c) => c.ev);
      this.contextLines.delete(rule);
    }
    for (const [name, cap] of rule.collect) addCollected(g, name, hit.captures[cap]);
    // a hit from the future counts as of now: it must not put what was counted before out of the window
    const now = this.opts.now;
    const at = now != null && raw.time !== null && raw.time > now ? now : raw.time;
    addHit(g, raw, hit.seq, rule.threshold?.distinct ? hit.captures[rule.threshold.distinct] : undefined, at);
    if (this.opts.onFinding && g.fired) this.opts.onFinding(toFinding(g), wasFired && g.count > 1 ? 'repeat' : 'new');
  }

  /**
   * May a new group of this rule be kept apart? Up to MAX_RULE_GROUPS per rule and MAX_GROUPS in
   * all; a rule's first group always is (the rules are few), so a flood of one rule's distinct keys
   * never hides another rule's finding, nor its severity.
   */
  private admits(rule: Rule): boolean {
    const n = this.ruleGroups.get(rule) ?? 0;
    return n === 0 || (n < MAX_RULE_GROUPS && this.groups.size < MAX_GROUPS);
  }

  private addGroup(gk: string, g: Group): void {
    this.groups.set(gk, g);
    this.ruleGroups.set(g.rule, (this.ruleGroups.get(g.rule) ?? 0) + 1);
  }

  /** Count the groups kept apart per rule again (after groups were merged or expired). */
  private recount(): void {
    this.ruleGroups.clear();
    for (const g of this.groups.values()) this.ruleGroups.set(g.rule, (this.ruleGroups.get(g.rule) ?? 0) + 1);
  }

  /** A rule's overflow group, made on its first folded hit. */
  private overflowOf(rule: Rule, host: string | null, captures: Record<string, string>, seq: number): Group {
    let g = this.overflow.get(rule);
    if (!g) this.overflow.set(rule, (g = newOverflow(rule, host, captures, seq)));
    return g;
  }

  /**
   * Forget findings last seen before `cutoff` (ms), so a long-lived engine (watch) stays bounded;
   * groups without times are kept. Returns how many were dropped.
   */
  expire(cutoff: number): number {
    return this.forget((g) => g.last !== null && g.last < cutoff);
  }

  /**
   * Forget the findings that have gone quiet (watch), in log time: those last seen more than `span` ms
   * before the latest hit of their host up to `now` (a line dated in the future ages nothing). A host
   * whose stamps run behind the wall clock — its clock or zone set wrong, lines relayed
   * late, an old log read with --from-start — keeps its threshold windows: measured against `now - span`,
   * its groups were dropped at the first expiry, and a threshold whose hits came more than a second
   * apart never fired. Groups without times are kept. Returns how many were dropped.
   */
  expireQuiet(span: number, now: number): number {
    const latest = new Map<string | null, number>();
    for (const groups of [this.groups.values(), this.overflow.values()])
      for (const g of groups) if (g.last !== null && g.last <= now) latest.set(g.host, Math.max(latest.get(g.host) ?? -Infinity, g.last));
    // (a host with no hit up to now has no latest: NaN, nothing of it is forgotten)
    return this.forget((g) => g.last !== null && g.last < latest.get(g.host)! - span);
  }

  private forget(quiet: (g: Group) => boolean): number {
    this.lastGroup.clear();
    let n = 0;
    for (const [k, g] of this.groups) {
      if (quiet(g)) {
        this.groups.delete(k);
        n++;
      }
    }
    for (const [r, g] of this.overflow) {
      if (quiet(g)) {
        this.overflow.delete(r);
        n++;
      }
    }
    this.recount();
    return n;
  }

  /** Does a finding pass its rule's version gate, given what the logs showed of its host so far? */
  applies(f: Finding): boolean {
    const rule = this.byId.get(f.rule);
    return !rule || ruleApplies(rule.spec.applies, this.facts.get(f.host ?? '') ?? {});
  }

  /** Take over what another engine learnt of the hosts (versions, memory): a renewed engine (watch). */
  takeFacts(from: Engine): void {
    for (const [host, f] of from.facts) Object.assign(this.factsOf(host || null), f);
  }

  /** This engine's groups and facts, to be merged into another engine (workers). */
  exportState(): EngineState {
    this.closeBlock();
    const index = new Map(this.rules.map((r, i) => [r, i]));
    return {
      miner: this.miner?.exportState() ?? null,
      groups: [...this.groups.values(), ...this.overflow.values()].map((g) => ({
        ...g,
        rule: index.get(g.rule)!,
        distinct: [...g.distinct],
      })),
      facts: [...this.facts],
      seq: this.seq,
      undated: this.undatedKept,
      future: { count: this.futureLines.count, first: this.futureLines.first },
    };
  }

  /**
   * Merge what another engine (same rules) learnt from the inputs that follow this engine's, as if
   * one engine had read them all (see continueGroup). `lineOffset` shifts its line numbers (a later
   * part of the same file).
   */
  absorb(state: EngineState, lineOffset = 0): void {
    const seqOffset = this.seq;
    const move = <T extends { line: number }>(e: T): T => ({ ...e, line: e.line + lineOffset });
    const shift = (h: RawHit): RawHit => {
      const seq = h.seq === undefined ? undefined : h.seq + seqOffset;
      return lineOffset === 0 ? { ...h, seq } : { ...move(h), seq, block: h.block.map(move), before: h.before?.map(move) };
    };
    for (const [host, f] of state.facts) Object.assign(this.factsOf(host || null), f);
    if (state.miner && this.miner) this.miner.absorb(state.miner, lineOffset);
    for (const s of state.groups) {
      const rule = this.rules[s.rule]!;
      const gk = groupKey(rule.id, s.host, s.key);
      const mine = this.groups.get(gk);
      // lines this engine counted already (an overlapping capture read as another input): once
      const seen = new Set(s.sigs.filter(([x, t, src]) => !this.firstSight(x, s.host, t, src)).map(([x]) => x));
      const fresh = (h: RawHit | null): h is RawHit => h !== null && (h.sig === null || !seen.has(h.sig));
      if (seen.size > 0 && s.count <= seen.size) continue;
      const incoming: Group = {
        ...s,
        rule,
        count: s.count - seen.size,
        sigs: s.sigs.filter(([x]) => !seen.has(x)),
        distinct: new Map(s.distinct),
        hits: s.hits.filter(fresh).map(shift),
        latest: fresh(s.latest) ? shift(s.latest) : null,
        firstSeq: s.firstSeq + seqOffset,
        lastSeq: s.lastSeq + seqOffset,
        folded: s.folded && { ...s.folded, keys: new Set(s.folded.keys) },
      };
      if (incoming.folded) {
        foldGroup(this.overflowOf(rule, incoming.host, incoming.captures, incoming.firstSeq), incoming);
      } else if (mine) continueGroup(mine, incoming);
      else if (this.admits(rule)) this.addGroup(gk, incoming);
      // past the caps: folded like the hits of a key seen first past them (a release alone counts nothing)
      else if (incoming.count > 0) foldGroup(this.overflowOf(rule, incoming.host, incoming.captures, incoming.firstSeq), incoming);
    }
    this.seq += state.seq;
    this.undatedKept += state.undated;
    this.futureLines.count += state.future.count;
    this.futureLines.first ??= state.future.first;
  }

  /** Thresholds that have not fired, to be carried to the next run (see PendingThreshold). */
  pendingThresholds(latest: number | null): PendingThreshold[] {
    return pendingThresholds(this.groups.values(), latest);
  }

  /**
   * Start from the thresholds an earlier run left pending: the first hits of this run continue
   * them. They count no hit of their own (a finding's count is what this run saw). Entries of rules
   * not in this catalogue, or no longer thresholds, are ignored.
   */
  seedPending(list: PendingThreshold[]): void {
    for (const p of list) {
      const rule = this.byId.get(p.rule);
      if (!rule?.threshold || !this.admits(rule)) continue;
      const gk = groupKey(rule.id, p.host, p.key);
      if (!this.groups.has(gk)) this.addGroup(gk, pendingGroup(rule, p));
    }
  }

  /** Lines dated more than FUTURE_TOLERANCE after the run's clock (`now`), and the first of them. */
  get future(): EngineState['future'] {
    return this.futureLines;
  }

  /** Candidate lines without a time kept although a time window (--since/--until) was given. */
  get undated(): number {
    return this.undatedKept;
  }

  /** Hits folded into overflow groups (a flood of distinct keys; see admits). */
  get folded(): number {
    let n = 0;
    for (const g of this.overflow.values()) n += g.count;
    return n;
  }

  /**
   * What each overflow group folded, in words, with the input of its first folded line (null when
   * it has none): the count of hits and keys not kept apart is never lost silently.
   */
  foldNotes(): { source: string | null; text: string }[] {
    const out: { source: string | null; text: string }[] = [];
    for (const g of this.overflow.values()) {
      if (g.count === 0) continue;
      const f = g.folded!;
      const keys = `${f.more ? 'more than ' : ''}${f.keys.size} more ${f.keys.size === 1 && !f.more ? 'key' : 'keys'}`;
      const key = Object.entries(g.key)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ');
      const what = g.fired
        ? `folded into one finding (key ${key})`
        : `folded into one group (key ${key}), not counted towards the rule's threshold`;
      out.push({
        source: g.hits[0]?.source ?? null,
        text:
          `too many distinct findings of ${g.rule.id} (past ${MAX_RULE_GROUPS} for one rule or ${MAX_GROUPS} in all): ` +
          `${keys} (${g.count} ${g.count === 1 ? 'hit' : 'hits'}) ${what}`,
      });
    }
    return out;
  }

  /** The findings: fired groups passing their version gate, with root causes linked, worst first. */
  findings(): Finding[] {
    this.closeBlock();
    const host = adoptHostless(this.groups, this.facts);
    // the overflow group of lines that name no host joins that host too (unless its lines named several)
    if (host !== null) for (const g of this.overflow.values()) if (g.host === null && !g.folded!.mixedHosts) g.host = host;
    this.recount();
    this.lastGroup.clear();
    const out: { f: Finding; g: Group }[] = [];
    for (const g of [...this.groups.values(), ...this.overflow.values()]) {
      if (!g.fired) continue;
      if (!ruleApplies(g.rule.spec.applies, this.facts.get(g.host ?? '') ?? {})) continue;
      out.push({ g, f: toFinding(g) });
    }
    linkCauses(out);
    return out.map((o) => o.f).sort(compareFindings);
  }
}

/** A journal record as the line `journalctl -o short-iso-precise` would print. */
function journalLine(ev: LogEvent): string {
  const who = ev.program ? `${ev.program}${ev.pid ? `[${ev.pid}]` : ''}: ` : '';
  return `${toIso(ev.time) ?? '-'} ${ev.host ?? '-'} ${who}${ev.message}`;
}

/**
 * What makes a line the same line in another capture: the kernel's uptime stamp (microseconds since
 * its boot) or a Xen console stamp with milliseconds, with the message. Lines stamped to the second
 * only (syslog) can repeat within a second for real, and have none.
 */
function lineSignature(rule: string, ev: LogEvent): number | null {
  if (ev.uptime !== null && ev.source !== 'hypervisor') return signature(rule, 117 /* u */, ev.uptime, ev.message);
  if (ev.source === 'hypervisor' && ev.time !== null && ev.time % 1000 !== 0) return signature(rule, 120 /* x */, ev.time, ev.message);
  return null;
}

/**
 * The lines of a hit's report kept as evidence: the first hit's first lines, and for every hit the
 * report's closing line when the rule has one (an OOM report's victim line, past its task dump).
 */
function evidenceBlock(hit: Hit, first: boolean): Evidence[] {
  const b = hit.block;
  const endsWithEnd = hit.rule.blockEnd !== null && b.length > 0 && hit.rule.blockEnd.test(hit.blockMessages[b.length - 1] ?? '');
  if (first) {
    if (b.length <= BLOCK_EVIDENCE || !endsWithEnd) return b.slice(0, BLOCK_EVIDENCE);
    return [...b.slice(0, BLOCK_EVIDENCE - 1), b[b.length - 1]!];
  }
  return endsWithEnd ? [b[b.length - 1]!] : [];
}

/** The rules one of whose literals `text` holds (ASCII case folded, as the prefilter does), or that have none. */
function rulesHolding(text: string, rules: Rule[]): Rule[] {
  const folded = text.replace(/[A-Z]+/g, (c) => c.toLowerCase());
  const holds = (lit: string) => folded.includes(lit.replace(/[A-Z]+/g, (c) => c.toLowerCase()));
  return rules.filter((r) => r.literals === null || r.literals.some((l) => holds(l) || holds(jsonEscaped(l) ?? l)));
}

const BYTE_ARRAY_MESSAGE = Buffer.from('"MESSAGE":[');

/** Is this a journal JSON record whose message is an array of byte values? */
function byteArrayMessage(raw: Uint8Array, start: number, end: number): boolean {
  if (raw[start] !== 123 /* { */) return false;
  const at = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).indexOf(BYTE_ARRAY_MESSAGE, start);
  return at >= 0 && at < end;
}
