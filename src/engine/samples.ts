/**
 * Sample files (samples/<id>.log, fail2ban style): parse the annotated cases and check each against
 * the catalogue — missing or extra findings, rules without positive or negative cases, patterns
 * that no case exercises.
 */
import { existsSync } from 'node:fs';
import { readRegularFile } from '../sources/safe-read.js';
import { join } from 'node:path';
import type { Rule } from './catalogue.js';
import { Engine } from './engine.js';
import { analyseStream } from '../pipeline/scan-inputs.js';
import type { TimeContext } from '../parse/time.js';
import type { Finding, LogEvent } from '../types.js';

/** Largest sample file read. */
const MAX_SAMPLE_BYTES = 16 * 1024 * 1024;

export interface Expectation {
  rule: string;
  captures: Record<string, string>;
  /** The finding's count when the case states it ("# expect: rule {...} count 2"). */
  count: number | null;
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
      const e = /^([a-z0-9-]+)\s*(\{.*\})?\s*(?:count\s+(\d+))?\s*$/.exec(body);
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
      cur.expect.push({ rule: e[1]!, captures, count: e[3] ? Number(e[3]) : null });
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
  if (f.rule !== e.rule || (e.count !== null && f.count !== e.count)) return false;
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

/** A case's expectations against the findings it gave: what is missing, what is extra. */
function compare(c: SampleCase, findings: Finding[]): { missing: Expectation[]; extra: Finding[] } {
  const extra = [...findings];
  const missing: Expectation[] = [];
  for (const e of c.expect) {
    const i = extra.findIndex((f) => matches(f, e));
    if (i >= 0) extra.splice(i, 1);
    else missing.push(e);
  }
  return { missing, extra };
}

/** A regular expression that matches nothing: what a pattern is replaced by to see whether any case needs it. */
const NEVER = /(?!)/;

/**
 * Check every rule against samples/<id>.log in `samplesDir`: each case's findings exactly as
 * expected (and counted as often as a case says), every rule with a positive and a negative case,
 * every pattern matched by a positive case and needed by one: with the pattern replaced by one
 * that never matches, some positive case must fail (else a broken pattern would pass unseen).
 */
export async function testSamples(rules: Rule[], samplesDir: string, only?: Set<string>): Promise<SampleReport> {
  const report: SampleReport = { cases: 0, passed: 0, problems: [] };
  const hitsByRule = new Map<string, Set<string>>();
  /** Positive cases that passed, by rule, with the patterns of that rule matching one of their lines. */
  const passedByRule = new Map<string, { c: SampleCase; hits: Set<string> }[]>();
  for (const rule of rules) {
    if (only && !only.has(rule.id)) continue;
    const file = join(samplesDir, `${rule.id}.log`);
    if (!existsSync(file)) {
      report.problems.push({ file, line: null, message: `rule ${rule.id} has no sample file` });
      continue;
    }
    let text: string;
    try {
      text = readRegularFile(file, { max: MAX_SAMPLE_BYTES });
    } catch (e) {
      report.problems.push({ file, line: null, message: `cannot read the sample file: ${(e as Error).message}` });
      continue;
    }
    const cases = parseSampleFile(file, text, report.problems);
    if (!cases.some((c) => c.expect.some((e) => e.rule === rule.id)))
      report.problems.push({ file, line: null, message: `no positive case for ${rule.id}` });
    if (!cases.some((c) => c.expect.length === 0))
      report.problems.push({ file, line: null, message: 'no near-miss case (# expect: none)' });
    const hits = new Set<string>();
    hitsByRule.set(rule.id, hits);
    const passed: { c: SampleCase; hits: Set<string> }[] = [];
    passedByRule.set(rule.id, passed);
    for (const c of cases) {
      report.cases++;
      if (c.lines.length === 0) {
        report.problems.push({ file, line: c.line, message: 'case has no log lines' });
        continue;
      }
      const { findings, patternHits } = await runCase(rules, c);
      const positive = c.expect.some((e) => e.rule === rule.id);
      if (positive) for (const h of patternHits) if (h.startsWith(`${rule.id}#`)) hits.add(h);
      const { missing, extra } = compare(c, findings);
      if (missing.length === 0 && extra.length === 0) {
        report.passed++;
        if (positive) passed.push({ c, hits: patternHits });
        continue;
      }
      const show = (f: Finding) => `${f.rule} ${JSON.stringify({ ...f.key, ...capturesOf(f) })}${f.count > 1 ? ` count ${f.count}` : ''}`;
      const got = findings.map(show).join('; ') || 'none';
      const parts = [];
      if (missing.length)
        parts.push(
          `missing ${missing.map((e) => `${e.rule} ${JSON.stringify(e.captures)}${e.count !== null ? ` count ${e.count}` : ''}`).join('; ')}`,
        );
      if (extra.length) parts.push(`extra ${extra.map((f) => `${f.rule} ${JSON.stringify(f.key)}`).join('; ')}`);
      report.problems.push({ file, line: c.line, message: `${parts.join(', ')} (got: ${got})` });
    }
  }
  for (const rule of rules) {
    const hits = hitsByRule.get(rule.id);
    if (!hits) continue;
    for (let i = 0; i < rule.patterns.length; i++) {
      const tag = `${rule.id}#${i}`;
      if (!hits.has(tag)) {
        report.problems.push({
          file: rule.file,
          line: null,
          message: `patterns[${i}] is matched by no positive sample: ${rule.spec.patterns[i]}`,
        });
        continue;
      }
      // the same cases with this pattern never matching: one of them must notice
      const mutant: Rule = { ...rule, patterns: rule.patterns.map((re, j) => (j === i ? NEVER : re)) };
      const mutated = rules.map((r) => (r === rule ? mutant : r));
      let noticed = false;
      for (const { c } of (passedByRule.get(rule.id) ?? []).filter((p) => p.hits.has(tag))) {
        const { missing, extra } = compare(c, (await runCase(mutated, c)).findings);
        if (missing.length > 0 || extra.length > 0) {
          noticed = true;
          break;
        }
      }
      if (!noticed)
        report.problems.push({
          file: rule.file,
          line: null,
          message: `patterns[${i}] is needed by no positive sample (replaced by a pattern that never matches, every case still passes): ${rule.spec.patterns[i]}`,
        });
    }
  }
  return report;
}
