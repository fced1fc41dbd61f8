/** Timestamps: year-less syslog stamps, zone-less stamps, durations and ISO bounds. */
import { readlinkSync } from 'node:fs';
import { DateTime } from 'luxon';

const MONTHS: Record<string, number> = {
  Jan: 1,
  Feb: 2,
  Mar: 3,
  Apr: 4,
  May: 5,
  Jun: 6,
  Jul: 7,
  Aug: 8,
  Sep: 9,
  Oct: 10,
  Nov: 11,
  Dec: 12,
};

/**
 * Month abbreviations of other locales (journalctl and syslog daemons print the locale's names),
 * by their first three letters, lower case: de, fr, es, it, nl, pt, pl, cs, ru. Names that stand for
 * different months in two languages are left out.
 */
const LOCAL_MONTHS: Record<string, number> = {
  jan: 1,
  feb: 2,
  mar: 3,
  apr: 4,
  may: 5,
  jun: 6,
  jul: 7,
  aug: 8,
  sep: 9,
  oct: 10,
  nov: 11,
  dec: 12,
  mär: 3,
  mai: 5,
  okt: 10,
  dez: 12, // de
  fév: 2,
  fev: 2,
  avr: 4,
  jui: 0,
  aoû: 8,
  aou: 8,
  déc: 12, // fr (juin/juil. are ambiguous)
  ene: 1,
  abr: 4,
  ago: 8,
  dic: 12, // es
  gen: 1,
  mag: 5,
  giu: 6,
  lug: 7,
  set: 9,
  ott: 10, // it
  mrt: 3,
  mei: 5, // nl
  out: 10, // pt
  sty: 1,
  lut: 2,
  kwi: 4,
  maj: 5,
  cze: 6,
  lip: 7,
  sie: 8,
  wrz: 9,
  paź: 10,
  lis: 11,
  gru: 12, // pl
  led: 1,
  úno: 2,
  bře: 3,
  dub: 4,
  kvě: 5,
  čvn: 6,
  čvc: 7,
  srp: 8,
  zář: 9,
  říj: 10,
  pro: 12, // cs
  янв: 1,
  фев: 2,
  мар: 3,
  апр: 4,
  мая: 5,
  май: 5,
  июн: 6,
  июл: 7,
  авг: 8,
  сен: 9,
  окт: 10,
  ноя: 11,
  дек: 12, // ru
};

/** Month number (1–12) of a month name (English, or a common locale's abbreviation), or 0. */
export function monthNumber(name: string): number {
  return MONTHS[name] ?? LOCAL_MONTHS[name.slice(0, 3).toLowerCase()] ?? 0;
}

/** How the clock of an input is read: zone for zone-less stamps, and the reference for year-less ones. */
export interface TimeContext {
  /** IANA zone or "UTC" for stamps without an offset. */
  zone: string;
  /** Fixed year from --year, if given. */
  year: number | null;
  /** The time the input was last written (file mtime) or "now" for streams, in ms. */
  reference: number;
}

/** Milliseconds a year-less stamp may lie after the reference before it is taken as last year. */
const FUTURE_SLACK = 2 * 86400_000;

/** Start of each local hour, in ms, by zone and date: luxon is slow, and log lines share hours. */
const hourCache = new Map<string, number | null>();
let lastHour: { zone: string; year: number; month: number; day: number; h: number; base: number | null } = {
  zone: '',
  year: 0,
  month: 0,
  day: 0,
  h: -1,
  base: null,
};

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
/** Days of a month (1-12) of a Gregorian year. */
const daysIn = (year: number, month: number): number =>
  month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : MONTH_DAYS[month - 1]!;

/**
 * The start of an hour in UTC, computed (luxon's answer, without starting it and ICU: a UTC host's whole
 * run needs neither); null for a day the month has not; undefined for what is left to luxon (years
 * outside 1000-9999, months outside 1-12, days below 1). A property test holds it to luxon.
 */
export function utcHour(year: number, month: number, day: number, h: number): number | null | undefined {
  if (!(year >= 1000 && year <= 9999 && month >= 1 && month <= 12 && day >= 1 && h >= 0 && h <= 23)) return undefined;
  if (!Number.isInteger(year) || !Number.isInteger(month) || !Number.isInteger(day) || !Number.isInteger(h)) return undefined;
  if (day > daysIn(year, month)) return null;
  return Date.UTC(year, month - 1, day, h);
}

/** Ms of a local date and time in `zone`, or null when the date does not exist. */
function localMs(zone: string, year: number, month: number, day: number, h: number, m: number, s: number, ms: number): number | null {
  if (h > 23 || m > 59 || s > 60 || ms > 999) return null;
  // log lines come in time order: most share the hour of the line before
  const last = lastHour;
  if (last.zone === zone && last.year === year && last.month === month && last.day === day && last.h === h) {
    return last.base === null ? null : last.base + m * 60_000 + s * 1000 + ms;
  }
  let base = zone === 'UTC' ? utcHour(year, month, day, h) : undefined;
  if (base === undefined) {
    const key = `${zone}|${year}|${month}|${day}|${h}`;
    base = hourCache.get(key);
    if (base === undefined) {
      const dt = DateTime.fromObject({ year, month, day, hour: h }, { zone });
      base = dt.isValid ? dt.toMillis() : null;
      if (hourCache.size > 4096) hourCache.clear();
      hourCache.set(key, base);
    }
  }
  lastHour = { zone, year, month, day, h, base };
  return base === null ? null : base + m * 60_000 + s * 1000 + ms;
}

/**
 * Wall-clock ms for a year-less syslog stamp (RFC 3164 "Nov 20 08:01:10"). Without --year, the year is
 * the reference's, or the one before when that would put the line in the future (a file written in
 * January holding December's lines: the roll-over).
 */
export function syslogTime(ctx: TimeContext, month: number, day: number, h: number, m: number, s: number, ms = 0): number | null {
  const make = (year: number) => localMs(ctx.zone, year, month, day, h, m, s, ms);
  if (ctx.year !== null) return make(ctx.year);
  const refYear = referenceYear(ctx);
  let year = refYear;
  let t = make(year);
  // Feb 29 of a year that is not leap: try the year before (a leap year) before giving up.
  if (t === null) t = make(--year);
  if (t === null) return null;
  if (t > ctx.reference + FUTURE_SLACK) return make(year - 1);
  return t;
}

/** Wall-clock ms for a full local date and time without an offset, read in the context's zone. */
export function localTime(
  ctx: TimeContext,
  year: number,
  month: number,
  day: number,
  h: number,
  m: number,
  s: number,
  ms = 0,
): number | null {
  return localMs(ctx.zone, year, month, day, h, m, s, ms);
}

const refYears = new Map<string, number>();
let lastRef = { zone: '', reference: NaN, year: 0 };
/** Year of the context's reference time in its zone (cached). */
function referenceYear(ctx: TimeContext): number {
  if (ctx.reference === lastRef.reference && ctx.zone === lastRef.zone) return lastRef.year;
  const key = `${ctx.zone}|${ctx.reference}`;
  let y = refYears.get(key);
  if (y === undefined) {
    y =
      ctx.zone === 'UTC' && Number.isFinite(ctx.reference)
        ? new Date(ctx.reference).getUTCFullYear()
        : DateTime.fromMillis(ctx.reference, { zone: ctx.zone }).year;
    if (refYears.size > 256) refYears.clear();
    refYears.set(key, y);
  }
  lastRef = { zone: ctx.zone, reference: ctx.reference, year: y };
  return y;
}

/** Parse an ISO 8601 / RFC 3339 stamp; one without an offset is read in the context's zone. */
export function isoTime(ctx: TimeContext, text: string): number | null {
  return plainIso(ctx, text) ?? isoTimeLuxon(ctx, text);
}

/** The number written by the `n` characters of `text` at `at`, or -1 when one of them is not a digit. */
function digitsAt(text: string, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const d = text.charCodeAt(i) - 48;
    if (!(d >= 0 && d <= 9)) return -1;
    v = v * 10 + d;
  }
  return v;
}

/**
 * The stamp of rsyslog's and journalctl's usual RFC 3339 form — `2026-12-03T02:05:01`, a fraction of 1-9
 * digits, then `Z`, `+01:00` or `+0100` (or nothing in a UTC context) — in ms, computed from its fields;
 * undefined for every other form, and for a field outside its plain range (hour 24, offset +25:00, a day
 * the month has not), which luxon then reads as before. Most stamps of a modern syslog are of this form,
 * and luxon's parse cost a third of a `timeline` of them. The result is luxon's: a property test holds
 * the two to each other (test/parse-time-units.test.ts).
 */
function plainIso(ctx: TimeContext, text: string): number | undefined {
  const n = text.length;
  if (n < 19 || text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || text.charCodeAt(10) !== 84) return undefined;
  if (text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) return undefined;
  const year = digitsAt(text, 0, 4);
  const month = digitsAt(text, 5, 2);
  const day = digitsAt(text, 8, 2);
  const h = digitsAt(text, 11, 2);
  const mi = digitsAt(text, 14, 2);
  const s = digitsAt(text, 17, 2);
  if (year < 1000 || month < 1 || month > 12 || day < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59) return undefined;
  if (day > daysIn(year, month)) return undefined;
  let i = 19;
  let ms = 0;
  if (i < n && text.charCodeAt(i) === 46 /* . */) {
    let end = i + 1;
    while (end < n && digitsAt(text, end, 1) >= 0) end++;
    const len = end - i - 1;
    if (len < 1 || len > 9) return undefined;
    // the first three digits: luxon's floor of the fraction in ms
    ms = digitsAt(text, i + 1, Math.min(3, len)) * (len === 1 ? 100 : len === 2 ? 10 : 1);
    i = end;
  }
  let offset = 0;
  if (i === n) {
    if (ctx.zone !== 'UTC') return undefined;
  } else if (!(text.charCodeAt(i) === 90 /* Z */ && i + 1 === n)) {
    const sign = text.charCodeAt(i);
    if (sign !== 43 && sign !== 45) return undefined;
    const oh = digitsAt(text, i + 1, 2);
    const om = n === i + 6 && text.charCodeAt(i + 3) === 58 ? digitsAt(text, i + 4, 2) : n === i + 5 ? digitsAt(text, i + 3, 2) : -1;
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return undefined;
    offset = (sign === 43 ? 1 : -1) * (oh * 60 + om) * 60_000;
  }
  return Date.UTC(year, month - 1, day, h, mi, s, ms) - offset;
}

/** isoTime through luxon, for every form (exported for the tests that hold the direct reading to it). */
export function isoTimeLuxon(ctx: TimeContext, text: string): number | null {
  // journalctl short-iso writes +0000 without a colon; luxon wants +00:00.
  const fixed = text.replace(/([+-]\d\d)(\d\d)$/, '$1:$2');
  const dt = DateTime.fromISO(fixed, { zone: ctx.zone, setZone: false });
  return dt.isValid ? dt.toMillis() : null;
}

/** ISO string (UTC, ms precision) of a ms time, or null. */
export function toIso(ms: number | null): string | null {
  if (ms === null || !Number.isFinite(ms)) return null;
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|sec|m|min|h|d|w)$/i;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, sec: 1000, m: 60_000, min: 60_000, h: 3600_000, d: 86400_000, w: 7 * 86400_000 };

/** Milliseconds of a duration such as "30s", "10m", "24h", "7d"; null when it is not one. */
export function parseDuration(text: string): number | null {
  const m = DURATION.exec(text.trim());
  if (!m) return null;
  return Number(m[1]) * UNIT_MS[m[2]!.toLowerCase()]!;
}

/** A --since/--until bound: an ISO time (zone-less read in `zone`) or a duration back from `now`. */
export function parseBound(text: string, zone: string, now: number): number | null {
  const d = parseDuration(text);
  if (d !== null) return now - d;
  const dt = DateTime.fromISO(text.trim().replace(' ', 'T'), { zone });
  return dt.isValid ? dt.toMillis() : null;
}

/** True when `zone` is an IANA zone luxon can use. */
export function validZone(zone: string): boolean {
  return zone === 'UTC' || DateTime.local().setZone(zone).isValid;
}

/** The names ICU gives as "UTC" (checked against it by the tests), as TZ or /etc/localtime's target. */
const UTC_NAMES = /^(?:Etc\/)?(?:UTC|UCT|GMT|GMT0|Universal|Zulu|Greenwich)$/;

/**
 * The host's time zone, as ICU names it (`Intl.DateTimeFormat().resolvedOptions().timeZone`), without
 * starting ICU when TZ or /etc/localtime says UTC: ICU's start is a tenth of a small run's time. TZ set
 * but empty is UTC (POSIX); a zone ICU does not know ("Etc/Unknown"; TZ=UTC0) is taken as UTC, as the C
 * library takes it, rather than failing every command as if `--tz` had been given wrong.
 */
export function hostZone(
  env: NodeJS.ProcessEnv = process.env,
  localtime = '/etc/localtime',
  icu = (): string | undefined => Intl.DateTimeFormat().resolvedOptions().timeZone,
): string {
  const tz = env.TZ;
  if (tz !== undefined) {
    const name = tz.startsWith(':') ? tz.slice(1) : tz;
    if (name === '' || UTC_NAMES.test(name)) return 'UTC';
  } else {
    try {
      const target = readlinkSync(localtime);
      const at = target.lastIndexOf('zoneinfo/');
      if (at >= 0 && UTC_NAMES.test(target.slice(at + 'zoneinfo/'.length))) return 'UTC';
    } catch {
      // not a link (a copy of the zone file, or none): ICU looks further
    }
  }
  const zone = icu();
  return zone && zone !== 'Etc/Unknown' && validZone(zone) ? zone : 'UTC';
}
