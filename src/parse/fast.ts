/**
 * Hand-written readers for the three prefixes nearly every candidate line carries: the RFC 3164
 * stamp ("Nov 20 08:01:10 "), the syslog tag ("kernel: ", "sshd[123]: ") and the kernel's uptime
 * stamp ("[  812345.123456] "). Each reads exactly what its regular expression in line.ts matches,
 * or declines (returns false) and leaves the line to that expression: a regular expression costs
 * 200–300 ns a line here, these a tenth of it. test/parse-fast.test.ts holds them to the
 * expressions on random input.
 */

/** A 3164 stamp's fields, and where the rest of the line starts. */
export interface SyslogStamp {
  month: number;
  day: number;
  h: number;
  mi: number;
  s: number;
  rest: number;
}

/** English month abbreviations by their three characters' codes (the expression is case-sensitive). */
const MONTH_CODES = new Map<number, number>(
  ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'].map((m, i) => [
    (m.charCodeAt(0) << 16) | (m.charCodeAt(1) << 8) | m.charCodeAt(2),
    i + 1,
  ]),
);

const isDigit = (c: number) => c >= 48 && c <= 57;
const two = (t: string, i: number) => (t.charCodeAt(i) - 48) * 10 + (t.charCodeAt(i + 1) - 48);

/**
 * "Mmm dd hh:mm:ss rest" (one or two spaces before a one- or two-digit day), as RE_3164 reads it
 * when it has neither fraction nor year. Declines anything else (a fraction, a year, no match).
 */
export function readSyslogStamp(t: string, out: SyslogStamp): boolean {
  if (t.length < 15) return false;
  const month = MONTH_CODES.get((t.charCodeAt(0) << 16) | (t.charCodeAt(1) << 8) | t.charCodeAt(2));
  if (month === undefined || t.charCodeAt(3) !== 32) return false;
  let i = 4;
  if (t.charCodeAt(i) === 32) i++;
  if (!isDigit(t.charCodeAt(i))) return false;
  let day = t.charCodeAt(i) - 48;
  i++;
  if (isDigit(t.charCodeAt(i))) day = day * 10 + (t.charCodeAt(i++) - 48);
  if (t.charCodeAt(i) !== 32) return false;
  i++;
  // hh:mm:ss
  if (!isDigit(t.charCodeAt(i)) || !isDigit(t.charCodeAt(i + 1)) || t.charCodeAt(i + 2) !== 58) return false;
  if (!isDigit(t.charCodeAt(i + 3)) || !isDigit(t.charCodeAt(i + 4)) || t.charCodeAt(i + 5) !== 58) return false;
  if (!isDigit(t.charCodeAt(i + 6)) || !isDigit(t.charCodeAt(i + 7))) return false;
  const j = i + 8;
  if (t.charCodeAt(j) !== 32) return false; // a fraction, or nothing after the stamp: the expression decides
  // " 2026 " after the stamp is a year to the expression
  if (
    isDigit(t.charCodeAt(j + 1)) &&
    isDigit(t.charCodeAt(j + 2)) &&
    isDigit(t.charCodeAt(j + 3)) &&
    isDigit(t.charCodeAt(j + 4)) &&
    t.charCodeAt(j + 5) === 32
  )
    return false;
  out.month = month;
  out.day = day;
  out.h = two(t, i);
  out.mi = two(t, i + 3);
  out.s = two(t, i + 6);
  out.rest = j + 1;
  return true;
}

/** A syslog tag's program, pid and where the message starts. */
export interface SyslogTag {
  program: string;
  pid: string | null;
  rest: number;
}

/**
 * "prog[pid]: " or "prog: " (the space optional), as RE_TAG reads it. Declines names with anything
 * but printable ASCII (the expression's \s also knows Unicode spaces) and names over 64 characters.
 */
export function readTag(t: string, out: SyslogTag): boolean {
  let i = 0;
  for (; i < t.length && i <= 64; i++) {
    const c = t.charCodeAt(i);
    if (c === 58 /* : */ || c === 91 /* [ */) break;
    if (c <= 32 || c >= 127 || c === 93 /* ] */) return false;
  }
  if (i === 0 || i > 64 || i >= t.length) return false;
  const nameEnd = i;
  let pid: string | null = null;
  if (t.charCodeAt(i) === 91) {
    let k = i + 1;
    while (isDigit(t.charCodeAt(k))) k++;
    if (k === i + 1 || t.charCodeAt(k) !== 93) return false;
    pid = t.slice(i + 1, k);
    i = k + 1;
  }
  if (t.charCodeAt(i) !== 58) return false;
  i++;
  if (t.charCodeAt(i) === 32) i++;
  out.program = t.slice(0, nameEnd);
  out.pid = pid;
  out.rest = i;
  return true;
}

/** "[  812345.123456] " (the space after the bracket optional), as RE_UPTIME reads it. */
export function readUptime(t: string): { uptime: number; rest: number } | null {
  if (t.charCodeAt(0) !== 91) return null;
  let i = 1;
  while (t.charCodeAt(i) === 32) i++;
  const from = i;
  while (isDigit(t.charCodeAt(i))) i++;
  if (i === from || t.charCodeAt(i) !== 46 /* . */) return null;
  i++;
  const frac = i;
  while (isDigit(t.charCodeAt(i))) i++;
  if (i === frac || t.charCodeAt(i) !== 93 /* ] */) return null;
  const uptime = Number(t.slice(from, i));
  i++;
  if (t.charCodeAt(i) === 32) i++;
  return { uptime, rest: i };
}
