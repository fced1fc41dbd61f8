/**
 * Unit and property tests of src/engine/groups.ts (the mutation run found most of it reached only
 * through the binary): a threshold fires exactly when a model of it says so (count or distinct values
 * within the window), a group split in two and continued (workers, or a cron run's pending state)
 * ends like the whole, the evidence and span a group keeps, overflow groups and their folded keys.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileRule, type Rule, type RuleSpec } from '../src/engine/catalogue.js';
import {
  addCollected,
  addHit,
  addSpan,
  continueGroup,
  EVIDENCE_FIRST,
  foldGroup,
  foldKey,
  groupKey,
  hash53,
  keyHash,
  MAX_COLLECT,
  MAX_COUNTED,
  MAX_FOLDED_KEYS,
  MAX_GROUP_SIGS,
  mergeGroups,
  newGroup,
  newOverflow,
  overflowKey,
  pendingGroup,
  pendingThresholds,
  releaseValue,
  thresholdStep,
  type Group,
  type RawHit,
} from '../src/engine/groups.js';

function rule(spec: Partial<RuleSpec>): Rule {
  const problems: unknown[] = [];
  const r = compileRule(
    { id: 't', title: 't', severity: 'error', patterns: ['(?<v>x)(?<k>y)?'], diagnosis: 'd', fix: ['f'], ...spec } as RuleSpec,
    't.yaml',
    problems as never,
  );
  expect(problems).toEqual([]);
  return r!;
}
const raw = (time: number | null, seq = 0, text = `line ${seq}`, sig: number | null = null): RawHit => ({
  source: 's',
  line: seq + 1,
  time,
  text,
  block: [],
  sig,
  seq,
});
const S = 1000;

/** A group of `r` fed hits at `times` (values for a distinct threshold). */
function feed(r: Rule, times: number[], values: (string | undefined)[] = [], seq0 = 0): Group {
  const g = newGroup(r, 'h', {}, {}, seq0);
  times.forEach((t, i) => addHit(g, raw(t, seq0 + i), seq0 + i, values[i]));
  return g;
}

/** The model: N hits with the first no more than `within` before the last (count thresholds). */
function countModel(times: number[], n: number, within: number | null): boolean {
  for (let i = 0; i + n - 1 < times.length; i++) if (within === null || times[i + n - 1]! - times[i]! <= within) return true;
  return false;
}

/** The model: at some hit, N distinct values last seen no more than `within` before it. */
function distinctModel(times: number[], values: string[], n: number, within: number | null): boolean {
  const seen = new Map<string, number>();
  for (let i = 0; i < times.length; i++) {
    seen.set(values[i]!, times[i]!);
    const alive = [...seen.values()].filter((t) => within === null || t >= times[i]! - within);
    if (alive.length >= n) return true;
  }
  return false;
}

const sortedTimes = fc
  .array(fc.integer({ min: 0, max: 120 }), { minLength: 0, maxLength: 14 })
  .map((xs) => xs.sort((a, b) => a - b).map((x) => x * S));
const countRule = (n: number, within: number | null) =>
  rule({ threshold: { count: n, ...(within === null ? {} : { within: `${within}s` }) } });
const distinctRule = (n: number, within: number | null) =>
  rule({ threshold: { count: n, distinct: 'v', ...(within === null ? {} : { within: `${within}s` }) } });
const thresholdArgs = fc.tuple(fc.integer({ min: 1, max: 4 }), fc.option(fc.integer({ min: 0, max: 40 }), { nil: null }));

describe('groups: thresholds', () => {
  it('a count threshold fires exactly when some `count` hits lie within the window (edges included)', () => {
    fc.assert(
      fc.property(sortedTimes, thresholdArgs, (times, [n, within]) => {
        const g = feed(countRule(n, within), times);
        expect(g.fired).toBe(countModel(times, n, within === null ? null : within * S));
        expect(g.count).toBe(times.length);
      }),
      { numRuns: 600 },
    );
  });

  it('a distinct threshold fires exactly when `count` values were each seen within the window', () => {
    fc.assert(
      fc.property(
        sortedTimes.chain((ts) =>
          fc.tuple(fc.constant(ts), fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { minLength: ts.length, maxLength: ts.length })),
        ),
        thresholdArgs,
        ([times, values], [n, within]) => {
          const g = feed(distinctRule(n, within), times, values);
          expect(g.fired).toBe(distinctModel(times, values, n, within === null ? null : within * S));
          // what a group keeps for continuing is bounded by the count: each value once, fewer than `count`
          expect(g.distinctHead.length).toBeLessThan(n);
          expect(new Set(g.distinctHead.map(([v]) => v)).size).toBe(g.distinctHead.length);
        },
      ),
      { numRuns: 600 },
    );
  });

  it('edges: hits exactly `within` apart count together, a millisecond more do not', () => {
    expect(feed(countRule(2, 10), [0, 10 * S]).fired).toBe(true);
    expect(feed(countRule(2, 10), [0, 10 * S + 1]).fired).toBe(false);
    expect(feed(distinctRule(2, 10), [0, 10 * S], ['a', 'b']).fired).toBe(true);
    expect(feed(distinctRule(2, 10), [0, 10 * S + 1], ['a', 'b']).fired).toBe(false);
    expect(feed(distinctRule(2, null), [0, 10 * S], ['a', 'a']).fired).toBe(false);
    // a hit without a value counts towards no distinct threshold
    expect(feed(distinctRule(1, null), [0], [undefined]).fired).toBe(false);
    // a rule without a threshold: every group is a finding
    expect(newGroup(rule({}), null, {}, {}, 0).fired).toBe(true);
  });

  it('a fired group drops its threshold state', () => {
    const g = feed(countRule(2, null), [0, S]);
    expect([g.fired, g.head, g.recent]).toEqual([true, [], []]);
    const d = feed(distinctRule(2, null), [0, S], ['a', 'b']);
    expect([d.fired, d.distinct.size]).toEqual([true, 0]);
  });

  it('a group split in two and continued ends like the whole (count, span, threshold)', () => {
    fc.assert(
      fc.property(sortedTimes, thresholdArgs, fc.nat(), (times, [n, within], cut) => {
        const r = countRule(n, within);
        if (times.length === 0) return;
        const k = cut % times.length; // the later part has a hit (a worker's group always has)
        const whole = feed(r, times);
        const a = feed(r, times.slice(0, k));
        const b = feed(r, times.slice(k), [], k);
        continueGroup(a, b);
        expect([a.fired, a.count, a.first, a.last, a.lastSeq]).toEqual([whole.fired, whole.count, whole.first, whole.last, whole.lastSeq]);
      }),
      { numRuns: 600 },
    );
  });

  it('the same for a distinct threshold, and across runs through the pending state', () => {
    fc.assert(
      fc.property(
        sortedTimes.chain((ts) =>
          fc.tuple(fc.constant(ts), fc.array(fc.constantFrom('a', 'b', 'c'), { minLength: ts.length, maxLength: ts.length })),
        ),
        thresholdArgs,
        fc.nat(),
        fc.boolean(),
        ([times, values], [n, w], cut, distinct) => {
          const within = w;
          const r = distinct ? distinctRule(n, within) : countRule(n, within);
          if (times.length === 0) return;
          const k = cut % times.length;
          const whole = feed(r, times, values);
          const a = feed(r, times.slice(0, k), values.slice(0, k));
          const b = feed(r, times.slice(k), values.slice(k), k);
          const split = feed(r, times.slice(0, k), values.slice(0, k));
          // (a distinct threshold's values of the earlier part may make `count` with values the later part
          // saw early and then let expire: its final state alone would miss that)
          continueGroup(split, b);
          expect(split.fired).toBe(whole.fired);
          // a cron run's end: what has not fired is carried (the whole window: latest null) and continued next run
          if (!a.fired) {
            const pending = pendingThresholds([a], null);
            if (pending.length === 0) expect(a.recent.length + a.distinct.size).toBe(0);
            const next = pending.length ? pendingGroup(r, pending[0]!) : newGroup(r, 'h', {}, {}, 0);
            continueGroup(next, b);
            expect(next.fired).toBe(whole.fired);
            expect(next.count).toBe(times.length - k);
          }
        },
      ),
      { numRuns: 600 },
    );
  });

  it('a fired part fires the continued group; a fired group stays fired', () => {
    const r = countRule(2, 10);
    const fired = feed(r, [0, S]);
    const quiet = feed(r, [100 * S]);
    continueGroup(quiet, fired);
    expect(quiet.fired).toBe(true);
    const a = feed(r, [0, S]);
    continueGroup(a, feed(r, [500 * S]));
    expect(a.fired).toBe(true);
  });

  it('a value released by the later part no longer counts with the earlier part', () => {
    const r = rule({ threshold: { count: 2, distinct: 'v', release: ['gone (?<v>\\w)'] } });
    const a = feed(r, [0], ['a']);
    const b = feed(r, [S], ['b'], 1);
    b.released = ['a'];
    continueGroup(a, b);
    expect(a.fired).toBe(false);
    const c = feed(r, [0], ['a']);
    continueGroup(c, feed(r, [S], ['b'], 1));
    expect(c.fired).toBe(true);
  });

  it('mergeGroups: two groups read interleaved fire when their hits together reach the threshold', () => {
    const r = countRule(3, 10);
    const a = feed(r, [0, 4 * S]);
    const b = feed(r, [2 * S], [], 5);
    mergeGroups(a, b);
    expect([a.fired, a.count, a.first, a.last, a.firstSeq, a.lastSeq]).toEqual([true, 3, 0, 4 * S, 0, 5]);
    const c = feed(r, [0, 4 * S]);
    mergeGroups(c, feed(r, [20 * S], [], 5));
    expect(c.fired).toBe(false);
    const d = feed(distinctRule(2, 10), [0], ['a']);
    mergeGroups(d, feed(distinctRule(2, 10), [S], ['b'], 3));
    expect(d.fired).toBe(true);
    const e = feed(distinctRule(2, 10), [0], ['a']);
    mergeGroups(e, feed(distinctRule(2, 10), [S], ['a'], 3));
    expect(e.fired).toBe(false);
  });

  it('mergeGroups is exact when one group went on past the window: what it counted is replayed, not its last window', () => {
    // the host's hits at 0 s and 100 s, a hostless hit at 5 s: 0 s and 5 s are 2 within 10 s
    const r = countRule(2, 10);
    const host = feed(r, [0, 100 * S]);
    mergeGroups(host, feed(r, [5 * S], [], 5));
    expect([host.fired, host.count, host.first, host.last]).toEqual([true, 3, 0, 100 * S]);
    // the other way round (the hostless group is the one that went on), and a distinct threshold
    const quiet = feed(r, [5 * S], [], 5);
    mergeGroups(quiet, feed(r, [0, 100 * S]));
    expect(quiet.fired).toBe(true);
    const d = feed(distinctRule(2, 10), [0, 100 * S], ['a', 'a']);
    mergeGroups(d, feed(distinctRule(2, 10), [5 * S], ['b'], 5));
    expect(d.fired).toBe(true);
    // not fired: the merged group goes on as the one input would (its window, its log in time order)
    const n = feed(r, [0, 100 * S]);
    mergeGroups(n, feed(r, [50 * S], [], 5));
    expect([n.fired, n.recent, n.counted]).toEqual([false, [100 * S], [0, 50 * S, 100 * S]]);
    addHit(n, raw(105 * S, 9), 9, undefined);
    expect(n.fired).toBe(true);
    // a cron run's pending hit at 0 s, this run's at 100 s (continued), the hostless one at 5 s
    const pending = pendingGroup(r, { rule: 't', host: 'h', key: {}, recent: [0], distinct: [] });
    continueGroup(pending, feed(r, [100 * S], [], 1));
    expect(pending.counted).toEqual([0, 100 * S]);
    mergeGroups(pending, feed(r, [5 * S], [], 5));
    expect(pending.fired).toBe(true);
    const pd = pendingGroup(distinctRule(2, 10), { rule: 't', host: 'h', key: {}, recent: [], distinct: [['a', 0]] });
    continueGroup(pd, feed(distinctRule(2, 10), [100 * S], ['a'], 1));
    mergeGroups(pd, feed(distinctRule(2, 10), [5 * S], ['b'], 5));
    expect(pd.fired).toBe(true);
  });

  it("mergeGroups replays a release at its time among the other group's values", () => {
    const r = rule({ threshold: { count: 2, distinct: 'v', release: ['gone (?<v>\\w)'] } });
    // the host counted a at 0 s and released it at 10 s; the hostless b at 5 s met a, at 20 s it does not
    const early = feed(r, [0], ['a']);
    releaseValue(early, 'a', 10 * S);
    mergeGroups(early, feed(r, [5 * S], ['b'], 5));
    expect(early.fired).toBe(true);
    const late = feed(r, [0], ['a']);
    releaseValue(late, 'a', 10 * S);
    mergeGroups(late, feed(r, [20 * S], ['b'], 5));
    expect([late.fired, [...late.distinct]]).toEqual([false, [['b', 20 * S]]]);
  });

  it('merging two groups whose hits interleave ends (fired or not) like one group fed the union in time order', () => {
    fc.assert(
      fc.property(
        sortedTimes.chain((ts) =>
          fc.tuple(
            fc.constant(ts),
            fc.array(fc.constantFrom('a', 'b', 'c'), { minLength: ts.length, maxLength: ts.length }),
            fc.array(fc.boolean(), { minLength: ts.length, maxLength: ts.length }),
          ),
        ),
        thresholdArgs,
        fc.boolean(),
        fc.boolean(),
        ([times, values, mine], [n, within], distinct, worker) => {
          const r = distinct ? distinctRule(n, within) : countRule(n, within);
          const pick = (side: boolean) => times.flatMap((t, i) => (mine[i] === side ? [[t, values[i]!] as const] : []));
          const ofA = pick(true);
          const ofB = pick(false);
          const whole = feed(r, times, values);
          let a = feed(
            r,
            ofA.map(([t]) => t),
            ofA.map(([, v]) => v),
          );
          if (worker && ofA.length > 1) {
            // the host's group read in two parts (workers) and continued before the merge
            const k = ofA.length >> 1;
            a = feed(
              r,
              ofA.slice(0, k).map(([t]) => t),
              ofA.slice(0, k).map(([, v]) => v),
            );
            continueGroup(
              a,
              feed(
                r,
                ofA.slice(k).map(([t]) => t),
                ofA.slice(k).map(([, v]) => v),
                k,
              ),
            );
          }
          const b = feed(
            r,
            ofB.map(([t]) => t),
            ofB.map(([, v]) => v),
            100,
          );
          mergeGroups(a, b);
          expect(a.fired).toBe(whole.fired);
          expect(a.count).toBe(times.length);
          // not fired: the same window and values to go on with
          expect([...a.recent].sort((x, y) => (x ?? 0) - (y ?? 0))).toEqual([...whole.recent].sort((x, y) => (x ?? 0) - (y ?? 0)));
          expect([...a.distinct].sort()).toEqual([...whole.distinct].sort());
          expect(a.head).toEqual(whole.head);
          expect([...a.distinctHead].sort()).toEqual([...whole.distinctHead].sort());
          // and the log of every step, in time order
          const steps = (g: Group) => g.counted!.map((t, i) => [t, g.countedValues[i]]).sort();
          expect(steps(a)).toEqual(steps(whole));
          expect(a.counted).toEqual(whole.counted);
        },
      ),
      { numRuns: 600 },
    );
  });

  it('past MAX_COUNTED steps a group drops its log, and a merge replays the final windows only', () => {
    const r = countRule(2, 10);
    const long = feed(
      r,
      Array.from({ length: MAX_COUNTED }, (_, i) => i * 100 * S),
    );
    expect(long.counted).toHaveLength(MAX_COUNTED);
    addHit(long, raw(MAX_COUNTED * 100 * S, 1), 1, undefined);
    expect(long.counted).toBeNull();
    // the hostless hit 5 s after the first is not seen with it (documented: the bound of exactness)
    mergeGroups(long, feed(r, [5 * S], [], 5));
    expect([long.fired, long.counted]).toEqual([false, null]);
    // but one within the last window still is
    mergeGroups(long, feed(r, [MAX_COUNTED * 100 * S + S], [], 6));
    expect(long.fired).toBe(true);
  });
});

describe('groups: what a group keeps', () => {
  it('the first hits and the latest as evidence, the span of their times, the line order', () => {
    const g = newGroup(rule({}), 'h', {}, {}, 7);
    [5, 3, null, 9, 4].forEach((t, i) => addHit(g, raw(t === null ? null : t * S, 10 + i), 10 + i, undefined));
    expect(g.hits.map((h) => h.seq)).toEqual([10, 11, 12].slice(0, EVIDENCE_FIRST));
    expect(g.latest?.seq).toBe(14);
    expect([g.count, g.first, g.last, g.firstSeq, g.lastSeq]).toEqual([5, 3 * S, 9 * S, 7, 14]);
  });

  it('signatures of stamped lines for merging, with their time and source', () => {
    const g = newGroup(rule({}), 'h', {}, {}, 0);
    addHit(g, raw(S, 0, 'x', 42), 0, undefined);
    addHit(g, raw(S, 1, 'y', null), 1, undefined);
    expect(g.sigs).toEqual([[42, S, 's']]);
  });

  it('collected values: distinct, in order, no empty ones, at most MAX_COLLECT', () => {
    const g = { collected: {} as Record<string, string[]> };
    for (const v of ['qemu', '', undefined, 'xl', 'qemu']) addCollected(g, 'victims', v);
    expect(g.collected).toEqual({ victims: ['qemu', 'xl'] });
    for (let i = 0; i < 40; i++) addCollected(g, 'many', `v${i}`);
    expect(g.collected.many).toEqual(Array.from({ length: MAX_COLLECT }, (_, i) => `v${i}`));
  });

  it('continuing keeps the first hits (later ones without their report lines), the latest, the captures and collected values', () => {
    const r = rule({});
    const a = newGroup(r, 'h', {}, { v: 'x' }, 0);
    addHit(a, { ...raw(S, 0), block: [{ source: 's', line: 2, time: null, text: 'b0' }] }, 0, undefined);
    a.collected = { p: ['one'] };
    const b = newGroup(r, 'h', {}, { v: 'x', k: 'y' }, 5);
    for (const i of [5, 6, 7]) addHit(b, { ...raw(S * i, i), block: [{ source: 's', line: i, time: null, text: `b${i}` }] }, i, undefined);
    b.collected = { p: ['two', 'one'] };
    continueGroup(a, b);
    expect(a.hits.map((h) => [h.seq, h.block.length])).toEqual([
      [0, 1],
      [5, 0],
      [6, 0],
    ]);
    expect(a.latest?.seq).toBe(7);
    expect(a.captures).toEqual({ v: 'x', k: 'y' });
    expect(a.collected).toEqual({ p: ['one', 'two'] });
    // an empty group (a threshold carried from an earlier run) takes the later part's first hit as its first
    const empty = newGroup(r, 'h', {}, { v: 'old' }, 0);
    continueGroup(empty, b);
    expect([empty.captures, empty.firstSeq, empty.hits[0]!.block.length]).toEqual([{ v: 'x', k: 'y' }, 5, 1]);
  });

  it('merging keeps the earliest hits in time, the captures and collected values of the group read first', () => {
    const r = rule({});
    const a = newGroup(r, 'h', {}, { v: 'a' }, 4);
    [4, 6].forEach((i) => addHit(a, raw(i * S, i), i, undefined));
    a.collected = { p: ['a1'] };
    const b = newGroup(r, 'h', {}, { v: 'b', k: 'kb' }, 1);
    [1, 5, 9].forEach((i) => addHit(b, raw(i * S, i), i, undefined));
    b.collected = { p: ['b1', 'a1'] };
    mergeGroups(a, b);
    expect(a.hits.map((h) => h.seq)).toEqual([1, 4, 5]);
    expect(a.latest?.seq).toBe(9);
    expect(a.captures).toEqual({ v: 'b', k: 'kb' });
    expect(a.collected).toEqual({ p: ['b1', 'a1'] });
    expect([a.count, a.first, a.last, a.firstSeq, a.lastSeq]).toEqual([5, S, 9 * S, 1, 9]);
    const c = newGroup(r, 'h', {}, { v: 'c' }, 0);
    addHit(c, raw(0, 0), 0, undefined);
    c.collected = { p: ['c1'] };
    const d = newGroup(r, 'h', {}, { v: 'd', k: 'kd' }, 3);
    addHit(d, raw(S, 3), 3, undefined);
    d.collected = { p: ['d1'] };
    mergeGroups(c, d);
    expect([c.captures, c.collected, c.latest?.seq]).toEqual([{ v: 'c', k: 'kd' }, { p: ['c1', 'd1'] }, 3]);
    const e = newGroup(r, 'h', {}, {}, 0);
    addHit(e, raw(0, 8), 8, undefined);
    mergeGroups(e, d);
    expect(e.latest?.seq).toBe(8); // the other group's latest hit came before
  });
});

describe('groups: keys and overflow', () => {
  it('group keys tell rule, host and every key value apart', () => {
    const keys = [
      groupKey('r', null, {}),
      groupKey('r', 'h', {}),
      groupKey('r2', 'h', {}),
      groupKey('r', 'h', { a: '1' }),
      groupKey('r', 'h', { a: '2' }),
      groupKey('r', 'h', { b: '1' }),
      groupKey('r', 'h', { a: '1', b: '1' }),
    ];
    expect(new Set(keys).size).toBe(keys.length);
    expect(groupKey('r', 'h', { a: '1' })).toBe(groupKey('r', 'h', { a: '1' }));
  });

  it('hash53 is cyrb53 (its published values) and keyHash tells hosts and values apart', () => {
    expect(['a', 'b', 'revenge', 'revenue'].map(hash53)).toEqual([7929297801672961, 8684336938537663, 4051478007546757, 8309097637345594]);
    const hs = [keyHash(null, {}), keyHash('h', {}), keyHash('h', { a: 'x' }), keyHash('h', { a: 'y' }), keyHash('g', { a: 'x' })];
    expect(new Set(hs).size).toBe(hs.length);
    expect(keyHash('h', { a: 'x' })).toBe(hash53('h\0x'));
  });

  it("an overflow group's key: * for each key name, or host * for a rule without one", () => {
    expect(overflowKey(rule({ key: ['v', 'k'] }))).toEqual({ v: '*', k: '*' });
    expect(overflowKey(rule({}))).toEqual({ host: '*' });
    const o = newOverflow(rule({ key: ['v'] }), 'h', { v: 'x' }, 3);
    expect([o.key, o.host, o.captures, o.firstSeq, o.folded]).toEqual([
      { v: '*' },
      'h',
      { v: 'x' },
      3,
      { keys: new Set(), more: false, mixedHosts: false },
    ]);
  });

  it('folded keys are counted once each; a second host makes the overflow hostless', () => {
    const o = newOverflow(rule({ key: ['v'] }), 'h', {}, 0);
    foldKey(o, 'h', { v: '1' });
    foldKey(o, 'h', { v: '1' });
    foldKey(o, 'h', { v: '2' });
    expect([o.folded!.keys.size, o.folded!.mixedHosts, o.host]).toEqual([2, false, 'h']);
    foldKey(o, 'g', { v: '1' });
    expect([o.folded!.keys.size, o.folded!.mixedHosts, o.host]).toEqual([3, true, null]);
  });

  it('an overflow group counts towards no threshold, and folding adds counts, spans, hits and fired state', () => {
    const r = countRule(1, null);
    const o = newOverflow(r, 'h', {}, 10);
    addHit(o, raw(S, 10), 10, undefined);
    expect(o.fired).toBe(false);
    const g = feed(r, [0, 2 * S], [], 2);
    g.host = 'h';
    g.key = { v: 'k1' };
    foldGroup(o, g);
    expect([o.count, o.first, o.last, o.firstSeq, o.lastSeq, o.fired]).toEqual([3, 0, 2 * S, 2, 10, true]);
    expect(o.hits.map((h) => h.seq)).toEqual([2, 3, 10]);
    expect(o.latest?.seq).toBe(10);
    expect(o.folded!.keys.size).toBe(1);
    // an empty overflow takes the captures of the first group folded into it
    const e = newOverflow(r, 'h', {}, 0);
    foldGroup(e, newGroup(r, 'h', { v: 'k' }, { v: 'k', extra: 'z' }, 1));
    expect(e.captures).toEqual({ v: 'k', extra: 'z' });
  });

  it('folding one overflow group into another joins their keys and hosts', () => {
    const r = rule({ key: ['v'] });
    const a = newOverflow(r, 'h', {}, 0);
    foldKey(a, 'h', { v: '1' });
    const b = newOverflow(r, 'h', {}, 5);
    foldKey(b, 'h', { v: '1' });
    foldKey(b, 'h', { v: '2' });
    foldGroup(a, b);
    expect([a.folded!.keys.size, a.folded!.mixedHosts, a.host]).toEqual([2, false, 'h']);
    const c = newOverflow(r, 'g', {}, 6);
    foldKey(c, 'g', { v: '3' });
    foldGroup(a, c);
    expect([a.folded!.keys.size, a.folded!.mixedHosts, a.host]).toEqual([3, true, null]);
    const d = newOverflow(r, 'h', {}, 0);
    d.folded!.more = true;
    const x = newOverflow(r, 'h', {}, 0);
    foldGroup(x, d);
    expect(x.folded!.more).toBe(true);
  });
});

describe('groups: pending thresholds (carried to the next cron run)', () => {
  it('carries the unfired groups with hits still in the window, latest first; not fired, folded or expired ones', () => {
    const r = countRule(5, 10);
    const old = feed(r, [0]);
    old.key = { v: 'old' };
    const recent = feed(r, [95 * S, 100 * S]);
    recent.key = { v: 'recent' };
    const fired = feed(countRule(1, 10), [100 * S]);
    const over = newOverflow(r, 'h', {}, 0);
    addHit(over, raw(100 * S), 0, undefined);
    const p = pendingThresholds([old, recent, fired, over, newGroup(rule({}), 'h', {}, {}, 0)], 100 * S);
    expect(p).toEqual([{ rule: 't', host: 'h', key: { v: 'recent' }, recent: [95 * S, 100 * S], distinct: [] }]);
    // exactly a window before the latest time still counts
    expect(pendingThresholds([feed(r, [90 * S])], 100 * S)).toHaveLength(1);
    expect(pendingThresholds([feed(r, [90 * S - 1])], 100 * S)).toHaveLength(0);
    expect(pendingThresholds([feed(r, [0])], null)).toHaveLength(1);
    expect(pendingThresholds([feed(countRule(5, null), [0])], 100 * S)).toHaveLength(1);
    const a = feed(r, [50 * S]);
    a.key = { v: 'a' };
    const b = feed(r, [60 * S]);
    b.key = { v: 'b' };
    expect(pendingThresholds([a, b], null).map((x) => x.key.v)).toEqual(['b', 'a']);
    const d = feed(distinctRule(5, 10), [95 * S], ['q']);
    expect(pendingThresholds([d], 100 * S)).toEqual([{ rule: 't', host: 'h', key: {}, recent: [], distinct: [['q', 95 * S]] }]);
  });

  it('a pending group restores the state, counts no hit of its own and has not fired', () => {
    const r = distinctRule(3, null);
    const g = pendingGroup(r, { rule: 't', host: 'h', key: { v: 'k' }, recent: [S], distinct: [['a', S]] });
    expect([g.count, g.fired, g.host, g.key, g.captures, g.head, g.recent, [...g.distinct]]).toEqual([
      0,
      false,
      'h',
      { v: 'k' },
      { v: 'k' },
      [S],
      [S],
      [['a', S]],
    ]);
  });
});

/** A group of `r` past MAX_COUNTED steps (its log dropped): value `v` at 0, 100 s, 200 s, ... */
function longGroup(r: Rule, v = 'x'): Group {
  const times = Array.from({ length: MAX_COUNTED + 1 }, (_, i) => i * 100 * S);
  return feed(
    r,
    times,
    times.map(() => v),
  );
}

describe("groups: written against the mutation run's survivors (docs/mutation.md)", () => {
  it('a new group: empty lists, and the group key of a line without a host', () => {
    const g = newGroup(rule({}), null, {}, {}, 0);
    expect([g.sigs, g.released, g.counted, g.countedValues, g.head, g.distinctHead]).toEqual([[], [], [], [], [], []]);
    expect(groupKey('r', null, { v: '1' })).toBe('r\0\0v=1');
    expect(keyHash(null, { v: '1' })).toBe(hash53('\0' + '1'));
  });

  it('spans: a hit at time 0 is a first and last time; an undated group widens nothing', () => {
    const g = feed(countRule(9, null), [0]);
    expect([g.first, g.last]).toEqual([0, 0]);
    const a = feed(countRule(9, null), [5 * S]);
    addSpan(a, { count: 1, first: null, last: null });
    expect([a.count, a.first, a.last]).toEqual([2, 5 * S, 5 * S]);
    const u = newGroup(countRule(9, null), 'h', {}, {}, 0);
    addSpan(u, { count: 1, first: 0, last: 0 });
    expect([u.first, u.last]).toEqual([0, 0]);
  });

  it('at most MAX_GROUP_SIGS signatures, in a group, a continued, a merged and a folded group', () => {
    const r = rule({});
    const big = newGroup(r, 'h', {}, {}, 0);
    for (let i = 0; i <= MAX_GROUP_SIGS; i++) addHit(big, raw(S, i, 'x', i), i, undefined);
    expect(big.sigs).toHaveLength(MAX_GROUP_SIGS);
    const one = () => {
      const g = newGroup(r, 'h', {}, {}, 0);
      addHit(g, raw(S, 0, 'x', 7), 0, undefined);
      return g;
    };
    const c = one();
    continueGroup(c, one());
    const m = one();
    mergeGroups(m, one());
    const o = newOverflow(r, 'h', {}, 0);
    foldGroup(o, one());
    foldGroup(o, one());
    for (const g of [c, m, o])
      expect(g.sigs).toEqual([
        [7, S, 's'],
        [7, S, 's'],
      ]);
    const c2 = one();
    c2.sigs = [...big.sigs];
    continueGroup(c2, one());
    const m2 = one();
    m2.sigs = [...big.sigs];
    mergeGroups(m2, one());
    const o2 = newOverflow(r, 'h', {}, 0);
    o2.sigs = [...big.sigs];
    foldGroup(o2, one());
    for (const g of [c2, m2, o2]) expect(g.sigs).toHaveLength(MAX_GROUP_SIGS);
  });

  it("a distinct threshold's head: values within the window of the first (its edge included), from an undated first every value, none without a window or a value", () => {
    const r = distinctRule(5, 10);
    expect(feed(r, [0, 10 * S, 10 * S + 1], ['a', 'b', 'c']).distinctHead).toEqual([
      ['a', 0],
      ['b', 10 * S],
    ]);
    const undated = newGroup(r, 'h', {}, {}, 0);
    addHit(undated, raw(null, 0), 0, 'a');
    addHit(undated, raw(1000 * S, 1), 1, 'b');
    expect(undated.distinctHead).toEqual([
      ['a', null],
      ['b', 1000 * S],
    ]);
    expect(feed(distinctRule(5, null), [0, S], ['a', 'b']).distinctHead).toEqual([]);
    // a hit without the value: no step at all (no head, no log), also through thresholdStep itself
    const none = feed(r, [0], [undefined]);
    expect([none.distinctHead, none.counted, none.countedValues, none.distinct.size]).toEqual([[], [], [], 0]);
    thresholdStep(none, 0, undefined);
    expect(none.distinct.size).toBe(0);
  });

  it('an undated hit never leaves the window; a count threshold keeps the first `count` times as its head', () => {
    const g = newGroup(countRule(2, 10), 'h', {}, {}, 0);
    addHit(g, raw(null, 0), 0, undefined);
    addHit(g, raw(100 * S, 1), 1, undefined);
    expect(g.fired).toBe(true);
    expect(feed(countRule(2, 10), [0, 100 * S, 200 * S]).head).toEqual([0, 100 * S]);
  });

  it('the log: times only for a count threshold, cleared when the group fires, dropped (and kept dropped) past MAX_COUNTED', () => {
    const c = feed(countRule(5, null), [S, 2 * S]);
    expect([c.counted, c.countedValues]).toEqual([[S, 2 * S], []]);
    const fired = feed(distinctRule(2, null), [S, 2 * S], ['a', 'b']);
    expect([fired.counted, fired.countedValues]).toEqual([[], []]);
    const long = longGroup(distinctRule(2, null));
    expect([long.counted, long.countedValues]).toEqual([null, []]);
    addHit(long, raw(S, 1), 1, 'x');
    expect(long.counted).toBeNull();
  });

  it('releases: a counted value goes, one not counted is remembered once (at most MAX_GROUP_SIGS), a fired group takes none', () => {
    const r = rule({ threshold: { count: 3, distinct: 'v', release: ['gone (?<v>\\w+)'] } });
    const g = feed(r, [0], ['a']);
    releaseValue(g, 'a', S);
    expect([g.distinct.size, g.released, g.counted, g.countedValues]).toEqual([0, [], [0, S], ['a', { release: 'a' }]]);
    releaseValue(g, 'b', 2 * S);
    releaseValue(g, 'b', 3 * S);
    expect(g.released).toEqual(['b']);
    for (let i = 0; i < MAX_GROUP_SIGS + 5; i++) releaseValue(g, `v${i}`, null);
    expect(g.released).toHaveLength(MAX_GROUP_SIGS);
    const fired = feed(r, [0, S, 2 * S], ['a', 'b', 'c']);
    releaseValue(fired, 'z', 3 * S);
    expect([fired.released, fired.counted]).toEqual([[], []]);
  });

  it('continuing: the first part keeps its captures and first line, at most EVIDENCE_FIRST hits', () => {
    const r = countRule(9, null);
    const a = newGroup(r, 'h', {}, { v: 'a' }, 2);
    for (let i = 0; i < 3; i++) addHit(a, raw(i * S, 2 + i), 2 + i, undefined);
    const b = newGroup(r, 'h', {}, { v: 'b' }, 9);
    addHit(b, raw(9 * S, 9), 9, undefined);
    continueGroup(a, b);
    expect([a.captures, a.firstSeq, a.hits.map((h) => h.seq)]).toEqual([{ v: 'a' }, 2, [2, 3, 4]]);
  });

  it("continuing a count threshold: the first part's hits stay in the window with a short later part; a long one's window is its own", () => {
    const r = countRule(3, 10);
    const a = feed(r, [0]);
    continueGroup(a, feed(r, [S], [], 1));
    expect([a.fired, a.recent]).toEqual([false, [0, S]]);
    addHit(a, raw(2 * S, 2), 2, undefined);
    expect(a.fired).toBe(true);
    const r2 = countRule(2, 10);
    const b = feed(r2, [0]);
    continueGroup(b, feed(r2, [100 * S, 200 * S, 300 * S], [], 1));
    expect([b.fired, b.recent]).toEqual([false, [300 * S]]);
    addHit(b, raw(305 * S, 4), 4, undefined);
    expect(b.fired).toBe(true);
  });

  it("continuing a distinct threshold: every value of the later part's head is replayed", () => {
    const r = distinctRule(3, 10);
    const a = feed(r, [0], ['m']);
    continueGroup(a, feed(r, [S, 2 * S], ['b', 'c'], 1));
    expect(a.fired).toBe(true);
    // the later part's final values in time order: a at 2 s, c at 1 s, b at 19 s, e at 20 s are never 4
    // within 18 s (c expired at e's step); replayed latest first, a at 2 s would count with b and e
    const r4 = distinctRule(4, 18);
    const empty = newGroup(r4, 'h', {}, {}, 0);
    continueGroup(empty, feed(r4, [0, S, 2 * S, 19 * S, 20 * S], ['a', 'c', 'a', 'b', 'e']));
    expect(empty.fired).toBe(false);
    // every value of the later part's final state goes on counting: b and c at 100 and 105 s, then d
    const r3 = distinctRule(3, 10);
    const first = newGroup(r3, 'h', {}, {}, 0);
    continueGroup(first, feed(r3, [0, 100 * S, 105 * S], ['a', 'b', 'c']));
    addHit(first, raw(108 * S, 9), 9, 'd');
    expect(first.fired).toBe(true);
  });

  it('continuing the logs: concatenated up to MAX_COUNTED steps, dropped past it or when either part dropped its own; a fired group keeps none', () => {
    const r = countRule(MAX_COUNTED + 10, null);
    const n = (k: number, seq0: number) =>
      feed(
        r,
        Array.from({ length: k }, (_, i) => (seq0 + i) * S),
        [],
        seq0,
      );
    const a = n(1, 0);
    continueGroup(a, n(2, 1));
    expect(a.counted).toEqual([0, S, 2 * S]);
    const full = n(1, 0);
    continueGroup(full, n(MAX_COUNTED - 1, 1));
    expect(full.counted).toHaveLength(MAX_COUNTED);
    const over = n(1, 0);
    continueGroup(over, n(MAX_COUNTED, 1));
    expect([over.counted, over.countedValues]).toEqual([null, []]);
    const dropped = n(MAX_COUNTED + 1, 0);
    continueGroup(dropped, n(1, 500));
    expect(dropped.counted).toBeNull();
    const later = n(1, 0);
    continueGroup(later, n(MAX_COUNTED + 1, 1));
    expect(later.counted).toBeNull();
    // a fired group continued by a part whose values were all released keeps no log
    const rel = rule({ threshold: { count: 1, distinct: 'v', release: ['gone (?<v>\\w+)'] } });
    const f = feed(rel, [0], ['a']);
    const inc = feed(rel, [S], ['b'], 1);
    inc.fired = false;
    inc.distinct.clear();
    inc.counted = [S];
    inc.countedValues = [{ release: 'b' }];
    continueGroup(f, inc);
    expect([f.fired, f.counted, f.countedValues]).toEqual([true, [], []]);
  });

  it("merging: on the same first line the group merged into is first; on the same last line its latest stays; the first's values completed by the other's", () => {
    const r = rule({});
    const a = newGroup(r, 'h', {}, { v: 'a' }, 3);
    addHit(a, raw(S, 3), 3, undefined);
    const b = newGroup(r, 'h', {}, { v: 'b', k: 'kb' }, 3);
    addHit(b, { ...raw(S, 3), text: 'other' }, 3, undefined);
    mergeGroups(a, b);
    expect([a.captures, a.latest?.text]).toEqual([{ v: 'a', k: 'kb' }, 'line 3']);
    const c = newGroup(r, 'h', {}, { v: 'c', k: 'kc' }, 5);
    addHit(c, raw(S, 5), 5, undefined);
    const d = newGroup(r, 'h', {}, { v: 'd' }, 1);
    addHit(d, raw(S, 1), 1, undefined);
    mergeGroups(c, d);
    expect(c.captures).toEqual({ v: 'd', k: 'kc' });
  });

  it('merging past MAX_COUNTED: the final windows in time order (count, distinct: a later value meets no earlier one out of its window)', () => {
    // the group merged in dropped its log: the same fallback
    const r = countRule(2, 10);
    const m = feed(r, [(MAX_COUNTED * 100 + 5) * S]);
    mergeGroups(m, longGroup(r));
    expect(m.fired).toBe(true);
    const q = feed(r, [0]);
    mergeGroups(q, longGroup(countRule(2, 10)));
    expect([q.fired, q.counted, q.head]).toEqual([false, null, [0, MAX_COUNTED * 100 * S]]);
    // distinct: the last window (x at 25,600 s) and b's y, 5 s after it: fired
    const d = distinctRule(2, 10);
    const near = longGroup(d);
    mergeGroups(near, feed(d, [(MAX_COUNTED * 100 + 5) * S], ['y'], 900));
    expect([near.fired, near.counted, near.countedValues]).toEqual([true, [], []]);
    // y at 50 s: no x within 10 s of it, in the one input or the fallback (which replays y before x)
    const far = longGroup(d);
    mergeGroups(far, feed(d, [50 * S], ['y'], 900));
    expect([far.fired, far.counted, far.countedValues, [...far.distinct]]).toEqual([false, null, [], [['x', MAX_COUNTED * 100 * S]]]);
    // count 3: an expired value kept below the count still meets b's values at its time
    const d3 = distinctRule(3, 10);
    const kept = longGroup(d3);
    addHit(kept, raw(30_000 * S, 1), 1, 'y');
    mergeGroups(kept, feed(d3, [(MAX_COUNTED * 100 + 5) * S, (MAX_COUNTED * 100 + 6) * S], ['z', 'w'], 900));
    expect(kept.fired).toBe(true);
    // a release step after the group fired is not logged
    const rel = rule({ threshold: { count: 2, distinct: 'v', release: ['gone (?<v>\\w)'] } });
    const early = feed(rel, [0], ['a']);
    releaseValue(early, 'a', 10 * S);
    mergeGroups(early, feed(rel, [5 * S], ['b'], 5));
    expect([early.fired, early.counted, early.countedValues]).toEqual([true, [], []]);
  });

  it('folding: the first folded captures stay, hits in line order, the latest line, fired only by a fired group', () => {
    const r = countRule(5, null);
    const over = newOverflow(r, 'h', {}, 0);
    const g1 = newGroup(r, 'h', { k: '1' }, { v: 'one' }, 10);
    for (const i of [10, 11, 12]) addHit(g1, raw(S, i), i, undefined);
    const g2 = newGroup(r, 'h', { k: '2' }, { v: 'two' }, 2);
    for (const i of [2, 3]) addHit(g2, raw(S, i), i, undefined);
    foldGroup(over, g1);
    foldGroup(over, g2);
    expect([over.captures, over.hits.map((h) => h.seq), over.latest?.seq, over.fired]).toEqual([{ v: 'one' }, [2, 3, 10], 12, false]);
    const g3 = newGroup(r, 'h', { k: '3' }, {}, 20);
    addHit(g3, raw(S, 20), 20, undefined);
    foldGroup(over, g3);
    expect(over.latest?.seq).toBe(20);
  });

  it('folded keys: none after `more`, a known key at the cap is not more, MAX_FOLDED_KEYS exactly', () => {
    const r = rule({ key: ['v'] });
    const at = (n: number, withKey: number) => {
      const o = newOverflow(r, 'h', {}, 0);
      o.folded!.keys = new Set(Array.from({ length: n - 1 }, (_, i) => i + 0.5));
      o.folded!.keys.add(withKey);
      return o;
    };
    const known = keyHash('h', { v: 'k' });
    const full = at(MAX_FOLDED_KEYS, known);
    foldKey(full, 'h', { v: 'k' });
    expect([full.folded!.keys.size, full.folded!.more]).toEqual([MAX_FOLDED_KEYS, false]);
    foldKey(full, 'h', { v: 'new' });
    expect([full.folded!.keys.size, full.folded!.more]).toEqual([MAX_FOLDED_KEYS, true]);
    const almost = at(MAX_FOLDED_KEYS - 1, known);
    foldKey(almost, 'h', { v: 'new' });
    expect([almost.folded!.keys.size, almost.folded!.more]).toEqual([MAX_FOLDED_KEYS, false]);
    const more = newOverflow(r, 'h', {}, 0);
    more.folded!.more = true;
    foldKey(more, 'h', { v: 'new' });
    expect(more.folded!.keys.size).toBe(0);
    // the same when an overflow group is folded into another
    const other = newOverflow(r, 'h', {}, 0);
    other.folded!.keys = new Set([known, 1.5]);
    const intoFull = at(MAX_FOLDED_KEYS, known);
    foldGroup(intoFull, other);
    expect([intoFull.folded!.keys.size, intoFull.folded!.more]).toEqual([MAX_FOLDED_KEYS, false]);
    const intoAlmost = at(MAX_FOLDED_KEYS - 1, 0.25);
    other.folded!.keys.add(7.75);
    foldGroup(intoAlmost, other);
    expect([intoAlmost.folded!.keys.size, intoAlmost.folded!.more]).toEqual([MAX_FOLDED_KEYS, true]);
    const intoMore = newOverflow(r, 'h', {}, 0);
    intoMore.folded!.more = true;
    foldGroup(intoMore, other);
    expect(intoMore.folded!.keys.size).toBe(0);
  });

  it('pending thresholds: undated hits stay, expired values go, the latest first by its latest hit, at most 2000', () => {
    const r = countRule(9, 10);
    const undated = newGroup(r, 'h', {}, {}, 0);
    addHit(undated, raw(null, 0), 0, undefined);
    expect(pendingThresholds([undated], 100 * S)).toHaveLength(1);
    const d = feed(distinctRule(5, 10), [80 * S, 95 * S], ['old', 'q']);
    expect(pendingThresholds([d], 100 * S)[0]!.distinct).toEqual([['q', 95 * S]]);
    const wide = countRule(9, null);
    const g1 = feed(wide, [10 * S, 100 * S]);
    g1.key = { v: 'g1' };
    const g2 = feed(wide, [50 * S]);
    g2.key = { v: 'g2' };
    expect(pendingThresholds([g2, g1], null).map((p) => p.key.v)).toEqual(['g1', 'g2']);
    const dw = distinctRule(9, null);
    const d1 = feed(dw, [10 * S, 100 * S], ['a', 'b']);
    d1.key = { v: 'd1' };
    const d2 = feed(dw, [50 * S], ['c']);
    d2.key = { v: 'd2' };
    expect(pendingThresholds([d2, d1], null).map((p) => p.key.v)).toEqual(['d1', 'd2']);
    const many = Array.from({ length: 2001 }, (_, i) => feed(wide, [i * S]));
    expect(pendingThresholds(many, null)).toHaveLength(2000);
  });

  it("a pending group's log: its times (undated as NaN) and values, dropped past MAX_COUNTED", () => {
    const c = pendingGroup(countRule(3, 10), { rule: 't', host: 'h', key: {}, recent: [S, null], distinct: [] });
    expect(c.counted).toEqual([S, NaN]);
    // the carried hit at 1 s is 49 s before this run's hit at 50 s: no 2 within 10 s
    const cr = countRule(2, 10);
    const pc = pendingGroup(cr, { rule: 't', host: 'h', key: {}, recent: [S], distinct: [] });
    mergeGroups(pc, feed(cr, [50 * S], [], 5));
    expect(pc.fired).toBe(false);
    const dr = distinctRule(2, 10);
    const pd = pendingGroup(dr, { rule: 't', host: 'h', key: {}, recent: [], distinct: [['a', S]] });
    expect([pd.counted, pd.countedValues]).toEqual([[S], ['a']]);
    mergeGroups(pd, feed(dr, [50 * S], ['b'], 5));
    expect(pd.fired).toBe(false);
    const values = (n: number): [string, number][] => Array.from({ length: n }, (_, i) => [`v${i}`, i * S]);
    const full = pendingGroup(distinctRule(999, null), { rule: 't', host: 'h', key: {}, recent: [], distinct: values(MAX_COUNTED) });
    expect(full.counted).toHaveLength(MAX_COUNTED);
    const past = pendingGroup(distinctRule(999, null), { rule: 't', host: 'h', key: {}, recent: [], distinct: values(MAX_COUNTED + 1) });
    expect([past.counted, past.countedValues]).toEqual([null, []]);
  });
});
