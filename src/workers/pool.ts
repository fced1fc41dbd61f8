/**
 * A small pool for the scan: worker threads, and the main thread as one more slot when a local
 * runner is given (on a 2-core machine one worker and the main thread use both cores, for the
 * memory of one worker). Each job is one byte range of one file, or one segment.
 */
import { Worker } from 'node:worker_threads';
import type { Rule } from '../engine/catalogue.js';
import type { EngineOptions, EngineState } from '../engine/engine.js';
import type { LineStats } from '../sources/lines.js';
import type { TimeContext } from '../parse/time.js';

/**
 * One piece of one input: a byte range [start, end) of a file (`gzip`: the whole file,
 * decompressed), or a segment of whole lines already read (`data`, transferred, not copied).
 */
export interface Job {
  path: string;
  name: string;
  host: string | null;
  start: number;
  end: number;
  gzip: boolean;
  data?: Uint8Array;
}

export interface JobResult {
  stats: LineStats;
  lastSeen: number | null;
  state: EngineState;
}

interface Slot {
  /** null: the main thread (the local runner). */
  worker: Worker | null;
  busy: boolean;
}

/**
 * The worker thread's script. In the bundle (scripts/bundle.mjs defines this name there) it is the
 * worker bundled beside it, dist/scan-worker.cjs: one CommonJS file, where the modules cost the thread
 * an ES module loader and twenty modules (9 MB more of its memory). Run from dist/'s modules, the
 * name is not defined and the worker is dist/workers/scan-worker.js.
 */
declare const XD_BUNDLED_WORKER: string | undefined;
const WORKER_SCRIPT = new URL(typeof XD_BUNDLED_WORKER === 'string' ? XD_BUNDLED_WORKER : './scan-worker.js', import.meta.url);

/** Runs a job on the main thread. */
export type LocalRunner = (job: Job, ctx: TimeContext, onBytes: (n: number) => void) => Promise<JobResult>;

export class ScanPool {
  private readonly slots: Slot[] = [];
  private readonly waiting: (() => void)[] = [];

  /** `size` worker threads, plus the main thread when `local` is given. */
  constructor(
    private readonly size: number,
    private readonly rules: Rule[],
    private readonly opts: EngineOptions,
    private readonly local: LocalRunner | null = null,
  ) {
    if (local) this.slots.push({ worker: null, busy: false });
  }

  /** Worker threads and the main thread's slot. */
  private get capacity(): number {
    return this.size + (this.local ? 1 : 0);
  }

  private spawn(): Slot {
    const worker = new Worker(WORKER_SCRIPT, { resourceLimits: { maxYoungGenerationSizeMb: 4 } });
    if (process.env.XENDOCTOR_STARTUP === 'trace') {
      process.stderr.write(`xendoctor: start-up: worker thread: dist/${WORKER_SCRIPT.pathname.split('/dist/').pop()}\n`);
    }
    worker.postMessage({ type: 'setup', rules: this.rules, opts: this.opts });
    const slot = { worker, busy: false };
    this.slots.push(slot);
    return slot;
  }

  /**
   * A free slot, marked busy before anyone else can take it: a worker thread first (a new one while
   * there is room), the main thread only when every worker is busy. The main thread finishes a
   * segment it is given before it reads the next one, so taking it first would leave the workers idle.
   */
  private async acquire(): Promise<Slot> {
    for (;;) {
      const free =
        this.slots.find((s) => !s.busy && s.worker !== null) ??
        (this.slots.length < this.capacity ? this.spawn() : null) ??
        this.slots.find((s) => !s.busy);
      if (free) {
        free.busy = true;
        return free;
      }
      await new Promise<void>((res) => this.waiting.push(res));
    }
  }

  /** Run a job on a free worker; `onBytes` hears of progress. */
  async run(job: Job, ctx: TimeContext, onBytes: (n: number) => void): Promise<JobResult> {
    const slot = await this.acquire();
    const worker = slot.worker;
    // XENDOCTOR_TRACE_JOBS=1: say where each job runs (the tests check that workers are used)
    if (process.env.XENDOCTOR_TRACE_JOBS === '1')
      process.stderr.write(
        `xendoctor: job ${job.data ? 'segment' : `bytes ${job.start}-${job.end}`} on ${worker ? 'a worker thread' : 'the main thread'}\n`,
      );
    try {
      if (worker === null) return await this.local!(job, ctx, onBytes);
      return await new Promise<JobResult>((resolve, reject) => {
        const onMessage = (m: { type: string; bytes?: number; result?: JobResult; message?: string }) => {
          if (m.type === 'progress') onBytes(m.bytes!);
          else {
            worker.off('message', onMessage);
            worker.off('error', onError);
            if (m.type === 'done') resolve(m.result!);
            else reject(new Error(m.message));
          }
        };
        const onError = (e: Error) => {
          // a crashed worker is not used again
          worker.off('message', onMessage);
          this.slots.splice(this.slots.indexOf(slot), 1);
          reject(e);
        };
        worker.on('message', onMessage);
        worker.once('error', onError);
        worker.postMessage({ type: 'job', job, ctx }, job.data ? [job.data.buffer as ArrayBuffer] : []);
      });
    } finally {
      slot.busy = false;
      this.waiting.shift()?.();
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.worker?.terminate()));
  }
}
