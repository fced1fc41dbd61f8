/**
 * Inputs: turns command-line operands (files, folders, globs, "-", nothing) into an ordered list of
 * byte sources — rotated sets oldest first, .gz read transparently, stdin, `xl dmesg` — each opened
 * as a stream of Buffers with memory bounded whatever its size.
 */
import {
  closeSync,
  constants,
  createReadStream,
  existsSync,
  fstatSync,
  openSync,
  readSync,
  readdirSync,
  statSync,
  type Stats,
} from 'node:fs';
import { spawn } from 'node:child_process';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { createRequire } from 'node:module';
import { kindOf } from '../state/atomic.js';
import { parseLine } from '../parse/line.js';
import type { TimeContext } from '../parse/time.js';
import { utf16Of } from './encoding.js';

export interface Input {
  /** What the user sees: the path, "-" (stdin) or the command. */
  name: string;
  kind: 'file' | 'stdin' | 'command';
  /** Last modification, ms: the reference for year-less stamps (now for streams). */
  mtime: number;
  size: number | null;
  /** Host the input is known to belong to (e.g. `xl dmesg` on this host). */
  host: string | null;
  open(): AsyncIterable<Buffer>;
  /**
   * The bytes as they come, before gzip is undone (stdin): what a second reading keeps (`timeline`
   * spools these, so 2.7 MB of gzip stays 2.7 MB on disk, not the 1.9 GB it inflates to).
   */
  raw?(): AsyncIterable<Buffer>;
}

/** A problem met while resolving operands (missing file…); the others are still read. */
export interface ResolveProblem {
  source: string;
  message: string;
}

/** Files that are binary by nature and never log text. */
const BINARY_NAMES = /(?:^(?:wtmp|btmp|lastlog|faillog)(?:\.\d+)?$|\.journal~?$|\.(?:bz2|xz|zst|lz4|zip|tar|db|sqlite)$)/;
/** Notes kept beside archived logs (a README of the capture): skipped in folders, read when named. */
const NOTE_NAMES = /\.(?:md|markdown)$/i;

// `s`: a file name may hold a newline (one planted in /var/log/xen must not stop the run). Eight
// digits after a dot are a date (dateformat .%Y%m%d), not a number: a set dated so was read newest first
const ROTATED = /^(.*?)(?:\.(?!\d{8}(?:\.gz)?$)(\d+)|-(\d{8}(?:\d{2})?)|\.(\d{8}))?(\.gz)?$/s;

/** Sort key of a file in a rotated set: base name, then oldest first (name.3.gz … name.1, name). */
export function rotationOrder(path: string): [string, number] {
  const dir = dirname(path);
  const m = ROTATED.exec(basename(path))!;
  const base = join(dir, m[1]!);
  if (m[2] !== undefined) return [base, -Number(m[2])]; // name.N: larger N is older
  const date = m[3] ?? m[4];
  if (date !== undefined) return [base, -1e12 + Number(date.slice(0, 8))]; // dateext: older date first
  return [base, 0];
}

/** Order files so each rotated set is read oldest first; sets keep the order they were named in. */
export function orderRotated(paths: string[]): string[] {
  const setIndex = new Map<string, number>();
  for (const p of paths) {
    const base = rotationOrder(p)[0];
    if (!setIndex.has(base)) setIndex.set(base, setIndex.size);
  }
  return [...new Set(paths)].sort((a, b) => {
    const [ba, oa] = rotationOrder(a);
    const [bb, ob] = rotationOrder(b);
    if (ba !== bb) return setIndex.get(ba)! - setIndex.get(bb)!;
    if (oa !== ob) return oa - ob;
    return a < b ? -1 : a > b ? 1 : 0;
  });
}

/**
 * Peek at the first bytes: gzip data goes through gunzip, whatever the file is called. The consumer
 * may stop early (the clock survey over its budget): the gunzip stream and the input are then
 * closed, not left waiting for a reader (a feeder waiting for 'drain' kept the input's close, and
 * with it the whole run, waiting forever: the process ended with no output and exit status 0).
 */
export async function* maybeGunzip(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const it = chunks[Symbol.asyncIterator]();
  let first = await it.next();
  while (!first.done && first.value.length < 2) {
    const more = await it.next();
    if (more.done) break;
    first = { done: false, value: Buffer.concat([first.value, more.value]) };
  }
  if (first.done) return;
  const head = first.value;
  if (!(head[0] === 0x1f && head[1] === 0x8b)) {
    try {
      yield head;
      for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
    } finally {
      await it.return?.();
    }
    return;
  }
  const gunzip = createGunzip({ chunkSize: 256 * 1024 });
  let stopped = false;
  // resolves on 'drain', or when the stream is gone (destroyed: its reader stopped, or an error)
  const drained = () =>
    new Promise<void>((res) => {
      const done = () => {
        gunzip.off('drain', done);
        gunzip.off('close', done);
        res();
      };
      gunzip.on('drain', done);
      gunzip.on('close', done);
    });
  const feed = (async () => {
    try {
      if (!gunzip.write(head)) await drained();
      for (let r = await it.next(); !r.done && !stopped && !gunzip.destroyed; r = await it.next()) {
        if (!gunzip.write(r.value)) await drained();
      }
      if (!stopped && !gunzip.destroyed) gunzip.end();
    } catch (e) {
      gunzip.destroy(e as Error);
    } finally {
      // the input is closed however the feeding ended
      await it.return?.();
    }
  })();
  try {
    for await (const out of gunzip) yield out as Buffer;
  } catch (e) {
    const msg = (e as Error).message;
    throw new Error(
      /unexpected end of file/i.test(msg) ? 'truncated gzip data (the file ends before the compressed stream does)' : `gzip: ${msg}`,
    );
  } finally {
    stopped = true;
    gunzip.destroy();
    await feed.catch(() => undefined);
  }
}

/**
 * Bytes of text a file holds: its size, or for a gzip file the size its last member says it
 * inflates to (the trailer's ISIZE, modulo 4 GiB) when that is larger. A cheap estimate for budgets
 * (the clock survey's), read from the file's first two and last four bytes; the size on errors.
 */
export function textSize(path: string, size: number): number {
  if (size < 18) return size;
  let fd: number | null = null;
  try {
    fd = openSync(path, 'r');
    const b = Buffer.alloc(4);
    if (readSync(fd, b, 0, 2, 0) !== 2 || b[0] !== 0x1f || b[1] !== 0x8b) return size;
    if (readSync(fd, b, 0, 4, size - 4) !== 4) return size;
    return Math.max(size, b.readUInt32LE(0));
  } catch {
    return size;
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

function fileInput(path: string, st: Stats): Input {
  return {
    name: path,
    kind: 'file',
    mtime: st.mtimeMs,
    size: st.size,
    host: null,
    open: () => maybeGunzip(createReadStream(path, { highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer>),
  };
}

/** Standard input, gzip or not. */
export function stdinInput(now: number): Input {
  return {
    name: '-',
    kind: 'stdin',
    mtime: now,
    size: null,
    host: null,
    open: () => maybeGunzip(process.stdin as AsyncIterable<Buffer>),
    raw: () => process.stdin as AsyncIterable<Buffer>,
  };
}

/** The output of a command (e.g. `xl dmesg`); its failure is an input error. */
export function commandInput(cmd: string, args: string[], now: number, host: string | null): Input {
  return {
    name: [cmd, ...args].join(' '),
    kind: 'command',
    mtime: now,
    size: null,
    host,
    async *open() {
      const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        if (stderr.length < 2000) stderr += d.toString('utf8');
      });
      const exited = new Promise<number | null>((res, rej) => {
        child.on('error', rej);
        child.on('close', (code) => res(code));
      });
      // a program that cannot be run (EACCES: xl only root may run) fails before its output ends: its
      // rejection, not yet awaited, must not end the process as unhandled (it is the input's error below)
      exited.catch(() => undefined);
      for await (const chunk of child.stdout) yield chunk as Buffer;
      const code = await exited;
      if (code !== 0) throw new Error(`exited with status ${code}${stderr.trim() ? `: ${stderr.trim().split('\n')[0]}` : ''}`);
    },
  };
}

/** Is stdin a pipe or a redirected file (as opposed to a terminal or nothing)? */
export function stdinIsPiped(): boolean {
  try {
    const st = fstatSync(0);
    return st.isFIFO() || st.isFile() || st.isSocket();
  } catch {
    return false;
  }
}

function walk(dir: string, out: string[], problems: ResolveProblem[]): void {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    problems.push({ source: dir, message: `cannot read folder: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` });
    return;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out, problems);
    else if (
      (e.isFile() || e.isSymbolicLink()) &&
      !BINARY_NAMES.test(e.name) &&
      !NOTE_NAMES.test(e.name) &&
      !e.name.startsWith('.') &&
      !notLogText(p)
    )
      out.push(p);
  }
}

/** Bytes of a walked file looked at to tell log text from the rest. */
const SNIFF = 4096;

/**
 * A file in a walked folder that is not log text, by its first bytes: a binary (an ELF program, a
 * database: NUL bytes, and not gzip), or a JSON document that is not a journal export (a capture's
 * expect.json, a config). A file named on the command line is always read.
 */
export function notLogText(path: string): boolean {
  let fd: number | null = null;
  try {
    // never blocks on a FIFO, and looks only into regular files (a device or a FIFO is told apart later)
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
    if (!fstatSync(fd).isFile()) return false;
    const buf = Buffer.alloc(SNIFF);
    const n = readSync(fd, buf, 0, SNIFF, 0);
    const head = buf.subarray(0, n);
    if (n >= 2 && head[0] === 0x1f && head[1] === 0x8b) return false;
    if (head.includes(0) && !utf16Of(head) && !textWithNulRuns(head)) return true;
    const text = head.toString('latin1').trimStart();
    return /\.json$/i.test(path) && (text.startsWith('{') || text.startsWith('[')) && !/"(?:MESSAGE|__REALTIME_TIMESTAMP)"\s*:/.test(text);
  } catch {
    return false; // unreadable: read it, and report why it cannot be
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

/**
 * Text with runs of NUL bytes in it (what a crash leaves in a syslog file: NULs where unflushed blocks
 * were): without the NULs, lines of text (a line end, few control bytes) rather than a binary's bytes.
 */
function textWithNulRuns(head: Buffer): boolean {
  let other = 0;
  let nonNul = 0;
  let newline = false;
  for (const b of head) {
    if (b === 0) continue;
    nonNul++;
    if (b === 10) newline = true;
    else if ((b < 32 && b !== 9 && b !== 13 && b !== 27) || b === 127) other++;
  }
  return newline && other <= nonNul * 0.02;
}

function errnoMessage(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ENOENT':
      return 'no such file or folder';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    default:
      return e.message;
  }
}

/**
 * Resolve operands to inputs. "-" is stdin; folders are walked (binary log files such as wtmp and
 * journal files, and Markdown notes, skipped); globs are expanded; each rotated set is ordered oldest first.
 */
export function resolveInputs(operands: string[], now: number): { inputs: Input[]; problems: ResolveProblem[] } {
  const problems: ResolveProblem[] = [];
  const inputs: Input[] = [];
  const files: string[] = [];
  /** Files found by walking a folder (not named): only regular files are read. */
  const walked = new Set<string>();
  const flush = () => {
    for (const f of orderRotated(files)) {
      try {
        const st = statSync(f);
        if (walked.has(f) && !st.isFile()) {
          // a link in a log folder to /dev/zero or a FIFO would hang the scan or fill memory
          problems.push({ source: f, message: `a link to ${kindOf(st)}, not a log file: skipped` });
          continue;
        }
        inputs.push(fileInput(f, st));
      } catch (e) {
        problems.push({ source: f, message: errnoMessage(e as NodeJS.ErrnoException) });
      }
    }
    files.length = 0;
  };
  for (const op of operands) {
    if (op === '-') {
      flush();
      inputs.push(stdinInput(now));
      continue;
    }
    let st: Stats | null = null;
    try {
      st = statSync(op);
    } catch (e) {
      if (/[*?[\]{}]/.test(op) && !existsSync(op)) {
        // tinyglobby (and its fdir and picomatch) only for an operand that is a pattern: not at every start
        const { globSync } = createRequire(import.meta.url)('tinyglobby') as typeof import('tinyglobby');
        // the names as the pattern gives them: an absolute pattern's absolute (tinyglobby's `absolute: false`
        // made /var/log/kern.log* relative to the working folder: ../../var/log/kern.log.1)
        const matched = globSync(op, { absolute: isAbsolute(op), onlyFiles: true, dot: false });
        if (matched.length === 0) problems.push({ source: op, message: 'no file matches this pattern' });
        files.push(...matched);
        continue;
      }
      problems.push({ source: op, message: errnoMessage(e as NodeJS.ErrnoException) });
      continue;
    }
    if (st.isDirectory()) {
      const found: string[] = [];
      walk(op, found, problems);
      if (found.length === 0) problems.push({ source: op, message: 'folder holds no log files' });
      for (const f of found) walked.add(f);
      files.push(...found);
    } else {
      files.push(op);
    }
  }
  flush();
  return { inputs, problems };
}

/** The root under which this host's usual logs are looked for (a chroot or a test sets XENDOCTOR_LOG_ROOT). */
export function logRoot(): string {
  return process.env.XENDOCTOR_LOG_ROOT || '/';
}

/** No syslog file (kern.log, syslog, messages) under the root: the host logs to the journal only (Debian 12's default). */
export function journaldOnly(root = logRoot()): boolean {
  return !['var/log/kern.log', 'var/log/syslog', 'var/log/messages'].some((p) => existsSync(join(root, p)));
}

/**
 * This host's usual logs (those that exist), and `xl dmesg` where xl is installed. A host without
 * any syslog file (journald only) is read from the journal instead: `journalctl -o json`, kernel
 * and system messages of all boots the journal keeps.
 */
export function defaultInputs(now: number, hostname: string, root = logRoot()): { inputs: Input[]; problems: ResolveProblem[] } {
  const candidates = ['var/log/kern.log', 'var/log/syslog', 'var/log/messages'].map((p) => join(root, p));
  const xenDir = join(root, 'var/log/xen');
  try {
    for (const f of readdirSync(xenDir).sort()) if (f.endsWith('.log')) candidates.push(join(xenDir, f));
  } catch {
    /* no /var/log/xen: not a Xen host, or the logs are elsewhere */
  }
  const present = candidates.filter((p) => existsSync(p));
  const resolved = resolveInputs(present, now);
  const journalctl = journaldOnly(root) ? findOnPath('journalctl') : null;
  if (journalctl) resolved.inputs.push(commandInput(journalctl, ['-o', 'json', '--no-pager', '-q'], now, null));
  const xl = findOnPath('xl') ?? findOnPath('xm');
  if (xl) resolved.inputs.push(commandInput(xl, ['dmesg'], now, hostname));
  return resolved;
}

/** Full path of an executable on PATH, or null. */
export function findOnPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      const st = statSync(p);
      if (st.isFile() && st.mode & 0o111) return p;
    } catch {
      /* not here */
    }
  }
  return null;
}

/** Bytes read from the end of a plain file to find its last dated line (see inputContext). */
const TAIL_BYTES = 64 * 1024;

/**
 * The time context an input's lines are read in. With `--year`, year-less stamps (RFC 3164 syslog)
 * are of that year, but a log that runs over New Year (December's lines, then January's) ends in
 * that year: a plain file whose last year-less stamp is read in `year` becomes the reference, and
 * lines later in the year than it (by more than two days) are of the year before, as without
 * `--year` the file's time decides. Streams and compressed files, whose end is not at hand, take
 * `year` for every line.
 */
export function inputContext(input: Input, zone: string, year: number | null): TimeContext {
  const ctx: TimeContext = { zone, year, reference: input.mtime };
  if (year === null || input.kind !== 'file' || input.size === null || input.size === 0) return ctx;
  let tail: Buffer;
  let from = 0;
  try {
    const fd = openSync(input.name, 'r');
    try {
      const head = Buffer.alloc(2);
      if (readSync(fd, head, 0, 2, 0) === 2 && head[0] === 0x1f && head[1] === 0x8b) return ctx;
      from = Math.max(0, input.size - TAIL_BYTES);
      tail = Buffer.alloc(input.size - from);
      tail = tail.subarray(0, readSync(fd, tail, 0, tail.length, from));
    } finally {
      closeSync(fd);
    }
  } catch {
    return ctx;
  }
  const lines = tail.toString('utf8').split('\n');
  // (the first piece of a tail that starts inside the file may be part of a line)
  for (let i = lines.length - 1, seen = 0; i >= (from > 0 ? 1 : 0) && seen < 200; i--) {
    const text = lines[i]!;
    if (text.trim() === '') continue;
    seen++;
    const t = parseLine(text, ctx).time;
    if (t === null) continue;
    // a year-less stamp moves with the year; an ISO or journal stamp does not
    if (parseLine(text, { ...ctx, year: year + 1 }).time === t) return ctx;
    return { zone, year: null, reference: t };
  }
  return ctx;
}
