/**
 * The timeline's clock for `scan`: a first pass over small inputs (`ClockSurvey`, as the timeline
 * runs it) so that kernel uptime stamps with no date of their own (`dmesg` piped in, a capture that
 * holds dmesg beside syslog lines of the same boot, a serial console log) are dated the way the
 * timeline dates them, and `--since`/`--until` keep or drop them by that date. A live host's own
 * `dmesg` piped in is dated from the host's boot time when nothing else dates it and it is plausibly
 * the running boot (see `ResolvedClock.anchorHostBoot`).
 *
 * Bounded: the survey reads at most `SURVEY_MAX` bytes over all inputs (streams are held in memory
 * up to that, to be read again); larger runs are scanned as before, without it.
 */
import { readFileSync } from 'node:fs';
import { fstatSync } from 'node:fs';
import type { Input } from '../sources/inputs.js';
import { scanLines } from '../sources/lines.js';
import { parseLine } from '../parse/line.js';
import { toIso, type TimeContext } from '../parse/time.js';
import { ClockSurvey, type ResolvedClock } from './clock.js';

function envSize(name: string, dflt: number): number {
  const v = process.env[name];
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : dflt;
}

/** Bytes read by the survey at most, over all inputs. */
export const SURVEY_MAX = envSize('XENDOCTOR_SURVEY_MAX', 64 * 1024 * 1024);

/** What the survey found. */
export interface ScanClock {
  /** The inputs to scan: streams replaced by what was read of them. */
  inputs: Input[];
  /** The clock, or null when the inputs were too large to survey. */
  clock: ResolvedClock | null;
  /** Per input: a note on how its undated lines are dated (only inputs the clock dates). */
  notes: (string | null)[];
}

/** The boot of the host xendoctor runs on: /proc/stat btime, /proc/uptime and the kernel release; null elsewhere. */
export function hostBoot(): { start: number; uptime: number; release: string | null } | null {
  try {
    const btime = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'));
    const uptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    if (!btime || !Number.isFinite(uptime)) return null;
    let release: string | null = null;
    try {
      release = /^Linux version (\S+)/.exec(readFileSync('/proc/version', 'utf8'))?.[1] ?? null;
    } catch {
      /* no release: the banner test is left out */
    }
    return { start: Number(btime[1]) * 1000, uptime, release };
  } catch {
    return null;
  }
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
 * Survey the inputs' clocks when all of them together are small enough; streams are read here and
 * handed back as inputs that replay what was read.
 */
export async function surveyClock(inputs: Input[], ctxOf: (i: Input) => TimeContext): Promise<ScanClock> {
  const none = (list: Input[]): ScanClock => ({ inputs: list, clock: null, notes: list.map(() => null) });
  let budget = SURVEY_MAX;
  for (const i of inputs) if (i.kind === 'file') budget -= i.size ?? 0;
  if (budget < 0) return none(inputs);
  // streams: held in memory up to what is left of the budget
  const held: Input[] = [];
  let fits = true;
  for (const input of inputs) {
    if (input.kind === 'file' || !fits) {
      held.push(input);
      continue;
    }
    const h = await hold(input.open(), budget);
    if (h.all) budget -= h.all.length;
    else fits = false;
    held.push({ ...input, size: h.all?.length ?? input.size, open: h.input });
  }
  if (!fits) return none(held);

  const survey = new ClockSurvey();
  let read = 0;
  for (const input of held) {
    const ctx = ctxOf(input);
    const observe = survey.begin(input.name, input.host);
    const sink = { wantsAll: () => true, line: (text: string, lineNo: number) => observe(parseLine(text, ctx), text, lineNo) };
    const counted = (async function* () {
      for await (const c of input.open()) {
        read += c.length;
        if (read > SURVEY_MAX) throw new Error('survey budget');
        yield c;
      }
    })();
    const stats = await scanLines(counted, null, sink, true);
    if (read > SURVEY_MAX) return none(held); // a gzip file inflated past the budget
    void stats; // read errors are reported by the scan itself
  }
  const clock = survey.resolve();
  const notes: (string | null)[] = held.map((_, i) =>
    clock.dates(i) ? 'uptime stamps dated from the boot time that dated lines of the same boot give' : null,
  );
  // a live host's own dmesg piped in
  const stdin = held.findIndex((i) => i.kind === 'stdin');
  if (stdin >= 0 && !clock.dates(stdin) && stdinIsPipe()) {
    const host = hostBoot();
    if (host) {
      const boot = clock.anchorHostBoot(stdin, host.start, host.uptime, host.release);
      if (boot && clock.dates(stdin))
        notes[stdin] =
          `times derived from this host's boot time (${toIso(host.start)}, /proc/stat btime): the piped kernel lines look like this boot's ` +
          `(latest uptime stamp ${boot.lastUp.toFixed(0)} s, this host's uptime ${host.uptime.toFixed(0)} s)`;
    }
  }
  return { inputs: held, clock, notes };
}
