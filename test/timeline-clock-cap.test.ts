/**
 * The clock's cutting into boots is bounded (src/timeline/clock.ts MAX_SEGMENTS): a host whose kernel
 * uptime goes back more than 1000 times in one input is not taken as rebooting each time (several
 * machines logging under one name, stamps out of order). Before, each step back was a boot: a 100 MB
 * kern.log of that kind took 548 MB in `timeline` and put a "dom0 booted" mark at each step back, and
 * `scan` surveyed a 50 MB one in 280 MB.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memoryProbe, tmp, xd, xdMemory } from './helpers.js';
import { xdAsync } from './report-helpers.js';

const MAX_SEGMENTS = 1000;
const HUNG = 'INFO: task blkback.103.xvda:2163 blocked for more than 120 seconds.';

/** A syslog stamp `s` seconds after Oct 20 00:00:00. */
function stamp(s: number): string {
  const d = new Date(Date.UTC(2026, 9, 20) + s * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `Oct ${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}
const up = (u: number) => `[${u.toFixed(6).padStart(12)}]`;

/** `boots` boots of one host in a syslog file, two kernel lines each, ten minutes apart. */
function rebooting(boots: number): string {
  const lines: string[] = [];
  for (let b = 0; b < boots; b++) {
    const t = b * 600;
    lines.push(`${stamp(t)} xen07 kernel: ${up(0)} Linux version 6.1.0-13-amd64 (debian-kernel@lists.debian.org) #1 SMP`);
    lines.push(`${stamp(t + 5)} xen07 kernel: ${up(5.25)} xenbr0: port 1(vif1.0) entered forwarding state`);
  }
  return lines.join('\n') + '\n';
}

/** `command --format json` over `text` in a file, with what it kept alive (the main thread alone: no workers). */
const memoryRun = (command: string, text: string) => {
  const file = join(tmp(), 'input.log');
  writeFileSync(file, text);
  return xdMemory([command, '--format', 'json', file], undefined, { ...process.env, XENDOCTOR_WORKERS: '0' });
};

interface Doc {
  findings: { rule: string; first: string | null; count: number }[];
  inputs: { source: string; errors: string[] }[];
  timeline: { marks: { kind: string; host: string | null }[]; hosts: { host: string | null; boots: number }[] };
}
const timeline = (file: string): Doc => {
  const r = xd(['timeline', '--format', 'json', file]);
  expect(r.code, r.stderr).toBeLessThanOrEqual(2);
  return JSON.parse(r.stdout) as Doc;
};

describe('a host whose kernel uptime goes back more than 1000 times in one input', () => {
  it('is not taken as rebooting each time: no boot marks, a note, its lines keep their own dates', () => {
    // two machines logging as "localhost", their lines interleaved: the uptime goes back at every other line
    const lines: string[] = [];
    for (let i = 0; i < 1200; i++) {
      lines.push(`${stamp(i * 2)} localhost kernel: ${up(1000 + i)} device vif${i % 9}.0 entered promiscuous mode`);
      lines.push(`${stamp(i * 2 + 1)} localhost kernel: ${up(50_000 + i)} xenbr0: port 2(vif2.0) entered disabled state`);
    }
    lines.splice(1500, 0, `${stamp(1499)} localhost kernel: ${up(50_999.5)} ${HUNG}`);
    const dir = tmp();
    const file = join(dir, 'kern.log');
    writeFileSync(file, lines.join('\n') + '\n');
    const doc = timeline(file);
    expect(doc.timeline.marks.filter((m) => m.kind === 'boot')).toEqual([]);
    expect(doc.timeline.hosts).toEqual([expect.objectContaining({ host: 'localhost', boots: 0 })]);
    expect(doc.inputs[0]!.errors).toEqual([
      'the kernel uptime of localhost went back more than 1000 times (several machines logging under one name, or stamps out of order): not taken as boots',
    ]);
    expect(doc.findings.find((f) => f.rule === 'blkback-hung-task')).toMatchObject({ first: '2026-10-20T00:24:59Z', count: 1 });
    // scan says nothing: every line it concerns carries its own date
    const scan = xd(['scan', '--format', 'json', file]);
    expect(scan.stderr).toBe('');
    expect((JSON.parse(scan.stdout) as Doc).inputs[0]!.errors).toEqual([]);
  });

  it('1000 boots are marked; at 1001 the cutting gives up', () => {
    const dir = tmp();
    const at = join(dir, 'at.log');
    const past = join(dir, 'past.log');
    writeFileSync(at, rebooting(MAX_SEGMENTS));
    writeFileSync(past, rebooting(MAX_SEGMENTS + 1));
    const a = timeline(at);
    expect(a.timeline.marks.filter((m) => m.kind === 'boot')).toHaveLength(MAX_SEGMENTS);
    expect(a.inputs[0]!.errors).toEqual([]);
    const p = timeline(past);
    expect(p.timeline.marks.filter((m) => m.kind === 'boot')).toHaveLength(0);
    expect(p.inputs[0]!.errors).toEqual([
      'the kernel uptime of xen07 went back more than 1000 times (several machines logging under one name, or stamps out of order): not taken as boots',
    ]);
  });

  it('scan: a plain dmesg capture of that kind says how many of its lines are left undated', () => {
    const lines: string[] = [];
    for (let i = 0; i < 1100; i++) lines.push(`${up(1000 + i)} device vif${i % 9}.0 entered promiscuous mode`, `${up(50_000 + i)} ${HUNG}`);
    const dir = tmp();
    const file = join(dir, 'dmesg.txt');
    writeFileSync(file, lines.join('\n') + '\n');
    const r = xd(['scan', '--format', 'json', file]);
    expect(r.stderr).toContain(
      'the kernel uptime went back more than 1000 times (several machines logging under one name, or stamps out of order): not taken as boots; 2200 lines without a date of their own left undated',
    );
    expect((JSON.parse(r.stdout) as Doc).findings.find((f) => f.rule === 'blkback-hung-task')).toMatchObject({ first: null, count: 1100 });
  });

  it('a Xen console whose uptime goes back more than 1000 times: its runs are not placed, and it says so', () => {
    const lines: string[] = [];
    for (let i = 0; i < 1100; i++)
      lines.push(
        `(XEN) [${(100 + i).toFixed(6).padStart(12)}] d${i % 7}v0 a line`,
        `(XEN) [${(9000 + i).toFixed(6).padStart(12)}] d1v0 another`,
      );
    const dir = tmp();
    const file = join(dir, 'xl-dmesg.txt');
    writeFileSync(file, lines.join('\n') + '\n');
    const doc = timeline(file);
    expect(doc.inputs[0]!.errors).toContainEqual(
      "the Xen console's uptime went back more than 1000 times (several machines logging under one name, or stamps out of order): not taken as boots; 2200 lines without a date of their own left undated",
    );
  });

  it('a timeline of such a log stays within a bounded memory', () => {
    // 200,000 lines of uptimes at random: 60 MB kept alive before (and 35 s), 9 MB now
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 9e6;
    const lines: string[] = [];
    for (let i = 0; i < 200_000; i++) lines.push(`${stamp(i)} xen07 kernel: ${up(rnd())} device vif1.0 entered promiscuous mode`);
    const m = memoryRun('timeline', lines.join('\n') + '\n');
    expect(m.code, m.stderr).toBe(0);
    expect(m.liveMb).toBeLessThan(30);
  });
});

describe('a timeline of more than 2000 hosts (a flood of forged or misparsed host names)', () => {
  const MAX_HOSTS = 2000;
  /** One line of each of `n` hosts, a second apart; host h1999 and the last host also report a hung task. */
  const hostsLog = (n: number): string => {
    const lines: string[] = [];
    for (let i = 0; i < n; i++) {
      const msg =
        i === 1999 || i === n - 1 ? `kernel: ${up(100 + i)} ${HUNG}` : 'sshd[123]: Accepted publickey for root from 10.0.0.1 port 22 ssh2';
      lines.push(`${stamp(i)} h${i} ${msg}`);
    }
    return lines.join('\n') + '\n';
  };
  interface Hosts {
    findings: { rule: string; host: string | null }[];
    inputs: { errors: string[] }[];
    timeline: {
      hosts: { host: string | null; lines: number }[];
      hours: { host: string | null; lines: number; hits: Record<string, number> }[];
    };
  }

  it('keeps the first 2000 apart and counts the rest as one row; findings keep their own hosts', () => {
    const dir = tmp();
    const file = join(dir, 'central.log');
    writeFileSync(file, hostsLog(MAX_HOSTS + 3));
    const doc = timeline(file) as unknown as Hosts;
    const rows = doc.timeline.hosts;
    expect(rows.filter((h) => /^h\d+$/.test(h.host ?? ''))).toHaveLength(MAX_HOSTS + 1); // h0-h1999, and h2002 by its finding
    expect(rows.find((h) => h.host === '(other hosts)')).toMatchObject({ lines: 3 });
    expect(rows.find((h) => h.host === 'h1999')).toMatchObject({ lines: 1 });
    expect(rows.find((h) => h.host === 'h2002')).toMatchObject({ lines: 0 }); // its line is in the folded row
    expect(doc.findings.filter((f) => f.rule === 'blkback-hung-task').map((f) => f.host)).toEqual(['h1999', 'h2002']);
    const other = doc.timeline.hours.filter((h) => h.host === '(other hosts)');
    expect(other.reduce((n, h) => n + h.lines, 0)).toBe(3);
    expect(other.reduce((n, h) => n + h.hits.error!, 0)).toBe(1);
    expect(doc.inputs[0]!.errors).toContain(
      'more than 2000 hosts: 3 more are counted together as "(other hosts)" in the host table and the hours (their findings keep their own hosts)',
    );
    // 2000 hosts: no fold, no note
    writeFileSync(file, hostsLog(MAX_HOSTS));
    const at = timeline(file) as unknown as Hosts;
    expect(at.timeline.hosts.some((h) => h.host === '(other hosts)')).toBe(false);
    expect(at.inputs[0]!.errors).toEqual([]);
  });

  it('stays within a bounded memory', () => {
    // 100,000 host names: 53 MB kept alive before (and 16 s), 12 MB now
    const m = memoryRun('timeline', hostsLog(100_000));
    expect(m.code, m.stderr).toBe(2);
    expect(m.liveMb).toBeLessThan(30);
  });
});

describe('kernel lines of more than 10000 boots in one input (a flood of host names with uptime stamps)', () => {
  const MAX_INPUT_SEGMENTS = 10_000;
  /** One kernel line of each of `n` hosts, and a Xen console line (which makes scan survey the clock). */
  const kernelHosts = (n: number): string => {
    const lines: string[] = [];
    for (let i = 0; i < n; i++) lines.push(`${stamp(i)} h${i} kernel: ${up(1000 + i)} device vif1.0 entered promiscuous mode`);
    lines.push('(XEN) Xen version 4.17.3 (Debian 4.17.3+10-g091466ba55-1~deb12u1) (pkg-xen-devel@lists.alioth.debian.org)');
    return lines.join('\n') + '\n';
  };
  const NOTE = 'more than 10000 boots (a flood of host names?): the kernel lines of the hosts after them not taken as boots';

  it('cuts no more boots past 10000, and says so', () => {
    const dir = tmp();
    const file = join(dir, 'central.log');
    writeFileSync(file, kernelHosts(MAX_INPUT_SEGMENTS + 1));
    expect(timeline(file).inputs[0]!.errors).toContain(NOTE);
    writeFileSync(file, kernelHosts(MAX_INPUT_SEGMENTS));
    expect(timeline(file).inputs[0]!.errors.some((e) => e.includes('boots'))).toBe(false);
  });

  it("scan's survey stays within a bounded memory", () => {
    // 100,000 host names: 124 MB kept alive before (and 10 s), 12 MB now
    const m = memoryRun('scan', kernelHosts(100_000));
    expect(m.code, m.stderr).toBe(0);
    expect(m.stderr).toBe(''); // every line carries its own date: nothing to say
    expect(m.liveMb).toBeLessThan(30);
  });
});

describe('a timeline of more than 200,000 host-hours (forged stamps an hour apart, one per line)', () => {
  it('keeps 200,000 in the hours, counts the lines of the rest everywhere else, and says so', async () => {
    const MAX_HOUR_BUCKETS = 200_000;
    const t0 = Date.UTC(2000, 0, 1);
    const at = (i: number) =>
      `${new Date(t0 + i * 3600_000).toISOString().replace('.000Z', '+00:00')} xen07 sshd[1]: Accepted publickey for root`;
    const lines: string[] = [];
    for (let i = 0; i < MAX_HOUR_BUCKETS + 3; i++) lines.push(at(i));
    // two of the three hours left out come again: still three host-hours left out, not five
    lines.push(at(MAX_HOUR_BUCKETS), at(MAX_HOUR_BUCKETS + 1));
    const dir = tmp();
    const file = join(dir, 'forged.log');
    writeFileSync(file, lines.join('\n') + '\n');
    // (a long run: without blocking the worker's event loop, test/setup/stall.ts)
    const probe = memoryProbe({ ...process.env, XENDOCTOR_WORKERS: '0' });
    const r = probe.read(await xdAsync(['timeline', '--format', 'json', file], probe.env));
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout) as Doc & { timeline: { hours: unknown[] } };
    expect(doc.timeline.hours).toHaveLength(MAX_HOUR_BUCKETS);
    expect(doc.timeline.hosts).toEqual([expect.objectContaining({ host: 'xen07', lines: MAX_HOUR_BUCKETS + 5 })]);
    expect(doc.inputs[0]!.errors).toContain(
      'more than 200000 host-hours: 3 more are left out of the hours (their lines and findings count everywhere else)',
    );
    // 80 MB kept alive at the bound (about 400 bytes a host-hour); unbounded before
    expect(r.liveMb).toBeLessThan(120);
  });
});
