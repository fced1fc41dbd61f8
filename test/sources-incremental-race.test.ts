/**
 * `report`'s incremental reader (src/sources/incremental.ts) against logrotate interleaved with its own
 * system calls. A daemon appends numbered lines through the descriptor it holds; logrotate rotates
 * (rename and create, the daemon reopening a little later, or copytruncate), with compress or
 * delaycompress or neither, one step at a time (each rename, the creation, each chunk of a copy or of a
 * compressed file, the truncation, the removal of what was compressed). Steps fall between two runs
 * (any number of rotations) and between two of a run's opens, reads, stats and folder listings (at most
 * one rotation completing within one run: a cron run takes a moment). A run is what `xendoctor report`
 * does with a tracked file: plan, read each segment, read again (up to three times) while the plan is
 * not consistent, then commit the marks, or nothing when it never was. Afterwards every line found in
 * the log or a rotated file must have been read exactly once over all runs (lines written between
 * logrotate's copy and its truncation are in no file: at most once). Seeded from fast-check's seed.
 */
import {
  appendFileSync,
  closeSync,
  copyFileSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { hooks, resetHooks } from './follow-tail-fs.js';
import { L, numbers } from './follow-tail-harness.js';
import { rng, tmp } from './helpers.js';
import { planFile } from '../src/sources/incremental.js';
import type { TrackedFile } from '../src/state/state.js';

vi.mock('node:fs', async (original) => (await import('./follow-tail-fs.js')).wrapFs(await original()));

// planFile waits 100-900 ms before planning again while a rotation is visibly in progress: on a clock
// of the test's own (the world stands still meanwhile, as it would not: the next plan sees it as it is)
beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] }));
afterEach(() => {
  resetHooks();
  vi.useRealTimers();
});

/** A promise that may wait on the fake clock, with the clock moved on until it settles. */
async function settled<T>(p: Promise<T>): Promise<T> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  while (!done) {
    await vi.advanceTimersByTimeAsync(100);
    await new Promise((r) => setImmediate(r));
  }
  return p;
}

type Mode = 'create' | 'copytruncate';
type Compression = 'none' | 'compress' | 'delaycompress';

/** The rotated files of the log, newest first: [number, compressed]. */
function generations(dir: string): [number, boolean][] {
  return readdirSync(dir)
    .map((n) => /^app\.log\.(\d+)(\.gz)?$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m): [number, boolean] => [Number(m[1]), m[2] !== undefined])
    .sort((a, b) => a[0] - b[0]);
}

/** Everything the log and its rotated files hold now (compressed ones inflated). */
function onDisk(dir: string): number[] {
  const out: number[] = [];
  for (const n of readdirSync(dir).filter((x) => x.startsWith('app.log'))) {
    const raw = readFileSync(join(dir, n));
    out.push(...numbers((n.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8')));
  }
  return out;
}

/**
 * The world: a daemon writing through its descriptor, and logrotate (rotate 50: nothing deleted) whose
 * rotations go one step per call of `step`.
 */
class World {
  readonly dir = tmp('xd-incr-race-');
  readonly log = join(this.dir, 'app.log');
  written = 0;
  rotations = 0;
  private fd: number;
  private rotation: Generator<string> | null = null;

  constructor(
    private readonly rnd: (n: number) => number,
    private readonly mode: Mode,
    private readonly compression: Compression,
    private readonly trace: string[],
  ) {
    this.fd = openSync(this.log, 'a');
  }

  get rotating(): boolean {
    return this.rotation !== null;
  }

  write(): void {
    const k = 1 + this.rnd(4);
    let s = '';
    for (let i = 1; i <= k; i++) s += `line ${this.written + i}\n`;
    writeSync(this.fd, s);
    this.trace.push(`write ${this.written + 1}-${this.written + k}`);
    this.written += k;
  }

  startRotation(): void {
    this.rotation = this.steps();
  }

  /** One step of the rotation under way; true when it completed. */
  rotationStep(): boolean {
    const r = this.rotation!.next();
    this.trace.push(`rotation ${this.rotations + 1}: ${r.value ?? 'done'}`);
    if (!r.done) return false;
    this.rotation = null;
    this.rotations++;
    return true;
  }

  private *steps(): Generator<string> {
    const log = this.log;
    for (const [k, gz] of generations(this.dir).reverse()) {
      const ext = gz ? '.gz' : '';
      renameSync(`${log}.${k}${ext}`, `${log}.${k + 1}${ext}`);
      yield `renamed .${k}${ext}`;
    }
    if (this.mode === 'create') {
      renameSync(log, `${log}.1`);
      yield 'renamed the log to .1';
      closeSync(openSync(log, 'wx'));
      yield 'created the log';
      // postrotate: the daemon reopens its log (until then it writes to .1)
      closeSync(this.fd);
      this.fd = openSync(log, 'a');
      yield 'the daemon reopened the log';
    } else {
      const src = openSync(log, 'r');
      const dst = openSync(`${log}.1`, 'wx');
      yield 'created .1';
      const buf = Buffer.alloc(4096);
      let at = 0;
      for (;;) {
        const n = readSync(src, buf, 0, 1 + this.rnd(300), at);
        if (n === 0) break;
        writeSync(dst, buf, 0, n);
        at += n;
        yield `copied ${numbers(buf.toString('utf8', 0, n)).join(',')} to ${at}`;
      }
      closeSync(dst);
      closeSync(src);
      truncateSync(log, 0);
      yield 'truncated the log';
    }
    // compress .1 now, or (delaycompress) the generation before it, now .2
    const k = this.compression === 'compress' ? 1 : this.compression === 'delaycompress' ? 2 : 0;
    if (k === 0 || !generations(this.dir).some(([n, gz]) => n === k && !gz)) return;
    const packed = gzipSync(readFileSync(`${log}.${k}`));
    const out = openSync(`${log}.${k}.gz`, 'wx');
    yield `creating .${k}.gz`;
    for (let at = 0; at < packed.length;) {
      const n = Math.min(packed.length - at, 1 + this.rnd(packed.length));
      writeSync(out, packed, at, n);
      at += n;
      yield `wrote .${k}.gz to ${at} of ${packed.length}`;
    }
    closeSync(out);
    unlinkSync(`${log}.${k}`);
    yield `removed .${k}`;
  }

  close(): void {
    closeSync(this.fd);
  }
}

/**
 * One run of `report` over the log, as src/cron/run.ts does it: plan, read every segment with work
 * (a read error is a note on that input, as in scanInputs), again while the plan is not consistent
 * (three times at most), then the new marks; nothing is committed when it never was consistent.
 */
async function report(
  log: string,
  prev: TrackedFile | undefined,
  trace: string[],
): Promise<{ next: TrackedFile | undefined; read: number[]; notes: string[] }> {
  for (let attempt = 1; ; attempt++) {
    const plan = await settled(planFile(log, prev));
    const short = (p: string) => p.split('/').pop();
    trace.push(
      `plan: ${plan.segments.map((s) => `${short(s.name)} from ${s.start}${s.toEof ? ' to its end' : ''}`).join(', ')}; ${plan.events.join('; ')}`,
    );
    const read: number[] = [];
    const notes = [...plan.notes];
    // (which segments have work is decided as the plan is made, as readNew does)
    for (const seg of plan.segments.filter((x) => x.hasWork)) {
      const parts: Buffer[] = [];
      try {
        for await (const c of seg.open()) parts.push(Buffer.from(c));
      } catch (e) {
        notes.push(`${seg.name}: ${(e as Error).message}`);
      }
      const got = numbers(Buffer.concat(parts).toString('utf8'));
      trace.push(`  ${seg.name.split('/').pop()} from ${seg.start} (${seg.size} when planned): ${got.join(',')}`);
      read.push(...got);
    }
    const consistent = plan.consistent();
    trace.push(`read ${read.join(',')}${consistent ? '' : ' (not consistent)'}`);
    if (!consistent && attempt < 3) {
      plan.close();
      continue;
    }
    const next = consistent ? (plan.commit() ?? prev) : prev;
    plan.close();
    return { next, read: consistent ? read : [], notes };
  }
}

/**
 * Six rotations; between two runs up to 20 steps of the world (a write, or a step of a rotation, a new
 * one started one time in four); inside a run, before each of its calls one time in `inside`, up to
 * eight steps (at most one rotation completing). Then the rotation under way finishes and two runs
 * read what is left.
 */
async function scenario(seed: number, mode: Mode, compression: Compression, inside: number) {
  const rnd = rng(seed);
  const trace: string[] = [];
  const world = new World(rnd, mode, compression, trace);
  let inRun = false;
  let completedInRun = 0;
  let busy = false;
  const step = () => {
    busy = true; // the world's own calls go through the hooks too
    try {
      if (!world.rotating && !(inRun && completedInRun > 0) && world.rotations < 6 && rnd(4) === 0) world.startRotation();
      if (world.rotating && rnd(2) === 0) {
        if (world.rotationStep() && inRun) completedInRun++;
      } else world.write();
    } finally {
      busy = false;
    }
  };
  const meanwhile = (call: string) => (x?: unknown) => {
    if (!inRun || busy || rnd(inside) !== 0) return;
    trace.push(`  during ${call}(${typeof x === 'string' ? x.split('/').pop() : String(x ?? '')}):`);
    for (let i = rnd(8); i >= 0; i--) step();
  };
  hooks.open = meanwhile('open');
  hooks.read = meanwhile('read');
  hooks.stat = meanwhile('stat');
  hooks.fstat = meanwhile('fstat');
  hooks.everyReaddir = meanwhile('readdir');
  let prev: TrackedFile | undefined;
  const read: number[] = [];
  const notes: string[] = [];
  const run = async () => {
    trace.push('run');
    inRun = true;
    completedInRun = 0;
    const r = await report(world.log, prev, trace);
    inRun = false;
    prev = r.next;
    const m = prev?.current;
    trace.push(
      `mark: offset ${m?.offset} lines ${m?.lines} ino ${m?.ino}${prev?.rotated ? `; rotated ${prev.rotated.path.split('/').pop()} at ${prev.rotated.offset}` : ''}`,
    );
    read.push(...r.read);
    notes.push(...r.notes);
    trace.push(`run read ${r.read.join(',')}${r.notes.length ? `; notes: ${r.notes.join('; ')}` : ''}`);
  };
  while (world.rotations < 6) {
    for (let i = rnd(20); i >= 0; i--) step();
    await run();
  }
  resetHooks();
  while (world.rotating) world.rotationStep();
  await run();
  await run();
  world.close();
  const disk = onDisk(world.dir);
  const twice = read.filter((n, i) => read.indexOf(n) !== i);
  const missed = disk.filter((n) => !read.includes(n));
  const beyond = read.filter((n) => n < 1 || n > world.written);
  return { twice, missed, beyond, story: twice.length + missed.length + beyond.length ? trace.join('\n') : '' };
}

describe("logrotate interleaved with report's incremental reader", () => {
  /** A log in a fresh folder with lines a..b, and a reader that keeps its marks as `report` does. */
  const reader = (a: number, b: number) => {
    const dir = tmp('xd-incr-race-');
    const log = join(dir, 'app.log');
    writeFileSync(log, L(a, b));
    let prev: TrackedFile | undefined;
    return {
      log,
      run: async () => {
        const r = await report(log, prev, []);
        prev = r.next;
        return r.read;
      },
    };
  };

  /** logrotate's copytruncate, all at once: the copies renamed up, the log copied to .1 and truncated. */
  const copytruncate = (log: string) => {
    for (const [k] of generations(dirname(log)).reverse()) renameSync(`${log}.${k}`, `${log}.${k + 1}`);
    copyFileSync(log, `${log}.1`);
    truncateSync(log, 0);
  };

  it('does not read a copy copytruncate is making as a rotated file: the live file still holds it', async () => {
    const { log, run } = reader(1, 3);
    expect(await run()).toEqual([1, 2, 3]);
    copytruncate(log);
    expect(await run()).toEqual([]); // the log is empty now
    appendFileSync(log, L(4, 6));
    renameSync(`${log}.1`, `${log}.2`);
    writeFileSync(`${log}.1`, readFileSync(log).subarray(0, L(4, 5).length)); // the next copy, so far
    expect(await run()).toEqual([4, 5, 6]);
    appendFileSync(log, L(7, 7));
    copyFileSync(log, `${log}.1`); // the copy done, then the truncation
    truncateSync(log, 0);
    appendFileSync(log, L(8, 8));
    expect(await run()).toEqual([7, 8]);
    expect(await run()).toEqual([]);
  });

  it('does not read again, from its start, a copy that was empty (just created) when it was read', async () => {
    const { log, run } = reader(1, 3);
    expect(await run()).toEqual([1, 2, 3]);
    copytruncate(log);
    appendFileSync(log, L(4, 5));
    renameSync(`${log}.1`, `${log}.2`);
    writeFileSync(`${log}.1`, ''); // the next copytruncate has created its copy
    expect(await run()).toEqual([4, 5]);
    appendFileSync(log, L(6, 6));
    copyFileSync(log, `${log}.1`);
    truncateSync(log, 0);
    appendFileSync(log, L(7, 7));
    expect(await run()).toEqual([6, 7]);
  });

  it('reads what the daemon wrote to its log renamed away while a run found no live file', async () => {
    const { log, run } = reader(1, 0);
    renameSync(log, `${log}.1`); // rename and create: not created yet
    expect(await run()).toEqual([]);
    appendFileSync(`${log}.1`, L(1, 2)); // the daemon still writes to the renamed file
    writeFileSync(log, '');
    renameSync(`${log}.1`, `${log}.2`); // and the next rotation comes before the next run
    renameSync(log, `${log}.1`);
    writeFileSync(log, L(3, 3));
    expect(await run()).toEqual([1, 2, 3]);
  });

  // XD_RACE_RUNS=1000 for a longer search
  it.each([
    ['create', 'none'],
    ['create', 'compress'],
    ['create', 'delaycompress'],
    ['copytruncate', 'none'],
    ['copytruncate', 'compress'],
    ['copytruncate', 'delaycompress'],
  ] as [Mode, Compression][])('reads every line on disk exactly once: %s, %s', async (mode, compression) => {
    await fc.assert(
      fc.asyncProperty(fc.integer(), async (seed) => {
        const { twice, missed, beyond, story } = await scenario(seed, mode, compression, 10);
        expect({ twice, missed, beyond }, story).toEqual({ twice: [], missed: [], beyond: [] });
      }),
      { numRuns: Number(process.env.XD_RACE_RUNS ?? 100) },
    );
  });
});
