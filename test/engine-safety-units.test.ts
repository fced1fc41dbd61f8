/**
 * The backtracking checker and the per-line time budget (engine/safety.ts), with small patterns
 * instead of the catalogue (test/safety.test.ts runs recheck over every shipped pattern, minutes a
 * run): the reading of nested repeats, recheck's verdicts and the timing of a fuzzer's attack, the
 * patterns recheck gives up on, and `bounded`'s budget (cuts, the pattern set aside, the notes).
 * Written for the mutation run of safety.ts (set `engine-safety-units`, docs/mutation.md).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  backtrackingRisk,
  bounded,
  hasSlowMatches,
  MATCH_BUDGET_MS,
  nestedRepeat,
  riskOf,
  slowNote,
  takeSlowMatches,
} from '../src/engine/safety.js';

// as bin/xendoctor.js does: the `l` flag, by which `bounded` asks whether V8's linear-time engine runs a
// pattern (not the fallback on excessive backtracks: the slow patterns below must stay slow)
setFlagsFromString('--enable-experimental-regexp-engine');

type Diagnostics = Parameters<typeof riskOf>[2];
const NESTED = 'can backtrack catastrophically (a repeated group whose body is itself a repeat)';

/** A verdict of recheck: vulnerable, from its fuzzer or its automata, with an attack. */
function vulnerable(isFuzz: boolean, pumps: { prefix: string; pump: string }[], suffix: string, string = 'aaaa!'): Diagnostics {
  return {
    status: 'vulnerable',
    complexity: { type: 'exponential', isFuzz },
    attack: { pumps: pumps.map((p) => ({ ...p, bias: 0 })), suffix, string },
  } as unknown as Diagnostics;
}

describe('nestedRepeat: a repeated group whose body can be a repeat alone', () => {
  const nested = [
    '(a{1,10}){1,10}',
    '^(a{1,10}){1,10}$',
    '(\\s*\\w+)*',
    '(a+)+',
    '(a+){2}',
    '(a{2}){2}',
    '(a{1,}){2}',
    '(a+){1,2}',
    '(a+?)+?',
    '(a*)*',
    '(?:a+)+',
    '(?<name>a+)+',
    '(?<n>a)(\\k<n>+)+',
    '(a|b+)+',
    '(b+|a)+',
    '((a?)b+)+',
    '((a|c?)b+)+',
    '((a+))+',
    '(^a+)+',
    '(a+$)+',
    'x((a+)+)',
    'x(y(a{1,3}){1,3})',
    '((?<=)a+)+',
    '((?<!)a+)+',
    '((?=)a+)+',
    '((?!)a+)+',
    '([)]+)+',
    '([\\])]+)+',
    '([^)]+)+',
    '(\\)+)+',
    '(\\d+)+',
    '(\\u0061+)+',
    '(\\x61+)+',
    '(\\cA+)+',
    '(x|\\u0061+)+',
    '(\\u{2})+',
    '(\\p{2})+',
    '(\\d{2})+',
    '(\\p+)+',
    '(\\k+)+',
    '(a{10}){10}',
    '((a|b+))+',
    '((c?d+))+',
    '([a]?[b]+)+',
    'a|(b+)+',
    '(a)(b+)+',
  ];
  const not = [
    '',
    'a+',
    '(a)+',
    '(a+b)*',
    '(ab)+',
    '(a?)+',
    '(a{1}){2}',
    '(a{0,1}){2}',
    '(a){2,}',
    '(a{1,10})',
    '(a{1,10}){1}',
    '(a{1,10}){0,1}',
    '(a{1,10})?',
    '(a|b)+',
    '((a)b+)+',
    '((a|c)b+)+',
    '((a)(b))+',
    '(\\d\\d+)+',
    '(?<n>a)(\\k<n>b+)+',
    '(\\p{L}+)+',
    '(\\P{L}+)+',
    '(\\u006x+)+',
    '(\\x6g+)+',
    '(\\d1234+)+',
    '(\\d12+)+',
    '(\\da+)+',
    '(\\c1+)+',
    '(\\u0061b+)+',
    '(\\s<x>+)+',
    '([a][b]+)+',
    '([ab]+c)+',
    '(?:a+)',
    '(a+){,2}',
    'a{1,10}{1,10}',
  ];
  it.each(nested)('%s is one', (src) => {
    expect(nestedRepeat(src)).toBe('a repeated group whose body is itself a repeat');
  });
  it.each(not)('%s is none', (src) => {
    expect(nestedRepeat(src)).toBeNull();
  });

  it("JavaScript's classes [^] (any character) and [] (none) end at their ']': what follows them is read", () => {
    // a ']' right after '[' or '[^' closes the class in JavaScript (it is a character only in POSIX
    // brackets): read as one, the rest of the pattern went into the class and the repeat was not seen
    // (recheck passes '([^]{1,10}){1,10}')
    expect(nestedRepeat('([^]{1,10}){1,10}')).toBe('a repeated group whose body is itself a repeat');
    expect(nestedRepeat('([^]+)+')).toBe('a repeated group whose body is itself a repeat');
    expect(nestedRepeat('([]?a+)+')).toBe('a repeated group whose body is itself a repeat');
    expect(nestedRepeat('([]a+)+')).toBeNull();
    expect(nestedRepeat('([^]a+)+')).toBeNull();
  });

  it('read without the u flag, as rules are: \\u{, \\p{ and \\k< unclosed are characters (it looped forever on them)', () => {
    // each is a valid pattern without the u flag; the reader went back to the start of the pattern. Read
    // under a vm timeout, which stops a loop of the reader too: a failure, not a hung worker
    const read = (src: string): unknown => runInNewContext('read(src)', { read: nestedRepeat, src }, { timeout: 5000 });
    for (const src of ['xenfail \\u{', '\\p{x', '\\k<a', '(?<a)', '[a', '([a+)+', '(\\u{)+', '(a\\k<b+)+'])
      expect(read(src), src).toBeNull();
  });

  it('a pattern it cannot read (nested past the stack) is left to recheck', () => {
    expect(nestedRepeat('('.repeat(20_000) + 'a+' + ')+'.repeat(20_000))).toBeNull();
  });
});

describe('riskOf: recheck verdicts, a fuzzer one confirmed by timing its attack', () => {
  it('a pattern recheck gave up on is not safe; a safe one has no risk', () => {
    const unknown = { status: 'unknown', checker: 'automaton', error: { kind: 'timeout' } } as unknown as Diagnostics;
    expect(riskOf('x', '', unknown)).toBe('could not be proven safe (the checker gave up: timeout)');
    const safe = { status: 'safe', checker: 'automaton', complexity: { type: 'linear', isFuzz: false } } as unknown as Diagnostics;
    expect(riskOf('x', '', safe)).toBeNull();
  });

  it("the automata's verdict is taken as is, with the complexity and the attack's first 60 characters", () => {
    // a linear pattern: a fuzzer's verdict on it would be refuted; the automata's is not timed
    const attack = `"${'a'.repeat(100)}`;
    const r = riskOf('^a+$', '', vulnerable(false, [{ prefix: '', pump: 'a' }], '!', attack));
    expect(r).toBe(`can backtrack catastrophically (exponential); attack string: ${JSON.stringify(attack.slice(0, 60))}`);
  });

  it("the fuzzer's verdict stands when its attack, grown, makes one search slow", () => {
    const r = riskOf('^x(a|a)+$', '', vulnerable(true, [{ prefix: 'x', pump: 'a' }], '!'));
    expect(r).toBe('can backtrack catastrophically (exponential); attack string: "aaaa!"');
  });

  it('the attack is the pumps, each after its prefix, one after another, then the suffix', () => {
    // slow only on x then a run of a's then a byte that is no a: each part of the string is needed
    const pumps = [
      { prefix: 'x', pump: '' },
      { prefix: '', pump: 'a' },
    ];
    expect(riskOf('^x(a|a)+$', '', vulnerable(true, pumps, '!'))).toMatch(/^can backtrack/);
    // without the suffix the a's match at once; with the flags the pattern is built with
    expect(riskOf('^x(a|a)+$', '', vulnerable(true, [{ prefix: 'x', pump: 'a' }], ''))).toBeNull();
    expect(riskOf('^X(a|a)+$', 'i', vulnerable(true, [{ prefix: 'x', pump: 'a' }], '!'))).toMatch(/^can backtrack/);
    expect(riskOf('^X(a|a)+$', '', vulnerable(true, [{ prefix: 'x', pump: 'a' }], '!'))).toBeNull();
  });

  it("the fuzzer's verdict is refuted when the attack grown past the longest line stays fast", () => {
    expect(riskOf('^a+$', '', vulnerable(true, [{ prefix: '', pump: 'a' }], '!'))).toBeNull();
    expect(riskOf('^x[ab]*$', '', vulnerable(true, [{ prefix: 'x', pump: 'ab' }], '!'))).toBeNull();
  });

  it('a search that looked slow once is timed twice more, and the fastest of the three counts; exactly 100 ms is not slow', () => {
    // the clock of the timings faked: the first search of the attack "took" 150 ms (the process lost the
    // CPU), every other one 1 ms; then every one exactly SLOW_MS (100 ms)
    const timed = (durations: (n: number) => number): string | null => {
      let calls = 0;
      let now = 0;
      const spy = vi.spyOn(performance, 'now').mockImplementation(() => (calls++ % 2 === 0 ? now : (now += durations(calls >> 1))));
      try {
        return riskOf('^a+$', '', vulnerable(true, [{ prefix: '', pump: 'a' }], '!'));
      } finally {
        spy.mockRestore();
      }
    };
    expect(timed((n) => (n === 1 ? 150 : 1))).toBeNull();
    expect(timed(() => 100)).toBeNull();
    expect(timed(() => 100.5)).toMatch(/^can backtrack/);
  });

  it('an attack without pumps, or whose pumps are empty, is no attack (it cannot grow)', () => {
    // a slow pattern, but nothing to grow: refuted at once, not tried forever
    expect(riskOf('^(a|a)+$', '', vulnerable(true, [], 'a'.repeat(40) + '!'))).toBeNull();
    expect(riskOf('^(a|a)+$', '', vulnerable(true, [{ prefix: 'a'.repeat(40), pump: '' }], '!'))).toBeNull();
  });
});

describe('backtrackingRisk: the reading of nested repeats, then recheck', () => {
  afterEach(() => {
    delete process.env.XENDOCTOR_RECHECK_TIMEOUT;
  });

  it('a nested repeat is refused without recheck (which passes it)', () => {
    expect(backtrackingRisk('^(a{1,10}){1,10}$', '')).toBe(NESTED);
  });

  it('an exponential pattern is refused, a safe one passes', () => {
    expect(backtrackingRisk('^(a|a)+$', '')).toMatch(/^can backtrack catastrophically \(exponential\); attack string: "/);
    expect(backtrackingRisk('^kernel: (\\w+) failed$', '')).toBeNull();
  });

  it('a pattern recheck gives up on passes, and is matched with a time budget even where the linear engine runs it', () => {
    // linear-capable: returned as is, unless recheck gave up on it (with its flags)
    const src = 'xq(?:a|b)*yq';
    expect(bounded(new RegExp(src, 'm'))).not.toBeInstanceOf(Bounded);
    expect(backtrackingRisk(src, 'm', 0)).toBeNull();
    const re = new RegExp(src, 'm');
    const b = bounded(re);
    expect(b).not.toBe(re);
    expect(b).toBeInstanceOf(Bounded);
    expect([b.source, b.flags]).toEqual([src, 'm']);
    // the same source with other flags was not given up on
    const other = new RegExp(src, 's');
    expect(bounded(other)).toBe(other);
  });

  it('recheck is given XENDOCTOR_RECHECK_TIMEOUT ms when that is a whole number over 0, else 5 s', () => {
    // a backreference: judged by recheck's fuzzer, which 1 ms is too short for (it gives up: no risk)
    const src = '^xenfail (a|a)+\\1b';
    process.env.XENDOCTOR_RECHECK_TIMEOUT = '1';
    expect(backtrackingRisk(src, '')).toBeNull();
    for (const v of ['0', '1.5']) {
      process.env.XENDOCTOR_RECHECK_TIMEOUT = v;
      expect(backtrackingRisk(src, ''), v).toMatch(/^can backtrack catastrophically/);
    }
    delete process.env.XENDOCTOR_RECHECK_TIMEOUT;
    expect(backtrackingRisk(src, '')).toMatch(/^can backtrack catastrophically/);
  });
});

/** The class `bounded` makes (taken from a pattern the linear engine cannot run). */
const Bounded = bounded(/a(?=b)/).constructor;

/** CPU milliseconds `f` takes (every thread of the process). */
function cpuOf<T>(f: () => T): { out: T; ms: number } {
  const before = process.cpuUsage();
  const out = f();
  const used = process.cpuUsage(before);
  return { out, ms: (used.user + used.system) / 1000 };
}

describe('bounded: a time budget per match for patterns the linear-time engine cannot run', () => {
  afterEach(() => {
    takeSlowMatches();
  });

  it('a pattern the linear engine runs is returned as is; one it cannot (lookaround, backreference) is budgeted', () => {
    const linear = /kernel: (\w+) failed/m;
    expect(bounded(linear)).toBe(linear);
    for (const re of [/a(?=b)/, /(a)\1/, /(?<=x)y/g]) {
      const b = bounded(re);
      expect(b).toBeInstanceOf(Bounded);
      expect(b).toBeInstanceOf(RegExp);
      expect([b.source, b.flags]).toEqual([re.source, re.flags]);
      // budgeted once: the same object again
      expect(bounded(b)).toBe(b);
    }
  });

  it('a budgeted pattern matches as the pattern does: index, groups, test, global matching', () => {
    const re = bounded(/(?<n>\d+)(?= done)/);
    const m = re.exec('id 42 done')!;
    expect([m[0], m.index, m.groups!.n]).toEqual(['42', 3, '42']);
    expect(re.exec('id 42 undone')).toBeNull();
    expect(re.test('7 done')).toBe(true);
    expect('a1 done b2 done'.match(bounded(/\d(?= done)/g))).toEqual(['1', '2']);
    expect(hasSlowMatches()).toBe(false);
  });

  it('an error of the match itself is thrown, not taken for a slow match', () => {
    const re = bounded(/a(?=b)/);
    expect(() => re.exec(Symbol('s') as unknown as string)).toThrow(TypeError);
    expect(hasSlowMatches()).toBe(false);
  });

  it('a match over the budget is cut short (no match) and noted; after five the pattern is set aside', () => {
    const src = '^(a|a)+(?=b)';
    const re = bounded(new RegExp(src));
    const slow = 'a'.repeat(40) + 'x';
    expect(re.exec(slow)).toBeNull();
    expect(hasSlowMatches()).toBe(true);
    expect(takeSlowMatches()).toEqual([{ source: src, disabled: false }]);
    expect(hasSlowMatches()).toBe(false);
    expect(takeSlowMatches()).toEqual([]);
    // a line that matches at once still matches
    expect(re.exec('aab')![0]).toBe('aa');
    for (let i = 0; i < 4; i++) expect(re.test(slow)).toBe(false);
    expect(takeSlowMatches()).toEqual([
      { source: src, disabled: false },
      { source: src, disabled: false },
      { source: src, disabled: false },
      { source: src, disabled: true },
    ]);
    // set aside: no match, at once, and no more notes
    const after = cpuOf(() => re.exec('aab'));
    expect(after.out).toBeNull();
    expect(after.ms).toBeLessThan(MATCH_BUDGET_MS / 2);
    expect(hasSlowMatches()).toBe(false);
    // another pattern object of the same source has its own count
    expect(bounded(new RegExp(src)).exec('aab')![0]).toBe('aa');
  });

  it('a match timed out (wall time) before it had the budget of CPU is tried again, up to the budget', () => {
    // the process lost the CPU: the first try's timeout came after 50 ms of CPU, the second's after 150 ms
    // more: the budget (200 ms) reached, not passed
    const deltas = [
      { user: 30_000, system: 20_000 },
      { user: 100_000, system: 50_000 },
    ];
    const real = process.cpuUsage;
    let tries = 0;
    process.cpuUsage = ((before?: NodeJS.CpuUsage) => {
      if (!before) return { user: 0, system: 0 };
      // past the two tries: CPU enough at once (a third try is one too many)
      return deltas[tries++] ?? { user: 1_000_000, system: 0 };
    }) as typeof process.cpuUsage;
    try {
      expect(bounded(/^(a|a)+(?=b)/).exec('a'.repeat(40) + 'x')).toBeNull();
    } finally {
      process.cpuUsage = real;
    }
    expect(tries).toBe(2);
    expect(takeSlowMatches()).toEqual([{ source: '^(a|a)+(?=b)', disabled: false }]);
  });

  it('a match that never gets the CPU is cut after 25 tries (5 s of wall time), not tried forever', () => {
    const real = process.cpuUsage;
    let tries = 0;
    process.cpuUsage = ((before?: NodeJS.CpuUsage) => {
      if (before) tries++;
      return { user: 0, system: 0 };
    }) as typeof process.cpuUsage;
    try {
      expect(bounded(/^(a|a)+(?=b)/).exec('a'.repeat(40) + 'x')).toBeNull();
    } finally {
      process.cpuUsage = real;
    }
    expect(tries).toBe(25);
    expect(takeSlowMatches()).toEqual([{ source: '^(a|a)+(?=b)', disabled: false }]);
  });

  it('the note names the pattern (its first 80 characters), the budget, and whether it is set aside', () => {
    const source = 'p'.repeat(100);
    expect(slowNote({ source, disabled: false })).toBe(
      `matching the pattern ${JSON.stringify('p'.repeat(80))} took over ${MATCH_BUDGET_MS} ms: cut short (no match)`,
    );
    expect(slowNote({ source: 'a"b', disabled: true })).toBe(
      'matching the pattern "a\\"b" took over 200 ms: cut short (no match); the pattern is set aside for the rest of the run',
    );
  });
});
