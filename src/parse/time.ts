/** Timestamps: year-less syslog stamps, zone-less stamps, durations and ISO bounds. */
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

/** Ms of a local date and time in `zone`, or null when the date does not exist. */
function localMs(zone: string, year: number, month: number, day: number, h: number, m: number, s: number, ms: number): number | null {
  if (h > 23 || m > 59 || s > 60 || ms > 999) return null;
  // log lines come in time order: most share the hour of the line before
  const last = lastHour;
  if (last.zone === zone && last.year === year && last.month === month && last.day === day && last.h === h) {
    return last.base === null ? null : last.base + m * 60_000 + s * 1000 + ms;
  }
  const key = `${zone}|${year}|${month}|${day}|${h}`;
  let base = hourCache.get(key);
  if (base === undefined) {
    const dt = DateTime.fromObject({ year, month, day, hour: h }, { zone });
    base = dt.isValid ? dt.toMillis() : null;
    if (hourCache.size > 4096) hourCache.clear();
    hourCache.set(key, base);
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
    y = DateTime.fromMillis(ctx.reference, { zone: ctx.zone }).year;
    if (refYears.size > 256) refYears.clear();
    refYears.set(key, y);
  }
  lastRef = { zone: ctx.zone, reference: ctx.reference, year: y };
  return y;
}

/** Parse an ISO 8601 / RFC 3339 stamp; one without an offset is read in the context's zone. */
export function isoTime(ctx: TimeContext, text: string): number | null {
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
  return DateTime.local().setZone(zone).isValid;
}
