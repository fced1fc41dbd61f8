/**
 * Unit tests of src/parse/time.ts that pin what the mutation run (npm run mutate, docs/mutation.md)
 * found untested: the range of each clock field, the last-hour cache across dates that share all but
 * one field, the year of the reference taken in the context's zone, the two-day slack as a bound,
 * zone-less ISO stamps and --since/--until bounds read in the given zone, and the edges of the small
 * helpers (locale month names, durations with blanks, toIso of non-times, validZone).
 */
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import {
  hostZone,
  isoTime,
  isoTimeLuxon,
  localTime,
  monthNumber,
  parseBound,
  parseDuration,
  syslogTime,
  toIso,
  utcHour,
  validZone,
  type TimeContext,
} from '../src/parse/time.js';
import { ROOT, spawnAsync, tmp } from './helpers.js';

const ctx = (zone: string, reference = Date.UTC(2026, 5, 1), year: number | null = null): TimeContext => ({ zone, year, reference });
const UTC = ctx('UTC');

describe('time: the fields of a clock reading', () => {
  it('takes minute 59, second 60 (a leap second) and millisecond 999, and nothing past them', () => {
    expect(localTime(UTC, 2026, 3, 4, 10, 59, 0)).toBe(Date.UTC(2026, 2, 4, 10, 59));
    expect(localTime(UTC, 2026, 3, 4, 10, 0, 60)).toBe(Date.UTC(2026, 2, 4, 10, 1, 0));
    expect(localTime(UTC, 2026, 3, 4, 10, 0, 0, 999)).toBe(Date.UTC(2026, 2, 4, 10, 0, 0, 999));
    expect(localTime(UTC, 2026, 3, 4, 10, 60, 0)).toBeNull();
    expect(localTime(UTC, 2026, 3, 4, 10, 0, 61)).toBeNull();
    expect(localTime(UTC, 2026, 3, 4, 10, 0, 0, 1000)).toBeNull();
  });

  it('reads two dates that differ in one field only as two times (the last-hour cache keys on every field)', () => {
    const at = (zone: string, y: number, mo: number, d: number, h: number) => localTime(ctx(zone), y, mo, d, h, 30, 0);
    // each pair back to back, so the second meets the first's cached hour
    expect([at('UTC', 2026, 1, 5, 10), at('UTC', 2026, 2, 5, 10)]).toEqual([Date.UTC(2026, 0, 5, 10, 30), Date.UTC(2026, 1, 5, 10, 30)]);
    expect([at('UTC', 2026, 2, 5, 10), at('UTC', 2027, 2, 5, 10)]).toEqual([Date.UTC(2026, 1, 5, 10, 30), Date.UTC(2027, 1, 5, 10, 30)]);
    expect([at('UTC', 2027, 2, 5, 10), at('UTC', 2027, 2, 6, 10)]).toEqual([Date.UTC(2027, 1, 5, 10, 30), Date.UTC(2027, 1, 6, 10, 30)]);
    expect([at('UTC', 2027, 2, 6, 10), at('UTC', 2027, 2, 6, 11)]).toEqual([Date.UTC(2027, 1, 6, 10, 30), Date.UTC(2027, 1, 6, 11, 30)]);
    expect([at('UTC', 2027, 2, 6, 11), at('Europe/Berlin', 2027, 2, 6, 11)]).toEqual([
      Date.UTC(2027, 1, 6, 11, 30),
      Date.UTC(2027, 1, 6, 10, 30),
    ]);
  });

  it('gives no time for a date that does not exist, also when asked twice in a row', () => {
    expect(localTime(UTC, 2026, 2, 30, 10, 0, 0)).toBeNull();
    expect(localTime(UTC, 2026, 2, 30, 10, 5, 0)).toBeNull(); // same hour: from the cache
    expect(localTime(UTC, 2026, 4, 31, 10, 0, 0)).toBeNull();
  });
});

describe('time: year-less syslog stamps', () => {
  it('a stamp exactly two days after the file time is still this year; a millisecond later it is last year', () => {
    const ref = Date.UTC(2026, 5, 1, 0, 0, 0);
    expect(syslogTime(ctx('UTC', ref), 6, 3, 0, 0, 0)).toBe(Date.UTC(2026, 5, 3));
    expect(syslogTime(ctx('UTC', ref), 6, 3, 0, 0, 0, 1)).toBe(Date.UTC(2025, 5, 3, 0, 0, 0, 1));
  });

  it('takes the year of the file time in the input zone, not in UTC (same instant, two zones)', () => {
    // 00:30 UTC on New Year's Day 2024 is still 2023 in New York: a "Jan 1 10:00" line in that file is
    // from January 2023, while in UTC it is from this morning
    const ref = Date.UTC(2024, 0, 1, 0, 30);
    expect(syslogTime(ctx('America/New_York', ref), 1, 1, 10, 0, 0)).toBe(Date.UTC(2023, 0, 1, 15));
    expect(syslogTime(ctx('UTC', ref), 1, 1, 10, 0, 0)).toBe(Date.UTC(2024, 0, 1, 10));
    expect(syslogTime(ctx('America/New_York', ref), 1, 1, 10, 0, 0)).toBe(Date.UTC(2023, 0, 1, 15));
  });

  it('places Feb 29 in the year before only: not two years back when neither year is leap', () => {
    // a file written in 1966: neither 1966 nor 1965 has a Feb 29 (1964 does, but is out of reach)
    expect(syslogTime(ctx('UTC', Date.UTC(1966, 5, 1)), 2, 29, 1, 0, 0)).toBeNull();
    expect(syslogTime(ctx('UTC', Date.UTC(2026, 5, 1)), 2, 29, 1, 0, 0)).toBeNull();
    expect(syslogTime(ctx('UTC', Date.UTC(2025, 5, 1)), 2, 29, 1, 0, 0)).toBe(Date.UTC(2024, 1, 29, 1));
  });
});

describe('time: stamps and bounds with a date', () => {
  it('reads an ISO stamp with an offset written with or without a colon, and one without in the zone', () => {
    expect(isoTime(UTC, '2024-05-01T10:00:00+0200')).toBe(Date.UTC(2024, 4, 1, 8));
    expect(isoTime(UTC, '2024-05-01T10:00:00-05:30')).toBe(Date.UTC(2024, 4, 1, 15, 30));
    expect(isoTime(ctx('Europe/Berlin'), '2024-05-01T10:00:00')).toBe(Date.UTC(2024, 4, 1, 8));
    expect(isoTime(ctx('Europe/Berlin'), '2024-05-01T10:00:00Z')).toBe(Date.UTC(2024, 4, 1, 10));
    // a six-digit year with its sign (ISO 8601 extended years): only the offset at the end is rewritten
    expect(isoTime(UTC, '+002024-05-01T10:00:00Z')).toBe(Date.UTC(2024, 4, 1, 10));
  });

  it("reads an RFC 3339 stamp as luxon does, whichever way it reads it (the direct reading's fields and their edges)", () => {
    const num = (lo: number, hi: number, width: number) => fc.integer({ min: lo, max: hi }).map((v) => String(v).padStart(width, '0'));
    // each field mostly in its plain range and sometimes just past it; the separators, fraction and offset in
    // the forms the direct reading takes and in others it leaves to luxon
    const field = (lo: number, hi: number, width: number, ...edges: string[]) =>
      fc.oneof(
        { arbitrary: num(lo, hi, width), weight: 12 },
        { arbitrary: num(0, 10 ** width - 1, width), weight: 1 },
        { arbitrary: fc.constantFrom('', 'x', '1', ...edges), weight: 2 },
      );
    const stamp = fc
      .record({
        year: fc.oneof(
          { arbitrary: num(1000, 9999, 4), weight: 8 },
          { arbitrary: fc.constantFrom('1900', '2000', '2100', '2024', '2400'), weight: 4 },
          { arbitrary: fc.oneof(num(0, 999, 4), fc.constantFrom('+002024', '20240', '202')), weight: 1 },
        ),
        month: fc.oneof(field(1, 12, 2, '00', '13'), fc.constant('02')),
        day: field(1, 31, 2, '00', '32', '29', '30', '31'),
        h: field(0, 23, 2, '24', '24', '24'),
        mi: field(0, 59, 2, '60', '00', '00'),
        s: field(0, 59, 2, '60', '61', '00', '00'),
        frac: fc.oneof(fc.constant(''), fc.stringMatching(/^[.,]\d{1,12}$/), fc.constantFrom('.', '.9999999999999999999', '.5x')),
        offset: fc.oneof(
          fc.constantFrom('', 'Z', 'z', '+00:00', '-00:00', '+0000', '+05', '+25:00', '+05:61', ' Z', 'Zx', '+5:30', '+05:3'),
          fc.tuple(fc.constantFrom('+', '-'), num(0, 23, 2), fc.constantFrom(':', ''), num(0, 59, 2)).map((t) => t.join('')),
        ),
        sep: fc.constantFrom('T', 'T', 'T', 't', ' ', '_'),
        zone: fc.constantFrom('UTC', 'UTC', 'Europe/Berlin', 'America/St_Johns'),
      })
      .map((f) => ({ text: `${f.year}-${f.month}-${f.day}${f.sep}${f.h}:${f.mi}:${f.s}${f.frac}${f.offset}`, zone: f.zone }));
    fc.assert(
      fc.property(stamp, ({ text, zone }) => {
        expect(isoTime(ctx(zone), text)).toBe(isoTimeLuxon(ctx(zone), text));
      }),
      { numRuns: 20_000 },
    );
    // the edges, each once: the last day of February, hour 23, the largest offsets and fraction it reads itself
    for (const [text, at] of [
      ['2024-02-29T23:59:59.999999999+23:59', Date.UTC(2024, 1, 29, 23, 59, 59, 999) - (23 * 60 + 59) * 60_000],
      ['2025-02-28T00:00:00.1-2359', Date.UTC(2025, 1, 28, 0, 0, 0, 100) + (23 * 60 + 59) * 60_000],
      ['1000-01-01T00:00:00.12Z', Date.UTC(1000, 0, 1, 0, 0, 0, 120)],
      ['2026-12-31T12:30:45', Date.UTC(2026, 11, 31, 12, 30, 45)],
    ] as const) {
      expect(isoTime(UTC, text)).toBe(at);
      expect(isoTimeLuxon(UTC, text)).toBe(at);
    }
    expect(isoTime(UTC, '2025-02-29T00:00:00Z')).toBeNull();
    expect(isoTime(UTC, '2100-02-29T00:00:00Z')).toBeNull();
    expect(isoTime(UTC, '2000-02-29T00:00:00Z')).toBe(Date.UTC(2000, 1, 29));
    expect(isoTime(UTC, '2026-04-31T00:00:00Z')).toBeNull();
  });

  it('reads a --since/--until date with a space or T, blanks around it, zone-less ones in the given zone', () => {
    const now = Date.UTC(2026, 5, 1);
    expect(parseBound('2024-05-01 10:00:00', 'UTC', now)).toBe(Date.UTC(2024, 4, 1, 10));
    expect(parseBound('  2024-05-01T10:00:00 ', 'UTC', now)).toBe(Date.UTC(2024, 4, 1, 10));
    expect(parseBound('2024-05-01T10:00:00', 'Europe/Berlin', now)).toBe(Date.UTC(2024, 4, 1, 8));
    expect(parseBound(' 2h ', 'UTC', now)).toBe(now - 2 * 3600_000);
  });

  it('reads durations with blanks around them and in any case', () => {
    expect(parseDuration(' 30s ')).toBe(30_000);
    expect(parseDuration('1.5 H')).toBe(5400_000);
    expect(parseDuration('2w')).toBe(14 * 86400_000);
    expect(parseDuration('30 parsecs')).toBeNull();
  });
});

describe('time: small helpers', () => {
  it('knows month names of other locales by their first three letters, in any case', () => {
    expect(monthNumber('Dezember')).toBe(12);
    expect(monthNumber('MAI')).toBe(5);
    expect(monthNumber('okt.')).toBe(10);
    expect(monthNumber('févr.')).toBe(2);
    expect(monthNumber('Nov')).toBe(11);
    expect(monthNumber('juin')).toBe(0); // juin/juil. are ambiguous by three letters
    expect(monthNumber('xyz')).toBe(0);
  });

  it('toIso: no string for a time that is none (null, NaN, infinite)', () => {
    expect(toIso(null)).toBeNull();
    expect(toIso(Number.NaN)).toBeNull();
    expect(toIso(Number.POSITIVE_INFINITY)).toBeNull();
    expect(toIso(Date.UTC(2026, 0, 2, 3, 4, 5))).toBe('2026-01-02T03:04:05Z');
    expect(toIso(Date.UTC(2026, 0, 2, 3, 4, 5, 6))).toBe('2026-01-02T03:04:05.006Z');
  });

  it('validZone: IANA names and UTC are zones, anything else is not', () => {
    expect(validZone('Europe/Berlin')).toBe(true);
    expect(validZone('UTC')).toBe(true);
    expect(validZone('Mars/Olympus_Mons')).toBe(false);
    expect(validZone('')).toBe(false);
  });
});

describe('time: the host zone without ICU, and UTC hours without luxon', () => {
  // ICU reads the process's own TZ, and node tells ICU when process.env.TZ is set or deleted: one child
  // node tries every value (the test's own process keeps its TZ)
  const TZS = [
    ...['UTC', ':UTC', 'Etc/UTC', ':Etc/UTC', 'UCT', 'Etc/UCT', 'GMT', 'GMT0', 'Etc/GMT', 'Universal', 'Etc/Universal'],
    ...['Zulu', 'Etc/Zulu', 'Greenwich', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata', 'EST5EDT', '', ':', 'UTC0', 'Foo/Bar'],
  ];

  it('names the zone as ICU does, and a zone ICU cannot name (TZ empty, TZ=UTC0, TZ=Foo/Bar) as UTC', async () => {
    const script = `import { hostZone } from ${JSON.stringify(pathToFileURL(join(ROOT, 'dist/parse/time.js')).href)};
      const out = [];
      for (const tz of [...${JSON.stringify(TZS)}, null]) {
        if (tz === null) delete process.env.TZ; else process.env.TZ = tz;
        out.push({ tz, ours: hostZone(), icu: Intl.DateTimeFormat().resolvedOptions().timeZone });
      }
      process.stdout.write(JSON.stringify(out));`;
    const r = await spawnAsync(process.execPath, ['--input-type=module', '-e', script]);
    expect(r.stderr).toBe('');
    const seen = JSON.parse(r.stdout) as { tz: string | null; ours: string; icu?: string }[];
    expect(seen.map((z) => z.tz)).toEqual([...TZS, null]);
    for (const { tz, ours, icu } of seen) {
      const expected = icu && icu !== 'Etc/Unknown' && validZone(icu) ? icu : 'UTC';
      expect({ tz, ours }).toEqual({ tz, ours: expected });
    }
    // ICU's own answers the mapping stands on: the UTC names, Berlin, and no zone for TZ=UTC0
    expect(seen.find((z) => z.tz === 'Zulu')!.icu).toBe('UTC');
    expect(seen.find((z) => z.tz === 'Europe/Berlin')!.icu).toBe('Europe/Berlin');
    expect(seen.find((z) => z.tz === 'Europe/Berlin')!.ours).toBe('Europe/Berlin');
  });

  it('asks ICU only when TZ or /etc/localtime does not say UTC', () => {
    const dir = tmp('xd-zone-');
    const link = (name: string, target: string) => {
      symlinkSync(target, join(dir, name));
      return join(dir, name);
    };
    let asked = 0;
    const icu = () => {
      asked++;
      return 'Europe/Paris';
    };
    expect(hostZone({ TZ: '' }, '/nonexistent', icu)).toBe('UTC');
    expect(hostZone({ TZ: ':Etc/UTC' }, '/nonexistent', icu)).toBe('UTC');
    expect(hostZone({}, link('a', '/usr/share/zoneinfo/Etc/UTC'), icu)).toBe('UTC');
    expect(hostZone({}, link('b', '../usr/share/zoneinfo/UTC'), icu)).toBe('UTC');
    expect(asked).toBe(0);
    expect(hostZone({ TZ: 'Europe/Paris' }, '/nonexistent', icu)).toBe('Europe/Paris');
    expect(hostZone({}, link('c', '/usr/share/zoneinfo/Europe/Paris'), icu)).toBe('Europe/Paris');
    // UTC inside a longer name is not UTC; a copy (not a link) of the zone file leaves it to ICU
    expect(hostZone({}, link('d', '/usr/share/zoneinfo/Etc/UTC+1'), icu)).toBe('Europe/Paris');
    writeFileSync(join(dir, 'copy'), 'TZif');
    expect(hostZone({}, join(dir, 'copy'), icu)).toBe('Europe/Paris');
    expect(asked).toBe(4);
    expect(hostZone({}, '/nonexistent', () => 'Etc/Unknown')).toBe('UTC');
    expect(hostZone({}, '/nonexistent', () => undefined)).toBe('UTC');
  });

  it("utcHour is luxon's start of the hour in UTC, and leaves to luxon what it does not compute", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 900, max: 10100 }),
        fc.integer({ min: -1, max: 13 }),
        fc.integer({ min: -1, max: 32 }),
        fc.integer({ min: -1, max: 24 }),
        (year, month, day, h) => {
          const ours = utcHour(year, month, day, h);
          const dt = DateTime.fromObject({ year, month, day, hour: h }, { zone: 'UTC' });
          const luxon = dt.isValid ? dt.toMillis() : null;
          const inRange = year >= 1000 && year <= 9999 && month >= 1 && month <= 12 && day >= 1 && h >= 0 && h <= 23;
          expect(ours).toBe(inRange ? luxon : undefined);
        },
      ),
      { numRuns: 20_000 },
    );
    // the leap rule's three cases
    expect(utcHour(2024, 2, 29, 0)).toBe(Date.UTC(2024, 1, 29));
    expect(utcHour(2100, 2, 29, 0)).toBeNull();
    expect(utcHour(2000, 2, 29, 0)).toBe(Date.UTC(2000, 1, 29));
    expect(utcHour(2026, 4, 31, 5)).toBeNull();
    expect(utcHour(2026.5, 4, 3, 5)).toBeUndefined();
  });

  it('a UTC syslog stamp is dated without luxon, the same as luxon dates it in the UTC zone', () => {
    const stamps = [
      [2026, 2, 28, 23],
      [2024, 2, 29, 0],
      [2026, 12, 31, 23],
      [2027, 1, 1, 0],
    ] as const;
    for (const [y, mo, d, h] of stamps) {
      expect(localTime(UTC, y, mo, d, h, 59, 59, 999)).toBe(
        DateTime.fromObject({ year: y, month: mo, day: d, hour: h, minute: 59, second: 59, millisecond: 999 }, { zone: 'UTC' }).toMillis(),
      );
    }
    expect(localTime(UTC, 2026, 2, 29, 0, 0, 0)).toBeNull();
    // the reference's year in UTC: Dec 31 23:30 UTC is still that year (in Berlin it is the next)
    const newYearsEve = Date.UTC(2026, 11, 31, 23, 30);
    expect(syslogTime(ctx('UTC', newYearsEve), 12, 31, 23, 0, 0)).toBe(Date.UTC(2026, 11, 31, 23));
    expect(syslogTime(ctx('Europe/Berlin', newYearsEve), 1, 1, 0, 10, 0)).toBe(Date.UTC(2026, 11, 31, 23, 10));
  });
});
