/**
 * Unit tests of src/engine/unrecognized.ts that pin what its first mutation run (XD_MUTATE=engine-unrecognized,
 * docs/mutation.md) found reached by no test: gravity and the order of results, the shape cache's two
 * generations, the benign list's compilation and matching, Drain's threshold and tie, the caps of a group,
 * a template's latest line, times and hours, merging another miner's state, and peakHour.
 */
import { describe, expect, it } from 'vitest';
import type { LogEvent } from '../src/types.js';
import {
  TemplateMiner,
  TwoGenerationCache,
  compileBenign,
  gravity,
  isBenign,
  loadBundledBenign,
  looksLikeTrouble,
  parseBenign,
  peakHour,
  templateOf,
  templateOfSimple,
  templatesMatch,
  type BenignSpec,
  type MinerState,
  type TemplateState,
} from '../src/engine/unrecognized.js';

const HOUR = 3600_000;
const T0 = Date.UTC(2026, 10, 20, 8);
/** An event of a message (the miner reads message, program and time). */
const ev = (message: string, time: number | null = T0, program: string | null = 'app'): LogEvent => ({
  format: 'syslog',
  time,
  uptime: null,
  host: 'h',
  program,
  pid: null,
  source: 'unknown',
  message,
});
const miner = () => new TemplateMiner([]);
const both = () => [new TemplateMiner([]), new TemplateMiner([], { simple: true })];
const templates = (m: TemplateMiner) => m.exportState().templates.map((t) => [t.template, t.count]);
const state = (t: Partial<TemplateState> & { template: string }): TemplateState => ({
  count: 1,
  first: null,
  last: null,
  example: t.template,
  source: 'b.log',
  line: 1,
  hours: [],
  latest: null,
  ...t,
});

describe('gravity and the order of results', () => {
  it('gravity: 2 for error-level words, 1 for warning-level ones, 0 for others', () => {
    expect(gravity('kernel panic now')).toBe(2);
    expect(gravity('request timed out')).toBe(1);
    expect(gravity('link is down')).toBe(1);
    expect(gravity('all quiet')).toBe(0);
    // an error-level word wins over a warning-level one in the same template
    expect(gravity('timeout: fatal')).toBe(2);
  });

  it('looksLikeTrouble: a trouble word anywhere, case-insensitively', () => {
    expect(looksLikeTrouble('Disk FAILED')).toBe(true);
    expect(looksLikeTrouble('all is well')).toBe(false);
  });

  it('results: the gravest first, then the most frequent, then by template; times as ISO strings', () => {
    const m = miner();
    const add = (msg: string, n: number, time: number | null = T0) => {
      for (let i = 0; i < n; i++) m.add(ev(msg, time), msg);
    };
    add('request timed out on alpha path', 5);
    add('kernel panic in beta', 1);
    add('disk failed on gamma', 3);
    add('bridge refused the port', 5, null);
    add('an error in delta here', 3);
    const r = m.results();
    expect(r.map((u) => [u.template, u.count])).toEqual([
      ['an error in delta here', 3],
      ['disk failed on gamma', 3],
      ['kernel panic in beta', 1],
      ['bridge refused the port', 5],
      ['request timed out on alpha path', 5],
    ]);
    expect(r[2]).toMatchObject({ first: '2026-11-20T08:00:00Z', last: '2026-11-20T08:00:00Z', related: [] });
    expect(r[3]).toMatchObject({ first: null, last: null });
  });
});

describe('the order of results, ties', () => {
  it('templates of equal gravity and count by template, whatever the order they came in', () => {
    for (const order of [
      ['error c', 'error b', 'error a'],
      ['error a', 'error b', 'error c'],
      ['error b', 'error c', 'error a'],
    ]) {
      const m = miner();
      for (const msg of order) m.add(ev(msg), msg);
      expect(m.results().map((u) => u.template)).toEqual(['error a', 'error b', 'error c']);
    }
  });
});

describe('TwoGenerationCache', () => {
  it('keeps the young half and the old one; a key found in the old half moves back to the young one', () => {
    const c = new TwoGenerationCache<number>(2);
    c.set('a', 1);
    c.set('b', 2);
    // young full at 2: c starts a new young half, a and b are old
    c.set('c', 3);
    expect(c.get('a')).toBe(1); // a moves back: young {c, a}
    c.set('d', 4); // young full: old {c, a}, young {d}; b is dropped
    expect(c.get('b')).toBeUndefined();
    expect(c.get('a')).toBe(1);
    expect(c.get('c')).toBe(3);
    expect(c.get('d')).toBe(4);
  });

  it('a half holds exactly `half` entries before it turns old', () => {
    const c = new TwoGenerationCache<number>(2);
    for (const [k, v] of [
      ['a', 1],
      ['b', 2],
      ['c', 3],
      ['d', 4],
      ['e', 5],
    ] as const)
      c.set(k, v);
    // {a,b} old at c, {c,d} old at e: a and b are gone
    expect(c.get('a')).toBeUndefined();
    expect(c.get('b')).toBeUndefined();
    expect([c.get('c'), c.get('d'), c.get('e')]).toEqual([3, 4, 5]);
  });

  it('a key in the young half is found there (not looked up in the old one, not moved)', () => {
    const c = new TwoGenerationCache<number>(2);
    c.set('a', 1);
    c.set('a', 2);
    expect(c.get('a')).toBe(2);
    c.set('b', 3);
    c.set('c', 4); // young was {a, b}: now old
    expect(c.get('a')).toBe(2);
  });
});

describe('the benign list', () => {
  it('compiles: program case-insensitively, message and line as written; an entry without id is #index', () => {
    const [a, b] = compileBenign(
      [{ id: 'noise', program: 'sshd', message: 'Failed password' }, { line: 'cron\\[' } as BenignSpec],
      'b.yaml',
    );
    expect(a!.id).toBe('noise');
    expect(b!.id).toBe('#1');
    expect(a!.program!.test('SSHD')).toBe(true);
    expect(a!.message!.test('failed password')).toBe(false);
    expect(a!.line).toBeNull();
    expect(b!.program).toBeNull();
    expect(b!.message).toBeNull();
    expect(b!.line!.source).toBe('cron\\[');
    expect(compileBenign([{ id: 7, message: 'x' }], 'b.yaml')[0]!.id).toBe('#0');
  });

  it('a bad entry: not a string, a bad expression, neither message nor line; a file without the list', () => {
    expect(() => compileBenign([{ message: 'x' }, { message: 3 }], 'b.yaml')).toThrow(
      'b.yaml: benign.1.message: expected a regular expression',
    );
    expect(() => compileBenign([{ message: 'x', program: '(' }], 'b.yaml')).toThrow(/^b\.yaml: benign\.0\.program: Invalid/);
    expect(() => compileBenign([{ program: 'x' }], 'b.yaml')).toThrow('b.yaml: benign.0: needs "message" or "line"');
    expect(compileBenign([{ line: 'x' }], 'b.yaml')).toHaveLength(1);
    expect(() => parseBenign('benign: 3\n', 'c.yaml')).toThrow('c.yaml: expected a list under "benign"');
    expect(() => parseBenign('', 'c.yaml')).toThrow('c.yaml: expected a list under "benign"');
    expect(parseBenign('benign:\n  - message: "x"\n', 'c.yaml')).toHaveLength(1);
  });

  it('isBenign: every condition of an entry must hold; any entry will do', () => {
    const list = compileBenign([{ program: '^sshd$', message: 'Failed password' }, { line: 'NOISE' }], 'b.yaml');
    expect(isBenign(ev('Failed password for x', T0, 'sshd'), 'l', list)).toBe(true);
    expect(isBenign(ev('Failed password for x', T0, 'sudo'), 'l', list)).toBe(false);
    expect(isBenign(ev('Failed password for x', T0, null), 'l', list)).toBe(false);
    expect(isBenign(ev('error: other', T0, 'sshd'), 'l', list)).toBe(false);
    expect(isBenign(ev('anything', T0, null), 'a NOISE line', list)).toBe(true);
    expect(isBenign(ev('anything', T0, null), 'a line', list)).toBe(false);
    const both = compileBenign([{ message: 'a', line: 'b' }], 'b.yaml');
    expect(isBenign(ev('a'), 'b', both)).toBe(true);
    expect(isBenign(ev('a'), 'c', both)).toBe(false);
    expect(isBenign(ev('c'), 'b', both)).toBe(false);
    expect(isBenign(ev('a'), 'b', [])).toBe(false);
    // a line with no program is not that of an entry's program, even one that reads "null"
    expect(isBenign(ev('a', T0, null), 'b', compileBenign([{ program: '^null$', message: 'a' }], 'b.yaml'))).toBe(false);
  });

  it('the bundled list is loaded once', () => {
    expect(loadBundledBenign()).toBe(loadBundledBenign());
    expect(new TemplateMiner()['benign']).toBe(loadBundledBenign());
  });

  it('the miner skips a benign line, and a line that does not look like trouble', () => {
    const m = new TemplateMiner(compileBenign([{ message: 'harmless' }], 'b.yaml'));
    m.add(ev('harmless error'), 'x');
    m.add(ev('nothing to see'), 'x');
    m.add(ev('real error'), 'x');
    expect(templates(m)).toEqual([['real error', 1]]);
  });
});

describe('templates', () => {
  it('a message past 512 characters is cut before it is templated', () => {
    const long = `error ${'a'.repeat(600)}`;
    expect(templateOfSimple(long)).toBe(long.slice(0, 512));
    expect(templateOf(long)).toBe(long.slice(0, 512));
    const exact = `error ${'b'.repeat(506)}`;
    expect(templateOfSimple(exact)).toBe(exact);
  });

  it('templatesMatch: equal templates; the first 64 words only', () => {
    expect(templatesMatch('a b', 'a b')).toBe(true);
    expect(templatesMatch('a', 'b')).toBe(false);
    const words = (last: string) => [...Array.from({ length: 64 }, (_, i) => `w${i}`), last].join(' ');
    expect(templatesMatch(words('x'), words('y'))).toBe(true);
    expect(templatesMatch(words('x'), `${words('x')} z`)).toBe(true);
  });
});

describe('Drain: groups, threshold and tie', () => {
  it('a first word with a digit groups as a wildcard: the two messages join', () => {
    for (const m of both()) {
      m.add(ev('mail28 error queue stuck here'), 'x');
      m.add(ev('mail29 error queue stuck here'), 'x');
      expect(templates(m)).toEqual([['<*> error queue stuck here', 2]]);
    }
  });

  it('two words join only an identical template; three join at two agreeing', () => {
    for (const m of both()) {
      m.add(ev('failed alpha'), 'x');
      m.add(ev('failed beta'), 'x');
      m.add(ev('failed alpha beta'), 'x');
      m.add(ev('failed gamma beta'), 'x');
      expect(templates(m)).toEqual([
        ['failed alpha', 1],
        ['failed beta', 1],
        ['failed <*> beta', 2],
      ]);
    }
  });

  it('half the words agreeing is enough; fewer is not', () => {
    for (const m of both()) {
      m.add(ev('error pa qa ra'), 'x');
      m.add(ev('error pb qb ra'), 'x'); // 2 of 4: joins
      m.add(ev('error pc qc rc sa sb'), 'x');
      m.add(ev('error pd qd rd sa sc'), 'x'); // 2 of 5: apart
      expect(templates(m)).toEqual([
        ['error <*> <*> ra', 2],
        ['error pc qc rc sa sb', 1],
        ['error pd qd rd sa sc', 1],
      ]);
    }
  });

  it('a template whose every word is the message’s or a wildcard takes it, however few agree', () => {
    for (const m of both()) {
      m.absorb({ templates: [state({ template: 'failed <*>' })], evicted: 0 });
      m.add(ev('failed foo'), 'x');
      expect(templates(m)).toEqual([['failed <*>', 2]]);
    }
  });

  it('a tie in similarity goes to the template with more wildcards', () => {
    for (const m of both()) {
      m.absorb({
        templates: [state({ template: 'error a s t u v' }), state({ template: 'error a <*> <*> <*> <*>' })],
        evicted: 0,
      });
      expect(templates(m)).toHaveLength(2);
      m.add(ev('error a p q r w'), 'x');
      expect(templates(m)).toEqual([
        ['error a s t u v', 1],
        ['error a <*> <*> <*> <*>', 2],
      ]);
    }
  });

  it('a tie in similarity and wildcards goes to the template placed first', () => {
    for (const m of both()) {
      m.absorb({ templates: [state({ template: 'error <*> b c' }), state({ template: 'error <*> x y' })], evicted: 0 });
      m.add(ev('error z b y'), 'x');
      expect(templates(m)).toEqual([
        ['error <*> b <*>', 2],
        ['error <*> x y', 1],
      ]);
    }
  });

  it('the higher similarity wins whatever the order of the templates', () => {
    for (const m of both()) {
      m.absorb({
        templates: [state({ template: 'error a <*> <*> <*> z' }), state({ template: 'error a s t u v' })],
        evicted: 0,
      });
      m.add(ev('error a s t u w'), 'x');
      expect(templates(m)).toEqual([
        ['error a <*> <*> <*> z', 1],
        ['error a s t u <*>', 2],
      ]);
    }
  });

  it('a group keeps at most 100 templates: the rarest goes, counted as evicted', () => {
    for (const m of both()) {
      const words = (i: number) => `q${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + Math.floor(i / 26))}x`;
      // the first template, seen three times, stays; 120 of one line each after it
      for (let k = 0; k < 3; k++) m.add(ev('error keep this one here'), 'x');
      for (let i = 0; i < 120; i++) {
        const w = words(i);
        m.add(ev(`error ${w}p ${w}q ${w}r ${w}s`), 'x');
      }
      const s = m.exportState();
      expect(s.templates).toHaveLength(100);
      expect(s.evicted).toBe(21);
      expect(s.templates[0]).toMatchObject({ template: 'error keep this one here', count: 3 });
      // of the rarest (all seen once), the earliest goes first
      expect(s.templates.some((t) => t.template.startsWith('error qaaxp'))).toBe(false);
      expect(s.templates.at(-1)!.template.startsWith(`error ${words(119)}p`)).toBe(true);
    }
  });
});

describe('bounds of the miner', () => {
  it('at most 2000 templates in all: past them the rarest goes (the earliest of the rarest), counted as evicted', () => {
    for (const m of both()) {
      // one group each (their first words differ, of letters only), one line each
      const name = (i: number) =>
        `q${[i % 26, Math.floor(i / 26) % 26, Math.floor(i / 676)].map((c) => String.fromCharCode(97 + c)).join('')}`;
      // the first template seen twice: not the rarest
      m.add(ev('qkeep: error'), 'x');
      m.add(ev('qkeep: error'), 'x');
      for (let i = 0; i < 1999; i++) m.add(ev(`${name(i)}: error`), 'x');
      m.add(ev('tail: error'), 'x');
      const s = m.exportState();
      expect(s.templates).toHaveLength(2000);
      expect(s.evicted).toBe(1);
      const names = new Set(s.templates.map((t) => t.template));
      expect(names.has(`${name(0)}: error`)).toBe(false);
      expect(names.has(`${name(1)}: error`)).toBe(true);
      expect(names.has('tail: error')).toBe(true);
      expect(names.has('qkeep: error')).toBe(true);
    }
  });

  it('templates evicted from a full group no longer count towards the 2000', () => {
    for (const m of both()) {
      const name = (i: number) =>
        `q${[i % 26, Math.floor(i / 26) % 26, Math.floor(i / 676)].map((c) => String.fromCharCode(97 + c)).join('')}`;
      // 150 in one group (50 evicted from it), then 1900 in groups of their own: 2000 kept, none evicted from the miner
      for (let i = 0; i < 150; i++) m.add(ev(`error ${name(i)}p ${name(i)}q ${name(i)}r ${name(i)}s`), 'x');
      for (let i = 0; i < 1900; i++) m.add(ev(`${name(i)}: error`), 'x');
      const s = m.exportState();
      expect(s.evicted).toBe(50);
      expect(s.templates).toHaveLength(2000);
      expect(s.templates.some((t) => t.template === `${name(0)}: error`)).toBe(true);
    }
  });

  it('a message whose trouble word lies past the 512 characters templated makes no template', () => {
    for (const m of both()) {
      m.add(ev(`${' '.repeat(600)}error`), 'x');
      m.add(ev(`${'\t'.repeat(600)}error`), 'x');
      expect(m.exportState().templates).toEqual([]);
    }
  });
});

describe('the cached path', () => {
  it('a message that holds a slot mark of its own is templated as it is', () => {
    for (const m of both()) {
      m.add(ev('error qZgZq here'), 'x');
      m.add(ev('error qZgZq here'), 'x');
      expect(templates(m)).toEqual([['error qZgZq here', 2]]);
    }
  });

  it('a message of the same shape with other words in its slots is placed anew (the template gains a wildcard)', () => {
    for (const m of both()) {
      m.add(ev('error on mail28 queue here now'), 'x');
      m.add(ev('error on mail28 queue here now'), 'x');
      m.add(ev('error on mail29 queue here now'), 'x');
      expect(templates(m)).toEqual([['error on <*> queue here now', 3]]);
    }
  });
});

describe('the cached path: a placement cached while its group changed is not reused', () => {
  // The shape of 'error bravo charlie delta' joins 'error bravo <*> <*>' unchanged, so the cached path
  // keeps that template for it at the group's version (again after the groups are filled). Then the
  // group changes twice (a template added, another's word made a wildcard), or once in two ways (an
  // addition that evicts), and 'error echo charlie delta' is added, which the line is nearer (3 words
  // of 4 against 2): the line must go there, as on the simple path. Each pair of changes would bring
  // the version back to the one cached if one of them counted down instead of up.
  /** A word of letters past f (no hex digit, no digit) for a number. */
  const word = (i: number) => {
    let s = '';
    do {
      s += 'ghijklmnopqrstuvwxyz'[i % 20];
      i = Math.floor(i / 20);
    } while (i > 0);
    return s;
  };
  const cachedLike = (lines: string[]) => {
    const [cached, simple] = both();
    for (const l of lines) {
      cached!.add(ev(l), l);
      simple!.add(ev(l), l);
    }
    expect(templates(cached!)).toEqual(templates(simple!));
    return templates(cached!);
  };
  const cached = ['error bravo charlie delta', 'error bravo xray yankee', 'error bravo charlie delta'];
  const later = ['error echo charlie delta', 'error bravo charlie delta'];

  it('a template added to the group and a word of another made a wildcard', () => {
    // (another template first, then the line cached again)
    const found = cachedLike([
      ...cached,
      'error quebec romeo sierra',
      cached[0]!,
      'error echo charlie delta',
      'error quebec romeo zulu',
      'error bravo charlie delta',
    ]);
    expect(found).toEqual([
      ['error bravo <*> <*>', 4],
      ['error quebec romeo <*>', 2],
      ['error <*> charlie delta', 2],
    ]);
  });

  it('a template added to a full group, which evicts its rarest', () => {
    const fill = Array.from({ length: 99 }, (_, i) => `error k${word(i)} l${word(i)} m${word(i)}`);
    const found = cachedLike([...cached, ...fill, cached[0]!, ...later]);
    expect(found.filter(([t]) => !String(t).startsWith('error k'))).toEqual([
      ['error bravo <*> <*>', 4],
      ['error <*> charlie delta', 2],
    ]);
    expect(found).toHaveLength(100);
  });

  it('a template added to the group with the miner full, which evicts the rarest of all from this group', () => {
    // 1998 templates of other groups (90 a group), seen once each, after one seen once in this group
    const other = Array.from({ length: 1998 }, (_, i) => `g${word(Math.floor(i / 90))} k${word(i)} l${word(i)} m${word(i)} error`);
    const found = cachedLike([...cached, 'error quebec romeo sierra', ...other, cached[0]!, ...later]);
    expect(found.filter(([t]) => String(t).startsWith('error'))).toEqual([
      ['error bravo <*> <*>', 4],
      ['error <*> charlie delta', 2],
    ]);
    expect(found).toHaveLength(2000);
  });
});

describe('a template: its example, latest line, times and hours', () => {
  it('the example is the first line, the latest the last one after it; both cut at 1000 characters', () => {
    const m = miner();
    const long = (c: string) => `error ${c.repeat(1200)}`;
    m.add(ev('error x'), long('a'), 'a.log', 3);
    let [t] = m.exportState().templates;
    expect(t!.example).toBe(long('a').slice(0, 1000));
    expect(t!.latest).toBeNull();
    expect(t).toMatchObject({ source: 'a.log', line: 3 });
    m.add(ev('error x', T0 + 5), long('b'), 'b.log', 9);
    [t] = m.exportState().templates;
    expect(t!.latest).toEqual({ text: long('b').slice(0, 1000), source: 'b.log', line: 9, time: T0 + 5 });
    m.add(ev('error x', null), 'short', 'c.log', 12);
    [t] = m.exportState().templates;
    expect(t!.latest).toEqual({ text: 'short', source: 'c.log', line: 12, time: null });
    expect(t!.example).toBe(long('a').slice(0, 1000));
    const exact = `error ${'c'.repeat(994)}`;
    const n = miner();
    n.add(ev('error y'), exact);
    n.add(ev('error y'), exact);
    expect(n.exportState().templates[0]).toMatchObject({ example: exact, latest: { text: exact } });
  });

  it('a line added without its place has source "" and line 0', () => {
    const m = miner();
    m.add(ev('error x'), 'l');
    expect(m.exportState().templates[0]).toMatchObject({ source: '', line: 0 });
  });

  it('exportState hands out copies of the latest line', () => {
    const m = miner();
    m.add(ev('error x'), 'one');
    m.add(ev('error x'), 'two');
    const s = m.exportState();
    s.templates[0]!.latest!.text = 'changed';
    expect(m.exportState().templates[0]!.latest!.text).toBe('two');
  });

  it('first and last are the earliest and latest times, in whatever order the lines come; hours count the lines', () => {
    const m = miner();
    for (const dt of [2 * HOUR, 0, 5 * HOUR, HOUR + 1]) m.add(ev('error x', T0 + dt), 'l');
    m.add(ev('error x', null), 'l');
    const [t] = m.exportState().templates;
    expect(t).toMatchObject({ count: 5, first: T0, last: T0 + 5 * HOUR });
    const h0 = T0 / HOUR;
    expect(new Map(t!.hours)).toEqual(
      new Map([
        [h0 + 2, 1],
        [h0, 1],
        [h0 + 5, 1],
        [h0 + 1, 1],
      ]),
    );
  });

  it('a line at time 0 (the epoch) is a time like any other', () => {
    const m = miner();
    m.add(ev('error x', 0), 'l');
    expect(m.exportState().templates[0]).toMatchObject({ first: 0, last: 0 });
    const n = miner();
    n.add(ev('error x', null), 'l');
    n.absorb({ templates: [state({ template: 'error x', first: 0, last: 0 })], evicted: 0 });
    expect(n.exportState().templates[0]).toMatchObject({ count: 2, first: 0, last: 0 });
  });

  it('past 48 hours the quietest other hour goes (the earliest of the quietest), never the one just counted', () => {
    const m = miner();
    for (let h = 0; h < 48; h++) for (let k = 0; k < (h === 10 || h === 20 ? 1 : 2); k++) m.add(ev('error x', T0 + h * HOUR), 'l');
    m.add(ev('error x', T0 + 60 * HOUR), 'l');
    let hours = new Map(m.exportState().templates[0]!.hours);
    expect(hours.size).toBe(48);
    expect(hours.has(T0 / HOUR + 10)).toBe(false);
    expect(hours.get(T0 / HOUR + 20)).toBe(1);
    expect(hours.get(T0 / HOUR + 60)).toBe(1);
    // the next new hour: the quietest others are hour 20 and the one counted before it (1 line each), not itself
    m.add(ev('error x', T0 + 61 * HOUR), 'l');
    hours = new Map(m.exportState().templates[0]!.hours);
    expect(hours.size).toBe(48);
    expect(hours.has(T0 / HOUR + 20)).toBe(false);
    expect(hours.get(T0 / HOUR + 60)).toBe(1);
    expect(hours.get(T0 / HOUR + 61)).toBe(1);
    expect(hours.get(T0 / HOUR)).toBe(2);
  });

  it('peakHour: the busiest hour, the earliest of a tie; null when none', () => {
    expect(peakHour([])).toBeNull();
    expect(
      peakHour([
        [5, 2],
        [3, 4],
        [9, 4],
        [1, 1],
      ]),
    ).toEqual({ hour: 3 * HOUR, count: 4 });
    expect(
      peakHour([
        [9, 4],
        [3, 4],
      ]),
    ).toEqual({ hour: 3 * HOUR, count: 4 });
    expect(peakHour([[7, 1]])).toEqual({ hour: 7 * HOUR, count: 1 });
  });
});

describe('absorb: another miner’s templates, later in the input', () => {
  it('a new template keeps its place (lines shifted), times, hours and latest line', () => {
    const m = miner();
    const s: MinerState = {
      templates: [
        state({
          template: 'error a b c',
          count: 4,
          first: T0,
          last: T0 + HOUR,
          line: 5,
          hours: [[T0 / HOUR, 4]],
          latest: { text: 'L', source: 'b.log', line: 8, time: T0 + HOUR },
        }),
      ],
      evicted: 3,
    };
    m.absorb(s, 100);
    const out = m.exportState();
    expect(out.evicted).toBe(3);
    expect(out.templates[0]).toEqual({
      template: 'error a b c',
      count: 4,
      first: T0,
      last: T0 + HOUR,
      example: 'error a b c',
      source: 'b.log',
      line: 105,
      hours: [[T0 / HOUR, 4]],
      latest: { text: 'L', source: 'b.log', line: 108, time: T0 + HOUR },
    });
    // a new template of no latest line has none
    const f = miner();
    f.absorb({ templates: [state({ template: 'error a b c' })], evicted: 0 });
    expect(f.exportState().templates[0]!.latest).toBeNull();
    // without an offset the lines stay
    const n = miner();
    n.absorb(s);
    expect(n.exportState().templates[0]).toMatchObject({ line: 5, latest: { line: 8 } });
  });

  it('into a template of its own: counts, hours add up, times widen; the latest line is the other’s', () => {
    const m = miner();
    m.add(ev('error a b c', T0 + HOUR), 'mine', 'a.log', 1);
    m.absorb(
      {
        templates: [
          state({
            template: 'error a b c',
            count: 2,
            first: T0,
            last: T0 + 3 * HOUR,
            example: 'theirs',
            line: 7,
            hours: [[T0 / HOUR + 1, 2]],
          }),
        ],
        evicted: 1,
      },
      10,
    );
    const s = m.exportState();
    expect(s.evicted).toBe(1);
    expect(s.templates).toEqual([
      {
        template: 'error a b c',
        count: 3,
        first: T0,
        last: T0 + 3 * HOUR,
        example: 'mine',
        source: 'a.log',
        line: 1,
        hours: [[T0 / HOUR + 1, 3]],
        latest: { text: 'theirs', source: 'b.log', line: 17, time: T0 },
      },
    ]);
    // times that do not widen it leave it as it was
    m.absorb({ templates: [state({ template: 'error a b c', first: T0 + HOUR, last: T0 + 2 * HOUR })], evicted: 0 });
    expect(m.exportState().templates[0]).toMatchObject({ count: 4, first: T0, last: T0 + 3 * HOUR });
    m.absorb({ templates: [state({ template: 'error a b c', first: null, last: null })], evicted: 0 });
    expect(m.exportState().templates[0]).toMatchObject({ count: 5, first: T0, last: T0 + 3 * HOUR });
  });

  it('a template of no times takes the other’s', () => {
    const m = miner();
    m.add(ev('error a b c', null), 'mine');
    m.absorb({ templates: [state({ template: 'error a b c', first: T0, last: T0 + HOUR })], evicted: 0 });
    expect(m.exportState().templates[0]).toMatchObject({ count: 2, first: T0, last: T0 + HOUR });
  });
});
