/**
 * Following files live (`xendoctor watch`): chokidar discovers and re-discovers the files (globs,
 * folders, a file that does not exist yet or is re-created after rotation); each file is then read
 * with plain positional reads from where the last read ended, so no line is missed and none is read
 * twice across rename-and-create rotation, copytruncate, deletion and re-creation.
 *
 * Why not a library: `npm run bench:followers` runs the rotation matrix against this module,
 * tail-file 1.4 and @logdna/tail-file 4.x (figures in the README, "Why xendoctor follows files
 * itself"). @logdna/tail-file lost the lines written to a renamed file before its writer reopened,
 * lost lines at every copytruncate and does not start on a file that does not exist yet; tail-file
 * stopped reading after a 10 MB line (every later line lost, 111 MB peak RSS). This module keeps the
 * old descriptor of a renamed file until it falls silent, recognises truncation by size and by the
 * bytes before its offset (checked in the same read), finds the copy by the bytes the content began
 * with and reads its unread end and the copies made since, waits for missing files, and cuts lines
 * at MAX_LINE.
 */
import {
  closeSync,
  existsSync,
  fstatSync,
  openSync,
  readSync,
  readdirSync,
  statSync,
  watch as fsWatch,
  type FSWatcher as DirWatcher,
  type Stats,
} from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import type { FSWatcher } from 'chokidar';
import { createRequire } from 'node:module';
import { MAX_LINE } from './lines.js';
import { pread } from './incremental.js';

/** Receives the lines: `buf[start, end)` without the newline; copy to keep (the buffer is reused). */
export type LineHandler = (buf: Buffer, start: number, end: number, lineNo: number) => void;

const NL = 10;

/** Lines (newlines) in the first `end` bytes of a file, read in blocks. */
export function countLines(fd: number, end: number): number {
  const buf = Buffer.allocUnsafe(1024 * 1024);
  let n = 0;
  for (let pos = 0; pos < end;) {
    let got: number;
    try {
      got = readSync(fd, buf, 0, Math.min(buf.length, end - pos), pos);
    } catch {
      return n;
    }
    if (got <= 0) break;
    // a string's indexOf: several times faster than the Buffer's on short lines (measured)
    const text = buf.toString('latin1', 0, got);
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
    pos += got;
  }
  return n;
}

/** Splits pushed bytes into lines; a line longer than MAX_LINE is cut there and its rest dropped. */
export class LineSplitter {
  lineNo = 0;
  private carry: Buffer | null = null;
  private skipping = false;

  constructor(
    private readonly emit: LineHandler,
    private readonly onCut: (lineNo: number) => void = () => undefined,
  ) {}

  push(buf: Buffer): void {
    let pos = 0;
    if (this.skipping) {
      const nl = buf.indexOf(NL);
      if (nl < 0) return;
      pos = nl + 1;
      this.skipping = false;
    }
    if (this.carry) {
      const nl = buf.indexOf(NL, pos);
      const partEnd = nl < 0 ? buf.length : nl;
      const need = MAX_LINE - this.carry.length;
      if (partEnd - pos > need) {
        this.line(Buffer.concat([this.carry, buf.subarray(pos, pos + need)]));
        this.carry = null;
        this.onCut(this.lineNo);
        if (nl < 0) {
          this.skipping = true;
          return;
        }
        pos = nl + 1;
      } else if (nl < 0) {
        this.carry = Buffer.concat([this.carry, buf.subarray(pos)]);
        return;
      } else {
        this.line(Buffer.concat([this.carry, buf.subarray(pos, nl)]));
        this.carry = null;
        pos = nl + 1;
      }
    }
    while (pos < buf.length) {
      const nl = buf.indexOf(NL, pos);
      if (nl < 0) {
        if (buf.length - pos > MAX_LINE) {
          this.emitLine(buf, pos, pos + MAX_LINE);
          this.onCut(this.lineNo);
          this.skipping = true;
        } else {
          this.carry = Buffer.from(buf.subarray(pos));
        }
        return;
      }
      if (nl - pos > MAX_LINE) {
        this.emitLine(buf, pos, pos + MAX_LINE);
        this.onCut(this.lineNo);
      } else this.emitLine(buf, pos, nl);
      pos = nl + 1;
    }
  }

  /** Bytes of an unfinished line held back. */
  get pending(): number {
    return this.carry?.length ?? 0;
  }

  /** Emit what is held back as a last line (the file ended without a newline and will not grow). */
  flush(): void {
    if (this.carry && this.carry.length > 0) this.line(this.carry);
    this.carry = null;
    this.skipping = false;
  }

  private line(b: Buffer): void {
    this.emitLine(b, 0, b.length);
  }

  private emitLine(buf: Buffer, start: number, end: number): void {
    if (end > start && buf[end - 1] === 13 /* CR */) end--;
    this.lineNo++;
    this.emit(buf, start, end, this.lineNo);
  }
}

/** What the follower tells its user besides lines. */
export interface FollowEvents {
  /** A line of `source` (the path). */
  line(source: string, buf: Buffer, start: number, end: number, lineNo: number): void;
  /** A read burst ended (the line handler may act on what it gathered). */
  idle?(source: string): void;
  /** A problem with one path, or its end; each state change is reported once, never in a loop. */
  notice(source: string, message: string, kind: 'problem' | 'recovered' | 'info'): void;
}

export interface FollowOptions {
  /** Read files that exist at start from their beginning instead of their end. */
  fromStart: boolean;
  /** Safety re-check of every followed file (missed events, renamed files, polling fallback), ms. */
  pollMs?: number;
  /** Keep reading a renamed or deleted file until it has been silent this long, ms. */
  retireQuietMs?: number;
  /** How long an explicitly named file may be absent before it is reported missing, ms. */
  missingGraceMs?: number;
  /** Use stat polling instead of inotify (also switched on when inotify runs out of watches). */
  usePolling?: boolean;
}

const READ_SIZE = 256 * 1024;
/** Bytes read from one file in one turn before yielding to the event loop (signals, other files). */
const TURN_BUDGET = 8 * 1024 * 1024;
const FP_LEN = 64;
/** Bytes of a generation's beginning kept to recognise its copy (copytruncate) among the rotated files. */
const HEAD_LEN = 1024;

/** Rotated siblings (name.1, name.2.gz, name-20261120, name.20261120): never followed from folders. */
const ROTATED_NAME = /(?:\.\d+|-\d{8}(?:\d{2})?|\.\d{8})(?:\.gz)?$|\.(?:gz|bz2|xz|zst|lz4|zip|tar|old|bak)$/;
/** Files that are binary by nature (as in inputs.ts). */
const BINARY_NAME = /^(?:wtmp|btmp|lastlog|faillog)(?:\.\d+)?$|\.journal~?$|\.(?:db|sqlite)$/;

/** May a file found in a watched folder be followed? (dotfiles, binary logs and rotated copies are not) */
export function followableName(path: string): boolean {
  const b = basename(path);
  return !b.startsWith('.') && !BINARY_NAME.test(b) && !ROTATED_NAME.test(b);
}

/** Glob (`*`, `?`, `[...]`, `{a,b}`, `**`) to an anchored regex over whole paths. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        i++;
        if (glob[i + 1] === '/') {
          i++;
          re += '(?:[^/]*/)*';
        } else re += '.*';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      // (a ] right after [ or [! is in the set)
      const close = glob.indexOf(']', glob[i + 1] === '!' ? i + 3 : i + 2);
      if (close < 0) re += '\\[';
      else {
        let body = glob.slice(i + 1, close);
        if (body.startsWith('!')) body = '^' + body.slice(1);
        // a ] first in the set is one of its characters (as in a shell); in a regex class it would end it
        re += `[${body.replace(/[\\\]]/g, '\\$&')}]`;
        i = close;
      }
    } else if (c === '{') {
      const close = glob.indexOf('}', i);
      if (close < 0) re += '\\{';
      else {
        re += `(?:${glob
          .slice(i + 1, close)
          .split(',')
          .map((alt) => globToRegExp(alt).source.slice(1, -1))
          .join('|')})`;
        i = close;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

const GLOB_CHARS = /[*?[\]{}]/;

/** One operand: a file (existing or not), a folder, or a glob. */
export interface WatchTarget {
  operand: string;
  kind: 'file' | 'folder' | 'glob';
  /** What chokidar watches: the file, the folder, or the glob's static base folder. */
  root: string;
  depth?: number;
  claims(path: string): boolean;
}

/** Classify operands; relative paths are made absolute (the daemon may change folders). */
export function watchTargets(operands: string[]): WatchTarget[] {
  return operands.map((op): WatchTarget => {
    const abs = resolve(op);
    if (GLOB_CHARS.test(op) && !existsSync(abs)) {
      const parts = abs.split(sep);
      const firstGlob = parts.findIndex((p) => GLOB_CHARS.test(p));
      const root = parts.slice(0, firstGlob).join(sep) || sep;
      const rest = parts.slice(firstGlob);
      const re = globToRegExp(abs);
      return {
        operand: op,
        kind: 'glob',
        root,
        depth: rest.some((p) => p.includes('**')) ? undefined : rest.length - 1,
        claims: (p) => re.test(p),
      };
    }
    let st: Stats | null = null;
    try {
      st = statSync(abs);
    } catch {
      /* not there (yet): a file to wait for */
    }
    if (st?.isDirectory()) {
      return { operand: op, kind: 'folder', root: abs, claims: (p) => p.startsWith(abs + sep) && followableName(p) };
    }
    return { operand: op, kind: 'file', root: abs, claims: (p) => p === abs };
  });
}

interface Retired {
  /** its identity (idOf) */
  id: string;
  fd: number;
  pos: number;
  splitter: LineSplitter;
  lastData: number;
}

function errCode(e: unknown): string {
  return (e as NodeJS.ErrnoException).code ?? (e as Error).message;
}

function describe(code: string): string {
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a folder';
    default:
      return code;
  }
}

/** A rotated copy beside a followed file, as listed (its name then, and its stats). */
type Copy = { p: string; st: Stats };

/** The rotated copies beside a followed file: name.N by N, and all of them. */
type Listing = { numbered: Map<number, Copy>; all: Copy[] };

/**
 * A file's identity: device, inode and birth time. The inode alone is not one: a file system reuses
 * a freed inode number at once (ext4 here gave the next file the number of the one just deleted, 200
 * times of 200), and logrotate deletes the oldest copy at every rotation, so the next copy would pass
 * for one read long ago. The birth time counts only where it is real (`birth`, see birthTimesKnown):
 * without it, the inode has to do.
 */
const idOf = (st: { dev: number; ino: number; birthtimeMs: number }, birth: boolean) => `${st.dev}:${st.ino}:${birth ? st.birthtimeMs : 0}`;

/**
 * Are birth times real? Where libuv cannot use statx (kernels before 4.11, containers whose seccomp
 * profile refuses it) it fills them with the change time, which a rename or a write moves: a copy
 * renamed .1 → .2 would become another file. /proc has no birth times: statx gives 0 there, the
 * fallback its change time.
 */
export function birthTimesKnown(): boolean {
  try {
    return statSync('/proc/self').birthtimeMs === 0;
  } catch {
    return false;
  }
}

/** Two listings of copies name the same files by the same names. */
function sameListing(a: Copy[], b: Copy[], birth: boolean): boolean {
  return a.length === b.length && a.every((c, i) => c.p === b[i]!.p && idOf(c.st, birth) === idOf(b[i]!.st, birth));
}

/** One followed path: its current descriptor, offset and line splitter, and the renamed ones still draining. */
class FileTail {
  fd: number | null = null;
  dev = 0;
  ino = 0;
  born = 0;
  pos = 0;
  /** The bytes just before `pos` (to recognise a file truncated and regrown between two reads). */
  fp: Buffer = Buffer.alloc(0);
  /** The first bytes of the current file's content as read (min(pos, HEAD_LEN) of them): finds its copy. */
  head: Buffer = Buffer.alloc(0);
  /**
   * What the current file began with when it was last found truncated (it is then read from its start):
   * should it begin otherwise when read, it was truncated again in between (another copytruncate) and
   * the content that began so is read from its copy first.
   */
  private expected: Buffer | null = null;
  /**
   * The rotated copies (dev:ino) there when the current file was last found empty with nothing of it
   * read (truncated by a copytruncate, or empty when opened). Nothing then tells a truncation of what
   * is written next: a whole generation can be written, copied and truncated before the next read.
   * The first read of new content looks for copies made since and reads them first (see readBlind).
   */
  private blindFrom: Set<string> | null = null;
  /**
   * The folder's modification time when `blindFrom` was listed at a turn that found the file still
   * empty, if that listing stands while the time stays (see quietFolder): a file that stays empty is
   * not listed again at every turn.
   */
  private blindStamp: bigint | null = null;
  /** dev:ino of the last copies read to their end (never read again by readBlind). */
  private readWholly: string[] = [];
  splitter: LineSplitter;
  retired: Retired[] = [];
  missingSince: number | null = null;
  problem: string | null = null;
  opened = false;
  again = false;
  /** dev:ino of the file last retired, until the next file is opened (see readIntermediates). */
  private lastRetired: string | null = null;

  constructor(
    readonly path: string,
    readonly explicit: boolean,
    /** Start at the end of the file (only for files there when watching starts, without --from-start). */
    public startAtEnd: boolean,
    private readonly f: FileFollower,
  ) {
    this.splitter = this.newSplitter();
  }

  private newSplitter(): LineSplitter {
    let cuts = 0;
    return new LineSplitter(
      (buf, s, e, n) => this.f.events.line(this.path, buf, s, e, n),
      (n) => {
        if (cuts++ === 0) this.f.events.notice(this.path, `line ${n} is longer than ${MAX_LINE} bytes; cut (said once per file)`, 'info');
      },
    );
  }

  /** The current file's identity (idOf). */
  private id(): string {
    return idOf({ dev: this.dev, ino: this.ino, birthtimeMs: this.born }, this.f.birthKnown);
  }

  private idOf(st: Stats): string {
    return idOf(st, this.f.birthKnown);
  }

  private ids(copies: Copy[]): Set<string> {
    return new Set(copies.map((c) => this.idOf(c.st)));
  }

  private report(message: string): void {
    if (this.problem === message) return;
    this.problem = message;
    this.f.events.notice(this.path, message, 'problem');
  }

  private recovered(message: string): void {
    if (this.problem === null) return;
    this.problem = null;
    this.f.events.notice(this.path, message, 'recovered');
  }

  /** Read `fd` from `pos` to its end (within the turn budget); returns the new offset. */
  private drain(fd: number, pos: number, splitter: LineSplitter, budget: { left: number }): number {
    const buf = this.f.readBuf;
    while (budget.left > 0) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, Math.min(buf.length, budget.left), pos);
      } catch (e) {
        this.report(`read error: ${describe(errCode(e))}`);
        return pos;
      }
      if (n === 0) return pos;
      pos += n;
      budget.left -= n;
      splitter.push(buf.subarray(0, n));
    }
    this.again = true;
    return pos;
  }

  /**
   * Read the current file from `pos` to its end (within the turn budget). Each read starts `fp.length`
   * bytes early and goes on only if those bytes are still the ones read last: the check for a
   * truncation (copytruncate, even one regrown past `pos` since) and the read are one system call,
   * so a truncation between a separate check and the read cannot slip through. Returns false when
   * the file no longer holds what was read (nothing of the new content has been taken then).
   */
  private drainLive(budget: { left: number }): boolean {
    const buf = this.f.readBuf;
    while (budget.left > 0) {
      const ov = this.fp.length;
      // expecting content, or blind: the copies there before the read (should it find the file empty,
      // see expectedGone and readBlindEmpty), unless blind in a folder unchanged since the last listing
      const stamp = this.blindFrom && !this.expected && this.pos === 0 ? this.quietFolder() : null;
      const listed =
        this.pos === 0 && (this.expected || (this.blindFrom && (stamp === null || stamp !== this.blindStamp))) ? this.siblings() : null;
      let n: number;
      try {
        n = readSync(this.fd!, buf, 0, Math.min(buf.length, budget.left + ov), this.pos - ov);
      } catch (e) {
        this.report(`read error: ${describe(errCode(e))}`);
        return true;
      }
      if (n < ov || buf.compare(this.fp, 0, ov, 0, ov) !== 0) return false;
      if (n === ov) {
        if (n === 0 && listed && this.expected) this.expectedGone(this.ids(listed.all));
        else if (n === 0 && listed && this.blindFrom) this.readBlindEmpty(listed, stamp);
        return true;
      }
      if (this.pos === 0 && this.blindFrom) {
        const current = Buffer.from(buf.subarray(0, Math.min(n, HEAD_LEN)));
        this.readBlind(current);
        // the shared buffer was used meanwhile: read again. The copy of `current` was left to this read;
        // should the file begin otherwise by then (copied and truncated meanwhile), it is read from there
        this.expected = current;
        continue;
      }
      // settleExpected may read a copy through the shared buffer: keep this read's bytes apart then
      const data = this.expected ? Buffer.from(buf.subarray(ov, n)) : buf.subarray(ov, n);
      if (this.head.length < HEAD_LEN) this.head = Buffer.concat([this.head, data.subarray(0, HEAD_LEN - this.head.length)]);
      this.pos += data.length;
      budget.left -= data.length;
      this.fp = Buffer.from(buf.subarray(Math.max(0, n - FP_LEN), n));
      if (this.expected) this.settleExpected();
      this.splitter.push(data);
    }
    this.again = true;
    return true;
  }

  /**
   * The current file was empty with nothing read (`blindFrom`), and now holds content beginning with
   * `current`. Copies that appeared since are generations written and copytruncated in between: read
   * them whole, oldest first, except one of the current content (logrotate copying it right now).
   */
  private readBlind(current: Buffer): void {
    const before = this.blindFrom!;
    this.setBlind(null);
    if (this.renamedAway()) return;
    // and what the file begins with now: should it have been copied and truncated since it was read,
    // the copy logrotate may be making is of what it holds now (read from the file later)
    this.readFresh(before, this.siblings(), [current, this.liveHead() ?? current]);
  }

  /**
   * The current file is still empty with nothing read (`blindFrom`), and `listed` (the copies there
   * before it was found empty) holds copies made since: generations written and copytruncated in
   * between, complete (logrotate truncates once its copy is made). Read them now rather than at the
   * next line written, which may be hours away; the file stays empty with nothing read.
   */
  private readBlindEmpty(listed: Listing, stamp: bigint | null): void {
    const before = this.blindFrom!;
    if (this.renamedAway()) return;
    this.readFresh(before, listed, []);
    this.setBlind(this.ids(listed.all), stamp);
  }

  private setBlind(from: Set<string> | null, stamp: bigint | null = null): void {
    this.blindFrom = from;
    this.blindStamp = stamp;
  }

  /**
   * The folder's modification time (ns) if it last changed over a second ago; null otherwise. A copy
   * made, renamed or removed later changes it to another time (a time stamp's granularity is a clock
   * tick, far below the second).
   */
  private quietFolder(): bigint | null {
    try {
      const st = statSync(dirname(this.path), { bigint: true });
      return BigInt(Date.now()) * 1_000_000n - st.mtimeNs > 1_000_000_000n ? st.mtimeNs : null;
    } catch {
      return null;
    }
  }

  /** The path names another file now (a rename-and-create rotation, see readIntermediates), or none. */
  private renamedAway(): boolean {
    try {
      const st = statSync(this.path);
      return st.ino !== this.ino || st.dev !== this.dev;
    } catch {
      return true;
    }
  }

  /** Read whole, oldest first, the copies of `listing` not in `before` nor read, except copies of `current`'s contents. */
  private readFresh(before: Set<string>, listing: Listing, current: Buffer[]): void {
    const known = this.knownInodes();
    const number = new Map([...listing.numbered].map(([k, c]) => [c.p, k]));
    const fresh = listing.all
      .filter((c) => !before.has(this.idOf(c.st)) && !known.has(this.idOf(c.st)))
      .filter((c) => !current.some((b) => this.isCopyOf(c, b)))
      .sort((a, b) => a.st.mtimeMs - b.st.mtimeMs || (number.get(b.p) ?? 0) - (number.get(a.p) ?? 0));
    for (const c of fresh) this.readWhole(c);
  }

  /** A copy was read to its end. */
  private readOut(c: Copy): void {
    this.readWholly.push(this.idOf(c.st));
    this.readWholly.splice(0, this.readWholly.length - 16);
  }

  /** What the current file begins with now (null if it cannot be read). */
  private liveHead(): Buffer | null {
    try {
      return pread(this.fd!, 0, HEAD_LEN);
    } catch {
      return null;
    }
  }

  private siblingIds(): Set<string> {
    return this.ids(this.siblings().all);
  }

  /** Does the current file, read from its start, begin as expected? If not, read the expected content from its copy. */
  private settleExpected(): void {
    const e = this.expected!;
    const k = Math.min(e.length, this.head.length);
    const same = this.head.subarray(0, k).equals(e.subarray(0, k));
    if (same && k < e.length) return; // too little read yet to tell
    this.expected = null;
    if (same) return;
    const splitter = this.newSplitter();
    // the copies newer than that content's are read too, except one of what the file begins with now
    this.recoverFromCopy(e, 0, Buffer.alloc(0), splitter, this.head);
    splitter.flush();
  }

  /**
   * The current file is empty, though it held content beginning with `expected` when its truncation
   * was found: that content was copied and truncated away before it was read (a second copytruncate).
   * Read it from its copy now — nothing may be written after it for a long while — and the file is
   * then empty with nothing of it read (`blindFrom`, from `listed`: the copies there before the read
   * that found it empty; one made after holds content written since).
   */
  private expectedGone(listed: Set<string>): void {
    const e = this.expected!;
    this.expected = null;
    const splitter = this.newSplitter();
    this.recoverFromCopy(e, 0, Buffer.alloc(0), splitter, Buffer.alloc(0));
    splitter.flush();
    this.setBlind(listed);
  }

  /** The current file was truncated (copytruncate): finish its earlier content from its copy, then read it anew. */
  private restartGeneration(): void {
    // the copies there before the file is looked at: should it be empty, a copy made after this
    // listing holds content written since (the recovery below takes time, and logrotate may run
    // meanwhile), so it is not counted among those already there
    const before = this.siblingIds();
    const now = this.liveHead() ?? Buffer.alloc(0); // (unreadable: nothing to expect)
    this.recoverFromCopy(this.head, this.pos, this.fp, this.splitter, now);
    this.splitter.flush();
    this.splitter = this.newSplitter();
    this.pos = 0;
    this.fp = Buffer.alloc(0);
    this.head = Buffer.alloc(0);
    this.expected = now.length > 0 ? now : null;
    this.setBlind(now.length > 0 ? null : before);
  }

  /**
   * Rotated copies beside the file: name.N (N → path and stats) and name-DATE / name.DATE (by path).
   * A listing is a folder read and a stat per name, and logrotate may be renaming meanwhile (name.3 →
   * name.4 after the folder was read: the copy is then missed, or another one seen under its old
   * name). The listing is taken again until two in a row agree (at most five).
   */
  private siblings(): Listing {
    let last = this.listSiblings();
    for (let i = 0; i < 4; i++) {
      const again = this.listSiblings();
      if (sameListing(last.all, again.all, this.f.birthKnown)) return again;
      last = again;
    }
    return last;
  }

  private listSiblings(): { numbered: Map<number, Copy>; all: Copy[] } {
    const dir = dirname(this.path);
    const base = basename(this.path);
    const numbered = new Map<number, Copy>();
    const all: Copy[] = [];
    let names: string[] = [];
    try {
      names = readdirSync(dir).filter((n) => n.startsWith(base) && /^[.-]\d+$/.test(n.slice(base.length)));
    } catch {
      /* folder unreadable: no copies to look at */
    }
    for (const n of names) {
      const p = join(dir, n);
      try {
        const st = statSync(p);
        if (!st.isFile()) continue;
        all.push({ p, st });
        const m = /^\.(\d{1,4})$/.exec(n.slice(base.length));
        if (m) numbered.set(Number(m[1]), { p, st });
      } catch {
        /* gone meanwhile */
      }
    }
    return { numbered, all };
  }

  /**
   * Open a rotated copy as listed by `siblings()`: by its identity, not its name. logrotate may have
   * run again since the listing (name.1 renamed name.2, the current file renamed name.1), and the name
   * would then open another generation. Null when the copy is gone.
   */
  private openCopy(c: Copy): number | null {
    let p: string | undefined = c.p;
    for (let attempt = 0; attempt < 3 && p !== undefined; attempt++) {
      try {
        const fd = openSync(p, 'r');
        const st = fstatSync(fd);
        if (this.idOf(st) === this.idOf(c.st)) return fd;
        closeSync(fd);
      } catch {
        /* gone or renamed meanwhile: look for it again */
      }
      p = this.siblings().all.find((x) => this.idOf(x.st) === this.idOf(c.st))?.p;
    }
    return null;
  }

  /** Read a whole file that was never followed (an intermediate rotation), as its own run of lines. */
  private readWhole(c: Copy): void {
    const fd = this.openCopy(c);
    if (fd === null) return;
    try {
      const splitter = this.newSplitter();
      this.drain(fd, 0, splitter, { left: Number.MAX_SAFE_INTEGER });
      splitter.flush();
      this.readOut(c);
    } finally {
      closeSync(fd);
    }
  }

  /**
   * The file we followed is now the rotated copy number `k`: copies 1 … k-1 are newer and were
   * written, rotated and replaced between two of our checks (several rotations in a row). Read them,
   * oldest first, before the current file.
   */
  private readNewerCopies(numbered: Map<number, Copy>, k: number, known: Set<string>, current?: Buffer): void {
    const followed = this.fd !== null ? this.id() : null;
    for (let j = k - 1; j >= 1; j--) {
      const c = numbered.get(j);
      if (!c) continue;
      const id = this.idOf(c.st);
      // the file followed now, rotated since it was opened (logrotate ran again while the copies were
      // listed): the copies newer than it come after its lines, read at its own rotation
      if (id === followed) return;
      if (known.has(id)) continue;
      // (or of what it holds now: `current` may be some time old)
      if (current && j === 1 && (this.isCopyOf(c, current) || this.isCopyOf(c, this.liveHead() ?? current))) continue;
      this.readWhole(c);
    }
  }

  /**
   * After a copytruncate, the newest copy may be the one logrotate is still making of what the current
   * file holds now (its next rotation, under way): reading both would read that content twice. Such a
   * copy begins as the current file does (`current`, its first bytes); it is left alone and the file
   * read (see `expected` for the case it is truncated before it is read).
   */
  private isCopyOf(c: Copy, current: Buffer): boolean {
    if (current.length === 0) return false;
    const fd = this.openCopy(c);
    if (fd === null) return false;
    try {
      // (what the copy holds so far: it may grow between two calls)
      const h = pread(fd, 0, current.length);
      return h.equals(current.subarray(0, h.length));
    } catch {
      return false;
    } finally {
      closeSync(fd);
    }
  }

  private knownInodes(): Set<string> {
    const known = new Set<string>([...this.retired.map((r) => r.id), ...this.readWholly]);
    if (this.fd !== null) known.add(this.id());
    return known;
  }

  /** After a rename-and-create: the files rotated in between (see readNewerCopies). */
  private readIntermediates(old: string): void {
    const { numbered } = this.siblings();
    for (const [k, c] of numbered) {
      if (this.idOf(c.st) === old) {
        this.readNewerCopies(numbered, k, this.knownInodes());
        return;
      }
    }
  }

  /**
   * After a copytruncate: logrotate copied the file to a sibling (name.1, name-DATE) before truncating
   * it, so the part written after our last read but before the copy is there. The copy is the recent
   * sibling that begins as the content read began (`head`); read it from our offset `pos` (if we had
   * not already read past its end: lines written between logrotate's copy and its truncation), then
   * the copies made since (several rotations between two of our reads), except one of `current`.
   */
  private recoverFromCopy(head: Buffer, pos: number, fp: Buffer, splitter: LineSplitter, current: Buffer): void {
    if (head.length === 0) return;
    // a listing taken while logrotate renames may lack the copy, or a copy newer than it (a number
    // missing below the copy's): looked for again then (see siblings)
    for (let attempt = 0; attempt < 3; attempt++) {
      const { numbered, all } = this.siblings();
      const best = this.copyOf(head, pos, fp, all);
      if (!best) continue;
      const id = this.idOf(best.copy.st);
      const k = [...numbered].find(([, c]) => this.idOf(c.st) === id)?.[0];
      if (k !== undefined && attempt < 2 && Array.from({ length: k - 1 }, (_, j) => j + 1).some((j) => !numbered.has(j))) {
        closeSync(best.fd);
        continue;
      }
      try {
        // (read out already: as a newer copy of an earlier recovery, the content expected being its)
        if (!this.readWholly.includes(id) && fstatSync(best.fd).size >= pos)
          this.drain(best.fd, pos, splitter, { left: Number.MAX_SAFE_INTEGER });
        splitter.flush();
        this.readOut(best.copy);
        if (k !== undefined) this.readNewerCopies(numbered, k, this.knownInodes(), current);
      } finally {
        closeSync(best.fd);
      }
      return;
    }
  }

  /**
   * The recent copy of the content that began with `head` and was read to `pos` (ending with `fp`),
   * opened. It is the one that begins as the content did over the most bytes (the newest on a tie): a
   * copy logrotate is still making of a later generation may hold only a few bytes yet, and those (a
   * date, a host name) can begin every line.
   */
  private copyOf(head: Buffer, pos: number, fp: Buffer, all: Copy[]): { copy: Copy; fd: number } | null {
    const recent = all.filter((x) => Date.now() - x.st.mtimeMs < 600_000).sort((a, b) => b.st.mtimeMs - a.st.mtimeMs);
    let best: { copy: Copy; fd: number; match: number } | null = null;
    for (const copy of recent) {
      const fd = this.openCopy(copy);
      if (fd === null) continue;
      let match = 0;
      try {
        const h = pread(fd, 0, head.length);
        // a copy that holds our offset must begin as the content did, and the bytes before the offset be the ones read last
        if (
          h.length > 0 &&
          h.equals(head.subarray(0, h.length)) &&
          !(fstatSync(fd).size >= pos && (h.length < head.length || !pread(fd, pos - fp.length, fp.length).equals(fp)))
        )
          match = h.length;
      } catch {
        /* unreadable now: not this one */
      }
      if (match > (best?.match ?? 0)) {
        if (best) closeSync(best.fd);
        best = { copy, fd, match };
      } else closeSync(fd);
      if (match === head.length) break;
    }
    return best;
  }

  private retire(now: number): void {
    if (this.fd === null) return;
    this.lastRetired = this.id();
    this.retired.push({ id: this.lastRetired, fd: this.fd, pos: this.pos, splitter: this.splitter, lastData: now });
    this.fd = null;
    this.pos = 0;
    this.fp = Buffer.alloc(0);
    this.head = Buffer.alloc(0);
    this.expected = null;
    this.setBlind(null);
    this.splitter = this.newSplitter();
  }

  private open(st: Stats): boolean {
    // at the first open of a file that was empty when looked at: the copies there before it is looked
    // at again (see blindFrom below)
    const listed = !this.opened && st.size === 0 ? this.siblingIds() : null;
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch (e) {
      const code = errCode(e);
      if (code === 'ENOENT') return false;
      this.report(`cannot read: ${describe(code)}; will keep trying`);
      return false;
    }
    let cur: Stats;
    try {
      cur = fstatSync(fd);
    } catch {
      cur = st;
    }
    this.fd = fd;
    this.dev = cur.dev;
    this.ino = cur.ino;
    this.born = cur.birthtimeMs;
    this.pos = 0;
    this.fp = Buffer.alloc(0);
    this.head = Buffer.alloc(0);
    this.expected = null;
    // empty at the first open (a file re-created after a rename is covered by readIntermediates)
    this.setBlind(cur.size === 0 && !this.opened ? (listed ?? this.siblingIds()) : null);
    if (this.startAtEnd && !this.opened) {
      this.pos = this.lineStartBefore(fd, cur.size);
      this.head = pread(fd, 0, Math.min(this.pos, HEAD_LEN));
      // line numbers count from the file's start, not from where following began
      this.splitter.lineNo = countLines(fd, this.pos);
    }
    this.opened = true;
    this.recovered('readable again');
    return true;
  }

  /** Offset of the start of the line that ends the file (the line being written now is new). */
  private lineStartBefore(fd: number, size: number): number {
    if (size === 0) return 0;
    const from = Math.max(0, size - MAX_LINE);
    const b = Buffer.alloc(size - from);
    const n = readSync(fd, b, 0, b.length, from);
    const nl = b.subarray(0, n).lastIndexOf(NL);
    if (nl < 0) return size;
    const pos = from + nl + 1;
    this.fp = Buffer.from(b.subarray(Math.max(0, nl + 1 - FP_LEN), nl + 1));
    return pos;
  }

  /** Read what is new; notice rotation, truncation, deletion and re-creation. */
  check(now: number): void {
    this.again = false;
    const budget = { left: TURN_BUDGET };
    // 1. renamed/deleted files still being written by a writer that has not reopened yet
    for (const r of this.retired) {
      const before = r.pos;
      r.pos = this.drain(r.fd, r.pos, r.splitter, budget);
      if (r.pos !== before) r.lastData = now;
    }
    // 2. the current file: truncated? then what it holds after our offset
    if (this.fd !== null) {
      let size = -1;
      try {
        size = fstatSync(this.fd).size;
      } catch {
        /* keep the old offset; the stat of the path below decides */
      }
      if (size >= 0 && size < this.pos) this.restartGeneration();
      if (!this.drainLive(budget)) {
        this.restartGeneration();
        if (!this.drainLive(budget)) this.again = true; // truncated again meanwhile: next turn
      }
    }
    // 3. the path: still the file we read? renamed away, deleted, re-created?
    let st: Stats | null = null;
    try {
      st = statSync(this.path);
      if (!st.isFile()) {
        this.report(st.isDirectory() ? 'is a folder, not a file' : 'not a regular file');
        st = null;
      }
    } catch (e) {
      const code = errCode(e);
      if (code !== 'ENOENT' && code !== 'ENOTDIR') this.report(`cannot read: ${describe(code)}; will keep trying`);
    }
    if (st === null) {
      if (this.fd !== null) this.retire(now);
      this.missingSince ??= now;
    } else {
      if (this.fd !== null && (st.ino !== this.ino || st.dev !== this.dev)) this.retire(now);
      if (this.fd === null && this.open(st)) {
        if (this.f.reportedMissing.delete(this.path)) this.f.events.notice(this.path, 'is back; following it', 'recovered');
        this.missingSince = null;
        if (this.lastRetired !== null) this.readIntermediates(this.lastRetired);
        this.lastRetired = null;
        if (!this.drainLive(budget)) this.again = true;
      }
      // the path is there: a file that cannot be opened is said unreadable (above), not missing
      this.missingSince = null;
    }
    // 4. close renamed files that have gone quiet
    this.retired = this.retired.filter((r) => {
      if (now - r.lastData < this.f.retireQuietMs) return true;
      r.splitter.flush();
      try {
        closeSync(r.fd);
      } catch {
        /* already closed */
      }
      return false;
    });
    this.f.events.idle?.(this.path);
  }

  close(): void {
    for (const r of this.retired) {
      r.splitter.flush();
      try {
        closeSync(r.fd);
      } catch {
        /* already closed */
      }
    }
    this.retired = [];
    if (this.fd !== null) {
      try {
        closeSync(this.fd);
      } catch {
        /* already closed */
      }
      this.fd = null;
    }
  }
}

/** Follows files, folders and globs; see the module comment. */
export class FileFollower {
  readonly targets: WatchTarget[];
  readonly readBuf = Buffer.alloc(READ_SIZE);
  /** Birth times are real here (see birthTimesKnown). */
  readonly birthKnown = birthTimesKnown();
  readonly retireQuietMs: number;
  readonly reportedMissing = new Set<string>();
  private readonly tails = new Map<string, FileTail>();
  private watchers: (FSWatcher | null)[] = [];
  private timer: NodeJS.Timeout | null = null;
  private ready = false;
  private closed = false;
  private polling: boolean;
  private pendingChecks = new Set<string>();
  private checkScheduled = false;
  private readonly missingRoots = new Set<number>();
  /** inotify on the folder of each followed file: renames and re-creations are seen at once. */
  private readonly dirWatchers = new Map<string, DirWatcher | null>();

  constructor(
    operands: string[],
    readonly events: FollowEvents,
    private readonly opts: FollowOptions,
  ) {
    this.targets = watchTargets(operands);
    this.retireQuietMs = opts.retireQuietMs ?? 30_000;
    this.polling = opts.usePolling ?? false;
  }

  /** Paths followed now. */
  followed(): string[] {
    return [...this.tails.values()].filter((t) => t.fd !== null).map((t) => t.path);
  }

  /** Start: explicit files are opened at once (at their end unless fromStart), then the watchers discover the rest. */
  async start(): Promise<void> {
    const now = Date.now();
    for (const t of this.targets) {
      if (t.kind === 'file') this.tailFor(t.root, true).check(now);
    }
    await Promise.all(this.targets.map((_, i) => this.startWatcher(i)));
    this.ready = true;
    // from now on a file that appears is new: read it from its start
    for (const t of this.tails.values()) t.startAtEnd = false;
    this.timer = setInterval(() => this.tick(), this.opts.pollMs ?? 500);
  }

  private tailFor(path: string, explicit: boolean): FileTail {
    let t = this.tails.get(path);
    if (!t) {
      t = new FileTail(path, explicit, !this.opts.fromStart && !this.ready, this);
      this.tails.set(path, t);
      this.watchDir(dirname(path));
    }
    return t;
  }

  /**
   * chokidar watches a named file's inode and may learn of its rotation late; a watch on its folder
   * reports the rename and the re-creation as they happen (the poll covers a folder not there yet).
   */
  private watchDir(dir: string): void {
    if (this.polling || this.dirWatchers.get(dir)) return;
    try {
      const w = fsWatch(dir, { persistent: false }, (_ev, name) => {
        if (this.closed) return;
        const p = name ? join(dir, name.toString()) : null;
        if (p !== null) {
          if (this.tails.has(p)) this.scheduleCheck(p);
          return;
        }
        for (const path of this.tails.keys()) if (dirname(path) === dir) this.scheduleCheck(path);
      });
      w.on('error', () => {
        w.close();
        this.dirWatchers.set(dir, null);
      });
      this.dirWatchers.set(dir, w);
    } catch {
      this.dirWatchers.set(dir, null); // not there yet, or out of inotify watches: the poll covers it
    }
  }

  private startWatcher(i: number): Promise<void> {
    const t = this.targets[i]!;
    const parent = t.kind === 'file' ? dirname(t.root) : t.root;
    if (!existsSync(parent)) {
      // a named file's absence is reported by its tail; a folder's or a glob's here
      if (!this.missingRoots.has(i) && t.kind !== 'file')
        this.events.notice(t.operand, `folder ${parent} does not exist (yet); waiting for it`, 'problem');
      this.missingRoots.add(i);
      this.watchers[i] = null;
      return Promise.resolve();
    }
    if (this.missingRoots.delete(i) && t.kind !== 'file')
      this.events.notice(t.operand, `folder ${parent} is there now; watching it`, 'recovered');
    // loaded only by watch, not by every command that imports this module's types
    const { watch } = createRequire(import.meta.url)('chokidar') as typeof import('chokidar');
    const w = watch(t.root, {
      persistent: true,
      ignoreInitial: false,
      depth: t.depth,
      usePolling: this.polling,
      interval: 1000,
      atomic: false,
      ignored: t.kind === 'file' ? undefined : (p: string, st?: Stats) => st !== undefined && st.isFile() && !t.claims(p),
    });
    this.watchers[i] = w;
    const onPath = (p: string) => {
      if (this.closed) return;
      const abs = resolve(p);
      if (!t.claims(abs)) return;
      if (!this.tails.has(abs)) this.tailFor(abs, t.kind === 'file');
      // during the first scan, check at once so that the file is opened at its end as it is now
      if (this.ready) this.scheduleCheck(abs);
      else this.checkOne(abs, Date.now());
    };
    w.on('add', onPath);
    w.on('change', onPath);
    w.on('unlink', onPath);
    w.on('error', (e: unknown) => this.watcherError(i, e));
    return new Promise((res) => w.once('ready', () => res()));
  }

  private watcherError(i: number, e: unknown): void {
    const code = errCode(e);
    if ((code === 'ENOSPC' || code === 'EMFILE') && !this.polling) {
      this.events.notice(this.targets[i]!.operand, `inotify: ${code} (too many watches); falling back to polling every second`, 'problem');
      this.polling = true;
      void this.restartWatchers();
      return;
    }
    this.events.notice(this.targets[i]!.operand, `watch error: ${code}`, 'problem');
  }

  private async restartWatchers(): Promise<void> {
    const old = this.watchers;
    this.watchers = [];
    await Promise.all(old.map((w) => w?.close()));
    if (!this.closed) await Promise.all(this.targets.map((_, i) => this.startWatcher(i)));
  }

  /** Coalesce the events of one turn: each touched file is checked once, right after. */
  private scheduleCheck(path: string): void {
    this.pendingChecks.add(path);
    if (this.checkScheduled) return;
    this.checkScheduled = true;
    setImmediate(() => {
      this.checkScheduled = false;
      const paths = [...this.pendingChecks];
      this.pendingChecks.clear();
      const now = Date.now();
      for (const p of paths) this.checkOne(p, now);
    });
  }

  private checkOne(path: string, now: number): void {
    if (this.closed) return;
    const t = this.tails.get(path);
    if (!t) return;
    t.check(now);
    if (t.again) this.scheduleCheck(path);
    // files found through folders and globs come and go with rotation: forget one once gone and drained
    if (!t.explicit && t.fd === null && t.retired.length === 0 && t.problem === null) {
      this.tails.delete(path);
      t.close();
    }
  }

  private tick(): void {
    if (this.closed) return;
    const now = Date.now();
    for (const p of [...this.tails.keys()]) {
      this.checkOne(p, now);
      if (this.tails.has(p) && this.dirWatchers.get(dirname(p)) === null) {
        this.dirWatchers.delete(dirname(p));
        this.watchDir(dirname(p));
      }
    }
    const grace = this.opts.missingGraceMs ?? 2000;
    for (const t of this.tails.values()) {
      if (t.explicit && t.missingSince !== null && now - t.missingSince >= grace && !this.reportedMissing.has(t.path)) {
        this.reportedMissing.add(t.path);
        this.events.notice(
          t.path,
          t.opened ? 'deleted or renamed away; waiting for it to come back' : 'does not exist (yet); waiting for it',
          'problem',
        );
      }
    }
    this.missingRoots.forEach((i) => {
      const t = this.targets[i]!;
      if (existsSync(t.kind === 'file' ? dirname(t.root) : t.root)) void this.startWatcher(i);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.all(this.watchers.map((w) => w?.close()));
    for (const w of this.dirWatchers.values()) w?.close();
    this.dirWatchers.clear();
    for (const t of this.tails.values()) t.close();
    this.tails.clear();
  }
}
