/** The scan pipeline: inputs → lines → events → engine → report. One function, no I/O but reading. */
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { inputContext, maybeGunzip, type Input, type ResolveProblem } from '../sources/inputs.js';
import { ConsoleClock } from '../parse/console-clock.js';
import { InputCutter, type ResolvedClock } from '../timeline/clock.js';
import { surveyClock } from '../timeline/survey.js';
import { toUtf8, utf16Of, SNIFF_BYTES } from '../sources/encoding.js';
import { MAX_LINE, scanLines, type LineSink, type LineStats } from '../sources/lines.js';
import { hasSlowMatches, slowNote, takeSlowMatches } from '../engine/safety.js';
import { parseLine } from '../parse/line.js';
import { toIso, type TimeContext } from '../parse/time.js';
import { Engine, FUTURE_TOLERANCE, type EngineOptions } from '../engine/engine.js';
import { compareFindings } from '../engine/findings.js';
import { problemSummaries, scanReport } from '../report-document.js';
import type { PendingThreshold } from '../engine/groups.js';
import type { Rule } from '../engine/catalogue.js';
import { ScanPool, type Job, type JobResult, type LocalRunner } from '../workers/pool.js';
import type { InputSummary, LogEvent, ScanReport } from '../types.js';
import type { BaselineCheck } from '../engine/unrecognized-baseline.js';
import type { MinerState } from '../engine/unrecognized.js';
import { enrichUnrecognized } from '../kb/enrich.js';

export interface ScanOptions extends EngineOptions {
  zone: string;
  year: number | null;
  /** Told how many lines that could match a rule carry no time and were kept despite --since/--until. */
  onUndated?: (lines: number) => void;
  /** Called with bytes read so far (progress display). */
  onProgress?: (bytes: number) => void;
  /** Worker threads (default: defaultWorkers()); 0 reads everything on the main thread. */
  workers?: number;
  /** With `unrecognized`: flag new and bursting templates against this baseline (findings). */
  baseline?: BaselineCheck | null;
  /** With `unrecognized`: receives the mined templates with their hourly counts (`baseline learn`). */
  onMined?: (mined: MinerState) => void;
  /**
   * Thresholds carried between runs (report): start from `from`, and hand to `to` what is left
   * pending, without what the latest time read (log time, not the clock) puts out of any window.
   */
  carry?: { from: PendingThreshold[]; to: (pending: PendingThreshold[]) => void };
  /**
   * Date kernel uptime stamps that carry no date as the timeline does (timeline/survey.ts): a first
   * pass over the inputs when they are small enough; a live host's own dmesg piped in is dated from
   * its boot time.
   */
  dateUptimes?: boolean;
  /**
   * The run's clock (report): lines dated after it expire nothing counted before them, nor what is
   * carried to the next run; those more than an hour after it are noted (see EngineOptions.now).
   */
  now?: number;
}

/** First wall-clock time among some lines, or null. */
function firstTime(lines: string[], ctx: TimeContext): number | null {
  for (const l of lines) {
    const t = parseLine(l, ctx).time;
    if (t !== null) return t;
  }
  return null;
}

async function* counted(chunks: AsyncIterable<Buffer>, onBytes: (n: number) => void): AsyncGenerator<Buffer> {
  for await (const c of chunks) {
    onBytes(c.length);
    yield c;
  }
}

/**
 * Feed one stream of bytes through lines → engine (`Engine.read`). `onEvent` sees each candidate
 * line's event (for sample tests).
 */
export async function analyseStream(
  engine: Engine,
  chunks: AsyncIterable<Buffer>,
  ctx: TimeContext,
  source: string,
  host: string | null,
  opts: { onEvent?: (ev: LogEvent) => void; clock?: { clock: ResolvedClock; input: number } } = {},
): Promise<{ stats: LineStats; lastSeen: number | null }> {
  let lastSeen: number | null = null;
  const slow: LineStats['notes'] = [];
  // dom0's uptime stamps dated from the Xen console of the same input (a serial console log)
  const console = new ConsoleClock();
  // the surveyed clock (timeline/survey.ts) replays the survey's cutting: it sees every line
  const surveyed = opts.clock ?? null;
  const cutter = surveyed ? new InputCutter(surveyed.input, false) : null;
  let lastTime: number | null = null;
  const settle = (ev: LogEvent, text: string, line: number, dated: boolean) => {
    if (dated) console.date(ev);
    if (!cutter) return;
    const where = cutter.feed(ev, text, line);
    if (ev.time === null) ev.time = surveyed!.clock.timeOf(surveyed!.input, where, ev, line, lastTime);
    if (ev.time !== null && (ev.source !== 'hypervisor' || where.run === null)) lastTime = ev.time;
  };
  const sink: LineSink = {
    wantsAll: cutter ? () => true : () => engine.wantsAll(),
    line: (text, line, candidate, raw, start, end, before) => {
      // the console clock sees the lines the prefilter picks, on the fast path and the every-line path alike
      const dated = candidate && engine.prefilterCandidate(raw, start, end);
      const ev = engine.read(text, {
        source,
        line,
        host,
        ctx,
        candidate,
        raw,
        start,
        end,
        settle: dated || cutter ? (e) => settle(e, text, line, dated) : undefined,
        before,
      });
      if (ev.time !== null) lastSeen = ev.time;
      if (candidate) opts.onEvent?.(ev);
      if (hasSlowMatches()) for (const m of takeSlowMatches()) slow.push({ line, text: slowNote(m) });
    },
  };
  const stats = await scanLines(chunks, engine.prefilter, sink, engine.everyLine);
  stats.notes.push(...slow);
  engine.endInput();
  return { stats, lastSeen };
}

/** Progress of a job is told in steps of this many bytes. */
const PROGRESS_EVERY = 16 * 1024 * 1024;

/**
 * One job (a byte range of a file, or a segment already read) with its own engine: what a worker
 * thread runs, and the main thread too when it takes a job (see ScanPool).
 */
export async function runJob(
  job: Job,
  ctx: TimeContext,
  rules: Rule[],
  opts: EngineOptions,
  onBytes: (n: number) => void,
): Promise<JobResult> {
  const engine = new Engine(rules, opts);
  let chunks: AsyncIterable<Buffer>;
  let since = 0;
  if (job.data) {
    const data = Buffer.from(job.data.buffer, job.data.byteOffset, Math.min(job.data.byteLength, job.end));
    chunks = (async function* () {
      yield data;
    })();
  } else {
    const raw = createReadStream(job.path, { start: job.start, end: job.end - 1, highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer>;
    chunks = counted(job.gzip ? maybeGunzip(raw) : raw, (n) => {
      since += n;
      if (since >= PROGRESS_EVERY) {
        onBytes(since);
        since = 0;
      }
    });
  }
  const { stats, lastSeen } = await analyseStream(engine, chunks, ctx, job.name, job.host);
  if (since > 0) onBytes(since);
  return { stats, lastSeen, state: engine.exportState() };
}

/** A size from the environment (tuning and tests), or the default. */
function envSize(name: string, dflt: number): number {
  const v = process.env[name];
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : dflt;
}
/** Inputs smaller than this are read on the main thread; larger files go to worker threads. */
const WORKER_MIN = envSize('XENDOCTOR_WORKER_MIN', 16 * 1024 * 1024);
/** Plain files larger than this are split at line boundaries across the workers. */
const SPLIT_MIN = envSize('XENDOCTOR_SPLIT_MIN', 64 * 1024 * 1024);

/**
 * Worker threads to use besides the main thread, which scans too: XENDOCTOR_WORKERS, else one per
 * core beyond the first, at most three. On this project's 2-core machine one worker and the main
 * thread scan a 1 GiB file in 3.2 s instead of 5.1 s, for about 40 MB more memory (two workers
 * and an idle main thread took 190 MB).
 */
export function defaultWorkers(): number {
  const env = process.env.XENDOCTOR_WORKERS;
  if (env !== undefined && /^\d+$/.test(env)) return Number(env);
  return Math.max(0, Math.min(3, availableParallelism() - 1));
}

function sniff(path: string): 'gzip' | 'utf16' | 'plain' {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(SNIFF_BYTES);
    const n = readSync(fd, b, 0, SNIFF_BYTES, 0);
    if (n >= 2 && b[0] === 0x1f && b[1] === 0x8b) return 'gzip';
    return utf16Of(b.subarray(0, n)) ? 'utf16' : 'plain';
  } finally {
    closeSync(fd);
  }
}

/**
 * How a file input starts (read once per input): gzip, UTF-16 (transcoded as a stream, never split at
 * byte offsets), anything else, or unreadable; null for other inputs.
 */
type Opening = 'gzip' | 'utf16' | 'plain' | 'unreadable' | null;

function opening(input: Input): Opening {
  if (input.kind !== 'file') return null;
  try {
    return sniff(input.name);
  } catch {
    return 'unreadable'; // the main thread reads it, and reports why it cannot
  }
}

/** How far back a split point looks for the first line of a multi-line report. */
const LOOKBACK = 256 * 1024;

/**
 * The start of a line at or after `from` in buf[0, end) where no multi-line report can be open, so
 * that no report is cut in two between workers: no line of the `LOOKBACK` bytes before it starts
 * one (matches a multi-line rule's pattern) whose `max` continuation lines would reach past it.
 * -1 when there is none in the buffer.
 */
export function safeCut(buf: Buffer, from: number, end: number, rules: Rule[], ctx: TimeContext): number {
  const openers = rules.filter((r) => r.continuation);
  let p = Math.max(0, from - LOOKBACK);
  if (p > 0) p = buf.indexOf(10, p - 1) + 1; // the first whole line
  let line = 0;
  let blockedUntil = -1; // last line index an open report could still reach
  while (p < end) {
    if (p >= from && line > blockedUntil) return p;
    let nl = buf.indexOf(10, p);
    if (nl < 0 || nl >= end) nl = end;
    const msg = parseLine(buf.toString('utf8', p, Math.min(nl, p + 4096)), ctx).message;
    for (const r of openers) {
      if (r.patterns.some((re) => re.test(msg))) blockedUntil = Math.max(blockedUntil, line + r.continuationMax);
    }
    line++;
    p = nl + 1;
  }
  return -1;
}

/** A split point at or after `offset` in a file (see safeCut); the file's size when none is near. */
function safeSplitPoint(path: string, offset: number, size: number, rules: Rule[], ctx: TimeContext): number {
  const fd = openSync(path, 'r');
  try {
    const back = Math.min(offset, LOOKBACK);
    const buf = Buffer.alloc(back + 256 * 1024);
    const n = readSync(fd, buf, 0, buf.length, offset - back);
    const at = safeCut(buf, back, n, rules, ctx);
    return at < 0 ? size : offset - back + at;
  } finally {
    closeSync(fd);
  }
}

/** Bytes per segment when a stream (gzip, stdin) is cut into pieces for the workers. */
const SEGMENT = envSize('XENDOCTOR_SEGMENT', 4 * 1024 * 1024);

/**
 * Read a stream on the main thread and hand it to the workers in segments of whole lines (cut
 * where no multi-line report continues); results come back in order. Returns null without using
 * a worker when the whole stream is smaller than one segment: then `small` holds it.
 */
async function segmented(
  input: Input,
  chunks: AsyncIterable<Buffer>,
  pool: () => ScanPool,
  rules: Rule[],
  ctx: TimeContext,
  maxInFlight: number,
  onResult: (r: JobResult) => void,
): Promise<{ small: Buffer | null; error: string | null }> {
  let acc: Buffer[] = [];
  let accLen = 0;
  const inFlight: Promise<JobResult | Error>[] = [];
  let used = false;
  const settle = async (all: boolean) => {
    while (inFlight.length > (all ? 0 : maxInFlight - 1)) {
      const r = await inFlight.shift()!;
      if (r instanceof Error) throw r;
      onResult(r);
    }
  };
  // `data` owns its ArrayBuffer (allocUnsafeSlow), which is moved to the worker, not copied
  const send = async (data: Buffer, length: number) => {
    used = true;
    inFlight.push(
      pool()
        .run({ path: input.name, name: input.name, host: input.host, start: 0, end: length, gzip: false, data }, ctx, () => undefined)
        .catch((e: Error) => e),
    );
    await settle(false);
  };
  let error: string | null = null;
  // inside an over-long line that fills a whole segment: its head is kept (scanLines cuts it with a
  // note), the rest dropped up to its end, so it stays one line and memory stays flat (`/dev/zero`)
  let longHead: Buffer | null = null;
  try {
    for await (const whole of chunks) {
      let chunk = whole;
      if (longHead) {
        const nl = chunk.indexOf(10);
        if (nl < 0) continue;
        acc = [longHead, Buffer.from('\n')];
        accLen = longHead.length + 1;
        longHead = null;
        chunk = chunk.subarray(nl + 1);
      }
      acc.push(chunk);
      accLen += chunk.length;
      if (accLen < SEGMENT) continue;
      if (!acc.some((c) => c.includes(10))) {
        // no line end yet: wait for one, or for the line to prove over-long
        if (accLen <= MAX_LINE) continue;
        longHead = Buffer.from(Buffer.concat(acc).subarray(0, MAX_LINE + 1));
        acc = [];
        accLen = 0;
        continue;
      }
      const buf = Buffer.allocUnsafeSlow(accLen);
      let o = 0;
      for (const c of acc) o += c.copy(buf, o);
      let cut = safeCut(buf, Math.max(1, buf.length - 1024 * 1024), buf.length, rules, ctx);
      if (cut <= 0) cut = buf.lastIndexOf(10) + 1 || buf.length;
      acc = cut < buf.length ? [Buffer.from(buf.subarray(cut))] : [];
      accLen = buf.length - cut;
      await send(buf, cut);
    }
  } catch (e) {
    error = (e as Error).message;
  }
  if (longHead) {
    acc = [longHead];
    accLen = longHead.length;
  }
  const rest = Buffer.concat(acc, accLen);
  if (!used) return { small: rest, error };
  if (rest.length > 0) {
    const own = Buffer.allocUnsafeSlow(rest.length);
    rest.copy(own);
    await send(own, own.length);
  }
  await settle(true);
  return { small: null, error };
}

/** How an input is read: on the main thread (null), or as jobs (split for `scanners` threads), in order. */
function planJobs(input: Input, open: Opening, scanners: number, rules: Rule[], ctx: TimeContext): Job[] | null {
  // a gzip file is one stream, read on the main thread; an unreadable one is reported there
  if (scanners === 0 || open !== 'plain' || input.size === null || input.size < WORKER_MIN) return null;
  const job = { path: input.name, name: input.name, host: input.host, gzip: false, start: 0, end: input.size };
  if (input.size < SPLIT_MIN || scanners < 2) return [job];
  const bounds = [0];
  for (let i = 1; i < scanners; i++) {
    const at = safeSplitPoint(input.name, Math.floor((input.size * i) / scanners), input.size, rules, ctx);
    if (at > bounds[bounds.length - 1]! && at < input.size) bounds.push(at);
  }
  bounds.push(input.size);
  return bounds.slice(0, -1).map((start, i) => ({ ...job, start, end: bounds[i + 1]! }));
}

/** Notes kept per input (lines cut for length, slow lines…); the rest are counted. */
const MAX_NOTES = 20;

type Part = { stats: LineStats; lastSeen: number | null };

/**
 * The line statistics of an input's parts (segments, byte ranges), folded as they come in: only what
 * the summary needs is kept (the first part's head lines, the last part's tail, counts and a few
 * notes), so memory does not grow with the number of segments of a long stream.
 */
class PartsFold {
  lines = 0;
  readonly formats = new Map<string, number>();
  readonly errors: string[] = [];
  private more = 0;
  head: string[] | null = null;
  tail: string | null = null;
  lastSeen: number | null = null;
  count = 0;

  add({ stats, lastSeen }: Part): void {
    for (const n of stats.notes) this.note(`line ${n.line + this.lines}: ${n.text}`);
    if (stats.error !== null) this.note(`read error after ${this.lines + stats.lines} lines: ${stats.error}`);
    for (const [k, v] of Object.entries(stats.formats)) this.formats.set(k, (this.formats.get(k) ?? 0) + (v ?? 0));
    this.lines += stats.lines;
    this.lastSeen = lastSeen ?? this.lastSeen;
    this.head ??= stats.head;
    this.tail = stats.tail;
    this.count++;
  }

  note(text: string): void {
    if (this.errors.length < MAX_NOTES) this.errors.push(text);
    else this.more++;
  }

  notes(): string[] {
    return this.more > 0 ? [...this.errors, `${this.more} more notes like these`] : this.errors;
  }
}

/** Fill an input's summary from the folded line statistics of its parts. */
function summarise(summary: InputSummary, parts: PartsFold, ctx: TimeContext): void {
  summary.errors.push(...parts.notes());
  summary.lines = parts.lines;
  summary.formats = Object.fromEntries(parts.formats);
  const head = parts.head ?? [];
  summary.first = toIso(firstTime(head, ctx));
  const tail = parts.tail;
  // the last time seen: the last line's, else the last dated candidate's, else the last dated head line's
  summary.last = toIso((tail !== null ? parseLine(tail, ctx).time : null) ?? parts.lastSeen ?? firstTime([...head].reverse(), ctx));
  if (parts.lines === 0 && !summary.errors.length) summary.errors.push('empty input');
}

/**
 * Tell in the inputs' notes what a flood of distinct keys folded (Engine.foldNotes): on the input of
 * the first folded line, else the last input.
 */
export function noteFolds(engine: Engine, summaries: InputSummary[]): void {
  for (const n of engine.foldNotes()) noteOn(summaries, n.source, n.text);
}

/** A note on the input named `source` (else on the last one). */
export function noteOn(summaries: InputSummary[], source: string | null, text: string): void {
  (summaries.find((x) => x.source === source) ?? summaries.at(-1))?.errors.push(text);
}

/**
 * Note the inputs with lines dated more than FUTURE_TOLERANCE after the clock: the lines the engine
 * read (Engine.future) and an input's last line (the latest time read).
 */
function noteFuture(engine: Engine, summaries: InputSummary[], now: number): void {
  const first = engine.future.first;
  const note = (t: number) =>
    `lines dated in the future (the first dated ${toIso(t)}, more than an hour after this host's clock): they expire nothing counted before them`;
  let told = first === null;
  for (const s of summaries) {
    const last = s.last === null ? NaN : Date.parse(s.last);
    const t = first?.source === s.source ? first.time : last > now + FUTURE_TOLERANCE ? last : null;
    if (t === null) continue;
    s.errors.push(note(t));
    told ||= first?.source === s.source;
  }
  if (!told) summaries.at(-1)?.errors.push(note(first!.time));
}

/**
 * Analyse the inputs in order (each rotated set oldest first), so that findings span files. Each
 * input (or each part of a large file, on worker threads) gets its own engine, merged in order
 * into one: the result is the same as reading everything with one engine.
 */
export async function scanInputs(inputs: Input[], problems: ResolveProblem[], rules: Rule[], opts: ScanOptions): Promise<ScanReport> {
  const contexts = new Map<Input, TimeContext>();
  const ctxOf = (input: Input): TimeContext => {
    let c = contexts.get(input);
    if (!c) contexts.set(input, (c = inputContext(input, opts.zone, opts.year)));
    return c;
  };
  const surveyed = opts.dateUptimes ? await surveyClock(inputs, ctxOf) : null;
  if (surveyed) inputs = surveyed.inputs;
  // the inputs the surveyed clock dates are read on this thread, every line (the clock replays the survey's cutting)
  const clockOf = (i: number) => (surveyed?.clock && surveyed.dated[i] ? { clock: surveyed.clock, input: i } : undefined);
  const engineOpts = {
    since: opts.since,
    until: opts.until,
    hosts: opts.hosts,
    defaultHost: opts.defaultHost,
    unrecognized: opts.unrecognized,
    now: opts.now ?? null,
  };
  const master = new Engine(rules, engineOpts);
  if (opts.carry) master.seedPending(opts.carry.from);
  const summaries = problemSummaries(problems);
  const workers = opts.workers ?? defaultWorkers();
  // The main thread scans jobs too, beside the workers, unless it has a large gzip file of its own
  // to read (inflated and scanned here): two scans at once on this thread would double its memory.
  const openings = inputs.map((i) => (workers > 0 ? opening(i) : null));
  const gzipHere = inputs.some((i, k) => openings[k] === 'gzip' && i.size !== null && i.size >= WORKER_MIN);
  const local: LocalRunner | null = gzipHere ? null : (job, ctx, onJobBytes) => runJob(job, ctx, rules, engineOpts, onJobBytes);
  const scanners = workers > 0 ? workers + (local ? 1 : 0) : 0;
  const plans = inputs.map((input, k) => (clockOf(k) ? null : planJobs(input, openings[k] ?? null, scanners, rules, ctxOf(input))));
  let pool: ScanPool | null = null;
  const getPool = () => (pool ??= new ScanPool(workers, rules, engineOpts, local));
  if (plans.some((p) => p !== null)) getPool();
  let progressed = 0;
  const onBytes = (n: number) => {
    progressed += n;
    opts.onProgress?.(progressed);
  };
  // Worker jobs start at once (the pool queues them); results are merged strictly in input order.
  const pending = plans.map((jobs, i) =>
    jobs
      ? jobs.map((job) =>
          getPool()
            .run(job, ctxOf(inputs[i]!), onBytes)
            .catch((e: Error) => e),
        )
      : null,
  );
  try {
    for (const [i, input] of inputs.entries()) {
      const ctx = ctxOf(input);
      const summary: InputSummary = { source: input.name, lines: 0, bytes: 0, formats: {}, first: null, last: null, errors: [] };
      const jobs = pending[i];
      const parts = new PartsFold();
      if (jobs) {
        let lineOffset = 0;
        for (const r of await Promise.all(jobs)) {
          if (r instanceof Error) {
            summary.errors.push(`read error: ${r.message}`);
            break;
          }
          master.absorb(r.state, lineOffset);
          lineOffset += r.stats.lines;
          summary.bytes += r.stats.bytes;
          parts.add(r);
        }
      } else {
        // UTF-16 (by its byte-order mark or NUL pattern) is transcoded before it is cut into lines or segments
        let chunks: AsyncIterable<Buffer> = toUtf8(counted(input.open(), onBytes));
        let readError: string | null = null;
        if (workers > 0 && openings[i] !== 'gzip' && !clockOf(i)) {
          // a stream (stdin, a command): segments to the workers once it proves large. A gzip file is
          // read here: zlib inflates on libuv's thread pool while this thread scans, which uses both
          // cores better than inflating here and scanning in workers (measured by npm run bench).
          let lineOffset = 0;
          const seg = await segmented(input, chunks, getPool, rules, ctx, scanners + 1, (r) => {
            master.absorb(r.state, lineOffset);
            lineOffset += r.stats.lines;
            summary.bytes += r.stats.bytes;
            parts.add(r);
          });
          readError = seg.error;
          chunks = (async function* () {
            if (seg.small && seg.small.length > 0) yield seg.small;
          })();
        }
        if (parts.count === 0) {
          const engine = new Engine(rules, engineOpts);
          const r = await analyseStream(engine, chunks, ctx, input.name, input.host, { clock: clockOf(i) });
          master.absorb(engine.exportState());
          if (surveyed?.notes[i]) parts.note(surveyed.notes[i]!);
          summary.bytes = r.stats.bytes;
          if (readError !== null) r.stats.error ??= readError;
          parts.add(r);
        } else if (readError !== null) parts.note(`read error after ${parts.lines} lines: ${readError}`);
      }
      summarise(summary, parts, ctx);
      summaries.push(summary);
    }
  } finally {
    await (pool as ScanPool | null)?.close();
  }
  if (master.undated > 0) opts.onUndated?.(master.undated);
  let findings = master.findings();
  noteFolds(master, summaries);
  if (opts.now !== undefined) noteFuture(master, summaries, opts.now);
  if (opts.carry) {
    const lasts = summaries.map((x) => (x.last === null ? NaN : Date.parse(x.last))).filter((t) => !Number.isNaN(t));
    // the latest time read, but never later than the clock: a line from the future (a forged stamp)
    // would put every count carried so far out of its window
    const latest = lasts.length ? Math.min(Math.max(...lasts), opts.now ?? Infinity) : null;
    opts.carry.to(master.pendingThresholds(latest));
  }
  const unrecognized = master.unrecognizedTemplates();
  const mined = master.unrecognizedState();
  if (mined) {
    opts.onMined?.(mined);
    const found = await enrichUnrecognized(unrecognized, mined, { baseline: opts.baseline });
    if (found.length) findings = [...findings, ...found].sort(compareFindings);
  }
  return scanReport(summaries, findings, unrecognized);
}
