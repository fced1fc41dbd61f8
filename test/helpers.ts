/** Test helpers: run the real CLI binary and capture stdout, stderr and the exit code. */
import { spawn, spawnSync, type ChildProcess, type SpawnOptions, type SpawnSyncOptions } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { pathToFileURL } from 'node:url';
import { runInNewContext } from 'node:vm';
import { otherReadings } from '../src/parse/fallback.js';
import type { LogEvent } from '../src/types.js';
import { validateOutput } from './output-schemas.js';
import { madeTmp } from './setup/tmp-dirs.js';

export const ROOT = resolve(__dirname, '..');
export const BIN = join(ROOT, 'bin', 'xendoctor.js');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Run xendoctor with args; `input` is piped to stdin (otherwise stdin is /dev/null-like "ignore").
 * A JSON or NDJSON document it prints is validated against its schema (throws when it does not follow it).
 */
export function xd(args: string[], input?: string | Buffer, opts: SpawnSyncOptions = {}): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    input,
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, TZ: 'UTC', NO_COLOR: '1' },
    ...opts,
  });
  const run = { code: r.status ?? -1, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
  // every document printed in a test follows its JSON Schema (schemas/, docs/report-format.md)
  if (run.code >= 0 && run.code <= 2) validateOutput(args, run.stdout);
  return run;
}

/**
 * xd() without blocking the worker's event loop while the binary runs (vitest fails a run whose
 * worker's loop stands for 60 s: test/setup/stall.ts): spawned, not spawnSync'd, with xd()'s
 * environment and options (`timeout` kills it as spawnSync would; `input`, `maxBuffer` and `encoding`
 * do not apply). With test files two at a time on a loaded machine one such run took 30-40 s.
 */
export async function xdt(args: string[], input?: string | Buffer, opts: SpawnSyncOptions = {}): Promise<Run> {
  const { input: _input, maxBuffer: _max, encoding: _enc, stdio: _stdio, ...rest } = opts;
  const r = await spawnAsync(process.execPath, [BIN, ...args], { env: { ...process.env, TZ: 'UTC', NO_COLOR: '1' }, ...rest }, input);
  const run = { code: r.code ?? -1, stdout: r.stdout, stderr: r.stderr };
  if (run.code >= 0 && run.code <= 2) validateOutput(args, run.stdout);
  return run;
}

/** Parsed JSON report of a run. */
export function json(r: Run): {
  findings: {
    rule: string;
    key: Record<string, string>;
    count: number;
    fix: string[];
    host: string | null;
    causedBy: string[];
    id: string;
    severity: string;
  }[];
  inputs: { source: string; errors: string[]; lines: number }[];
  summary: Record<string, number>;
} {
  return JSON.parse(r.stdout);
}

/**
 * Let the test worker's event loop turn (await between the steps of a long test). A worker that runs
 * synchronously for more than vitest's fixed 60 s (one test calling the binary through spawnSync, or
 * in-process scans resolved by promises alone, case after case) misses the answer to its last report
 * to vitest, and vitest ends the run with "Timeout calling onTaskUpdate" (exit 1) though every test
 * passed: seen on a loaded 2-core machine, where such a test takes 60-130 s.
 */
export const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export interface AsyncRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * Run a program without blocking this worker's event loop (test/setup/stall.ts): `input` is written to
 * its stdin (else it has none), `started` gets the child (to signal it). Its output is decoded once it
 * has ended, so a character split between two reads stays whole.
 */
export function spawnAsync(
  cmd: string,
  args: string[],
  opts: SpawnOptions = {},
  input?: string | Buffer,
  started?: (c: ChildProcess) => void,
): Promise<AsyncRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...opts, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    if (input !== undefined) {
      child.stdin!.on('error', () => {}); // a run that stops reading early (EPIPE) tells by its exit
      child.stdin!.end(input);
    }
    started?.(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code, signal) =>
      resolve({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }),
    );
  });
}

/** The message a promise is rejected with (it must be rejected). */
export const failure = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('did not fail');
};

/** A fresh folder in the temporary directory, removed after the test file unless a test failed (test/setup/tmp.ts). */
export function tmp(prefix = 'xd-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  madeTmp.push(dir);
  return dir;
}

/**
 * A real program a test drives (logrotate, rsyslogd, chromium...): its path, or null when it is not
 * installed. Missing in CI (CI=true) it throws, so that the test file fails instead of skipping:
 * .ci/run installs every one (DEB_PACKAGES). Missing locally it warns that the tests are skipped.
 */
export function component(name: string, candidates: string[], debPackage: string): string | null {
  const found = candidates.find((p) => {
    try {
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
  if (found) return found;
  const what = `${name} not found (${candidates.join(', ')}): install the Debian package ${debPackage} (.ci/run installs it)`;
  if (process.env.CI === 'true' || process.env.CI === '1') throw new Error(`${what}; CI must not skip its tests`);
  console.warn(`SKIPPED: ${what}`);
  return null;
}

/** A full garbage collection on demand (without starting node with --expose-gc). */
export function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/**
 * Run xendoctor like xd(), and measure its memory (test/setup/maxrss.mjs): `liveMb`, the peak of
 * what it keeps alive (V8 heap plus Buffers and other memory outside it, which
 * --max-old-space-size does not bound; sampled after a collection every 50 ms; the main thread's
 * isolate, so run with XENDOCTOR_WORKERS=0 to measure the reader), and `rssMb`, its peak resident size.
 */
export function xdMemory(
  args: string[],
  input: string | Buffer | undefined,
  env: NodeJS.ProcessEnv,
): Run & { liveMb: number; rssMb: number } {
  const m = memoryProbe(env);
  return m.read(xd(args, input, { env: m.env }));
}

/**
 * The environment that preloads test/setup/maxrss.mjs, and the reading of what it wrote: for a run
 * through report-helpers' xdAsync (which does not block the worker's event loop) as well as xd().
 */
export function memoryProbe(env: NodeJS.ProcessEnv): {
  env: NodeJS.ProcessEnv;
  read: <R extends object>(r: R) => R & { liveMb: number; rssMb: number };
} {
  const out = join(mkdtempSync(join(tmpdir(), 'xd-mem-')), 'memory');
  const preload = pathToFileURL(join(ROOT, 'test', 'setup', 'maxrss.mjs')).href;
  return {
    env: { ...env, XD_MAXRSS_FILE: out, NODE_OPTIONS: `${env.NODE_OPTIONS ?? ''} --import ${preload}`.trim() },
    read: <R extends object>(r: R) => {
      const [live, rss] = readFileSync(out, 'utf8')
        .split(' ')
        .map((kb) => Number(kb) / 1024);
      return { ...r, liveMb: live!, rssMb: rss! };
    },
  };
}

/**
 * A site rule folder `<parent>/site` holding `site-flap`: a warning at `count` link flaps of one
 * interface (`link flapped on ethN`, key nic) within `within` (the threshold tests of report).
 */
export function flapRuleDir(parent: string, count: number, within: string): string {
  const dir = join(parent, 'site');
  mkdirSync(dir, { mode: 0o755 });
  writeFileSync(
    join(dir, 'site-flap.yaml'),
    [
      'id: site-flap',
      'title: Link {nic} flaps',
      'severity: warning',
      'key: [nic]',
      'patterns:',
      "  - 'link flapped on (?<nic>eth\\d+)'",
      `threshold: { count: ${count}, within: ${within} }`,
      'diagnosis: The link went down and up again, often.',
      "fix: ['ethtool {nic}']",
      '',
    ].join('\n'),
    { mode: 0o644 },
  );
  return dir;
}

/** A site rule folder (root-owned, not writable by others) holding one rule with `pattern`. */
export function siteRuleDir(pattern: string): string {
  const dir = join(tmp('xd-site-'), 'site');
  mkdirSync(dir, { mode: 0o755 });
  writeFileSync(
    join(dir, 'site-slow.yaml'),
    [
      'id: site-slow',
      'title: Slow',
      'severity: warning',
      'patterns:',
      `  - '${pattern}'`,
      'diagnosis: A rule with a pattern.',
      'fix: [nothing]',
      '',
    ].join('\n'),
    { mode: 0o644 },
  );
  return dir;
}

/** A line of no known form: the event the parser gives for it (for the fallback's readings). */
export const plainEvent = (message: string): LogEvent => ({
  format: 'plain',
  time: null,
  uptime: null,
  host: null,
  program: null,
  pid: null,
  source: 'unknown',
  message,
});

/** Where the fallback reads a message starting in a line of no known form. */
export const fallbackStarts = (msg: string): string[] => otherReadings(plainEvent(msg)).map((e) => e.message);

/** Deterministic pseudo-random numbers (mulberry32): rnd(n) in 0 … n-1. */
export function rng(seed: number): (n: number) => number {
  let a = seed;
  return (n: number) => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}
