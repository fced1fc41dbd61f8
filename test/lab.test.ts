/**
 * The Xen lab's real captures (samples/lab/<scenario>/, made by test/lab/run.sh under QEMU with a real
 * Xen 4.17 and dom0): each scenario's provoked fault is found, and nothing else it must not give.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, xd } from './helpers.js';

const LAB = join(ROOT, 'samples', 'lab');
const RANK = ['info', 'warning', 'error', 'critical'];

interface Expect {
  files: string[];
  present: string[];
  absent: string[];
  maxSeverity?: string;
}

const scenarios = existsSync(LAB) ? readdirSync(LAB).filter((d) => existsSync(join(LAB, d, 'expect.json'))) : [];

describe.runIf(scenarios.length > 0)('lab captures', () => {
  it.each(scenarios)('%s', (name) => {
    const exp = JSON.parse(readFileSync(join(LAB, name, 'expect.json'), 'utf8')) as Expect;
    const files = exp.files.map((f) => join(LAB, name, f)).filter((f) => existsSync(f));
    expect(files.length, `capture files of ${name}`).toBeGreaterThan(0);
    const r = xd(['--format', 'json', '--year', '2026', '--tz', 'UTC', ...files]);
    expect([0, 1, 2], r.stderr).toContain(r.code);
    const findings = (JSON.parse(r.stdout) as { findings: { rule: string; severity: string }[] }).findings;
    const rules = new Set(findings.map((f) => f.rule));
    expect(
      exp.present.filter((id) => !rules.has(id)),
      'missing',
    ).toEqual([]);
    expect(
      exp.absent.filter((id) => rules.has(id)),
      'must not be found',
    ).toEqual([]);
    if (exp.maxSeverity) {
      const over = findings.filter((f) => RANK.indexOf(f.severity) > RANK.indexOf(exp.maxSeverity!));
      expect(
        over.map((f) => `${f.rule} (${f.severity})`),
        `above ${exp.maxSeverity}`,
      ).toEqual([]);
    }
  });
});
