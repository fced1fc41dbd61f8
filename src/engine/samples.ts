/**
 * Sample files (samples/<id>.log, fail2ban style): parse the annotated cases and check each against
 * the catalogue — missing or extra findings, rules without positive or negative cases, patterns
 * that no case exercises.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Rule } from './catalogue.js';
import { Engine } from './engine.js';
import { analyseStream } from '../scan.js';
import type { TimeContext } from '../parse/time.js';
import type { Finding, LogEvent } from '../types.js';

export interface Expectation {
  rule: string;
  captures: Record<string, string>;
}

export interface SampleCase {
  file: string;
  /** Line of the first "# expect:" of the case. */
  line: number;
  expect: Expectation[];
  lines: string[];
}

export interface SampleProblem {
  file: string;
  line: number | null;
  message: string;
}

/** Fixed clock of the sample suite, for year-less stamps. */
export const SAMPLE_NOW = Date.UTC(2026, 10, 26, 12, 0, 0);

/** Parse a sample file into cases; malformed annotations are problems. */
export function parseSampleFile(file: string, text: string, problems: SampleProblem[]): SampleCase[] {
  const cases: SampleCase[] = [];
  let cur: SampleCase | null = null;
  let expectRun = false;
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    const m = /^#\s*expect:\s*(.*)$/.exec(line);
    if (m) {
      if (!cur || !expectRun) {
        cur = { file, line: i + 1, expect: [], lines: [] };
        cases.push(cur);
      }
      expectRun = true;
      const body = m[1]!.trim();
      if (body === 'none') return;
      const e = /^([a-z0-9-]+)\s*(\{.*\})?\s*$/.exec(body);
      if (!e) {
        problems.push({ file, line: i + 1, message: `cannot read expectation "${body}"` });
        return;
      }
      let captures: Record<string, string> = {};
      if (e[2]) {
        try {
          captures = JSON.parse(e[2]) as Record<string, string>;
        } catch {
          problems.push({ file, line: i + 1, message: `expectation JSON is invalid: ${e[2]}` });
        }
      }
      cur.expect.push({ rule: e[1]!, captures });
      return;
    }
    if (line.startsWith('#')) return;
    expectRun = false;
    if (line.trim() === '') return;
    if (!cur) {
      problems.push({ file, line: i + 1, message: 'log line before the first "# expect:"' });
      return;
    }
    cur.lines.push(line);
  });
  return cases;
}

async function* bytesOf(lines: string[]): AsyncGenerator<Buffer> {
  yield Buffer.from(lines.join('\n') + '\n', 'utf8');
}

/**
 * Run one case through the real pipeline (prefilter included) and return its findings. With
 * `everyLine`, the prefilter is bypassed: the simple path every line takes through every rule.
 */
export async function runCase(rules: Rule[], c: SampleCase, everyLine = false): Promise<{ findings: Finding[]; patternHits: Set<string> }> {
  const engine = new Engine(rules, { everyLine });
  const ctx: TimeContext = { zone: 'UTC', year: null, reference: SAMPLE_NOW };
  const patternHits = new Set<string>();
  const onEvent = (ev: LogEvent) => {
    for (const r of rules) r.patterns.forEach((re, i) => re.test(ev.message) && patternHits.add(`${r.id}#${i}`));
  };
  await analyseStream(engine, bytesOf(c.lines), ctx, c.file, null, { onEvent });
  return { findings: engine.findings(), patternHits };
}

function matches(f: Finding, e: Expectation): boolean {
  if (f.rule !== e.rule) return false;
  const values = { ...f.key, ...capturesOf(f) };
  return Object.entries(e.captures).every(([k, v]) => values[k] === String(v));
}

/** Captures of a finding, as far as they can be seen from its key and fix inputs. */
function capturesOf(f: Finding): Record<string, string> {
  return (f as Finding & { captures?: Record<string, string> }).captures ?? {};
}

export interface SampleReport {
  cases: number;
  passed: number;
  problems: SampleProblem[];
}

/**
 * Check every rule against samples/<id>.log in `samplesDir`: each case's findings exactly as
 * expected, every rule with a positive and a negative case, every pattern exercised.
 */
export async function testSamples(rules: Rule[], samplesDir: string, only?: Set<string>): Promise<SampleReport> {
  const report: SampleReport = { cases: 0, passed: 0, problems: [] };
  const hitsByRule = new Map<string, Set<string>>();
  for (const rule of rules) {
    if (only && !only.has(rule.id)) continue;
    const file = join(samplesDir, `${rule.id}.log`);
    if (!existsSync(file)) {
      report.problems.push({ file, line: null, message: `rule ${rule.id} has no sample file` });
      continue;
    }
    const cases = parseSampleFile(file, readFileSync(file, 'utf8'), report.problems);
    if (!cases.some((c) => c.expect.some((e) => e.rule === rule.id)))
      report.problems.push({ file, line: null, message: `no positive case for ${rule.id}` });
    if (!cases.some((c) => c.expect.length === 0))
      report.problems.push({ file, line: null, message: 'no near-miss case (# expect: none)' });
    const hits = new Set<string>();
    hitsByRule.set(rule.id, hits);
    for (const c of cases) {
      report.cases++;
      if (c.lines.length === 0) {
        report.problems.push({ file, line: c.line, message: 'case has no log lines' });
        continue;
      }
      const { findings, patternHits } = await runCase(rules, c);
      if (c.expect.some((e) => e.rule === rule.id)) for (const h of patternHits) if (h.startsWith(`${rule.id}#`)) hits.add(h);
      const left = [...findings];
      const missing: Expectation[] = [];
      for (const e of c.expect) {
        const i = left.findIndex((f) => matches(f, e));
        if (i >= 0) left.splice(i, 1);
        else missing.push(e);
      }
      if (missing.length === 0 && left.length === 0) {
        report.passed++;
        continue;
      }
      const got = findings.map((f) => `${f.rule} ${JSON.stringify({ ...f.key, ...capturesOf(f) })}`).join('; ') || 'none';
      const parts = [];
      if (missing.length) parts.push(`missing ${missing.map((e) => `${e.rule} ${JSON.stringify(e.captures)}`).join('; ')}`);
      if (left.length) parts.push(`extra ${left.map((f) => `${f.rule} ${JSON.stringify(f.key)}`).join('; ')}`);
      report.problems.push({ file, line: c.line, message: `${parts.join(', ')} (got: ${got})` });
    }
  }
  for (const rule of rules) {
    const hits = hitsByRule.get(rule.id);
    if (!hits) continue;
    rule.patterns.forEach((_, i) => {
      if (!hits.has(`${rule.id}#${i}`)) {
        report.problems.push({
          file: rule.file,
          line: null,
          message: `patterns[${i}] is matched by no positive sample: ${rule.spec.patterns[i]}`,
        });
      }
    });
  }
  return report;
}
