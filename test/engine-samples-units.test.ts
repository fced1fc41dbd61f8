/**
 * The sample checker (engine/samples.ts), case by case, with two small rules instead of the
 * catalogue (test/samples.test.ts runs the catalogue; a mutant of this file there costs a whole
 * sample run): how a sample file is read into cases, what a case's findings are compared with, and
 * every problem `testSamples` names (written against the mutants of the mutation run, docs/mutation.md).
 */
import { mkdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileRule, type Rule, type RuleSpec } from '../src/engine/catalogue.js';
import { parseSampleFile, runCase, SAMPLE_NOW, testSamples, type SampleProblem } from '../src/engine/samples.js';
import { tmp } from './helpers.js';

function rule(id: string, spec: Partial<RuleSpec>): Rule {
  const problems: unknown[] = [];
  const r = compileRule(
    { id, title: id, severity: 'error', patterns: ['x'], diagnosis: 'd', fix: ['f'], ...spec } as RuleSpec,
    `/rules/${id}.yaml`,
    problems as never,
  );
  expect(problems).toEqual([]);
  return r!;
}

/** alpha: one finding per disk (key), a second pattern; beta: plain. */
const alpha = rule('alpha', { patterns: ['alpha fault on (?<disk>sd[a-z])', 'alpha other on (?<disk>sd[a-z])'], key: ['disk'] });
const beta = rule('beta', { patterns: ['beta broke (?<what>\\w+)'] });
const rules = [alpha, beta];

const parse = (text: string) => {
  const problems: SampleProblem[] = [];
  const cases = parseSampleFile('s.log', text, problems);
  return { cases, problems };
};

describe('parseSampleFile', () => {
  it('reads cases: their expectations (captures, count), their first line, their log lines', () => {
    const { cases, problems } = parse(
      [
        '# a comment',
        '#expect: alpha {"disk":"sda"}',
        '#   expect:   beta   count 2  ',
        '# a comment inside the run',
        '# expect: alpha {"disk": "sdb"} count 12',
        'line one',
        '',
        'line two\r',
        '# a comment between lines',
        'line three',
        '# expect: none',
        'other',
        '  ',
        '# expect: beta',
        '# expect: none',
        'last',
      ].join('\n'),
    );
    expect(problems).toEqual([]);
    expect(cases).toEqual([
      {
        file: 's.log',
        line: 2,
        expect: [
          { rule: 'alpha', captures: { disk: 'sda' }, count: null },
          { rule: 'beta', captures: {}, count: 2 },
          { rule: 'alpha', captures: { disk: 'sdb' }, count: 12 },
        ],
        lines: ['line one', 'line two', 'line three'],
      },
      { file: 's.log', line: 11, expect: [], lines: ['other'] },
      { file: 's.log', line: 14, expect: [{ rule: 'beta', captures: {}, count: null }], lines: ['last'] },
    ]);
  });

  it('a blank line or a log line ends the run of expectations: the next one starts a case', () => {
    const { cases } = parse('# expect: alpha\n\n# expect: beta\nx\n# expect: none\ny\n');
    expect(cases.map((c) => [c.line, c.expect.map((e) => e.rule), c.lines])).toEqual([
      [1, ['alpha'], []],
      [3, ['beta'], ['x']],
      [5, [], ['y']],
    ]);
  });

  it('names what it cannot read, with its line, and goes on', () => {
    const { cases, problems } = parse(
      [
        'a line before any case',
        '# expect: Alpha',
        '# expect: alpha {"disk":',
        '# expect: alpha count x',
        '# expect: alpha {"disk":"sda"} trailing',
        '# expect: beta {not json}',
        '# expect: beta {"what":"x"}x',
        'line',
      ].join('\n'),
    );
    expect(problems).toEqual([
      { file: 's.log', line: 1, message: 'log line before the first "# expect:"' },
      { file: 's.log', line: 2, message: 'cannot read expectation "Alpha"' },
      { file: 's.log', line: 3, message: 'cannot read expectation "alpha {"disk":"' },
      { file: 's.log', line: 4, message: 'cannot read expectation "alpha count x"' },
      { file: 's.log', line: 5, message: 'cannot read expectation "alpha {"disk":"sda"} trailing"' },
      { file: 's.log', line: 6, message: 'expectation JSON is invalid: {not json}' },
      { file: 's.log', line: 7, message: 'cannot read expectation "beta {"what":"x"}x"' },
    ]);
    // the expectation with invalid JSON is kept, without captures
    expect(cases).toEqual([{ file: 's.log', line: 2, expect: [{ rule: 'beta', captures: {}, count: null }], lines: ['line'] }]);
  });

  it('an expectation is no comment: "# expected:" or "# expect none" are comments', () => {
    const { cases, problems } = parse('# expect: none\n# expected: alpha\n#x expect: beta\n x expect: beta\n');
    expect(problems).toEqual([]);
    expect(cases).toEqual([{ file: 's.log', line: 1, expect: [], lines: [' x expect: beta'] }]);
  });
});

describe('runCase', () => {
  it('the findings of a case and the patterns its lines matched, with or without the prefilter', async () => {
    const c = {
      file: 's.log',
      line: 1,
      expect: [],
      lines: ['Nov 20 08:00:00 h kernel: alpha fault on sda', 'Nov 20 08:00:01 h kernel: alpha other on sdb', 'beta broke it'],
    };
    for (const everyLine of [false, true]) {
      const { findings, patternHits } = await runCase(rules, c, everyLine);
      expect(findings.map((f) => [f.rule, f.key, f.count])).toEqual([
        ['alpha', { disk: 'sda' }, 1],
        ['alpha', { disk: 'sdb' }, 1],
        ['beta', {}, 1],
      ]);
      expect([...patternHits].sort()).toEqual(['alpha#0', 'alpha#1', 'beta#0']);
      // the year of a year-less stamp comes from the sample clock (November 2026)
      expect(findings[0]!.first).toBe('2026-11-20T08:00:00Z');
    }
    expect(SAMPLE_NOW).toBe(Date.UTC(2026, 10, 26, 12));
  });
});

/** A samples folder holding these files. */
function samples(files: Record<string, string>): string {
  const dir = tmp();
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const good = {
  'alpha.log': [
    '# expect: alpha {"disk":"sda"}',
    'alpha fault on sda',
    '# expect: alpha {"disk":"sdb"} count 2',
    'alpha other on sdb',
    'alpha fault on sdb',
    '# expect: none',
    'alpha fault on disk',
  ].join('\n'),
  'beta.log': '# expect: beta {"what":"down"}\nbeta broke down\n# expect: none\nbeta mended\n',
};

describe('testSamples', () => {
  it('every case as expected: no problem, every case counted and passed', async () => {
    const report = await testSamples(rules, samples(good));
    expect(report).toEqual({ cases: 5, passed: 5, problems: [] });
  });

  it('only the rules asked for', async () => {
    const dir = samples({ 'beta.log': good['beta.log'] });
    expect(await testSamples(rules, dir, new Set(['beta']))).toEqual({ cases: 2, passed: 2, problems: [] });
    expect(await testSamples(rules, dir, new Set(['none']))).toEqual({ cases: 0, passed: 0, problems: [] });
  });

  it('a rule without a sample file, or with one that cannot be read', async () => {
    const dir = samples({ 'beta.log': good['beta.log'] });
    let report = await testSamples(rules, dir);
    expect(report.problems).toEqual([{ file: join(dir, 'alpha.log'), line: null, message: 'rule alpha has no sample file' }]);
    expect(report.cases).toBe(2);
    mkdirSync(join(dir, 'alpha.log'));
    report = await testSamples(rules, dir);
    expect(report.problems.length).toBe(1);
    expect(report.problems[0]!.file).toBe(join(dir, 'alpha.log'));
    expect(report.problems[0]!.line).toBeNull();
    expect(report.problems[0]!.message).toMatch(/^cannot read the sample file: ./);
  });

  it('a rule without a positive or a near-miss case, a case without lines, a malformed expectation', async () => {
    const dir = samples({
      ...good,
      'beta.log': '# expect: alpha {"disk":"sdc"}\nalpha fault on sdc\n# expect: bogus(\nbeta broke down\n# expect: none\n',
    });
    const report = await testSamples(rules, dir);
    const file = join(dir, 'beta.log');
    expect(report.problems).toEqual([
      { file, line: 3, message: 'cannot read expectation "bogus("' },
      { file, line: null, message: 'no positive case for beta' },
      { file, line: 3, message: 'extra beta {}' + ' (got: beta {"what":"down"})' },
      { file, line: 5, message: 'case has no log lines' },
      { file: '/rules/beta.yaml', line: null, message: 'patterns[0] is matched by no positive sample: beta broke (?<what>\\w+)' },
    ]);
    expect(report.cases).toBe(6);
    expect(report.passed).toBe(4);
  });

  it('a case missing a finding, with one too many, or counted otherwise: each named, with what it got', async () => {
    const dir = samples({
      ...good,
      'alpha.log':
        good['alpha.log'] +
        [
          '',
          '',
          '# expect: alpha {"disk":"sdz"}',
          'alpha fault on sda',
          '# expect: alpha {"disk":"sda"} count 3',
          'alpha fault on sda',
          'alpha fault on sda',
          '# expect: alpha {"disk":"sda"}',
          'alpha fault on sda',
          'alpha fault on sdb',
          '# expect: beta',
          '# expect: alpha count 1',
          'alpha fault on sda',
          'beta broke up',
          '# expect: none',
          'nothing here',
        ].join('\n'),
    });
    const report = await testSamples(rules, dir);
    const file = join(dir, 'alpha.log');
    expect(report.problems).toEqual([
      { file, line: 9, message: 'missing alpha {"disk":"sdz"}, extra alpha {"disk":"sda"} (got: alpha {"disk":"sda"})' },
      { file, line: 11, message: 'missing alpha {"disk":"sda"} count 3, extra alpha {"disk":"sda"} (got: alpha {"disk":"sda"} count 2)' },
      { file, line: 14, message: 'extra alpha {"disk":"sdb"} (got: alpha {"disk":"sda"}; alpha {"disk":"sdb"})' },
    ]);
    expect(report.cases).toBe(10);
    expect(report.passed).toBe(7);
  });

  it('a case expecting nothing that gets a finding', async () => {
    const dir = samples({ ...good, 'beta.log': good['beta.log'] + '# expect: none\nbeta broke again\n' });
    const report = await testSamples(rules, dir);
    expect(report.problems).toEqual([{ file: join(dir, 'beta.log'), line: 5, message: 'extra beta {} (got: beta {"what":"again"})' }]);
  });

  it('captures compared as text, from the key or the captures', async () => {
    const gamma = rule('gamma', { patterns: ['gamma (?<n>\\d+) on (?<disk>sd[a-z])'], key: ['disk'] });
    const dir = samples({
      'gamma.log':
        '# expect: gamma {"n": 7, "disk": "sda"}\ngamma 7 on sda\n# expect: gamma {"n": "8"}\ngamma 8 on sdb\n# expect: none\ngamma x\n',
    });
    expect(await testSamples([gamma], dir)).toEqual({ cases: 3, passed: 3, problems: [] });
    const wrong = samples({ 'gamma.log': '# expect: gamma {"n": 9}\ngamma 7 on sda\n# expect: none\ngamma x\n' });
    expect((await testSamples([gamma], wrong)).problems.map((p) => p.message)).toEqual([
      'missing gamma {"n":9}, extra gamma {"disk":"sda"} (got: gamma {"disk":"sda","n":"7"})',
      // the one positive case failed: none is left to need the pattern
      'patterns[0] is needed by no positive sample (replaced by a pattern that never matches, every case still passes): gamma (?<n>\\d+) on (?<disk>sd[a-z])',
    ]);
  });

  it('a pattern matched by no positive case, or needed by none (the same cases pass without it)', async () => {
    // alpha's second pattern: matched only by a near-miss case
    const unmatched = samples({
      ...good,
      'alpha.log': '# expect: alpha {"disk":"sda"}\nalpha fault on sda\n# expect: none\nalpha other on sd\n',
    });
    expect((await testSamples(rules, unmatched)).problems).toEqual([
      { file: '/rules/alpha.yaml', line: null, message: 'patterns[1] is matched by no positive sample: alpha other on (?<disk>sd[a-z])' },
    ]);
    // matched by a positive case, whose line the first pattern also matches
    const both = rule('both', { patterns: ['disk (?<d>sd[a-z]) fail', 'disk (?<d>sd[a-z])'], key: ['d'] });
    const dir = samples({ 'both.log': '# expect: both {"d":"sda"}\ndisk sda fail\n# expect: none\nnothing\n' });
    expect((await testSamples([both], dir)).problems).toEqual([
      {
        file: '/rules/both.yaml',
        line: null,
        message:
          'patterns[0] is needed by no positive sample (replaced by a pattern that never matches, every case still passes): disk (?<d>sd[a-z]) fail',
      },
      {
        file: '/rules/both.yaml',
        line: null,
        message:
          'patterns[1] is needed by no positive sample (replaced by a pattern that never matches, every case still passes): disk (?<d>sd[a-z])',
      },
    ]);
    // each needed by a case of its own: no problem; a case that fails does not count as needing one
    const own = samples({
      'both.log': '# expect: both {"d":"sda"}\ndisk sda fail\n# expect: both {"d":"sdb"}\ndisk sdb\n# expect: none\nnothing\n',
    });
    expect((await testSamples([both], own)).problems).toEqual([
      {
        file: '/rules/both.yaml',
        line: null,
        message:
          'patterns[0] is needed by no positive sample (replaced by a pattern that never matches, every case still passes): disk (?<d>sd[a-z]) fail',
      },
    ]);
  });

  it('a pattern is needed when, without it, a case misses a finding or gets another', async () => {
    // without the first pattern, the line is still found by the second, but under another key
    const two = rule('two', { patterns: ['disk (?<d>sd[a-z]) fail', 'disk (?<e>sd[a-z])'], key: ['d'] });
    const dir = samples({
      'two.log': '# expect: two {"d":"sda"}\ndisk sda fail\n# expect: two {"e":"sdb"}\ndisk sdb\n# expect: none\nnothing\n',
    });
    expect((await testSamples([two], dir)).problems).toEqual([]);
  });
});

describe('written against the mutation run of samples.ts (docs/mutation.md)', () => {
  it('annotations: no blank needed after "expect:", blanks after "none" or before a count, CR only at the end, "#" first', () => {
    const { cases, problems } = parse(
      ['# expect:alpha', 'a', '# expect: none  ', 'b', '# expect: beta count  2', 'mid\rdle\r', ' # expect: beta'].join('\n'),
    );
    expect(problems).toEqual([]);
    expect(cases).toEqual([
      { file: 's.log', line: 1, expect: [{ rule: 'alpha', captures: {}, count: null }], lines: ['a'] },
      { file: 's.log', line: 3, expect: [], lines: ['b'] },
      { file: 's.log', line: 5, expect: [{ rule: 'beta', captures: {}, count: 2 }], lines: ['mid\rdle', ' # expect: beta'] },
    ]);
  });

  it('a case runs through the prefilter: a rule whose literals a line lacks does not see it; with everyLine it does', async () => {
    // alpha's literals replaced by one its lines do not hold: the prefilter then keeps them from it
    const blind: Rule = { ...alpha, literals: ['no such text'] };
    const c = { file: 's.log', line: 1, expect: [], lines: ['alpha fault on sda'] };
    expect((await runCase([blind, beta], c)).findings).toEqual([]);
    expect((await runCase([blind, beta], c, true)).findings.map((f) => f.rule)).toEqual(['alpha']);
    // and so does testSamples: its positive case fails
    const report = await testSamples([blind, beta], samples(good), new Set(['alpha']));
    expect(report.problems.map((p) => [p.line, p.message])).toContainEqual([1, 'missing alpha {"disk":"sda"} (got: none)']);
  });

  it("a year-less stamp is dated against the sample clock (26 Nov 2026), not the machine's", async () => {
    // 1 Dec lies 5 days after the sample clock, beyond its 2 days of slack: the year before
    const c = { file: 's.log', line: 1, expect: [], lines: ['Dec  1 08:00:00 h kernel: alpha fault on sda'] };
    const { findings } = await runCase(rules, c);
    expect(findings.map((f) => f.first)).toEqual(['2025-12-01T08:00:00Z']);
  });

  it('a finding of another rule does not meet an expectation, whatever its captures', async () => {
    const dir = samples({ ...good, 'beta.log': good['beta.log'] + '# expect: beta\nalpha fault on sda\n' });
    expect((await testSamples(rules, dir)).problems).toEqual([
      { file: join(dir, 'beta.log'), line: 5, message: 'missing beta {}, extra alpha {"disk":"sda"} (got: alpha {"disk":"sda"})' },
    ]);
  });

  it('a case missing findings and getting none: each named, "got: none"; two extra findings each named', async () => {
    const dir = samples({
      ...good,
      'alpha.log':
        good['alpha.log'] +
        '\n# expect: alpha {"disk":"sdz"}\n# expect: beta count 2\nnothing matches\n' +
        '# expect: none\nalpha fault on sdc\nbeta broke x\n',
    });
    const file = join(dir, 'alpha.log');
    expect((await testSamples(rules, dir)).problems).toEqual([
      { file, line: 8, message: 'missing alpha {"disk":"sdz"}; beta {} count 2 (got: none)' },
      { file, line: 11, message: 'extra alpha {"disk":"sdc"}; beta {} (got: alpha {"disk":"sdc"}; beta {"what":"x"})' },
    ]);
  });

  it('a sample file without a near-miss case', async () => {
    const dir = samples({ ...good, 'beta.log': '# expect: beta {"what":"down"}\nbeta broke down\n' });
    expect((await testSamples(rules, dir)).problems).toEqual([
      { file: join(dir, 'beta.log'), line: null, message: 'no near-miss case (# expect: none)' },
    ]);
  });

  it('a sample file over 16 MiB is not read', async () => {
    const dir = samples(good);
    const big = join(dir, 'beta.log');
    writeFileSync(big, good['beta.log']);
    truncateSync(big, 16 * 1024 * 1024 + 1);
    const { problems } = await testSamples(rules, dir, new Set(['beta']));
    expect(problems).toEqual([{ file: big, line: null, message: expect.stringMatching(/^cannot read the sample file: .*too large/) }]);
  });

  it("a pattern matched only in a case that expects another rule is matched by no positive case (the case's hits do not count)", async () => {
    const dir = samples({
      ...good,
      'alpha.log':
        '# expect: alpha {"disk":"sda"}\nalpha fault on sda\n# expect: beta\nbeta broke x\nalpha other on sdb\n# expect: none\nx\n',
    });
    expect((await testSamples(rules, dir, new Set(['alpha']))).problems).toEqual([
      { file: join(dir, 'alpha.log'), line: 3, message: 'extra alpha {"disk":"sdb"} (got: alpha {"disk":"sdb"}; beta {"what":"x"})' },
      { file: '/rules/alpha.yaml', line: null, message: 'patterns[1] is matched by no positive sample: alpha other on (?<disk>sd[a-z])' },
    ]);
  });

  it('a pattern is needed when, without it, a case gets a finding more (and misses none)', async () => {
    // with the first pattern both lines count under sda; without it the first line's last word is its key
    const split = rule('split', { patterns: ['disk (?<d>sd[a-z]) fail', '(?<d>\\w+)$'], key: ['d'] });
    const dir = samples({
      'split.log': '# expect: split {"d":"sda"}\ndisk sda fail\ndisk sda\n# expect: split {"d":"sdb"}\ndisk sdb\n# expect: none\n-\n',
    });
    expect(await testSamples([split], dir)).toEqual({ cases: 3, passed: 3, problems: [] });
  });
});
