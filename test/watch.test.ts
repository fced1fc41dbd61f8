/** `xendoctor watch` through the real binary: following, folding, thresholds, signals, hooks. */
import { appendFileSync, cpSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tmp, xd } from './helpers.js';
import { newProbes, script, sleep, startWatch, WATCH_RULES, type Watching } from './watch-helpers.js';

const ONLY = ['--rules', WATCH_RULES, '--only', 'watch-probe,watch-burst'];
const probe = (n: number | string) => `Nov 26 04:00:01 xen07 kernel: [  100.000000] XDPROBE ${n}\n`;
const errLines = (w: Watching, re: RegExp) => w.err.filter((l) => re.test(l));

describe('watch', () => {
  it('reports a finding as soon as its line is appended, starting at the end of the file', async () => {
    const dir = tmp('xd-w-');
    const log = join(dir, 'kern.log');
    writeFileSync(log, probe(1));
    const w = await startWatch(['--format', 'ndjson', ...ONLY, log]);
    appendFileSync(log, probe(2));
    await w.until(() => newProbes(w).includes(2), 5000, 'probe 2');
    expect(await w.stop()).toBe(0);
    expect(newProbes(w)).toEqual([2]); // probe 1 was there before: not reported
    const r = w.records()[0]!;
    expect(r).toMatchObject({ event: 'new', rule: 'watch-probe', host: 'xen07', key: { n: '2' }, count: 1 });
    expect((r.evidence as { source: string; line: number }[])[0]).toMatchObject({ source: log, line: 2 });
  });

  it('--from-start reads what the file holds already', async () => {
    const dir = tmp('xd-w-');
    const log = join(dir, 'kern.log');
    writeFileSync(log, probe(1) + probe(2));
    const w = await startWatch(['--format', 'ndjson', '--from-start', ...ONLY, log]);
    await w.until(() => newProbes(w).length === 2, 5000, 'two probes');
    await w.stop();
    expect(newProbes(w).sort()).toEqual([1, 2]);
  });

  it('folds a storm: the first occurrence at once, then one "repeated N times" line, never one per repeat', async () => {
    const dir = tmp('xd-w-');
    const log = join(dir, 'kern.log');
    writeFileSync(log, '');
    const w = await startWatch([...ONLY, '--repeat-interval', '500ms', log]);
    appendFileSync(log, probe(7).repeat(5000));
    await w.until(() => w.out.some((l) => /repeated \d+ times/.test(l)), 5000, 'the repeat summary');
    appendFileSync(log, probe(7).repeat(10));
    await sleep(100);
    await w.stop();
    const first = w.out.filter((l) => l.includes('Watch probe 7') && !l.includes('repeated'));
    expect(first).toHaveLength(1);
    expect(first[0]).toMatch(/^2026-11-26T04:00:01Z WARNING +\[watch-probe\] xen07: Watch probe 7 \(n=7\) — .*kern\.log:1: .*XDPROBE 7/);
    const summaries = w.out.filter((l) => l.includes('repeated'));
    expect(summaries.length).toBeGreaterThanOrEqual(1);
    expect(summaries.length).toBeLessThanOrEqual(3);
    const total = summaries.reduce((n, l) => n + Number(/repeated (\d+) times/.exec(l)![1]), 0);
    expect(total).toBe(5009);
    expect(summaries[0]).toMatch(/repeated \d+ times in the last \d+ seconds? \(\d+ in all\)$/);
  });

  it('reports a threshold rule when its threshold is crossed, not before', async () => {
    const dir = tmp('xd-w-');
    const log = join(dir, 'app.log');
    writeFileSync(log, '');
    const w = await startWatch(['--format', 'ndjson', ...ONLY, log]);
    const burst = 'Nov 26 04:00:02 xen07 app[1]: XDBURST b1\n';
    appendFileSync(log, burst + burst);
    // past the first expiry tick (within a second of the start): it once dropped these two hits, dated a
    // week before the wall clock, and the third never fired (test/watch-units.test.ts has it exactly)
    await sleep(1500);
    expect(w.records()).toEqual([]);
    appendFileSync(log, burst);
    await w.until(() => w.records().length === 1, 5000, 'the burst finding');
    await w.stop();
    expect(w.records()[0]).toMatchObject({ event: 'new', rule: 'watch-burst', key: { name: 'b1' }, count: 3, severity: 'error' });
  });

  it('follows globs and folders, files that do not exist yet, and files re-created after deletion', async () => {
    const dir = tmp('xd-w-');
    mkdirSync(join(dir, 'xen'));
    const later = join(dir, 'later.log');
    writeFileSync(join(dir, 'xen', 'xl-a.log'), probe(1));
    const w = await startWatch(['--format', 'ndjson', ...ONLY, join(dir, 'xen'), `${dir}/*.txt`, later]);
    appendFileSync(join(dir, 'xen', 'xl-a.log'), probe(2));
    writeFileSync(join(dir, 'xen', 'xl-b.log'), probe(3)); // new file in a watched folder: read from its start
    writeFileSync(join(dir, 'xen', 'xl-a.log.1'), probe(99)); // a rotated copy: not followed
    writeFileSync(join(dir, 'one.txt'), probe(4)); // matches the glob
    writeFileSync(join(dir, 'one.log'), probe(98)); // does not
    writeFileSync(later, probe(5)); // did not exist at start
    await w.until(() => [2, 3, 4, 5].every((n) => newProbes(w).includes(n)), 5000, 'probes 2-5');
    rmSync(later);
    await sleep(100);
    writeFileSync(later, probe(6)); // deleted and re-created
    await w.until(() => newProbes(w).includes(6), 5000, 'probe 6');
    await sleep(300);
    await w.stop();
    expect(newProbes(w).sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6]);
  });

  it('reports a missing file once, not in a loop, and again when it comes back', async () => {
    const dir = tmp('xd-w-');
    const log = join(dir, 'missing.log');
    const w = await startWatch(['--format', 'ndjson', ...ONLY, log]);
    await w.until(() => errLines(w, /does not exist/).length > 0, 6000, 'the missing-file message');
    await sleep(1500);
    const mine = /^xendoctor: \S*missing\.log: /;
    expect(errLines(w, mine)).toHaveLength(1);
    writeFileSync(log, probe(1));
    await w.until(() => newProbes(w).includes(1), 5000, 'probe 1');
    expect(errLines(w, /missing\.log: is back/)).toHaveLength(1);
    rmSync(log);
    await w.until(() => errLines(w, /deleted or renamed away/).length > 0, 6000, 'the deleted-file message');
    await sleep(1500);
    await w.stop();
    expect(errLines(w, mine)).toHaveLength(3);
  });

  it('reads the lines written to a renamed file until its writer reopens (rename-and-create)', async () => {
    const dir = tmp('xd-w-');
    const log = join(dir, 'syslog');
    writeFileSync(log, '');
    const w = await startWatch(['--format', 'ndjson', ...ONLY, log]);
    appendFileSync(log, probe(1));
    renameSync(log, `${log}.1`);
    writeFileSync(log, probe(3));
    appendFileSync(`${log}.1`, probe(2)); // the daemon has not reopened yet
    await w.until(() => newProbes(w).length === 3, 5000, 'three probes');
    await sleep(300);
    await w.stop();
    expect(newProbes(w).sort()).toEqual([1, 2, 3]);
  });

  it('SIGTERM and SIGINT stop it within a second, whatever it follows', async () => {
    const dir = tmp('xd-w-');
    script(join(dir, 'xl'), 'echo "(XEN) Xen version 4.17.0"; sleep 30');
    script(join(dir, 'journalctl'), 'echo \'{"MESSAGE":"x"}\'; sleep 30');
    writeFileSync(join(dir, 'a.log'), '');
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      const args = [
        ...ONLY,
        '--journal',
        '--xen-console',
        '--interval',
        '200ms',
        '--exec',
        'sleep 30',
        join(dir, 'a.log'),
        join(dir, 'b.log'),
      ];
      const w = await startWatch(args, { PATH: `${dir}:${process.env.PATH}` });
      appendFileSync(join(dir, 'a.log'), probe(1)); // an --exec command is running too
      await w.until(() => w.out.length > 0, 5000, 'the finding');
      const t0 = Date.now();
      w.child.kill(sig);
      expect(await w.exited).toBe(0);
      // without waiting for the --exec command (sleep 30): a bound that holds on a loaded machine
      expect(Date.now() - t0).toBeLessThan(25_000);
    }
  });

  it('SIGHUP reloads the rules; with a broken rule file it keeps the old set, says why and goes on', async () => {
    const dir = tmp('xd-w-');
    const rules = join(dir, 'rules');
    cpSync(WATCH_RULES, rules, { recursive: true });
    const log = join(dir, 'kern.log');
    writeFileSync(log, '');
    const w = await startWatch(['--format', 'ndjson', '--rules', rules, '--only', 'watch-probe,watch-burst', log]);
    const probeRule = readFileSync(join(rules, 'watch-probe.yaml'), 'utf8');
    writeFileSync(join(rules, 'watch-probe.yaml'), probeRule.replace("'XDPROBE (?<n>\\d+)\\b'", "'XDPROBE (?<n>\\d+'"));
    w.child.kill('SIGHUP');
    // the message may arrive in pieces (a loaded machine): wait for all of it
    const why = /could not be reloaded.*keeping the 2 rules in use.*watch-probe\.yaml:\d+: patterns\.0: invalid regular expression/s;
    await w.until(() => why.test(w.err.join('\n')), 5000, 'the reload failure and why');
    appendFileSync(log, probe(1));
    await w.until(() => newProbes(w).includes(1), 5000, 'probe 1 with the old rules');
    writeFileSync(join(rules, 'watch-probe.yaml'), probeRule.replace("'XDPROBE (?<n>\\d+)\\b'", "'XDPROBE2 (?<n>\\d+)\\b'"));
    w.child.kill('SIGHUP');
    await w.until(() => errLines(w, /reloaded the rules \(2\)/).length > 0, 5000, 'the reload');
    appendFileSync(log, probe(2) + 'Nov 26 04:00:01 xen07 kernel: XDPROBE2 3\n');
    await w.until(() => newProbes(w).includes(3), 5000, 'probe 3 with the new rules');
    await w.stop();
    expect(newProbes(w)).toEqual([1, 3]);
  });

  it('--exec runs a command per new finding with its JSON on stdin, no shell; failures and timeouts are logged', async () => {
    const dir = tmp('xd-w-');
    const log = join(dir, 'kern.log');
    writeFileSync(log, '');
    const hook = script(join(dir, 'hook.sh'), 'printf "%s %s\\n" "$XENDOCTOR_RULE" "$1" >> "$2"; cat >> "$2"');
    const out = join(dir, 'hook out.txt');
    const w = await startWatch([...ONLY, '--exec', `${hook} 'arg with $HOME' "${out}"`, log]);
    appendFileSync(log, probe(1) + probe(1) + probe(2));
    await w.until(
      () =>
        (
          readFileSync(out, { flag: 'a+' })
            .toString()
            .match(/"event":"new"/g) ?? []
        ).length === 2,
      5000,
      'two hook runs',
    );
    await w.stop();
    const text = readFileSync(out, 'utf8');
    expect(text).toContain('watch-probe arg with $HOME\n');
    const jsons = text
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { rule: string; key: { n: string } });
    expect(jsons.map((j) => j.key.n).sort()).toEqual(['1', '2']);

    const failing = await startWatch([...ONLY, '--exec', 'false', '--exec-shell', log]);
    const slow = await startWatch([...ONLY, '--exec', 'sleep 5', '--exec-timeout', '300ms', log]);
    appendFileSync(log, probe(3) + probe(4));
    await failing.until(() => errLines(failing, /--exec: .*failed \(status 1\)/).length > 0, 5000, 'the failure');
    await slow.until(() => errLines(slow, /--exec: sleep did not finish within 0\.3 s; killed/).length > 0, 5000, 'the timeout');
    await sleep(300);
    await Promise.all([failing.stop(), slow.stop()]);
    expect(errLines(failing, /--exec/)).toHaveLength(1); // the same failure: logged once a minute at most
  });

  it('--syslog sends each finding to logger with tag xendoctor (a stand-in logger on PATH)', async () => {
    const dir = tmp('xd-w-');
    const log = join(dir, 'kern.log');
    writeFileSync(log, '');
    const sent = join(dir, 'sent');
    script(join(dir, 'logger'), `printf '%s|' "$@" >> "${sent}"; echo >> "${sent}"`);
    const w = await startWatch([...ONLY, '--syslog', '--repeat-interval', '300ms', log], { PATH: `${dir}:${process.env.PATH}` });
    appendFileSync(log, probe(1) + probe(1));
    await w.until(() => readFileSync(sent, { flag: 'a+' }).toString().split('\n').length > 2, 5000, 'two syslog messages');
    await w.stop();
    const lines = readFileSync(sent, 'utf8').trim().split('\n');
    expect(lines[0]).toMatch(/^-t\|xendoctor\|-p\|daemon\.warning\|--\|.*Watch probe 1 .*\|$/);
    expect(lines[1]).toMatch(/repeated 1 time in the last/);
  });

  it('--journal follows journalctl -f -o json and restarts it after the last record read (a stand-in journalctl)', async () => {
    const dir = tmp('xd-w-');
    const calls = join(dir, 'calls');
    const rec = (n: number) =>
      JSON.stringify({
        __CURSOR: `s=abc;i=${n}`,
        __REALTIME_TIMESTAMP: '1795665601000000',
        _HOSTNAME: 'xen07',
        _TRANSPORT: 'kernel',
        MESSAGE: `XDPROBE ${n}`,
      });
    script(
      join(dir, 'journalctl'),
      `echo "$@" >> "${calls}"\ncase "$*" in *after-cursor*) echo '${rec(2)}'; sleep 30;; *) echo '${rec(1)}'; exit 1;; esac`,
    );
    const w = await startWatch(['--format', 'ndjson', ...ONLY, '--journal'], { PATH: `${dir}:${process.env.PATH}` });
    await w.until(() => newProbes(w).includes(2), 8000, 'probe 2 after the restart');
    await w.stop();
    expect(newProbes(w)).toEqual([1, 2]);
    const argv = readFileSync(calls, 'utf8').trim().split('\n');
    expect(argv[0]).toBe('-f -o json -q -n 0');
    expect(argv[1]).toBe('-f -o json -q --after-cursor=s=abc;i=1 -n all');
    expect(errLines(w, /journalctl exited \(status 1\); restarting it/)).toHaveLength(1);
  });

  it('refuses what it cannot do, with exit code 3', () => {
    const dir = tmp('xd-w-');
    expect(xd(['watch', '--format', 'json', join(dir, 'a.log')]).code).toBe(3);
    const r = xd(['watch', '--xen-console', join(dir, 'a.log')], undefined, { env: { ...process.env, PATH: dir } });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/neither xl nor xm/);
    expect(xd(['watch', '--exec', "unbalanced 'quote", join(dir, 'a.log')]).stderr).toMatch(/unbalanced/);
  });
});
