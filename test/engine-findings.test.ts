/**
 * Unit tests of src/engine/findings.ts (reached mostly through the binary; the mutation run,
 * docs/mutation.md): placeholders, the stable id, the finding of a group (cases, evidence, overflow
 * title), hostless lines joining the one named host, root causes, the order of findings.
 */
import { describe, expect, it } from 'vitest';
import { compileRule, type Rule, type RuleSpec } from '../src/engine/catalogue.js';
import {
  adoptHostless,
  buildFinding,
  compareFindings,
  fillPlaceholders,
  findingId,
  linkCauses,
  summarize,
  toFinding,
} from '../src/engine/findings.js';
import { addCollected, addHit, groupKey, newGroup, newOverflow, type Group, type RawHit } from '../src/engine/groups.js';
import type { HostFacts } from '../src/engine/facts.js';
import type { Finding } from '../src/types.js';

function rule(spec: Partial<RuleSpec>): Rule {
  const problems: unknown[] = [];
  const r = compileRule(
    { id: 't', title: 'T', severity: 'error', patterns: ['(?<v>x)(?<k>y)?(?<p>z)?'], diagnosis: 'd', fix: ['f'], ...spec } as RuleSpec,
    `${spec.id ?? 't'}.yaml`,
    problems as never,
  );
  expect(problems).toEqual([]);
  return r!;
}
const raw = (time: number | null, seq: number, source = 's', extra: Partial<RawHit> = {}): RawHit => ({
  source,
  line: seq + 1,
  time,
  text: `line ${seq}`,
  block: [],
  sig: null,
  seq,
  ...extra,
});
function group(r: Rule, host: string | null, key: Record<string, string>, times: (number | null)[], source = 's', seq0 = 0): Group {
  const g = newGroup(r, host, key, key, seq0);
  times.forEach((t, i) => addHit(g, raw(t, seq0 + i, source), seq0 + i, undefined));
  return g;
}
const T = Date.UTC(2026, 10, 20, 8);
const M = 60_000;

describe('findings: texts', () => {
  it('fills {name}, keeps {{ and }} as braces, shows a name without a value as <name>', () => {
    expect(fillPlaceholders('{a} and {{b}} and {c} and {n}', { a: 'A', n: 0 })).toBe('A and {b} and <c> and 0');
    expect(fillPlaceholders('{1x} {}', { '1x': 'no' })).toBe('{1x} {}');
  });

  it('the id is a stable fingerprint of rule, host and key (key order does not matter)', () => {
    const id = findingId('r', 'h', { a: '1', b: '2' });
    expect(id).toMatch(/^[0-9a-f]{16}$/);
    expect(findingId('r', 'h', { b: '2', a: '1' })).toBe(id);
    const others = [
      findingId('r2', 'h', { a: '1', b: '2' }),
      findingId('r', null, { a: '1', b: '2' }),
      findingId('r', 'h', { a: '1', b: '3' }),
      findingId('r', 'h', {}),
    ];
    expect(new Set([id, ...others]).size).toBe(5);
    expect(findingId('r', null, {})).toBe(findingId('r', '', {}));
  });

  it('buildFinding: the JSON contract field order and its defaults', () => {
    const f = buildFinding({
      rule: 'r',
      title: 't',
      severity: 'warning',
      host: null,
      key: {},
      count: 1,
      first: null,
      last: null,
      evidence: [],
      diagnosis: 'd',
      fix: [],
    });
    expect(Object.keys(f)).toEqual([
      'id',
      'rule',
      'title',
      'severity',
      'host',
      'key',
      'count',
      'first',
      'last',
      'evidence',
      'diagnosis',
      'fix',
      'references',
      'harmless',
      'causedBy',
      'tags',
    ]);
    expect([f.references, f.harmless, f.causedBy, f.tags]).toEqual([[], false, [], []]);
    const g = buildFinding({
      rule: 'r',
      title: 't',
      severity: 'warning',
      host: null,
      key: {},
      count: 1,
      first: null,
      last: null,
      evidence: [],
      diagnosis: 'd',
      fix: [],
      references: ['u'],
      harmless: true,
      tags: ['x'],
    });
    expect([g.references, g.harmless, g.tags]).toEqual([['u'], true, ['x']]);
  });
});

describe('findings: the finding of a group', () => {
  it('fills title, diagnosis and fix with captures, key, host and collected lists', () => {
    const r = rule({
      title: '{v} on {host} ({procs})',
      diagnosis: '  {k} d  ',
      fix: ['fix {v}'],
      collect: { procs: 'p' },
      key: ['v'],
      tags: ['a'],
      references: ['ref'],
      harmless: true,
    });
    const g = group(r, null, { v: 'x' }, [T]);
    g.captures = { v: 'x', k: 'y' };
    addCollected(g, 'procs', 'qemu');
    addCollected(g, 'procs', 'xl');
    const f = toFinding(g);
    expect([f.title, f.diagnosis, f.fix, f.tags, f.references, f.harmless]).toEqual([
      'x on <host> (qemu, xl)',
      'y d',
      ['fix x'],
      ['a'],
      ['ref'],
      true,
    ]);
    expect((f as Finding & { captures: Record<string, string> }).captures).toEqual({ v: 'x', k: 'y', procs: 'qemu, xl' });
    expect(Object.keys(f)).not.toContain('captures');
    g.host = 'xen07';
    g.collected = { procs: [] };
    expect(toFinding(g).title).toBe('x on xen07 (<procs>)');
  });

  it('cases: the first matching title wins, every matching case adds its fix steps first, in order', () => {
    const r = rule({
      title: 'plain {v}',
      fix: ['general'],
      cases: [
        { when: { v: '^q' }, title: 'never', fix: ['no'] },
        { when: { v: '^x', k: 'y' }, fix: ['first fix'] },
        { when: { v: 'x' }, title: 'titled {v}', fix: ['second fix'] },
        { when: { v: '.' }, title: 'later title', fix: ['third fix'] },
        { when: { p: '.' }, title: 'missing capture', fix: ['no'] },
      ],
    });
    const g = group(r, 'h', {}, [T]);
    g.captures = { v: 'x', k: 'y' };
    const f = toFinding(g);
    expect(f.title).toBe('titled x');
    expect(f.fix).toEqual(['first fix', 'second fix', 'third fix', 'general']);
    const plain = group(rule({ title: 'plain', cases: [{ when: { v: 'q' }, title: 'no' }] }), 'h', {}, [T]);
    plain.captures = { v: 'x' };
    expect(toFinding(plain).title).toBe('plain');
  });

  it('evidence: each first hit with its context lines before and report lines after, then the latest if more', () => {
    const r = rule({});
    const g = newGroup(r, 'h', {}, {}, 0);
    const before = [{ source: 's', line: 1, time: null, text: 'ctx' }];
    const block = [{ source: 's', line: 3, time: null, text: 'cont' }];
    addHit(g, raw(T, 1, 's', { before, block }), 1, undefined);
    for (const i of [5, 6, 7, 8]) addHit(g, raw(i === 8 ? null : T + i * M, i), i, undefined);
    const f = toFinding(g);
    expect(f.evidence.map((e) => e.text)).toEqual(['ctx', 'line 1', 'cont', 'line 5', 'line 6', 'line 8']);
    expect(f.evidence[1]!.time).toBe('2026-11-20T08:00:00Z');
    expect(f.evidence[5]!.time).toBeNull();
    expect([f.count, f.first, f.last]).toEqual([5, '2026-11-20T08:00:00Z', '2026-11-20T08:07:00Z']);
    const few = group(r, 'h', {}, [T, T]);
    expect(toFinding(few).evidence).toHaveLength(2);
  });

  it('an overflow group says how many keys it folded', () => {
    const r = rule({ key: ['v'] });
    const o = newOverflow(r, 'h', {}, 0);
    addHit(o, raw(T, 0), 0, undefined);
    o.folded!.keys.add(1).add(2);
    expect(toFinding(o).title).toBe('T (2 more keys folded into this finding: too many to keep apart)');
    o.folded!.more = true;
    expect(toFinding(o).title).toBe('T (more than 2 more keys folded into this finding: too many to keep apart)');
    expect(toFinding(group(r, 'h', { v: 'x' }, [T])).title).toBe('T');
  });
});

describe('findings: lines without a host', () => {
  it('join the one host the other lines name, merging into its group of the same key', () => {
    const r = rule({ key: ['v'] });
    const named = group(r, 'xen07', { v: 'x' }, [T]);
    const loose = group(r, null, { v: 'x' }, [T + M], 'console', 5);
    const other = group(r, null, { v: 'y' }, [T + 2 * M], 'console', 6);
    const groups = new Map<string, Group>([
      [groupKey('t', 'xen07', { v: 'x' }), named],
      [groupKey('t', null, { v: 'x' }), loose],
      [groupKey('t', null, { v: 'y' }), other],
    ]);
    const facts = new Map<string, HostFacts>([
      ['', { xen: '4.17', kernel: '6.1' }],
      ['xen07', { kernel: '6.6' }],
    ]);
    expect(adoptHostless(groups, facts)).toBe('xen07');
    expect([...groups.keys()].sort()).toEqual([groupKey('t', 'xen07', { v: 'x' }), groupKey('t', 'xen07', { v: 'y' })].sort());
    expect(named.count).toBe(2);
    expect(other.host).toBe('xen07');
    expect(Object.fromEntries(facts)).toEqual({ xen07: { xen: '4.17', kernel: '6.6' } });
  });

  it('stay hostless when the lines name no host or two', () => {
    const r = rule({});
    for (const hosts of [[], ['a', 'b']]) {
      const groups = new Map<string, Group>([[groupKey('t', null, {}), group(r, null, {}, [T])]]);
      hosts.forEach((h) => groups.set(groupKey('t', h, {}), group(r, h, {}, [T])));
      const facts = new Map<string, HostFacts>([['', { xen: '4.17' }]]);
      expect(adoptHostless(groups, facts)).toBeNull();
      expect(groups.has(groupKey('t', null, {}))).toBe(true);
      expect(facts.has('')).toBe(true);
    }
  });
});

describe('findings: root causes', () => {
  const cause = rule({ id: 'cause' });
  const effect = rule({ id: 'effect', follows: [{ rule: 'cause', within: '10m' }] });
  const possible = rule({ id: 'maybe', follows: [{ rule: 'cause', within: '10m', certainty: 'possible' }] });
  const link = (...gs: Group[]) => {
    const out = gs.map((g) => ({ f: toFinding(g), g }));
    linkCauses(out);
    return out.map((o) => o.f);
  };

  it('a finding follows a cause on the same host that began before it, within the window (edges included)', () => {
    const at = (c: number[], e: number) =>
      link(
        group(
          cause,
          'h',
          {},
          c.map((x) => T + x * M),
        ),
        group(effect, 'h', {}, [T + e * M]),
      )[1]!.causedBy.length;
    expect(at([0], 5)).toBe(1);
    expect(at([0], 0)).toBe(1); // the same minute
    expect(at([0, 20], 30)).toBe(1); // exactly the window after the cause's last line
    expect(at([0, 20], 31)).toBe(0);
    expect(at([5], 4)).toBe(0); // the cause began after
    const [c, e] = link(group(cause, 'h', {}, [T]), group(effect, 'h', {}, [T + M]));
    expect(e!.causedBy).toEqual([c!.id]);
    expect(c!.causedBy).toEqual([]);
  });

  it('not across hosts; lines without a host only within one capture', () => {
    expect(link(group(cause, 'a', {}, [T]), group(effect, 'b', {}, [T + M]))[1]!.causedBy).toEqual([]);
    expect(link(group(cause, null, {}, [T]), group(effect, 'b', {}, [T + M]))[1]!.causedBy).toEqual([]);
    expect(link(group(cause, null, {}, [T], 'x'), group(effect, null, {}, [T + M], 'x'))[1]!.causedBy).toHaveLength(1);
    expect(link(group(cause, null, {}, [T], 'x'), group(effect, null, {}, [T + M], 'y'))[1]!.causedBy).toEqual([]);
  });

  it('undated: only within one capture, the cause lines first', () => {
    const c = (seq: number, src = 'x') => group(cause, 'h', {}, [null], src, seq);
    const e = (seq: number, src = 'x') => group(effect, 'h', {}, [null], src, seq);
    expect(link(c(1), e(5))[1]!.causedBy).toHaveLength(1);
    expect(link(c(5), e(5))[1]!.causedBy).toHaveLength(1);
    expect(link(c(6), e(5))[1]!.causedBy).toEqual([]);
    expect(link(c(1, 'x'), e(5, 'y'))[1]!.causedBy).toEqual([]);
    // one side dated, the other not: no link
    expect(link(group(cause, 'h', {}, [T], 'x', 1), e(5))[1]!.causedBy).toEqual([]);
    expect(link(c(1), group(effect, 'h', {}, [T], 'x', 5))[1]!.causedBy).toEqual([]);
  });

  it('a possible cause is listed apart; each cause once', () => {
    const [c, m] = link(group(cause, 'h', {}, [T]), group(possible, 'h', {}, [T + M]));
    expect([m!.causedBy, m!.possiblyRelated]).toEqual([[], [c!.id]]);
    const twice = rule({
      id: 'effect2',
      follows: [
        { rule: 'cause', within: '10m' },
        { rule: 'cause', within: '1h' },
      ],
    });
    const [c2, e2] = link(group(cause, 'h', {}, [T]), group(twice, 'h', {}, [T + M]));
    expect(e2!.causedBy).toEqual([c2!.id]);
    // a rule that follows itself is not its own cause
    const self = rule({ id: 'self', follows: [{ rule: 'self', within: '1h' }] });
    expect(link(group(self, 'h', {}, [T]))[0]!.causedBy).toEqual([]);
  });
});

describe('findings: order and counts', () => {
  const f = (
    severity: Finding['severity'],
    first: string | null,
    rule = 'r',
    key: Record<string, string> = {},
    host: string | null = null,
  ) => buildFinding({ rule, title: 't', severity, host, key, count: 1, first, last: first, evidence: [], diagnosis: 'd', fix: [] });

  it('worst first, then earliest (undated last), rule id, key, id', () => {
    const list = [
      f('warning', '2026-01-01T00:00:00Z'),
      f('critical', null),
      f('error', '2026-01-02T00:00:00Z', 'a'),
      f('error', '2026-01-01T00:00:00Z', 'b'),
      f('error', '2026-01-01T00:00:00Z', 'a', { k: '2' }),
      f('error', '2026-01-01T00:00:00Z', 'a', { k: '1' }),
      f('error', null, 'a'),
      f('info', null),
    ];
    const sorted = [...list].sort(compareFindings);
    expect(sorted.map((x) => [x.severity, x.first, x.rule, x.key.k ?? ''])).toEqual([
      ['critical', null, 'r', ''],
      ['error', '2026-01-01T00:00:00Z', 'a', '1'],
      ['error', '2026-01-01T00:00:00Z', 'a', '2'],
      ['error', '2026-01-01T00:00:00Z', 'b', ''],
      ['error', '2026-01-02T00:00:00Z', 'a', ''],
      ['error', null, 'a', ''],
      ['warning', '2026-01-01T00:00:00Z', 'r', ''],
      ['info', null, 'r', ''],
    ]);
    const [a, b] = [f('error', null, 'r', {}, 'h1'), f('error', null, 'r', {}, 'h2')].sort((x, y) => (x.id < y.id ? -1 : 1));
    expect(compareFindings(a!, b!)).toBe(-1);
    expect(compareFindings(b!, a!)).toBe(1);
    expect(compareFindings(a!, a!)).toBe(0);
  });

  it('summarize counts each severity', () => {
    expect(summarize([f('error', null), f('error', null), f('info', null)])).toEqual({ critical: 0, error: 2, warning: 0, info: 1 });
  });
});
