/**
 * The catalogue (engine/catalogue.ts), case by case: what `compileRule` checks beyond the schema
 * (the id, regular expressions, captures named by keys, bounds, collects, cases and placeholders),
 * what it fills in by default, the prefilter literals it works out, and `loadCatalogue` over site
 * folders (a rule replacing another, unsafe patterns, unknown `follows`, every problem at once).
 * Written against the mutants of the mutation run (docs/mutation.md) that the engine's tests left.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { backtrackingRisk } from '../src/engine/safety.js';
import { boundRule, bundledRulesDir, compileRule, loadCatalogue, loadRuleFile, ruleFiles, type RuleSpec } from '../src/engine/catalogue.js';
import { RuleFileError, type RuleProblem } from '../src/errors.js';
import { tmp } from './helpers.js';

// the checker of site patterns, spied on (it still judges): which patterns the catalogue has it judge
vi.mock('../src/engine/safety.js', async (importOriginal) => {
  const m = await importOriginal<typeof import('../src/engine/safety.js')>();
  return { ...m, backtrackingRisk: vi.fn(m.backtrackingRisk) };
});

const base: RuleSpec = { id: 't', title: 'T', severity: 'error', patterns: ['abcde'], diagnosis: 'd', fix: ['f'] };

function compile(spec: Partial<RuleSpec>, file = 't.yaml', locate?: (f: (string | number)[]) => number | null) {
  const problems: RuleProblem[] = [];
  const rule = compileRule({ ...base, ...spec } as RuleSpec, file, problems, locate);
  return { rule, problems };
}

/** The fields and messages of a spec's problems. */
const problemsOf = (spec: Partial<RuleSpec>) => compile(spec).problems.map((p) => `${p.field}: ${p.message}`);

describe('compileRule: what it checks', () => {
  it('a valid spec gives a rule and no problem', () => {
    const { rule, problems } = compile({});
    expect(problems).toEqual([]);
    expect(rule).not.toBeNull();
    expect(rule!.id).toBe('t');
    expect(rule!.file).toBe('t.yaml');
  });

  it('the id must be the file name, without .yaml or .yml (and the line of the id is given)', () => {
    expect(compile({}, '/x/t.yml').problems).toEqual([]);
    // only the last extension goes
    expect(compile({ id: 'a.yml-b' }, '/x/a.yml-b.yaml').problems).toEqual([]);
    // without a locate, a problem has no line (null)
    expect(compile({ id: 'u' }).problems).toEqual([{ file: 't.yaml', line: null, field: 'id', message: 'must equal the file name (t)' }]);
    expect(compile({ id: 't' }, '/x/t.yaml.yaml').problems.map((p) => p.message)).toEqual(['must equal the file name (t.yaml)']);
    const { rule, problems } = compile({ id: 'other' }, '/x/t.yaml', (f) => (f[0] === 'id' ? 7 : 1));
    expect(rule).toBeNull();
    expect(problems).toEqual([{ file: '/x/t.yaml', line: 7, field: 'id', message: 'must equal the file name (t)' }]);
  });

  it('an invalid regular expression in any field is a problem with its field and line, and no rule', () => {
    const cases: [Partial<RuleSpec>, string][] = [
      [{ patterns: ['ok', 'a('] }, 'patterns.1'],
      [{ ignore: ['[z'] }, 'ignore.0'],
      [{ multiline: { continuation: '(' } }, 'multiline.continuation'],
      [{ multiline: { continuation: 'x', end: '+' } }, 'multiline.end'],
      [{ context: { patterns: ['ok', '(?<'] } }, 'context.patterns.1'],
      [{ patterns: ['(?<v>abcde)'], threshold: { count: 2, distinct: 'v', release: ['*'] } }, 'threshold.release.0'],
      [{ patterns: ['(?<v>abcde)'], cases: [{ when: { v: '(' }, title: 'x' }] }, 'cases.0.when.v'],
    ];
    for (const [spec, field] of cases) {
      const { rule, problems } = compile(spec, 't.yaml', (f) => f.length * 10);
      expect(rule, field).toBeNull();
      expect(problems.length, field).toBe(1);
      expect(problems[0]!.field).toBe(field);
      expect(problems[0]!.line).toBe(field.split('.').length * 10);
      expect(problems[0]!.message).toMatch(/^invalid regular expression: Invalid regular expression/);
    }
  });

  it('the flags apply to every pattern: i for i, none otherwise', () => {
    const i = compile({ flags: 'i', ignore: ['zz'], multiline: { continuation: 'cc', end: 'ee' } }).rule!;
    expect(i.caseInsensitive).toBe(true);
    expect([i.patterns[0]!.flags, i.ignore[0]!.flags, i.continuation!.flags, i.blockEnd!.flags]).toEqual(['i', 'i', 'i', 'i']);
    expect(i.patterns[0]!.test('ABCDE')).toBe(true);
    const none = compile({ flags: '' }).rule!;
    expect(none.caseInsensitive).toBe(false);
    expect(none.patterns[0]!.flags).toBe('');
    expect(compile({}).rule!.patterns[0]!.test('ABCDE')).toBe(false);
  });

  it('each pattern keeps its named groups, once each, in order', () => {
    // the second (?<a> is text after an escaped paren: read as a name again, kept once
    const r = compile({ patterns: ['(?<a>x)(?<b>y)(?<a2>z)\\(?<a>w\\)', 'no groups (?:here)', '(?<_c9>q)'] }).rule!;
    expect(r.groups).toEqual([['a', 'b', 'a2'], [], ['_c9']]);
  });

  it('a key, a where bound, a distinct value or a collect must name a capture', () => {
    expect(problemsOf({ patterns: ['(?<a>x)', '(?<b>y)'], key: ['a', 'b', 'c'] })).toEqual(['key.2: no pattern captures "c"']);
    expect(problemsOf({ patterns: ['(?<a>x)'], where: { a: { gt: 1 }, z: { lt: 2 } } })).toEqual(['where.z: no pattern captures "z"']);
    expect(problemsOf({ patterns: ['(?<a>x)'], threshold: { count: 2, distinct: 'a' } })).toEqual([]);
    expect(problemsOf({ patterns: ['(?<a>x)'], threshold: { count: 2, distinct: 'z' } })).toEqual([
      'threshold.distinct: no pattern captures "z"',
    ]);
    expect(problemsOf({ patterns: ['(?<a>x)'], collect: { list: 'a', other: 'z' } })).toEqual(['collect.other: no pattern captures "z"']);
  });

  it('the line of each such problem is the line of its field', () => {
    const where: string[] = [];
    const problems: RuleProblem[] = [];
    compileRule(
      {
        ...base,
        patterns: ['(?<a>x)'],
        key: ['k'],
        where: { w: {} },
        threshold: { count: 2, distinct: 'd' },
        collect: { c: 'z' },
        cases: [{ when: { n: 'x' } }],
        title: '{p}',
      } as RuleSpec,
      't.yaml',
      problems,
      (f) => {
        where.push(f.join('.'));
        return where.length;
      },
    );
    expect(problems.map((p) => [p.field, where[p.line! - 1]])).toEqual([
      ['key.0', 'key.0'],
      ['where.w', 'where.w'],
      ['threshold.distinct', 'threshold.distinct'],
      ['collect.c', 'collect.c'],
      ['cases.0.when.n', 'cases.0.when.n'],
      ['title', 'title'],
    ]);
  });

  it('a case may test a capture, a collected list, the host, and the trace when the rule fingerprints one', () => {
    const when = (name: string, spec: Partial<RuleSpec> = {}) =>
      problemsOf({ patterns: ['(?<a>x)'], collect: { list: 'a' }, cases: [{ when: { [name]: 'x' }, title: 't' }], ...spec });
    expect(when('a')).toEqual([]);
    expect(when('list')).toEqual([]);
    expect(when('host')).toEqual([]);
    expect(when('trace')).toEqual(['cases.0.when.trace: no capture or collect named "trace"']);
    expect(when('trace', { multiline: { continuation: 'y', fingerprint: 'trace' } })).toEqual([]);
    expect(when('nope')).toEqual(['cases.0.when.nope: no capture or collect named "nope"']);
  });

  it('a placeholder in the title, diagnosis, fixes or a case must name a capture, a collect or the host', () => {
    expect(
      problemsOf({
        patterns: ['(?<a>x)'],
        collect: { list: 'a' },
        title: '{a} {list} {host} {t1}',
        diagnosis: '{d1} and {a}',
        fix: ['{a}', 'use {f1}'],
        cases: [
          { when: { a: 'x' }, title: 'case {c1}', fix: ['ok', 'step {c2} {a}'] },
          { when: { a: 'y' }, fix: ['{c3}'] },
        ],
      }),
    ).toEqual([
      'title: placeholder {t1} names no capture of this rule',
      'diagnosis: placeholder {d1} names no capture of this rule',
      'fix.1: placeholder {f1} names no capture of this rule',
      'cases.0.title: placeholder {c1} names no capture of this rule',
      'cases.0.fix.1: placeholder {c2} names no capture of this rule',
      'cases.1.fix.0: placeholder {c3} names no capture of this rule',
    ]);
    // braces that are no placeholder
    expect(problemsOf({ title: 'a {} b { x } {9a} c' })).toEqual([]);
  });

  it('threshold.release needs threshold.distinct', () => {
    expect(problemsOf({ patterns: ['(?<a>x)'], threshold: { count: 2, release: ['y'] } })).toEqual([
      'threshold.release: needs threshold.distinct',
    ]);
    expect(problemsOf({ patterns: ['(?<a>x)'], threshold: { count: 2, distinct: 'a', release: ['y'] } })).toEqual([]);
    expect(problemsOf({ patterns: ['(?<a>x)'], threshold: { count: 2, release: [] } })).toEqual([]);
    // its line is the line of threshold.release
    const { problems } = compile({ patterns: ['(?<a>x)'], threshold: { count: 2, release: ['y'] } }, 't.yaml', (f) =>
      f.join('.') === 'threshold.release' ? 9 : 1,
    );
    expect(problems.map((p) => [p.field, p.line])).toEqual([['threshold.release', 9]]);
  });

  it('problems found before are not its own: a rule is still given', () => {
    const problems: RuleProblem[] = [{ file: 'other', line: null, field: 'x', message: 'earlier' }];
    expect(compileRule(base, 't.yaml', problems)).not.toBeNull();
    expect(problems.length).toBe(1);
  });
});

describe('compileRule: what it fills in', () => {
  it('the defaults of a bare spec', () => {
    const r = compile({}).rule!;
    expect(r).toMatchObject({
      severity: 'error',
      sources: null,
      programs: null,
      ignore: [],
      key: [],
      continuation: null,
      blockEnd: null,
      continuationMax: 60,
      traceFingerprint: false,
      threshold: null,
      release: [],
      follows: [],
      collect: [],
      context: null,
      cases: [],
    });
    expect(r.spec.id).toBe('t');
  });

  it('sources (none when any is listed) and programs (lower case)', () => {
    expect([...compile({ sources: ['kernel', 'hypervisor'] }).rule!.sources!]).toEqual(['kernel', 'hypervisor']);
    expect(compile({ sources: ['kernel', 'any'] }).rule!.sources).toBeNull();
    expect([...compile({ programs: ['Xend', 'xl'] }).rule!.programs!]).toEqual(['xend', 'xl']);
  });

  it('multiline, threshold, follows, context, collect and cases as given', () => {
    const r = compile({
      patterns: ['(?<a>x)'],
      key: ['a'],
      multiline: { continuation: 'cc', end: 'ee', max: 5, fingerprint: 'trace' },
      threshold: { count: 3, within: '2m', distinct: 'a', release: ['rr'] },
      follows: [
        { rule: 'r1', within: '10s' },
        { rule: 'r2', within: 'soon', certainty: 'possible' },
        { rule: 'r3', within: '1h', certainty: 'cause' },
      ],
      context: { patterns: ['ctx'], lines: 7, max: 2 },
      collect: { list: 'a' },
      cases: [{ when: { a: '^x$' }, title: 'T {a}', fix: ['f {a}'] }, { when: { list: 'y' } }],
    }).rule!;
    expect(r.key).toEqual(['a']);
    expect(r.continuation!.source).toBe('cc');
    expect(r.blockEnd!.source).toBe('ee');
    expect(r.continuationMax).toBe(5);
    expect(r.traceFingerprint).toBe(true);
    expect(r.threshold).toEqual({ count: 3, within: 120_000, distinct: 'a' });
    expect(r.release.map((re) => re.source)).toEqual(['rr']);
    expect(r.follows).toEqual([
      { rule: 'r1', within: 10_000, possible: false },
      { rule: 'r2', within: 0, possible: true },
      { rule: 'r3', within: 3_600_000, possible: false },
    ]);
    expect(r.context).toEqual({ patterns: [/ctx/], lines: 7, max: 2 });
    expect(r.collect).toEqual([['list', 'a']]);
    expect(r.cases).toEqual([
      { when: [['a', /^x$/]], title: 'T {a}', fix: ['f {a}'] },
      { when: [['list', /y/]], title: null, fix: [] },
    ]);
  });

  it('a threshold without within or distinct, a context without lines or max, multiline without end or max', () => {
    const r = compile({ threshold: { count: 2 }, context: { patterns: ['c'] }, multiline: { continuation: 'x' } }).rule!;
    expect(r.threshold).toEqual({ count: 2, within: null, distinct: null });
    expect(r.context).toEqual({ patterns: [/c/], lines: 300, max: 8 });
    expect(r.blockEnd).toBeNull();
    expect(r.continuationMax).toBe(60);
    expect(r.traceFingerprint).toBe(false);
  });
});

describe('compileRule: the prefilter literals', () => {
  it('those of every pattern, context pattern and release pattern', () => {
    const r = compile({
      patterns: ['(?<a>alpha\\d)', 'bravo'],
      context: { patterns: ['charlie'] },
      threshold: { count: 2, distinct: 'a', release: ['delta'] },
    }).rule!;
    expect(r.literals).toEqual(['alpha', 'bravo', 'charlie', 'delta']);
  });

  it("only the patterns' when there is no context or release pattern", () => {
    expect(compile({ patterns: ['bravo'] }).rule!.literals).toEqual(['bravo']);
    expect(compile({ patterns: ['bravo'], threshold: { count: 2 }, context: { patterns: [] } }).rule!.literals).toEqual(['bravo']);
  });

  it('none (every line) when one pattern has none', () => {
    expect(compile({ patterns: ['bravo', '\\d+'] }).rule!.literals).toBeNull();
    expect(compile({ patterns: ['\\d+', 'bravo'] }).rule!.literals).toBeNull();
  });

  it('the prefilter given, as given; the cached literals over both', () => {
    expect(compile({ patterns: ['\\d+'], prefilter: ['given'] }).rule!.literals).toEqual(['given']);
    const problems: RuleProblem[] = [];
    expect(compileRule({ ...base, prefilter: ['given'] }, 't.yaml', problems, undefined, { literals: ['cached'] })!.literals).toEqual([
      'cached',
    ]);
    expect(compileRule(base, 't.yaml', problems, undefined, { literals: null })!.literals).toBeNull();
  });
});

/** A rule file's YAML text. */
const yaml = (id: string, pattern: string, extra = '') =>
  `id: ${id}\ntitle: rule ${id}\nseverity: warning\npatterns: ['${pattern}']\ndiagnosis: what it means\nfix: [mend it]\n${extra}`;

describe('loadCatalogue and the rule files', () => {
  it('ruleFiles: the *.yaml and *.yml files of a folder, sorted, with the folder', () => {
    const dir = tmp();
    for (const f of ['b.yml', 'a.yaml', 'c.txt', 'yaml', 'd.yaml.bak']) writeFileSync(join(dir, f), '');
    expect(ruleFiles(dir)).toEqual([join(dir, 'a.yaml'), join(dir, 'b.yml')]);
    // sorted as strings (UTF-16 units), not in the folder's order: Node's readdir lists a folder sorted
    // by its UTF-8 bytes, where U+FF5A comes before U+1F600; as strings the surrogate pair comes first
    const wide = tmp();
    for (const f of ['\uff5a.yaml', '\u{1f600}.yaml', 'b.yaml']) writeFileSync(join(wide, f), '');
    expect(ruleFiles(wide)).toEqual(['b.yaml', '\u{1f600}.yaml', '\uff5a.yaml'].map((f) => join(wide, f)));
  });

  it('loadRuleFile: a file read, validated and compiled; a bad one gives its problems and null', () => {
    const dir = tmp();
    const good = join(dir, 'good.yaml');
    writeFileSync(good, yaml('good', 'abcde'));
    const problems: RuleProblem[] = [];
    expect(loadRuleFile(good, problems)!.id).toBe('good');
    expect(loadRuleFile(join(dir, 'other.yaml'), problems, yaml('wrong', 'abcde'))).toBeNull();
    expect(problems.map((p) => [p.line, p.field, p.message])).toEqual([[1, 'id', 'must equal the file name (other)']]);
  });

  it('site rules alone (noBundled), bounded; a later folder replaces a rule of the same id', () => {
    const one = tmp();
    const two = tmp();
    writeFileSync(join(one, 'site-a.yaml'), yaml('site-a', 'first text'));
    writeFileSync(join(one, 'site-b.yaml'), yaml('site-b', 'bravo text'));
    writeFileSync(join(two, 'site-a.yaml'), yaml('site-a', 'second text'));
    const rules = loadCatalogue({ noBundled: true, extraDirs: [one, two] });
    expect(rules.map((r) => [r.id, r.spec.patterns[0]])).toEqual([
      ['site-a', 'second text'],
      ['site-b', 'bravo text'],
    ]);
    expect(rules.every((r) => r.boundedMatch === true)).toBe(true);
    expect(loadCatalogue({ noBundled: true })).toEqual([]);
    expect(loadCatalogue({ noBundled: true, extraDirs: [] })).toEqual([]);
  });

  it('the bundled rules first, not bounded; a site rule of the same id replaces one', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'disk-full.yaml'), yaml('disk-full', 'my own disk text'));
    writeFileSync(join(dir, 'zz-site.yaml'), yaml('zz-site', 'site text'));
    const bundled = loadCatalogue();
    expect(bundled.length).toBe(ruleFiles(bundledRulesDir()).length);
    expect(bundled.some((r) => r.boundedMatch)).toBe(false);
    const rules = loadCatalogue({ extraDirs: [dir] });
    expect(rules.length).toBe(bundled.length + 1);
    const disk = rules.find((r) => r.id === 'disk-full')!;
    expect(disk.spec.patterns).toEqual(['my own disk text']);
    expect(disk.boundedMatch).toBe(true);
    expect(rules.at(-1)!.id).toBe('zz-site');
    expect(rules.filter((r) => r.boundedMatch).map((r) => r.id)).toEqual(['disk-full', 'zz-site']);
  });

  it('a site pattern that can backtrack catastrophically is refused in every field, unless allowed', () => {
    const dir = tmp();
    const unsafe = '(a{1,10}){1,10}b';
    const fields: [string, string][] = [
      ['patterns.1', `patterns: ['safe text', '${unsafe}']`],
      ['ignore.0', `ignore: ['${unsafe}']`],
      ['multiline.continuation', `multiline: { continuation: '${unsafe}' }`],
      ['multiline.end', `multiline: { continuation: 'x', end: '${unsafe}' }`],
      ['context.patterns.0', `context: { patterns: ['${unsafe}'] }`],
      ['threshold.release.0', `threshold: { count: 2, distinct: v, release: ['${unsafe}'] }`],
    ];
    fields.forEach(([, field], i) => {
      const body = field.startsWith('patterns')
        ? `id: u${i}\ntitle: rule u${i}\nseverity: warning\n${field}\ndiagnosis: what it means\nfix: [mend it]\n`
        : yaml(`u${i}`, '(?<v>safe text)', `${field}\n`);
      writeFileSync(join(dir, `u${i}.yaml`), body);
    });
    writeFileSync(join(dir, 'ok.yaml'), yaml('ok', 'all safe'));
    let problems: RuleProblem[] = [];
    try {
      loadCatalogue({ noBundled: true, extraDirs: [dir] });
    } catch (e) {
      problems = (e as RuleFileError).problems;
    }
    expect(problems.map((p) => [p.file, p.line, p.field])).toEqual(fields.map(([f], i) => [join(dir, `u${i}.yaml`), null, f]));
    for (const p of problems) {
      expect(p.message).toBe(
        `pattern ${JSON.stringify(unsafe)} can backtrack catastrophically (a repeated group whose body is itself a repeat); rewrite it, or pass --allow-unsafe-patterns`,
      );
    }
    // allowed: every rule, bounded
    const rules = loadCatalogue({ noBundled: true, extraDirs: [dir], allowUnsafe: true });
    expect(rules.map((r) => r.id)).toEqual(['ok', ...fields.map((_, i) => `u${i}`)]);
    expect(rules.every((r) => r.boundedMatch)).toBe(true);
  });

  it('a site pattern is judged with its flags: the verdict of the same text without them is not reused', () => {
    const dir = tmp();
    const other = tmp();
    writeFileSync(join(dir, 'f1.yaml'), yaml('f1', 'plain words'));
    writeFileSync(join(other, 'f2.yaml'), yaml('f2', 'plain words', 'flags: i\n'));
    expect(loadCatalogue({ noBundled: true, extraDirs: [dir, other] }).map((r) => r.id)).toEqual(['f1', 'f2']);
  });

  it('a site pattern recheck finds unsafe is refused without flags; a pattern unsafe only with i, only with i', () => {
    const dir = tmp();
    // not a nested repeat: recheck judges these (with the rule's flags, '' when it has none)
    writeFileSync(join(dir, 'r1.yaml'), yaml('r1', '^(r|r)*$'));
    writeFileSync(join(dir, 'r2.yaml'), yaml('r2', '^(s|S)*$', "flags: ''\n"));
    writeFileSync(join(dir, 'r3.yaml'), yaml('r3', '^(s|S)*$', 'flags: i\n'));
    let problems: RuleProblem[] = [];
    try {
      loadCatalogue({ noBundled: true, extraDirs: [dir] });
    } catch (e) {
      problems = (e as RuleFileError).problems;
    }
    expect(problems.map((p) => [p.file.replace(dir, 'D'), p.field, p.message.replace(/;.*/, '')])).toEqual([
      ['D/r1.yaml', 'patterns.0', 'pattern "^(r|r)*$" can backtrack catastrophically (exponential)'],
      ['D/r3.yaml', 'patterns.0', 'pattern "^(s|S)*$" can backtrack catastrophically (exponential)'],
    ]);
  });

  it("a pattern is judged once per process for its text and flags (no flags and flags '' alike)", () => {
    const dir = tmp();
    const pattern = 'judged (once|twice) here';
    writeFileSync(join(dir, 'j1.yaml'), yaml('j1', pattern));
    writeFileSync(join(dir, 'j2.yaml'), yaml('j2', pattern, "flags: ''\n"));
    writeFileSync(join(dir, 'j3.yaml'), yaml('j3', pattern, 'flags: i\n'));
    writeFileSync(join(dir, 'j4.yaml'), yaml('j4', pattern, 'flags: i\n'));
    writeFileSync(join(dir, 'j5.yaml'), yaml('j5', pattern));
    const spy = vi.mocked(backtrackingRisk);
    spy.mockClear();
    expect(loadCatalogue({ noBundled: true, extraDirs: [dir] }).length).toBe(5);
    expect(loadCatalogue({ noBundled: true, extraDirs: [dir] }).length).toBe(5);
    expect(spy.mock.calls.filter(([source]) => source === pattern).map(([, flags]) => flags)).toEqual(['', 'i']);
  });

  it('a refused rule is not in the catalogue: a rule that follows it names an unknown rule', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'a1.yaml'), yaml('a1', '(b{1,10}){1,10}c'));
    writeFileSync(join(dir, 'a2.yaml'), yaml('a2', 'abcde', 'follows: [{ rule: a1, within: 1m }]\n'));
    let problems: RuleProblem[] = [];
    try {
      loadCatalogue({ noBundled: true, extraDirs: [dir] });
    } catch (e) {
      problems = (e as RuleFileError).problems;
    }
    expect(problems.map((p) => [p.file.replace(dir, 'D'), p.field])).toEqual([
      ['D/a1.yaml', 'patterns.0'],
      ['D/a2.yaml', 'follows'],
    ]);
    expect(problems[1]!.message).toBe('unknown rule "a1"');
  });

  it('every problem of every file at once: unknown follows, a broken file, a missing folder', () => {
    const dir = tmp();
    writeFileSync(join(dir, 'f1.yaml'), yaml('f1', 'abcde', 'follows: [{ rule: nowhere, within: 1m }, { rule: f2, within: 1m }]\n'));
    writeFileSync(join(dir, 'f2.yaml'), yaml('f2', 'abcde'));
    writeFileSync(join(dir, 'f3.yaml'), yaml('f3', 'a('));
    const missing = join(dir, 'missing');
    let err: unknown;
    try {
      loadCatalogue({ noBundled: true, extraDirs: [dir, missing] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RuleFileError);
    const problems = (err as RuleFileError).problems;
    expect(problems.map((p) => [p.file.replace(dir, 'D'), p.field])).toEqual([
      ['D/f3.yaml', 'patterns.0'],
      ['D/missing', ''],
      ['D/f1.yaml', 'follows'],
    ]);
    expect(problems.at(-1)!.message).toBe('unknown rule "nowhere"');
    expect(problems.at(-1)!.line).toBeNull();
  });

  it('run from the sources (tests), keeps no catalogue cache beside them', () => {
    const cache = fileURLToPath(new URL('../src/catalogue-cache.json', import.meta.url));
    try {
      expect(loadCatalogue().length).toBeGreaterThan(0);
      expect(existsSync(cache)).toBe(false);
    } finally {
      rmSync(cache, { force: true });
    }
  });

  it('a folder holding no rule file gives no rule', () => {
    const dir = tmp();
    mkdirSync(join(dir, 'sub'));
    expect(loadCatalogue({ noBundled: true, extraDirs: [dir] })).toEqual([]);
  });
});

describe('boundRule', () => {
  it('marks the rule and bounds its patterns, ignores, continuation and end', () => {
    // a backreference: V8's linear-time engine cannot run it, so only a time budget bounds it
    const r = compile({ patterns: ['(a)\\1'], ignore: ['(b)\\1'], multiline: { continuation: '(c)\\1', end: '(d)\\1' } }).rule!;
    const before = [...r.patterns, ...r.ignore, r.continuation!, r.blockEnd!];
    boundRule(r);
    expect(r.boundedMatch).toBe(true);
    const after = [...r.patterns, ...r.ignore, r.continuation!, r.blockEnd!];
    after.forEach((re, i) => {
      expect(re).not.toBe(before[i]);
      expect(re.source).toBe(before[i]!.source);
    });
    const bare = compile({ patterns: ['(a)\\1'] }).rule!;
    boundRule(bare);
    expect(bare.continuation).toBeNull();
    expect(bare.blockEnd).toBeNull();
  });
});
