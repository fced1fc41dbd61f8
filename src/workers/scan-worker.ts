/** Worker thread: analyses one byte range of one file with its own engine and returns the engine's state. */
import { createReadStream } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { Engine, type EngineOptions } from '../engine/engine.js';
import type { Rule } from '../engine/catalogue.js';
import { maybeGunzip } from '../sources/inputs.js';
import { analyseStream } from '../scan.js';
import type { TimeContext } from '../parse/time.js';
import type { Job, JobResult } from './pool.js';

const PROGRESS_EVERY = 16 * 1024 * 1024;

async function* counted(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let since = 0;
  for await (const c of chunks) {
    since += c.length;
    if (since >= PROGRESS_EVERY) {
      parentPort!.postMessage({ type: 'progress', bytes: since });
      since = 0;
    }
    yield c;
  }
  if (since > 0) parentPort!.postMessage({ type: 'progress', bytes: since });
}

let rules: Rule[] = [];
let engineOpts: EngineOptions = {};

parentPort!.on(
  'message',
  async (msg: { type: 'setup'; rules: Rule[]; opts: EngineOptions } | { type: 'job'; job: Job; ctx: TimeContext }) => {
    if (msg.type === 'setup') {
      rules = msg.rules;
      engineOpts = msg.opts;
      return;
    }
    const { job, ctx } = msg;
    try {
      const engine = new Engine(rules, engineOpts);
      let chunks: AsyncIterable<Buffer>;
      if (job.data) {
        const data = Buffer.from(job.data.buffer, job.data.byteOffset, Math.min(job.data.byteLength, job.end));
        chunks = (async function* () {
          yield data;
        })();
      } else {
        const raw = createReadStream(job.path, { start: job.start, end: job.end - 1, highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>;
        chunks = counted(job.gzip ? maybeGunzip(raw) : raw);
      }
      const { stats, lastSeen } = await analyseStream(engine, chunks, ctx, job.name, job.host);
      const result: JobResult = { stats, lastSeen, state: engine.exportState() };
      parentPort!.postMessage({ type: 'done', result });
    } catch (e) {
      parentPort!.postMessage({ type: 'error', message: (e as Error).message });
    }
  },
);
