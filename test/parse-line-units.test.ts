/**
 * Unit tests of src/parse/line.ts that pin what its first mutation run (XD_MUTATE=parse-line,
 * docs/mutation.md) found untested: the cheap format family of a line's first bytes (classifyLine),
 * the wall broadcast header, what is and is not a host after a syslog stamp, the source a program
 * name gives, the journal's JSON fields, the RFC 5424 nil values, printk caller ids, the priority
 * prefix, and the wrapped forms (dmesg -x, a lone kernel tag, capture dates, quoting) in their edges.
 */
import { describe, expect, it } from 'vitest';
import { classifyLine, isPlainHostToken, parseLine, wallHeader } from '../src/parse/line.js';
import type { TimeContext } from '../src/parse/time.js';
import type { LogEvent } from '../src/types.js';

const NOW: TimeContext = { zone: 'UTC', year: null, reference: Date.parse('2026-11-26T12:00:00Z') };
const at = (iso: string) => Date.parse(iso);
const parse = (line: string) => parseLine(line, NOW);

/** The family of `line` read from the middle of a buffer, between the lines before and after it. */
function family(line: string, after = '\nNov 20 08:01:10 (XEN) x'): string {
  const before = Buffer.from('junk\n');
  const buf = Buffer.concat([before, Buffer.from(line), Buffer.from(after)]);
  return classifyLine(buf, before.length, before.length + Buffer.byteLength(line));
}

describe('classifyLine: the format family from the first bytes', () => {
  it('reads each family from the first bytes of the line only, not from the bytes around it', () => {
    const cases: [string, string][] = [
      ['Nov 20 08:01:10', 'syslog'],
      ['Apr 20 08:01:10 xen07 kernel: x', 'syslog'],
      ['Zzz 20 08:01:10 x', 'syslog'],
      ['2026-11-20T08:01:10.123+01:00 xen07 kernel: x', 'rfc3339'],
      ['0026-11-20T08:01:10', 'rfc3339'],
      ['9999-11-20T08:01:10', 'rfc3339'],
      ['2023-03-10 04:45:50.541+0000: 1: error : x', 'libxl'],
      ['[  12.345678] x', 'dmesg'],
      ['[12.345678] x', 'dmesg'],
      ['[9.5] x', 'dmesg'],
      ['[0.000000] Linux version 6.1', 'dmesg'],
      ['[0011-03-16 15:19:09 1] x', 'xend'],
      ['[2011-03-16 15:19:09 1062] ERROR x', 'xend'],
      ['[9011-03-16 15:19:09 1062] x', 'xend'],
      ['[Thu Nov 20 08:01:10 2026] x', 'dmesg-T'],
      ['[Aaa] x', 'dmesg-T'],
      ['[Zzz] x', 'dmesg-T'],
      ['(XEN) x', 'xen'],
      ['{"MESSAGE":"x"}', 'journal-json'],
      ['libxl: error: x', 'libxl'],
      ['<13>1 2026-11-20T08:01:10Z h a - - - x', 'rfc5424'],
      ['<0>Nov 20 08:01:10 h k: x', 'syslog'],
      ['<9>Nov 20 08:01:10 h k: x', 'syslog'],
      ['<1234>Nov 20 08:01:10 h k: x', 'syslog'],
      ['<34>2026-11-20T08:01:10Z h k: x', 'rfc3339'],
      ['<4>[  12.3] x', 'dmesg'],
    ];
    for (const [line, want] of cases) expect(family(line), line).toBe(want);
  });

  it('takes nothing that only starts like a family', () => {
    const cases = [
      '',
      'Nov 20 08:01:1', // 14 bytes: the stamp cut short
      'Nov-20 08:01:10',
      'Nov 20 08-01:10',
      'Nov 20 08:01-10',
      '@ov 20 08:01:10',
      'nov 20 08:01:10', // the fast family is case-sensitive; the full parse reads locales
      '2026-11-20T08:01:1',
      '2026/11-20T08:01:10',
      '2026-11/20T08:01:10',
      '2026-11-20_08:01:10',
      '/026-11-20T08:01:10',
      ':026-11-20T08:01:10',
      '[',
      '[a] x',
      '[@] x',
      '[-1] x',
      '(XEM) x',
      '(XFN) x',
      '(YEN) x',
      '(xen) x',
      '(X',
      'libxm: x',
      'libyl: x',
      'lizxl: x',
      'lhbxl: x',
      'kibxl: x',
      'hello',
      '<12345>Nov 20 08:01:10 h k: x', // five digits are no priority
      '<13',
      '<13>',
      '<a>Nov 20 08:01:10 h k: x',
      '</>Nov 20 08:01:10 h k: x',
      '<:>Nov 20 08:01:10 h k: x',
      '<13>1x 2026',
      '<1xNov 20 08:01:10 h k: x', // no '>' after the digits
      '12>Nov 20 08:01:10 h k: x', // no '<' before them
      '_XEN) x',
      '<13>2 2026-11-20T08:01:10Z h a - - - x',
    ];
    for (const line of cases) expect(family(line), JSON.stringify(line)).toBe('plain');
  });

  it('reads no priority, stamp or prefix past the end it is given', () => {
    const b = Buffer.from('<13>1 x');
    expect(classifyLine(b, 0, 3)).toBe('plain'); // "<13": the '>' is past the end
    expect(classifyLine(b, 0, 4)).toBe('plain'); // "<13>" and nothing after it
    const s = Buffer.from('Nov 20 08:01:10 h');
    expect(classifyLine(s, 0, 14)).toBe('plain');
    expect(classifyLine(s, 0, 15)).toBe('syslog');
    const i = Buffer.from('2026-11-20T08:01:10Z');
    expect(classifyLine(i, 0, 18)).toBe('plain');
    expect(classifyLine(i, 0, 19)).toBe('rfc3339');
    expect(classifyLine(i, 5, 5)).toBe('plain');
    expect(classifyLine(Buffer.from('{"MESSAGE":"x"}'), 0, 0)).toBe('plain');
    expect(classifyLine(i, 6, 5)).toBe('plain');
  });
});

describe("wallHeader: syslogd's broadcast lends its host and time", () => {
  it("reads rsyslog's header (no year: the year inferred) and sysklogd's (ctime's date with the year)", () => {
    expect(wallHeader('Message from syslogd@xen07 at Nov 20 08:01:10 ...', NOW)).toEqual({
      host: 'xen07',
      time: at('2026-11-20T08:01:10Z'),
    });
    expect(wallHeader('\u0007\rMessage from syslogd@xen07 at Tue Dec 10 05:25:44 2021 ...', NOW)).toEqual({
      host: 'xen07',
      time: at('2021-12-10T05:25:44Z'),
    });
    expect(wallHeader('Message from syslogd@xen07 at Dec  1 05:25:44 ...', NOW)).toEqual({
      host: 'xen07',
      time: at('2025-12-01T05:25:44Z'),
    });
  });

  it('gives the host without a time for a month it does not know, and nothing for other lines', () => {
    expect(wallHeader('Message from syslogd@xen07 at Foo 10 05:25:44 ...', NOW)).toEqual({ host: 'xen07', time: null });
    expect(wallHeader('Message from syslogd@xen07 at noon ...', NOW)).toBeNull();
    expect(wallHeader('Broadcast message from root@xen07 (pts/0) (Tue Dec 10 05:25:44 2021):', NOW)).toBeNull();
    expect(wallHeader('Nov 20 08:01:10 xen07 kernel: x', NOW)).toBeNull();
  });
});

describe('the host after a syslog stamp', () => {
  it('isPlainHostToken: a name, not a tag, a facility, a facility.level or "(XEN)"', () => {
    expect(isPlainHostToken('xen07')).toBe(true);
    expect(isPlainHostToken('mail.example.com')).toBe(true);
    expect(isPlainHostToken('kern')).toBe(false);
    expect(isPlainHostToken('daemon')).toBe(false);
    expect(isPlainHostToken('kern.err')).toBe(false);
    expect(isPlainHostToken('kernel:')).toBe(false);
    expect(isPlainHostToken('sshd[12]')).toBe(false);
    expect(isPlainHostToken('(XEN)')).toBe(false);
    expect(isPlainHostToken('')).toBe(false);
  });

  it('a facility.level field where the host stands is none (busybox syslogd -S without a host name)', () => {
    expect(parse('Jan  1 00:00:00 kern.err kernel: [ 12.3] msg')).toMatchObject({
      host: null,
      program: 'kernel',
      source: 'kernel',
      uptime: 12.3,
      message: 'msg',
    });
    // the tag without its colon after that field (rsyslog writing RFC 5424 to a traditional file)
    expect(parse('Nov 20 08:01:10 kern.err kernel [ 12.3] msg')).toMatchObject({
      host: null,
      program: 'kernel',
      source: 'kernel',
      message: 'msg',
    });
  });

  it('a host whose first label is a facility name is a host', () => {
    expect(parse('Nov 20 08:01:10 mail.example.com postfix/smtpd[12]: connect')).toMatchObject({
      host: 'mail.example.com',
      program: 'postfix/smtpd',
      pid: '12',
      message: 'connect',
    });
  });

  it('a line that ends after the stamp or the host', () => {
    expect(parse('Nov 20 08:01:10 ')).toMatchObject({ format: 'syslog', host: null, program: null, message: '' });
    expect(parse('Nov 20 08:01:10 xen07')).toMatchObject({ format: 'syslog', host: 'xen07', program: null, message: '' });
  });

  it("a capture date before dmesg -x's padded facility and level: no host, the facility gives the source", () => {
    expect(parse('2021-11-21T15:21:27.72  kern  :alert : BUG: x')).toMatchObject({
      format: 'rfc3339',
      time: at('2021-11-21T15:21:27.720Z'),
      host: null,
      source: 'kernel',
      message: 'BUG: x',
    });
    expect(parse('2021-11-21T15:21:27.72  user  :notice: hello')).toMatchObject({ host: null, source: 'daemon', message: 'hello' });
  });

  it('the tag after a facility.level field keeps its pid', () => {
    expect(parse('Jan  1 00:00:00 router daemon.err dnsmasq[1234]: failed')).toMatchObject({
      host: 'router',
      program: 'dnsmasq',
      pid: '1234',
      message: 'failed',
    });
  });

  it('a well-known program, or one before a kernel stamp or "(XEN)", is a tag that lost its colon; another word is not', () => {
    expect(parse('Nov 20 08:01:10 xen07 xl Error: Domain x')).toMatchObject({
      program: 'xl',
      pid: null,
      source: 'toolstack',
      message: 'Error: Domain x',
    });
    expect(parse('Nov 20 08:01:10 xen07 xl[42] Error: x')).toMatchObject({ program: 'xl', pid: '42', message: 'Error: x' });
    expect(parse('Nov 20 08:01:10 xen07 myapp [  12.3] x')).toMatchObject({ program: 'myapp', uptime: 12.3, message: 'x' });
    expect(parse('Nov 20 08:01:10 xen07 myapp (XEN) x')).toMatchObject({ program: 'myapp', source: 'hypervisor', message: 'x' });
    expect(parse('Nov 20 08:01:10 xen07 myapp did x')).toMatchObject({ program: null, source: 'unknown', message: 'myapp did x' });
  });

  it('without a host field (OpenWrt logread) a first word is the message, not a lost tag', () => {
    expect(parse('Thu Jan  1 00:00:00 2026 user.notice hello world')).toMatchObject({
      format: 'syslog',
      time: at('2026-01-01T00:00:00Z'),
      host: null,
      program: null,
      message: 'hello world',
    });
    expect(parse('Thu Jan  1 00:00:00 2026 user.notice systemd is not running')).toMatchObject({
      host: null,
      program: null,
      message: 'systemd is not running',
    });
  });
});

describe('the source a program name gives', () => {
  it('xl is the toolstack whatever it says; xend is xend; xenstored and xendomains are daemons', () => {
    expect(parse('Nov 20 08:01:10 xen07 xl[4242]: Domain 3 has shut down')).toMatchObject({ program: 'xl', source: 'toolstack' });
    expect(parse('Nov 20 08:01:10 xen07 XL: x').source).toBe('toolstack');
    expect(parse('Nov 20 08:01:10 xen07 xend[1]: x').source).toBe('xend');
    expect(parse('Nov 20 08:01:10 xen07 xenstored[311]: x').source).toBe('daemon');
    expect(parse('Nov 20 08:01:10 xen07 xendomains: x').source).toBe('daemon');
    expect(parse('Nov 20 08:01:10 xen07 sshd[1]: x').source).toBe('daemon');
  });

  it("a libxl prefix makes a daemon's message the toolstack's, not xend's or the kernel's", () => {
    expect(parse('Nov 20 08:01:10 xen07 xend: libxl: error: x').source).toBe('xend');
    // a /dev/kmsg record of another facility than the kernel's
    expect(parse('30,17,2100123,-;libxl: error: libxl_create.c:1: x')).toMatchObject({ source: 'toolstack', uptime: 2.100123 });
  });

  it("a kernel stamp makes a daemon's message the kernel's, not the toolstack's", () => {
    expect(parse('Nov 20 08:01:10 xen07 dom0-console[812]: [  812.345678] BUG: soft lockup')).toMatchObject({
      source: 'kernel',
      uptime: 812.345678,
      message: 'BUG: soft lockup',
    });
    expect(parse('Nov 20 08:01:10 xen07 xl[42]: [    1.234] guest line')).toMatchObject({
      source: 'toolstack',
      uptime: 1.234,
      message: 'guest line',
    });
  });
});

describe('what stands inside a message', () => {
  it('an empty Xen console line, and an empty message that is none', () => {
    expect(parse('(XEN)')).toMatchObject({ format: 'xen', source: 'hypervisor', message: '' });
    expect(parse('Nov 20 08:01:10 xen07 foo: ')).toMatchObject({ source: 'daemon', message: '' });
  });

  it("a Xen date inside a syslog line leaves the line's time; a Xen date's tenths are hundreds of ms", () => {
    expect(parse('Nov 20 08:01:10 xen07 logger: (XEN) [2026-11-20 08:01:12.000] x')).toMatchObject({
      time: at('2026-11-20T08:01:10Z'),
      source: 'hypervisor',
      message: 'x',
    });
    expect(parse('(XEN) [2026-11-20 08:01:10.1] x').time).toBe(at('2026-11-20T08:01:10.100Z'));
  });

  it('a printk caller id: T or C, digits, a bracket; the space after it is optional', () => {
    expect(parse('[  12.3] [ T1059] x').message).toBe('x');
    expect(parse('[  129.338433][    C1]watchdog: x').message).toBe('watchdog: x');
    for (const m of ['aT1] x', '[E1] x', '[ T1 ] x', '[ T-1] x', '[ T] x', '[ T12 x']) expect(parse(`[  12.3] ${m}`).message, m).toBe(m);
  });
});

describe('journalctl -o json records', () => {
  const json = (rec: Record<string, unknown>) => parse(JSON.stringify(rec));

  it('a record without MESSAGE is no record', () => {
    expect(parse('{"PRIORITY":"6"}')).toMatchObject({ format: 'plain', message: '{"PRIORITY":"6"}' });
  });

  it('MESSAGE as an array of bytes (journald stores non-UTF-8 so), a number, null', () => {
    expect(json({ MESSAGE: [...Buffer.from('BUG: x')], _HOSTNAME: 'xen07' })).toMatchObject({
      format: 'journal-json',
      host: 'xen07',
      message: 'BUG: x',
    });
    expect(json({ MESSAGE: 42 }).message).toBe('42');
    expect(json({ MESSAGE: null }).message).toBe('');
  });

  it('the time from __REALTIME_TIMESTAMP (microseconds), none when missing, zero or not finite', () => {
    expect(json({ MESSAGE: 'x', __REALTIME_TIMESTAMP: '1795161670123456' }).time).toBe(at('2026-11-20T08:01:10.123Z'));
    for (const t of [undefined, '0', '-5', 'Infinity', 'x'])
      expect(json({ MESSAGE: 'x', __REALTIME_TIMESTAMP: t }).time, String(t)).toBeNull();
  });

  it('host, program and pid only from string fields; SYSLOG_IDENTIFIER before _COMM', () => {
    const bare = json({ MESSAGE: 'x' });
    expect([bare.host, bare.program, bare.pid, bare.source]).toEqual([null, null, null, 'unknown']);
    expect(json({ MESSAGE: 'x', _HOSTNAME: 7, SYSLOG_IDENTIFIER: 5, _COMM: 'xl', _PID: '4242' })).toMatchObject({
      host: null,
      program: 'xl',
      pid: '4242',
      source: 'toolstack',
    });
    expect(json({ MESSAGE: 'x', SYSLOG_IDENTIFIER: 'xenstored', _COMM: 'oxenstored', _PID: 4242 })).toMatchObject({
      program: 'xenstored',
      pid: null,
      source: 'daemon',
    });
    expect(json({ MESSAGE: 'x', _COMM: 7 }).program).toBeNull();
  });
});

describe('RFC 5424 and the priority prefix', () => {
  it('the nil value "-" in each header field, and an absent message', () => {
    expect(parse('<13>1 - - - - - msg')).toMatchObject({
      format: 'rfc5424',
      time: null,
      host: null,
      program: null,
      pid: null,
      message: 'msg',
    });
    expect(parse('<13>1 2026-11-20T08:01:10Z h app 4242 ID47 - msg')).toMatchObject({
      host: 'h',
      program: 'app',
      pid: '4242',
      message: 'msg',
    });
    expect(parse('<13>1 2026-11-20T08:01:10Z h app - - -').message).toBe('');
  });

  it('structured data without its end is the message; a BOM before the message is dropped (RFC 5424 6.4)', () => {
    expect(parse('<13>1 2026-11-20T08:01:10Z h app - - [unterminated sd').message).toBe('[unterminated sd');
    // a sender that leaves the structured data out: a bracket in the message is no structured data
    expect(parse('<13>1 2026-11-20T08:01:10Z h app - - oops [1] x').message).toBe('oops [1] x');
    expect(parse('<13>1 2026-11-20T08:01:10Z h app - - - \ufeffBOM msg').message).toBe('BOM msg');
  });

  it('"1 " without a priority is no RFC 5424 header; "<13>1 " with no header after it is no record', () => {
    expect(parse('1 2026-11-20T08:01:10Z h app - - - msg').format).toBe('plain');
    expect(parse('<13>1 garbage')).toMatchObject({ format: 'plain', message: '1 garbage' });
  });

  it("a printk level makes a plain line the kernel's; another facility's priority does not", () => {
    expect(parse('<4>foo')).toMatchObject({ format: 'plain', source: 'kernel', message: 'foo' });
    expect(parse('<7>foo').source).toBe('kernel');
    expect(parse('<13>foo')).toMatchObject({ format: 'plain', source: 'unknown', message: 'foo' });
    expect(parse('<8>foo').source).toBe('unknown');
  });
});

describe('stamps and fields of the direct forms', () => {
  it('NULs and byte-order marks before a line are dropped', () => {
    for (const p of ['\0', '\0\0', '\ufeff', '\ufeff\0'])
      expect(parse(`${p}Nov 20 08:01:10 xen07 kernel: x`), JSON.stringify(p)).toMatchObject({
        format: 'syslog',
        host: 'xen07',
        message: 'x',
      });
  });

  it("syslog stamps with a fraction, a year, both, and the full parse's month names in any case and script", () => {
    expect(parse('Apr 20 08:01:10.123 xen07 kernel: x').time).toBe(at('2026-04-20T08:01:10.123Z'));
    expect(parse('Nov 20 08:01:10.123456 xen07 kernel: x').time).toBe(at('2026-11-20T08:01:10.123Z'));
    expect(parse('Nov 20 08:01:10.5 xen07 kernel: x').time).toBe(at('2026-11-20T08:01:10.500Z'));
    expect(parse('Nov 20 08:01:10 2025 xen07 kernel: x')).toMatchObject({ time: at('2025-11-20T08:01:10Z'), host: 'xen07' });
    expect(parse('Nov 20 08:01:10.5 2025 xen07 kernel: x').time).toBe(at('2025-11-20T08:01:10.500Z'));
    expect(parse('abr 02 20:23:06 h kernel: x')).toMatchObject({ format: 'syslog', time: at('2026-04-02T20:23:06Z') });
    expect(parse('zář 02 20:23:06 h kernel: x')).toMatchObject({ format: 'syslog', time: at('2026-09-02T20:23:06Z') });
    expect(parse('Zář 02 20:23:06 h kernel: x')).toMatchObject({ format: 'syslog', time: at('2026-09-02T20:23:06Z') });
    expect(parse('дек 02 20:23:06 h kernel: x')).toMatchObject({ format: 'syslog', time: at('2025-12-02T20:23:06Z'), host: 'h' });
  });

  it('/dev/kmsg records whose priority starts with 0 or 9', () => {
    expect(parse('0,123,4560000,-;Kernel panic - not syncing')).toMatchObject({ format: 'dmesg', program: 'kernel', uptime: 4.56 });
    expect(parse('9,1234,5678901,-;x')).toMatchObject({ format: 'dmesg', source: 'daemon', uptime: 5.678901, message: 'x' });
  });

  it("an RFC 3339 stamp's decimal comma; libvirt's thread id and a Xen line in its message", () => {
    expect(parse('2026-11-20T08:01:10,123+00:00 xen07 kernel: x').time).toBe(at('2026-11-20T08:01:10.123Z'));
    expect(parse('2023-03-10 04:45:50.541+0000: 1234: error : x')).toMatchObject({ pid: '1234', source: 'toolstack' });
    expect(parse('2023-03-10 04:45:50.541+0000: (XEN) x')).toMatchObject({
      format: 'libxl',
      pid: null,
      source: 'hypervisor',
      message: 'x',
    });
  });

  it("xend's program, and a console logger's fraction", () => {
    expect(parse('[2011-03-16 15:19:09 1062] ERROR (SrvDaemon:349) x')).toMatchObject({ program: 'xend', pid: '1062' });
    expect(parse('[2023-06-22 21:55:31.352446][5975153.878190] x').time).toBe(at('2023-06-22T21:55:31.352Z'));
    expect(parse('[2023-06-22 21:55:31.3] x').time).toBe(at('2023-06-22T21:55:31.300Z'));
  });

  it('a parenthesis that is not "(XEN)" starts no Xen line', () => {
    expect(parse('(foo) bar')).toMatchObject({ format: 'plain', source: 'unknown' });
    expect(parse('(XEN) bar')).toMatchObject({ format: 'xen', source: 'hypervisor' });
  });

  it('a pasted wall broadcast\'s " kernel:[…]" line is the kernel\'s, as the unindented one is', () => {
    const want = { format: 'dmesg', program: 'kernel', source: 'kernel', uptime: 405108.698255, message: 'watchdog: BUG' };
    for (const l of [
      ' kernel:[405108.698255] watchdog: BUG',
      '\tkernel:[405108.698255] watchdog: BUG',
      'kernel:[405108.698255] watchdog: BUG',
    ])
      expect(parse(l), JSON.stringify(l)).toMatchObject(want);
  });
});

describe('the wrapped forms in their edges', () => {
  it("a console logger's stamp before a plain text, before dmesg -x without its own time, before a syslog line", () => {
    expect(parse('[2026-03-28 22:39:25] hello world')).toMatchObject({
      format: 'console',
      time: at('2026-03-28T22:39:25Z'),
      message: 'hello world',
    });
    expect(parse('[2026-03-28 22:39:25] kern  :err   : [  12.3] BUG: x')).toMatchObject({
      format: 'dmesg',
      time: at('2026-03-28T22:39:25Z'),
      message: 'BUG: x',
    });
    // a kernel stamp in a syslog line's message is the fallback's (parse/fallback.ts), not the line's reading
    const glued = 'Mar 28 22:39:25 xen07 kernel: done.[  12.345678] BUG: x';
    for (const l of [`[2026-03-28 22:39:25] ${glued}`, `> ${glued}`])
      expect(parse(l), l).toMatchObject({ format: 'syslog', host: 'xen07', uptime: null, message: 'done.[  12.345678] BUG: x' });
  });

  it('quoting alone: ">" is kept, ">x" is x', () => {
    expect(parse('>').message).toBe('>');
    expect(parse('>x').message).toBe('x');
  });

  it("dmesg -x: the line is dmesg's; kern makes a daemon's reading the kernel's, another facility a kernel reading a daemon's; the hypervisor and toolstack stay", () => {
    expect(parse('kern  :err   : hello')).toMatchObject({ format: 'dmesg', source: 'kernel', message: 'hello' });
    expect(parse('daemon:info  : hello')).toMatchObject({ format: 'dmesg', source: 'daemon', message: 'hello' });
    expect(parse('kern  :info  : [  12.3] xen07 systemd[1]: x')).toMatchObject({ program: 'systemd', source: 'kernel' });
    expect(parse('kern  :info  : (XEN) x')).toMatchObject({ format: 'xen', source: 'hypervisor' });
    expect(parse('user  :err   : libxl: error: x')).toMatchObject({ format: 'libxl', source: 'toolstack' });
  });

  it("a lone kernel tag: the line is syslog's and the kernel's, but a Xen line behind it stays the hypervisor's", () => {
    expect(parse('kernel: BUG: soft lockup')).toMatchObject({ format: 'syslog', program: 'kernel', source: 'kernel' });
    expect(parse('kernel: [  12.3] xen07 systemd[1]: x')).toMatchObject({ program: 'kernel', source: 'kernel' });
    expect(parse('kernel: (XEN) x')).toMatchObject({ format: 'xen', program: 'kernel', source: 'hypervisor' });
  });

  it("OpenWrt logread's line is syslog's", () => {
    expect(parse('Thu Jun 17 23:28:05 2021 kern.err kernel: x').format).toBe('syslog');
  });

  it("a capture date: the line's own time wins; a zone, UTC, a fraction of any length", () => {
    expect(parse('2026-11-20 08:01:10\tNov 20 08:01:09 xen07 kernel: x').time).toBe(at('2026-11-20T08:01:09Z'));
    expect(parse('2026-11-20T08:01:10+01:00\t(XEN) x').time).toBe(at('2026-11-20T07:01:10Z'));
    expect(parse('2026-11-20 08:01:10 UTC\t[  12.3] x').time).toBe(at('2026-11-20T08:01:10Z'));
    // "UTC" is UTC whatever zone the log's other stamps are read in (--tz)
    expect(parseLine('2026-11-20 08:01:10 UTC\t[  12.3] x', { ...NOW, zone: 'Europe/Berlin' }).time).toBe(at('2026-11-20T08:01:10Z'));
    expect(parse('2026-11-20T08:01:10.123456\t[  12.3] x').time).toBe(at('2026-11-20T08:01:10.123Z'));
    expect(parse('2026-11-20 08:01:10.5\t[  12.3] x').time).toBe(at('2026-11-20T08:01:10.500Z'));
    expect(parse('Nov 20 08:01:10.5\t[  12.3] x').time).toBe(at('2026-11-20T08:01:10.500Z'));
    expect(parse('Nov 20 08:01:10.123456\t[  12.3] x').time).toBe(at('2026-11-20T08:01:10.123Z'));
    expect(parse('Nov 20 08:01:10\thello')).toMatchObject({ format: 'console', time: at('2026-11-20T08:01:10Z'), message: 'hello' });
  });

  it('five wrappers deep is still read (colour, quoting, dmesg -x, kernel tag, capture date)', () => {
    expect(parse('\u001b[0m> kern  :err   : kernel: 2026-11-20 08:01:10\t[  12.3] x')).toMatchObject({
      format: 'dmesg',
      time: at('2026-11-20T08:01:10Z'),
      uptime: 12.3,
      message: 'x',
    } satisfies Partial<LogEvent>);
  });
});
