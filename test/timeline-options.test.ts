/**
 * `xendoctor timeline`'s own options through the real binary, on the postmortem archive
 * (test/fixtures/postmortem): --min-severity keeps incidents, host table and shared findings
 * consistent with what it keeps; unreadable --around/--window; nothing readable; formats other
 * than text/JSON/HTML; --no-unrecognized; --fail-on.
 */
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, tmp, xd } from './helpers.js';

interface TReport {
  findings: { id: string; rule: string; severity: string; host: string | null; causedBy: string[] }[];
  unrecognized: unknown[];
  summary: Record<string, number>;
  timeline: {
    incidents: { root: string; findings: string[] }[];
    hosts: { host: string | null; lines: number; boots: number; findings: Record<string, number> }[];
    shared: { rule: string; hosts: string[] }[];
  };
}

const RANK: Record<string, number> = { info: 0, warning: 1, error: 2, critical: 3 };
let archive: string;
let full: TReport;
const timeline = (args: string[]) => xd(['timeline', '--tz', 'UTC', ...args]);
const doc = (args: string[]) => {
  const r = timeline(['--format', 'json', ...args, archive]);
  expect(r.stderr).not.toMatch(/internal error/);
  return JSON.parse(r.stdout) as TReport;
};

beforeAll(() => {
  archive = join(tmp('xd-tl-opts-'), 'archive');
  cpSync(join(ROOT, 'test', 'fixtures', 'postmortem', 'archive'), archive, { recursive: true });
  full = doc([]);
  // the archive has findings of every level: the filters below have something to drop and to keep
  expect(new Set(full.findings.map((f) => f.severity))).toEqual(new Set(['critical', 'error', 'warning', 'info']));
});

describe('timeline --min-severity', () => {
  it('drops the findings below, and the incidents, host counts and shared findings follow', () => {
    const r = doc(['--min-severity', 'error']);
    const kept = full.findings.filter((f) => RANK[f.severity]! >= RANK.error!);
    expect(r.findings.map((f) => f.id).sort()).toEqual(kept.map((f) => f.id).sort());
    expect(r.summary).toMatchObject({ critical: 2, warning: 0, info: 0 });
    const ids = new Set(r.findings.map((f) => f.id));
    expect(r.timeline.incidents.length).toBeGreaterThan(0);
    for (const i of r.timeline.incidents) {
      expect(ids.has(i.root), `incident root ${i.root}`).toBe(true);
      for (const f of i.findings) expect(ids.has(f), `incident finding ${f}`).toBe(true);
    }
    // fewer incidents than before: the ones made only of warnings are gone
    expect(r.timeline.incidents.length).toBeLessThan(full.timeline.incidents.length);
    for (const h of r.timeline.hosts) {
      const before = full.timeline.hosts.find((x) => x.host === h.host)!;
      // what was read about the host stays (lines, boots); its finding counts are the kept ones
      expect({ lines: h.lines, boots: h.boots }).toEqual({ lines: before.lines, boots: before.boots });
      expect(h.findings).toMatchObject({ warning: 0, info: 0 });
      expect(h.findings.error).toBe(kept.filter((f) => f.host === h.host && f.severity === 'error').length);
    }
    const rules = new Set(r.findings.map((f) => f.rule));
    for (const s of r.timeline.shared) expect(rules.has(s.rule), s.rule).toBe(true);
  });

  it('info keeps the whole report', () => {
    expect(doc(['--min-severity', 'info'])).toEqual(full);
  });
});

describe('timeline options it cannot read, and nothing to read', () => {
  it('--around and --window: exit 3 with one message each', () => {
    const around = timeline(['--around', 'yesterday-ish', archive]);
    expect(around.code).toBe(3);
    expect(around.stderr).toMatch(/--around: cannot read "yesterday-ish"/);
    for (const w of ['0', 'soon']) {
      const r = timeline(['--around', '2027-01-01T01:00:00Z', '--window', w, archive]);
      expect(r.code, w).toBe(3);
      expect(r.stderr).toMatch(new RegExp(`--window: cannot read "${w}"`));
      expect(r.stdout).toBe('');
    }
  });

  it('no input readable: exit 3, "no input could be read", nothing on stdout', () => {
    const r = timeline(['--format', 'json', join(archive, 'no-such-file.log')]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('no input could be read');
    expect(r.stdout).toBe('');
  });
});

describe('timeline output', () => {
  it('markdown, NDJSON and nagios go through the shared renderers', () => {
    const md = timeline(['--format', 'markdown', archive]);
    expect(md.stdout).toMatch(/^# xendoctor report\n/);
    expect(md.stdout).toContain('2 critical, 7 errors, 6 warnings, 1 info');
    const nd = timeline(['--format', 'ndjson', archive]);
    const recs = nd.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id?: string });
    expect(
      recs
        .filter((x) => x.id)
        .map((x) => x.id)
        .sort(),
    ).toEqual(full.findings.map((f) => f.id).sort());
    const ng = timeline(['--format', 'nagios', archive]);
    expect(ng.stdout).toMatch(/^XENDOCTOR CRITICAL - 2 critical, 7 errors, 6 warnings, 1 info/);
  });

  it('--no-unrecognized leaves the unrecognised messages out', () => {
    expect(full.unrecognized.length).toBeGreaterThan(0);
    expect(doc(['--no-unrecognized']).unrecognized).toEqual([]);
  });

  it('--fail-on sets the exit code from the worst finding shown', () => {
    expect(timeline(['--format', 'json', archive]).code).toBe(2); // critical findings, --fail-on warning
    expect(timeline(['--format', 'json', '--only', 'xen-boot-scrub', archive]).code).toBe(0); // info only
    expect(timeline(['--format', 'json', '--only', 'iptables-physdev-out', archive]).code).toBe(1); // warnings
    expect(timeline(['--format', 'json', '--only', 'iptables-physdev-out', '--fail-on', 'error', archive]).code).toBe(0);
  });
});
