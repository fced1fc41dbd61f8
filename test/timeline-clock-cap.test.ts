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
import { tmp, xd, xdMemory } from './helpers.js';

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
    const dir = tmp();
    const file = join(dir, 'kern.log');
    writeFileSync(file, lines.join('\n') + '\n');
    const m = xdMemory(['timeline', '--format', 'json', file], undefined, { ...process.env, XENDOCTOR_WORKERS: '0' });
    expect(m.code, m.stderr).toBe(0);
    expect(m.liveMb).toBeLessThan(30);
  });
});
