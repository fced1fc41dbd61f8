/**
 * `xendoctor timeline` on a realistic archive (test/fixtures/postmortem, see its README): rotated
 * sets across a new year, a plain `dmesg` capture and an `xl dmesg` capture without stamps, xend.log,
 * a serial console, a host logging RFC 3339 stamps in +01:00. The known chains must come out as
 * incidents with the right root cause, and the merged order must be right.
 */
import { cpSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { memoryProbe, ROOT, tmp, xd } from './helpers.js';
import { xdAsync } from './report-helpers.js';

interface TFinding {
  id: string;
  rule: string;
  host: string | null;
  first: string | null;
  last: string | null;
  causedBy: string[];
  possiblyRelated?: string[];
  count: number;
}
interface TReport {
  findings: TFinding[];
  inputs: { source: string; lines: number; first: string | null }[];
  timeline: {
    incidents: { root: string; rule: string; host: string | null; findings: string[]; fix: string[] }[];
    marks: { kind: string; time: string | null; end?: string | null; host: string | null; text: string }[];
    hosts: { host: string | null; findings: Record<string, number>; lines: number; boots: number }[];
    shared: { rule: string; hosts: string[] }[];
    hours: { hour: string; host: string | null; lines: number; hits: Record<string, number> }[];
    window: {
      from: string;
      to: string;
      lines: { time: string; host: string | null; source: string; text: string }[];
      omitted: number;
    } | null;
  };
}

/** The archive's files get the modification times they had on the host (git keeps none). */
const MTIMES: Record<string, string> = {
  'xen07/syslog.3.gz': '2026-12-29T06:25:02Z',
  'xen07/syslog.1': '2027-01-01T06:25:02Z',
  'xen07/kern.log.1': '2027-01-01T06:25:02Z',
  'xen07/syslog': '2027-01-01T09:00:00Z',
  'xen07/kern.log': '2027-01-01T09:00:00Z',
  'xen07/dmesg.txt': '2027-01-01T01:35:40Z',
  'xen07/xl-dmesg.txt': '2027-01-01T01:35:40Z',
  'xen07/xend.log': '2027-01-01T01:35:40Z',
  'xen08/console.log': '2027-01-01T01:35:40Z',
  'xen08/kern.log': '2027-01-01T09:00:00Z',
  'xen09/messages': '2027-01-01T09:00:00Z',
  'xen09/xl-dmesg.txt': '2027-01-01T01:35:40Z',
};

let archive: string;
let report: TReport;
const ms = (iso: string | null) => Date.parse(iso!);
const find = (r: TReport, rule: string, host: string) => r.findings.find((f) => f.rule === rule && f.host === host)!;

function run(args: string[]): TReport {
  const r = xd(['timeline', '--tz', 'UTC', '--format', 'json', ...args]);
  expect(r.stderr).not.toMatch(/internal error/);
  return JSON.parse(r.stdout) as TReport;
}

beforeAll(() => {
  archive = join(tmp('xd-timeline-'), 'archive');
  cpSync(join(ROOT, 'test', 'fixtures', 'postmortem', 'archive'), archive, { recursive: true });
  for (const [f, t] of Object.entries(MTIMES)) utimesSync(join(archive, f), new Date(t), new Date(t));
  report = run([archive]);
});

describe('timeline: incidents and root causes', () => {
  it('leads the xen07 outage with its root cause: guest images saved at shutdown filled the disk', () => {
    const inc = report.timeline.incidents.find((i) => i.host === 'xen07' && i.findings.length > 3)!;
    expect(inc.rule).toBe('xendomains-save-on-shutdown');
    const rules = inc.findings.map((id) => report.findings.find((f) => f.id === id)!.rule);
    expect(rules).toEqual(expect.arrayContaining(['disk-full', 'xend-not-running']));
    // the notes' "erratic networking on a full disk" is untested: possibly related, not in the chain;
    // a physical NIC's watchdog timeout is not blamed on the disk at all (issue 16 item 7)
    expect(rules).not.toContain('netback-fatal-error');
    expect(rules).not.toContain('netdev-watchdog-timeout');
    expect(inc.fix.join('\n')).toMatch(/XENDOMAINS_SAVE/);
    const disk = report.findings.filter((f) => f.rule === 'disk-full' && f.host === 'xen07').map((f) => f.id);
    expect(find(report, 'xend-not-running', 'xen07').causedBy.some((id) => disk.includes(id))).toBe(true);
    const netback = find(report, 'netback-fatal-error', 'xen07');
    expect(netback.causedBy).toEqual([]);
    expect(netback.possiblyRelated?.some((id) => disk.includes(id))).toBe(true);
  });

  it('links dom0-ballooning-disabled to the missing dom0_mem, which only the undated xl dmesg shows', () => {
    const capped = find(report, 'dom0-memory-not-capped', 'xen07');
    expect(find(report, 'dom0-ballooning-disabled', 'xen07').causedBy).toContain(capped.id);
  });

  it('finds the boot chain of xen08 in its undated serial console (host from the folder name)', () => {
    const inc = report.timeline.incidents.find((i) => i.host === 'xen08')!;
    expect(inc.rule).toBe('dom0-memory-not-capped');
    const rules = inc.findings.map((id) => report.findings.find((f) => f.id === id)!.rule);
    expect(rules).toEqual(['dom0-memory-not-capped', 'dom0-boot-out-of-memory', 'root-device-timeout']);
    expect(report.timeline.marks.some((m) => m.kind === 'undated' && m.host === 'xen08' && /console\.log/.test(m.text))).toBe(true);
  });

  it('prints the root cause first, with its fix, then the chronology', () => {
    const r = xd(['timeline', '--tz', 'UTC', archive]);
    expect(r.code).toBe(2);
    const roots = r.stdout.indexOf('== ROOT CAUSES');
    const chrono = r.stdout.indexOf('== TIMELINE');
    expect(roots).toBeGreaterThan(0);
    expect(chrono).toBeGreaterThan(roots);
    const block = r.stdout.slice(roots, chrono);
    expect(block).toMatch(/xendomains saves guest memory images[\s\S]*[├└]─ [^\n]*disk-full[\s\S]*[├└]─ [^\n]*xend-not-running/);
    expect(block).toMatch(/fix the root cause first:\n\s+1\. Disable saving at shutdown/);
    expect(r.stdout).toMatch(/◆ BOOT\s+xen07\s+dom0 booted \(Linux 3\.2\.0-4-amd64\)/);
  });
});

describe('timeline: clocks', () => {
  it('dates the uptime-only dmesg capture by the boot that kern.log anchors (within the second)', () => {
    // boot at 2027-01-01T00:03:02.480Z; the netback error at uptime 1137.402218 is only in dmesg.txt
    const nb = find(report, 'netback-fatal-error', 'xen07');
    expect(Math.abs(ms(nb.first) - Date.parse('2027-01-01T00:21:59.882Z'))).toBeLessThan(1000);
    const boot = report.timeline.marks.find((m) => m.kind === 'boot' && m.host === 'xen07')!;
    expect(Math.abs(ms(boot.time) - Date.parse('2027-01-01T00:03:02.480Z'))).toBeLessThan(1000);
  });

  it('places the undated Xen console at the dom0 boot that follows it', () => {
    const capped = find(report, 'dom0-memory-not-capped', 'xen07');
    expect(Math.abs(ms(capped.first) - Date.parse('2027-01-01T00:03:02.480Z'))).toBeLessThan(1000);
    expect(report.timeline.marks.some((m) => m.kind === 'xen-boot' && m.host === 'xen07' && /Xen 4\.1\.4/.test(m.text))).toBe(true);
  });

  it('reads a rotated set across the new year: December lines in 2026, January lines in 2027', () => {
    const save = find(report, 'xendomains-save-on-shutdown', 'xen07');
    expect(save.first).toBe('2026-12-31T23:40:05Z');
    expect(save.last).toBe('2027-01-01T00:04:10Z');
    const k1 = report.inputs.find((i) => i.source.endsWith('xen07/kern.log.1'))!;
    expect(k1.first).toBe('2026-12-31T06:31:12Z');
  });

  it('merges all inputs in order of time across files, zones and the year change', () => {
    const r = run([archive, '--around', '2026-12-31T23:55:00Z', '--window', '6m']);
    const lines = r.timeline.window!.lines;
    const times = lines.map((l) => l.time);
    expect([...times].sort()).toEqual(times);
    const order = [
      'EXT4-fs (dm-0): delayed block allocation failed', // xen07 kern.log.1, 23:52:13Z
      'xc: error: Error when writing to state file', // xen07 syslog.1, 23:52:14Z
      'xt_physdev: using --physdev-out', // xen09 messages, 2027-01-01T00:58:12+01:00 = 23:58:12Z
      'xenbr0: port 5(vif15.0) entered disabled state', // xen07 kern.log.1, 23:58:40Z
    ].map((s) => lines.findIndex((l) => l.text.includes(s)));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(lines.find((l) => l.text.includes('xt_physdev'))!.host).toBe('xen09');

    const y = run([archive, '--around', '2027-01-01T00:00:00Z', '--window', '4m']).timeline.window!.lines;
    const exit = y.findIndex((l) => l.text.includes('exiting on signal 15'));
    const start = y.findIndex((l) => l.text.includes('x-pid="2210"'));
    expect(y[exit]!.time).toBe('2026-12-31T23:59:10Z');
    expect(y[start]!.time).toBe('2027-01-01T00:03:20Z');
    expect(exit).toBeLessThan(start);
  });

  it('shows the lines around a moment, merged, with the evidence marked', () => {
    const r = xd(['timeline', '--tz', 'UTC', archive, '--around', '2026-12-31T23:52:13Z', '--window', '2m']);
    expect(r.stdout).toMatch(/== LINES 2026-12-31 23:50:13Z → 2026-12-31 23:54:13Z/);
    expect(r.stdout).toMatch(
      /▶ 2026-12-31 23:52:13Z\s+xen07\s+\S+kern\.log\.1:\d+\s+Dec 31 23:52:13 xen07 kernel: .*EXT4-fs.*\[disk-full\]/,
    );
    const around = r.stdout.slice(r.stdout.indexOf('== AROUND'), r.stdout.indexOf('== LINES'));
    expect(around).toMatch(/23:52:13\s+ERROR\s+xen07\s+A dom0 filesystem is full/);
    expect(around).not.toMatch(/xend-not-running/); // 00:03:39, outside the window
    // the incident that the window's finding belongs to is shown whole; the others are not
    const roots = r.stdout.slice(r.stdout.indexOf('== ROOT CAUSES'), r.stdout.indexOf('== AROUND'));
    expect(roots).toMatch(/xendomains saves guest memory images/);
    expect(roots).not.toMatch(/xen08/);
  });
});

describe('timeline: marks', () => {
  it('marks reboots, gaps, rotation holes and wrapped console rings', () => {
    const m = report.timeline.marks;
    const gap = m.find((x) => x.kind === 'gap' && x.host === 'xen07')!;
    expect(gap.end).toBe('2027-01-01T01:31:12Z'); // the disk was full: syslog wrote nothing
    expect(ms(gap.time)).toBeGreaterThan(Date.parse('2027-01-01T00:20:00Z'));
    expect(m.some((x) => x.kind === 'rotation-gap' && /syslog\.2 missing/.test(x.text))).toBe(true);
    expect(m.some((x) => x.kind === 'missing' && x.host === 'xen07' && /Kernel ring buffer of dmesg\.txt wrapped/.test(x.text))).toBe(true);
    expect(m.some((x) => x.kind === 'missing' && x.host === 'xen09' && /Xen console ring buffer/.test(x.text))).toBe(true);
    expect(m.filter((x) => x.kind === 'boot').map((x) => x.host)).toEqual(['xen07', 'xen08']);
  });
});

describe('timeline: many hosts', () => {
  it('summarises hosts × severity and the findings several hosts share', () => {
    const hosts = Object.fromEntries(report.timeline.hosts.map((h) => [h.host, h]));
    expect(Object.keys(hosts).sort()).toEqual(['xen07', 'xen08', 'xen09']);
    expect(hosts.xen08!.findings.critical).toBe(2);
    expect(hosts.xen09!.findings.error).toBe(1);
    expect(report.timeline.shared.find((s) => s.rule === 'iptables-physdev-out')!.hosts).toEqual(['xen07', 'xen09']);
    const hourly = report.timeline.hours.filter((h) => h.host === 'xen07' && h.hour === '2026-12-31T23:00:00Z')[0]!;
    expect(hourly.lines).toBeGreaterThan(10);
    expect(hourly.hits.error).toBeGreaterThan(0);
  });

  it('keeps to one host with --host', () => {
    const r = run([archive, '--host', 'xen09']);
    expect(new Set(r.findings.map((f) => f.host))).toEqual(new Set(['xen09']));
    expect(r.timeline.hosts.map((h) => h.host)).toEqual(['xen09']);
    expect(r.timeline.marks.every((x) => x.host === 'xen09' || x.host === null)).toBe(true);
  });

  it('reads stdin too (spooled for the second pass)', () => {
    const text = readFileSync(join(archive, 'xen09', 'messages'));
    const r = xd(['timeline', '--format', 'json', '-'], text);
    const j = JSON.parse(r.stdout) as TReport;
    expect(j.findings.map((f) => f.rule).sort()).toEqual(['blkback-hung-task', 'dom0-page-allocation-failure', 'iptables-physdev-out']);
  });
});

describe('timeline: other anchors', () => {
  it('dates an uptime-only dmesg by a dmesg -T capture of the same boot', () => {
    const dir = tmp('xd-dmesgT-');
    const boot = Date.parse('2026-11-20T08:00:00Z');
    const msgs: (readonly [number, string])[] = Array.from(
      { length: 60 },
      (_, i) => [10 + i * 7.25, `xen-blkback: backend/vbd/${i}/51712: prepare for reconnect`] as const,
    );
    msgs.push([500.123456, 'INFO: task blkback.111.xvda:2162 blocked for more than 120 seconds.']);
    const fmt = (t: number) => {
      const d = new Date(boot + t * 1000);
      const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d.getUTCDay()]!;
      const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()]!;
      return `${day} ${mon} ${String(d.getUTCDate()).padStart(2)} ${d.toISOString().slice(11, 19)} ${d.getUTCFullYear()}`;
    };
    writeFileSync(join(dir, 'dmesg.txt'), msgs.map(([t, m]) => `[${t.toFixed(6).padStart(12)}] ${m}`).join('\n') + '\n');
    writeFileSync(
      join(dir, 'dmesg-T.txt'),
      msgs
        .slice(0, 40)
        .map(([t, m]) => `[${fmt(t)}] ${m}`)
        .join('\n') + '\n',
    );
    const r = run([join(dir, 'dmesg.txt'), join(dir, 'dmesg-T.txt')]);
    const f = r.findings.find((x) => x.rule === 'blkback-hung-task')!;
    expect(Math.abs(ms(f.first) - (boot + 500123))).toBeLessThan(2000);
  });

  it('dates an uptime-only dmesg by the journal (realtime and monotonic clocks, boot id)', () => {
    const dir = tmp('xd-journal-');
    const boot = Date.parse('2026-11-20T08:00:00.250Z');
    const ups = Array.from({ length: 50 }, (_, i) => 5 + i * 3.123457);
    const journal = ups.map((u, i) =>
      JSON.stringify({
        __REALTIME_TIMESTAMP: String(Math.round((boot + u * 1000 + 3) * 1000)),
        __MONOTONIC_TIMESTAMP: String(Math.round(u * 1e6) + 3000),
        _SOURCE_MONOTONIC_TIMESTAMP: String(Math.round(u * 1e6)),
        _BOOT_ID: 'a1b2c3d4e5f60718293a4b5c6d7e8f90',
        _TRANSPORT: 'kernel',
        _HOSTNAME: 'xen11',
        MESSAGE: `xenbr0: port ${i}(vif${i}.0) entered forwarding state`,
      }),
    );
    writeFileSync(join(dir, 'journal.json'), journal.join('\n') + '\n');
    const dmesg = ups.map((u, i) => `[${u.toFixed(6).padStart(12)}] xenbr0: port ${i}(vif${i}.0) entered forwarding state`);
    dmesg.push('[  400.000001] INFO: task blkback.9.xvdb:3001 blocked for more than 120 seconds.');
    writeFileSync(join(dir, 'dmesg.txt'), dmesg.join('\n') + '\n');
    const r = run([join(dir, 'journal.json'), join(dir, 'dmesg.txt')]);
    const f = r.findings.find((x) => x.rule === 'blkback-hung-task')!;
    expect(f.host).toBe('xen11');
    expect(Math.abs(ms(f.first) - (boot + 400000))).toBeLessThan(50);
  });

  it('keeps memory bounded on a large input: only the window is kept, capped', async () => {
    const dir = tmp('xd-big-');
    const start = Date.parse('2026-11-20T00:00:00Z');
    const chunks: string[] = [];
    for (let i = 0; i < 300_000; i++) {
      const d = new Date(start + i * 200);
      const mon = 'Nov';
      chunks.push(
        `${mon} ${d.getUTCDate()} ${d.toISOString().slice(11, 19)} xen${i % 5} kernel: [${(i / 5).toFixed(6).padStart(12)}] xenbr0: port ${i % 60}(vif${i % 60}.0) entering forwarding state`,
      );
    }
    writeFileSync(join(dir, 'central.log'), chunks.join('\n') + '\n');
    utimesSync(join(dir, 'central.log'), new Date('2026-11-21T00:00:00Z'), new Date('2026-11-21T00:00:00Z'));
    // the heap is capped, and what the run keeps alive (Buffers included) is measured
    // (run without blocking the worker's event loop: test/setup/stall.ts)
    const probe = memoryProbe({ ...process.env, TZ: 'UTC', NODE_OPTIONS: '--max-old-space-size=96', XENDOCTOR_WORKERS: '0' });
    const r = probe.read(
      await xdAsync(
        ['timeline', '--tz', 'UTC', '--format', 'json', '--around', '2026-11-20T10:00:00Z', '--window', '1h', join(dir, 'central.log')],
        probe.env,
      ),
    );
    expect(r.stderr).not.toMatch(/heap|internal error/i);
    // measured: 11 MB kept alive, 89 MB resident; the file is 36 MB (kept as Buffers: ~47 MB)
    expect(r.liveMb, 'heap + external kept alive (MB)').toBeLessThan(30);
    expect(r.rssMb, 'peak resident size (MB)').toBeLessThan(250);
    const j = JSON.parse(r.stdout) as TReport;
    expect(j.timeline.window!.lines.length).toBe(4000);
    expect(j.timeline.window!.omitted).toBeGreaterThan(0);
    expect(j.timeline.hosts.map((h) => h.host).sort()).toEqual(['xen0', 'xen1', 'xen2', 'xen3', 'xen4']);
  });
});
