/** Worker thread: analyses one byte range of one file (or one segment) with its own engine and returns the engine's state. */
import { parentPort } from 'node:worker_threads';
import type { EngineOptions } from '../engine/engine.js';
import { boundRule, type Rule } from '../engine/catalogue.js';
import { runJob } from '../pipeline/scan-inputs.js';
import type { TimeContext } from '../parse/time.js';
import type { Job } from './pool.js';

let rules: Rule[] = [];
let engineOpts: EngineOptions = {};

parentPort!.on(
  'message',
  async (msg: { type: 'setup'; rules: Rule[]; opts: EngineOptions } | { type: 'job'; job: Job; ctx: TimeContext }) => {
    if (msg.type === 'setup') {
      rules = msg.rules;
      // a RegExp crosses to the thread as a plain one: a site rule's time budget is set again here
      for (const r of rules) if (r.boundedMatch) boundRule(r);
      engineOpts = msg.opts;
      return;
    }
    try {
      const result = await runJob(msg.job, msg.ctx, rules, engineOpts, (bytes) => parentPort!.postMessage({ type: 'progress', bytes }));
      parentPort!.postMessage({ type: 'done', result });
    } catch (e) {
      parentPort!.postMessage({ type: 'error', message: (e as Error).message });
    }
  },
);
