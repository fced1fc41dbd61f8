/**
 * The timeline's short way through plain syslog lines (src/timeline/plain-line.ts): whenever the byte
 * reader says yes, parseLine reads the same line with the same time and host (and uptime, when it is
 * asked to read one), and none of what the clock or the marks need (an uptime it declines, a Xen
 * console prefix, a boot banner, xendoctor's own tag). Lines are random mixtures of the pieces syslog
 * lines are made of, most of them near misses, read in order from one block as the timeline reads
 * them. Then through the binary: a fleet folder read by the short way equals the same lines behind a
 * priority prefix ("<13>", which the reader declines, so every line takes the full parse).
 */
import { gzipSync } from 'node:zlib';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PlainLines, type Uptime } from '../src/timeline/plain-line.js';
import { parseLine } from '../src/parse/line.js';
import type { TimeContext } from '../src/parse/time.js';
import { tmp, xd } from './helpers.js';

const RUNS = 2000 * Number(process.env.XENDOCTOR_FUZZ_RUNS ?? 1);
const CTX: TimeContext = { zone: 'UTC', year: null, reference: Date.UTC(2026, 11, 2) };
const CTX_YEAR: TimeContext = { zone: 'Europe/Berlin', year: 2024, reference: Date.UTC(2026, 11, 2) };

const one = (...xs: string[]) => fc.constantFrom(...xs);
const stamp = fc.oneof(
  { weight: 6, arbitrary: one('Nov 10 00:00:01 ', 'Nov  3 23:59:59 ', 'Mar 31 02:30:00 ', 'Dec 31 23:59:60 ', 'Jan  1 00:00:00 ') },
  one('Feb 29 12:00:00 ', 'Nov 10 00:00:01.123 ', 'Nov 10 00:00:01 2026 ', 'Nov 10 00:00:01  ', 'nov 10 00:00:01 ', 'Nov 1 0:00:01 '),
  fc.string({ maxLength: 16 }),
);
const host = fc.oneof(
  { weight: 6, arbitrary: one('xen01 ', 'xen02 ', 'xen01.example.org ', 'dom0-a ') },
  one('', ' ', 'kern ', 'kern.err ', 'daemon ', '(XEN) ', 'h:1 ', 'h[1] ', 'h]1 ', 'höst ', 'xen\t01 ', 'xen01\r', 'xen01'),
  fc.string({ maxLength: 6 }).map((s) => `${s} `),
);
const tag = fc.oneof(
  { weight: 4, arbitrary: one('sshd[12]: ', 'CRON[4021]: ', 'systemd[1]: ', 'postfix/smtpd[9]: ', 'kernel: ', 'kernel: [   37.501517] ') },
  one(
    'kernel: [812345.123456] ',
    'kernel:[ 5.5] ',
    'kernel: [ 12.] ',
    'kernel: [   37.501517] [ T12] ',
    'Kernel: [ 1.5] ',
    'xendoctor: ',
    'XenDoctor[3]: ',
    'kern.err xendoctor: ',
    'kern.err kernel: ',
    '0,16627,12345,-;',
    '[metalog] ',
    'kernel [12.5] ',
    'xl ',
    'xenconsoled: ',
    '',
  ),
  // any uptime: as many digits as printk and a clock gone wrong may give (the reader computes the number)
  fc
    .tuple(fc.stringMatching(/^\d{1,12}$/), fc.stringMatching(/^\d{1,9}$/), one('', ' ', '   '))
    .map(([a, b, sp]) => `kernel: [${sp}${a}.${b}] `),
  fc.string({ maxLength: 8 }),
);
const message = fc
  .array(
    fc.oneof(
      { weight: 4, arbitrary: one('Failed password for root', 'vif vif-1-0: up', ' ', 'x', 'sshd[123] ok') },
      one(
        '(XEN) grant_table.c:1676:d0v0',
        '(XEN)',
        'Linux version 6.1.0-26-amd64',
        '[ 12.345678] x',
        'a.5] b',
        '1.]',
        'libxl: error: x',
        '\u00e9',
      ),
      fc.string({ maxLength: 4 }),
    ),
    { maxLength: 5 },
  )
  .map((p) => p.join(''));
const line = fc.tuple(stamp, host, tag, message).map((p) => p.join('').replace(/\n/g, ' '));

/** Read the lines in order from one block, as the timeline does; for each, the reader's answer. */
function readAll(lines: string[], ctx: TimeContext, mode: Uptime) {
  const buf = Buffer.from(lines.join('\n') + '\n', 'utf8');
  const reader = new PlainLines();
  const out: { text: string; ok: boolean; time: number | null; host: string; uptime: number | null }[] = [];
  let pos = 0;
  for (const text of lines) {
    const end = buf.indexOf(10, pos);
    const ok = reader.read(buf, pos, end, ctx, mode);
    out.push({ text, ok, time: reader.time, host: reader.host, uptime: reader.uptime });
    pos = end + 1;
  }
  return out;
}

function agrees(r: ReturnType<typeof readAll>[number], ctx: TimeContext, mode: Uptime): void {
  if (!r.ok) return;
  const ev = parseLine(r.text, ctx);
  const what = JSON.stringify(r.text);
  expect(ev.format, what).toBe('syslog');
  expect(ev.time, what).toBe(r.time);
  expect(ev.host, what).toBe(r.host);
  expect(ev.source, what).not.toBe('hypervisor');
  expect(ev.program?.toLowerCase(), what).not.toBe('xendoctor');
  expect(/^Linux version/.test(ev.message) && ev.source === 'kernel' && ev.uptime === null, what).toBe(false);
  if (mode === 'decline') expect(ev.uptime, what).toBeNull();
  if (mode === 'read') {
    expect(ev.uptime, what).toBe(r.uptime);
    if (r.uptime !== null) {
      // what the survey makes of it (collect.ts kernelEvent): a dated kernel line, no banner
      expect(ev.source, what).toBe('kernel');
      expect(ev.time, what).not.toBeNull();
    }
  }
  if (mode === 'ignore' && ev.uptime !== null) expect(ev.time, what).not.toBeNull();
}

describe('plain syslog lines read from their bytes', () => {
  for (const mode of ['decline', 'read', 'ignore'] as const)
    it(`agree with parseLine whenever they are read (${mode} uptime stamps)`, () => {
      fc.assert(
        fc.property(fc.array(line, { minLength: 1, maxLength: 12 }), fc.boolean(), (lines, withYear) => {
          const ctx = withYear ? CTX_YEAR : CTX;
          for (const r of readAll(lines, ctx, mode)) agrees(r, ctx, mode);
        }),
        { numRuns: RUNS },
      );
    });

  it('read the everyday lines (or they would save nothing), and decline what the clock needs', () => {
    const lines = [
      'Nov 10 00:00:01 xen01 sshd[12]: Failed password for root from 203.0.113.9 port 4242 ssh2',
      'Nov 10 00:00:02 xen01.example.org CRON[4021]: (root) CMD (true)',
      'Nov 10 00:00:03 xen01 kernel: [   37.501517] xen-blkback: backend/vbd/1/51712: using 4 queues',
      'Nov 10 00:00:04 xen01 kernel: [    0.000000] Linux version 6.1.0-26-amd64 (debian-kernel@lists.debian.org)',
      'Nov 10 00:00:05 xen01 xenconsoled: (XEN) [2026-11-10 00:00:05.123] HVM d1v0 save: CPU',
      'Nov 10 00:00:06 xen01 xendoctor[77]: new finding',
      'Nov 10 00:00:07 xen02 systemd[1]: Started Session 4 of user root.',
    ];
    const ok = (mode: Uptime) => readAll(lines, CTX, mode).map((r) => r.ok);
    expect(ok('decline')).toEqual([true, true, false, false, false, false, true]);
    expect(ok('ignore')).toEqual([true, true, true, false, false, false, true]);
    const read = readAll(lines, CTX, 'read');
    expect(read.map((r) => r.ok)).toEqual([true, true, true, false, false, false, true]);
    expect(read[2]!.uptime).toBe(37.501517);
    expect(read.map((r) => r.host)).toEqual(['xen01', 'xen01.example.org', 'xen01', 'xen01', 'xen01', 'xen01', 'xen02']);
    for (const mode of ['decline', 'read', 'ignore'] as const) for (const r of readAll(lines, CTX, mode)) agrees(r, CTX, mode);
  });
});

/**
 * A small fleet: two hosts' rotated syslogs (one .gz), other hosts' lines in their files (a central
 * server's catch-all), a reboot (banner, uptime from zero), Xen console lines (undated, and in the
 * kernel's log), a banner without an uptime (RHEL's messages), a signature line, xendoctor's own
 * lines, a host with a domain name; and a console capture that holds dated kernel lines of the first
 * boot, then the second boot's lines without a date (dmesg), dated by the clock from the syslog's.
 */
function fleet(dir: string, prefix: string): void {
  const MON = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const pad = (n: number) => String(n).padStart(2, '0');
  const stampOf = (t: number) => {
    const d = new Date(t);
    return `${MON[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  };
  for (const [h, name] of ['xen01', 'xen02.example.org'].entries()) {
    const files: string[][] = [[], [], []];
    const capture: string[] = [];
    let boot = Date.UTC(2026, 10, 1, 6, 0, 0) + h * 7777;
    const start = Date.UTC(2026, 10, 10, 0, 0, 0);
    for (let k = 0; k < 900; k++) {
      let t = start + k * 240_000 + ((k * 7919) % 60_000);
      const day = Math.min(2, Math.floor((t - start) / 86400_000));
      const out = files[day]!;
      const s = (host: string) => `${prefix}${stampOf(t)} ${host}`;
      const up = () => ((t - boot) / 1000).toFixed(6).padStart(12, ' ');
      if (k === 500) {
        // a reboot: 20 minutes without lines, then the kernel's first lines stamped by rsyslog
        t += 1_200_000;
        boot = t - 31_000 - h * 4321;
        out.push(`${s(name)} kernel: [    0.000000] Linux version 6.1.0-26-amd64 (debian-kernel@lists.debian.org) #1 SMP`);
        out.push(`${s(name)} kernel: [    0.000000] Command line: placeholder root=/dev/mapper/vg0-root ro quiet`);
        out.push(`${s(name)} kernel: [    1.250000] xen:balloon: Initialising balloon driver`);
        out.push(`${s(name)} kernel: [    1.500000] (XEN) parameter "dom0maxvcpus" unknown!`);
      }
      if (k === 700) out.push(`${s(name)} kernel: Linux version 6.1.0-26-amd64 (debian-kernel@lists.debian.org) #1 SMP`);
      switch (k % 9) {
        case 0:
          out.push(`${s(name)} kernel: [${up()}] xenbr0: port ${k % 40}(vif${k % 40}.0) entered forwarding state`);
          break;
        case 1:
          out.push(`${s(name)} sshd[${1000 + k}]: Failed password for root from 203.0.113.${k % 250} port ${30000 + k} ssh2`);
          break;
        case 2:
          out.push(`${s('relay-' + h)} postfix/smtpd[${k}]: connect from unknown[192.0.2.${k % 250}]`);
          break;
        case 3:
          out.push(
            k % 2
              ? `(XEN) grant_table.c:1676:d0v${k % 4} Expanding d${k % 40} grant table from 2 to 30 frames`
              : `${s(name)} CRON[${k}]: (root) CMD (true)`,
          );
          break;
        case 4:
          out.push(`${s(name)} xendoctor[${k}]: new finding on ${name}`);
          break;
        case 5:
          if (k % 4 === 1)
            out.push(`${s(name)} kernel: [${up()}] blk_update_request: I/O error, dev sdb, sector ${2048 + k} op 0x1:(WRITE) flags 0x0`);
          else out.push(`${s(name)} systemd[1]: Started Session ${k} of user root.`);
          break;
        default: {
          const msg = `[${up()}] device vif${k % 40}.0 entered promiscuous mode`;
          out.push(`${s(name)} kernel: ${msg}`);
          if (k < 100) capture.push(`${s(name)} kernel: ${msg}`);
          else if (k > 600 && k < 700) capture.push(msg);
        }
      }
    }
    const folder = join(dir, name);
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'syslog.2.gz'), gzipSync(files[0]!.join('\n') + '\n'));
    writeFileSync(join(folder, 'syslog.1'), files[1]!.join('\n') + '\n');
    writeFileSync(join(folder, 'syslog'), files[2]!.join('\n') + '\n');
    writeFileSync(join(folder, 'console.log'), capture.join('\n') + '\n');
  }
}

describe('timeline over a fleet folder: the short way changes nothing', () => {
  const base = tmp('xd-plain-');
  const short = join(base, 'short');
  const full = join(base, 'full');
  fleet(join(short, 'logs'), '');
  fleet(join(full, 'logs'), '<13>');
  const run = (cwd: string, extra: string[] = []) => {
    const r = xd(['timeline', '--format', 'json', '--tz', 'UTC', '--year', '2026', ...extra, 'logs'], undefined, { cwd });
    expect(r.code, r.stderr).toBeLessThanOrEqual(2);
    // the files of the two are not the same size
    const doc = JSON.parse(r.stdout.replaceAll('<13>', '')) as { inputs: { bytes?: number }[] };
    for (const i of doc.inputs) delete i.bytes;
    return JSON.stringify(doc, null, 1);
  };

  it('the same document as with every line parsed: counts per hour and host, boots, gaps, findings', () => {
    const a = run(short);
    expect(a).toBe(run(full));
    const doc = JSON.parse(a) as {
      findings: { rule: string; host: string | null; count: number }[];
      timeline: {
        hosts: { host: string | null; lines: number; boots: number }[];
        marks: { kind: string; host: string | null; source?: string }[];
      };
    };
    // the catch-all's hosts, the reboot and the capture's dated lines are there (not trivially equal)
    expect(doc.timeline.hosts.map((h) => h.host).sort()).toEqual(['relay-0', 'relay-1', 'xen01', 'xen02.example.org']);
    expect(doc.timeline.marks.filter((m) => m.kind === 'undated' && m.source?.endsWith('console.log'))).toEqual([]);
    expect(doc.timeline.marks.filter((m) => m.kind === 'boot').map((m) => m.host)).toEqual(
      expect.arrayContaining(['xen01', 'xen02.example.org']),
    );
    expect(doc.findings.filter((f) => f.rule === 'block-io-error').reduce((n, f) => n + f.count, 0)).toBeGreaterThan(0);
  });

  it('and with --around, whose window lines are read in full', () => {
    expect(run(short, ['--around', '2026-11-11T08:00', '--window', '2h'])).toBe(
      run(full, ['--around', '2026-11-11T08:00', '--window', '2h']),
    );
  });
});
