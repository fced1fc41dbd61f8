/** Line formats and timestamps: the subtle parts (year inference, zones, prefixes). */
import { describe, expect, it } from 'vitest';
import { parseLine, classifyLine } from '../src/parse/line.js';
import { parseBound, syslogTime, toIso, type TimeContext } from '../src/parse/time.js';

const ctx = (reference: string, zone = 'UTC', year: number | null = null): TimeContext => ({
  zone,
  year,
  reference: Date.parse(reference),
});
const NOW = ctx('2026-11-26T12:00:00Z');

describe('syslog year inference', () => {
  it('uses the reference year', () => {
    expect(toIso(syslogTime(NOW, 11, 20, 8, 1, 10))).toBe('2026-11-20T08:01:10Z');
  });
  it('rolls back a year for stamps after the file was written (a January file with December lines)', () => {
    const jan = ctx('2027-01-02T00:10:00Z');
    expect(toIso(syslogTime(jan, 12, 31, 23, 59, 0))).toBe('2026-12-31T23:59:00Z');
    expect(toIso(syslogTime(jan, 1, 1, 0, 1, 0))).toBe('2027-01-01T00:01:00Z');
  });
  it('honours --year and --tz', () => {
    expect(toIso(syslogTime(ctx('2026-11-26T12:00:00Z', 'Europe/Berlin', 2020), 7, 1, 12, 0, 0))).toBe('2020-07-01T10:00:00Z');
  });
  it('places Feb 29 in the leap year before when the reference year has none', () => {
    expect(toIso(syslogTime(ctx('2025-03-01T00:00:00Z'), 2, 29, 1, 0, 0))).toBe('2024-02-29T01:00:00Z');
  });
});

describe('parseLine', () => {
  const cases: [string, Partial<ReturnType<typeof parseLine>>][] = [
    [
      'Nov 20 08:01:10 xen07 kernel: [812345.123456] INFO: task x:1 blocked',
      {
        format: 'syslog',
        host: 'xen07',
        program: 'kernel',
        source: 'kernel',
        uptime: 812345.123456,
        message: 'INFO: task x:1 blocked',
        time: Date.parse('2026-11-20T08:01:10Z'),
      },
    ],
    ['Nov  2 08:01:10 xen07 xend[1234]: hello', { host: 'xen07', program: 'xend', pid: '1234', source: 'xend', message: 'hello' }],
    [
      '<4>1 2026-11-20T08:01:10.123Z xen07 kernel - - - Out of memory',
      { format: 'rfc5424', host: 'xen07', source: 'kernel', message: 'Out of memory', time: Date.parse('2026-11-20T08:01:10.123Z') },
    ],
    [
      '<13>1 2026-11-20T08:01:10Z xen07 xl 99 ID47 [ex@1 a="b"] libxl: error: x',
      { format: 'rfc5424', program: 'xl', source: 'toolstack', message: 'libxl: error: x' },
    ],
    [
      '2026-11-20T08:01:10.123456+01:00 xen07 kernel: [   1.5] Linux version 6.1',
      { format: 'rfc3339', host: 'xen07', time: Date.parse('2026-11-20T07:01:10.123Z'), message: 'Linux version 6.1' },
    ],
    ['2026-11-20T08:01:10+0000 xen07 kernel: msg', { format: 'rfc3339', time: Date.parse('2026-11-20T08:01:10Z'), source: 'kernel' }],
    ['[  12.345678] msg here', { format: 'dmesg', uptime: 12.345678, source: 'kernel', message: 'msg here', time: null }],
    ['[Thu Nov 20 08:01:10 2026] msg', { format: 'dmesg-T', source: 'kernel', message: 'msg', time: Date.parse('2026-11-20T08:01:10Z') }],
    ['(XEN) Xen version 4.17.3', { format: 'xen', source: 'hypervisor', message: 'Xen version 4.17.3' }],
    [
      '(XEN) [2026-11-20 08:01:10.123] Panic on CPU 0:',
      { source: 'hypervisor', message: 'Panic on CPU 0:', time: Date.parse('2026-11-20T08:01:10.123Z') },
    ],
    ['(XEN) [0000001234abcdef] Using scheduler: x', { source: 'hypervisor', message: 'Using scheduler: x' }],
    [
      '[2011-03-16 15:19:09 1062] ERROR (SrvDaemon:349) Exception starting xend',
      { format: 'xend', source: 'xend', pid: '1062', message: 'Exception starting xend', time: Date.parse('2011-03-16T15:19:09Z') },
    ],
    [
      '2023-03-10 04:45:50.541+0000: 1234: error : libxlDomainStart:1 : x',
      { format: 'libxl', source: 'toolstack', time: Date.parse('2023-03-10T04:45:50.541Z') },
    ],
    ['libxl: error: libxl_create.c:1234: cannot', { format: 'libxl', source: 'toolstack' }],
    ['Error: Not enough free memory', { format: 'plain', source: 'unknown', message: 'Error: Not enough free memory' }],
    [
      '{"__REALTIME_TIMESTAMP":"1795161670000000","MESSAGE":"Out of memory: Killed process 1 (x)","_HOSTNAME":"xen07","_TRANSPORT":"kernel"}',
      { format: 'journal-json', host: 'xen07', source: 'kernel', message: 'Out of memory: Killed process 1 (x)' },
    ],
    ['<6>[   3.1] xen: foo', { source: 'kernel', message: 'xen: foo' }],
    [
      'Nov 20 08:01:10 xen08 kernel [  12.5] Out of memory: x',
      { host: 'xen08', program: 'kernel', source: 'kernel', uptime: 12.5, message: 'Out of memory: x' },
    ],
    [
      '[2026-03-28 22:39:25] [    2.548608] BUG: unable to handle page fault',
      {
        format: 'console',
        source: 'kernel',
        uptime: 2.548608,
        message: 'BUG: unable to handle page fault',
        time: Date.parse('2026-03-28T22:39:25Z'),
      },
    ],
    [
      '[2025-01-14 09:12:03] (XEN) parameter "loglevel" unknown!',
      { format: 'console', source: 'hypervisor', message: 'parameter "loglevel" unknown!' },
    ],
    [
      '[2023-06-22 21:55:31.352446][5975153.878190] EDAC MC0: 1 UE',
      { format: 'console', message: 'EDAC MC0: 1 UE', uptime: 5975153.87819 },
    ],
    [
      '[Mär 6 18:02] INFO: task txg_sync:12713 blocked',
      { format: 'dmesg', source: 'kernel', message: 'INFO: task txg_sync:12713 blocked' },
    ],
    ['[  +0,000008] Call Trace:', { format: 'dmesg', message: 'Call Trace:' }],
    [
      'lis 02 20:23:06 tpgbox.localdomain kernel: irq 16: nobody cared',
      {
        format: 'syslog',
        host: 'tpgbox.localdomain',
        source: 'kernel',
        message: 'irq 16: nobody cared',
        time: Date.parse('2026-11-02T20:23:06Z'),
      },
    ],
    ['Mär 06 18:02:01 h kernel: x', { time: Date.parse('2026-03-06T18:02:01Z'), message: 'x' }],
    [
      ' (XEN) Domain 0 crashed: rebooting machine in 5 seconds.',
      { source: 'hypervisor', message: 'Domain 0 crashed: rebooting machine in 5 seconds.' },
    ],
    [
      ' kernel:[405108.698255] watchdog: BUG: soft lockup',
      { source: 'kernel', uptime: 405108.698255, message: 'watchdog: BUG: soft lockup' },
    ],
    ['  [<ffffffff812fd0b1>] io_schedule+0x5d/0x80', { message: '  [<ffffffff812fd0b1>] io_schedule+0x5d/0x80' }],
    ['Jan 27 11:02:14  kernel: [248571.5] BTRFS: error', { host: null, program: 'kernel', source: 'kernel', message: 'BTRFS: error' }],
    [
      '[  812345.123456] xen07 kernel: INFO: task x:1 blocked',
      { format: 'dmesg', host: 'xen07', program: 'kernel', source: 'kernel', message: 'INFO: task x:1 blocked' },
    ],
    ['[  812345.123456] xen07 xenstored[311]: oops', { host: 'xen07', program: 'xenstored', pid: '311', message: 'oops' }],
    ['[   12.5] EXT4-fs (dm-0): mounted filesystem', { host: null, message: 'EXT4-fs (dm-0): mounted filesystem' }],
    ['[   12.5] usb 1-1: new high-speed USB device', { host: null, message: 'usb 1-1: new high-speed USB device' }],
    ['Nov 20 08:01:10 xen07 logger: (XEN) Panic on CPU 3:', { source: 'hypervisor', message: 'Panic on CPU 3:' }],
  ];
  it.each(cases)('%s', (line, want) => {
    expect(parseLine(line, NOW)).toMatchObject(want);
  });
  it('never throws on junk', () => {
    for (const s of [
      '',
      '<',
      '<999999>',
      '{',
      '{"MESSAGE":',
      '[',
      '(XEN',
      '\u0000\u0000',
      'Nov 99 99:99:99 x y',
      '2026-13-45T99:99:99Z h p: m',
    ]) {
      expect(() => parseLine(s, NOW)).not.toThrow();
    }
  });
  it('classifies line starts cheaply', () => {
    const b = Buffer.from('Nov 20 08:01:10 h k: m');
    expect(classifyLine(b, 0, b.length)).toBe('syslog');
    const x = Buffer.from('(XEN) hi');
    expect(classifyLine(x, 0, x.length)).toBe('xen');
  });
});

describe('--since/--until bounds', () => {
  it('reads durations back from now and ISO times', () => {
    const now = Date.parse('2026-11-26T12:00:00Z');
    expect(parseBound('24h', 'UTC', now)).toBe(Date.parse('2026-11-25T12:00:00Z'));
    expect(parseBound('2026-11-20T08:00', 'UTC', now)).toBe(Date.parse('2026-11-20T08:00:00Z'));
    expect(parseBound('yesterday-ish', 'UTC', now)).toBeNull();
  });
});
