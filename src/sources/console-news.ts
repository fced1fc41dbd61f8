/**
 * The hypervisor console (`xl dmesg`, `xm dmesg`) read incrementally for `xendoctor report`: the whole
 * ring buffer is read each run and only the lines after those seen last time are analysed. The last
 * run's place is remembered by hashes — of the whole buffer, of its first line, and of its last lines
 * as runs of one line repeated (a flood of identical lines is one run, with its count) — so the
 * state holds no console text. When those lines are no longer in the buffer, it wrapped (or was
 * cleared, or the host restarted) and lines may have been lost: the report says so. When they are in
 * it at more than one place (a repeated pattern wrapped the ring), the place is ambiguous: the
 * earliest is taken, so that no new line is lost (some may be read again), and the report says so.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { Input } from './inputs.js';
import type { ConsoleMark } from '../state/state.js';

/** Lines of context that identify the last place read. */
export const CONSOLE_CONTEXT = 20;
/** Largest output accepted (Xen's console ring is at most a few MiB). */
const MAX_OUTPUT = 64 * 1024 * 1024;

function lineHash(line: string): string {
  return createHash('sha1').update(line).digest('hex').slice(0, 16);
}

/** Run a command and collect its standard output (bounded); a failure is an Error with its stderr. */
export function capture(cmd: string, args: string[], timeoutMs = 60_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    const out: Buffer[] = [];
    let size = 0;
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      size += d.length;
      if (size <= MAX_OUTPUT) out.push(d);
    });
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 2000) stderr += d.toString('utf8');
    });
    child.on('error', (e) => reject(new Error(`cannot run ${cmd}: ${(e as NodeJS.ErrnoException).code ?? e.message}`)));
    child.on('close', (code, signal) => {
      if (code === 0) resolve(Buffer.concat(out));
      else {
        const why = stderr.trim().split('\n')[0];
        reject(
          new Error(
            `${[cmd, ...args].join(' ')} ${signal ? `was killed by ${signal}` : `exited with status ${code}`}${why ? `: ${why}` : ''}`,
          ),
        );
      }
    });
  });
}

export interface ConsoleNews {
  /** The lines not seen before, each ended by a newline. */
  data: Buffer;
  /** Line number (in this output) of the line before the first new one. */
  lineBase: number;
  newLines: number;
  /** Set when lines may have been lost. */
  note: string | null;
  mark: ConsoleMark;
}

/** Split console output into lines (a last line without its end counts). */
function splitLines(out: Buffer): string[] {
  const lines = out
    .toString('utf8')
    .split('\n')
    .map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Runs of one line repeated: [hash, count], oldest first, from line `from` on. */
function runsOf(hashes: string[], from = 0): { hash: string; count: number; start: number }[] {
  const runs: { hash: string; count: number; start: number }[] = [];
  for (let i = from; i < hashes.length; i++) {
    const last = runs[runs.length - 1];
    if (last && last.hash === hashes[i]) last.count++;
    else runs.push({ hash: hashes[i]!, count: 1, start: i });
  }
  return runs;
}

/** The hash of a buffer's first `n` lines (all of them by default). */
function wholeHash(lines: string[], n = lines.length): string {
  const h = createHash('sha1');
  for (let i = 0; i < n; i++) h.update(lines[i]!).update('\n');
  return h.digest('hex').slice(0, 16);
}

/**
 * The position just after the last line seen, or -1 when it is no longer in the buffer. `ambiguous`:
 * it cannot be told exactly — the remembered runs end at several places, or in a run of repeated
 * lines that the buffer's start cuts — and `at` is the earliest place that fits.
 */
function findPlace(lines: string[], hashes: string[], prev: ConsoleMark): { at: number; ambiguous: boolean } {
  if (prev.runs === undefined || prev.whole === undefined) return { at: findPlaceByLines(hashes, prev), ambiguous: false };
  const prevRuns = prev.runs;
  if (prevRuns.length === 0) return { at: 0, ambiguous: false };
  // the exact case: the buffer only grew since (its first lines are the whole of the last one)
  if (hashes.length >= prev.lines && wholeHash(lines, prev.lines) === prev.whole) return { at: prev.lines, ambiguous: false };
  // it wrapped: every place where the remembered runs end. The buffer's first line may be cut in the
  // middle, so runs are counted from the second; a run at that start may be cut too.
  const runs = runsOf(hashes, 1);
  // the last run seen before may be the first of the buffer then (cut at its front)
  const cutBefore = prevRuns.reduce((n, r) => n + r[1], 0) >= prev.lines;
  const places = new Set<number>();
  let uncertain = false;
  const k = prevRuns.length;
  for (let j = runs.length - 1; j >= 0; j--) {
    let ok = true;
    for (let r = 0; r < k && ok; r++) {
      const c = runs[j - r];
      if (c === undefined) break; // reached the buffer's start: what is left of the remembered runs fell off
      const [hash, count] = prevRuns[k - 1 - r]!;
      const atStart = j - r === 0;
      if (c.hash !== hash) ok = false;
      // the run the last run ended in may have grown since; the oldest remembered may have been cut
      else if (r === 0 || (r === k - 1 && cutBefore)) ok = c.count >= count || atStart;
      else ok = c.count === count || (atStart && c.count < count);
    }
    if (!ok) continue;
    const last = runs[j]!;
    const seen = prevRuns[k - 1]![1];
    // a run of repeated lines cut by the buffer's start: how many of it were seen is not known (all of it may be new)
    if (j === 0 && (seen > 1 || last.count > 1)) {
      uncertain = true;
      places.add(last.start);
    } else places.add(last.start + Math.min(seen, last.count));
  }
  if (places.size === 0) return { at: -1, ambiguous: false };
  return { at: Math.min(...places), ambiguous: places.size > 1 || uncertain };
}

/** findPlace for a mark of an older version (the last lines' hashes only). */
function findPlaceByLines(hashes: string[], prev: ConsoleMark): number {
  const k = prev.last.length;
  if (k === 0) return 0;
  // the exact case: the buffer only grew since
  if (hashes.length >= prev.lines && hashes[0] === prev.first) {
    let ok = true;
    for (let j = 0; j < k && ok; j++) ok = hashes[prev.lines - 1 - j] === prev.last[k - 1 - j];
    if (ok) return prev.lines;
  }
  // it wrapped: the latest place where the remembered lines end (the buffer's first line may be cut)
  for (let i = hashes.length - 1; i >= 0; i--) {
    let matched = 0;
    while (matched < k && i - matched >= 0 && hashes[i - matched] === prev.last[k - 1 - matched]) matched++;
    const reachesStart = i - matched + 1 <= 1;
    if (matched === k || (matched >= 1 && reachesStart)) return i + 1;
  }
  return -1;
}

/** The lines of this console output not seen in the last run (all of them on the first run). */
export function consoleNews(out: Buffer, prev: ConsoleMark | undefined, command: string): ConsoleNews {
  const lines = splitLines(out);
  const hashes = lines.map(lineHash);
  let start = 0;
  let note: string | null = null;
  if (prev && prev.last.length > 0) {
    const { at: place, ambiguous } = findPlace(lines, hashes, prev);
    if (place >= 0) {
      start = place;
      if (ambiguous)
        note =
          'the hypervisor console ring buffer wrapped during a flood of repeated lines: where the last run stopped is ambiguous, ' +
          'so it is read from the earliest place that fits (no new line is lost; some repeated lines may be counted again)';
    } else if (hashes[0] !== prev.first && lines.slice(0, 60).some((l) => /Xen version \d/.test(l))) {
      note =
        'the hypervisor console starts anew (the host restarted since the last run?): console lines logged after the last run and before the restart are not in it';
    } else {
      note =
        'the hypervisor console ring buffer wrapped (or was cleared) since the last run: console lines written in between may be missing (a larger conring_size= on the Xen command line keeps more)';
    }
  }
  const fresh = lines.slice(start);
  return {
    data: Buffer.from(fresh.map((l) => `${l}\n`).join(''), 'utf8'),
    lineBase: start,
    newLines: fresh.length,
    note,
    mark: {
      command,
      lines: lines.length,
      first: hashes[0] ?? '',
      last: hashes.slice(-CONSOLE_CONTEXT),
      runs: runsOf(hashes)
        .slice(-CONSOLE_CONTEXT)
        .map((r) => [r.hash, r.count]),
      whole: wholeHash(lines),
    },
  };
}

/** An input from memory (the new console lines). */
export function bufferInput(name: string, data: Buffer, now: number, host: string | null): Input {
  return {
    name,
    kind: 'command',
    mtime: now,
    size: data.length,
    host,
    async *open() {
      if (data.length) yield data;
    },
  };
}
