/**
 * The rule engine, and the one place where a line becomes a finding: `Engine.read` parses a line,
 * chooses the rules whose literals it holds, matches them (matching.ts), gathers multi-line
 * reports, and counts the hits into groups (groups.ts) that become findings (findings.ts). Every
 * command (scan, timeline, watch, explain, the cron run) feeds its lines through `read`.
 */
import type { Finding, LogEvent, Unrecognized } from '../types.js';
import { parseLine } from '../parse/line.js';
import { toIso, type TimeContext } from '../parse/time.js';
import type { Rule } from './catalogue.js';
import { jsonEscaped } from './literals.js';
import { LiteralSet } from './prefilter.js';
import { TemplateMiner, TROUBLE_LITERALS, looksLikeTrouble, type MinerState } from './unrecognized.js';
import { HostFacts, observeFacts, FACT_LITERALS, ruleApplies } from './facts.js';
import { completeFromBlock, isIgnored, keyOf, matchRule, type Hit } from './matching.js';
import {
  BLOCK_EVIDENCE,
  addHit,
  continueGroup,
  groupKey,
  newGroup,
  pendingGroup,
  pendingThresholds,
  type Group,
  type GroupState,
  type PendingThreshold,
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
}

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
}

/** What one engine learnt from its inputs, to be merged into another in input order. */
export interface EngineState {
  miner: MinerState | null;
  groups: GroupState[];
  facts: [string, HostFacts][];
  seq: number;
  dropped: number;
}

/** The program name of xendoctor's own lines (`watch --syslog`): never analysed again. */
export const OWN_PROGRAM = 'xendoctor';

const FACT_OWNER = -1;
const TROUBLE_OWNER = -2;
const MAX_GROUPS = 20_000;
/** No rule to try (shared: never changed). */
const NO_RULES: Rule[] = [];

export class Engine {
  /** The literals of all rules: a line holding none of them needs no rule. Null: every line must be tried. */
  readonly prefilter: LiteralSet | null;
  /** True when every line must be tried against every rule (a rule without literals, or `everyLine`). */
  readonly everyLine: boolean;
  private readonly groups = new Map<string, Group>();
  /** Each rule's group of its last hit (see record). Cleared whenever groups are dropped. */
  private readonly lastGroup = new Map<Rule, Group>();
  private readonly facts = new Map<string, HostFacts>();
  private readonly byId: Map<string, Rule>;
  private block: { hit: Hit; left: number; host: string | null; ignored: boolean } | null = null;
  private seq = 0;
  private droppedGroups = 0;
  private readonly found = new Set<number>();
  private readonly miner: TemplateMiner | null;
  /** `[rule]` for each rule: a line with one rule's literals gets it without a new array. */
  private readonly oneRule: Rule[][];

  constructor(
    readonly rules: Rule[],
    private readonly opts: EngineOptions = {},
  ) {
    const literals: [string, number][] = FACT_LITERALS.map((l) => [l, FACT_OWNER]);
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
    this.prefilter = everyLine ? null : new LiteralSet(literals);
    this.oneRule = rules.map((r) => [r]);
    this.byId = new Map(rules.map((r) => [r.id, r]));
  }

  /** True while a multi-line report is open and the next lines must be offered. */
  wantsAll(): boolean {
    return this.block !== null;
  }

  /** Would the engine try this line against some rule? (its bytes hold some literal) */
  isCandidate(raw: Uint8Array, start: number, end: number): boolean {
    return this.prefilter === null || this.prefilter.next(raw, start, end) >= 0 || byteArrayMessage(raw, start, end);
  }

  /**
   * Read one line: parse it, settle what the reader knows (`place.settle`), choose the rules whose
   * literals it holds, match them, and record the hits. The only way a line reaches the rules.
   * Returns the parsed event.
   */
  read(text: string, place: LinePlace): LogEvent {
    const ev = parseLine(text, place.ctx);
    place.settle?.(ev);
    if (ev.program !== null && ev.program.length === OWN_PROGRAM.length && ev.program.toLowerCase() === OWN_PROGRAM) return ev;
    this.seq++;
    if (this.block && this.continueBlock(ev, text, place)) return ev;
    if (!place.candidate) return ev;
    // the rules to try, and whether the line may carry host facts or trouble words
    let rules = this.rules;
    let facts = true;
    let trouble = this.miner !== null;
    if (this.prefilter && !(ev.format === 'journal-json' && text.includes('"MESSAGE":['))) {
      // (a journal message that is not clean UTF-8 is an array of byte values: its literals cannot
      // be seen in the line's bytes, so it is tried against every rule)
      this.found.clear();
      if (place.raw) this.prefilter.ownersIn(place.raw, place.start!, place.end!, this.found);
      else {
        const bytes = Buffer.from(text, 'utf8');
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
    if (hosts && host !== null && !hosts.includes(host)) return ev;
    let matched = false;
    for (const rule of rules) {
      const captures = matchRule(rule, ev);
      if (!captures) continue;
      const opens = rule.continuation !== null && !this.block && !rule.blockEnd?.test(ev.message);
      // an ignored line that opens a report still takes its continuation lines, then counts for nothing
      const ignored = rule.continuation !== null && isIgnored(rule, ev.message);
      if (ignored && !opens) continue;
      matched = true;
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
    if (!matched && trouble && this.miner) this.miner.add(ev, text, place.source, place.line);
    return ev;
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
    // a rule's hits mostly go to the group of its hit before: no key to build and look up then
    const last = this.lastGroup.get(rule);
    let g = this.sameGroup(last, hit, host) ? last : undefined;
    if (!g) {
      const key = keyOf(hit);
      const gk = groupKey(rule.id, host, key);
      g = this.groups.get(gk);
      if (!g) {
        if (this.groups.size >= MAX_GROUPS) {
          this.droppedGroups++;
          return;
        }
        g = newGroup(rule, host, key, hit.captures, hit.seq);
        this.groups.set(gk, g);
      }
    }
    this.lastGroup.set(rule, g);
    // a value the first hit lacks may come with a later hit of the same finding (the bridge of a
    // failed hotplug script, the guest of a backend error): fixes and titles use it
    for (const k in hit.captures) if (g.captures[k] === undefined) g.captures[k] = hit.captures[k];
    const wasFired = g.fired;
    const raw = {
      source: hit.source,
      line: hit.line,
      time: hit.event.time,
      text: hit.text,
      block: g.hits.length === 0 ? hit.block.slice(0, BLOCK_EVIDENCE) : [],
    };
    addHit(g, raw, hit.seq, rule.threshold?.distinct ? hit.captures[rule.threshold.distinct] : undefined);
    if (this.opts.onFinding && g.fired) this.opts.onFinding(toFinding(g), wasFired && g.count > 1 ? 'repeat' : 'new');
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
      groups: [...this.groups.values()].map((g) => ({ ...g, rule: index.get(g.rule)!, distinct: [...g.distinct] })),
      facts: [...this.facts],
      seq: this.seq,
      dropped: this.droppedGroups,
    };
  }

  /**
   * Merge what another engine (same rules) learnt from the inputs that follow this engine's, as if
   * one engine had read them all (see continueGroup). `lineOffset` shifts its line numbers (a later
   * part of the same file).
   */
  absorb(state: EngineState, lineOffset = 0): void {
    const seqOffset = this.seq;
    const shift = <T extends { line: number; block: { line: number }[] }>(h: T): T =>
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
      if (mine) continueGroup(mine, incoming);
      else if (this.groups.size >= MAX_GROUPS) this.droppedGroups++;
      else this.groups.set(gk, incoming);
    }
    this.seq += state.seq;
    this.droppedGroups += state.dropped;
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
      if (!rule?.threshold || this.groups.size >= MAX_GROUPS) continue;
      const gk = groupKey(rule.id, p.host, p.key);
      if (!this.groups.has(gk)) this.groups.set(gk, pendingGroup(rule, p));
    }
  }

  /** Groups that were capped away (a flood of distinct keys). */
  get dropped(): number {
    return this.droppedGroups;
  }

  /** The findings: fired groups passing their version gate, with root causes linked, worst first. */
  findings(): Finding[] {
    this.closeBlock();
    adoptHostless(this.groups, this.facts);
    this.lastGroup.clear();
    const out: { f: Finding; g: Group }[] = [];
    for (const g of this.groups.values()) {
      if (!g.fired) continue;
      if (!ruleApplies(g.rule.spec.applies, this.facts.get(g.host ?? '') ?? {})) continue;
      out.push({ g, f: toFinding(g) });
    }
    linkCauses(out);
    return out.map((o) => o.f).sort(compareFindings);
  }
}

const BYTE_ARRAY_MESSAGE = Buffer.from('"MESSAGE":[');

/** Is this a journal JSON record whose message is an array of byte values? */
function byteArrayMessage(raw: Uint8Array, start: number, end: number): boolean {
  if (raw[start] !== 123 /* { */) return false;
  const at = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).indexOf(BYTE_ARRAY_MESSAGE, start);
  return at >= 0 && at < end;
}
