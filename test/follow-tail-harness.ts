/**
 * The harness of test/sources-follow-tail-units.test.ts and test/sources-follow-tail-edges.test.ts:
 * the follower's private turn (`tailFor`, `checkOne`, `tick`) driven by hand, lines and notices
 * collected, small file helpers. `node:fs` is wrapped by test/follow-tail-fs.ts in each file.
 */
import { appendFileSync, copyFileSync, existsSync, readdirSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import type { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { FileFollower, type FollowOptions } from '../src/sources/follow.js';
import { tmp } from './helpers.js';

/** An error as node:fs throws it: `code` (if any), message. */
export const fail = (code: string | undefined, message = code ?? 'failed') => {
  const e = new Error(message) as NodeJS.ErrnoException;
  if (code) e.code = code;
  return e;
};

/** Lines `line a` … `line b`, each ended. */
export const L = (a: number, b: number) => {
  let s = '';
  for (let i = a; i <= b; i++) s += `line ${i}\n`;
  return s;
};
/** The numbers of the lines `line N` in a text. */
export const numbers = (text: string) => [...text.matchAll(/^line (\d+)$/gm)].map((m) => Number(m[1]));
/** The texts `line a` … `line b`. */
export const each = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => `line ${a + i}`);
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const nextTurn = () => new Promise((r) => setImmediate(r));
/** Wait for `cond` (20 s: a loaded machine). */
export const until = async (cond: () => boolean, ms = 20_000) => {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await sleep(20);
  return cond();
};
export const openFds = () => readdirSync('/proc/self/fd').length;

type Copy = { p: string; st: { ino: number } };
/** A FileTail's insides, as the tests read them. */
export interface Tail {
  path: string;
  fd: number | null;
  pos: number;
  retired: { fd: number; pos: number }[];
  problem: string | null;
  again: boolean;
  missingSince: number | null;
  startAtEnd: boolean;
  opened: boolean;
  explicit: boolean;
  siblings(): { numbered: Map<number, Copy>; all: Copy[] };
}
/** A FileFollower's insides, as the tests drive them. */
export interface Inner {
  tails: Map<string, Tail>;
  tailFor(p: string, explicit: boolean): Tail;
  checkOne(p: string, now: number): void;
  tick(): void;
  scheduleCheck(p: string): void;
  watcherError(i: number, e: unknown): void;
  dirWatchers: Map<string, EventEmitter | null>;
  watchers: (EventEmitter & { closed?: boolean })[];
  polling: boolean;
  timer: unknown;
}

/**
 * A follower of `operands` (from their start, polling every hour unless told: the tests take its
 * turns), its lines as `n:text` and its notices; `withIdle` false: no idle handler.
 */
export function follower(operands: string[], opts: Partial<FollowOptions> = {}, withIdle = true) {
  const got: string[] = [];
  const notices: string[] = [];
  let idles = 0;
  const during = new Map<string, () => void>();
  const f = new FileFollower(
    operands,
    {
      line: (_src, buf, s, e, n) => {
        const text = buf.toString('utf8', s, e);
        got.push(`${n}:${text}`);
        const fn = during.get(text);
        during.delete(text);
        fn?.();
      },
      ...(withIdle ? { idle: () => idles++ } : {}),
      notice: (src, message, kind) => notices.push(`${src.split('/').pop()} ${kind}: ${message}`),
    },
    { fromStart: true, usePolling: true, pollMs: 3_600_000, ...opts },
  );
  const x = f as unknown as Inner;
  return {
    f,
    x,
    got,
    notices,
    /** the texts read, without line numbers */
    texts: () => got.map((g) => g.slice(g.indexOf(':') + 1)),
    idles: () => idles,
    follow: (p: string, explicit = true) => x.tailFor(p, explicit),
    check: (p: string, now = Date.now()) => x.checkOne(p, now),
    tail: (p: string) => x.tails.get(p),
    /** run `fn` (once) as the line `text` is handed over: inside the follower's turn */
    during: (text: string, fn: () => void) => during.set(text, fn),
  };
}

/** A log path in a fresh folder. */
export const logIn = (dir = tmp('xd-tail-')) => join(dir, 'app.log');

/** logrotate's rename-and-create: name.N to name.N+1, the file to name.1, a new file holding `next`. */
export const rotate = (log: string, next: string) => {
  for (let k = 14; k >= 1; k--) if (existsSync(`${log}.${k}`)) renameSync(`${log}.${k}`, `${log}.${k + 1}`);
  renameSync(log, `${log}.1`);
  writeFileSync(log, next);
};

/** A log in a fresh folder holding `content`, followed from its start and read once. */
export function followed(content: string) {
  const log = logIn();
  writeFileSync(log, content);
  const w = follower([log]);
  w.follow(log);
  w.check(log);
  return { log, w };
}

/** logrotate's copytruncate: the file copied to `copy` and truncated; then `next` is written to it. */
export const copytruncate = (log: string, copy: string, next: string) => {
  copyFileSync(log, copy);
  truncateSync(log, 0);
  appendFileSync(log, next);
};
