/**
 * The timeline's clock for `scan`: a first pass over small inputs (`ClockSurvey`, as the timeline
 * runs it) so that kernel uptime stamps with no date of their own (`dmesg` piped in, a capture that
 * holds dmesg beside syslog lines of the same boot, a serial console log) are dated the way the
 * timeline dates them, and `--since`/`--until` keep or drop them by that date. A live host's own
 * `dmesg` piped in is dated from the host's boot time when nothing else dates it and it is the
 * running boot (`isRunningBoot`: its stamps are in the kernel's ring, or it holds the running
 * kernel's banner, and none is later than the host's uptime).
 *
 * Bounded: the survey reads at most `SURVEY_MAX` bytes over all inputs, and holds a stream in memory
 * (to be read again) up to `SURVEY_STREAM_MAX`; larger runs are scanned as before, without it.
 */
import { closeSync, constants, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { textSize, type Input } from '../sources/inputs.js';
import { scanLines, type LineSink, type Prefilter } from '../sources/lines.js';
import type { LogEvent } from '../types.js';
import { PlainLines } from './plain-line.js';
import { toUtf8 } from '../sources/encoding.js';
import { parseLine } from '../parse/line.js';
import { toIso, type TimeContext } from '../parse/time.js';
import { ClockSurvey, type ResolvedClock } from './clock.js';

function envSize(name: string, dflt: number): number {
  const v = process.env[name];
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : dflt;
}

/** Bytes read by the survey at most, over all inputs. */
export const SURVEY_MAX = envSize('XENDOCTOR_SURVEY_MAX', 64 * 1024 * 1024);

/**
 * Bytes of a stream (stdin, a command's output) held in memory for the survey at most: a kernel's
 * log ring is 128 KiB to a few MiB (log_buf_len), so `dmesg | xendoctor` fits; a larger stream is
 * scanned on without the survey, so memory stays flat on the stream path (issue 14, item 4).
 */
export const SURVEY_STREAM_MAX = envSize('XENDOCTOR_SURVEY_STREAM_MAX', 8 * 1024 * 1024);

/** What the survey found. */
export interface ScanClock {
  /** The inputs to scan: streams replaced by what was read of them. */
  inputs: Input[];
  /** The clock, or null when the inputs were too large to survey. */
  clock: ResolvedClock | null;
  /** Per input: does the clock date some of its undated lines? */
  dated: boolean[];
  /** Per input: a note on how they are dated, when the user should know (this host's boot time). */
  notes: (string | null)[];
}

/** The boot of the host xendoctor runs on: /proc/stat btime, /proc/uptime and /proc/version; null elsewhere. */
export function hostBoot(): { start: number; uptime: number; banner: string | null } | null {
  try {
    const btime = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'));
    const uptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    if (!btime || !Number.isFinite(uptime)) return null;
    let banner: string | null = null;
    try {
      banner = readFileSync('/proc/version', 'utf8').trim();
    } catch {
      /* no banner to compare */
    }
    return { start: Number(btime[1]) * 1000, uptime, banner };
  } catch {
    return null;
  }
}

/** Records read from the kernel's ring at most. */
const MAX_RING = 200_000;

/**
 * The uptime stamps (µs) of the running kernel's log ring (/dev/kmsg, read without waiting), or
 * null when it cannot be read (no permission, not Linux).
 */
export function ringStamps(): Set<number> | null {
  let fd: number;
  try {
    fd = openSync('/dev/kmsg', constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return null;
  }
  const out = new Set<number>();
  const buf = Buffer.alloc(16 * 1024);
  try {
    for (let i = 0; i < MAX_RING; i++) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EPIPE') continue; // overwritten while read: go on
        break; // EAGAIN: the end of the ring
      }
      if (n <= 0) break;
      // "pri,seq,usec,flags;message"
      const head = buf.toString('latin1', 0, Math.min(n, 64));
      const m = /^\d+,\d+,(\d+),/.exec(head);
      if (m) out.add(Number(m[1]));
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

/**
 * Is an input's last boot (see ResolvedClock.undatedLastBoot) the running boot of this host? None of
 * its stamps may be later than the host's uptime, and either it shares exact uptime stamps with the
 * kernel's ring (most of those the ring still holds) or it holds the running kernel's whole banner.
 */
export function isRunningBoot(
  seg: { lastUp: number; banner: string | null; fingerprints: ReadonlySet<number> },
  host: { uptime: number; banner: string | null },
  ring: Set<number> | null,
): boolean {
  if (seg.lastUp > host.uptime) return false;
  if (seg.banner !== null && host.banner !== null && seg.banner === host.banner) return true;
  if (ring === null || ring.size === 0) return false;
  let first = Infinity;
  for (const k of ring) if (k >= 1e6 && k < first) first = k;
  let shared = 0;
  let inRange = 0;
  for (const k of seg.fingerprints) {
    if (k < first) continue; // older than what the ring still holds
    inRange++;
    if (ring.has(k)) shared++;
  }
  return shared > 0 && shared * 2 >= inRange;
}

/** Is standard input a pipe (`dmesg | xendoctor`), not a file redirected into it? */
function stdinIsPipe(): boolean {
  try {
    const st = fstatSync(0);
    return st.isFIFO() || st.isSocket();
  } catch {
    return false;
  }
}

/** A stream read up to `max` bytes: the whole of it (`all`), or what was read and the rest still to come. */
async function hold(chunks: AsyncIterable<Buffer>, max: number): Promise<{ all: Buffer | null; input: () => AsyncIterable<Buffer> }> {
  const it = chunks[Symbol.asyncIterator]();
  const got: Buffer[] = [];
  let n = 0;
  let error: unknown = null;
  let done = false;
  try {
    while (n <= max) {
      const r = await it.next();
      if (r.done) {
        done = true;
        break;
      }
      got.push(r.value);
      n += r.value.length;
    }
  } catch (e) {
    error = e;
    done = true;
  }
  const all = done && error === null ? Buffer.concat(got, n) : null;
  const input = async function* () {
    if (all) {
      yield all;
      return;
    }
    for (const c of got) yield c;
    if (error !== null) throw error;
    if (!done) for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
  };
  return { all, input };
}

/**
 * Date standard input's last kernel boot from this host's boot time when it is `dmesg` piped in on
 * the host itself (see isRunningBoot) and nothing else dates it. Returns the note to show, or null.
 */
export function anchorPipedBoot(clock: ResolvedClock, input: number): string | null {
  const last = !clock.dates(input) && stdinIsPipe() ? clock.undatedLastBoot(input) : null;
  const host = last ? hostBoot() : null;
  if (!last || !host || !isRunningBoot(last, host, last.banner === host.banner ? null : ringStamps())) return null;
  clock.anchorHostBoot(input, host.start);
  if (!clock.dates(input)) return null;
  return (
    `times derived from this host's boot time (${toIso(host.start)}, /proc/stat btime): the piped kernel lines are this boot's ` +
    `(${last.banner === host.banner ? "the running kernel's banner" : "uptime stamps found in the kernel's ring"}, ` +
    `latest uptime ${last.lastUp.toFixed(0)} s of this host's ${host.uptime.toFixed(0)} s)`
  );
}

/** The survey's prefilter: no line is a candidate (the survey's sink takes what it needs, see surveySink). */
export const NO_CANDIDATES: Prefilter = { find: () => ({ at: new Int32Array(0), n: 0 }), next: () => -1 };

/**
 * The event of a dated `kernel: [uptime] ` syslog line as the survey sees it (see plain-line.ts): no
 * banner (the reader declines "Linux version"), and its message is not asked for (it is dated).
 */
function kernelEvent(time: number | null, uptime: number, host: string): LogEvent {
  return { format: 'syslog', time, uptime, host, program: 'kernel', pid: null, source: 'kernel', message: '' };
}

/**
 * The survey's line reader for one input: a plain syslog line tells the survey only its host, a
 * dated kernel line its time, uptime and host (plain-line.ts): they are neither decoded nor parsed;
 * every other line is parsed.
 */
export function surveySink(
  observe: { line: (ev: LogEvent, text: string, lineNo: number) => void; host: (host: string) => void },
  ctx: TimeContext,
): LineSink {
  const plain = new PlainLines();
  return {
    wantsAll: () => false,
    line: (text, lineNo) => observe.line(parseLine(text, ctx), text, lineNo),
    passed: (raw, start, end, lineNo) => {
      if (!plain.read(raw, start, end, ctx, 'read')) return false;
      if (plain.uptime === null) observe.host(plain.host);
      else observe.line(kernelEvent(plain.time, plain.uptime, plain.host), '', lineNo);
      return true;
    },
  };
}

/** `(XEN)`: a Xen console line. */
const XEN = Buffer.from('(XEN)');

/** `kernel:` before a stamp: a syslog line, dated by its own prefix. */
const KERNEL_TAG = Buffer.from('kernel:');

/**
 * Does this block hold a Xen console line or a kernel uptime stamp (`.dddddd]`, printk's
 * `[%5lu.%06lu]`) that its line does not date (not behind syslog's `kernel:` tag)?
 */
export function hasClockLine(b: Buffer): boolean {
  if (b.includes(XEN)) return true;
  const isDigit = (i: number) => b[i]! >= 0x30 && b[i]! <= 0x39;
  for (let i = b.indexOf(0x5d, 7); i >= 0; i = b.indexOf(0x5d, i + 1)) {
    if (b[i - 7] !== 0x2e) continue;
    let j = i - 6;
    while (j < i && isDigit(j)) j++;
    if (j !== i) continue;
    const open = b.lastIndexOf(0x5b, i);
    let k = open - 1;
    while (k >= 0 && b[k] === 0x20) k--;
    const tag = k + 1 - KERNEL_TAG.length;
    if (tag >= 0 && b.subarray(tag, k + 1).equals(KERNEL_TAG)) continue;
    return true;
  }
  return false;
}

/**
 * Does any input hold a line the clock can date (a kernel uptime stamp or a Xen console line)? A
 * byte search, far cheaper than the survey's parse of every line: a busy syslog of sshd, cron and
 * mail lines (50 MB: +1.4 s and +70 MB for the survey) is then not surveyed at all.
 */
async function anyClockLines(inputs: Input[]): Promise<boolean> {
  for (const input of inputs) {
    let carry: Buffer = Buffer.alloc(0);
    try {
      for await (const c of toUtf8(input.open())) {
        // a line cut between two chunks: its start (the last line of one, 4 KiB at most) is searched
        // with the rest of it (the next one's first line)
        const nl = c.indexOf(0x0a);
        const rest = c.subarray(0, nl < 0 ? Math.min(c.length, 4096) : nl);
        if (hasClockLine(carry.length > 0 ? Buffer.concat([carry, rest]) : rest) || hasClockLine(c.subarray(nl + 1))) return true;
        carry = c.subarray(Math.max(nl + 1, c.lastIndexOf(0x0a) + 1, c.length - 4096));
      }
      if (hasClockLine(carry)) return true;
    } catch {
      // read errors are reported by the scan itself
    }
  }
  return false;
}

/**
 * Survey the inputs' clocks when all of them together are small enough; streams are read here and
 * handed back as inputs that replay what was read.
 */
export async function surveyClock(inputs: Input[], ctxOf: (i: Input) => TimeContext): Promise<ScanClock> {
  const none = (list: Input[]): ScanClock => ({ inputs: list, clock: null, dated: list.map(() => false), notes: list.map(() => null) });
  let budget = SURVEY_MAX;
  // a gzip file counts with the text it inflates to: one past the budget is not inflated and parsed
  // up to the budget for nothing (a 20 MB kern.log.gz holding 100 MB)
  for (const i of inputs) if (i.kind === 'file') budget -= i.size === null ? 0 : textSize(i.name, i.size);
  if (budget < 0) return none(inputs);
  // streams: held in memory up to what is left of the budget
  const held: Input[] = [];
  let fits = true;
  for (const input of inputs) {
    if (input.kind === 'file' || !fits) {
      held.push(input);
      continue;
    }
    const h = await hold(input.open(), Math.min(budget, SURVEY_STREAM_MAX));
    if (h.all) budget -= h.all.length;
    else fits = false;
    held.push({ ...input, size: h.all?.length ?? input.size, open: h.input });
  }
  if (!fits) return none(held);

  // the survey parses every line: only worth it when some input holds a line it can date
  if (!(await anyClockLines(held))) return none(held);

  const survey = new ClockSurvey();
  let read = 0;
  for (const input of held) {
    const ctx = ctxOf(input);
    const sink = surveySink(survey.beginInput(input.name, input.host), ctx);
    const counted = (async function* () {
      for await (const c of input.open()) {
        read += c.length;
        if (read > SURVEY_MAX) throw new Error('survey budget');
        yield c;
      }
    })();
    // (read errors are reported by the scan itself)
    await scanLines(toUtf8(counted), NO_CANDIDATES, sink);
    if (read > SURVEY_MAX) return none(held); // a gzip file inflated past the budget
  }
  const clock = survey.resolve();
  // dated silently, as the timeline dates them; only this host's boot time is said (below)
  const notes: (string | null)[] = held.map(() => null);
  // a live host's own dmesg piped in
  const stdin = held.findIndex((i) => i.kind === 'stdin');
  if (stdin >= 0) notes[stdin] = anchorPipedBoot(clock, stdin);
  // boots not cut (clock.ts MAX_SEGMENTS): said when it leaves lines undated
  for (let i = 0; i < held.length; i++) notes[i] ??= clock.cappedNote(i, true);
  return { inputs: held, clock, dated: held.map((_, i) => clock.dates(i)), notes };
}
