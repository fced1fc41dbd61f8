/**
 * The catalogue against real log excerpts it was not written against: public bug reports, mailing
 * lists and forum posts, in the formats operators actually paste (RFC 3164 syslog, RFC 5424, rsyslog
 * RFC 3339, kernel [uptime] and <N> priorities, dmesg -T, the Xen console with and without stamps,
 * xend.log, libxl/xl output, journalctl short-iso and -o json, plain command output).
 *
 * Every fixture in test/fixtures/realworld/ starts with comment lines:
 *   # source: <where the excerpt comes from>
 *   # expect: rule-id, rule-id        every listed rule must be found (extra findings are allowed)
 *   # expect: none-above-info         a healthy log: no finding at warning or above
 *   # expect-not: rule-id, rule-id    these rules must not be found (near misses)
 *   # known-issue: <text>             a miss that is not the catalogue's to fix (a parser or engine
 *                                      limitation, reported); the run must still succeed and the
 *                                      verdict be wrong in exactly that way (an expected rule missing, a
 *                                      forbidden one found); once fixed, the test says to remove it
 * Comment lines are stripped before the log is piped into `xendoctor scan --format json`.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN, json, ROOT, xd, type Run } from './helpers.js';
import { assertDocument } from './output-schemas.js';

const DIR = join(ROOT, 'test', 'fixtures', 'realworld');
const ABOVE_INFO = new Set(['warning', 'error', 'critical']);

interface Fixture {
  name: string;
  source: string;
  expect: string[];
  healthy: boolean;
  expectNot: string[];
  knownIssue: string | null;
  log: string;
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function load(name: string): Fixture {
  const text = readFileSync(join(DIR, name), 'utf8');
  const f: Fixture = { name, source: '', expect: [], healthy: false, expectNot: [], knownIssue: null, log: '' };
  const lines: string[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('#')) {
      lines.push(line);
      continue;
    }
    const m = /^#\s*(source|expect|expect-not|known-issue):\s*(.*)$/.exec(line);
    if (!m) continue;
    const [, field, value] = m as unknown as [string, string, string];
    if (field === 'source') f.source ||= value;
    else if (field === 'known-issue') f.knownIssue = value;
    else if (field === 'expect-not') f.expectNot.push(...list(value));
    else
      for (const id of list(value)) {
        if (id === 'none-above-info') f.healthy = true;
        else f.expect.push(id);
      }
  }
  f.log = lines.join('\n');
  return f;
}

const fixtures = readdirSync(DIR)
  .filter((n) => n.endsWith('.log'))
  .sort()
  .map(load);

describe('real-world fixtures', () => {
  it('are all well-formed: a source, and something to check', () => {
    const bad = fixtures.filter((f) => f.source === '' || (f.expect.length === 0 && !f.healthy && f.expectNot.length === 0));
    expect(bad.map((f) => f.name)).toEqual([]);
  });

  it('name only rules of the catalogue', () => {
    const ids = new Set(
      xd(['rules', 'list'])
        .stdout.split('\n')
        .map((l) => l.split(/\s+/)[0])
        .filter(Boolean),
    );
    const unknown = fixtures.flatMap((f) => [...f.expect, ...f.expectNot].filter((id) => !ids.has(id)).map((id) => `${f.name}: ${id}`));
    expect(unknown).toEqual([]);
  });
});

/** Run the real CLI on one log, piped, asynchronously (the fixtures are many; they run a few at a time). */
function scan(log: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'scan', '--format', 'json', '--no-color'], {
      env: { ...process.env, TZ: 'UTC', NO_COLOR: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => {
      if (code !== null && code <= 2) assertDocument('scan', JSON.parse(stdout));
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(log + '\n');
  });
}

const runs = new Map<string, Run>();
// A wall-time bound for all the runs that holds on a loaded 2-core machine: each of the ~190 scans takes
// about 0.3 s alone, and beside two busy loops and other work (load 17) a fixed 300 s was not enough
// (every test of the file then counts as skipped). 10 s a fixture is 30 times the quiet pace.
const ALL_RUNS_BUDGET = Math.max(300_000, fixtures.length * 10_000);
beforeAll(async () => {
  const queue = [...fixtures];
  const worker = async (): Promise<void> => {
    for (let f = queue.shift(); f; f = queue.shift()) runs.set(f.name, await scan(f.log));
  };
  await Promise.all(Array.from({ length: 6 }, worker));
}, ALL_RUNS_BUDGET);

describe.each(fixtures.map((f) => [f.name, f] as const))('%s', (_name, f) => {
  // A known issue is a wrong verdict on a run that is otherwise sound: the run must still succeed and
  // the mismatch must be exactly an expected rule missing or a forbidden one found (not a crash).
  it(f.knownIssue ? `still has its known issue: ${f.knownIssue}` : 'gives the expected findings', () => {
    const r = runs.get(f.name)!;
    expect(r.stderr).toBe('');
    expect([0, 1, 2]).toContain(r.code);
    const findings = json(r).findings;
    const got = new Set(findings.map((x) => x.rule));
    const missing = f.expect.filter((id) => !got.has(id));
    const forbidden = f.expectNot.filter((id) => got.has(id));
    const loud = f.healthy ? findings.filter((x) => ABOVE_INFO.has(x.severity)).map((x) => `${x.rule} (${x.severity})`) : [];
    if (f.knownIssue) {
      expect(
        [...missing, ...forbidden, ...loud],
        'the known issue is fixed: remove the "# known-issue:" marker from the fixture',
      ).not.toEqual([]);
      return;
    }
    expect(missing, `missing; found: ${[...got].join(', ') || 'nothing'}`).toEqual([]);
    expect(forbidden, 'found although it must not be').toEqual([]);
    expect(loud, 'a healthy log gave findings at warning or above').toEqual([]);
  });
});
