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
/** A text built field by field, each field mostly right and sometimes a near miss. */
const fields = (...parts: fc.Arbitrary<string>[]) => fc.tuple(...parts).map((p) => p.join(''));
const digits = (min: number, max: number) => fc.stringMatching(new RegExp(`^\\d{${min},${max}}$`));
/** Mostly `good`, one time in eight one of the near misses. */
const mostly = (good: fc.Arbitrary<string>, ...bad: (string | fc.Arbitrary<string>)[]) =>
  fc.oneof(
    { weight: 7, arbitrary: good },
    { weight: 1, arbitrary: fc.oneof(...bad.map((b) => (typeof b === 'string' ? fc.constant(b) : b))) },
  );
/** Runs a property and counts the texts the reader accepted: a property that never sees one proves nothing. */
function assertAccepting<T>(arb: fc.Arbitrary<string>, read: (t: string) => T | null, check: (t: string, got: T | null) => void): number {
  let accepted = 0;
  fc.assert(
    fc.property(arb, (t) => {
      const got = read(t);
      if (got !== null) accepted++;
      check(t, got);
    }),
    { numRuns: RUNS },
  );
  return accepted;
}

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
  const stamp = fields(
    mostly(fc.constantFrom('Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'), 'nov', 'Foo', 'No', 'JAN'),
    mostly(fc.constantFrom(' ', '  '), '', '   '),
    mostly(digits(1, 2), digits(0, 3)),
    mostly(fc.constant(' '), '  ', ':', ''),
    mostly(digits(2, 2), digits(1, 3), 'x1', '1x', ' 1'),
    mostly(fc.constant(':'), '.', ''),
    mostly(digits(2, 2), 'x1', '1x', '1'),
    mostly(fc.constant(':'), ' '),
    mostly(digits(2, 2), digits(1, 3), 'x1', '1x'),
    mostly(
      fc.constant(' '),
      '.123',
      '.1234567',
      ' 2026',
      ' 2026 ',
      ' 20261 ',
      ' x026 ',
      ' 2x26 ',
      ' 20x6 ',
      ' 202x ',
      ' 202 ',
      '',
      '\t',
      '\u2028',
    ),
    fc.constantFrom('xen07 kernel: x', ' h p: x', '', 'x', '2026x p: x', '2026 h p: x', '\r'),
  );
  it('accepts only what RE_3164 matches, with the same fields', () => {
    const accepted = assertAccepting(
      fc.oneof(stamp, text),
      (t) => {
        const out: SyslogStamp = { month: 0, day: 0, h: 0, mi: 0, s: 0, rest: 0 };
        return readSyslogStamp(t, out) ? out : null;
      },
      (t, out) => {
        if (!out) return;
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
      },
    );
    expect(accepted, 'texts the reader accepted').toBeGreaterThan(RUNS / 20);
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
  // every month is read here (declining would be correct but slow: the expression would do it)
  it.each(['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'].map((m, i) => [m, i + 1]))(
    'reads the month %s',
    (m, n) => {
      const out: SyslogStamp = { month: 0, day: 0, h: 0, mi: 0, s: 0, rest: 0 };
      expect(readSyslogStamp(`${m} 20 08:01:10 h p: x`, out)).toBe(true);
      expect(out.month).toBe(n);
    },
  );
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
    const accepted = assertAccepting(
      text,
      (t) => {
        const out: SyslogTag = { program: '', pid: null, rest: 0 };
        return readTag(t, out) ? out : null;
      },
      (t, out) => {
        if (!out) return;
        const m = RE_TAG.exec(t);
        expect(m, JSON.stringify(t)).not.toBeNull();
        expect([out.program, out.pid, t.slice(out.rest)]).toEqual([m![1], m![2] ?? null, m![3]]);
      },
    );
    expect(accepted, 'texts the reader accepted').toBeGreaterThan(RUNS / 20);
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
  const uptime = fields(
    mostly(fc.constant('['), '(', '', '[['),
    mostly(fc.constantFrom('', ' ', '   '), '\t'),
    mostly(digits(1, 7), digits(0, 2)),
    mostly(fc.constant('.'), ',', ''),
    mostly(digits(1, 6), digits(0, 1)),
    mostly(fc.constant(']'), ') ', ' ]', ''),
    fc.constantFrom(' ', '', '  ', ' x', '] '),
    fc.constantFrom('xen-blkback: ring-ref 8', '', 'x]'),
  );
  it('reads what RE_UPTIME matches, and only that', () => {
    const accepted = assertAccepting(fc.oneof(uptime, text), readUptime, (t, got) => {
      const m = RE_UPTIME.exec(t);
      expect(got === null, JSON.stringify(t)).toBe(m === null);
      if (got && m) expect([got.uptime, t.slice(got.rest)]).toEqual([Number(m[1]), m[2]]);
    });
    expect(accepted, 'texts the reader accepted').toBeGreaterThan(RUNS / 20);
  });
});
