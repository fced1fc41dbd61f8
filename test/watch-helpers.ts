/** Helpers for the `watch` tests: run the real binary in the background and read what it prints as it prints it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { BIN, ROOT } from './helpers.js';

/**
 * Every `watch` started here and not yet exited: a test that fails before its stop() would leave the
 * process running for good (16 were found after one session's runs), so the file's end kills them.
 */
const running = new Set<ChildProcess>();
const killRunning = () => {
  for (const c of running) c.kill('SIGKILL');
};
afterAll(killRunning);
process.once('exit', killRunning);

/** The test rules: watch-probe (`XDPROBE <n>`, one finding per n) and watch-burst (threshold 3 per name within 1m). */
export const WATCH_RULES = join(ROOT, 'test', 'fixtures', 'watch', 'rules');

export interface Watching {
  child: ChildProcess;
  out: string[];
  err: string[];
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
  /** Wait until `pred` holds over the output so far; rejects after `ms`. */
  until(pred: () => boolean, ms?: number, what?: string): Promise<void>;
  /** NDJSON records printed so far. */
  records(): Record<string, unknown>[];
  stop(): Promise<number | string>;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Start `xendoctor watch ARGS` and wait for its "watching" line. */
export async function startWatch(args: string[], env: Record<string, string> = {}): Promise<Watching> {
  const child = spawn(process.execPath, [BIN, 'watch', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TZ: 'UTC', NO_COLOR: '1', ...env },
  });
  const out: string[] = [];
  const err: string[] = [];
  const lines = (into: string[]) => {
    let carry = '';
    return (d: Buffer) => {
      const parts = (carry + d.toString('utf8')).split('\n');
      carry = parts.pop()!;
      into.push(...parts);
    };
  };
  child.stdout!.on('data', lines(out));
  child.stderr!.on('data', lines(err));
  running.add(child);
  const exited = new Promise<number | string>((res) =>
    child.on('exit', (code, sig) => {
      running.delete(child);
      res(code ?? sig ?? -1);
    }),
  );
  let done = false;
  void exited.then(() => (done = true));
  // at least 60 s whatever a test asks for: on a loaded 2-core machine (CI, or load 25 here) starting
  // node and reading the rules alone took over 10 s, and over 30 s for a niced test beside two busy
  // loops at load 27; only a test that fails waits that long
  const until = async (pred: () => boolean, ms = 60_000, what = 'condition') => {
    const end = Date.now() + Math.max(ms, 60_000);
    while (!pred()) {
      if (Date.now() > end)
        throw new Error(
          `timed out waiting for ${what}\nstdout (${out.length} lines, the last 3):\n${out.slice(-3).join('\n')}\nstderr:\n${err.join('\n')}`,
        );
      if (done && !pred()) throw new Error(`watch exited while waiting for ${what}\nstderr:\n${err.join('\n')}`);
      await sleep(20);
    }
  };
  const w: Watching = {
    child,
    out,
    err,
    exited,
    until,
    records: () => out.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>),
    stop: async () => {
      if (!done) child.kill('SIGTERM');
      return exited;
    },
  };
  await until(() => err.some((l) => l.includes('watching ')), 120_000, 'the "watching" line');
  return w;
}

/** Probe numbers of the watch-probe findings announced as new. */
export function newProbes(w: Watching): number[] {
  return w
    .records()
    .filter((r) => r.event === 'new' && r.rule === 'watch-probe')
    .map((r) => Number((r.key as Record<string, string>).n));
}

/** Write an executable shell script. */
export function script(path: string, body: string): string {
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}
