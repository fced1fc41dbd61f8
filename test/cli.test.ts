/** The CLI through its public surface: the real binary, its stdout, stderr and exit code. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, json, siteRuleDir, tmp, xd } from './helpers.js';
import { xdAsync } from './report-helpers.js';

const BLKBACK =
  [
    'Nov 20 08:01:10 xen07 kernel: [812345.123456] INFO: task blkback.111.xvda:2162 blocked for more than 120 seconds.',
    'Nov 20 08:01:10 xen07 kernel: [812345.123460] "echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.',
    'Nov 20 08:01:10 xen07 kernel: [812345.123480] Call Trace:',
    'Nov 20 08:01:10 xen07 kernel: [812345.123490]  [<ffffffff812fd0b1>] io_schedule+0x5d/0x80',
    'Nov 20 08:01:11 xen07 kernel: [812346.000000] xen-blkback: backend/vbd/111/51712: prepare for reconnect',
  ].join('\n') + '\n';
const HEALTHY =
  [
    'Nov 20 08:00:01 xen07 CRON[1234]: (root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)',
    'Nov 20 08:00:02 xen07 kernel: [812300.000000] xenbr0: port 2(vif3.0) entered forwarding state',
    'Nov 20 08:00:03 xen07 systemd[1]: Started Session 42 of user root.',
  ].join('\n') + '\n';

let dir: string;
beforeAll(() => {
  dir = tmp();
  writeFileSync(join(dir, 'kern.log'), BLKBACK);
  writeFileSync(join(dir, 'healthy.log'), HEALTHY);
  writeFileSync(join(dir, 'kern.log.1.gz'), gzipSync(Buffer.from(HEALTHY)));
  const gz = gzipSync(Buffer.from(BLKBACK.repeat(2000)));
  writeFileSync(join(dir, 'truncated.log.gz'), gz.subarray(0, Math.floor(gz.length / 2)));
  writeFileSync(join(dir, 'random.bin'), randomBytes(10 * 1024 * 1024));
});

describe('scan', () => {
  it('finds a blkback hung task and fills its fix with the PID and the guest id', () => {
    const r = xd(['--format', 'json', join(dir, 'kern.log')]);
    expect(r.code).toBe(2);
    const f = json(r).findings.find((x) => x.rule === 'blkback-hung-task')!;
    expect(f.key).toMatchObject({ domid: '111', pid: '2162' });
    expect(f.host).toBe('xen07');
    expect(f.fix.join('\n')).toContain('ionice -p 2162 -c 2 -n 7');
    expect(f.fix.join('\n')).toMatch(/\b111\b/);
  });

  it('gives the same findings piped as from a file', () => {
    const a = json(xd(['--format', 'json', join(dir, 'kern.log')])).findings.map((f) => [f.id, f.count]);
    const b = json(xd(['--format', 'json'], BLKBACK)).findings.map((f) => [f.id, f.count]);
    const c = json(xd(['--format', 'json', '-'], BLKBACK)).findings.map((f) => [f.id, f.count]);
    expect(b).toEqual(a);
    expect(c).toEqual(a);
  });

  it('reads gzip from stdin too', () => {
    const r = xd(['--format', 'json'], gzipSync(Buffer.from(BLKBACK)));
    expect(json(r).findings.map((f) => f.rule)).toContain('blkback-hung-task');
  });

  it('exits 0 on a healthy log and prints the summary', () => {
    const r = xd([join(dir, 'healthy.log')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('no findings');
  });

  it('exits 1 when the worst finding is a warning, and honours --fail-on', () => {
    const line = 'Nov 20 08:01:10 xen07 kernel: [1.0] INFO: task jbd2/dm-0-8:345 blocked for more than 120 seconds.\n';
    const r = xd(['--format', 'json', '--only', 'hung-task'], line);
    expect(json(r).findings[0]?.severity).toBe('warning');
    expect(r.code).toBe(1);
    expect(xd(['--fail-on', 'error', '--only', 'hung-task'], line).code).toBe(0);
  });

  it('reports a missing file and still analyses the others', () => {
    const r = xd(['--format', 'json', join(dir, 'nope.log'), join(dir, 'kern.log')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('nope.log: no such file');
    const inputs = json(r).inputs;
    expect(inputs.find((i) => i.source.endsWith('nope.log'))?.errors[0]).toContain('no such file');
    expect(json(r).findings.length).toBeGreaterThan(0);
  });

  it('exits 3 when nothing at all could be read', () => {
    const r = xd([join(dir, 'nope.log')]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('no input could be read');
  });

  it('reports a truncated .gz and keeps the findings from what was readable', () => {
    const r = xd(['--format', 'json', join(dir, 'truncated.log.gz')]);
    expect(r.stderr).toMatch(/truncated\.log\.gz: read error after \d+ lines: truncated gzip/);
    const f = json(r).findings.find((x) => x.rule === 'blkback-hung-task');
    expect(f?.count).toBeGreaterThan(10);
    expect(r.code).toBe(2);
  });

  it('survives 10 MB of random bytes', () => {
    const r = xd(['--format', 'json', join(dir, 'random.bin')]);
    expect([0, 1, 2]).toContain(r.code);
    expect(json(r).inputs[0]!.lines).toBeGreaterThan(0);
  });

  it('reads a rotated set oldest first', () => {
    const r = xd(['--format', 'json', join(dir, 'kern.log'), join(dir, 'kern.log.1.gz')]);
    expect(json(r).inputs.map((i) => i.source.replace(dir + '/', ''))).toEqual(['kern.log.1.gz', 'kern.log']);
  });

  it('walks a folder', () => {
    const r = xd(['--format', 'json', dir]);
    expect(json(r).inputs.length).toBeGreaterThanOrEqual(4);
  });

  it('skips Markdown notes in a folder (the bundled samples have a README), but reads one when named', () => {
    const lab = join(ROOT, 'samples', 'lab');
    const walked = json(xd(['--format', 'json', lab])).inputs.map((i) => i.source);
    expect(walked.some((s) => s.endsWith('.md'))).toBe(false);
    expect(walked.length).toBeGreaterThan(10);
    const named = json(xd(['--format', 'json', join(lab, 'README.md')])).inputs.map((i) => i.source);
    expect(named).toEqual([join(lab, 'README.md')]);
  });

  it('cuts a line over 64 KiB with a note, and still finds what follows', () => {
    const r = xd(['--format', 'json'], 'x'.repeat(300_000) + '\n' + BLKBACK);
    expect(json(r).inputs[0]!.errors.join(' ')).toMatch(/cut at 65536|cut/);
    expect(json(r).findings.map((f) => f.rule)).toContain('blkback-hung-task');
  });

  it('neutralises control characters of log text in the text report', () => {
    const evil =
      'Nov 20 08:01:10 xen07 kernel: [1.0] INFO: task blkback.7.xvda:99 blocked for more than 120 seconds. \x1b[2J\x1b]0;pwned\x07\n';
    const r = xd(['--no-color'], evil);
    expect(r.stdout).not.toMatch(/\x1b|\x07/);
    expect(r.stdout).toContain('\\x1b[2J');
  });

  it('keeps invalid UTF-8 and NUL bytes from breaking the JSON', () => {
    const bad = Buffer.concat([
      Buffer.from('Nov 20 08:01:10 xen07 kernel: [1.0] INFO: task blkback.7.xvda:99 blocked for more than 120 seconds. '),
      Buffer.from([0xff, 0xfe, 0x00, 0xc3]),
      Buffer.from('\r\n'),
    ]);
    const r = xd(['--format', 'json'], bad);
    expect(json(r).findings[0]!.rule).toBe('blkback-hung-task');
  });

  it('prints ndjson, one finding per line', () => {
    const r = xd(['--format', 'ndjson', join(dir, 'kern.log')]);
    const lines = r.stdout.trim().split('\n');
    expect(lines.length).toBeGreaterThan(0);
    for (const l of lines) expect(JSON.parse(l).rule).toBeTruthy();
  });

  it('prints markdown', () => {
    const r = xd(['--format', 'markdown', join(dir, 'kern.log')]);
    expect(r.stdout).toContain('# xendoctor report');
    expect(r.stdout).toContain('`blkback-hung-task`');
  });

  it('rejects bad usage with exit 3', () => {
    expect(xd(['--bogus']).code).toBe(3);
    expect(xd(['--since', 'whenever', join(dir, 'kern.log')]).code).toBe(3);
    expect(xd(['--tz', 'Mars/Olympus', join(dir, 'kern.log')]).code).toBe(3);
    expect(xd(['--only', 'no-such-rule', join(dir, 'kern.log')]).code).toBe(3);
  });

  it("reads the host's TZ as the C library does: empty or unknown to ICU is UTC, not a bad --tz", async () => {
    const log = 'Nov 20 08:00:00 xen07 kernel: [100.0] INFO: task blkback.7.xvda:4242 blocked for more than 120 seconds.\n';
    for (const TZ of ['', 'Foo/Bar', 'UTC0', 'Europe/Berlin']) {
      const r = await xdAsync(['--format', 'json', '--year', '2026', '-'], { TZ }, undefined, log);
      expect({ TZ, code: r.code, stderr: r.stderr }).toEqual({ TZ, code: 2, stderr: '' });
      const doc = JSON.parse(r.stdout) as { findings: { first: string }[] };
      expect(doc.findings[0]!.first).toBe(TZ === 'Europe/Berlin' ? '2026-11-20T07:00:00Z' : '2026-11-20T08:00:00Z');
    }
  });

  it('filters by --since', () => {
    const r = xd(['--format', 'json', '--since', '2026-11-21T00:00:00Z', '--year', '2026', join(dir, 'kern.log')]);
    expect(json(r).findings).toEqual([]);
  });
});

describe('rule files', () => {
  it('reports every problem of a broken rule file with file, line and field, exit 3', () => {
    const rd = join(tmp(), 'site-rules');
    mkdirSync(rd);
    writeFileSync(
      join(rd, 'my-rule.yaml'),
      [
        'id: my-rule',
        'title: Mine',
        'severity: fatal',
        'patterns:',
        "  - 'unclosed (group'",
        'diagnosis: something long enough',
        'fix: [do it]',
        'colour: red',
        '',
      ].join('\n'),
    );
    const r = xd(['--rules', rd, join(dir, 'kern.log')]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('my-rule.yaml:3: severity');
    expect(r.stderr).toContain('colour: unknown field');
  });

  it('reports a bad regex with its line', () => {
    const rd = join(tmp(), 'site-rules');
    mkdirSync(rd);
    writeFileSync(
      join(rd, 'my-rule.yaml'),
      [
        'id: my-rule',
        'title: Mine',
        'severity: error',
        'patterns:',
        "  - 'unclosed (group'",
        'diagnosis: something long enough',
        'fix: [do it]',
        '',
      ].join('\n'),
    );
    const r = xd(['--rules', rd, join(dir, 'kern.log')]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/my-rule\.yaml:5: patterns\.0: invalid regular expression/);
  });

  // asynchronous: each `rules test` rechecks the rules' patterns, 20 s and more on a loaded machine (test/setup/stall.ts)
  it('tests a folder of site rules against their samples', async () => {
    const base = tmp();
    const rd = join(base, 'rules');
    mkdirSync(rd);
    mkdirSync(join(base, 'samples'));
    writeFileSync(
      join(rd, 'site-raid.yaml'),
      [
        'id: site-raid',
        'title: RAID {md} degraded',
        'severity: error',
        'sources: [kernel]',
        'key: [md]',
        'patterns:',
        "  - 'md/raid1:(?<md>md\\d+): Disk failure on'",
        'diagnosis: A mirror lost a disk; the array runs degraded.',
        "fix: ['mdadm --detail /dev/{md}']",
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(base, 'samples', 'site-raid.log'),
      [
        '# expect: site-raid {"md":"md0"}',
        'Nov 20 08:01:10 xen07 kernel: [1.0] md/raid1:md0: Disk failure on sdb1, disabling device.',
        '# expect: none',
        'Nov 20 08:01:10 xen07 kernel: [1.0] md/raid1:md0: active with 2 out of 2 mirrors',
        '',
      ].join('\n'),
    );
    const ok = await xdAsync(['rules', 'test', rd]);
    expect(ok.stdout).toContain('2 passed, 0 failed');
    expect(ok.code).toBe(0);
    writeFileSync(
      join(base, 'samples', 'site-raid.log'),
      [
        '# expect: site-raid {"md":"md1"}',
        'Nov 20 08:01:10 xen07 kernel: [1.0] md/raid1:md0: Disk failure on sdb1, disabling device.',
        '',
      ].join('\n'),
    );
    const bad = await xdAsync(['rules', 'test', rd]);
    expect(bad.code).toBe(2);
    expect(bad.stdout).toContain('missing site-raid');
    expect(bad.stdout).toContain('no near-miss case');
  });

  it('lists and shows rules', () => {
    const l = xd(['rules', 'list', '--format', 'json']);
    expect(JSON.parse(l.stdout).rules.length).toBeGreaterThan(0);
    const s = xd(['rules', 'show', 'blkback-hung-task']);
    expect(s.stdout).toContain('ionice');
    expect(xd(['rules', 'show', 'nope']).code).toBe(3);
  });
});

describe('site rules and the prefilter', () => {
  // the literals a line must hold before a rule's regex runs once took the digits of ".{0,1000}" as text:
  // a rule "^io.{0,1000}fail" then needed "0,1000" in the line and never found one
  it.each([
    ['^io.{0,1000}fail', 'io to sda fail'],
    ['^io\\d{1,1000}fail', 'io12fail'],
    ['^iox{0,1000}fail', 'ioxxfail'],
    // a brace of the text after a literal once made the literal " : failed", which the line does not hold
    ['Error {code}: failed', 'Error {code}: failed'],
  ])('a pattern with a counted repeat of a non-literal atom, or a brace, finds its lines: %s', (pattern, line) => {
    const r = xd(['--rules', siteRuleDir(pattern), '--format', 'json', '-'], `Nov 20 08:01:10 xen07 kernel: ${line}\n`);
    expect(json(r).findings.map((f) => [f.rule, f.count])).toContainEqual(['site-slow', 1]);
  });
});

describe('hostless lines joining the one named host: a count threshold', () => {
  // the host's syslog has hits at 08:00:00 and 08:01:40, a piped console (no host) one at 08:00:05:
  // 2 within 10 s, as one input read in time order. The merge of the two groups once replayed only
  // their last windows (the host's 08:01:40 alone) and missed it
  it('fires when a hostless hit makes the count with a host hit its group had let expire', async () => {
    const d = tmp();
    const rules = join(d, 'site');
    mkdirSync(rules);
    writeFileSync(
      join(rules, 'site-flap.yaml'),
      [
        'id: site-flap',
        'title: A link flaps',
        'severity: warning',
        'patterns:',
        "  - 'link flapped on (?<nic>eth\\d+)'",
        'threshold: { count: 2, within: 10s }',
        'diagnosis: A link went down and up again, twice within seconds.',
        'fix: [check the cable]',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(d, 'syslog'),
      'Nov 20 08:00:00 xen07 kernel: [100.0] link flapped on eth0\nNov 20 08:01:40 xen07 kernel: [200.0] link flapped on eth0\n',
    );
    const found = async (consoleTime: string) => {
      const args = ['--format', 'json', '--year', '2026', '--rules', rules, '--only', 'site-flap', join(d, 'syslog'), '-'];
      const r = await xdAsync(args, {}, undefined, `(XEN) [2026-11-20 ${consoleTime}.000] link flapped on eth0\n`);
      return json({ ...r, code: r.code ?? -1 }).findings.map((f) => [f.rule, f.host, f.count, (f as unknown as { first: string }).first]);
    };
    expect(await found('08:00:05')).toEqual([['site-flap', 'xen07', 3, '2026-11-20T08:00:00Z']]);
    // 20 s after the first and 80 s before the second: no 2 within 10 s
    expect(await found('08:00:20')).toEqual([]);
  });
});
