/**
 * The wrapped forms (parse/line.ts unwrap) and the fallback readings (parse/fallback.ts): a log line
 * behind dmesg -x's facility and level, a printk caller id, a capture tool's date, colour codes,
 * mail quoting, indentation, a lone kernel tag, busybox/OpenWrt facility.level, or glued to the
 * line before it, reads as the bare line does; and a message start is found only where a prefix
 * ends, never inside a word or a sentence.
 */
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseLine } from '../src/parse/line.js';
import { otherReadings } from '../src/parse/fallback.js';
import { loadCatalogue } from '../src/engine/catalogue.js';
import { Engine } from '../src/engine/engine.js';
import type { TimeContext } from '../src/parse/time.js';
import type { LogEvent } from '../src/types.js';
import { ROOT, fallbackStarts, plainEvent, xd } from './helpers.js';

const NOW: TimeContext = { zone: 'UTC', year: null, reference: Date.parse('2026-11-26T12:00:00Z') };
const RUNS = 1000 * Number(process.env.XENDOCTOR_FUZZ_RUNS ?? 1);

describe('forms behind a prefix', () => {
  const cases: [string, Partial<LogEvent>][] = [
    // dmesg -x, -xT, -x -t; a message userspace wrote to /dev/kmsg keeps its own facility
    [
      'kern  :err   : [  12.345678] BUG: soft lockup',
      { format: 'dmesg', source: 'kernel', uptime: 12.345678, message: 'BUG: soft lockup' },
    ],
    [
      'kern  :warn  : [Thu Nov 20 08:01:10 2026] INFO: task x:1 blocked',
      { format: 'dmesg-T', source: 'kernel', time: Date.parse('2026-11-20T08:01:10Z'), message: 'INFO: task x:1 blocked' },
    ],
    ['kern :alert : Unable to handle kernel NULL pointer', { source: 'kernel', message: 'Unable to handle kernel NULL pointer' }],
    ['daemon:info  : [   10.4] systemd[1]: Started x', { source: 'daemon', message: 'systemd[1]: Started x' }],
    // printk caller ids, as the kernel and as util-linux >= 2.40 print them
    ['[  129.338433][    C1] watchdog: BUG: soft lockup', { source: 'kernel', uptime: 129.338433, message: 'watchdog: BUG: soft lockup' }],
    ['<3>[   91.987109][ T4552] INFO: trying', { source: 'kernel', message: 'INFO: trying' }],
    ['kern  :err   : [   91.987109] [   T4552] INFO: trying', { source: 'kernel', message: 'INFO: trying' }],
    ['[    0.000007] [T8] BIOS-e820: x', { message: 'BIOS-e820: x' }],
    ['Nov 20 08:01:10 xen07 kernel: [  12.5][ T1054] Out of memory', { host: 'xen07', message: 'Out of memory' }],
    // out-of-band console captures
    [
      '2026-11-20 08:01:10\t[  12.3] BUG: x',
      { source: 'kernel', time: Date.parse('2026-11-20T08:01:10Z'), uptime: 12.3, message: 'BUG: x' },
    ],
    ['2026-11-20 08:01:10 (XEN) Domain 0 crashed: x', { source: 'hypervisor', message: 'Domain 0 crashed: x' }],
    ['2026-11-20T08:01:10.5+01:00\t(XEN) x', { source: 'hypervisor', time: Date.parse('2026-11-20T07:01:10.500Z'), message: 'x' }],
    [
      '[2023/06/16-12:06:53:394] [    0.000000] Linux version 5.10',
      { time: Date.parse('2023-06-16T12:06:53.394Z'), message: 'Linux version 5.10' },
    ],
    ['Nov 20 08:01:10 (XEN) Panic on CPU 0:', { host: null, source: 'hypervisor', message: 'Panic on CPU 0:' }],
    [
      'Nov 20 08:01:10\t(XEN) Panic on CPU 0:',
      { source: 'hypervisor', time: Date.parse('2026-11-20T08:01:10Z'), message: 'Panic on CPU 0:' },
    ],
    ['[Nov 20 08:01:10] [  12.3] x', { source: 'kernel', time: Date.parse('2026-11-20T08:01:10Z'), message: 'x' }],
    ['\u001b[0;31m[   12.3] BUG: x\u001b[0m', { source: 'kernel', message: 'BUG: x' }],
    ['[0;1;31m[  1.2] oops', { source: 'kernel', message: 'oops' }],
    ['\u001b[1m(XEN) Panic on CPU 1:\u001b[0m', { source: 'hypervisor', message: 'Panic on CPU 1:' }],
    // syslogd's wall broadcasts and journald's, with and without the stamp
    ['kernel:[405108.698255] watchdog: BUG: soft lockup', { program: 'kernel', source: 'kernel', message: 'watchdog: BUG: soft lockup' }],
    ['          kernel:BUG: soft lockup - CPU#0', { program: 'kernel', source: 'kernel', message: 'BUG: soft lockup - CPU#0' }],
    ['kernel: BUG: soft lockup', { program: 'kernel', source: 'kernel', message: 'BUG: soft lockup' }],
    ['[  323.142578] kernel: watchdog: BUG', { program: 'kernel', source: 'kernel', message: 'watchdog: BUG' }],
    // quoted in documents and mails
    ['> Nov 20 08:01:10 xen07 kernel: [1.5] BUG: x', { host: 'xen07', source: 'kernel', message: 'BUG: x' }],
    ['> > (XEN) Domain 0 crashed: x', { source: 'hypervisor', message: 'Domain 0 crashed: x' }],
    ['>> > [  1.5] x', { source: 'kernel', message: 'x' }],
    ['> >     >       >     > (XEN) Panic on CPU 0:', { source: 'hypervisor', message: 'Panic on CPU 0:' }],
    ['    May 17 18:48:11 kernel: [ 6141.9] INFO: task k:5 blocked', { program: 'kernel', message: 'INFO: task k:5 blocked' }],
    ['> [<ffffffff81000000>] foo+0x1/0x2', { format: 'plain', message: '[<ffffffff81000000>] foo+0x1/0x2' }],
    ['> arch/x86/hvm/svm/nestedsvm.c:799', { format: 'plain', message: 'arch/x86/hvm/svm/nestedsvm.c:799' }],
    // busybox syslogd and OpenWrt logread
    ['Jan  1 00:00:00 router kern.err kernel: [ 12.3] msg', { host: 'router', program: 'kernel', source: 'kernel', message: 'msg' }],
    [
      'Thu Jun 17 23:28:05 2021 kern.err kernel: [   58.430534] Out of memory: Killed process 3370 (smbd)',
      {
        host: null,
        program: 'kernel',
        source: 'kernel',
        time: Date.parse('2021-06-17T23:28:05Z'),
        message: 'Out of memory: Killed process 3370 (smbd)',
      },
    ],
    ['Mon Apr 12 18:29:38 2021 daemon.info v2ray[4723]: V2Ray', { program: 'v2ray', pid: '4723', source: 'daemon', message: 'V2Ray' }],
    // /dev/kmsg records: `cat /dev/kmsg`, and stored by a forwarder after its own stamp and host
    [
      '6,1234,5678901,-;xen_netfront: Initialising Xen virtual ethernet driver',
      {
        format: 'dmesg',
        program: 'kernel',
        source: 'kernel',
        uptime: 5.678901,
        message: 'xen_netfront: Initialising Xen virtual ethernet driver',
      },
    ],
    [
      'May 25 07:29:42 x 0,16627,40311380557,-,caller=C0;BUG: workqueue lockup - pool cpus=3',
      { host: 'x', program: 'kernel', source: 'kernel', uptime: 40311.380557, message: 'BUG: workqueue lockup - pool cpus=3' },
    ],
    ['30,17,2100123,-;systemd[1]: Started x', { source: 'daemon', message: 'systemd[1]: Started x' }],
    // metalog
    [
      'Aug 23 18:51:09 [kernel] [    0.000000] Linux version 2.6.20',
      { program: 'kernel', source: 'kernel', message: 'Linux version 2.6.20' },
    ],
    // a console line glued to the one before it
    ['Starting foo...done.[  123.456789] BUG: soft lockup', { source: 'kernel', uptime: 123.456789, message: 'BUG: soft lockup' }],
    ['login: (XEN) Domain 0 crashed: x', { source: 'hypervisor', message: 'Domain 0 crashed: x' }],
  ];
  it.each(cases)('%j', (line, want) => {
    expect(parseLine(line, NOW)).toMatchObject(want);
  });

  it('leaves what is not a prefix alone', () => {
    // numbers and a ';' without /dev/kmsg's flag character are no record header
    expect(parseLine('1,2,3;x', NOW)).toMatchObject({ format: 'plain', message: '1,2,3;x' });
    // indentation of a continuation line, a host that looks like a level, a bracketed uptime after a host
    expect(parseLine('    [<ffff>] foo+0x1/0x2', NOW).message).toBe('    [<ffff>] foo+0x1/0x2');
    expect(parseLine('Nov 20 08:01:10 mail kernel: x', NOW)).toMatchObject({ host: 'mail', program: 'kernel' });
    expect(parseLine('Nov 20 08:01:10 xen07 [12.3] foo', NOW)).toMatchObject({ host: 'xen07', source: 'kernel', message: 'foo' });
    expect(parseLine('Nov 20 08:01:10 xen07.example.com kernel: hi', NOW).host).toBe('xen07.example.com');
    // prose with a number in brackets is not a glued console line
    expect(parseLine('see table [1.5] below', NOW)).toMatchObject({ format: 'plain', message: 'see table [1.5] below' });
  });

  // A line of each family a console or a log file carries, and what real captures put before them.
  const bare = [
    '[  812345.123456] INFO: task x:1 blocked for more than 120 seconds.',
    '(XEN) Panic on CPU 3:',
    '(XEN) [2026-11-20 08:01:10.123] Domain 0 crashed: rebooting machine in 5 seconds.',
    'Nov 20 08:01:10 xen07 kernel: [812345.1] Out of memory: Killed process 1 (x)',
    'kern  :err   : [  812345.123456] BUG: soft lockup - CPU#1 stuck for 22s! [x:1]',
    '[Thu Nov 20 08:01:10 2026] BUG: soft lockup - CPU#1 stuck for 22s! [x:1]',
  ];
  // innermost a capture tool's date or colour codes, then any stack of quoting and indentation
  const capture = fc.constantFrom(
    (l: string) => l,
    (l: string) => `\u001b[0;33m${l}\u001b[0m`,
    (l: string) => `2026-11-20 08:01:10\t${l}`,
    (l: string) => `2026-11-20T08:01:10.123456\t${l}`,
    (l: string) => `[2026-11-20 08:01:10] ${l}`,
    (l: string) => `Nov 20 08:01:10\t${l}`,
  );
  const quote = fc.constantFrom(
    (l: string) => `> ${l}`,
    (l: string) => `> > ${l}`,
    (l: string) => `>>${l}`,
    (l: string) => `    ${l}`,
    (l: string) => `\t${l}`,
  );
  it('reads a line behind a capture and any stack of quoting as it reads the bare line', () => {
    fc.assert(
      fc.property(fc.constantFrom(...bare), capture, fc.array(quote, { maxLength: 3 }), (line, c, qs) => {
        const wrapped = qs.reduce((l, q) => q(l), c(line));
        const a = parseLine(line, NOW);
        const b = parseLine(wrapped, NOW);
        expect([b.message, b.source, b.uptime], JSON.stringify(wrapped)).toEqual([a.message, a.source, a.uptime]);
      }),
      { numRuns: RUNS },
    );
  });

  it('never throws and stays bounded on junk made of prefix pieces', () => {
    const piece = fc.constantFrom(
      '>',
      ' ',
      '\t',
      '\u001b[',
      '0;31m',
      'kern  :',
      'err   : ',
      'kernel:',
      '[',
      ']',
      '12.3',
      'T1',
      '(XEN) ',
      '2026-11-20 08:01:10',
      'Nov 20 08:01:10',
      'x',
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), (ps) => {
        const ev = parseLine(ps.join(''), NOW);
        expect(typeof ev.message).toBe('string');
      }),
      { numRuns: RUNS },
    );
  });
});

describe('fallback readings', () => {
  const plain = plainEvent;
  const starts = fallbackStarts;

  it('reads a glued kernel line of any parsed line', () => {
    const ev = parseLine('[   36.381453] testsuite-71.sh[794]: i0QkGGR[   36.473381] watchdog: BUG: soft lockup', NOW);
    expect(ev.source).toBe('kernel');
    const glued = otherReadings(ev);
    expect(glued[0]).toMatchObject({ source: 'kernel', uptime: 36.473381, message: 'watchdog: BUG: soft lockup' });
  });

  it('starts a message where a prefix ends', () => {
    expect(starts('**MI watchdog: BUG: soft lockup')).toContain('BUG: soft lockup');
    expect(starts('host1 | INFO: task x:1 blocked')).toContain('INFO: task x:1 blocked');
    expect(starts('2019/05/03 10:20:30 INFO: task x')).toContain('INFO: task x');
    expect(starts('"2026-11-20","xen07","Out of memory: Killed process 1 (x)"')).toContain('Out of memory: Killed process 1 (x)"');
    // a quoted line's indentation, even a single space
    expect(starts(' Kernel panic - not syncing: Attempted to kill init!')).toContain('Kernel panic - not syncing: Attempted to kill init!');
  });

  it('never starts one inside a word or between two words of a sentence', () => {
    expect(starts('Starting foo ...done.')).not.toContain('...done.');
    expect(starts('the log said Out of memory')).not.toContain('Out of memory');
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[A-Za-z]{1,8}$/), { minLength: 1, maxLength: 12 }), (words) => {
        expect(starts(words.join(' '))).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  });

  it('gives no message starts for a line whose source is known', () => {
    expect(otherReadings({ ...plain('x: INFO: task y'), source: 'daemon' })).toEqual([]);
  });
});

describe('a line wrapped onto the next', () => {
  const rules = loadCatalogue();
  const run = (lines: string[]) => {
    const e = new Engine(rules);
    lines.forEach((text, i) => {
      const raw = Buffer.from(text);
      const candidate = e.isCandidate(raw, 0, raw.length);
      // as the line splitter offers them: candidates, and every line while the engine asks for all
      if (candidate || e.wantsAll())
        e.read(text, { source: 't', line: i + 1, host: null, ctx: NOW, candidate, raw, start: 0, end: raw.length });
    });
    e.endInput();
    return e.findings().map((f) => `${f.rule} ${JSON.stringify(f.key)}`);
  };

  it('joins an indented or quoted rest to the candidate line before it', () => {
    expect(run(['Nov 20 08:01:10 xen07 kernel: [812345.1] INFO: task jbd2/dm-0-8:412 blocked for more than 120', '    seconds.'])).toEqual([
      'hung-task {"task":"jbd2/dm-0-8"}',
    ]);
    expect(run(['> [  12.5] BUG: soft lockup - CPU#3 stuck for 22s!', '>     [kworker/3:1:123]'])).toEqual(['soft-lockup {"cpu":"3"}']);
  });

  it('joins nothing else: an unindented next line, a line of another form, a second rest', () => {
    expect(run(['[  12.5] BUG: soft lockup - CPU#3 stuck for 22s!', '[kworker/3:1:123]'])).toEqual([]);
    expect(run(['[  12.5] BUG: soft lockup - CPU#3 stuck for 22s!', '    [  12.6] [kworker/3:1:123]'])).toEqual([]);
    expect(run(['[  12.5] BUG: soft lockup - CPU#3 stuck for 22s!', '    foo', '    [kworker/3:1:123]'])).toEqual([]);
  });
});

describe("a line wrapped before or inside the rule's literal, through the binary", () => {
  type Report = { findings: { rule: string; key: Record<string, string>; count: number; evidence: { line: number; text: string }[] }[] };
  const scan = (text: string, args: string[] = []) => JSON.parse(xd(['scan', '--format', 'json', ...args, '-'], text).stdout) as Report;

  it('joins an indented or quoted rest to the log line before it, which no rule took and the reader did not offer', () => {
    for (const [head, rest] of [
      ['    Nov 20 08:01:10 xen07 kernel: [812345.123456] INFO: task jbd2/dm-0-8:412', '      blocked for more than 120 seconds.'],
      ['Nov 20 08:01:10 xen07 kernel: [812345.123456] INFO: task jbd2/dm-0-8:412 blocked for more', '    than 120 seconds.'],
      ['> Nov 20 08:01:10 xen07 kernel: [812345.123456] INFO: task jbd2/dm-0-8:412 blocked', '>     for more than 120 seconds.'],
    ]) {
      const r = scan(`some words before\n${head}\n${rest}\nand after\n`);
      expect(r.findings.map((f) => `${f.rule} ${f.key.task}`)).toEqual(['hung-task jbd2/dm-0-8']);
      const ev = r.findings[0]!.evidence[0]!;
      expect(ev.line).toBe(2);
      expect(ev.text).toMatch(/INFO: task jbd2\/dm-0-8:412 blocked for more than 120 seconds\.$/);
    }
  });

  it('joins no prose, no line after a blank line, no indented log line of its own, and no rest of a line a rule took', () => {
    expect(scan('The report names task jbd2/dm-0-8:412 and says it was\n    blocked for more than 120 seconds.\n').findings).toEqual([]);
    expect(scan('[ 4321.000001] INFO: task kworker/u16:2:5187 blocked for more\n\n    than 120 seconds.\n').findings).toEqual([]);
    const own =
      'Nov 20 08:01:10 xen07 kernel: [812345.1] INFO: task jbd2/dm-0-8:412\n    Nov 20 08:01:11 xen07 kernel: [812346.0] blocked for more than 120 seconds.\n';
    expect(scan(own).findings).toEqual([]);
    const whole =
      '    [ 4321.000002] INFO: task xenstored:2021 blocked for more than 120 seconds.\n      blocked for more than 120 seconds.\n';
    expect(scan(whole).findings.map((f) => `${f.rule} ${f.count}`)).toEqual(['hung-task 1']);
    // a single-line rule: the rest of a line it took is not joined to it a second time
    const taken = '[  100.000000] unregister_netdevice: waiting for vif5.0 to become free. Usage count = 1\n      Usage count = 1\n';
    expect(scan(taken).findings.map((f) => `${f.rule} ${f.count}`)).toEqual(['netdev-unregister-hang 1']);
  });
});

describe("syslogd's wall broadcast lends host and time to the next line", () => {
  type Report = { findings: { rule: string; host: string | null; first: string | null; key: Record<string, string> }[] };
  const REAL = join(ROOT, 'test', 'fixtures', 'realworld', 'soft-lockup-ironfish701-syslogd-wall-series.log');

  it('dates and names the host of each " kernel:[…]" line of a terminal full of broadcasts (real excerpt)', () => {
    const r = JSON.parse(xd(['scan', '--format', 'json', '--year', '2021', REAL]).stdout) as Report;
    expect(r.findings.map((f) => `${f.rule} ${f.key.cpu} ${f.host} ${f.first}`)).toEqual([
      'soft-lockup 0 zyr 2021-12-10T05:25:44Z',
      'soft-lockup 9 zyr 2021-12-10T05:25:44Z',
      'soft-lockup 1 zyr 2021-12-10T05:26:41Z',
    ]);
  });

  it("reads sysklogd's header (ctime's date with the year) and a panic without uptime stamp", () => {
    const text =
      'Message from syslogd@xen08 at Tue Nov 20 08:01:10 2012 ...\n kernel:[ 9345.123456] BUG: soft lockup - CPU#1 stuck for 61s! [xenwatch:35]\n' +
      '\x07Message from syslogd@xen07 at Nov 20 08:02:10 ...\r\n kernel:Kernel panic - not syncing: Fatal exception in interrupt\r\n';
    const r = JSON.parse(xd(['scan', '--format', 'json', '--year', '2026', '-'], text).stdout) as Report;
    expect(r.findings.map((f) => `${f.rule} ${f.host} ${f.first}`).sort()).toEqual([
      'kernel-panic xen07 2026-11-20T08:02:10Z',
      'soft-lockup xen08 2012-11-20T08:01:10Z',
    ]);
  });

  it('lends nothing to a line that names its own, nor across a blank line', () => {
    const own =
      'Message from syslogd@xen07 at Nov 20 08:01:10 ...\nNov 20 09:00:00 xen09 kernel: [812345.1] BUG: soft lockup - CPU#2 stuck for 22s! [x:1]\n';
    const a = JSON.parse(xd(['scan', '--format', 'json', '--year', '2026', '-'], own).stdout) as Report;
    expect(a.findings.map((f) => `${f.host} ${f.first}`)).toEqual(['xen09 2026-11-20T09:00:00Z']);
    const gap =
      'Message from syslogd@xen07 at Nov 20 08:01:10 ...\n\n kernel:[ 9345.123456] BUG: soft lockup - CPU#1 stuck for 61s! [xenwatch:35]\n';
    // (on a host whose uptime is below 9345 s, nothing dates it either: its stamps are not this host's)
    const b = JSON.parse(xd(['scan', '--format', 'json', '--year', '2026', '-'], gap).stdout) as Report;
    expect(b.findings.map((f) => `${f.host} ${f.first}`)).toEqual(['null null']);
  });
});
