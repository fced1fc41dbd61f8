/**
 * `xendoctor scan`'s own paths through the real binary (src/cli/scan.ts): the host's default logs
 * when nothing is piped or named (XENDOCTOR_LOG_ROOT stands for /), nothing to read at all (also as
 * a nagios UNKNOWN), the undated-lines note in the plural, --verbose's input list, when an empty
 * input is worth a message, and --no-unrecognized.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { json, tmp, xd } from './helpers.js';
import { blk } from './report-helpers.js';

/** A log root (what / stands for) with the given files under var/log, and a PATH with neither xl nor journalctl. */
function host(files: Record<string, string>): { root: string; env: NodeJS.ProcessEnv } {
  const root = tmp('xd-scan-root-');
  const bin = join(root, 'empty-bin');
  mkdirSync(bin);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(root, 'var', 'log', name, '..'), { recursive: true });
    writeFileSync(join(root, 'var', 'log', name), text);
  }
  return { root, env: { ...process.env, TZ: 'UTC', NO_COLOR: '1', XENDOCTOR_LOG_ROOT: root, PATH: bin } };
}

const HUNG = '[  100.000000] INFO: task jbd2/sda1-8:312 blocked for more than 120 seconds.\n';

describe('scan with nothing piped and no file named', () => {
  it("reads this host's logs and says which", () => {
    const { root, env } = host({ 'kern.log': `${blk(4242)}\n`, 'xen/xl-guest.log': 'nothing of note\n' });
    const r = xd(['--format', 'json', '--only', 'blkback-hung-task'], undefined, { env });
    expect(r.stderr).toBe(
      `xendoctor: nothing piped and no file named; reading this host's logs: ${join(root, 'var/log/kern.log')}, ${join(root, 'var/log/xen/xl-guest.log')}\n`,
    );
    expect(json(r).findings.map((f) => [f.rule, f.key.pid])).toEqual([['blkback-hung-task', '4242']]);
    // --quiet: the same reading, no note
    const q = xd(['--format', 'json', '--quiet', '--only', 'blkback-hung-task'], undefined, { env });
    expect(q.stderr).toBe('');
    expect(json(q).findings).toHaveLength(1);
  });

  it('with none of the usual logs there: says so, exit 3; nagios prints UNKNOWN', () => {
    const { env } = host({});
    const r = xd(['--format', 'json'], undefined, { env });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("nothing piped, no file named, and none of this host's usual logs");
    expect(r.stderr).toContain('no input could be read');
    expect(r.stdout).toBe('');
    const n = xd(['--format', 'nagios', '--quiet'], undefined, { env });
    expect(n.code).toBe(3);
    expect(n.stdout).toMatch(/^XENDOCTOR UNKNOWN - no input could be read/);
    expect(n.stderr).not.toContain('nothing piped');
  });
});

describe('scan notes', () => {
  it('--since: the undated lines kept, in the plural', () => {
    const r = xd(['--since', '2026-11-20T08:00:00Z', '--format', 'json', '-'], HUNG + HUNG.replace('312', '313'));
    expect(r.stderr).toMatch(/--since\/--until: 2 lines that could match a rule carry no time and were kept/);
  });

  it('--verbose lists each input with its lines and bytes', () => {
    const dir = tmp('xd-scan-');
    const log = join(dir, 'kern.log');
    writeFileSync(log, `${blk(7)}\n${blk(8)}\n`);
    const r = xd(['--verbose', '--format', 'json', '--only', 'blkback-hung-task', log]);
    const bytes = Buffer.byteLength(`${blk(7)}\n${blk(8)}\n`);
    expect(r.stderr).toMatch(new RegExp(`^read ${log}: 2 lines, ${bytes} bytes 2026-11-20T08:01:10`, 'm'));
    expect(xd(['--format', 'json', '--only', 'blkback-hung-task', log]).stderr).toBe('');
  });

  it('an empty input is worth a message only when it is the only one', () => {
    const dir = tmp('xd-scan-');
    const empty = join(dir, 'empty.log');
    const full = join(dir, 'kern.log');
    writeFileSync(empty, '');
    writeFileSync(full, `${blk(9)}\n`);
    const alone = xd(['--format', 'json', empty]);
    expect(alone.stderr).toBe(`xendoctor: ${empty}: empty input\n`);
    const both = xd(['--format', 'json', '--only', 'blkback-hung-task', empty, full]);
    expect(both.stderr).toBe('');
    expect(json(both).findings).toHaveLength(1);
  });

  it('--no-unrecognized leaves out the unrecognised messages', () => {
    const text = Array.from(
      { length: 30 },
      (_, i) => `Nov 20 08:00:${String(i).padStart(2, '0')} xen07 kernel: frobnicator 3 failed: error -5\n`,
    ).join('');
    const withThem = xd(['--format', 'json', '-'], text);
    expect((JSON.parse(withThem.stdout) as { unrecognized: unknown[] }).unrecognized.length).toBeGreaterThan(0);
    const without = xd(['--format', 'json', '--no-unrecognized', '-'], text);
    expect((JSON.parse(without.stdout) as { unrecognized: unknown[] }).unrecognized).toEqual([]);
  });
});
