/**
 * `--format nagios`: the Monitoring Plugins output (one status line `XENDOCTOR STATE - text |
 * perfdata`, long output after it) for scan, report and check, its state word always the exit code's.
 */
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, tmp, xd, type Run } from './helpers.js';
import { blk, filler } from './report-helpers.js';

const STATES = ['OK', 'WARNING', 'CRITICAL', 'UNKNOWN'];
/** Monitoring Plugins guidelines: 'label'=value[UOM];[warn];[crit];[min];[max] (trailing fields may be left off) */
const PERF = /^('[^'=]+'|[^ '=]+)=(-?[0-9.]+)(us|ms|s|%|B|KB|MB|TB|c)?(;[0-9.:~@-]*(;[0-9.:~@-]*(;[0-9.-]*(;[0-9.-]*)?)?)?)?$/;

interface Plugin {
  state: string;
  text: string;
  perf: Record<string, number>;
  long: string[];
}

/** Parse plugin output as Nagios/Icinga do, and check it against the guidelines. */
function plugin(r: Run): Plugin {
  const [first, ...long] = r.stdout.replace(/\n$/, '').split('\n');
  const m = /^XENDOCTOR (OK|WARNING|CRITICAL|UNKNOWN) - ([^|]*?)(?: \| (.*))?$/.exec(first ?? '');
  expect(m, `status line: ${first}`).not.toBeNull();
  const perf: Record<string, number> = {};
  for (const p of (m![3] ?? '').split(' ').filter(Boolean)) {
    expect(p).toMatch(PERF);
    perf[p.split('=')[0]!] = Number(p.split('=')[1]!.split(';')[0]);
  }
  for (const l of long) expect(l).not.toContain('|');
  // the state word is the exit code's
  expect(STATES[r.code]).toBe(m![1]);
  return { state: m![1]!, text: m![2]!, perf, long };
}

const SAMPLES = join(ROOT, 'samples');

describe('--format nagios', () => {
  it('scan: CRITICAL with the counts by severity as perfdata, one long-output line per finding', () => {
    const files = ['xen-panic.log', 'blkback-hung-task.log'].map((f) => join(SAMPLES, f));
    const p = plugin(xd(['--format', 'nagios', ...files]));
    const j = JSON.parse(xd(['--format', 'json', ...files]).stdout) as {
      summary: Record<string, number>;
      findings: { id: string; severity: string }[];
    };
    expect(p.state).toBe('CRITICAL');
    for (const s of ['critical', 'error', 'warning', 'info']) expect(p.perf[s]).toBe(j.summary[s]);
    expect(p.perf.findings).toBe(j.findings.length);
    expect(p.perf.lines).toBeGreaterThan(0);
    expect(p.long).toHaveLength(j.findings.length);
    for (const f of j.findings) expect(p.long.some((l) => l.includes(`[${f.id}]`))).toBe(true);
    // worst first: the status text names a critical finding
    expect(p.long[0]).toMatch(/^CRITICAL /);
    // the counts read as in the text report's summary ("2 errors", not "2 error")
    const said = ['critical', 'error', 'warning', 'info']
      .filter((s) => j.summary[s]! > 0)
      .map((s) => `${j.summary[s]} ${s}${j.summary[s] === 1 || s === 'critical' || s === 'info' ? '' : 's'}`);
    expect(said.length).toBeGreaterThan(1);
    expect(p.text.split(': ')[0]).toBe(said.join(', '));
  });

  it('scan: --fail-on moves the state with the exit code; nothing found is OK', () => {
    const warn = join(tmp('xd-nagios-'), 'kern.log');
    writeFileSync(warn, blk(4242) + '\n');
    expect(plugin(xd(['--format', 'nagios', '--only', 'blkback-hung-task', warn])).state).not.toBe('OK');
    expect(plugin(xd(['--format', 'nagios', '--fail-on', 'critical', '--only', 'blkback-hung-task', warn])).state).toBe('OK');
    const ok = plugin(xd(['--format', 'nagios'], 'Nov 20 08:00:00 xen07 kernel: all quiet\n'));
    expect(ok).toMatchObject({ state: 'OK', text: 'no known failure signature found', long: [] });
    expect(ok.perf).toMatchObject({ critical: 0, error: 0, warning: 0, info: 0, lines: 1 });
  });

  it('UNKNOWN with a status line on stdout when the job cannot be done (exit 3)', () => {
    expect(plugin(xd(['--format', 'nagios', '/nonexistent/kern.log'])).state).toBe('UNKNOWN');
    const bad = plugin(xd(['--format=nagios', '--tz', 'Mars/Olympus', '-'], 'x\n'));
    expect(bad.text).toContain('--tz');
    expect(plugin(xd(['--format', 'nagios', '--no-such-option'])).state).toBe('UNKNOWN');
  });

  it('report: OK line when nothing is new (never silence: a plugin must print), the state of the new findings otherwise', () => {
    const dir = tmp('xd-nagios-report-');
    const log = join(dir, 'kern.log');
    const args = ['report', '--state', join(dir, 'state.json'), '--format', 'nagios', '--only', 'blkback-hung-task', log];
    writeFileSync(log, filler(3) + '\n');
    expect(plugin(xd(args)).state).toBe('OK');
    writeFileSync(log, filler(3) + '\n' + blk(777) + '\n');
    const p = plugin(xd(args));
    expect(p.state).not.toBe('OK');
    expect(p.perf.findings).toBe(1);
    const again = plugin(xd(args));
    expect(again).toMatchObject({ state: 'OK', long: [] });
  });

  it('check: OK on a healthy host, WARNING or CRITICAL on a pitfall, UNKNOWN when nothing could be checked', () => {
    const healthy = join(ROOT, 'test', 'fixtures', 'hosts', 'healthy');
    const caps = (d: string) => ['--xl-info', join(d, 'xl-info.txt'), '--xl-list', join(d, 'xl-list.txt'), '--df', join(d, 'df.txt')];
    expect(plugin(xd(['check', '--root', healthy, ...caps(healthy), '--format', 'nagios'])).state).toBe('OK');
    const bad = tmp('xd-nagios-check-');
    cpSync(healthy, bad, { recursive: true });
    cpSync(join(ROOT, 'test', 'fixtures', 'hosts', 'dom0-uncapped'), bad, { recursive: true, force: true });
    const p = plugin(xd(['check', '--root', bad, ...caps(bad), '--format', 'nagios']));
    expect(['WARNING', 'CRITICAL']).toContain(p.state);
    expect(p.long.join('\n')).toMatch(/dom0/i);
    expect(plugin(xd(['check', '--root', tmp('xd-nagios-empty-'), '--format', 'nagios'])).state).toBe('UNKNOWN');
  });
});
