/**
 * Case files of the configuration rules (rules/config/cases/<id>.txt), the counterpart of the log
 * samples (src/engine/samples.ts): each case is a small host written inline — the files under its
 * root and the captures of `xl info`, `xl list` and `df` — and the findings `xendoctor check` must
 * give on it, exactly (missing and extra findings both fail).
 *
 *     # source: where the files come from
 *     # expect: config-dom0-mem-no-max {"where":"/etc/default/grub"} severity warning
 *     /etc/default/grub:
 *     | GRUB_CMDLINE_XEN="dom0_mem=8192M"
 *     xl info:
 *     | total_memory           : 393203
 *
 * A case starts at its "# expect:" lines ("# expect: none" for a near miss; `{…}` is matched
 * against the finding's key, `severity` and `count` when given). A file is its path followed by
 * ":", then its lines, each written after "| " ("|" alone for an empty line); "PATH -> TARGET" is a
 * symbolic link, "PATH/:" an empty folder. Every case's host has /etc/xen (a sign of Xen); nothing
 * else is there unless the case writes it, and checks without their files are skipped.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { readRegularFile } from '../sources/safe-read.js';
import { SEVERITIES, type Finding, type Severity } from '../types.js';
import { configRulesDir, type ConfigRule } from './config-rules.js';
import { runChecks } from './index.js';

/** Folder of the bundled case files: beside the rules (samples/ is read as logs by `xendoctor samples/`). */
export function configCasesDir(): string {
  return join(configRulesDir(), 'cases');
}

/** Largest case file read. */
const MAX_CASE_BYTES = 4 * 1024 * 1024;

/** The captures a case can give, by their name in the case file, and the option that feeds them. */
const CAPTURES = { 'xl info': 'xlInfoFile', 'xl list': 'xlListFile', df: 'dfFile' } as const;
type CaptureName = keyof typeof CAPTURES;

export interface CaseExpectation {
  rule: string;
  key: Record<string, string>;
  severity: Severity | null;
  count: number | null;
}

/** One entry of a case's host: a file (text), a symbolic link (target) or a folder. */
export type HostEntry = { kind: 'file'; text: string } | { kind: 'link'; target: string } | { kind: 'dir' };

export interface HostCase {
  file: string;
  /** Line of the case's first "# expect:". */
  line: number;
  expect: CaseExpectation[];
  /** Host path (or capture name) → entry, in the order written. */
  host: Map<string, HostEntry>;
}

export interface CaseProblem {
  file: string;
  line: number | null;
  message: string;
}

function parseExpectation(body: string): CaseExpectation | string {
  const m = /^([a-z0-9-]+)\s*(\{.*\})?\s*(?:severity\s+([a-z]+))?\s*(?:count\s+(\d+))?\s*$/.exec(body);
  if (!m) return `cannot read expectation "${body}"`;
  let key: Record<string, string> = {};
  if (m[2]) {
    try {
      key = JSON.parse(m[2]) as Record<string, string>;
    } catch {
      return `expectation JSON is invalid: ${m[2]}`;
    }
  }
  if (m[3] && !(SEVERITIES as readonly string[]).includes(m[3])) return `unknown severity "${m[3]}"`;
  return { rule: m[1]!, key, severity: (m[3] as Severity | undefined) ?? null, count: m[4] ? Number(m[4]) : null };
}

/** Parse a case file into cases; lines that cannot be read are problems. */
export function parseCaseFile(file: string, text: string, problems: CaseProblem[]): HostCase[] {
  const cases: HostCase[] = [];
  let cur: HostCase | null = null;
  let expectRun = false;
  let open: { path: string; lines: string[] } | null = null;
  const close = () => {
    if (open && cur) cur.host.set(open.path, { kind: 'file', text: open.lines.length ? open.lines.join('\n') + '\n' : '' });
    open = null;
  };
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    const problem = (message: string) => problems.push({ file, line: i + 1, message });
    if (line === '|' || line.startsWith('| ')) {
      if (!open) return problem('a file line ("| …") outside a file');
      open.lines.push(line.slice(2));
      return;
    }
    close();
    const m = /^#\s*expect:\s*(.*)$/.exec(line);
    if (m) {
      if (!cur || !expectRun) {
        cur = { file, line: i + 1, expect: [], host: new Map() };
        cases.push(cur);
      }
      expectRun = true;
      const body = m[1]!.trim();
      if (body === 'none') return;
      const e = parseExpectation(body);
      if (typeof e === 'string') problem(e);
      else cur.expect.push(e);
      return;
    }
    if (line.startsWith('#') || line.trim() === '') return;
    expectRun = false;
    if (!cur) return problem('a host file before the first "# expect:"');
    const link = /^(\/\S+)\s+->\s+(\S+)$/.exec(line);
    if (link) return void cur.host.set(link[1]!, { kind: 'link', target: link[2]! });
    const dir = /^(\/\S*)\/:$/.exec(line);
    if (dir) return void cur.host.set(dir[1]!, { kind: 'dir' });
    const head = /^(\/\S+|xl info|xl list|df):$/.exec(line);
    if (!head) return problem(`cannot read "${line}" (a file is "/path:" or "xl info:", "xl list:", "df:", its lines "| …")`);
    if (cur.host.has(head[1]!)) problem(`${head[1]} is written twice in this case`);
    open = { path: head[1]!, lines: [] };
  });
  close();
  return cases;
}

/** Lay a case's host out in a fresh folder, run every check on it, and remove the folder. */
export function runHostCase(c: HostCase): { findings: Finding[]; skipped: string[] } {
  const work = mkdtempSync(join(tmpdir(), 'xd-case-'));
  try {
    const root = join(work, 'root');
    const captures: Partial<Record<(typeof CAPTURES)[CaptureName], string>> = {};
    mkdirSync(join(root, 'etc', 'xen'), { recursive: true });
    for (const [path, entry] of c.host) {
      if (path in CAPTURES) {
        const out = join(work, `${path.replace(' ', '-')}.txt`);
        writeFileSync(out, entry.kind === 'file' ? entry.text : '');
        captures[CAPTURES[path as CaptureName]] = out;
        continue;
      }
      const at = join(root, path);
      if (entry.kind === 'dir') {
        mkdirSync(at, { recursive: true });
        continue;
      }
      mkdirSync(dirname(at), { recursive: true });
      if (entry.kind === 'link') symlinkSync(entry.target, at);
      else writeFileSync(at, entry.text);
    }
    const { report } = runChecks({ root, ...captures });
    return { findings: report.findings, skipped: report.skipped.map((s) => s.check) };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function matches(f: Finding, e: CaseExpectation): boolean {
  if (f.rule !== e.rule || (e.severity !== null && f.severity !== e.severity) || (e.count !== null && f.count !== e.count)) return false;
  return Object.entries(e.key).every(([k, v]) => f.key[k] === String(v));
}

export interface CaseReport {
  cases: number;
  passed: number;
  problems: CaseProblem[];
}

/**
 * Check configuration rules against their case files in `dir` (<id>.txt): each case's findings
 * exactly as expected, and every rule with a positive case and a near miss (a case without it).
 */
export function testConfigCases(rules: Map<string, ConfigRule>, dir = configCasesDir(), only?: Set<string>): CaseReport {
  const report: CaseReport = { cases: 0, passed: 0, problems: [] };
  for (const rule of rules.values()) {
    if (only && !only.has(rule.id)) continue;
    const file = join(dir, `${rule.id}.txt`);
    if (!existsSync(file)) {
      report.problems.push({ file, line: null, message: `configuration rule ${rule.id} has no case file` });
      continue;
    }
    let text: string;
    try {
      text = readRegularFile(file, { max: MAX_CASE_BYTES });
    } catch (e) {
      report.problems.push({ file, line: null, message: `cannot read the case file: ${(e as Error).message}` });
      continue;
    }
    const cases = parseCaseFile(file, text, report.problems);
    if (!cases.some((c) => c.expect.some((e) => e.rule === rule.id)))
      report.problems.push({ file, line: null, message: `no positive case for ${rule.id}` });
    if (!cases.some((c) => !c.expect.some((e) => e.rule === rule.id)))
      report.problems.push({ file, line: null, message: `no near-miss case (one without ${rule.id})` });
    for (const c of cases) {
      report.cases++;
      if (c.host.size === 0) {
        report.problems.push({ file, line: c.line, message: 'case has no host files' });
        continue;
      }
      const { findings, skipped } = runHostCase(c);
      const extra = [...findings];
      const missing: CaseExpectation[] = [];
      for (const e of c.expect) {
        const i = extra.findIndex((f) => matches(f, e));
        if (i >= 0) extra.splice(i, 1);
        else missing.push(e);
      }
      if (missing.length === 0 && extra.length === 0) {
        report.passed++;
        continue;
      }
      const show = (f: Finding) => `${f.rule} ${JSON.stringify(f.key)} severity ${f.severity} count ${f.count}`;
      const parts: string[] = [];
      if (missing.length) parts.push(`missing ${missing.map((e) => `${e.rule} ${JSON.stringify(e.key)}`).join('; ')}`);
      if (extra.length) parts.push(`extra ${extra.map((f) => `${f.rule} ${JSON.stringify(f.key)}`).join('; ')}`);
      const why = skipped.length ? `; skipped: ${skipped.join(', ')}` : '';
      report.problems.push({ file, line: c.line, message: `${parts.join(', ')} (got: ${findings.map(show).join('; ') || 'none'}${why})` });
    }
  }
  return report;
}
