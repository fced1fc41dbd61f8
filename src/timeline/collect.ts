/**
 * The postmortem timeline: two passes over the inputs.
 *
 * 1. Survey (`ClockSurvey`): every line is parsed once to cut the inputs into dom0 boots and Xen
 *    console runs and to gather the anchors that date them. Streams (stdin, a command) are spooled on
 *    the way, as they came (gzip stays compressed), to a private folder removed whatever ends the run,
 *    so they can be read again; at most XENDOCTOR_SPOOL_MAX bytes each.
 * 2. Analysis: every line again, now dated (uptime → wall clock, Xen console → the dom0 boot that
 *    follows), offered to the rule engine (which does the matching and links root causes), and
 *    counted per host and hour; stretches without lines, rotation holes, boots and wrapped console
 *    rings become marks; with `around`, the lines of the window are kept to print them merged.
 *
 * Memory stays bounded: no line is kept except the window's (capped) and the findings' evidence.
 */
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Input, ResolveProblem } from '../sources/inputs.js';
import { inputContext, maybeGunzip, rotationOrder } from '../sources/inputs.js';
import { scanLines, type LineSink } from '../sources/lines.js';
import { anchorPipedBoot, NO_CANDIDATES, surveySink } from './survey.js';
import { toUtf8 } from '../sources/encoding.js';
import { toIso, type TimeContext } from '../parse/time.js';
import { Engine } from '../engine/engine.js';
import { compareFindings } from '../engine/findings.js';
import { enrichUnrecognized } from '../kb/enrich.js';
import type { Rule } from '../engine/catalogue.js';
import { noteFolds, noteOn, type ScanOptions } from '../pipeline/scan-inputs.js';
import { problemSummaries, scanReport } from '../report-document.js';
import type { InputSummary, LogEvent, Severity } from '../types.js';
import { ClockSurvey, InputCutter, type ResolvedClock } from './clock.js';
import { PlainLines, type Uptime } from './plain-line.js';
import { buildIncidents, hostSummaries, sharedFindings } from './incidents.js';
import type { HourBucket, Mark, TimelineReport, WindowLine } from './model.js';

export interface TimelineOptions extends ScanOptions {
  /** Centre of the zoom window (ms), or null. */
  around?: number | null;
  /** Half-width of the zoom window (ms). */
  window?: number;
  /** Lines kept for the window at most. */
  windowLines?: number;
}

const HOUR = 3600_000;
/** A stretch without lines shorter than this is never a gap. */
const GAP_FLOOR = 15 * 60_000;
/** A gap must also be this many times the host's usual spacing (from its median lines per hour). */
const GAP_FACTOR = 6;
const MAX_GAP_CANDIDATES = 200;
const MAX_MARKS = 5000;
const LINUX_BANNER = /^Linux version (\S+)/;
const XEN_BANNER = /^Xen version (\d+\.\d+\S*)/;

interface Span {
  first: number;
  last: number;
  lines: number;
  /** Stretches longer than GAP_FLOOR between consecutive lines: [start, end]. */
  holes: [number, number][];
}

/**
 * Most bytes a stream input may spool for the second pass (its bytes as they came: gzip stays
 * compressed): XENDOCTOR_SPOOL_MAX, default 1 GiB. A stream past it is not read further and is one
 * input error (save it to a file and name the file: a file is read twice in place).
 */
export const SPOOL_MAX = (() => {
  const v = process.env.XENDOCTOR_SPOOL_MAX;
  const m = v === undefined ? null : /^(\d+)([KMG]?)$/i.exec(v.trim());
  if (!m) return 1024 ** 3;
  return Number(m[1]) * 1024 ** ' KMG'.indexOf((m[2] || ' ').toUpperCase());
})();

function sizeText(n: number): string {
  for (const [unit, k] of [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const)
    if (n >= k && n % k === 0) return `${n / k} ${unit}`;
  return `${n} bytes`;
}

/** The message of a stream that outgrew the spool. */
export function spoolFullMessage(): string {
  return `more than ${sizeText(SPOOL_MAX)} to keep for the second reading (XENDOCTOR_SPOOL_MAX): not read further; save the stream to a file and name the file`;
}

class SpoolFull extends Error {}

/**
 * Spool a stream input to a file of the private spool folder while it is read, so the second pass can
 * read it again; at most SPOOL_MAX bytes (then SpoolFull ends the reading).
 */
async function* tee(chunks: AsyncIterable<Buffer>, path: string): AsyncGenerator<Buffer> {
  const out = createWriteStream(path, { flags: 'wx', mode: 0o600 });
  let written = 0;
  const failed = new Promise<never>((_, rej) => out.once('error', rej));
  failed.catch(() => undefined);
  try {
    for await (const c of chunks) {
      written += c.length;
      if (written > SPOOL_MAX) throw new SpoolFull(spoolFullMessage());
      if (!out.write(c)) await Promise.race([new Promise<void>((res) => out.once('drain', () => res())), failed]);
      yield c;
    }
  } finally {
    await new Promise<void>((res) => out.end(res));
  }
}

function spooled(input: Input, path: string, gunzip: boolean): Input {
  const read = () => createReadStream(path, { highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer>;
  return { ...input, open: () => (gunzip ? maybeGunzip(read()) : read()) };
}

/**
 * A private folder (mode 0700, from mkdtemp) for the spooled streams, removed when the run ends:
 * normally, on an error, on process.exit, and on SIGTERM, SIGINT and SIGHUP (then the process exits
 * 128 + the signal's number, as if killed by it).
 */
function spoolFolder(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'xendoctor-timeline-'));
  const remove = () => {
    rmSync(dir, { recursive: true, force: true });
    process.off('exit', remove);
    for (const [sig, h] of handlers) process.off(sig, h);
  };
  const handlers = (['SIGTERM', 'SIGINT', 'SIGHUP'] as const).map(
    (sig) =>
      [
        sig,
        () => {
          remove();
          process.exit(128 + (sig === 'SIGHUP' ? 1 : sig === 'SIGINT' ? 2 : 15));
        },
      ] as const,
  );
  process.on('exit', remove);
  for (const [sig, h] of handlers) process.on(sig, h);
  return { dir, remove };
}

const zeroHits = (): Record<Severity, number> => ({ critical: 0, error: 0, warning: 0, info: 0 });

/** Build the timeline report of the inputs (read in the order given; the result is in order of time). */
export async function buildTimeline(
  inputs: Input[],
  problems: ResolveProblem[],
  rules: Rule[],
  opts: TimelineOptions,
): Promise<TimelineReport> {
  const spool = inputs.some((i) => i.kind !== 'file') ? spoolFolder() : null;
  try {
    return await run(inputs, problems, rules, opts, spool?.dir ?? null);
  } finally {
    spool?.remove();
  }
}

async function run(
  inputs: Input[],
  problems: ResolveProblem[],
  rules: Rule[],
  opts: TimelineOptions,
  spoolDir: string | null,
): Promise<TimelineReport> {
  const contexts = new Map<Input, TimeContext>();
  const ctxOf = (input: Input): TimeContext => {
    let c = contexts.get(input);
    if (!c) contexts.set(input, (c = inputContext(input, opts.zone, opts.year)));
    return c;
  };
  let progressBase = 0;

  // ---- pass 1: survey the clocks
  const survey = new ClockSurvey();
  const second: Input[] = [];
  /** Streams that outgrew the spool, by index: their error, and no second reading. */
  const overflowed = new Map<number, string>();
  for (const [i, input] of inputs.entries()) {
    const ctx = ctxOf(input);
    const observe = survey.beginInput(input.name, input.host);
    let chunks: AsyncIterable<Buffer>;
    if (input.kind !== 'file' && spoolDir) {
      // the bytes as they came are kept (gzip stays compressed) and inflated again for the second pass
      const path = join(spoolDir, `input-${i}`);
      const kept = tee(input.raw ? input.raw() : input.open(), path);
      chunks = (async function* () {
        try {
          yield* input.raw ? maybeGunzip(kept) : kept;
        } catch (e) {
          if (!(e instanceof SpoolFull)) throw e;
          overflowed.set(i, e.message);
        }
      })();
      second.push(spooled(input, path, input.raw !== undefined));
    } else {
      chunks = input.open();
      second.push(input);
    }
    let bytes = 0;
    const counted = (async function* () {
      for await (const c of chunks) {
        bytes += c.length;
        opts.onProgress?.(Math.floor((progressBase + bytes) / 2));
        yield c;
      }
    })();
    const sink = surveySink(observe, ctx);
    try {
      await scanLines(toUtf8(counted), NO_CANDIDATES, sink);
    } catch {
      /* reported by the second pass */
    }
    progressBase += input.size ?? bytes;
  }
  const clock = survey.resolve();
  // `dmesg | xendoctor timeline` on the host itself: dated from its boot time (timeline/survey.ts)
  const stdinAt = inputs.findIndex((x) => x.kind === 'stdin');
  const pipedNote = stdinAt >= 0 ? anchorPipedBoot(clock, stdinAt) : null;
  const totalBytes = progressBase;

  // ---- pass 2: date, match, count
  const hosts = opts.hosts ?? null;
  const since = opts.since ?? null;
  const until = opts.until ?? null;
  const around = opts.around ?? null;
  const half = opts.window ?? 30 * 60_000;
  const windowCap = opts.windowLines ?? 4000;
  const windowLines: (WindowLine & { seq: number })[] = [];
  let windowOmitted = 0;
  const hours = new Map<string, HourBucket>();
  const hostSeen = new Map<string | null, { lines: number; first: number | null; last: number | null; boots: number }>();
  const spans = new Map<string, Span>(); // input \0 host
  const marks: Mark[] = [];
  let undatedTotal = 0;
  let currentTime: number | null = null;
  const keep = (host: string | null) => hosts === null || host === null || hosts.includes(host);
  const inRange = (t: number) => (since === null || t >= since) && (until === null || t <= until);
  // hosts past MAX_HOSTS share one row of the host table and of the hours (and have no gaps marked)
  const folded = new LeftOut();
  let sourceNow = '';
  const rowHost = (host: string | null): string | null => {
    if (host === null || hostSeen.size < MAX_HOSTS || hostSeen.has(host)) return host;
    folded.add(host, sourceNow);
    return OTHER_HOSTS;
  };

  // the last bucket asked for: neighbouring lines mostly share host and hour
  let lastBucket: HourBucket | null = null;
  let lastHour = NaN;
  // past MAX_HOUR_BUCKETS a new host-hour is counted here and left out
  const dropped = new LeftOut();
  const bucket = (host: string | null, t: number): HourBucket => {
    const h = Math.floor(t / HOUR) * HOUR;
    if (lastBucket !== null && h === lastHour && lastBucket.host === host) return lastBucket;
    const k = `${host ?? ''}\0${h}`;
    let b = hours.get(k);
    if (!b) {
      b = { hour: '', host, lines: 0, hits: zeroHits() };
      if (hours.size < MAX_HOUR_BUCKETS) {
        b.hour = toIso(h)!;
        hours.set(k, b);
      } else dropped.add(k, sourceNow);
    }
    lastBucket = b;
    lastHour = h;
    return b;
  };
  const engine = new Engine(rules, {
    since,
    until,
    hosts,
    defaultHost: opts.defaultHost ?? null,
    unrecognized: opts.unrecognized ?? true,
    onFinding: (f) => {
      if (currentTime !== null && keep(f.host)) bucket(rowHost(f.host), currentTime).hits[f.severity]++;
    },
  });
  const summaries: InputSummary[] = problemSummaries(problems);
  const perInput: { first: number | null; last: number | null; lines: number; undated: number }[] = [];
  let seq = 0;
  let secondBase = 0;

  for (const [i, input] of second.entries()) {
    const ctx = ctxOf(input);
    sourceNow = input.name;
    const inputHost = clock.inputHosts[i] ?? null;
    const cutter = new InputCutter(i, false);
    const summary: InputSummary = { source: input.name, lines: 0, bytes: 0, formats: {}, first: null, last: null, errors: [] };
    const stat = { first: null as number | null, last: null as number | null, lines: 0, undated: 0 };
    if (i === stdinAt && pipedNote !== null) summary.errors.push(pipedNote);
    const capped = clock.cappedNote(i, false);
    if (capped !== null) summary.errors.push(capped);
    const over = overflowed.get(i);
    if (over !== undefined) {
      summary.errors.push(over);
      summaries.push(summary);
      perInput.push(stat);
      continue;
    }
    let lastTime: number | null = null;
    // the host of the line before, and its entries (neighbouring lines mostly share a host)
    let seenHost: string | null | undefined;
    let seen: { lines: number; first: number | null; last: number | null; boots: number } | undefined;
    let spanHost: string | null | undefined;
    let span: Span | null = null;
    /** Count a dated line (per input, host and hour, the window); false when its host or time is not kept. */
    const count = (t: number, lineHost: string | null, text: string, lineNo: number): boolean => {
      if (stat.first === null || t < stat.first) stat.first = t;
      if (stat.last === null || t > stat.last) stat.last = t;
      if (!keep(lineHost) || !inRange(t)) return false;
      const host = rowHost(lineHost);
      bucket(host, t).lines++;
      if (host !== seenHost || seen === undefined) {
        seenHost = host;
        seen = hostSeen.get(host);
        if (!seen) {
          seen = { lines: 0, first: null, last: null, boots: 0 };
          hostSeen.set(host, seen);
        }
      }
      seen.lines++;
      if (seen.first === null || t < seen.first) seen.first = t;
      if (seen.last === null || t > seen.last) seen.last = t;
      if (host !== spanHost) {
        spanHost = host;
        span = spans.get(`${i}\0${host ?? ''}`) ?? null;
      }
      // (no gaps among the folded hosts: their lines are not one host's)
      if (span === null) span = host === OTHER_HOSTS ? null : newSpan(spans, `${i}\0${host ?? ''}`, t);
      else spanLine(span, t);
      if (around !== null && t >= around - half && t <= around + half) {
        if (windowLines.length < windowCap)
          windowLines.push({ time: toIso(t)!, host: lineHost, source: input.name, line: lineNo, text, seq });
        else windowOmitted++;
      }
      return true;
    };
    // a plain syslog line (plain-line.ts): its own time and host, no clock, no marks, not in the window
    const settlePlain = (t: number | null, host: string, lineNo: number) => {
      currentTime = t;
      if (t !== null) {
        lastTime = t;
        count(t, host, '', lineNo);
      } else stat.undated++;
      stat.lines++;
    };
    // what the timeline adds to a line before it is matched: its date by the clock, the input's
    // host, and the counts, marks and window lines
    const settle = (ev: LogEvent, text: string, lineNo: number) => {
      const where = cutter.feed(ev, text, lineNo);
      if (ev.time === null) ev.time = clock.timeOf(i, where, ev, lineNo, lastTime);
      const t = ev.time;
      currentTime = t;
      // the input's host on the event itself: a multi-line report closed later keeps it
      if (ev.host === null) ev.host = inputHost;
      const host = ev.host;
      if (t !== null) {
        if (ev.source !== 'hypervisor' || where.run === null) lastTime = t;
        if (count(t, host, text, lineNo)) {
          // boot banners of logs without uptime stamps (RHEL's /var/log/messages, a serial console with dates)
          if (ev.uptime === null && ev.source === 'kernel' && LINUX_BANNER.test(ev.message)) {
            marks.push({
              kind: 'boot',
              time: toIso(t),
              host,
              text: `dom0 booted: Linux ${LINUX_BANNER.exec(ev.message)![1]}`,
              source: input.name,
            });
          } else if (ev.source === 'hypervisor' && XEN_BANNER.test(ev.message)) {
            marks.push({
              kind: 'xen-boot',
              time: toIso(t),
              host,
              text: `Xen ${XEN_BANNER.exec(ev.message)![1]} booted`,
              source: input.name,
            });
          }
        }
      } else {
        stat.undated++;
      }
      stat.lines++;
    };
    const plain = new PlainLines();
    const uptimes: Uptime = clock.kernelDated(i) ? 'ignore' : 'decline';
    const sink: LineSink = {
      wantsAll: () => engine.wantsAll(),
      // a line no rule's literal picked, outside a multi-line report and without a line before: the
      // engine would only parse it and settle it; a plain syslog line is settled by its stamp and
      // host alone, without a string (one in the --around window is read in full, for its text)
      passed: (raw, start, end, line) => {
        if (!plain.read(raw, start, end, ctx, uptimes)) return false;
        const t = plain.time;
        if (around !== null && t !== null && t >= around - half && t <= around + half) return false;
        seq++;
        settlePlain(t, plain.host, line);
        engine.passed();
        return true;
      },
      line: (text, line, candidate, raw, start, end, before) => {
        seq++;
        engine.read(text, {
          source: input.name,
          line,
          host: inputHost,
          ctx,
          candidate,
          raw,
          start,
          end,
          settle: (ev) => settle(ev, text, line),
          before,
        });
      },
    };
    let bytes = 0;
    const counted = (async function* () {
      for await (const c of input.open()) {
        bytes += c.length;
        opts.onProgress?.(Math.floor((totalBytes + secondBase + bytes) / 2));
        yield c;
      }
    })();
    try {
      const stats = await scanLines(toUtf8(counted), engine.prefilter, sink, engine.everyLine);
      summary.lines = stats.lines;
      summary.formats = stats.formats;
      for (const n of stats.notes) summary.errors.push(`line ${n.line}: ${n.text}`);
      if (stats.error !== null) summary.errors.push(`read error after ${stats.lines} lines: ${stats.error}`);
      if (stats.lines === 0) summary.errors.push('empty input');
    } catch (e) {
      summary.errors.push(`read error after ${bytes} bytes: ${(e as Error).message}`);
    }
    engine.endInput();
    secondBase += bytes;
    summary.bytes = bytes;
    summary.first = toIso(stat.first);
    summary.last = toIso(stat.last);
    summaries.push(summary);
    perInput.push(stat);
    undatedTotal += stat.undated;
    if (stat.undated > 0) {
      marks.push({
        kind: 'undated',
        time: null,
        host: inputHost,
        source: input.name,
        text: `${stat.undated} of ${stat.lines} lines of ${basename(input.name)} carry no time and could not be dated (no syslog stamp, no anchored uptime, no dom0 boot to place them by)`,
      });
    }
  }
  // unrecognised messages: related entries, and the baseline's findings (new and bursting templates)
  const unrecognized = engine.unrecognizedTemplates();
  const fromBaseline = await enrichUnrecognized(unrecognized, engine.unrecognizedState(), { baseline: opts.baseline });
  const findings = [...engine.findings(), ...fromBaseline].sort(compareFindings);
  noteFolds(engine, summaries);
  if (dropped.source !== null)
    noteOn(
      summaries,
      dropped.source,
      `more than ${MAX_HOUR_BUCKETS} host-hours: ${dropped.count()} more are left out of the hours (their lines and findings count everywhere else)`,
    );
  if (folded.source !== null)
    noteOn(
      summaries,
      folded.source,
      `more than ${MAX_HOSTS} hosts: ${folded.count()} more are counted together as "${OTHER_HOSTS}" in the host table and the hours (their findings keep their own hosts)`,
    );

  // ---- marks
  bootMarks(clock, marks, keep, inRange, hostSeen);
  missingMarks(clock, second, perInput, marks, keep);
  gapMarks(spans, second, marks, hostSeen, hours.values(), clock.inputHosts);
  const sorted = dedupeMarks(marks.filter((m) => keep(m.host)));
  if (sorted.length > MAX_MARKS)
    sorted.splice(MAX_MARKS, sorted.length - MAX_MARKS, {
      kind: 'missing',
      time: null,
      host: null,
      text: `${sorted.length - MAX_MARKS} more marks left out`,
    });

  windowLines.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : a.seq - b.seq));
  const hourList = [...hours.values()].sort((a, b) =>
    a.hour < b.hour ? -1 : a.hour > b.hour ? 1 : (a.host ?? '').localeCompare(b.host ?? ''),
  );
  return {
    ...scanReport(summaries, findings, unrecognized),
    timeline: {
      hosts: hostSummaries(findings, hostSeen),
      incidents: buildIncidents(findings),
      shared: sharedFindings(findings),
      marks: sorted,
      hours: hourList,
      window:
        around === null
          ? null
          : {
              from: toIso(around - half)!,
              to: toIso(around + half)!,
              lines: windowLines.map(({ seq: _seq, ...l }) => l),
              omitted: windowOmitted,
            },
      undated: undatedTotal,
    },
  };
}

/** The span of an input's host, from its first line (null when there are too many). */
function newSpan(spans: Map<string, Span>, key: string, t: number): Span | null {
  if (spans.size > 100_000) return null;
  const s: Span = { first: t, last: t, lines: 1, holes: [] };
  spans.set(key, s);
  return s;
}

/** One more line of a span. */
function spanLine(s: Span, t: number): void {
  s.lines++;
  if (t >= s.last) {
    if (t - s.last >= GAP_FLOOR) {
      s.holes.push([s.last, t]);
      if (s.holes.length > MAX_GAP_CANDIDATES) {
        // keep the longest
        let min = 0;
        for (let k = 1; k < s.holes.length; k++) if (s.holes[k]![1] - s.holes[k]![0] < s.holes[min]![1] - s.holes[min]![0]) min = k;
        s.holes.splice(min, 1);
      }
    }
    s.last = t;
  } else if (t < s.first) s.first = t;
}

/**
 * Hosts the host table and the hours keep apart. A central syslog server's fleet stays under it; a
 * flood of forged or misparsed host names (a sender whose lines carry no host name, so that its tag or
 * sequence number is read as one) would otherwise grow them with every line (300,000 names: 944 MB).
 */
export const MAX_HOSTS = 2000;
/**
 * Host-hours the hours keep (about 400 bytes each): a week of 1000 hosts is 168,000; a forged stream of
 * stamps an hour apart one per line (200,000 lines: 80 MB kept alive, 354 MB resident) no more.
 */
export const MAX_HOUR_BUCKETS = 200_000;
/** What is left out past a bound, counted apart up to this many (past it: "more than"). */
const MAX_LEFT_OUT = 100_000;

/** Distinct names (hosts, host-hours) left out past a bound: how many, and the input of the first. */
class LeftOut {
  private readonly names = new Set<string>();
  private more = false;
  source: string | null = null;

  add(name: string, source: string): void {
    if (this.names.size < MAX_LEFT_OUT) this.names.add(name);
    else if (!this.names.has(name)) this.more = true;
    this.source ??= source;
  }

  count(): string {
    return `${this.more ? 'more than ' : ''}${this.names.size}`;
  }
}
/** The row of the hosts past MAX_HOSTS (no host name holds a blank). */
export const OTHER_HOSTS = '(other hosts)';

/** dom0 boots (clustered by the clock) and reboots: a banner, or the uptime starting again. */
function bootMarks(
  clock: ResolvedClock,
  marks: Mark[],
  keep: (h: string | null) => boolean,
  inRange: (t: number) => boolean,
  hostSeen: Map<string | null, { boots: number }>,
): void {
  const byHost = new Map<string | null, typeof clock.boots>();
  for (const b of clock.boots) {
    const l = byHost.get(b.host) ?? [];
    l.push(b);
    byHost.set(b.host, l);
  }
  for (const [host, boots] of byHost) {
    if (!keep(host)) continue;
    boots.sort((a, b) => a.start - b.start);
    boots.forEach((b, k) => {
      const seenStart = b.firstUp < 120;
      if (!(b.kernel !== null || k > 0 || seenStart) || !inRange(b.start)) return;
      const hs = hostSeen.get(host);
      if (hs) hs.boots++;
      const how = b.kernel !== null ? `Linux ${b.kernel}` : k > 0 ? 'kernel uptime started again' : 'uptime near zero';
      const dated = b.anchored === 'dmesg-T' ? ', dated by dmesg -T' : '';
      marks.push({ kind: 'boot', time: toIso(b.start), host, text: `dom0 booted (${how}${dated})` });
    });
  }
}

/** Evidence that is not there: a console ring buffer that wrapped before it was saved. */
function missingMarks(
  clock: ResolvedClock,
  inputs: Input[],
  perInput: { first: number | null; lines: number }[],
  marks: Mark[],
  keep: (h: string | null) => boolean,
): void {
  for (const [i, input] of inputs.entries()) {
    const cut = clock.cutterOf(i);
    const lines = perInput[i]?.lines ?? 0;
    const host = clock.inputHosts[i] ?? null;
    if (lines === 0 || !keep(host)) continue;
    const name = basename(input.name);
    const run = cut.runs[0];
    if (run && cut.xenLines * 2 >= lines && run.banner === null) {
      const t = clock.runStartOf(i, 0) ?? perInput[i]!.first;
      marks.push({
        kind: 'missing',
        time: toIso(t),
        host,
        source: input.name,
        text:
          `Xen console ring buffer of ${name} wrapped before it was saved: the hypervisor's boot messages (version, command line, memory, scrubbing) are lost. ` +
          'Save xl dmesg right after boot, raise conring_size= on GRUB_CMDLINE_XEN, or keep a serial console log.',
      });
    }
    const seg = cut.segments[0];
    if (seg && cut.dmesgLines * 2 >= lines && seg.banner === null && seg.firstUp > 5) {
      const b = clock.bootOf(i, 0);
      marks.push({
        kind: 'missing',
        time: b ? toIso(b.start + seg.firstUp * 1000) : null,
        host,
        source: input.name,
        text:
          `Kernel ring buffer of ${name} wrapped: messages before uptime ${seg.firstUp.toFixed(0)} s are lost. ` +
          'Read kern.log or the journal for them; a larger log_buf_len= on the dom0 kernel command line keeps more.',
      });
    }
  }
}

/**
 * Stretches without lines, per host: the union of what every input of the host covers, with holes
 * longer than GAP_FLOOR and GAP_FACTOR times the host's usual spacing. A hole that lies exactly
 * between two files of a rotated set is a rotation gap; a number missing from a set is one too.
 */
function gapMarks(
  spans: Map<string, Span>,
  inputs: Input[],
  marks: Mark[],
  hostSeen: Map<string | null, { lines: number; first: number | null; last: number | null }>,
  hours: Iterable<HourBucket>,
  inputHosts: (string | null)[],
): void {
  const hoursOf = new Map<string, HourBucket[]>();
  for (const h of hours) {
    const l = hoursOf.get(h.host ?? '') ?? [];
    l.push(h);
    hoursOf.set(h.host ?? '', l);
  }
  const byHost = new Map<string, { input: number; span: Span }[]>();
  for (const [k, span] of spans) {
    const [i, host] = k.split('\0') as [string, string];
    const l = byHost.get(host) ?? [];
    l.push({ input: Number(i), span });
    byHost.set(host, l);
  }
  for (const [hostKey, list] of byHost) {
    const host = hostKey === '' ? null : hostKey;
    const hs = hostSeen.get(host);
    if (!hs || hs.first === null || hs.last === null || hs.lines < 2) continue;
    const usual = usualSpacing(hoursOf.get(hostKey) ?? []);
    const threshold = Math.max(GAP_FLOOR, GAP_FACTOR * usual);
    const covered: [number, number][] = [];
    for (const { span } of list) {
      let from = span.first;
      for (const [a, b] of [...span.holes].sort((x, y) => x[0] - y[0])) {
        if (b - a < threshold) continue;
        covered.push([from, a]);
        from = b;
      }
      covered.push([from, span.last]);
    }
    covered.sort((a, b) => a[0] - b[0]);
    let reach = covered[0]![1];
    for (const [a, b] of covered.slice(1)) {
      if (a - reach >= threshold) {
        const rot = rotationBetween(list, inputs, reach, a);
        const minutes = Math.round((a - reach) / 60_000);
        const dur = minutes >= 120 ? `${(minutes / 60).toFixed(1)} h` : `${minutes} min`;
        marks.push(
          rot
            ? {
                kind: 'rotation-gap',
                time: toIso(reach),
                end: toIso(a),
                host,
                text: `${dur} without lines between the rotated files ${basename(rot[0])} and ${basename(rot[1])}: a file of the set is missing or was rotated away`,
              }
            : {
                kind: 'gap',
                time: toIso(reach),
                end: toIso(a),
                host,
                text: `${dur} without a line (usually one every ${usual >= 120_000 ? `${Math.round(usual / 60_000)} min` : `${Math.max(1, Math.round(usual / 1000))} s`})`,
              },
        );
      }
      reach = Math.max(reach, b);
    }
  }
  // numbers missing from a rotated set (kern.log.3.gz and kern.log.1 present, kern.log.2* absent)
  for (let k = 1; k < inputs.length; k++) {
    const [ba, oa] = rotationOrder(inputs[k - 1]!.name);
    const [bb, ob] = rotationOrder(inputs[k]!.name);
    if (ba !== bb || inputs[k - 1]!.kind !== 'file' || oa < -1e11 || ob < -1e11 || ob - oa <= 1) continue;
    const missing = [];
    for (let n = -oa - 1; n > -ob; n--) missing.push(`${basename(ba)}.${n}`);
    const prevLast = [...spans]
      .filter(([key]) => key.startsWith(`${k - 1}\0`))
      .reduce<number | null>((m, [, s]) => (m === null || s.last > m ? s.last : m), null);
    const nextFirst = [...spans]
      .filter(([key]) => key.startsWith(`${k}\0`))
      .reduce<number | null>((m, [, s]) => (m === null || s.first < m ? s.first : m), null);
    marks.push({
      kind: 'rotation-gap',
      time: toIso(prevLast),
      end: toIso(nextFirst),
      host: inputHosts[k] ?? null,
      source: inputs[k]!.name,
      text: `${missing.join(', ')} missing from the rotated set: what was logged between ${basename(inputs[k - 1]!.name)} and ${basename(inputs[k]!.name)} is not in this archive`,
    });
  }
}

/** Usual spacing between a host's lines (ms): an hour over the median count of its hours that have lines. */
function usualSpacing(hours: HourBucket[]): number {
  const counts = hours.map((h) => h.lines).filter((n) => n > 0);
  if (counts.length === 0) return HOUR;
  counts.sort((a, b) => a - b);
  return HOUR / counts[Math.floor(counts.length / 2)]!;
}

/** The two consecutive files of one rotated set whose last and first lines bound this hole. */
function rotationBetween(list: { input: number; span: Span }[], inputs: Input[], from: number, to: number): [string, string] | null {
  for (const a of list) {
    if (a.span.last !== from) continue;
    for (const b of list) {
      if (b.input !== a.input + 1 || b.span.first !== to) continue;
      const na = inputs[a.input]!.name;
      const nb = inputs[b.input]!.name;
      if (rotationOrder(na)[0] === rotationOrder(nb)[0]) return [na, nb];
    }
  }
  return null;
}

/** Sort marks by time and drop the same boot seen in two captures (a serial log and `xl dmesg`). */
function dedupeMarks(marks: Mark[]): Mark[] {
  const sorted = [...marks].sort((a, b) => ((a.time ?? '9') < (b.time ?? '9') ? -1 : (a.time ?? '9') > (b.time ?? '9') ? 1 : 0));
  const out: Mark[] = [];
  const lastOf = new Map<string, number>();
  for (const m of sorted) {
    if ((m.kind === 'boot' || m.kind === 'xen-boot') && m.time !== null) {
      const k = `${m.kind}\0${m.host ?? ''}`;
      const t = Date.parse(m.time);
      const prev = lastOf.get(k);
      if (prev !== undefined && t - prev < 120_000) continue;
      lastOf.set(k, t);
    }
    out.push(m);
  }
  return out;
}
