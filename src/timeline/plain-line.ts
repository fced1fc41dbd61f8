/**
 * The timeline's short way through a plain syslog line. Both passes look at every line (the survey for
 * the clock and the hosts, the analysis for per-hour counts), but most lines of a busy syslog (sshd,
 * cron, mail, systemd, and the kernel's own lines behind syslog's stamp) matter to them only by their
 * time, host and perhaps kernel uptime: they carry no Xen console prefix and no boot banner.
 * `PlainLines.read` takes those from the line's bytes (its RFC 3164 stamp, read as parse/fast.ts's
 * readSyslogStamp reads it, its host field, a `kernel: [uptime]` tag) without a string for the line and
 * without the full parse, and declines every line for which that could differ from `parseLine`:
 * anything but a classic stamp and a plain ASCII host name, `(XEN)`, `Linux version`, a `/dev/kmsg`
 * record, a tag of xendoctor's own, and (as the caller asks, see `Uptime`) an uptime stamp. Those
 * take the full parse as before. test/timeline-plain.test.ts holds it to parseLine.
 */
import { isPlainHostToken } from '../parse/line.js';
import { syslogTime, type TimeContext } from '../parse/time.js';
import { OWN_PROGRAM } from '../engine/engine.js';

/** English month abbreviations by their three bytes (readSyslogStamp's table). */
const MONTH_CODES = new Map<number, number>(
  ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'].map((m, i) => [
    (m.charCodeAt(0) << 16) | (m.charCodeAt(1) << 8) | m.charCodeAt(2),
    i + 1,
  ]),
);

const XEN = Buffer.from('(XEN)');
const BANNER = Buffer.from('Linux version');
const OWN = Buffer.from(OWN_PROGRAM);

/**
 * What `read` does with a line that may hold a kernel uptime stamp (a ']' after digits after a '.'):
 * 'decline' it; 'read' it when it is a dated `kernel: [uptime] ` line (`uptime` set, else declined:
 * the survey's anchors); 'ignore' the stamp when the line is dated (the analysis of an input whose
 * kernel lines all carry a date: the clock is not asked for them).
 */
export type Uptime = 'decline' | 'read' | 'ignore';

const KERNEL_TAG = Buffer.from('kernel: [');

const isDigit = (c: number | undefined) => c !== undefined && c >= 48 && c <= 57;

/** Does b hold `word` (lower case) at `at`, before `end`, in any case? */
function hasWordAt(b: Uint8Array, at: number, end: number, word: Uint8Array): boolean {
  if (at + word.length > end) return false;
  for (let k = 0; k < word.length; k++) if ((b[at + k]! | 0x20) !== word[k]) return false;
  return true;
}

/**
 * The number written b[from, dot) "." b[dot + 1, end) in decimal digits, as Number() reads the text:
 * with at most 15 digits, the integer of all of them and the power of ten are exact, and their
 * quotient is rounded once, as the decimal is (no string for it); longer ones go through a string.
 */
function decimal(b: Uint8Array, from: number, dot: number, end: number): number {
  if (end - from - 1 > 15) return Number(Buffer.from(b.buffer, b.byteOffset + from, end - from).toString('latin1'));
  let n = 0;
  for (let k = from; k < dot; k++) n = n * 10 + b[k]! - 48;
  for (let k = dot + 1; k < end; k++) n = n * 10 + b[k]! - 48;
  return n / POW10[end - dot - 1]!;
}

const POW10 = Array.from({ length: 16 }, (_, k) => 10 ** k);

/** Does b hold `word` at `at`, before `end`? */
function hasBytesAt(b: Uint8Array, at: number, end: number, word: Uint8Array): boolean {
  if (at + word.length > end) return false;
  for (let k = 0; k < word.length; k++) if (b[at + k] !== word[k]) return false;
  return true;
}

/** Reader of plain syslog lines (one per input: it remembers the last host name and block). */
export class PlainLines {
  /** The line's time (as parseLine dates it) and host, after `read` said yes. */
  time: number | null = null;
  host = '';
  /** The kernel uptime of a `kernel: [uptime] ` line read with 'read', else null. */
  uptime: number | null = null;
  /** The host's bytes. */
  private hostBytes: Uint8Array = new Uint8Array(0);
  /**
   * The block the lines are in, and the places in it that decline a line: every "(XEN)", every
   * "Linux version", every ']' after digits after a '.' (perhaps a kernel uptime stamp), in order.
   */
  private block: Uint8Array | null = null;
  private marks: number[] = [];
  private next = 0;

  /** Find the places that decline a line (see `marks`) in a new block. */
  private survey(b: Uint8Array): void {
    const buf = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.length);
    const marks: number[] = [];
    for (const needle of [XEN, BANNER]) for (let i = buf.indexOf(needle); i >= 0; i = buf.indexOf(needle, i + 1)) marks.push(i);
    for (let i = buf.indexOf(0x5d); i >= 0; i = buf.indexOf(0x5d, i + 1)) {
      let j = i - 1;
      while (j >= 0 && isDigit(buf[j])) j--;
      if (j < i - 1 && buf[j] === 0x2e /* . */) marks.push(i);
    }
    marks.sort((x, y) => x - y);
    this.block = b;
    this.marks = marks;
    this.next = 0;
  }

  /**
   * Is b[start, end) a plain syslog line: parsed, its time and host would be these, with no uptime,
   * no hypervisor source, no boot banner and a program other than xendoctor? Sets `time` and `host`.
   * Lines of one block are read in order.
   */
  read(b: Uint8Array, start: number, end: number, ctx: TimeContext, uptime: Uptime = 'decline'): boolean {
    // "Mmm dd hh:mm:ss " (one or two spaces before a one- or two-digit day), no fraction, no year
    if (end - start < 16) return false;
    const month = MONTH_CODES.get((b[start]! << 16) | (b[start + 1]! << 8) | b[start + 2]!);
    if (month === undefined || b[start + 3] !== 32) return false;
    let i = start + 4;
    if (b[i] === 32) i++;
    if (!isDigit(b[i])) return false;
    let day = b[i]! - 48;
    i++;
    if (isDigit(b[i])) day = day * 10 + (b[i++]! - 48);
    if (b[i] !== 32) return false;
    i++;
    if (i + 9 > end) return false;
    if (!isDigit(b[i]) || !isDigit(b[i + 1]) || b[i + 2] !== 58) return false;
    if (!isDigit(b[i + 3]) || !isDigit(b[i + 4]) || b[i + 5] !== 58) return false;
    if (!isDigit(b[i + 6]) || !isDigit(b[i + 7])) return false;
    const j = i + 8;
    if (b[j] !== 32) return false;
    if (j + 5 < end && isDigit(b[j + 1]) && isDigit(b[j + 2]) && isDigit(b[j + 3]) && isDigit(b[j + 4]) && b[j + 5] === 32) return false;
    // the host: a plain token of ASCII up to the next space (an empty field is left to the parser)
    const at = j + 1;
    let sp = at;
    while (sp < end && b[sp] !== 32) {
      if (b[sp]! >= 0x80 || b[sp]! < 0x20) return false;
      sp++;
    }
    if (sp === at || sp >= end) return false;
    let same = sp - at === this.hostBytes.length;
    for (let k = 0; same && k < this.hostBytes.length; k++) same = b[at + k] === this.hostBytes[k];
    let host = this.host;
    if (!same) {
      host = Buffer.from(b.buffer, b.byteOffset + at, sp - at).toString('latin1');
      if (!isPlainHostToken(host)) return false;
    }
    const body = sp + 1;
    const b0 = body < end ? b[body] : -1;
    // a /dev/kmsg record ("0,16627,…;msg": an uptime), a metalog tag ("[prog] msg")
    if (isDigit(b0) || b0 === 91 /* [ */) return false;
    // xendoctor's own lines are not counted by the engine: its name after the host, or after a
    // facility.level field there
    if (hasWordAt(b, body, end, OWN)) return false;
    let sp2 = body;
    while (sp2 < end && b[sp2] !== 32) sp2++;
    if (hasWordAt(b, sp2 + 1, end, OWN)) return false;
    // "(XEN)", "Linux version", an uptime stamp anywhere in the line
    if (b !== this.block) this.survey(b);
    const marks = this.marks;
    while (this.next < marks.length && marks[this.next]! < start) this.next++;
    let up: number | null = null;
    if (this.next < marks.length && marks[this.next]! < end) {
      const mark = marks[this.next]!;
      if (uptime === 'decline' || b[mark] !== 0x5d || (this.next + 1 < marks.length && marks[this.next + 1]! < end)) return false;
      if (uptime === 'read') {
        // "kernel: [   37.501517] ": readTag takes "kernel", readUptime the stamp closed by this mark
        if (!hasBytesAt(b, body, end, KERNEL_TAG)) return false;
        let k = body + KERNEL_TAG.length;
        while (b[k] === 32) k++;
        const from = k;
        while (isDigit(b[k])) k++;
        if (k === from || b[k] !== 0x2e) return false;
        k++;
        const frac = k;
        while (isDigit(b[k])) k++;
        if (k === frac || k !== mark) return false;
        up = decimal(b, from, frac - 1, k);
      }
    }
    const time = syslogTime(
      ctx,
      month,
      day,
      (b[i]! - 48) * 10 + b[i + 1]! - 48,
      (b[i + 3]! - 48) * 10 + b[i + 4]! - 48,
      (b[i + 6]! - 48) * 10 + b[i + 7]! - 48,
      0,
    );
    // an undated kernel line is the clock's to date
    if (time === null && this.next < marks.length && marks[this.next]! < end) return false;
    if (!same) {
      this.host = host;
      this.hostBytes = Uint8Array.prototype.slice.call(b, at, sp);
    }
    this.time = time;
    this.uptime = up;
    return true;
  }
}
