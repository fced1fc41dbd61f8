/**
 * `xendoctor report` (cron mode) through the real binary: only what is new, ongoing findings, real
 * line numbers, acknowledgements, a corrupt or foreign state set aside, the lock, file modes, the
 * hypervisor console and the journal read incrementally, Prometheus metrics and the e-mail format.
 */
import {
  appendFileSync,
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { flapRuleDir, tmp, xd, xdt } from './helpers.js';
import { blk, filler, findingsOf, lineOf, stamp, xdAsync } from './report-helpers.js';
import { defaultStatePath } from '../src/state/state.js';
import { headerValue, quotedPrintable } from '../src/render/email.js';
import { consoleNews } from '../src/sources/console-news.js';

const ONLY = ['--only', 'blkback-hung-task,xen-unknown-boot-parameter'];

function setup(): { dir: string; log: string; state: string; report: (...extra: string[]) => ReturnType<typeof xd> } {
  const dir = tmp('xd-report-');
  const log = join(dir, 'kern.log');
  const state = join(dir, 'state', 'state.json');
  writeFileSync(log, '');
  return { dir, log, state, report: (...extra) => xd(['report', '--state', state, '--format', 'json', ...ONLY, ...extra, log]) };
}

const mode = (p: string) => statSync(p).mode & 0o777;

describe('report: only what is new', () => {
  it('reports the first time, then nothing, then only new lines, with their real line numbers', () => {
    const { log, state, report } = setup();
    writeFileSync(log, [filler(1), blk(2162), filler(2)].join('\n') + '\n');
    let r = report();
    expect(r.code).toBe(2);
    let f = findingsOf(r.stdout);
    expect(f).toHaveLength(1);
    expect(f[0]!).toMatchObject({ rule: 'blkback-hung-task', count: 1, key: { pid: '2162' } });
    expect(f[0]!.ongoing).toBeUndefined();
    expect(f[0]!.evidence[0]).toMatchObject({ source: log, line: 2 });

    r = report();
    expect(r).toMatchObject({ code: 0, stdout: '' });
    expect(r.stderr).toBe('');

    // (two events a second apart: the same stamp twice would be one line read twice, counted once)
    appendFileSync(log, [filler(3), filler(4), blk(2162), blk(2162, Date.parse('2026-11-20T08:01:11Z')), blk(7)].join('\n') + '\n');
    r = report();
    f = findingsOf(r.stdout);
    expect(f.map((x) => [x.key.pid, x.count]).sort()).toEqual([
      ['2162', 2],
      ['7', 1],
    ]);
    const again = f.find((x) => x.key.pid === '2162')!;
    expect(again.ongoing).toEqual({ since: '2026-11-20T08:01:10Z', before: 1 });
    expect(again.evidence.map((e) => e.line)).toEqual([6, 7]);
    for (const e of again.evidence) expect(lineOf(e.source, e.line)).toBe(e.text);
    expect(f.find((x) => x.key.pid === '7')!.ongoing).toBeUndefined();

    // the state file: 0600 in a 0700 folder
    expect(mode(state)).toBe(0o600);
    expect(mode(join(state, '..'))).toBe(0o700);
    expect(existsSync(`${state}.lock`)).toBe(false);
  });

  it('leaves a line that is still being written for the next run', () => {
    const { log, report } = setup();
    writeFileSync(log, `${blk(1)}\n${blk(2).slice(0, 40)}`);
    expect(findingsOf(report().stdout).map((f) => f.key.pid)).toEqual(['1']);
    appendFileSync(log, `${blk(2).slice(40)}\n`);
    const f = findingsOf(report().stdout);
    expect(f.map((x) => [x.key.pid, x.evidence[0]!.line])).toEqual([['2', 2]]);
  });

  it('reads the whole rotated set, oldest first, on the first run; a rotation by date extension later', () => {
    const { dir, log, report } = setup();
    writeFileSync(join(dir, 'kern.log.2.gz'), gzipSync(`${blk(1)}\n`));
    writeFileSync(join(dir, 'kern.log.1'), `${filler(1)}\n${blk(2)}\n`);
    writeFileSync(log, `${blk(3)}\n`);
    const hourAgo = new Date(Date.now() - 3600_000);
    utimesSync(join(dir, 'kern.log.2.gz'), hourAgo, new Date(hourAgo.getTime() - 3600_000));
    utimesSync(join(dir, 'kern.log.1'), hourAgo, hourAgo);
    const f = findingsOf(xd(['report', '--state', join(dir, 's.json'), '--format', 'json', ...ONLY, `${log}*`]).stdout);
    expect(f.map((x) => [x.key.pid, x.evidence[0]!.source.replace(`${dir}/`, ''), x.evidence[0]!.line]).sort()).toEqual([
      ['1', 'kern.log.2.gz', 1],
      ['2', 'kern.log.1', 2],
      ['3', 'kern.log', 1],
    ]);
    // the site switches to dateext: kern.log → kern.log-20261121 (the numbered files stay), a new kern.log
    appendFileSync(log, `${blk(4)}\n`);
    renameSync(log, join(dir, 'kern.log-20261121'));
    writeFileSync(log, `${blk(5)}\n`);
    const g = findingsOf(xd(['report', '--state', join(dir, 's.json'), '--format', 'json', ...ONLY, log]).stdout);
    expect(g.map((x) => [x.key.pid, x.evidence[0]!.source.replace(`${dir}/`, ''), x.evidence[0]!.line]).sort()).toEqual([
      ['4', 'kern.log-20261121', 2],
      ['5', 'kern.log', 1],
    ]);
    void report;
  });

  it('says so when a file was truncated and no copy of it is found', () => {
    const { log, report } = setup();
    writeFileSync(log, `${blk(1)}\n${filler(1)}\n`);
    report();
    writeFileSync(log, `${blk(2)}\n`);
    const r = report();
    expect(findingsOf(r.stdout).map((f) => f.key.pid)).toEqual(['2']);
    expect(r.stderr).toMatch(/truncated or rewritten and no rotated copy .* may be missing/);
  });

  it('prints nothing and exits 0 when nothing new reaches --min-severity', () => {
    const { log, report } = setup();
    writeFileSync(log, `${blk(1)}\n`);
    expect(report('--min-severity', 'critical')).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(report()).toMatchObject({ code: 0, stdout: '' }); // already read
  });

  it('refuses stdin and bad mail options (exit 3)', () => {
    const { state } = setup();
    expect(xd(['report', '--state', state, '-']).code).toBe(3);
    expect(xd(['report', '--state', state, '--smtp', 'smtp://127.0.0.1:1', '/dev/null']).stderr).toMatch(/--smtp needs --mail-to/);
    const bad = xd(['report', '--state', state, '--mail-to', 'root@x\r\nBcc: evil@example.org', '/dev/null']);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/is not an e-mail address/);
  });

  it('defaults the state file by user', () => {
    expect(defaultStatePath({}, 0)).toBe('/var/lib/xendoctor/state.json');
    expect(defaultStatePath({ XDG_STATE_HOME: '/home/op/.st' }, 1000)).toBe('/home/op/.st/xendoctor/state.json');
    expect(defaultStatePath({ HOME: '/home/op' }, 1000)).toMatch(/\/\.local\/state\/xendoctor\/state\.json$/);
  });
});

describe('report: thresholds across runs', () => {
  /** A site rule that fires at 3 link flaps of one interface within 10 minutes. */
  function flapSetup() {
    const { dir, log, state } = setup();
    const rd = flapRuleDir(dir, 3, '10m');
    const t0 = Date.parse('2026-11-20T08:00:00Z');
    const flap = (min: number, nic = 'eth0') => `${stamp(t0 + min * 60_000)} xen07 kernel: [1.0] e1000e: link flapped on ${nic}`;
    // (each run checks the site rule with recheck: long on a loaded machine, so the loop turns between runs)
    const report = () => xdt(['report', '--state', state, '--format', 'json', '--rules', rd, '--only', 'site-flap', log]);
    return { log, state, flap, report };
  }

  it('adds up hits that fall in two runs, within the window', async () => {
    const { log, state, flap, report } = flapSetup();
    writeFileSync(log, [flap(0), flap(2), flap(3, 'eth1')].join('\n') + '\n');
    let r = await report();
    expect(r).toMatchObject({ code: 0, stdout: '' });
    // what counts towards the threshold is kept in the state
    const pending = JSON.parse(readFileSync(state, 'utf8')).pending as { rule: string; key: object; recent: number[] }[];
    expect(pending.map((p) => [p.rule, p.key, p.recent.length]).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))).toEqual(
      [
        ['site-flap', { nic: 'eth0' }, 2],
        ['site-flap', { nic: 'eth1' }, 1],
      ],
    );
    appendFileSync(log, flap(5) + '\n');
    r = await report();
    expect(r.code).toBe(1);
    const f = findingsOf(r.stdout);
    // the third flap of eth0 fires it; this run saw one hit of it; eth1 stays short
    expect(f.map((x) => [x.rule, x.key, x.count])).toEqual([['site-flap', { nic: 'eth0' }, 1]]);
    expect(f[0]!.first).toBe('2026-11-20T08:05:00Z');
    expect(await report()).toMatchObject({ code: 0, stdout: '' });
  });

  it('does not add up hits further apart than the window', async () => {
    const { log, flap, report } = flapSetup();
    writeFileSync(log, [flap(0), flap(2)].join('\n') + '\n');
    expect((await report()).stdout).toBe('');
    appendFileSync(log, flap(15) + '\n');
    expect(await report()).toMatchObject({ code: 0, stdout: '' });
    appendFileSync(log, [flap(16), flap(17)].join('\n') + '\n');
    expect(findingsOf((await report()).stdout).map((x) => x.count)).toEqual([2]);
  });

  it('counts distinct values across runs (guest ports on a bridge)', () => {
    const { log, state } = setup();
    const port = (vif: number) =>
      `${stamp(Date.parse('2026-11-20T08:00:00Z') + vif * 1000)} xen07 kernel: [1.0] xenbr0: port ${vif}(vif${vif}.0) entered forwarding state`;
    const run = () => xd(['report', '--state', state, '--format', 'json', '--only', 'bridge-port-overload', log]);
    writeFileSync(log, Array.from({ length: 40 }, (_, i) => port(i + 1)).join('\n') + '\n');
    expect(run().stdout).toBe('');
    appendFileSync(log, Array.from({ length: 30 }, (_, i) => port(i + 41)).join('\n') + '\n');
    const f = findingsOf(run().stdout);
    expect(f.map((x) => [x.rule, x.key])).toEqual([['bridge-port-overload', { bridge: 'xenbr0' }]]);
  });
});

describe('report: acknowledgements', () => {
  it('silences a finding while it goes on after the ack, until its rate is well above the acknowledged one', () => {
    const { dir, log, state, report } = setup();
    const now = Date.now();
    writeFileSync(log, `${blk(42, now - 3600_000)}\n`);
    const id = findingsOf(report().stdout)[0]!.id;
    const ack = xd(['ack', '--state', state, id.slice(0, 8), '--note', 'disk replaced']);
    expect(ack.code).toBe(0);
    expect(ack.stdout).toContain(`acknowledged ${id} (blkback-hung-task on xen07`);
    const ackFile = join(dir, 'state', 'acks');
    expect(mode(ackFile)).toBe(0o600);
    expect(readFileSync(ackFile, 'utf8')).toMatch(new RegExp(`^${id} \\d{4}-.*Z disk replaced$`, 'm'));

    appendFileSync(log, `${blk(42, now - 1800_000)}\n`); // logged before the ack: silent
    expect(report()).toMatchObject({ code: 0, stdout: '' });
    appendFileSync(log, `${blk(42, now + 60_000)}\n`); // goes on after it, at the same pace: silent (issue 16)
    expect(report()).toMatchObject({ code: 0, stdout: '' });
    appendFileSync(log, Array.from({ length: 15 }, (_, i) => blk(42, now + 120_000 + i * 1000)).join('\n') + '\n'); // far more
    const f = findingsOf(report().stdout);
    expect(f.map((x) => [x.id, x.count, x.ongoing?.before])).toEqual([[id, 15, 3]]);
    expect(xd(['ack', '--state', state, '--list']).stdout).toContain(id);
    expect(xd(['ack', '--state', state, '--remove', id]).stdout).toContain('removed');
    expect(xd(['ack', '--state', state, 'nothex']).code).toBe(3);
  });
});

describe('report: a state file that cannot be trusted', () => {
  it.each([
    ['corrupt', 'garbage{', /is corrupt/],
    ['foreign', JSON.stringify({ tool: 'other', positions: {} }), /not a xendoctor report state/],
    ['of another schema', JSON.stringify({ tool: 'xendoctor', kind: 'report-state', schema: 99 }), /schema 99/],
    [
      'with a bad pending threshold',
      JSON.stringify({
        tool: 'xendoctor',
        kind: 'report-state',
        schema: 1,
        created: '2026-11-20T00:00:00Z',
        lastRun: null,
        files: {},
        findings: {},
        pending: [{ rule: 'site-flap', host: null, key: { nic: 'eth0' }, recent: ['yesterday'], distinct: [] }],
      }),
      /bad "pending"/,
    ],
  ])('is set aside when %s, and everything is read as new', (_name, content, why) => {
    const { dir, log, state, report } = setup();
    writeFileSync(log, `${blk(1)}\n`);
    mkdirSync(join(dir, 'state'), { mode: 0o700 });
    writeFileSync(state, content, { mode: 0o600 });
    const r = report();
    expect(r.stderr).toMatch(why);
    expect(r.stderr).toMatch(/set aside as .*state\.json\.corrupt-\d{8}T\d{6}Z/);
    expect(findingsOf(r.stdout)).toHaveLength(1);
    const aside = readdirSync(join(dir, 'state')).filter((n) => n.startsWith('state.json.corrupt-'));
    expect(aside).toHaveLength(1);
    expect(readFileSync(join(dir, 'state', aside[0]!), 'utf8')).toBe(content);
    expect(JSON.parse(readFileSync(state, 'utf8'))).toMatchObject({ tool: 'xendoctor', kind: 'report-state', schema: 1 });
  });

  it('is set aside when others can write it', () => {
    const { log, state, report } = setup();
    writeFileSync(log, `${blk(1)}\n`);
    report();
    chmodSync(state, 0o666);
    const r = report();
    expect(r.stderr).toMatch(/writable by other users/);
    expect(findingsOf(r.stdout)).toHaveLength(1); // read again from the start: nothing lost
    expect(mode(state)).toBe(0o600);
  });
});

describe('report: the lock', () => {
  it('takes over a stale lock: its process is gone, or it is far too old', () => {
    const { log, state, report } = setup();
    mkdirSync(join(state, '..'), { recursive: true });
    const gone = spawnSync('true').pid!;
    writeFileSync(`${state}.lock`, JSON.stringify({ pid: gone, host: hostname(), started: new Date().toISOString(), token: 'x' }));
    writeFileSync(log, `${blk(1)}\n`);
    let r = report();
    expect(r.stderr).toMatch(new RegExp(`took over a stale lock .* \\(process ${gone} is gone\\)`));
    expect(findingsOf(r.stdout)).toHaveLength(1);
    // another host's lock cannot be checked: stale when older than six hours
    writeFileSync(`${state}.lock`, JSON.stringify({ pid: 1, host: 'other-host', started: new Date(0).toISOString(), token: 'y' }));
    const old = new Date(Date.now() - 7 * 3600_000);
    utimesSync(`${state}.lock`, old, old);
    appendFileSync(log, `${blk(2)}\n`);
    r = report();
    expect(r.stderr).toMatch(/took over a stale lock .* \(older than 360 minutes\)/);
    expect(findingsOf(r.stdout).map((f) => f.key.pid)).toEqual(['2']);
  });

  it('a second run waits, then exits 3 with a clear message', async () => {
    const { dir, log, state } = setup();
    writeFileSync(log, `${blk(1)}\n`);
    const jc = join(dir, 'journalctl');
    writeFileSync(jc, '#!/bin/sh\nsleep 30\n', { mode: 0o755 });
    let child: import('node:child_process').ChildProcess | undefined;
    const first = xdAsync(['report', '--state', state, '--journalctl', jc, log], {}, (c) => (child = c));
    for (let i = 0; i < 200 && !existsSync(`${state}.lock`); i++) await new Promise((r) => setTimeout(r, 50));
    expect(mode(`${state}.lock`)).toBe(0o600);
    const second = await xdAsync(['report', '--state', state, '--wait', '1', log]);
    expect(second.code).toBe(3);
    expect(second.stderr).toMatch(/another xendoctor report run holds the lock .*\(pid \d+ on /);
    child!.kill('SIGTERM');
    const r = await first;
    // SIGTERM is handled: the lock released, then exit 128 + 15
    expect({ code: r.code, signal: r.signal }).toEqual({ code: 143, signal: null });
    expect(existsSync(`${state}.lock`)).toBe(false); // released on SIGTERM
    expect(existsSync(state)).toBe(false); // nothing delivered, nothing remembered
  });
});

describe('report: hypervisor console', () => {
  const xen = (n: number) => `(XEN) parameter "p${n}" unknown!`;
  it('analyses only console lines not seen before, and says when the ring buffer wrapped', () => {
    const { dir, state } = setup();
    const xl = join(dir, 'xl');
    const buf = join(dir, 'console.txt');
    writeFileSync(xl, `#!/bin/sh\n[ "$1" = dmesg ] && exec cat ${buf}\nexit 1\n`, { mode: 0o755 });
    const lines = [' Xen 4.17', '(XEN) Xen version 4.17.7 (Debian)', xen(1), '(XEN) Scrubbing Free RAM in background', xen(2)];
    writeFileSync(buf, lines.join('\n') + '\n');
    const run = () => xd(['report', '--state', state, '--format', 'json', '--xl', xl, ...ONLY]);
    let f = findingsOf(run().stdout);
    expect(f.map((x) => x.key.param).sort()).toEqual(['p1', 'p2']);
    expect(f.find((x) => x.key.param === 'p2')!.evidence[0]).toMatchObject({ source: `${xl} dmesg`, line: 5 });
    expect(run()).toMatchObject({ code: 0, stdout: '' });

    lines.push(xen(3), '(XEN) grant table ok', xen(4));
    writeFileSync(buf, lines.join('\n') + '\n');
    f = findingsOf(run().stdout);
    expect(f.map((x) => [x.key.param, x.evidence[0]!.line])).toEqual([
      ['p3', 6],
      ['p4', 8],
    ]);

    // wrapped: the front fell off (the first line cut in the middle), our last lines still there
    const wrapped = ['ble ok', xen(4), xen(5)];
    writeFileSync(buf, wrapped.join('\n') + '\n');
    let r = run();
    expect(findingsOf(r.stdout).map((x) => x.key.param)).toEqual(['p5']);
    expect(r.stderr).toBe('');

    // overrun: nothing of what was seen is left
    writeFileSync(buf, [xen(6), xen(7)].join('\n') + '\n');
    r = run();
    expect(
      findingsOf(r.stdout)
        .map((x) => x.key.param)
        .sort(),
    ).toEqual(['p6', 'p7']);
    expect(r.stderr).toMatch(/ring buffer wrapped .* may be missing/);
  });

  it('finds the place by the remembered lines', () => {
    const first = consoleNews(Buffer.from('a\nb\nc\n'), undefined, 'xl dmesg');
    expect(first.newLines).toBe(3);
    const grown = consoleNews(Buffer.from('a\nb\nc\nd\n'), first.mark, 'xl dmesg');
    expect([grown.data.toString(), grown.lineBase, grown.note]).toEqual(['d\n', 3, null]);
    const restarted = consoleNews(Buffer.from('(XEN) Xen version 4.17\nx\n'), grown.mark, 'xl dmesg');
    expect(restarted.newLines).toBe(2);
    expect(restarted.note).toMatch(/starts anew/);
  });
});

describe('report: the journal', () => {
  it('reads after the stored cursor, and falls back to the boot when the cursor is gone', () => {
    const { dir, state } = setup();
    const entries = join(dir, 'entries.jsonl');
    const jc = join(dir, 'journalctl');
    const calls = join(dir, 'calls');
    writeFileSync(
      jc,
      `#!/usr/bin/env node
const fs = require('fs');
fs.appendFileSync(${JSON.stringify(calls)}, process.argv.slice(2).join(' ') + '\\n');
const lines = fs.readFileSync(${JSON.stringify(entries)}, 'utf8').split('\\n').filter(Boolean);
const after = process.argv.find((a) => a.startsWith('--after-cursor='));
let from = 0;
if (after) {
  const i = lines.findIndex((l) => JSON.parse(l).__CURSOR === after.slice(15));
  if (i < 0) { process.stderr.write('Failed to seek to cursor: Invalid argument\\n'); process.exit(1); }
  from = i + 1;
}
process.stdout.write(lines.slice(from).map((l) => l + '\\n').join(''));
`,
      { mode: 0o755 },
    );
    const entry = (i: number, pid: number | null) =>
      JSON.stringify({
        __CURSOR: `s=abc;i=${i};b=f00;m=1;t=5f;x=${i}`,
        __REALTIME_TIMESTAMP: String(Date.parse('2026-11-20T08:01:10Z') * 1000 + i),
        _HOSTNAME: 'xen07',
        SYSLOG_IDENTIFIER: 'kernel',
        _TRANSPORT: 'kernel',
        MESSAGE:
          pid === null
            ? `xenbr0: port ${i} entered forwarding state`
            : `INFO: task blkback.111.xvda:${pid} blocked for more than 120 seconds.`,
      });
    writeFileSync(entries, [entry(1, null), entry(2, 100), entry(3, null)].join('\n') + '\n');
    const run = () => xd(['report', '--state', state, '--format', 'json', '--journalctl', jc, ...ONLY]);
    expect(findingsOf(run().stdout).map((f) => f.key.pid)).toEqual(['100']);
    appendFileSync(entries, [entry(4, 101), entry(5, null)].join('\n') + '\n');
    expect(findingsOf(run().stdout).map((f) => f.key.pid)).toEqual(['101']);
    expect(run().stdout).toBe('');
    expect(readFileSync(calls, 'utf8').trim().split('\n')).toEqual([
      '-o json --no-pager -q -b',
      '-o json --no-pager -q --after-cursor=s=abc;i=3;b=f00;m=1;t=5f;x=3',
      '-o json --no-pager -q --after-cursor=s=abc;i=5;b=f00;m=1;t=5f;x=5',
    ]);
    // the journal was vacuumed: the stored cursor is unknown
    writeFileSync(entries, [entry(10, 102)].join('\n') + '\n');
    const r = run();
    expect(findingsOf(r.stdout).map((f) => f.key.pid)).toEqual(['102']);
    expect(r.stderr).toMatch(/cursor stored by the last run is no longer valid/);
  });

  it('says that journalctl cannot be run, and still reports the logs (no crash)', () => {
    const { log, state } = setup();
    writeFileSync(log, `${blk(7)}\n`);
    const r = xd(['report', '--state', state, '--format', 'json', '--journalctl', '/nonexistent/journalctl', ...ONLY, log]);
    expect(r.stderr).not.toMatch(/\n\s+at |node:internal/);
    expect(r.stderr).toMatch(/cannot run \/nonexistent\/journalctl: ENOENT/);
    expect(findingsOf(r.stdout).map((f) => f.key.pid)).toEqual(['7']);
  });
});

describe('report: metrics and e-mail format', () => {
  it('prints node_exporter textfile metrics, or writes them atomically with --textfile', () => {
    const { dir, log, state } = setup();
    writeFileSync(log, `${blk(1)}\n${blk(2)}\n${blk(2, Date.parse('2026-11-20T08:01:11Z'))}\n`);
    const r = xd(['report', '--state', state, '--format', 'prometheus', ...ONLY, log]);
    expect(r.stdout).toContain('# TYPE xendoctor_findings gauge');
    expect(r.stdout).toContain('xendoctor_findings{rule="blkback-hung-task",severity="error",host="xen07"} 2');
    expect(r.stdout).toContain('xendoctor_finding_lines{rule="blkback-hung-task",severity="error",host="xen07"} 3');
    expect(r.stdout).toContain('xendoctor_findings_by_severity{severity="critical"} 0');
    expect(r.stdout).toMatch(/^xendoctor_last_success_timestamp_seconds \d{10}$/m);
    const prom = join(dir, 'textfile', 'xendoctor.prom');
    appendFileSync(log, `${blk(3)}\n`);
    const w = xd(['report', '--state', state, '--textfile', prom, '--quiet', ...ONLY, log]);
    expect(w.code).toBe(2);
    expect(w.stdout).toContain('blkback'); // the report itself still printed
    const text = readFileSync(prom, 'utf8');
    expect(text).toContain('xendoctor_finding_lines{rule="blkback-hung-task",severity="error",host="xen07"} 1');
    expect(text).toContain('xendoctor_finding_lines_total{rule="blkback-hung-task",severity="error",host="xen07"} 4');
    expect(mode(prom)).toBe(0o644);
    expect(readdirSync(join(dir, 'textfile'))).toEqual(['xendoctor.prom']);
    // nothing new: metrics written all the same (zero findings), nothing printed
    const q = xd(['report', '--state', state, '--textfile', prom, ...ONLY, log]);
    expect(q).toMatchObject({ code: 0, stdout: '' });
    expect(readFileSync(prom, 'utf8')).toContain('xendoctor_findings_by_severity{severity="error"} 0');
  });

  it('prints a complete MIME message with --format email; log text never reaches a header raw, and is escaped in HTML', async () => {
    const { log, state } = setup();
    writeFileSync(log, `${blk(5, undefined, 'xen07', ' <script>alert("x")</script>')}\n`);
    const r = xd(['report', '--state', state, '--format', 'email', ...ONLY, log]);
    expect(r.code).toBe(2);
    const head = r.stdout.slice(0, r.stdout.indexOf('\n\n'));
    expect(head).toMatch(/^From: xendoctor@/m);
    expect(head).toMatch(/^To: root@/m);
    expect(head).toMatch(/^Date: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d \+0000$/m);
    expect(head).toMatch(/^Message-ID: <[^>\s]+@[^>\s]+>$/m);
    expect(head).toMatch(/^Content-Type: multipart\/alternative;/m);
    const m = await simpleParser(r.stdout);
    expect(m.subject).toBe('xendoctor: xen07: 1 error');
    expect(m.text).toContain('INFO: task blkback.111.xvda:5 blocked');
    expect(m.text).toMatch(/id: [0-9a-f]{16}/);
    expect(m.html).toBeTruthy();
    expect(m.html as string).not.toContain('<script>');
    expect(m.html as string).toContain('&#60;script&#62;');
    expect(m.headers.get('x-xendoctor-rules')).toBe('blkback-hung-task');
    expect(m.headers.get('auto-submitted')).toBe('auto-generated');
  });

  it('encodes header values: no CR or LF from a log ever starts a header', () => {
    const evil = 'xendoctor: xen07\r\nBcc: victim@example.org\r\n\r\nbody: 1 error';
    const h = headerValue('Subject', evil, '\r\n');
    expect(h.split('\r\n').every((l, i) => i === 0 || l.startsWith(' '))).toBe(true);
    expect(h).not.toMatch(/\r\nBcc:/);
    const u = headerValue('Subject', 'xendoctor: xén07: 1 error', '\r\n');
    expect(u).toMatch(/^Subject: =\?UTF-8\?B\?[A-Za-z0-9+/=]+\?=$/);
    const long = headerValue('Subject', 'ß'.repeat(200), '\r\n');
    expect(long.split('\r\n').every((l) => l.length <= 78)).toBe(true);
  });

  it('quoted-printable keeps lines short and dots and "From " harmless', () => {
    const qp = quotedPrintable(`.\nFrom here\n${'x'.repeat(200)}\ntrailing \nü=`, '\n');
    const lines = qp.split('\n');
    expect(lines.every((l) => l.length <= 76)).toBe(true);
    expect(lines[0]).toBe('=2E');
    expect(lines[1]).toBe('=46rom here');
    expect(qp).toContain('trailing=20');
    expect(qp).toContain('=C3=BC=3D');
    void stamp;
  });
});
