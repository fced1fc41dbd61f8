/**
 * The configuration rules against their case files (rules/config/cases/<id>.txt), one test per rule, as
 * test/samples.test.ts does for the log rules: each case's host laid out and checked, its findings
 * exactly as expected, every rule with a positive case and a near miss.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigRules } from '../src/check/config-rules.js';
import { configCasesDir, parseCaseFile, runHostCase, testConfigCases, type CaseProblem } from '../src/check/cases.js';
import { ROOT, tmp } from './helpers.js';

const rules = loadConfigRules();
const DIR = configCasesDir();
const shown = (ps: CaseProblem[]) => ps.map((p) => `${p.file.replace(ROOT + '/', '')}${p.line ? `:${p.line}` : ''}: ${p.message}`);

describe.each([...rules.keys()].map((id) => [id]))('rules/config/cases/%s.txt', (id) => {
  it('gives exactly the expected findings, with a positive case and a near miss', () => {
    const result = testConfigCases(rules, DIR, new Set([id]));
    expect(shown(result.problems)).toEqual([]);
    expect(result.cases).toBeGreaterThan(1);
  });
});

describe('configuration case files', () => {
  it('lay out files, links, folders and captures, and read "|" lines verbatim (comments too)', () => {
    const problems: CaseProblem[] = [];
    const [c] = parseCaseFile(
      'x.txt',
      [
        '# expect: none',
        '/etc/xen/xl.conf:',
        '| # a comment of the file, not of the case',
        '|',
        '| autoballoon="off"',
        '/etc/xen/auto/web01.cfg -> ../web01.cfg',
        '/etc/xen/auto/:',
        'xl info:',
        '| nr_cpus : 24',
      ].join('\n'),
      problems,
    );
    expect(problems).toEqual([]);
    expect(c!.host.get('/etc/xen/xl.conf')).toEqual({
      kind: 'file',
      text: '# a comment of the file, not of the case\n\nautoballoon="off"\n',
    });
    expect(c!.host.get('/etc/xen/auto/web01.cfg')).toEqual({ kind: 'link', target: '../web01.cfg' });
    expect(c!.host.get('/etc/xen/auto')).toEqual({ kind: 'dir' });
    expect(c!.host.get('xl info')).toEqual({ kind: 'file', text: 'nr_cpus : 24\n' });
  });

  it('report what they cannot read, with file and line', () => {
    const problems: CaseProblem[] = [];
    parseCaseFile('x.txt', ['/etc/hostname:', '# expect: frobnicate {oops}', 'etc/relative:', '| stray'].join('\n'), problems);
    expect(problems.map((p) => `${p.line}: ${p.message}`)).toEqual([
      '1: a host file before the first "# expect:"',
      '2: expectation JSON is invalid: {oops}',
      '3: cannot read "etc/relative:" (a file is "/path:" or "xl info:", "xl list:", "df:", its lines "| …")',
      '4: a file line ("| …") outside a file',
    ]);
  });

  it('fail a case whose expectation is wrong: a missing finding, an extra one, the wrong severity', () => {
    const dir = tmp('xd-cases-');
    const host = '/etc/default/grub:\n| GRUB_CMDLINE_XEN="dom0_mem=8192M dom0_max_vcpus=4 dom0_vcpus_pin bootscrub=false"\n';
    writeFileSync(
      join(dir, 'config-dom0-mem-no-max.txt'),
      `# expect: none\n${host}\n# expect: config-dom0-mem-no-max {} severity error\n${host}\n# expect: config-dom0-mem-no-max {}\n# expect: xen-boot-scrub {}\n${host}`,
    );
    const result = testConfigCases(rules, dir, new Set(['config-dom0-mem-no-max']));
    expect(result.cases).toBe(3);
    expect(result.passed).toBe(0);
    expect(result.problems.map((p) => `${p.line}: ${p.message.replace(/ \(got:.*$/, '')}`)).toEqual([
      '1: extra config-dom0-mem-no-max {}',
      '5: missing config-dom0-mem-no-max {}, extra config-dom0-mem-no-max {}',
      '9: missing xen-boot-scrub {}',
    ]);
  });

  it('give each case a host of its own (a file of one case is not there in the next)', () => {
    const problems: CaseProblem[] = [];
    const cases = parseCaseFile(
      'x.txt',
      '# expect: none\n/etc/sysctl.conf:\n| vm.min_free_kbytes = 131072\n/proc/sys/vm/min_free_kbytes:\n| 131072\n# expect: none\n/etc/hostname:\n| xen07\n',
      problems,
    );
    expect(problems).toEqual([]);
    expect(runHostCase(cases[0]!).skipped).not.toContain('sysctl');
    expect(runHostCase(cases[1]!).skipped).toContain('sysctl');
  });
});
