/**
 * Runs of src/sources/incremental.ts chained through the state each leaves, over one log that a test writes
 * and rotates the ways logrotate does: shared by test/sources-incremental-units.test.ts and
 * test/sources-incremental-edges.test.ts (each mocks node:fs its own way; these helpers go through it).
 */
import { appendFileSync, copyFileSync, readdirSync, readFileSync, renameSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { expect } from 'vitest';
import { planFile } from '../src/sources/incremental.js';
import type { TrackedFile } from '../src/state/state.js';
import { tmp } from './helpers.js';

export const lines = (from: number, to: number) => {
  let s = '';
  for (let i = from; i <= to; i++) s += `Nov 26 04:00:01 xen07 kernel: line ${i}\n`;
  return s;
};
/** The line numbers in a text read. */
export const nums = (text: string) => [...text.matchAll(/line (\d+)\n/g)].map((m) => Number(m[1]));
export const each = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
export const fds = () => readdirSync('/proc/self/fd').length;

export interface Run {
  text: string;
  notes: string[];
  events: string[];
  state: TrackedFile | undefined;
  consistent: boolean;
  /** Each segment: file name, first line number, lines after, whether read to its end. */
  segs: [string, number, number, boolean][];
  live: boolean;
}

/** One `report` run over `path`: plan against the state, read every segment, commit. */
export async function run(path: string, prev: TrackedFile | undefined): Promise<Run> {
  const plan = await planFile(path, prev);
  let text = '';
  try {
    for (const s of plan.segments) for await (const c of s.open()) text += c.toString('latin1');
    const state = plan.commit();
    return {
      text,
      notes: plan.notes,
      events: plan.events,
      // as the state file keeps it
      state: state === undefined ? undefined : (JSON.parse(JSON.stringify(state)) as TrackedFile),
      consistent: plan.consistent(),
      segs: plan.segments.map((s) => [s.name.slice(s.name.lastIndexOf('/') + 1), s.lineBase, s.lines, s.toEof]),
      live: plan.live,
    };
  } finally {
    plan.close();
  }
}

/** A set of runs over one log: `next()` runs once more and returns what it read. */
export function tracker(name = 'kern.log') {
  const dir = tmp('xd-incr-');
  const log = join(dir, name);
  const t = {
    dir,
    log,
    state: undefined as TrackedFile | undefined,
    last: null as Run | null,
    async next(): Promise<number[]> {
      const r = await run(log, t.state);
      t.last = r;
      expect(r.consistent).toBe(true);
      t.state = r.state ?? t.state;
      return nums(r.text);
    },
    write: (text: string) => appendFileSync(log, text),
    at: (n: string | number) => `${log}${typeof n === 'number' ? `.${n}` : n}`,
    /** logrotate's rename and create: name.N → name.N+1 for the numbered ones there are, name → name.1. */
    rotate(compress = false, delay = true) {
      const ns = readdirSync(dir)
        .map((n) => /\.(\d+)(\.gz)?$/.exec(n))
        .filter((m) => m)
        .map((m) => [Number(m![1]), m![2] ?? ''] as const)
        .sort((a, b) => b[0] - a[0]);
      for (const [n, gz] of ns) renameSync(t.at(`.${n}${gz}`), t.at(`.${n + 1}${gz}`));
      renameSync(log, t.at(1));
      writeFileSync(log, '');
      if (compress) {
        const which = delay ? 2 : 1;
        if (readdirSync(dir).includes(`${name}.${which}`)) {
          // gzip keeps the file's modification time, to the nanosecond: touch -r (utimes through a Date
          // can land up to 1 ms later, after a file written since in the same clock tick)
          writeFileSync(t.at(`.${which}.gz`), gzipSync(readFileSync(t.at(which))));
          execFileSync('touch', ['-r', t.at(which), t.at(`.${which}.gz`)]);
          unlinkSync(t.at(which));
        }
      }
    },
    copytruncate() {
      copyFileSync(log, t.at(1));
      truncateSync(log, 0);
    },
  };
  return t;
}
