/**
 * Parsing for the timeline: parseLine, plus one repair for central logs. rsyslog writes messages that
 * arrived as RFC 5424 with its file templates as "TIMESTAMP HOST APP-NAME MSG" — the tag without its
 * colon — so the line parser takes "kernel [812345.1] INFO: ..." for the message and rules anchored at
 * the message's start miss it. When a syslog line has no tag and its message starts with an app name
 * followed by a kernel stamp, a Xen console prefix, or is a well-known program, the line is parsed
 * again with the colon put back. (A hook for src/parse/line.ts; kept here until the parser does it.)
 */
import { parseLine } from '../parse/line.js';
import type { TimeContext } from '../parse/time.js';
import type { LogEvent } from '../types.js';

const APP_THEN = /^([A-Za-z][\w./-]{0,47})(?:\[(\d{1,10})\])? /;
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
const STAMP_OR_XEN = /^(?:\[ *\d+\.\d+\]|\(XEN\))/;

/** Parse a line; a tag that lost its colon (RFC 5424 written by rsyslog) is put back first. */
export function parseEvent(text: string, ctx: TimeContext): LogEvent {
  const ev = parseLine(text, ctx);
  if (ev.program !== null || ev.host === null || (ev.format !== 'syslog' && ev.format !== 'rfc3339')) return ev;
  const m = APP_THEN.exec(ev.message);
  if (!m) return ev;
  const rest = ev.message.slice(m[0].length);
  if (!KNOWN_APPS.has(m[1]!) && !STAMP_OR_XEN.test(rest)) return ev;
  const head = text.length - ev.message.length;
  if (head < 0 || text.slice(head) !== ev.message) return ev;
  return parseLine(`${text.slice(0, head)}${m[1]}${m[2] ? `[${m[2]}]` : ''}: ${rest}`, ctx);
}
