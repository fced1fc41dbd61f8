/** The scan pipeline: inputs → lines → events → engine → report. One function, no I/O but reading. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Input, ResolveProblem } from './sources/inputs.js';
import { scanLines, type LineSink, type LineStats } from './sources/lines.js';
import { parseLine } from './parse/line.js';
import { toIso, type TimeContext } from './parse/time.js';
import { Engine, summarize, type EngineOptions } from './engine/engine.js';
import type { Rule } from './engine/catalogue.js';
import type { InputSummary, LogEvent, ScanReport } from './types.js';

export interface ScanOptions extends EngineOptions {
  zone: string;
  year: number | null;
  /** Called with bytes read so far (progress display). */
  onProgress?: (bytes: number) => void;
}

let cachedVersion: string | null = null;
/** The package version. */
export function toolVersion(): string {
  if (!cachedVersion) {
    const pkg = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'package.json'), 'utf8')) as {
      version: string;
    };
    cachedVersion = pkg.version;
  }
  return cachedVersion;
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
 * Feed one stream of bytes through lines → events → engine. `everyLine` forces the simple path
 * (every line through every rule); `onEvent` sees each candidate line's event (for sample tests).
 */
export async function analyseStream(
  engine: Engine,
  chunks: AsyncIterable<Buffer>,
  ctx: TimeContext,
  source: string,
  host: string | null,
  opts: { everyLine?: boolean; onEvent?: (ev: LogEvent) => void } = {},
): Promise<{ stats: LineStats; lastSeen: number | null }> {
  let lastSeen: number | null = null;
  const simple = opts.everyLine === true || engine.everyLine;
  const sink: LineSink = {
    wantsAll: () => engine.wantsAll(),
    line: (text, lineNo, candidate, raw, start, end) => {
      const ev = parseLine(text, ctx);
      if (ev.time !== null) lastSeen = ev.time;
      if (candidate) opts.onEvent?.(ev);
      engine.offer(ev, text, source, lineNo, host, candidate, candidate && !simple ? engine.rulesIn(raw, start, end) : engine.rules);
    },
  };
  const stats = await scanLines(chunks, engine.prefilter, sink, simple);
  engine.endInput();
  return { stats, lastSeen };
}

/** Analyse the inputs in order (each rotated set oldest first) with one engine, so findings span files. */
export async function scanInputs(inputs: Input[], problems: ResolveProblem[], rules: Rule[], opts: ScanOptions): Promise<ScanReport> {
  const engine = new Engine(rules, opts);
  const summaries: InputSummary[] = problems.map((p) => ({
    source: p.source,
    lines: 0,
    bytes: 0,
    formats: {},
    first: null,
    last: null,
    errors: [p.message],
  }));
  let total = 0;
  for (const input of inputs) {
    const ctx: TimeContext = { zone: opts.zone, year: opts.year, reference: input.mtime };
    const summary: InputSummary = { source: input.name, lines: 0, bytes: 0, formats: {}, first: null, last: null, errors: [] };
    let bytes = 0;
    const chunks = counted(input.open(), (n) => {
      bytes += n;
      opts.onProgress?.(total + bytes);
    });
    try {
      const { stats, lastSeen } = await analyseStream(engine, chunks, ctx, input.name, input.host);
      summary.lines = stats.lines;
      summary.formats = stats.formats;
      summary.errors.push(...stats.notes);
      if (stats.error !== null) summary.errors.push(`read error after ${stats.lines} lines: ${stats.error}`);
      summary.first = toIso(firstTime(stats.head, ctx));
      summary.last = toIso((stats.tail !== null ? parseLine(stats.tail, ctx).time : null) ?? lastSeen);
      if (stats.lines === 0) summary.errors.push('empty input');
    } catch (e) {
      summary.errors.push(`read error after ${bytes} bytes: ${(e as Error).message}`);
      summary.lines = -1;
    }
    summary.bytes = bytes;
    total += bytes;
    if (summary.lines < 0) summary.lines = 0;
    summaries.push(summary);
  }
  const findings = engine.findings();
  return {
    tool: 'xendoctor',
    version: toolVersion(),
    schema: 1,
    inputs: summaries,
    findings,
    unrecognized: [],
    summary: summarize(findings),
  };
}

/** True when not a single input could be read. */
export function nothingRead(report: ScanReport): boolean {
  return report.inputs.length === 0 || report.inputs.every((i) => i.bytes === 0 && i.errors.some((e) => e !== 'empty input'));
}
