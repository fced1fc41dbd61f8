// The verdict's "led to" lines: paths through an incident's tree of causes, never a false chain.
import { describe, expect, it } from 'vitest';
import type { Finding } from '../src/types.js';
import { buildIncidents } from '../src/timeline/incidents.js';
import { ledTo } from '../src/render/text.js';

const f = (id: string, rule: string, first: string, causedBy: string[] = [], key: Record<string, string> = {}): Finding => ({
  id,
  rule,
  title: `${rule} title`,
  severity: 'error',
  host: 'xen07',
  key,
  count: 1,
  first,
  last: first,
  evidence: [],
  diagnosis: '',
  fix: ['fix it'],
  references: [],
  harmless: false,
  causedBy,
  tags: [],
});

const lines = (findings: Finding[]) => {
  const [inc] = buildIncidents(findings);
  return ledTo(inc!, new Map(findings.map((x) => [x.id, x])));
};

describe('ledTo', () => {
  it('joins a true chain with arrows', () => {
    expect(
      lines([
        f('a', 'oom', '2026-01-01T00:00:00Z'),
        f('b', 'panic', '2026-01-01T00:01:00Z', ['a']),
        f('c', 'crash', '2026-01-01T00:02:00Z', ['b']),
      ]),
    ).toEqual(['           led to: panic title [panic] → crash title [crash]']);
  });

  it('gives two effects of one root two lines, and tells a rule named twice apart by its key', () => {
    // the sample pair hung-task + disk-full: xendomains-save caused two disk-full findings, and both
    // caused fs-read-only (sdd1): a tree, not "save: full → ro → full" as the verdict once read
    const got = lines([
      f('s', 'xendomains-save', '2026-11-19T23:10:02Z'),
      f('d1', 'disk-full', '2026-11-19T23:10:29Z', ['s']),
      f('d2', 'disk-full', '2026-11-20T08:01:10Z', ['s'], { device: 'sdd1' }),
      f('ro', 'fs-read-only', '2026-11-20T08:01:10Z', ['d1', 'd2'], { device: 'sdd1' }),
    ]);
    expect(got).toEqual([
      '           led to: disk-full title [disk-full]',
      '                   disk-full title [disk-full device=sdd1] → fs-read-only title [fs-read-only]',
    ]);
  });

  it('shows no key value the title already shows', () => {
    const panic = (id: string, reason: string, at: string) => ({
      ...f(id, 'kernel-panic', at, ['o'], { reason }),
      title: `dom0 kernel panic: ${reason}`,
    });
    const got = lines([
      f('o', 'oops', '2026-01-01T00:00:00Z'),
      panic('p1', 'Fatal exception', '2026-01-01T00:01:00Z'),
      panic('p2', 'Fatal exception in interrupt', '2026-01-01T00:02:00Z'),
    ]);
    expect(got).toEqual([
      '           led to: dom0 kernel panic: Fatal exception [kernel-panic]',
      '                   dom0 kernel panic: Fatal exception in interrupt [kernel-panic]',
    ]);
  });

  it('hangs an effect of several causes under its deepest one', () => {
    // the day test's host: page allocation failures, then the OOM kill, then a hung task that
    // follows both (the rule names both as causes)
    const got = lines([
      f('p', 'page-alloc', '2026-12-01T14:33:20Z'),
      f('o', 'oom', '2026-12-01T14:35:20Z', ['p']),
      f('h', 'hung-task', '2026-12-01T14:38:20Z', ['p', 'o']),
    ]);
    expect(got).toEqual(['           led to: oom title [oom] → hung-task title [hung-task]']);
  });

  it('hangs an effect of two causes as deep under the later one', () => {
    // ro follows a (via p) and b (via q), both two steps from the root: it hangs under a, the later
    const got = lines([
      f('s', 's', '2026-01-01T00:00:00Z'),
      f('p', 'p', '2026-01-01T00:01:00Z', ['s']),
      f('q', 'q', '2026-01-01T00:02:00Z', ['s']),
      f('b', 'b', '2026-01-01T00:03:00Z', ['q']),
      f('a', 'a', '2026-01-01T00:05:00Z', ['p']),
      f('ro', 'ro', '2026-01-01T00:06:00Z', ['b', 'a']),
    ]);
    expect(got).toEqual(['           led to: p title [p] → a title [a] → ro title [ro]', '                   q title [q] → b title [b]']);
  });

  it('cuts a cycle where it closes', () => {
    // b and c name each other as causes (two rules that follow each other); a caused b
    const got = lines([
      f('a', 'a', '2026-01-01T00:00:00Z'),
      f('b', 'b', '2026-01-01T00:01:00Z', ['a', 'c']),
      f('c', 'c', '2026-01-01T00:02:00Z', ['b']),
    ]);
    expect(got).toEqual(['           led to: b title [b] → c title [c]']);
  });

  it("gives the same lines whatever the order of the incident's findings", () => {
    const all = [
      f('s', 'xendomains-save', '2026-11-19T23:10:02Z'),
      f('d1', 'disk-full', '2026-11-19T23:10:29Z', ['s']),
      f('d2', 'disk-full', '2026-11-20T08:01:10Z', ['s'], { device: 'sdd1' }),
      f('ro', 'fs-read-only', '2026-11-20T08:01:10Z', ['d1', 'd2'], { device: 'sdd1' }),
    ];
    const perms = <T>(xs: T[]): T[][] =>
      xs.length <= 1 ? [xs] : xs.flatMap((x) => perms(xs.filter((y) => y !== x)).map((p) => [x, ...p]));
    // the findings in every order, and each one's causes in both orders
    const got = new Set(
      perms(all).flatMap((order) =>
        [false, true].map((flip) => lines(order.map((x) => (flip ? { ...x, causedBy: [...x.causedBy].reverse() } : x))).join('\n')),
      ),
    );
    expect([...got]).toEqual([lines(all).join('\n')]);
  });

  it('starts a cycle that no root leads to at its earliest finding', () => {
    // y and z name each other; y also caused e, which the root r caused
    const got = lines([
      f('r', 'r', '2026-01-01T00:00:00Z'),
      f('y', 'y', '2026-01-01T00:00:10Z', ['z']),
      f('z', 'z', '2026-01-01T00:00:20Z', ['y']),
      f('e', 'e', '2026-01-01T00:01:00Z', ['r', 'y']),
    ]);
    expect(got).toEqual(['           led to: e title [e]', '           together with: y title [y] → z title [z]']);
  });

  it('tells another root of a shared effect as "together with", not as an effect', () => {
    expect(
      lines([
        f('d1', 'disk-full', '2026-01-01T00:00:00Z'),
        f('x', 'xenstored-oom', '2026-01-01T00:00:30Z'),
        f('ro', 'fs-read-only', '2026-01-01T00:01:00Z', ['d1', 'x']),
      ]),
    ).toEqual(['           led to: fs-read-only title [fs-read-only]', '           together with: xenstored-oom title [xenstored-oom]']);
  });

  it('shows at most three paths and counts the rest', () => {
    const kids = [1, 2, 3, 4, 5].map((i) => f(`k${i}`, `effect-${i}`, `2026-01-01T00:0${i}:00Z`, ['r']));
    const got = lines([f('r', 'root', '2026-01-01T00:00:00Z'), ...kids]);
    expect(got).toHaveLength(4);
    expect(got[3]).toBe('                   … and 2 more paths');
  });

  it('says nothing for a root that caused nothing', () => {
    expect(lines([f('r', 'root', '2026-01-01T00:00:00Z')])).toEqual([]);
  });
});
