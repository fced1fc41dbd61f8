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
  continueGroup,
  EVIDENCE_FIRST,
  foldGroup,
  foldKey,
  groupKey,
  hash53,
  keyHash,
  MAX_COLLECT,
  MAX_COUNTED,
  mergeGroups,
  newGroup,
  newOverflow,
  overflowKey,
  pendingGroup,
  pendingThresholds,
  releaseValue,
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
          expect([...a.recent].sort((x, y) => x - y)).toEqual([...whole.recent].sort((x, y) => x - y));
          expect([...a.distinct].sort()).toEqual([...whole.distinct].sort());
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
