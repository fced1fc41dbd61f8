/**
 * Unit tests of src/engine/engine.ts past `read` (context lines, releases, the same line from two
 * captures, the caps on groups and their overflow, expiry, merging another engine's state, pending
 * thresholds) with small rules of their own: what the mutation run of lines 1-216 and 374-789
 * (XD_MUTATE=engine-read, docs/mutation.md) found reached by no unit test.
 */
import { describe, expect, it } from 'vitest';
import { type RuleSpec } from '../src/engine/catalogue.js';
import { Engine, type EngineOptions } from '../src/engine/engine.js';
import { disk, engine, feed, place, rule } from './engine-fixtures.js';
import { MAX_GROUPS, MAX_RULE_GROUPS } from '../src/engine/groups.js';

const T = Date.UTC(2026, 10, 20, 8, 0, 0);
const MIN = 60_000;
const HOUR = 3_600_000;

/** An RFC 3339 stamp of a time (ms). */
const stamp = (t: number) => new Date(t).toISOString().replace('.000Z', 'Z');
const dated = (t: number, host: string, msg: string) => `${stamp(t)} ${host} k: ${msg}`;
const bytes = (s: string) => Buffer.from(s, 'utf8');
const keys = (e: Engine, name = 'dev') =>
  e
    .findings()
    .map((f) => f.key[name])
    .sort();

describe('which lines are candidates', () => {
  it('trouble words make a line a candidate only when the miner is on', () => {
    const line = bytes('fan error on board 1');
    const off = engine();
    expect(off.isCandidate(line, 0, line.length)).toBe(false);
    expect(off.prefilterCandidate(line, 0, line.length)).toBe(false);
    const on = engine([disk], { unrecognized: true });
    expect(on.isCandidate(line, 0, line.length)).toBe(true);
  });

  it('a line holding the literals of two rules and a fact literal is tried against the two rules only', () => {
    const link = rule({ id: 'link', patterns: ['link (?<nic>\\w+) down'], key: ['nic'] });
    const e = engine([disk, link]);
    feed(e, ['Xen version 4.17.3: disk sda failed, link e0 down']);
    expect(e.findings().map((f) => f.rule)).toEqual(expect.arrayContaining(['disk', 'link']));
  });
});

describe('a wrapped rest joined to the line before it', () => {
  it('the second line of an input joins its first, whatever the input is called (no line was taken before)', () => {
    for (const source of ['', 'test']) {
      const e = engine();
      e.read(' failed', place(2, { source, before: 'Nov 20 08:01:10 h k: disk sda' }));
      e.endInput();
      expect(keys(e)).toEqual(['sda']);
    }
  });
});

describe('context lines', () => {
  const crash = (extra: Partial<RuleSpec> = {}) =>
    rule({ id: 'crash', patterns: ['guest (?<g>\\w+) crashed'], key: ['g'], context: { patterns: ['^hint'], lines: 3, max: 5 }, ...extra });
  const before = (e: Engine, g: string) =>
    e
      .findings()
      .find((f) => f.key.g === g)!
      .evidence.map((v) => v.text);

  it('a line inside another rule’s report is kept as context too', () => {
    const report = rule({ id: 'report', patterns: ['^report (?<r>\\w+)'], multiline: { continuation: '^\\s' } });
    const e = engine([report, crash({ context: { patterns: ['hint'] } })]);
    feed(e, ['report a', ' hint x', 'guest g crashed']);
    expect(before(e, 'g')).toEqual([' hint x', 'guest g crashed']);
  });

  it("only from the rule's sources (or a line of no known source); any one of the patterns", () => {
    const e = engine([crash({ sources: ['kernel'], context: { patterns: ['^hint', '^note'], max: 5, lines: 10 } })], {
      unrecognized: true,
    });
    feed(e, [
      'Nov 20 08:01:01 h kernel: hint from the kernel',
      '(XEN) hint from xen: error',
      'note of no source',
      'Nov 20 08:01:02 h kernel: guest g crashed',
    ]);
    expect(before(e, 'g')).toEqual([
      'Nov 20 08:01:01 h kernel: hint from the kernel',
      'note of no source',
      'Nov 20 08:01:02 h kernel: guest g crashed',
    ]);
    // the hypervisor's line was not taken: it is mined as any line no rule took
    expect(e.unrecognizedTemplates().map((u) => u.template)).toEqual(['hint from xen: error']);
  });

  it('from the same input, up to `lines` lines before the hit (the edge included)', () => {
    const e = engine([crash()]);
    e.read('hint other input', place(1, { source: 'a' }));
    e.read('guest a crashed', place(1, { source: 'b' }));
    feed(e, ['hint 1', 'x', 'x', 'guest b crashed'], { source: 'b' });
    expect(before(e, 'a')).toEqual(['guest a crashed']);
    expect(before(e, 'b')).toEqual(['hint 1', 'guest b crashed']);
  });

  it("a group's hits past the first three take no context: the next group's first hit does", () => {
    const e = engine([crash()]);
    feed(e, ['guest a crashed', 'guest a crashed', 'guest a crashed', 'hint 1', 'guest a crashed', 'guest b crashed']);
    expect(before(e, 'b')).toEqual(['hint 1', 'guest b crashed']);
  });
});

describe('releases', () => {
  const ports = (count = 2) =>
    rule({
      id: 'ports',
      patterns: ['port (?<p>\\w+) joined (?<br>\\w+)'],
      key: ['br'],
      threshold: { count, distinct: 'p', release: ['port (?<p>\\w+) left (?<br>\\w+)', 'all (?<p>\\w+) gone', 'ports reset'] },
    });
  const fired = (e: Engine) =>
    e
      .findings()
      .map((f) => [f.key.br, f.host, f.count])
      .sort();

  it('a release with the key takes the value from that group only; the release line is taken', () => {
    const e = engine([ports()]);
    const lines = ['port a joined x', 'port a joined y', 'port a left x', 'port b joined x', 'port b joined y'];
    lines.forEach((l, i) => {
      e.read(l, place(i + 1));
      expect(e.wantsAll()).toBe(false);
    });
    e.endInput();
    expect(fired(e)).toEqual([['y', null, 2]]);
  });

  it('a release for a key counted already keeps what the group counted', () => {
    const e = engine([ports()]);
    feed(e, ['port a joined x', 'port b left x', 'port c joined x']);
    expect(fired(e)).toEqual([['x', null, 2]]);
  });

  it('a release without the key takes the value from every group of the rule and host', () => {
    const other = rule({
      id: 'other',
      patterns: ['port (?<p>\\w+) joined (?<br>\\w+)'],
      key: ['br'],
      threshold: { count: 2, distinct: 'p' },
    });
    const e = engine([ports(), other]);
    e.read('port a joined z', place(1, { host: 'g', source: 'g' }));
    ['port a joined x', 'port a joined y', 'all a gone', 'port b joined x', 'port b joined y'].forEach((l, i) =>
      e.read(l, place(i + 1, { host: 'h' })),
    );
    e.read('port b joined z', place(2, { host: 'g', source: 'g' }));
    e.endInput();
    // (the other rule, of no release, counted a and b everywhere)
    expect(fired(e)).toEqual([
      ['x', 'h', 2],
      ['y', 'h', 2],
      ['z', 'g', 2],
      ['z', 'g', 2],
    ]);
    expect(
      e
        .findings()
        .filter((f) => f.rule === 'ports')
        .map((f) => f.key.br),
    ).toEqual(['z']);
  });

  it('a release naming one of two keys is without the key: it takes the value from every group of the rule and host', () => {
    const two = rule({
      id: 'ports',
      patterns: ['port (?<p>\\w+) of (?<dom>\\w+) joined (?<br>\\w+)'],
      key: ['dom', 'br'],
      threshold: { count: 2, distinct: 'p', release: ['port (?<p>\\w+) left (?<br>\\w+)'] },
    });
    const e = engine([two]);
    feed(e, ['port a of d1 joined x', 'port a of d2 joined y', 'port a left x', 'port b of d1 joined x', 'port b of d2 joined y']);
    expect(e.findings()).toEqual([]);
    expect(e.exportState().groups.map((g) => [g.key.dom, g.key.br, g.count])).toEqual([
      ['d1', 'x', 2],
      ['d2', 'y', 2],
    ]);
  });

  it('a release line with no value is taken and releases nothing', () => {
    const e = engine([ports()]);
    e.read('port a joined x', place(1));
    e.read('ports reset', place(2));
    expect(e.wantsAll()).toBe(false);
    e.read('port b joined x', place(3));
    e.endInput();
    expect(fired(e)).toEqual([['x', null, 2]]);
  });

  it('a group merged in keeps the values it counted towards its threshold', () => {
    const a = engine([ports(3)]);
    const b = engine([ports(3)]);
    feed(b, ['port a joined x', 'port b joined x']);
    a.absorb(b.exportState());
    feed(a, ['port c joined x']);
    expect(fired(a)).toEqual([['x', null, 3]]);
  });

  it('a release read before anything was counted is kept for the inputs read before (absorb)', () => {
    const a = engine([ports(3)]);
    feed(a, ['port a joined x', 'port b joined x']);
    const b = engine([ports(3)]);
    feed(b, ['port a left x', 'port c joined x']);
    a.absorb(b.exportState());
    expect(a.findings()).toEqual([]);
    // a later part that only releases (no hit of its own) is merged too
    const c = engine([ports(3)]);
    feed(c, ['port a joined x', 'port b joined x']);
    const d = engine([ports(3)]);
    feed(d, ['port a left x']);
    c.absorb(d.exportState());
    const f = engine([ports(3)]);
    feed(f, ['port c joined x']);
    c.absorb(f.exportState());
    expect(c.findings()).toEqual([]);
  });
});

describe('the same stamped line from two captures', () => {
  const kern = (t: number, up = '12.345678') => `${stamp(t)} h kernel: [${up}] disk sda failed`;
  const dmesg = (up = '12.345678') => `[${up}] disk sda failed`;
  const count = (lines: [string, string][]) => {
    const e = engine();
    lines.forEach(([source, l]) => e.read(l, place(1, { source })));
    e.endInput();
    return e.findings().map((f) => f.count);
  };

  it('a capture without host or time (dmesg) and one with them (kern.log) are the same line, in either order', () => {
    expect(
      count([
        ['kern.log', kern(T)],
        ['dmesg', dmesg()],
      ]),
    ).toEqual([1]);
    expect(
      count([
        ['dmesg', dmesg()],
        ['kern.log', kern(T)],
      ]),
    ).toEqual([1]);
  });

  it('a second apart exactly is another line', () => {
    expect(
      count([
        ['a', kern(T)],
        ['b', kern(T + 1000)],
      ]),
    ).toEqual([2]);
    expect(
      count([
        ['a', kern(T)],
        ['b', kern(T + 999)],
      ]),
    ).toEqual([1]);
  });

  it('the first sight is kept: a stamp repeated later in one input does not move it', () => {
    expect(
      count([
        ['a', kern(T)],
        ['a', kern(T + 5000)],
        ['b', kern(T + 5000)],
      ]),
    ).toEqual([3]);
  });

  it('another line in between forgets nothing', () => {
    expect(
      count([
        ['a', kern(T)],
        ['a', kern(T, '13.000000')],
        ['b', kern(T)],
      ]),
    ).toEqual([2]);
  });
});

describe('reports (multi-line)', () => {
  const oom = rule({ id: 'oom', patterns: ['oom start (?<x>\\w+)'], multiline: { continuation: '^\\s', end: '^\\s+victim' } });
  const evidence = (e: Engine) => e.findings().map((f) => [f.count, f.evidence.map((v) => v.text)]);

  it('the end line closes the report', () => {
    const e = engine([oom]);
    feed(e, ['oom start a', ' line 1', ' victim 1', ' after']);
    expect(evidence(e)).toEqual([[1, ['oom start a', ' line 1', ' victim 1']]]);
  });

  it('a line taken into the report is not tried as a hit of its own', () => {
    const e = engine([oom]);
    feed(e, ['oom start a', ' oom start b']);
    expect(evidence(e)).toEqual([[1, ['oom start a', ' oom start b']]]);
  });

  it('the end of an input closes its report', () => {
    const e = engine([oom]);
    e.read('oom start a', place(1, { source: 'a' }));
    expect(e.wantsAll()).toBe(true);
    e.endInput();
    expect(e.wantsAll()).toBe(false);
    e.read(' line', place(1, { source: 'b' }));
    expect(evidence(e)).toEqual([[1, ['oom start a']]]);
  });
});

describe('what a hit adds to its group', () => {
  it('a value the first hit lacks comes from a later hit; one it has stays', () => {
    const r = rule({ id: 'disk', title: 'disk {dev} on {br}', patterns: ['disk (?<dev>\\w+) failed(?: on (?<br>\\w+))?'], key: ['dev'] });
    const e = engine([r]);
    feed(e, ['disk a failed', 'disk a failed on x', 'disk a failed on y']);
    expect(e.findings().map((f) => f.title)).toEqual(['disk a on x']);
  });

  it('a line from the future counts towards its threshold as of now, and only such a line; none without a clock', () => {
    const r = rule({ id: 'disk', key: ['dev'], threshold: { count: 2, within: '1h' } });
    const run = (opts: EngineOptions, times: number[]) => {
      const e = engine([r], opts);
      feed(
        e,
        times.map((t) => dated(t, 'h', 'disk a failed')),
      );
      return e.findings().length;
    };
    expect(run({ now: T }, [T - 30 * MIN, T + 5 * HOUR])).toBe(1);
    expect(run({ now: T }, [T - 5 * HOUR, T - 3 * HOUR])).toBe(0);
    expect(run({ now: null }, [T - 5 * HOUR, T - 3 * HOUR])).toBe(0);
    expect(run({}, [T - 5 * HOUR, T + 5 * HOUR])).toBe(0);
  });
});

describe('expiry', () => {
  it('expire keeps a group last seen at the cutoff exactly', () => {
    const e = engine();
    feed(e, [dated(T, 'h', 'disk a failed'), dated(T - 1, 'h', 'disk b failed')]);
    expect(e.expire(T)).toBe(1);
    expect(keys(e)).toEqual(['a']);
  });

  it('expireQuiet measures each host against its own latest hit up to now', () => {
    const e = engine();
    feed(e, [
      dated(T, 'a', 'disk a1 failed'),
      dated(T - 2 * HOUR, 'a', 'disk a2 failed'),
      dated(T - HOUR, 'a', 'disk a3 failed'), // the span exactly: kept
      dated(T - 5 * HOUR, 'b', 'disk b1 failed'),
      dated(T - 7 * HOUR, 'b', 'disk b2 failed'),
      dated(T + 24 * HOUR, 'b', 'disk b3 failed'), // from the future: no latest, not forgotten
      dated(T + 24 * HOUR, 'c', 'disk c1 failed'), // a host with no hit up to now: nothing forgotten
      dated(T + 10 * MIN, 'd', 'disk d1 failed'), // now exactly: its host's latest
      dated(T - 2 * HOUR, 'd', 'disk d2 failed'),
      'disk u1 failed', // undated: kept
    ]);
    e.read('disk a4 failed', place(11, { host: 'a' })); // undated, of a host with dated hits: kept
    expect(e.expireQuiet(HOUR, T + 10 * MIN)).toBe(3);
    expect(keys(e)).toEqual(['a1', 'a3', 'a4', 'b1', 'b3', 'c1', 'd1', 'u1']);
  });
});

describe('host facts from another engine', () => {
  const old = rule({ id: 'old', patterns: ['disk (?<dev>\\w+) failed'], applies: { xen: '<4.5' } });
  it('takeFacts and absorb keep the facts of each host apart', () => {
    for (const how of ['take', 'absorb'] as const) {
      const a = engine([old]);
      feed(a, ['(XEN) Xen version 4.17.3 (Debian 4.17.3)'], { host: 'h' });
      const b = engine([old]);
      feed(b, ['disk sda failed'], { host: 'h' });
      feed(b, ['disk sdb failed'], { host: 'g' });
      if (how === 'take') b.takeFacts(a);
      else b.absorb(a.exportState());
      expect(b.findings().map((f) => f.host)).toEqual(['g']);
    }
  });
});

describe('absorb', () => {
  it('without a line offset the lines keep their numbers', () => {
    const a = engine();
    const b = engine();
    feed(a, ['disk a failed']);
    feed(b, ['x', 'disk b failed']);
    a.absorb(b.exportState());
    expect(a.findings().map((f) => [f.key.dev, f.evidence.map((v) => v.line)])).toEqual([
      ['a', [1]],
      ['b', [2]],
    ]);
  });

  it("the miner's templates are merged when both engines mine; either may not", () => {
    const a = engine([disk], { unrecognized: true });
    const b = engine([disk], { unrecognized: true });
    feed(b, ['fan error on board 1']);
    a.absorb(b.exportState());
    expect(a.unrecognizedTemplates().map((u) => u.template)).toEqual(['fan error on board <*>']);
    expect(() => engine().absorb(b.exportState())).not.toThrow();
    expect(() => b.absorb(engine().exportState())).not.toThrow();
  });

  it('a stamped line both engines read counts once; the other lines of its group count, once each, down the merges', () => {
    const l1 = `${stamp(T)} h kernel: [1.000000] disk sda failed`;
    const l2 = `${stamp(T)} h kernel: [2.000000] disk sda failed`;
    const a = engine();
    a.read(l1, place(1, { source: 'kern.log' }));
    const b = engine();
    b.read(l1, place(1, { source: 'dmesg' }));
    b.read(l2, place(2, { source: 'dmesg' }));
    a.absorb(b.exportState());
    expect(a.findings().map((f) => [f.count, f.evidence.map((v) => `${v.source}:${v.line}`)])).toEqual([[2, ['kern.log:1', 'dmesg:2']]]);
    // a's state merged into an engine that read l2 from a third capture: l2 once
    const d = engine();
    d.read(l2, place(1, { source: 'serial' }));
    d.absorb(a.exportState());
    expect(d.findings().map((f) => f.count)).toEqual([2]);
    // and into an engine that read nothing: both
    const f = engine();
    f.absorb(a.exportState());
    expect(f.findings().map((x) => x.count)).toEqual([2]);
    // a group all of whose lines were read already adds nothing
    const c = engine();
    c.read(l1, place(1, { source: 'console' }));
    const e = engine();
    e.read(l1, place(1, { source: 'kern.log' }));
    e.absorb(c.exportState());
    expect(e.findings().map((f) => f.count)).toEqual([1]);
  });

  it('a group all of whose lines were read already adds nothing, not even a step towards its threshold', () => {
    const r = rule({ id: 'disk', key: ['dev'], threshold: { count: 2, within: '1h' } });
    const l1 = `${stamp(T)} h kernel: [1.000000] disk sda failed`;
    const a = engine([r]);
    a.read(l1, place(1, { source: 'kern.log' }));
    const b = engine([r]);
    b.read(`${stamp(T)} h kernel: [1.000000] disk sda failed`, place(1, { source: 'dmesg' }));
    a.absorb(b.exportState());
    expect(a.findings()).toEqual([]);
    expect(a.exportState().groups.map((g) => g.count)).toEqual([1]);
  });

  it("an undated cause read by the later engine comes after the earlier engine's lines (its place in the input)", () => {
    const cause = rule({ id: 'cause', patterns: ['cause (?<x>\\w+) here'] });
    const effect = rule({ id: 'effect', patterns: ['effect (?<x>\\w+) here'], follows: [{ rule: 'cause', within: '1h' }] });
    const a = engine([cause, effect]);
    const b = engine([cause, effect]);
    feed(a, ['effect 1 here'], { source: 's' });
    feed(b, ['cause 1 here'], { source: 's' });
    a.absorb(b.exportState(), 1);
    expect(a.findings().find((f) => f.rule === 'effect')!.causedBy).toEqual([]);
    const c = engine([cause, effect]);
    const d = engine([cause, effect]);
    feed(c, ['cause 1 here'], { source: 's' });
    feed(d, ['effect 1 here'], { source: 's' });
    c.absorb(d.exportState(), 1);
    expect(c.findings().find((f) => f.rule === 'effect')!.causedBy).toHaveLength(1);
  });

  it("a hostless group joining its host's group read by the later engine: the latest line is the later engine's", () => {
    const a = engine();
    feed(a, ['disk sda failed 1', 'disk sda failed 2', 'disk sda failed 3', 'disk sda failed 4'], { source: 'console' });
    const b = engine();
    feed(b, ['disk sda failed 5', 'disk sda failed 6', 'disk sda failed 7', 'disk sda failed 8'], { source: 'kern.log', host: 'h' });
    a.absorb(b.exportState());
    const found = a.findings();
    expect(found.map((f) => [f.host, f.count])).toEqual([['h', 8]]);
    // three first lines (undated: the host's group's first), then the latest line read
    expect(found[0]!.evidence.map((v) => `${v.source}:${v.line}`)).toEqual(['kern.log:1', 'kern.log:2', 'kern.log:3', 'kern.log:4']);
  });

  it("a hostless group joining its host's in one engine: the latest line, among the first three, is shown once", () => {
    const e = engine();
    feed(e, ['disk sda failed 1', 'disk sda failed 2', 'disk sda failed 3', 'disk sda failed 4'], { source: 'console' });
    feed(e, ['disk sda failed 5', 'disk sda failed 6'], { source: 'kern.log', host: 'h' });
    const found = e.findings();
    expect(found.map((f) => [f.host, f.count])).toEqual([['h', 6]]);
    // undated: the host's group's hits first, then the console's; the latest read (kern.log:2) is one of them
    expect(found[0]!.evidence.map((v) => `${v.source}:${v.line}`)).toEqual(['kern.log:1', 'kern.log:2', 'console:1']);
    // dated: the host's lines read first are later than the console's read after, whose last is the latest
    const d = engine();
    feed(d, [dated(T + 10 * MIN, 'h', 'disk sda failed 1'), dated(T + 20 * MIN, 'h', 'disk sda failed 2')], { source: 'kern.log' });
    feed(d, ['(XEN) [2026-11-20 08:00:00.000] disk sda failed 3', '(XEN) [2026-11-20 08:01:00.000] disk sda failed 4'], {
      source: 'console',
    });
    expect(d.findings().map((f) => [f.host, f.count, f.evidence.map((v) => `${v.source}:${v.line}`)])).toEqual([
      ['h', 4, ['console:1', 'console:2', 'kern.log:1']],
    ]);
  });

  it('undated lines kept and future lines add up; the first future line is the earlier engine’s, else the other’s', () => {
    const a = engine([disk], { since: T, now: T });
    const b = engine([disk], { since: T, now: T });
    feed(b, ['disk a failed', dated(T + 2 * HOUR, 'h', 'disk b failed')], { source: 'b' });
    a.absorb(b.exportState());
    expect(a.undated).toBe(1);
    expect(a.future).toEqual({ count: 1, first: { source: 'b', time: T + 2 * HOUR } });
    a.absorb(b.exportState());
    expect(a.undated).toBe(2);
    expect(a.future.count).toBe(2);
  });
});

describe('pending thresholds', () => {
  it('a pending entry does not replace a group read before it', () => {
    const r = rule({ id: 'flap', patterns: ['link (?<nic>\\w+) down'], key: ['nic'], threshold: { count: 3, within: '1h' } });
    const a = engine([r]);
    feed(a, [dated(T, 'h', 'link e0 down'), dated(T + MIN, 'h', 'link e0 down')]);
    const pending = a.pendingThresholds(T + MIN);
    const b = engine([r]);
    b.read(dated(T + 2 * MIN, 'h', 'link e0 down'), place(1));
    b.seedPending(pending);
    // (another key between: the next hit of e0 looks its group up)
    b.read(dated(T + 3 * MIN, 'h', 'link e1 down'), place(2));
    b.read(dated(T + 4 * MIN, 'h', 'link e0 down'), place(3));
    b.endInput();
    expect(b.findings()).toEqual([]);
  });
});

describe('the caps on groups, and their overflow', () => {
  const flood = rule({ id: 'flood', title: 'k{k}', patterns: ['k(?<k>\\d+) bad'], key: ['k'] });
  const floodLines = (from: number, n: number) => Array.from({ length: n }, (_, i) => `k${from + i} bad`);
  /** The groups of key `*` (the overflow) as their count and evidence, from the engine's state (findings() of 5000 groups is slow). */
  const starred = (e: Engine) =>
    e
      .exportState()
      .groups.filter((g) => g.key.k === '*')
      .map((g) => [g.count, g.hits.map((h) => h.text)]);

  it(`past ${MAX_RULE_GROUPS} keys of one rule, the hits fold into one finding, said in words; a state merged in folds the same`, () => {
    const e = engine([flood, disk]);
    feed(e, [...floodLines(0, MAX_RULE_GROUPS + 1), 'disk a failed']);
    expect(e.exportState().groups).toHaveLength(MAX_RULE_GROUPS + 2);
    expect(starred(e)).toEqual([[1, [`k${MAX_RULE_GROUPS} bad`]]]);
    expect(e.folded).toBe(1);
    expect(e.foldNotes()).toEqual([
      {
        source: 'test',
        text: `too many distinct findings of flood (past ${MAX_RULE_GROUPS} for one rule or ${MAX_GROUPS} in all): 1 more key (1 hit) folded into one finding (key k=*)`,
      },
    ]);
    // the overflow of a state merged into an engine that has room is folded still (first or last)
    const state = e.exportState();
    for (const order of [state.groups, [...state.groups].reverse()]) {
      const f = engine([flood, disk]);
      f.absorb({ ...state, groups: order });
      expect(starred(f)).toEqual([[1, [`k${MAX_RULE_GROUPS} bad`]]]);
      expect(f.folded).toBe(1);
    }
    // a new key from a later part folds into the overflow, after its hits
    const later = engine([flood, disk]);
    feed(later, ['x', 'k99999 bad']);
    e.absorb(later.exportState(), 10);
    expect(e.folded).toBe(2);
    const over = e.exportState().groups.find((g) => g.folded)!;
    expect(over.hits.map((h) => `${h.text}:${h.line}`)).toEqual([`k${MAX_RULE_GROUPS} bad:${MAX_RULE_GROUPS + 1}`, 'k99999 bad:12']);
    expect(e.foldNotes()[0]!.text).toContain(': 2 more keys (2 hits) folded');
    // more keys than the overflow keeps: "more than"; a threshold's overflow counts towards nothing
    const more = e.exportState();
    for (const g of more.groups) if (g.folded) g.folded.more = true;
    const m = engine([flood, disk]);
    m.absorb(more);
    expect(m.foldNotes()[0]!.text).toContain(': more than 2 more keys (2 hits) folded into one finding (key k=*)');
    const th = rule({ id: 'flood', patterns: ['k(?<k>\\d+) (?<j>bad)'], key: ['k', 'j'], threshold: { count: 100 } });
    const t = engine([th]);
    feed(t, floodLines(0, MAX_RULE_GROUPS + 1));
    expect(t.foldNotes().map((n) => n.text.replace(/.*\): /, ''))).toEqual([
      "1 more key (1 hit) folded into one group (key k=* j=*), not counted towards the rule's threshold",
    ]);
  });

  it('groups forgotten make room again: the count per rule is taken anew', () => {
    const e = engine([flood]);
    const half = MAX_RULE_GROUPS / 2;
    feed(e, [...floodLines(0, half).map((l) => dated(T - 2 * HOUR, 'h', l)), ...floodLines(half, half).map((l) => dated(T, 'h', l))]);
    expect(e.expire(T - HOUR)).toBe(half);
    feed(
      e,
      floodLines(100_000, half + 1).map((l) => dated(T, 'h', l)),
    );
    expect(e.folded).toBe(1);
    // an overflow that is not quiet stays
    expect(e.expire(T - HOUR)).toBe(0);
    expect(e.folded).toBe(1);
    // the overflow is forgotten with the rest
    expect(e.expire(T + 1)).toBe(MAX_RULE_GROUPS + 1);
    expect(e.folded).toBe(0);
    expect(e.foldNotes()).toEqual([]);
  });

  it(`past ${MAX_GROUPS} groups in all, a rule's second key folds; its first is kept apart`, () => {
    const rules = ['a', 'b', 'c', 'd', 'e', 'f'].map((id) => rule({ id, title: 'k{k}', patterns: [`${id}(?<k>\\d+) bad`], key: ['k'] }));
    const e = engine(rules);
    const lines: string[] = [];
    for (const id of ['a', 'b', 'c']) for (let i = 0; i < MAX_RULE_GROUPS; i++) lines.push(`${id}${i} bad`);
    for (let i = 0; i < MAX_RULE_GROUPS - 1; i++) lines.push(`d${i} bad`);
    // e0 makes 20000; e1 is e's second key, f0 the first of f: kept apart although the groups are full
    lines.push('e0 bad', 'e1 bad', 'f0 bad');
    feed(e, lines);
    expect(e.folded).toBe(1);
    expect(e.foldNotes().map((n) => n.text.slice(0, 32))).toEqual(['too many distinct findings of e ']);
  });
});
