/**
 * The hand-written prefix readers (parse/fast.ts) against the regular expressions they stand in
 * for: whenever a reader accepts a text, the expression matches it with the same fields. Texts are
 * random mixtures of the pieces those prefixes are made of (so that most are near misses), and the
 * readers must also accept the everyday forms (or they would save nothing).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readSyslogStamp, readTag, readUptime, type SyslogStamp, type SyslogTag } from '../src/parse/fast.js';
import { RE_3164, RE_TAG, RE_UPTIME } from '../src/parse/line.js';
import { monthNumber } from '../src/parse/time.js';

const RUNS = 3000 * Number(process.env.XENDOCTOR_FUZZ_RUNS ?? 1);
const pieces = (list: string[]) =>
  fc.array(fc.oneof(fc.constantFrom(...list), fc.string({ maxLength: 3 })), { maxLength: 14 }).map((p) => p.join(''));

describe('readSyslogStamp', () => {
  const text = pieces([
    'Nov',
    'Jan',
    'nov',
    'Foo',
    ' ',
    '  ',
    '1',
    '20',
    '123',
    '08',
    ':',
    '.',
    '123456',
    '2026',
    ' xen07 kernel: x',
    '\r',
    '\u2028',
    '\t',
  ]);
  it('accepts only what RE_3164 matches, with the same fields', () => {
    fc.assert(
      fc.property(text, (t) => {
        const out: SyslogStamp = { month: 0, day: 0, h: 0, mi: 0, s: 0, rest: 0 };
        if (!readSyslogStamp(t, out)) return;
        const m = RE_3164.exec(t);
        expect(m, JSON.stringify(t)).not.toBeNull();
        expect([out.month, out.day, out.h, out.mi, out.s, t.slice(out.rest)]).toEqual([
          monthNumber(m![1]!),
          +m![2]!,
          +m![3]!,
          +m![4]!,
          +m![5]!,
          m![8]!,
        ]);
        expect(m![6]).toBeUndefined();
        expect(m![7]).toBeUndefined();
      }),
      { numRuns: RUNS },
    );
  });
  it.each([
    'Nov 20 08:01:10 xen07 kernel: x',
    'Nov  5 08:01:10 h p: x',
    'Nov 5 23:59:59 h p[1]: x',
    'Dec 31 00:00:00 2026x p: x',
    'Jan 01 01:01:01 ',
  ])('accepts %j', (t) => {
    expect(readSyslogStamp(t, { month: 0, day: 0, h: 0, mi: 0, s: 0, rest: 0 })).toBe(true);
  });
  it.each(['Nov 20 08:01:10.123 h p: x', 'Nov 20 08:01:10 2026 h p: x', 'nov 20 08:01:10 h', 'Nov 20 08:01:10', 'Nov 123 08:01:10 h'])(
    'declines %j',
    (t) => {
      expect(readSyslogStamp(t, { month: 0, day: 0, h: 0, mi: 0, s: 0, rest: 0 })).toBe(false);
    },
  );
});

describe('readTag', () => {
  const text = pieces(['kernel', 'sshd', 'postfix/smtpd', '[', ']', '123', ':', ': ', ' ', 'x'.repeat(60), '\u00a0', '\x01', 'é', 'msg']);
  it('accepts only what RE_TAG matches, with the same fields', () => {
    fc.assert(
      fc.property(text, (t) => {
        const out: SyslogTag = { program: '', pid: null, rest: 0 };
        if (!readTag(t, out)) return;
        const m = RE_TAG.exec(t);
        expect(m, JSON.stringify(t)).not.toBeNull();
        expect([out.program, out.pid, t.slice(out.rest)]).toEqual([m![1], m![2] ?? null, m![3]]);
      }),
      { numRuns: RUNS },
    );
  });
  it.each(['kernel: x', 'sshd[123]: x', 'postfix/smtpd[9]:x', 'a:', `${'p'.repeat(64)}: x`])('accepts %j', (t) => {
    expect(readTag(t, { program: '', pid: null, rest: 0 })).toBe(true);
  });
  it.each(['kernel x', 'sshd[12a]: x', `${'p'.repeat(65)}: x`, ': x', 'a]: x'])('declines %j', (t) => {
    expect(readTag(t, { program: '', pid: null, rest: 0 })).toBe(false);
  });
});

describe('readUptime', () => {
  const text = pieces(['[', ']', ' ', '   ', '812345', '.', '123456', '0', 'x', '] ']);
  it('reads what RE_UPTIME matches, and only that', () => {
    fc.assert(
      fc.property(text, (t) => {
        const got = readUptime(t);
        const m = RE_UPTIME.exec(t);
        expect(got === null, JSON.stringify(t)).toBe(m === null);
        if (got && m) expect([got.uptime, t.slice(got.rest)]).toEqual([Number(m[1]), m[2]]);
      }),
      { numRuns: RUNS },
    );
  });
});
