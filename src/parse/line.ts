/**
 * Line formats: detects the format of one line, decodes its prefix (time, host, program, source)
 * and leaves the bare message for the rules. A file may mix formats (a serial console does).
 */
import type { LineFormat, LogEvent, SourceKind } from '../types.js';
import { isoTime, localTime, monthNumber, syslogTime, type TimeContext } from './time.js';
import { readSyslogStamp, readTag, readUptime, type SyslogStamp, type SyslogTag } from './fast.js';

const MON = '(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';
// (RE_3164, RE_UPTIME and RE_TAG are exported for test/parse-fast.test.ts, which holds parse/fast.ts to them.)
// RFC 3164 / journalctl short / short-precise: "Nov 20 08:01:10[.123456] host prog[pid]: msg"
export const RE_3164 = new RegExp(`^${MON} {1,2}(\\d{1,2}) (\\d\\d):(\\d\\d):(\\d\\d)(?:\\.(\\d{1,6}))?(?: (\\d{4}))? ([\\s\\S]*)`);
// the same with a month name in another language (journalctl and syslog under a non-English locale)
const RE_3164_LOCAL = /^([\p{L}]{3,5})\.? {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?(?: (\d{4}))? (.*)$/u;
// RFC 3339 (rsyslog's high-precision template, journalctl short-iso): "2026-11-20T08:01:10.123+01:00 host prog: msg"
const RE_3339 = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:[.,]\d{1,9})?(?:Z|[+-]\d\d:?\d\d)?) (.*)$/;
// RFC 5424 after the priority: "1 2026-11-20T08:01:10.123Z host app procid msgid [sd] msg"
const RE_5424 = /^1 (\S+) (\S+) (\S+) (\S+) (\S+) (.*)$/;
// a console logger's stamp: "[2026-03-28 22:39:25] msg", "[2023-06-22 21:55:31.352446][5975153.878190] msg"
const RE_CONSOLE_STAMP = /^\[(\d{4})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(?:[.,](\d{1,9}))?\] ?(.*)$/;
// dmesg -H (human, any locale): "[Mär 6 18:02] msg", "[  +0,000008] msg"
const RE_DMESG_H = /^\[(?:[\p{L}]{3,5}\.? {1,2}\d{1,2} \d\d:\d\d|\s*\+\d+[,.]\d+)\] ?(.*)$/u;
// dmesg -T: "[Thu Nov 20 08:01:10 2026] msg"
const RE_DMESG_T = new RegExp(`^\\[(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ${MON} {1,2}(\\d{1,2}) (\\d\\d):(\\d\\d):(\\d\\d) (\\d{4})\\] ?(.*)$`);
// kernel stamp: "[  812345.123456] msg"
export const RE_UPTIME = /^\[ *(\d+\.\d+)\] ?([\s\S]*)/;
// Xen console: "(XEN) msg", "(XEN) [2026-11-20 08:01:10.123] msg", "(XEN) [00000012345abcde] msg", "(XEN) [  12.345678] msg"
const RE_XEN_DATE = /^\[(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{1,3}))?\] ?(.*)$/;
const RE_XEN_OTHER = /^\[(?: *\d+\.\d+|[0-9a-f]{8,16})\] ?(.*)$/;
// xend.log: "[2011-03-16 15:19:09 1062] ERROR (SrvDaemon:349) msg"
const RE_XEND = /^\[(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d) (\d+)\] (?:(?:DEBUG|INFO|WARNING|ERROR|CRITICAL) \([^)]*\) )?(.*)$/;
// libvirt driver log: "2023-03-10 04:45:50.541+0000: 1234: error : libxlDomainStart:123 : msg"
const RE_LIBVIRT = /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d{4}|Z)?): (?:(\d+): )?(.*)$/;
// syslog tag: "prog[pid]: msg" / "prog: msg"
export const RE_TAG = /^([^\s:[\]]{1,64})(?:\[(\d+)\])?: ?([\s\S]*)/;
const RE_PRI = /^<(\d{1,3})>(.*)$/;
const RE_LEADING = /^\s+(?:(\(XEN\) )|kernel: ?(?=\[ *\d+\.\d+\]))(.*)$/;
// metalog writes the program in brackets after the stamp: "Aug 23 18:51:09 [kernel] [    0.000000] Linux version"
const RE_METALOG_TAG = /^\[([A-Za-z][^\s:[\]]{0,63})\] ([\s\S]*)/;
const RE_BARE_KERNEL_TAG = /^(kernel) (\[ *\d+\.\d+\].*)$/;
// syslog facility and level names (syslog.h's facilitynames and prioritynames; dmesg -x, busybox, OpenWrt)
const FACILITY = 'kern|user|mail|daemon|auth|syslog|lpr|news|uucp|cron|authpriv|ftp|ntp|security|console|mark|res[0-3]|local[0-7]';
const LEVEL = 'emerg|alert|crit|err|warn|warning|notice|info|debug|panic|error';
const FACILITIES = new Set(
  FACILITY.replace('res[0-3]', 'res0|res1|res2|res3')
    .replace('local[0-7]', 'local0|local1|local2|local3|local4|local5|local6|local7')
    .split('|'),
);
const LEVELS = new Set(LEVEL.split('|'));
// busybox syslogd / OpenWrt: "kern.err " between the host and the tag
const RE_FACILITY_LEVEL_FIELD = new RegExp(`^(?:${FACILITY})\\.(?:${LEVEL}) `);
// rsyslog writes a message that arrived as RFC 5424 with its traditional file template as
// "TIMESTAMP HOST APP-NAME MSG": the tag without its colon
const RE_APP_THEN = /^([A-Za-z][\w./-]{0,47})(?:\[(\d{1,10})\])? /;
const RE_STAMP_OR_XEN = /^(?:\[ *\d+\.\d+\]|\(XEN\))/;
const KNOWN_APPS = new Set([
  'kernel',
  'xend',
  'xendomains',
  'xl',
  'libxl',
  'xenconsoled',
  'xenstored',
  'oxenstored',
  'qemu-dm',
  'libvirtd',
  'systemd',
  'CRON',
  'cron',
  'sshd',
]);
// a /dev/kmsg record (Documentation/ABI/testing/dev-kmsg), as `cat /dev/kmsg` prints it or a
// forwarder stores it after its own stamp: "6,1234,5678901,-;msg", "0,16627,40311380557,-,caller=C0;msg"
// (facility*8+level, sequence number, microseconds since boot, flag, then other fields up to ';')
const RE_KMSG = /^(\d{1,3}),\d{1,20},(\d{1,20}),[-+c](?:,[^;\s]*)?;/;
const RE_MONOTONIC_HOST = /^([\w.-]+) (kernel|xl|xend|libvirtd|xenconsoled|xenstored|[\w.-]+(?=\[\d+\]))(?:\[(\d+)\])?: (.*)$/;

/** Reused by the fast readers (parse/fast.ts): one line is parsed at a time. */
const STAMP: SyslogStamp = { month: 0, day: 0, h: 0, mi: 0, s: 0, rest: 0 };
const TAG: SyslogTag = { program: '', pid: null, rest: 0 };

const KERNEL_PROGRAMS = new Set(['kernel', 'vmunix', 'klogd']);
const XEND_PROGRAMS = new Set(['xend', 'xenstored', 'xendomains']);
const TOOLSTACK_PROGRAMS = new Set(['xl', 'libxl', 'xm', 'libvirtd', 'xenconsoled', 'xen-init-dom0']);
const TOOLSTACK_PREFIX = /^(?:libxl|libxl_\w+|xl|xc|xenlight|libxl-save-helper): /;

/**
 * A /dev/kmsg record's header at the start of `text`: its length, or 0. Sets the event's time since
 * boot, and its source from the facility (0: the kernel; others: a program writing to /dev/kmsg).
 */
function kmsgRecord(ev: LogEvent, text: string): number {
  const k = text.charCodeAt(0) >= 48 && text.charCodeAt(0) <= 57 ? RE_KMSG.exec(text) : null;
  if (!k) return 0;
  ev.uptime = Number(k[2]) / 1e6;
  if (+k[1]! >> 3 === 0) {
    ev.program = 'kernel';
    ev.source = 'kernel';
  } else ev.source = 'daemon';
  return k[0].length;
}

/** "kern.err": a syslog facility.level field, not a host name. */
function isFacilityLevel(token: string): boolean {
  const dot = token.indexOf('.');
  return dot > 2 && LEVELS.has(token.slice(dot + 1)) && FACILITIES.has(token.slice(0, dot));
}

/**
 * Is the first token after a syslog stamp a host name? Not when it is empty, holds ':' or '[' (a tag),
 * starts with '(' ("(XEN)" after a capture tool's stamp) or is a facility.level field.
 */
function isHostToken(first: string): boolean {
  return first !== '' && !first.includes(':') && !first.includes('[') && first.charCodeAt(0) !== 40 /* ( */ && !isFacilityLevel(first);
}

/**
 * Would parseLine read this first token after a classic syslog stamp as the host, and go on with the
 * tag (not `dmesg -x`'s facility either)? For readers that take a line's host without the rest of
 * the parse (the timeline's lines that matter to it only by time and host).
 */
export function isPlainHostToken(first: string): boolean {
  return isHostToken(first) && !FACILITIES.has(first);
}

/** Source of a message that carries a syslog program name. */
function programSource(program: string | null, message: string): SourceKind {
  if (program === null) return 'unknown';
  const p = program.toLowerCase();
  if (KERNEL_PROGRAMS.has(p)) return 'kernel';
  if (XEND_PROGRAMS.has(p)) return p === 'xend' ? 'xend' : 'daemon';
  if (TOOLSTACK_PROGRAMS.has(p) || TOOLSTACK_PREFIX.test(message)) return 'toolstack';
  return 'daemon';
}

function mkEvent(format: LineFormat, message: string): LogEvent {
  return { format, time: null, uptime: null, host: null, program: null, pid: null, source: 'unknown', message };
}

/**
 * The message part after the syslog header's time: "host prog[pid]: msg". Some local logs carry no
 * host; a first token ending in ':' is then the program.
 */
function hostAndTag(ev: LogEvent, rest: string, hasHost: boolean): void {
  // an empty host field ("Jan 27 11:02:14  kernel: ...", a host name removed) leaves a second space
  let body = rest.charCodeAt(0) === 32 ? rest.trimStart() : rest;
  if (hasHost) {
    const sp = body.indexOf(' ');
    const first = sp < 0 ? body : body.slice(0, sp);
    // not a host: "(XEN)" after a capture tool's stamp ("Nov 20 08:01:10 (XEN) ..."), a facility.level
    if (isHostToken(first)) {
      // a capture date before `dmesg -x` ("2021-11-21T15:21:27.72  kern  :alert : msg"): not a host
      const x = FACILITIES.has(first) ? RE_DMESG_X.exec(body) : null;
      if (x) {
        ev.message = body.slice(x[0].length);
        ev.source = x[1] === 'kern' ? 'kernel' : 'daemon';
        return;
      }
      ev.host = first;
      body = sp < 0 ? '' : body.slice(sp + 1);
    }
  }
  const kmsg = kmsgRecord(ev, body);
  if (kmsg > 0) {
    // a forwarder that stored /dev/kmsg's records as they are: "May 25 07:29:42 x 0,16627,...;msg"
    ev.message = body.slice(kmsg);
    return;
  }
  if (readTag(body, TAG)) {
    ev.program = TAG.program;
    ev.pid = TAG.pid;
    body = body.slice(TAG.rest);
  } else {
    // busybox syslogd -S / OpenWrt: "kern.err kernel: msg" (the facility.level field before the tag)
    const fl = RE_FACILITY_LEVEL_FIELD.exec(body);
    if (fl) body = body.slice(fl[0].length);
    const tag = RE_TAG.exec(body);
    const metalog = tag ? null : RE_METALOG_TAG.exec(body);
    // no tag: rsyslog writing an RFC 5424 message (no PROCID) to a traditional file: "xen07 kernel [12.3] msg"
    const bare = tag || metalog ? null : RE_BARE_KERNEL_TAG.exec(body);
    if (tag) {
      ev.program = tag[1]!;
      ev.pid = tag[2] ?? null;
      body = tag[3]!;
    } else if (metalog) {
      ev.program = metalog[1]!;
      body = metalog[2]!;
    } else if (bare) {
      ev.program = bare[1]!;
      body = bare[2]!;
    } else if (ev.host !== null) {
      // the same for any app: "xen07 xl Error: ..." — a well-known program, or one followed by a
      // kernel stamp or the Xen console prefix, is the tag that lost its colon
      const app = RE_APP_THEN.exec(body);
      if (app && (KNOWN_APPS.has(app[1]!) || RE_STAMP_OR_XEN.test(body.slice(app[0].length)))) {
        ev.program = app[1]!;
        ev.pid = app[2] ?? null;
        body = body.slice(app[0].length);
      }
    }
  }
  ev.message = body;
  ev.source = programSource(ev.program, body);
}

/** The event of an RFC 3164 line, from its stamp's time and what follows the stamp ("host prog[pid]: msg"). */
function syslogEvent(rest: string, time: number | null, ctx: TimeContext): LogEvent {
  const ev = mkEvent('syslog', rest);
  ev.time = time;
  hostAndTag(ev, rest, true);
  innerPrefixes(ev, ctx);
  return ev;
}

/** Strip what can stand inside a message: kernel uptime stamp, "(XEN)" console prefix and its stamp. */
function innerPrefixes(ev: LogEvent, ctx: TimeContext): void {
  let msg = ev.message;
  const up = readUptime(msg);
  if (up) {
    ev.uptime = up.uptime;
    msg = msg.slice(up.rest);
    if (ev.source === 'unknown' || ev.source === 'daemon') ev.source = 'kernel';
  }
  // printk's caller id (CONFIG_PRINTK_CALLER): "[ T1054] msg", "[    C2] msg", after the stamp
  if (msg.charCodeAt(0) === 91 /* [ */) msg = msg.slice(callerId(msg));
  if (msg.startsWith('(XEN) ') || msg === '(XEN)') {
    ev.source = 'hypervisor';
    msg = msg.slice(6);
    const d = RE_XEN_DATE.exec(msg);
    if (d) {
      if (ev.time === null) ev.time = localTime(ctx, +d[1]!, +d[2]!, +d[3]!, +d[4]!, +d[5]!, +d[6]!, d[7] ? +d[7].padEnd(3, '0') : 0);
      msg = d[8]!;
    } else {
      const o = RE_XEN_OTHER.exec(msg);
      if (o) msg = o[1]!;
    }
  } else if (TOOLSTACK_PREFIX.test(msg) && (ev.source === 'unknown' || ev.source === 'daemon')) {
    ev.source = 'toolstack';
  }
  ev.message = msg;
}

/** Length of a printk caller id "[ T1054] " / "[    C2]" at the start of `t` (the space after it included), or 0. */
function callerId(t: string): number {
  let i = 1;
  while (t.charCodeAt(i) === 32) i++;
  const k = t.charCodeAt(i);
  if (k !== 84 /* T */ && k !== 67 /* C */) return 0;
  const from = ++i;
  while (t.charCodeAt(i) >= 48 && t.charCodeAt(i) <= 57) i++;
  if (i === from || t.charCodeAt(i) !== 93 /* ] */) return 0;
  return t.charCodeAt(i + 1) === 32 ? i + 2 : i + 1;
}

/** Fields of a journalctl -o json record (one JSON object per line). */
function journalEvent(text: string, ctx: TimeContext): LogEvent | null {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return null;
  }
  if (rec === null || typeof rec !== 'object' || !('MESSAGE' in rec)) return null;
  let message = rec.MESSAGE;
  if (Array.isArray(message)) message = Buffer.from(message.filter((b) => typeof b === 'number') as number[]).toString('utf8');
  const ev = mkEvent('journal-json', typeof message === 'string' ? message : String(message ?? ''));
  const rt = Number(rec.__REALTIME_TIMESTAMP);
  ev.time = Number.isFinite(rt) && rt > 0 ? Math.floor(rt / 1000) : null;
  ev.host = typeof rec._HOSTNAME === 'string' ? rec._HOSTNAME : null;
  const ident = typeof rec.SYSLOG_IDENTIFIER === 'string' ? rec.SYSLOG_IDENTIFIER : typeof rec._COMM === 'string' ? rec._COMM : null;
  ev.program = ident;
  ev.pid = typeof rec._PID === 'string' ? rec._PID : null;
  ev.source = rec._TRANSPORT === 'kernel' ? 'kernel' : programSource(ident, ev.message);
  innerPrefixes(ev, ctx);
  return ev;
}

/** Parse one line (no newline) into an event. Never throws. */
export function parseLine(raw: string, ctx: TimeContext): LogEvent {
  // NULs (a crash's unflushed blocks) or a byte-order mark before the text (the line reader skips
  // them already; a followed file or a caller's string may still hold them)
  const c0 = raw.charCodeAt(0);
  if (c0 === 0 || c0 === 0xfeff) raw = raw.replace(/^[\0\ufeff]+/, '');
  const ev = parseForm(raw, ctx);
  // the wrapped forms (see unwrap) are tried only for lines no direct form reads
  return ev.format === 'plain' && raw.charCodeAt(0) !== 60 /* < */ ? unwrap(raw, ev, ctx, 0) : ev;
}

/** One line in one of the direct forms; anything else is a 'plain' event of the whole text. */
function parseForm(raw: string, ctx: TimeContext): LogEvent {
  let text = raw;
  // Pasted console lines and syslogd's wall broadcasts: " (XEN) ...", " kernel:[405108.69] ..."
  let kernelTag = false;
  if (text.charCodeAt(0) === 32 || text.charCodeAt(0) === 9) {
    const lead = RE_LEADING.exec(text);
    if (lead) {
      kernelTag = lead[1] === undefined;
      text = kernelTag ? lead[2]! : text.trimStart();
    }
  }
  // A priority prefix "<34>" may stand before any of the formats (RFC 5424/3164 on the wire, printk levels).
  const pri = text.charCodeAt(0) === 60 /* < */ ? RE_PRI.exec(text) : null;
  if (pri) text = pri[2]!;
  const c = text.charCodeAt(0);

  if (c === 123 /* { */) {
    const j = journalEvent(text, ctx);
    if (j) return j;
  }
  if (pri && text.startsWith('1 ')) {
    const m = RE_5424.exec(text);
    if (m) {
      const ev = mkEvent('rfc5424', m[6]!);
      ev.time = m[1] === '-' ? null : isoTime(ctx, m[1]!);
      ev.host = m[2] === '-' ? null : m[2]!;
      ev.program = m[3] === '-' ? null : m[3]!;
      ev.pid = m[4] === '-' ? null : m[4]!;
      // structured data "[...]" or "-" before the message
      let msg = m[6]!;
      if (msg.startsWith('- ')) msg = msg.slice(2);
      else if (msg === '-') msg = '';
      else if (msg.startsWith('[')) {
        const end = msg.indexOf('] ');
        msg = end >= 0 ? msg.slice(end + 2) : msg;
      }
      if (msg.charCodeAt(0) === 0xfeff) msg = msg.slice(1);
      ev.message = msg;
      ev.source = programSource(ev.program, msg);
      innerPrefixes(ev, ctx);
      return ev;
    }
  }
  if (c >= 65 && c <= 90 && readSyslogStamp(text, STAMP)) {
    return syslogEvent(text.slice(STAMP.rest), syslogTime(ctx, STAMP.month, STAMP.day, STAMP.h, STAMP.mi, STAMP.s, 0), ctx);
  }
  if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c > 127 /* a month name, perhaps localised */) {
    const m = RE_3164.exec(text) ?? RE_3164_LOCAL.exec(text);
    if (m) {
      const ms = m[6] ? +m[6].slice(0, 3).padEnd(3, '0') : 0;
      const month = monthNumber(m[1]!);
      const time =
        month === 0
          ? null
          : m[7]
            ? localTime(ctx, +m[7], month, +m[2]!, +m[3]!, +m[4]!, +m[5]!, ms)
            : syslogTime(ctx, month, +m[2]!, +m[3]!, +m[4]!, +m[5]!, ms);
      return syslogEvent(m[8]!, time, ctx);
    }
  }
  if (c >= 48 && c <= 57 /* digit */) {
    const m = RE_3339.exec(text);
    if (m) {
      const ev = mkEvent('rfc3339', m[2]!);
      ev.time = isoTime(ctx, m[1]!.replace(',', '.'));
      hostAndTag(ev, m[2]!, true);
      innerPrefixes(ev, ctx);
      return ev;
    }
    const km = mkEvent('dmesg', text);
    const kl = kmsgRecord(km, text);
    if (kl > 0) {
      // `cat /dev/kmsg`
      km.message = text.slice(kl);
      innerPrefixes(km, ctx);
      return km;
    }
    const l = RE_LIBVIRT.exec(text);
    if (l) {
      const ev = mkEvent('libxl', l[3]!);
      ev.time = isoTime(ctx, l[1]!.replace(' ', 'T'));
      ev.pid = l[2] ?? null;
      innerPrefixes(ev, ctx);
      if (ev.source !== 'hypervisor') ev.source = 'toolstack';
      return ev;
    }
  }
  if (c === 91 /* [ */) {
    const up = RE_UPTIME.exec(text);
    if (up) {
      const ev = mkEvent('dmesg', up[2]!);
      ev.uptime = Number(up[1]);
      ev.source = 'kernel';
      // journalctl -o short-monotonic: "[  812345.123456] xen07 kernel: msg"
      const jm = RE_MONOTONIC_HOST.exec(ev.message);
      if (jm) {
        ev.host = jm[1]!;
        ev.program = jm[2]!;
        ev.pid = jm[3] ?? null;
        ev.message = jm[4]!;
        ev.source = programSource(ev.program, ev.message);
      } else if (ev.message.startsWith('kernel: ')) {
        // journalctl -o short-monotonic of a journal without host names: "[  323.142578] kernel: msg"
        ev.program = 'kernel';
        ev.message = ev.message.slice(8);
      } else if (kernelTag) {
        // the kernel's tag before the stamp (the wall broadcast's " kernel:[405108.69] msg" above)
        ev.program = 'kernel';
      }
      innerPrefixes(ev, ctx);
      return ev;
    }
    const x = RE_XEND.exec(text);
    if (x) {
      const ev = mkEvent('xend', x[8]!);
      ev.time = localTime(ctx, +x[1]!, +x[2]!, +x[3]!, +x[4]!, +x[5]!, +x[6]!);
      ev.pid = x[7]!;
      ev.program = 'xend';
      ev.source = 'xend';
      return ev;
    }
    const cs = RE_CONSOLE_STAMP.exec(text);
    if (cs) {
      // xenconsoled / Qubes hypervisor.log / console loggers: "[2026-03-28 22:39:25] msg", "[...352446][5975153.87] msg"
      const ev = mkEvent('console', cs[8]!);
      ev.time = localTime(ctx, +cs[1]!, +cs[2]!, +cs[3]!, +cs[4]!, +cs[5]!, +cs[6]!, cs[7] ? +cs[7].slice(0, 3).padEnd(3, '0') : 0);
      innerPrefixes(ev, ctx);
      if (ev.source === 'unknown' && ev.uptime === null) {
        // a logger's stamp before another form ("[date] kern  :err   : ...", "[date] [Thu Nov 20 ...] ...")
        const inner = parseForm(cs[8]!, ctx);
        const read = inner.format === 'plain' ? unwrap(cs[8]!, inner, ctx, 1) : inner;
        if (read.format !== 'plain') {
          read.time ??= ev.time;
          return read;
        }
      }
      return ev;
    }
    const h = RE_DMESG_H.exec(text);
    if (h) {
      const ev = mkEvent('dmesg', h[1]!);
      ev.source = 'kernel';
      innerPrefixes(ev, ctx);
      return ev;
    }
    const t = RE_DMESG_T.exec(text);
    if (t) {
      const ev = mkEvent('dmesg-T', t[7]!);
      ev.time = localTime(ctx, +t[6]!, monthNumber(t[1]!), +t[2]!, +t[3]!, +t[4]!, +t[5]!);
      ev.source = 'kernel';
      innerPrefixes(ev, ctx);
      return ev;
    }
  }
  if (c === 40 /* ( */ && text.startsWith('(XEN)')) {
    const ev = mkEvent('xen', text);
    innerPrefixes(ev, ctx);
    return ev;
  }
  const ev = mkEvent(TOOLSTACK_PREFIX.test(text) ? 'libxl' : 'plain', text);
  // "<4>msg": a printk level, as `dmesg -r` prints (facility 0); "<13>msg" is a user program's
  if (pri && +pri[1]! >> 3 === 0) ev.source = 'kernel';
  innerPrefixes(ev, ctx);
  return ev;
}

// ---- Wrapped forms: a line of a known form behind something else (read only for otherwise plain lines) ----

// ANSI escape sequences (CSI, charset and single-character forms), and what a capture keeps of a
// colour code whose ESC byte was lost ("[0;31m" before the line)
const RE_ANSI = /\x1b(?:\[[0-9;?]*[ -/]*[@-~]|[()][0-9A-Za-z]|[=>78cDEHM])/g;
const RE_ANSI_REMNANT = /^(?:\[[0-9;]*m)+/;
// mail and document quoting: "> ", "> > ", ">> ", after indentation
const RE_QUOTE = /^[ \t]*>(?:[ \t]*>)*[ \t]?/;
// dmesg -x / -xT: "kern  :err   : [ts] msg" (util-linux pads facility and level to six)
const RE_DMESG_X = new RegExp(`^(${FACILITY}) *:(${LEVEL}) *: ?`);
// the kernel's tag alone: syslogd's wall broadcast "kernel:[405108.69] msg", a quoted "kernel: [12.3] msg"
const RE_KERNEL_TAG = /^kernel(?:\[\d+\])?: ?/;
// out-of-band console captures (conserver, IPMI SOL, serial servers, ts(1)): a date, perhaps in
// brackets, then a TAB, spaces or ": " before each line of the console
const ISO_STAMP = '(\\d{4}[-/]\\d\\d[-/]\\d\\d[ T_-]\\d\\d:\\d\\d:\\d\\d(?:[.,:]\\d{1,9})?(?: ?(?:Z|[+-]\\d\\d:?\\d\\d|UTC))?)';
const RE_ISO_FIELDS = /^(\d{4})[-/](\d\d)[-/](\d\d)[ T_-](\d\d):(\d\d):(\d\d)(?:[.,:](\d{1,9}))?(?: ?(Z|[+-]\d\d:?\d\d|UTC))?$/;
const RE_CAPTURE_ISO = new RegExp(`^(?:\\[${ISO_STAMP}\\] ?|${ISO_STAMP}(?:\\t+| +|: ?))(?=\\S)`);
const MON_STAMP = `${MON} {1,2}(\\d{1,2}) (\\d\\d):(\\d\\d):(\\d\\d)(?:[.,](\\d{1,9}))?`;
const RE_CAPTURE_3164 = new RegExp(`^(?:\\[${MON_STAMP}\\] ?|${MON_STAMP}(?:\\t+|: ?))(?=\\S)`);
// OpenWrt logread: "Thu Jan  1 00:00:00 2026 kern.err kernel: [   12.3] msg"
const RE_LOGREAD = new RegExp(
  `^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ${MON} {1,2}(\\d{1,2}) (\\d\\d):(\\d\\d):(\\d\\d) (\\d{4}) (?:${FACILITY})\\.(?:${LEVEL}) `,
);
// a console line glued to the one before it (serial output interleaves): a kernel stamp or the Xen
// console prefix in the middle of a line
const RE_GLUED = /\[ *\d+\.\d{3,9}\](?=[ [])|\(XEN\) /;

/**
 * A line no direct form reads: look behind what stands before a known form — colour codes, mail
 * quoting, indentation, dmesg -x's facility and level, a lone kernel tag, a capture tool's date, a
 * previous console line with no newline — and read what follows. What still reads as plain keeps
 * the text with the quoting and colour codes removed (a quoted continuation line is still one).
 */
function unwrap(raw: string, plain: LogEvent, ctx: TimeContext, depth: number): LogEvent {
  if (depth > 4 || raw.length < 2) return plain;
  const again = (text: string): LogEvent => {
    const ev = parseForm(text, ctx);
    return ev.format === 'plain' ? unwrap(text, ev, ctx, depth + 1) : ev;
  };
  if (raw.includes('\x1b')) return again(raw.replace(RE_ANSI, ''));
  const c = raw.charCodeAt(0);
  if (c === 91 /* [ */) {
    const r = RE_ANSI_REMNANT.exec(raw);
    if (r) return again(raw.slice(r[0].length));
  }
  if (c === 62 /* > */ || c === 32 || c === 9) {
    const q = RE_QUOTE.exec(raw);
    if (q) return again(raw.slice(q[0].length));
    const inner = again(raw.trimStart());
    // indentation alone: a continuation line (a call trace's frames) keeps it
    return inner.format === 'plain' ? plain : inner;
  }
  const x = RE_DMESG_X.exec(raw);
  if (x) {
    const ev = again(raw.slice(x[0].length));
    if (ev.format === 'plain') ev.format = 'dmesg';
    // messages userspace wrote to /dev/kmsg carry their own facility
    if (x[1] === 'kern') {
      if (ev.source === 'unknown' || ev.source === 'daemon') ev.source = 'kernel';
    } else if (ev.source === 'unknown' || ev.source === 'kernel') ev.source = 'daemon';
    return ev;
  }
  const k = RE_KERNEL_TAG.exec(raw);
  if (k) {
    const ev = again(raw.slice(k[0].length));
    ev.program = 'kernel';
    if (ev.source === 'unknown' || ev.source === 'daemon') ev.source = 'kernel';
    if (ev.format === 'plain') ev.format = 'syslog';
    return ev;
  }
  const lr = RE_LOGREAD.exec(raw);
  if (lr) {
    const ev = mkEvent('syslog', raw);
    ev.time = localTime(ctx, +lr[6]!, monthNumber(lr[1]!), +lr[2]!, +lr[3]!, +lr[4]!, +lr[5]!);
    hostAndTag(ev, raw.slice(lr[0].length), false);
    innerPrefixes(ev, ctx);
    return ev;
  }
  const iso = RE_CAPTURE_ISO.exec(raw);
  const mon = iso ? null : RE_CAPTURE_3164.exec(raw);
  if (iso || mon) {
    const ev = again(raw.slice((iso ?? mon)![0].length));
    if (ev.time === null) {
      if (iso) {
        const f = RE_ISO_FIELDS.exec(iso[1] ?? iso[2]!)!;
        const frac = f[7] ? `.${f[7]}` : '';
        ev.time = f[8]
          ? isoTime(ctx, `${f[1]}-${f[2]}-${f[3]}T${f[4]}:${f[5]}:${f[6]}${frac}${f[8] === 'UTC' ? 'Z' : f[8]}`)
          : localTime(ctx, +f[1]!, +f[2]!, +f[3]!, +f[4]!, +f[5]!, +f[6]!, f[7] ? +f[7].slice(0, 3).padEnd(3, '0') : 0);
      } else {
        // the bracketed stamp's fields, or the bare one's
        const f = mon![1] !== undefined ? mon!.slice(1, 7) : mon!.slice(7, 13);
        ev.time = syslogTime(ctx, monthNumber(f[0]!), +f[1]!, +f[2]!, +f[3]!, +f[4]!, f[5] ? +f[5].slice(0, 3).padEnd(3, '0') : 0);
      }
    }
    if (ev.format === 'plain') ev.format = 'console';
    return ev;
  }
  const g = RE_GLUED.exec(raw);
  if (g && g.index > 0) {
    const ev = again(raw.slice(g.index));
    if (ev.format !== 'plain') return ev;
  }
  return plain;
}

/**
 * Cheap format family of a line from its first bytes, for the per-input counts. Only the lines that
 * matter (rule hits, time bounds) get the full parse.
 */
export function classifyLine(buf: Uint8Array, start: number, end: number): LineFormat {
  let p = start;
  if (p >= end) return 'plain';
  let c = buf[p]!;
  if (c === 60 /* < */) {
    let q = p + 1;
    while (q < end && q < p + 5 && buf[q]! >= 48 && buf[q]! <= 57) q++;
    if (q < end && buf[q] === 62 /* > */) {
      p = q + 1;
      if (p >= end) return 'plain';
      c = buf[p]!;
      if (c === 49 /* 1 */ && buf[p + 1] === 32) return 'rfc5424';
    }
  }
  if (c >= 65 && c <= 90) {
    // "Nov 20 08:01:10"
    return p + 15 <= end && buf[p + 3] === 32 && buf[p + 9] === 58 && buf[p + 12] === 58 ? 'syslog' : 'plain';
  }
  if (c >= 48 && c <= 57) {
    if (p + 19 <= end && buf[p + 4] === 45 && buf[p + 7] === 45) {
      if (buf[p + 10] === 84 /* T */) return 'rfc3339';
      if (buf[p + 10] === 32) return 'libxl';
    }
    return 'plain';
  }
  if (c === 91 /* [ */) {
    const d = buf[p + 1]!;
    if (d === 32 || (d >= 48 && d <= 57 && buf[p + 5] !== 45)) return 'dmesg';
    if (d >= 48 && d <= 57) return 'xend';
    if (d >= 65 && d <= 90) return 'dmesg-T';
    return 'plain';
  }
  if (c === 40 /* ( */ && buf[p + 1] === 88 /* X */ && buf[p + 2] === 69 && buf[p + 3] === 78) return 'xen';
  if (c === 123 /* { */) return 'journal-json';
  if (c === 108 /* l */ && buf[p + 1] === 105 && buf[p + 2] === 98 && buf[p + 3] === 120 && buf[p + 4] === 108) return 'libxl';
  return 'plain';
}

/**
 * syslogd's wall broadcast header: rsyslog's "Message from syslogd@xen07 at Dec 10 05:25:44 ..."
 * (omusrmsg: the host and the time received, then the tag and message on the next line, " kernel:[…]
 * …"), and sysklogd's, whose time is ctime's ("at Tue Dec 10 05:25:44 2021 ..."). Terminals keep its
 * bell and carriage return; a pasted one may be indented.
 */
const RE_WALL =
  /^[\s\x07]*Message from syslogd@([^\s@]{1,255}) at (?:[A-Z][a-z]{2} )?([A-Za-z]{3}) {1,2}(\d{1,2}) (\d\d):(\d\d):(\d\d)(?: (\d{4}))? \.\.\./;

/** The host and time a wall broadcast header lends to the line after it, or null when `text` is none. */
export function wallHeader(text: string, ctx: TimeContext): { host: string; time: number | null } | null {
  if (!text.includes('Message from syslogd@')) return null;
  const m = RE_WALL.exec(text);
  if (!m) return null;
  const month = monthNumber(m[2]!);
  if (month === 0) return { host: m[1]!, time: null };
  const [d, h, mi, s] = [m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number];
  const time = m[7] !== undefined ? localTime(ctx, Number(m[7]), month, d, h, mi, s) : syslogTime(ctx, month, d, h, mi, s);
  return { host: m[1]!, time };
}
