/** A small pool of worker threads for the scan: each job is one byte range of one file. */
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
  worker: Worker;
  busy: boolean;
}

export class ScanPool {
  private readonly slots: Slot[] = [];
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly size: number,
    private readonly rules: Rule[],
    private readonly opts: EngineOptions,
  ) {}

  private spawn(): Slot {
    const worker = new Worker(new URL('./scan-worker.js', import.meta.url));
    worker.postMessage({ type: 'setup', rules: this.rules, opts: this.opts });
    const slot = { worker, busy: false };
    this.slots.push(slot);
    return slot;
  }

  /** A free worker, marked busy before anyone else can take it. */
  private async acquire(): Promise<Slot> {
    for (;;) {
      const free = this.slots.find((s) => !s.busy) ?? (this.slots.length < this.size ? this.spawn() : null);
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
    try {
      return await new Promise<JobResult>((resolve, reject) => {
        const onMessage = (m: { type: string; bytes?: number; result?: JobResult; message?: string }) => {
          if (m.type === 'progress') onBytes(m.bytes!);
          else {
            slot.worker.off('message', onMessage);
            slot.worker.off('error', onError);
            if (m.type === 'done') resolve(m.result!);
            else reject(new Error(m.message));
          }
        };
        const onError = (e: Error) => {
          // a crashed worker is not used again
          slot.worker.off('message', onMessage);
          this.slots.splice(this.slots.indexOf(slot), 1);
          reject(e);
        };
        slot.worker.on('message', onMessage);
        slot.worker.once('error', onError);
        slot.worker.postMessage({ type: 'job', job, ctx }, job.data ? [job.data.buffer as ArrayBuffer] : []);
      });
    } finally {
      slot.busy = false;
      this.waiting.shift()?.();
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }
}
