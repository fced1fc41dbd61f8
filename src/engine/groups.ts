/**
 * Groups and thresholds: the hits of one rule on one host with one key, counted, dated and kept
 * as evidence; a rule's threshold (count or distinct values within a window) decides when a group
 * fires. The count-in-window test is written once (`thresholdStep`); merging two groups replays
 * what both counted through it, in time order.
 */
import type { Evidence } from '../types.js';
import type { Rule } from './catalogue.js';

/** The first hits kept as evidence of a group (then only the latest). */
export const EVIDENCE_FIRST = 3;
/** Lines of a multi-line report kept as evidence. */
export const BLOCK_EVIDENCE = 12;
/** Values listed per `collect` placeholder. */
export const MAX_COLLECT = 12;
/** Line signatures (and released values) a group keeps for merging engines (inputs read apart). */
export const MAX_GROUP_SIGS = 4096;
/**
 * Steps (hits, and releases of distinct values) a group that has not fired keeps in its `counted`
 * log, so that merging it with a group read apart (mergeGroups) is exact: both logs replayed in time
 * order from an empty state. Past it the log is dropped and such a merge replays the two final windows
 * only (inexact when the hits interleave in time and one group went on past the window). Measured
 * (Node 20): 20,000 unfired groups of 256 steps each take 58 MB (count thresholds: a time, about 11
 * bytes a step) or 240 MB (distinct: a time and a short value, about 47), which takes 5 million matched
 * lines that fire nothing; the signature each of those hits already keeps (MAX_GROUP_SIGS, about 80
 * bytes) costs more. A fired group keeps no log.
 */
export const MAX_COUNTED = 256;
/** Most groups (findings) kept apart in all: past it only a rule's first group is admitted. */
export const MAX_GROUPS = 20_000;
/**
 * Most groups kept apart per rule: past it (or past MAX_GROUPS) a new key's hits fold into the
 * rule's one overflow group, so that a flood of one rule's distinct keys cannot crowd out the others.
 */
export const MAX_RULE_GROUPS = 5_000;
/** Distinct keys an overflow group counts exactly; past it, "more than". */
export const MAX_FOLDED_KEYS = 50_000;

/** A hit as kept for evidence: raw time, converted only for output. */
export interface RawHit {
  source: string;
  line: number;
  time: number | null;
  text: string;
  block: Evidence[];
  /** The line's signature (see Engine: overlapping captures), or null. */
  sig: number | null;
  /** Lines just before it that explain it (the rule's `context`). */
  before?: Evidence[];
  /** The line's place in the reading order (Engine seq): folded groups keep their earliest hits. */
  seq?: number;
}

/**
 * What an overflow group folded: the hashes of the distinct keys (at most MAX_FOLDED_KEYS, then
 * `more`), and whether its lines named more than one host (its host is then null).
 */
export interface Folded {
  keys: Set<number>;
  more: boolean;
  mixedHosts: boolean;
}

/** A distinct value taken away (threshold.release), as a step of a group's `counted` log. */
export interface ReleaseStep {
  release: string;
}

/** The hits of one rule, on one host, with one key. */
export interface Group {
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
  /**
   * A distinct threshold with a window: each value the first time it is seen within the window of the
   * group's first value, with its time: what a group read before this one may add up with
   * (continueGroup), which `distinct` alone no longer tells once those values expired here. All of them
   * are in one window, so `count` of them fire the group, which clears it: it holds fewer than `count`.
   */
  distinctHead: [string, number | null][];
  /**
   * What counted towards the threshold since the group began, in reading order (see MAX_COUNTED): the
   * time of each step (NaN: undated), null once past MAX_COUNTED steps; empty once fired.
   */
  counted: number[] | null;
  /** A distinct threshold's steps' values (or releases), one per entry of `counted`; empty otherwise. */
  countedValues: (string | ReleaseStep)[];
  /** The rule's `collect`: placeholder → distinct captured values, in order (at most MAX_COLLECT). */
  collected: Record<string, string[]>;
  /** Signatures and times of the stamped lines counted (at most MAX_GROUP_SIGS): a merge drops lines counted before. */
  sigs: [number, number | null, string][];
  /** Distinct values released here that an earlier engine may hold (threshold.release), for merging. */
  released: string[];
  /** Set on a rule's overflow group (see MAX_RULE_GROUPS): the hits of the keys not kept apart. */
  folded?: Folded;
}

/** A group in a form that crosses a worker boundary (structured clone), rule by index. */
export interface GroupState extends Omit<Group, 'rule' | 'distinct'> {
  rule: number;
  distinct: [string, number | null][];
}

/**
 * A threshold that had not fired when a run ended: the times (or distinct values) counting towards
 * it, carried to the next run (the cron run's state) so that hits split across two runs still add up.
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

/** The map key of a group. */
export function groupKey(rule: string, host: string | null, key: Record<string, string>): string {
  let k = `${rule}\0${host ?? ''}`;
  for (const name in key) k += `\0${name}=${key[name]}`;
  return k;
}

/** An empty group (no hit yet); `seq` orders it among the others. */
export function newGroup(
  rule: Rule,
  host: string | null,
  key: Record<string, string>,
  captures: Record<string, string>,
  seq: number,
): Group {
  return {
    rule,
    host,
    key,
    captures: { ...captures },
    count: 0,
    first: null,
    last: null,
    firstSeq: seq,
    lastSeq: seq,
    hits: [],
    latest: null,
    fired: rule.threshold === null,
    head: [],
    recent: [],
    distinct: new Map(),
    distinctHead: [],
    counted: [],
    countedValues: [],
    collected: {},
    sigs: [],
    released: [],
  };
}

/** Add a captured value to a group's `collect` list (distinct, in order, bounded). */
export function addCollected(g: Pick<Group, 'collected'>, name: string, value: string | undefined): void {
  if (value === undefined || value === '') return;
  const list = (g.collected[name] ??= []);
  if (list.length < MAX_COLLECT && !list.includes(value)) list.push(value);
}

/** Add `b`'s collected values after `a`'s. */
function mergeCollected(a: Pick<Group, 'collected'>, b: Pick<Group, 'collected'>): void {
  for (const [name, list] of Object.entries(b.collected)) for (const v of list) addCollected(a, name, v);
}

/**
 * Count one hit into its group: span, evidence, threshold. `value` is the distinct threshold's
 * capture; `at` the time it counts at towards the threshold (the line's, unless from the future).
 */
export function addHit(g: Group, raw: RawHit, seq: number, value: string | undefined, at: number | null = raw.time): void {
  const t = raw.time;
  if (raw.sig !== null && g.sigs.length < MAX_GROUP_SIGS) g.sigs.push([raw.sig, t, raw.source]);
  g.count++;
  if (t !== null) {
    if (g.first === null || t < g.first) g.first = t;
    if (g.last === null || t > g.last) g.last = t;
  }
  g.lastSeq = seq;
  if (g.hits.length < EVIDENCE_FIRST) g.hits.push(raw);
  g.latest = raw;
  // an overflow group mixes keys: it counts towards no threshold
  if (g.fired || g.folded) return;
  countStep(g, at, value);
}

/** A hit's step towards the threshold of a group that has not fired: its distinct head, its log, its window. */
function countStep(g: Group, at: number | null, value: string | undefined): void {
  const th = g.rule.threshold!;
  if (th.distinct) {
    // a hit without the value counts towards no distinct threshold
    if (value === undefined) return;
    if (th.within !== null && !g.distinctHead.some(([v]) => v === value)) {
      const from = g.distinctHead[0]?.[1] ?? null;
      if (g.distinctHead.length === 0 || from === null || at === null || at <= from + th.within) g.distinctHead.push([value, at]);
    }
  }
  logStep(g, at, th.distinct ? value : undefined);
  thresholdStep(g, at, value);
}

/** Add a step to a group's `counted` log, or drop the log past MAX_COUNTED steps. */
function logStep(g: Group, t: number | null, v: string | ReleaseStep | undefined): void {
  if (g.counted === null) return;
  if (g.counted.length >= MAX_COUNTED) {
    g.counted = null;
    g.countedValues = [];
    return;
  }
  g.counted.push(t ?? NaN);
  if (v !== undefined) g.countedValues.push(v);
}

/**
 * A line took `value` away from a distinct threshold (threshold.release) at time `t`: it no longer
 * counts. A value not counted here is remembered (`released`) for a group read before (continueGroup).
 */
export function releaseValue(g: Group, value: string, t: number | null): void {
  if (g.fired) return;
  if (!g.distinct.delete(value) && g.released.length < MAX_GROUP_SIGS && !g.released.includes(value)) g.released.push(value);
  logStep(g, t, { release: value });
}

/**
 * One hit's step of a threshold: count (or distinct values) within the window; sets `fired`. The
 * only count-in-window test: every other path (merging workers' groups, host adoption) replays
 * times through it in order.
 */
export function thresholdStep(g: Group, t: number | null, value: string | undefined): void {
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
  if (g.fired) clearThreshold(g);
}

/** A fired group's threshold state is dropped: it no longer counts. */
function clearThreshold(g: Group): void {
  g.head = [];
  g.recent = [];
  g.distinct.clear();
  g.distinctHead = [];
  g.counted = [];
  g.countedValues = [];
}

/** Add `b`'s hits to `a`'s count and widen `a`'s time span to cover `b`'s. */
export function addSpan(a: Group, b: Pick<Group, 'count' | 'first' | 'last'>): void {
  a.count += b.count;
  if (b.first !== null && (a.first === null || b.first < a.first)) a.first = b.first;
  if (b.last !== null && (a.last === null || b.last > a.last)) a.last = b.last;
}

/**
 * Continue `mine` with the group of the same rule, host and key that a later part of the inputs
 * produced (a worker's): counts add up, spans widen, evidence keeps the first hits and the latest,
 * the threshold continues across the boundary.
 */
export function continueGroup(mine: Group, incoming: Group): void {
  if (mine.count === 0) {
    // a threshold carried from an earlier run (seedPending): this run's first hit is its first
    mine.captures = incoming.captures;
    mine.firstSeq = incoming.firstSeq;
  }
  // values the first hits lacked may come with the later part's
  for (const k in incoming.captures) if (mine.captures[k] === undefined) mine.captures[k] = incoming.captures[k];
  addSpan(mine, incoming);
  mergeCollected(mine, incoming);
  mine.sigs = [...mine.sigs, ...incoming.sigs].slice(0, MAX_GROUP_SIGS);
  mine.lastSeq = incoming.lastSeq;
  for (const h of incoming.hits)
    if (mine.hits.length < EVIDENCE_FIRST) mine.hits.push({ ...h, block: mine.hits.length === 0 ? h.block : [] });
  mine.latest = incoming.latest ?? mine.latest;
  if (mine.fired) return;
  if (incoming.fired) {
    mine.fired = true;
    clearThreshold(mine);
    return;
  }
  // the logs follow each other (incoming read after); the replays below clear it if they fire
  if (mine.counted !== null && incoming.counted !== null && mine.counted.length + incoming.counted.length <= MAX_COUNTED) {
    mine.counted = [...mine.counted, ...incoming.counted];
    mine.countedValues = [...mine.countedValues, ...incoming.countedValues];
  } else {
    mine.counted = null;
    mine.countedValues = [];
  }
  // replay the incoming hits' threshold state on top of ours, after the values it released
  const th = mine.rule.threshold!;
  for (const v of incoming.released) mine.distinct.delete(v);
  if (th.distinct) {
    // the incoming values first seen while ours may still be in the window, as they came, then its state
    // in time order (later values cannot meet ours in one window: what they add up to, incoming fired on
    // alone); a value seen again in that window is alive at each of its steps, so its first is enough
    for (const [v, t] of incoming.distinctHead) {
      thresholdStep(mine, t, v);
      if (mine.fired) return;
    }
    for (const v of incoming.released) mine.distinct.delete(v);
    const byTime = (x: number | null, y: number | null) => (x ?? 0) - (y ?? 0);
    for (const [v, t] of [...incoming.distinct].sort((x, y) => byTime(x[1], y[1]))) {
      thresholdStep(mine, t, v);
      if (mine.fired) break;
    }
  } else {
    // after `count` incoming hits none of ours is left in the window: the rest is incoming's own state
    for (const t of incoming.head) {
      thresholdStep(mine, t, undefined);
      if (mine.fired) break;
    }
    if (!mine.fired && incoming.count > th.count) mine.recent = [...incoming.recent];
  }
}

/**
 * Fold group `b` into `a` (same rule and key, lines of one host, read interleaved): counts add,
 * spans widen, the earliest hits stay the evidence, and the threshold fires if the hits of both
 * reach it. Exact while both keep their `counted` logs (at most MAX_COUNTED steps each): the two
 * logs are replayed in time order from an empty state, as one input read in time order would count
 * them. Past the bound, only the two final windows (`recent`, `distinct`) are replayed in time order,
 * which misses a count made of hits one group let expire from its window before the merge.
 */
export function mergeGroups(a: Group, b: Group): void {
  const first = b.firstSeq < a.firstSeq ? b : a;
  a.hits = [...a.hits, ...b.hits].sort((x, y) => (x.time ?? 0) - (y.time ?? 0)).slice(0, EVIDENCE_FIRST);
  if (b.lastSeq > a.lastSeq) a.latest = b.latest ?? a.latest;
  // the first hit's values, completed by the other group's (as the engine does within one group)
  a.captures = { ...(first === a ? b : a).captures, ...first.captures };
  if (first === b) {
    const mine = a.collected;
    a.collected = { ...b.collected };
    mergeCollected(a, { collected: mine });
  } else mergeCollected(a, b);
  a.sigs = [...a.sigs, ...b.sigs].slice(0, MAX_GROUP_SIGS);
  addSpan(a, b);
  a.firstSeq = Math.min(a.firstSeq, b.firstSeq);
  a.lastSeq = Math.max(a.lastSeq, b.lastSeq);
  if (a.fired || b.fired) {
    a.fired = true;
    clearThreshold(a);
    return;
  }
  const byTime = (x: number | null, y: number | null) => (x ?? 0) - (y ?? 0);
  if (a.counted !== null && b.counted !== null) {
    // every step of both, in time order (a stable sort: each group's own order for equal times)
    const steps = [...stepsOf(a), ...stepsOf(b)].sort((x, y) => byTime(x[0], y[0]));
    // replayed into an empty state
    clearThreshold(a);
    for (const [t, v] of steps) {
      if (a.fired) break;
      if (typeof v === 'object') {
        a.distinct.delete(v.release);
        logStep(a, t, v);
      } else countStep(a, t, v);
    }
    return;
  }
  a.counted = null;
  a.countedValues = [];
  if (a.rule.threshold!.distinct) {
    for (const v of b.released) a.distinct.delete(v);
    const values = [...a.distinct, ...b.distinct].sort((x, y) => byTime(x[1], y[1]));
    a.distinct.clear();
    for (const [v, t] of values) if (!a.fired) thresholdStep(a, t, v);
  } else {
    const times = [...a.recent, ...b.recent].sort(byTime);
    a.recent = [];
    a.head = [];
    for (const t of times) if (!a.fired) thresholdStep(a, t, undefined);
  }
}

/** The steps of a group's `counted` log: time (null: undated) and, for a distinct threshold, value or release. */
function stepsOf(g: Group): [number | null, string | ReleaseStep | undefined][] {
  const distinct = g.rule.threshold!.distinct !== null;
  return g.counted!.map((t, i) => [Number.isNaN(t) ? null : t, distinct ? g.countedValues[i] : undefined]);
}

/** The key of a rule's overflow group: each key name `*` (any other), or `host: *` for a rule without one. */
export function overflowKey(rule: Rule): Record<string, string> {
  return rule.key.length > 0 ? Object.fromEntries(rule.key.map((k) => [k, '*'])) : { host: '*' };
}

/** A rule's empty overflow group; fired at once unless the rule has a threshold (not counted across keys). */
export function newOverflow(rule: Rule, host: string | null, captures: Record<string, string>, seq: number): Group {
  const g = newGroup(rule, host, overflowKey(rule), captures, seq);
  g.folded = { keys: new Set(), more: false, mixedHosts: false };
  return g;
}

/** The 53-bit hash of a group's key: folded keys are counted, not kept. */
export function keyHash(host: string | null, key: Record<string, string>): number {
  let str = host ?? '';
  for (const name in key) str += `\0${key[name]}`;
  return hash53(str);
}

/** A 53-bit hash of a string (cyrb53): signatures and keys without keeping the text. */
export function hash53(str: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < str.length; i++) {
    const ch = str.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** Count a key (and its host) into an overflow group's folded keys. */
export function foldKey(over: Group, host: string | null, key: Record<string, string>): void {
  const f = over.folded!;
  if (host !== over.host && !f.mixedHosts) {
    f.mixedHosts = true;
    over.host = null;
  }
  if (f.more) return;
  const h = keyHash(host, key);
  if (f.keys.has(h)) return;
  if (f.keys.size >= MAX_FOLDED_KEYS) f.more = true;
  else f.keys.add(h);
}

/**
 * Fold a group (or another overflow group of the same rule, read later or apart) into a rule's
 * overflow group: counts add, spans widen, the earliest hits stay the evidence, and the overflow
 * fires when a folded group had fired (its threshold was reached before it was folded).
 */
export function foldGroup(over: Group, g: Group): void {
  const f = over.folded!;
  if (g.folded) {
    if (g.folded.mixedHosts || g.host !== over.host) {
      f.mixedHosts = true;
      over.host = null;
    }
    for (const k of g.folded.keys) {
      if (f.more) break;
      if (f.keys.has(k)) continue;
      if (f.keys.size >= MAX_FOLDED_KEYS) f.more = true;
      else f.keys.add(k);
    }
    if (g.folded.more) f.more = true;
  } else foldKey(over, g.host, g.key);
  if (over.count === 0) over.captures = { ...g.captures };
  addSpan(over, g);
  mergeCollected(over, g);
  over.sigs = [...over.sigs, ...g.sigs].slice(0, MAX_GROUP_SIGS);
  const bySeq = (a: RawHit, b: RawHit) => (a.seq ?? 0) - (b.seq ?? 0);
  over.hits = [...over.hits, ...g.hits].sort(bySeq).slice(0, EVIDENCE_FIRST);
  if (g.latest && (!over.latest || (g.latest.seq ?? 0) >= (over.latest.seq ?? 0))) over.latest = g.latest;
  over.firstSeq = Math.min(over.firstSeq, g.firstSeq);
  over.lastSeq = Math.max(over.lastSeq, g.lastSeq);
  if (g.fired) over.fired = true;
}

/** Most pending thresholds carried from one run to the next. */
const MAX_PENDING = 2000;

/**
 * Thresholds that have not fired, with what counts towards them (see PendingThreshold), the
 * latest first, at most MAX_PENDING. `latest`: the latest time read; hits a window before it can
 * no longer count with any later one (null: keep all).
 */
export function pendingThresholds(groups: Iterable<Group>, latest: number | null): PendingThreshold[] {
  const out: { p: PendingThreshold; last: number }[] = [];
  for (const g of groups) {
    const th = g.rule.threshold;
    if (!th || g.fired || g.folded) continue;
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

/** The group an earlier run left pending, to be continued by this run's hits (it counts none of its own). */
export function pendingGroup(rule: Rule, p: PendingThreshold): Group {
  const g = newGroup(rule, p.host, { ...p.key }, p.key, 0);
  g.head = [...p.recent];
  g.recent = [...p.recent];
  g.distinct = new Map(p.distinct);
  // its log: what it carries, as the steps that leave that state (a merge replays them in time order)
  if (rule.threshold!.distinct) {
    g.counted = p.distinct.map(([, t]) => t ?? NaN);
    g.countedValues = p.distinct.map(([v]) => v);
  } else g.counted = p.recent.map((t) => t ?? NaN);
  if (g.counted.length > MAX_COUNTED) {
    g.counted = null;
    g.countedValues = [];
  }
  return g;
}
