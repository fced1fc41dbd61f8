/**
 * The Xen lab's real captures (samples/lab/<scenario>/, made by test/lab/run.sh under QEMU with a real
 * Xen 4.17 and dom0): each scenario's provoked fault is found, and nothing else it must not give. These
 * are the checks of `test/lab/run.sh --samples`, in the suite: every listed file present and read
 * without an error, lines read, the exit code the findings call for, and a severity cap on every
 * scenario that expects no finding (else an empty or a wrong report would pass).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, xd } from './helpers.js';
import type { ScanReport } from '../src/types.js';

const LAB = join(ROOT, 'samples', 'lab');
const RANK = ['info', 'warning', 'error', 'critical'];

interface Expect {
  files: string[];
  present: string[];
  absent: string[];
  maxSeverity?: string;
}

const scenarios = readdirSync(LAB).filter((d) => existsSync(join(LAB, d, 'expect.json')));

/** The exit code a report calls for (README "Exit codes", default --fail-on warning). */
const exitFor = (r: ScanReport) => Math.max(0, ...r.findings.map((f) => [0, 1, 2, 2][RANK.indexOf(f.severity)]!));

/** Scan files, check what every lab run must hold, and return the report. */
function scan(files: string[]): ScanReport {
  const r = xd(['--format', 'json', '--year', '2026', '--tz', 'UTC', ...files]);
  expect(r.stderr).toBe('');
  const report = JSON.parse(r.stdout) as ScanReport;
  expect(report.inputs.map((i) => [i.source, i.errors])).toEqual(files.map((f) => [f, []]));
  for (const i of report.inputs) expect(i.lines, `lines read from ${i.source}`).toBeGreaterThan(0);
  expect(r.code, 'exit code').toBe(exitFor(report));
  return report;
}

function checkFindings(report: ScanReport, exp: Expect, partial = false): void {
  const rules = new Set(report.findings.map((f) => f.rule));
  if (!partial)
    expect(
      exp.present.filter((id) => !rules.has(id)),
      'missing',
    ).toEqual([]);
  expect(
    exp.absent.filter((id) => rules.has(id)),
    'must not be found',
  ).toEqual([]);
  if (exp.maxSeverity) {
    const over = report.findings.filter((f) => RANK.indexOf(f.severity) > RANK.indexOf(exp.maxSeverity!));
    expect(
      over.map((f) => `${f.rule} (${f.severity})`),
      `above ${exp.maxSeverity}`,
    ).toEqual([]);
  }
}

describe('lab captures', () => {
  it('are all there (15 scenarios)', () => {
    expect(scenarios.length).toBeGreaterThanOrEqual(15);
  });

  it.each(scenarios)('%s', (name) => {
    const exp = JSON.parse(readFileSync(join(LAB, name, 'expect.json'), 'utf8')) as Expect;
    expect(RANK.concat([undefined as unknown as string])).toContain(exp.maxSeverity);
    // a scenario that expects nothing in particular must cap what it may give
    if (exp.present.length === 0) expect(exp.maxSeverity, `${name}: "present": [] needs a "maxSeverity"`).toBeDefined();
    const files = exp.files.map((f) => join(LAB, name, f));
    expect(
      files.filter((f) => !existsSync(f)),
      'capture files listed in expect.json but missing',
    ).toEqual([]);
    checkFindings(scan(files), exp);
    // the live `xl dmesg` from inside dom0, on its own (as run.sh does): nothing it must not give
    if (name === 'toolstack') checkFindings(scan([join(LAB, name, 'xl-dmesg.txt')]), exp, true);
  });
});
