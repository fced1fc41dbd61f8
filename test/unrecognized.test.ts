/**
 * Unrecognised messages through the real CLI: a healthy day of syslog gives almost nothing, an
 * injected novel burst is reported once with its count, and a baseline turns new and bursting
 * templates into findings.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, json, tmp, xd } from './helpers.js';
import type { ScanReport } from '../src/types.js';

const HEALTHY = join(ROOT, 'test', 'fixtures', 'unrecognized', 'healthy');
const SYSLOG = join(HEALTHY, 'syslog');

function scan(args: string[]): { code: number; report: ScanReport; stdout: string; stderr: string } {
  const r = xd(['--format', 'json', '--year', '2026', ...args]);
  return { code: r.code, report: JSON.parse(r.stdout) as ScanReport, stdout: r.stdout, stderr: r.stderr };
}

/** The healthy day with extra lines merged in by time (all stamps are "Nov DD HH:MM:SS"). */
function inject(extra: string[]): string {
  const lines = readFileSync(SYSLOG, 'utf8').trimEnd().split('\n').concat(extra);
  const stamp = (l: string) => l.slice(0, 15);
  return lines.sort((a, b) => (stamp(a) < stamp(b) ? -1 : stamp(a) > stamp(b) ? 1 : 0)).join('\n') + '\n';
}

/** 40 SCSI command aborts of a fibre-channel HBA within 13 minutes: a message the catalogue does not know. */
const QLA = Array.from({ length: 40 }, (_, i) => {
  const m = 10 + Math.floor(i / 3);
  const s = (i * 17) % 60;
  const stamp = `Nov 21 02:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
  return `${stamp} xen07 kernel: [${3543000 + i * 30}.${String(i * 7919).padStart(6, '0')}] qla2xxx [0000:05:00.1]-801c:2: Abort command issued nexus=2:0:${(i % 9) + 1} --  1 2002.`;
});

/** 30 deliveries of the cron mail that time out within one hour (once a day is usual). */
const SMTP = Array.from(
  { length: 30 },
  (_, i) =>
    `Nov 21 04:${String(i * 2).padStart(2, '0')}:${String((i * 13) % 60).padStart(2, '0')} xen07 postfix/smtp[${4100 + i}]: connect to mail.example.com[192.0.2.25]:25: Connection timed out`,
);

let dir: string;
beforeAll(() => {
  dir = tmp('xd-unrec-');
  writeFileSync(join(dir, 'burst.log'), inject(QLA));
  writeFileSync(join(dir, 'later.log'), inject([...QLA, ...SMTP]));
});

describe('unrecognised messages on a healthy day', () => {
  it('a healthy day of syslog (and an xl log with libxl debug lines) gives at most a handful of templates and no finding', () => {
    const { code, report } = scan([HEALTHY]);
    expect(code).toBe(0);
    expect(report.findings).toEqual([]);
    expect(report.unrecognized.length, report.unrecognized.map((u) => u.template).join('\n')).toBeLessThanOrEqual(5);
    // the day's usual chatter is known to be benign
    const all = report.unrecognized.map((u) => u.template).join('\n');
    for (const benign of ['sshd', 'Failed password', 'SMART', 'Cannot change IRQ', 'ia_addr', 'brctl delif', 'libxl: debug', 'qmp_open']) {
      expect(all).not.toContain(benign);
    }
  });

  it('the fixture is a realistic day: thousands of lines, many of them with words of trouble', () => {
    const text = readFileSync(SYSLOG, 'utf8');
    expect(text.split('\n').length).toBeGreaterThan(2000);
    expect(text.match(/error|fail|warning|cannot|timed out/gi)!.length).toBeGreaterThan(300);
  });
});

describe('a novel error burst injected into the healthy day', () => {
  it('is reported once, with its count, an example and its time span', () => {
    const { report } = scan([join(dir, 'burst.log')]);
    const qla = report.unrecognized.filter((u) => u.template.includes('qla2xxx'));
    expect(qla).toHaveLength(1);
    expect(qla[0]).toMatchObject({ count: 40, first: '2026-11-21T02:10:00Z', last: '2026-11-21T02:23:03Z' });
    expect(qla[0]!.template).toBe('qla2xxx [<pci>]-801c:<*>: Abort command issued nexus=<*>:<*>:<*> -- <*> <*>.');
    expect(qla[0]!.example).toContain('Abort command issued nexus=2:0:1');
    // the most frequent first
    expect(report.unrecognized[0]!.template).toContain('qla2xxx');
    expect(report.unrecognized.length).toBeLessThanOrEqual(6);
  });

  it('shows in the text report as one line with its count', () => {
    const r = xd(['--year', '2026', join(dir, 'burst.log')]);
    expect(r.stdout).toMatch(/== UNRECOGNISED \(\d\) ==/);
    expect(r.stdout.match(/qla2xxx \[<pci>\]/g)).toHaveLength(1);
    expect(r.stdout).toMatch(/ {3}40× {2}qla2xxx \[<pci>\]-801c:<\*>: Abort command issued/);
  });

  it('shows in the timeline and in the cron report (text and e-mail) too', () => {
    const t = xd(['timeline', '--year', '2026', join(dir, 'burst.log')]);
    expect(t.stdout).toMatch(/ {3}40× {2}qla2xxx \[<pci>\]-801c:<\*>: Abort command issued/);
    // report prints only when there is a finding: one blkback line beside the burst
    const log = join(tmp('xd-unrec-report-'), 'kern.log');
    const blk = 'Nov 21 02:30:00 xen07 kernel: [1.0] INFO: task blkback.111.xvda:2162 blocked for more than 120 seconds.';
    writeFileSync(log, `${readFileSync(join(dir, 'burst.log'), 'utf8')}${blk}\n`);
    const state = join(log, '..', 'state.json');
    const r = xd(['report', '--state', state, '--dry-run', log]);
    expect(r.stdout).toMatch(/== UNRECOGNISED \(\d\) ==/);
    expect(r.stdout).toMatch(/ {3}40× {2}qla2xxx/);
    const mail = xd(['report', '--state', state, '--dry-run', '--format', 'email', log]);
    expect(mail.stdout).toMatch(/UNRECOGNISED \(\d\)<\/h2>/);
  });

  it('--no-unrecognized leaves the section out', () => {
    const { report } = scan(['--no-unrecognized', join(dir, 'burst.log')]);
    expect(report.unrecognized).toEqual([]);
  });

  it('each template gets its closest knowledge-base entries when they share specific words', () => {
    const log = join(dir, 'disk.log');
    writeFileSync(
      log,
      [
        'Nov 21 03:12:09 xen07 smartd[701]: Device: /dev/sdb [SAT], 8 Currently unreadable (pending) sectors',
        'Nov 21 03:42:09 xen07 smartd[701]: Device: /dev/sdb [SAT], 16 Currently unreadable (pending) sectors',
      ].join('\n') + '\n',
    );
    const { report } = scan([log]);
    expect(report.unrecognized).toHaveLength(1);
    expect(report.unrecognized[0]).toMatchObject({ count: 2, template: 'Device: <dev> [SAT], <*> Currently unreadable (pending) sectors' });
    expect(report.unrecognized[0]!.related).toContain('block-io-error');
    // the healthy day's leftovers (mail, DNS) are related to nothing in a Xen knowledge base
    for (const u of scan([HEALTHY]).report.unrecognized) expect(u.related).toEqual([]);
  });
});

describe('baseline learn + scan --baseline', () => {
  let state: string;
  beforeAll(() => {
    state = join(dir, 'state', 'baseline.json');
    const r = xd(['baseline', 'learn', '--year', '2026', HEALTHY, '--state', state]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^learnt .*baseline\.json: \d message templates? from \d+ lines \(24\.\d h, 2026-11-20T06:25:01Z → /);
  });

  it('records the templates and their hourly rates', () => {
    const b = JSON.parse(readFileSync(state, 'utf8')) as {
      kind: string;
      hours: number;
      templates: { template: string; count: number; rate: number; peak: number }[];
    };
    expect(b.kind).toBe('baseline');
    expect(b.hours).toBeGreaterThan(24);
    const smtp = b.templates.find((t) => t.template.startsWith('connect to mail.example.com'))!;
    expect(smtp).toMatchObject({ count: 1, peak: 1 });
    expect(smtp.rate).toBeCloseTo(1 / b.hours, 3);
    const shown = xd(['baseline', 'show', '--state', state]);
    expect(shown.stdout).toContain('connect to mail.example.com[<ip>]:<*>: Connection timed out');
  });

  it('the healthy day against its own baseline flags nothing', () => {
    const { code, report } = scan(['--baseline', state, HEALTHY]);
    expect(code).toBe(0);
    expect(report.findings).toEqual([]);
  });

  it('flags a template never seen before and a template whose rate jumps, as warning findings', () => {
    const { code, report } = scan(['--baseline', state, join(dir, 'later.log')]);
    expect(code).toBe(1);
    expect(report.summary).toMatchObject({ warning: 2, error: 0, critical: 0 });
    const novel = report.findings.filter((f) => f.rule === 'unrecognized-novel');
    const burst = report.findings.filter((f) => f.rule === 'unrecognized-burst');
    expect(novel).toHaveLength(1);
    expect(burst).toHaveLength(1);
    expect(novel[0]).toMatchObject({ severity: 'warning', host: 'xen07', count: 40, first: '2026-11-21T02:10:00Z' });
    expect(novel[0]!.title).toContain('qla2xxx');
    expect(novel[0]!.evidence[0]!.text).toContain('qla2xxx [0000:05:00.1]-801c:2: Abort command issued');
    expect(novel[0]!.evidence[0]!.line).toBeGreaterThan(1);
    expect(novel[0]!.fix[0]).toMatch(/^Look the message up in the knowledge base: xendoctor explain 'qla2xxx/);
    expect(burst[0]).toMatchObject({ severity: 'warning', count: 31 });
    expect(burst[0]!.title).toMatch(/^Burst of a known message: 30 in one hour/);
    expect(burst[0]!.diagnosis).toContain('2026-11-21T04:00:00Z');
    expect(burst[0]!.evidence.at(-1)!.text).toContain('Nov 21 04:58:');
    expect(burst[0]!.fix.some((s) => s.includes('xendoctor explain'))).toBe(true);
    // stable ids: the same input gives the same fingerprints
    const again = scan(['--baseline', state, join(dir, 'later.log')]).report;
    expect(again.findings.map((f) => f.id).sort()).toEqual(report.findings.map((f) => f.id).sort());
    expect(new Set(report.findings.map((f) => f.id)).size).toBe(2);
  });

  it('a quiet repeat of a known message is no burst; --merge learns the new kind', () => {
    const merged = join(dir, 'state', 'merged.json');
    writeFileSync(merged, readFileSync(state));
    const r = xd(['baseline', 'learn', '--year', '2026', join(dir, 'burst.log'), '--state', merged, '--merge']);
    expect(r.stdout).toMatch(/^merged into /);
    const { report } = scan(['--baseline', merged, join(dir, 'burst.log')]);
    expect(report.findings).toEqual([]);
  });

  it('a missing or foreign baseline file is a usage error', () => {
    expect(xd(['--baseline', join(dir, 'nope.json'), SYSLOG]).code).toBe(3);
    writeFileSync(join(dir, 'foreign.json'), '{"hello": 1}');
    const r = xd(['--baseline', join(dir, 'foreign.json'), SYSLOG]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('is not a xendoctor baseline');
    // JSON's null once gave "Cannot read properties of null (reading 'kind')"
    writeFileSync(join(dir, 'null.json'), 'null');
    const n = xd(['--baseline', join(dir, 'null.json'), SYSLOG]);
    expect(n.code).toBe(3);
    expect(n.stderr).toContain(`${join(dir, 'null.json')} is not a xendoctor baseline`);
  });
});

describe('timeline and report', () => {
  it('timeline fills unrecognized[] and flags against a baseline', () => {
    const state = join(dir, 'tl-baseline.json');
    expect(xd(['baseline', 'learn', '--year', '2026', HEALTHY, '--state', state]).code).toBe(0);
    const r = xd(['timeline', '--format', 'json', '--year', '2026', '--baseline', state, join(dir, 'later.log')]);
    const out = JSON.parse(r.stdout) as ScanReport;
    expect(out.unrecognized.find((u) => u.template.includes('qla2xxx'))).toMatchObject({ count: 40 });
    expect(out.findings.map((f) => f.rule).sort()).toEqual(['unrecognized-burst', 'unrecognized-novel']);
  });

  it('report (cron mode) fills unrecognized[] with what is new, and flags against a baseline once', () => {
    const state = join(dir, 'rp-baseline.json');
    expect(xd(['baseline', 'learn', '--year', '2026', HEALTHY, '--state', state]).code).toBe(0);
    const log = join(dir, 'cron.log');
    writeFileSync(log, readFileSync(join(dir, 'later.log')));
    const args = ['report', '--year', '2026', '--state', join(dir, 'cron-state', 'state.json'), '--baseline', state, log];
    const first = xd([...args, '--format', 'json']);
    const out = JSON.parse(first.stdout) as ScanReport;
    expect(out.unrecognized.find((u) => u.template.includes('qla2xxx'))).toMatchObject({ count: 40 });
    expect(out.findings.map((f) => f.rule).sort()).toEqual(['unrecognized-burst', 'unrecognized-novel']);
    const second = xd(args);
    expect(second.code).toBe(0);
    expect(second.stdout).toBe('');
  });
});

describe('the JSON of unrecognized[]', () => {
  it('has exactly the fields of docs/report-format.md', () => {
    const { report } = scan([join(dir, 'burst.log')]);
    for (const u of report.unrecognized)
      expect(Object.keys(u).sort()).toEqual(['count', 'example', 'first', 'last', 'related', 'template']);
    // the summary counts the findings (the unrecognised ones among them) by severity
    const samples = ['blkback-hung-task.log', 'xen-boot-scrub.log'].map((f) => join(ROOT, 'samples', f));
    const r = json(xd(['--format', 'json', '--year', '2026', join(dir, 'burst.log'), ...samples]));
    const bySeverity = { critical: 0, error: 0, warning: 0, info: 0 } as Record<string, number>;
    for (const f of r.findings) bySeverity[f.severity]!++;
    expect(Object.values(bySeverity).filter((n) => n > 0).length).toBeGreaterThan(1);
    expect(r.summary).toEqual(bySeverity);
  });
});
