/**
 * Incremental reading for `xendoctor report`: per log file, read only what is new since the last
 * run, across any rotation in between.
 *
 * A file is remembered by a `FileMark`: device and inode, the offset read up to (always a line end),
 * the line count there, a fingerprint of its first bytes (`head`) and of the bytes just before the
 * offset (`tail`). At the next run:
 *
 * - the live file has the same inode, is at least as long, and both fingerprints still hold: read on
 *   from the offset;
 * - otherwise it was rotated (renamed and re-created, copied and truncated, compressed, or replaced):
 *   the generation that holds what was read last time is looked for among the rotated files
 *   (`name.1`, `name.2.gz`, `name-20261120`…), first by inode (a rename keeps it), then by content
 *   (a copy or a compressed file keeps the fingerprints); its unread rest is read, then every newer
 *   generation whole, then the live file from its start;
 * - nothing was read of the file last time (it was empty): every generation newer than the newest
 *   one seen last time is read whole, then the live file;
 * - nothing holds the old content: the live file is read from its start, with a note that lines may
 *   be missing;
 * - a copy copytruncate is still making (the live file still begins with all of it) is no rotated file
 *   yet: its lines are read from the live file, and found in the copy by content after the truncation.
 *
 * The generation rotated away last is remembered too, so that lines a daemon still writes to it
 * (before it is told to reopen its log, or until delaycompress compresses it) are read as well.
 *
 * Every file to read is opened while planning and read through that descriptor, so a rotation during
 * the run does not disturb the read; each plain file's fingerprints are checked again after reading,
 * and a file truncated while it was read (copytruncate during the run) makes the caller run again.
 * A rotated file is closed as soon as it has been read (a first run may read hundreds of them).
 */
import { closeSync, constants, fstatSync, openSync, read, readdirSync, readSync, statSync, type Stats } from 'node:fs';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { createGunzip } from 'node:zlib';
import type { Input } from './inputs.js';
import { rotationOrder } from './inputs.js';
import type { FileMark, Fingerprint, GenerationMark, SeenGeneration, TrackedFile } from '../state/state.js';

/** Bytes of a file's beginning that identify it. */
export const HEAD_BYTES = 4096;
/** Bytes before the offset that must still be there. */
export const TAIL_BYTES = 512;
/** A line held back (not yet ended) is read anyway once it is this long. */
const MAX_HELD = 1024 * 1024;

const NL = 10;

function sha(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex').slice(0, 32);
}

export function fingerprint(buf: Buffer): Fingerprint {
  return { len: buf.length, hash: sha(buf) };
}

/** Up to `len` bytes of an open file from `pos` (fewer at its end). */
export function pread(fd: number, pos: number, len: number): Buffer {
  const b = Buffer.alloc(len);
  let got = 0;
  while (got < len) {
    const n = readSync(fd, b, got, len - got, pos + got);
    if (n === 0) break;
    got += n;
  }
  return b.subarray(0, got);
}

function countNl(buf: Buffer): number {
  let n = 0;
  for (let i = buf.indexOf(NL); i >= 0; i = buf.indexOf(NL, i + 1)) n++;
  return n;
}

/**
 * A file met while planning: a rotated generation or the live file. Listed by stat; opened only when
 * its content is needed (and then read only through that descriptor, whatever is renamed meanwhile).
 */
export class LogFile {
  private handle = -1;
  /** Its content is gzip (by magic bytes; known once opened). */
  gz: boolean;
  /** It vanished or changed between listing and opening. */
  failed = false;

  constructor(
    readonly path: string,
    public st: Stats,
    /** rotationOrder: larger is newer, the live file is 0. */
    readonly order: number,
  ) {
    this.gz = path.endsWith('.gz');
  }

  /** Open (again) if need be; false when the file is no longer the one listed. */
  open(): boolean {
    if (this.handle >= 0) return true;
    if (this.failed) return false;
    let fd: number;
    try {
      // O_NONBLOCK: a FIFO (or device) in the way must not hang the run; for a regular file it changes nothing
      fd = openSync(this.path, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch {
      this.failed = true;
      return false;
    }
    const st = fstatSync(fd);
    if (!st.isFile() || st.dev !== this.st.dev || st.ino !== this.st.ino) {
      closeSync(fd);
      this.failed = true;
      return false;
    }
    this.handle = fd;
    this.st = st;
    const magic = pread(fd, 0, 2);
    this.gz = magic.length === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
    return true;
  }

  get isOpen(): boolean {
    return this.handle >= 0;
  }

  get fd(): number {
    if (this.handle < 0) throw new Error(`${this.path} is not open`);
    return this.handle;
  }

  close(): void {
    if (this.handle < 0) return;
    try {
      closeSync(this.handle);
    } catch {
      /* closed */
    }
    this.handle = -1;
  }
}

const CHUNK = 1024 * 1024;

/**
 * Bytes [start, end) of a file through its descriptor (positioned reads: the descriptor is shared and
 * stays open; a stream would close it when destroyed).
 */
async function* readFd(fd: number, start: number, end = Infinity): AsyncGenerator<Buffer> {
  let pos = start;
  while (pos < end) {
    const len = Math.min(CHUNK, end - pos);
    const buf = Buffer.allocUnsafe(len);
    const n = await new Promise<number>((res, rej) => read(fd, buf, 0, len, pos, (e, got) => (e ? rej(e) : res(got))));
    if (n === 0) break;
    pos += n;
    yield buf.subarray(0, n);
  }
}

/** The uncompressed content of a gzip file, read through its descriptor from the start. */
async function* gunzipFd(f: LogFile): AsyncGenerator<Buffer> {
  const raw = Readable.from(readFd(f.fd, 0), { objectMode: false });
  const gunzip = createGunzip({ chunkSize: 256 * 1024 });
  raw.on('error', (e) => gunzip.destroy(e));
  raw.pipe(gunzip);
  try {
    for await (const c of gunzip) yield c as Buffer;
  } catch (e) {
    const msg = (e as Error).message;
    throw new Error(
      /unexpected end of file/i.test(msg) ? 'truncated gzip data (the file ends before the compressed stream does)' : `gzip: ${msg}`,
    );
  } finally {
    raw.unpipe(gunzip);
    raw.destroy();
    gunzip.destroy();
  }
}

/** The bytes of a file's beginning and just before `offset`, when a mark's fingerprints hold for it; else null. */
export interface Prefix {
  head: Buffer;
  tail: Buffer;
}

function verifyPlain(f: LogFile, m: FileMark): Prefix | null {
  if (f.st.size < m.offset) return null;
  const head = pread(f.fd, 0, m.head.len);
  if (head.length !== m.head.len || sha(head) !== m.head.hash) return null;
  const tail = pread(f.fd, m.offset - m.tail.len, m.tail.len);
  if (tail.length !== m.tail.len || sha(tail) !== m.tail.hash) return null;
  return { head, tail };
}

async function verifyGz(f: LogFile, m: FileMark): Promise<Prefix | null> {
  const headParts: Buffer[] = [];
  const tailParts: Buffer[] = [];
  let headGot = 0;
  let pos = 0;
  const tailFrom = m.offset - m.tail.len;
  try {
    for await (const c of gunzipFd(f)) {
      if (headGot < m.head.len) {
        const take = c.subarray(0, m.head.len - headGot);
        headParts.push(take);
        headGot += take.length;
        if (headGot === m.head.len && sha(Buffer.concat(headParts)) !== m.head.hash) return null;
      }
      const a = Math.max(tailFrom, pos);
      const b = Math.min(m.offset, pos + c.length);
      if (b > a) tailParts.push(c.subarray(a - pos, b - pos));
      pos += c.length;
      if (pos >= m.offset && headGot >= m.head.len) break;
    }
  } catch {
    return null; // a corrupt or truncated archive holds nothing we can continue from
  }
  if (pos < m.offset || headGot < m.head.len) return null;
  const head = Buffer.concat(headParts);
  const tail = Buffer.concat(tailParts);
  if (sha(tail) !== m.tail.hash) return null;
  return { head, tail };
}

async function headOf(f: LogFile): Promise<Buffer> {
  if (!f.gz) return pread(f.fd, 0, HEAD_BYTES);
  const parts: Buffer[] = [];
  let got = 0;
  try {
    for await (const c of gunzipFd(f)) {
      parts.push(c);
      got += c.length;
      if (got >= HEAD_BYTES) break;
    }
  } catch {
    /* what could be read */
  }
  return Buffer.concat(parts).subarray(0, HEAD_BYTES);
}

/**
 * One stretch of one file to analyse: from `start` (a line end) to the end, or, for the live file, to
 * its size when planned, stopping at the last line end. An `Input` for `scanInputs`; after reading it
 * knows where it ended, for the next mark.
 */
export class Segment implements Input {
  /**
   * A stream, not a 'file': scanInputs may read a 'file' input again by its path from the start (on
   * worker threads), while a segment is a window of a file that only open() gives.
   */
  readonly kind = 'command' as const;
  readonly host = null;
  readonly name: string;
  readonly mtime: number;
  readonly size: number | null;
  /** Line number of the line before the first one read (add to the numbers counted from 1). */
  readonly lineBase: number;
  end: number;
  lines: number;
  private head: Buffer;
  private tail: Buffer;
  private lastByte = NL;
  read = false;
  /** For a rotated file, closed once read: whether it was still as read. */
  private checked: boolean | null = null;
  /** It could not be opened when its turn came. */
  private lost = false;

  constructor(
    readonly file: LogFile,
    readonly start: number,
    startLines: number,
    prefix: Prefix,
    /** Read to the very end (a rotated file, complete), rather than stopping at the last line end. */
    readonly toEof: boolean,
    /**
     * The live file's first bytes when the run was planned, for a segment that starts at 0 without a
     * verified prefix: a copytruncate between planning and reading replaces what was planned (which is
     * then in the copy) by new content, and reading that instead must count as inconsistent.
     */
    private readonly planned: Buffer | null = null,
  ) {
    this.name = file.path;
    this.mtime = file.st.mtimeMs;
    this.size = file.gz ? null : Math.max(0, file.st.size - start);
    this.lineBase = startLines;
    this.end = start;
    this.lines = startLines;
    this.head = prefix.head;
    this.tail = prefix.tail;
  }

  /** Could there be anything to read? */
  get hasWork(): boolean {
    return this.file.gz || this.file.st.size > this.start;
  }

  private consume(c: Buffer): void {
    if (c.length === 0) return;
    this.end += c.length;
    this.lines += countNl(c);
    this.lastByte = c[c.length - 1]!;
    if (this.head.length < HEAD_BYTES) this.head = Buffer.concat([this.head, c.subarray(0, HEAD_BYTES - this.head.length)]);
    this.tail =
      c.length >= TAIL_BYTES ? Buffer.from(c.subarray(c.length - TAIL_BYTES)) : Buffer.concat([this.tail, c]).subarray(-TAIL_BYTES);
  }

  async *open(): AsyncGenerator<Buffer> {
    this.read = true;
    const f = this.file;
    if (!f.open()) {
      // renamed or removed since it was planned (a rotation during the run): the caller plans again
      this.lost = true;
      return;
    }
    let src: AsyncIterable<Buffer>;
    if (f.gz) {
      src = gunzipFd(f);
    } else {
      if (f.st.size <= this.start) return;
      // the live file up to its size when planned (the rest is the next run's); a rotated one to its end
      src = readFd(f.fd, this.start, this.toEof ? Infinity : f.st.size);
    }
    try {
      yield* this.pass(src, f.gz ? this.start : 0);
    } finally {
      if (this.toEof) {
        this.checked = this.check();
        f.close();
      }
    }
  }

  private async *pass(src: AsyncIterable<Buffer>, skip: number): AsyncGenerator<Buffer> {
    let held: Buffer | null = null;
    for await (let c of src) {
      if (skip > 0) {
        if (c.length <= skip) {
          skip -= c.length;
          continue;
        }
        c = c.subarray(skip);
        skip = 0;
      }
      if (!this.toEof) {
        if (held) {
          c = Buffer.concat([held, c]);
          held = null;
        }
        const nl = c.lastIndexOf(NL);
        if (nl < 0 && c.length < MAX_HELD) {
          held = c;
          continue;
        }
        if (nl >= 0 && nl + 1 < c.length) {
          held = Buffer.from(c.subarray(nl + 1));
          c = c.subarray(0, nl + 1);
        }
      }
      this.consume(c);
      yield c;
    }
    if (this.toEof && this.end > this.start && this.lastByte !== NL) this.lines++; // a last line without its end
  }

  /** After reading: do the bytes read still sit where they were (no truncation or rewrite meanwhile)? */
  consistent(): boolean {
    return !this.lost && (this.checked ?? this.check());
  }

  private check(): boolean {
    if (this.planned && this.planned.length > 0 && !pread(this.file.fd, 0, this.planned.length).equals(this.planned)) return false;
    if (this.file.gz || this.end === 0) return true;
    const headLen = Math.min(HEAD_BYTES, this.end);
    const now = pread(this.file.fd, 0, headLen);
    if (!now.equals(this.head.subarray(0, headLen))) return false;
    const tailNow = pread(this.file.fd, this.end - this.tail.length, this.tail.length);
    return tailNow.equals(this.tail);
  }

  /** Where the next run goes on from. */
  mark(): FileMark {
    const st = this.file.st;
    return {
      dev: st.dev,
      ino: st.ino,
      offset: this.end,
      lines: this.lines,
      head: fingerprint(this.head.subarray(0, Math.min(HEAD_BYTES, this.end))),
      tail: fingerprint(this.tail.subarray(Math.max(0, this.tail.length - Math.min(TAIL_BYTES, this.end)))),
      size: st.size,
      mtime: st.mtimeMs,
    };
  }
}

const EMPTY: Prefix = { head: Buffer.alloc(0), tail: Buffer.alloc(0) };

/** Names of the rotated generations of `path` in its folder (name.1, name.2.gz, name-20261120…). */
function generationNames(path: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dirname(path));
  } catch {
    return [];
  }
  const own = basename(path);
  return names
    .filter((n) => n !== own && n.startsWith(own))
    .filter((n) => {
      const [base, order] = rotationOrder(join(dirname(path), n));
      return base === path && order !== 0;
    })
    .sort();
}

/** A file listed by stat (not opened yet); null when absent or not a regular file. */
function statFile(path: string, problem?: (message: string) => void): LogFile | null {
  let st: Stats;
  try {
    st = statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') problem?.(code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (e as Error).message);
    return null;
  }
  if (!st.isFile()) {
    problem?.('not a regular file');
    return null;
  }
  return new LogFile(path, st, rotationOrder(path)[1]);
}

/** What was found for one tracked file, and the segments to read. */
export interface FilePlan {
  path: string;
  segments: Segment[];
  /** Possible loss of lines, for the report's input errors. */
  notes: string[];
  /** What was recognised (rotations…), for the curious. */
  events: string[];
  /** The live file exists. */
  live: boolean;
  /** The directory listing or the live file changed while planning. */
  unstable: boolean;
  newestGen: GenerationMark | null;
  close(): void;
  /** The state to keep for this file after a successful run (undefined: keep the previous one). */
  commit(): TrackedFile | undefined;
  /** After reading: were all files still as planned? */
  consistent(): boolean;
}

/**
 * The file a mark was taken of: same device and inode and, where the file system keeps birth times,
 * born no later than the mark saw it last written (an inode number freed and reused by a file made
 * since, such as a compressed generation, is another file: with an empty mark no content tells).
 */
function sameIdentity(st: Stats, m: { dev: number; ino: number; mtime?: number }): boolean {
  return st.dev === m.dev && st.ino === m.ino && !(m.mtime !== undefined && st.birthtimeMs > 0 && st.birthtimeMs > m.mtime);
}

async function verify(g: LogFile, m: FileMark): Promise<Prefix | null> {
  if (!g.open()) return null;
  return g.gz ? verifyGz(g, m) : verifyPlain(g, m);
}

async function findGeneration(gens: LogFile[], m: FileMark, used: Set<LogFile>): Promise<{ gen: LogFile; prefix: Prefix } | null> {
  // a rename keeps the inode (checked by content too: inodes are reused)
  for (const g of gens) {
    // a mark is of a plain file: a compressed one with its inode number is another file
    if (used.has(g) || !sameIdentity(g.st, m) || g.path.endsWith('.gz')) continue;
    const prefix = await verify(g, m);
    if (prefix) return { gen: g, prefix };
  }
  if (m.head.len === 0) return null; // an empty mark cannot be recognised by its content
  // a copy (copytruncate) or a compressed file keeps the content
  for (const g of gens) {
    if (used.has(g)) continue;
    const prefix = await verify(g, m);
    if (prefix) return { gen: g, prefix };
    g.close();
  }
  return null;
}

async function findNewestGen(gens: LogFile[], m: GenerationMark): Promise<LogFile | null> {
  for (const g of gens) {
    if (sameIdentity(g.st, m) && g.open() && !g.gz && sha(pread(g.fd, 0, m.head.len)) === m.head.hash) return g;
  }
  if (m.head.len === 0) return null;
  for (const g of gens) {
    if (!g.open()) continue;
    const h = await headOf(g);
    if (h.length >= m.head.len && sha(h.subarray(0, m.head.len)) === m.head.hash) return g;
    g.close();
  }
  return null;
}

/** The uncompressed first bytes of generations, read once per plan. */
type Heads = Map<LogFile, Buffer | null>;

async function headCached(g: LogFile, heads: Heads): Promise<Buffer | null> {
  if (!heads.has(g)) heads.set(g, g.open() ? await headOf(g) : null);
  return heads.get(g)!;
}

const startsWith = (head: Buffer | null, fp: Fingerprint) =>
  head !== null && head.length >= fp.len && sha(head.subarray(0, fp.len)) === fp.hash;

/**
 * The generations that are new since the last run: those that are none of the ones it saw (`known`),
 * whatever their names sort like (a `name.1` left from before `dateext` sorts as newer than every
 * `name-DATE`). A known generation is recognised by identity, size and mtime (unchanged: not read),
 * else by identity and first bytes (written to since), else by first bytes (compressed or copied
 * since). `ambiguous`: a known generation's first bytes begin more than one unrecognised one.
 */
async function freshGenerations(gens: LogFile[], known: SeenGeneration[], heads: Heads): Promise<{ fresh: LogFile[]; ambiguous: boolean }> {
  const claimed = new Set<LogFile>();
  let rest: SeenGeneration[] = [];
  for (const k of known) {
    const g = gens.find((x) => !claimed.has(x) && sameIdentity(x.st, k) && x.st.size === k.size && x.st.mtimeMs === k.mtime);
    if (g) {
      claimed.add(g);
      heads.set(g, null); // not needed: remembered
    } else rest.push(k);
  }
  const unmatched: SeenGeneration[] = [];
  for (const k of rest) {
    const g = gens.find((x) => !claimed.has(x) && sameIdentity(x.st, k));
    if (g && (k.head.len === 0 || startsWith(await headCached(g, heads), k.head))) claimed.add(g);
    else unmatched.push(k);
  }
  rest = unmatched;
  let ambiguous = false;
  for (const k of rest) {
    if (k.head.len === 0) continue; // an empty generation: nothing was in it to read again
    const cands: LogFile[] = [];
    for (const g of gens) if (!claimed.has(g) && startsWith(await headCached(g, heads), k.head)) cands.push(g);
    if (cands.length === 0) continue; // removed since (rotated out)
    if (cands.length > 1) ambiguous = true;
    claimed.add(cands[0]!);
  }
  return { fresh: gens.filter((g) => !claimed.has(g)), ambiguous };
}

async function planOnce(path: string, prev: TrackedFile | undefined): Promise<FilePlan> {
  const names = generationNames(path);
  // generations, newest first; name.N and name.N.gz together (compression in progress) count once, the plain one
  const byOrder = new Map<number, LogFile>();
  let unstable = false;
  for (const n of names) {
    // a folder or a FIFO named like a generation is no rotation in progress: not tried again (8 times, 3.6 s)
    let notFile = false;
    const f = statFile(join(dirname(path), n), () => (notFile = true));
    if (!f) {
      if (!notFile) unstable = true; // vanished between listing and looking: rotation in progress
      continue;
    }
    const other = byOrder.get(f.order);
    if (!other || (other.gz && !f.gz)) byOrder.set(f.order, f);
  }
  const gens = [...byOrder.values()].sort((a, b) => b.order - a.order);
  const notes: string[] = [];
  let live = statFile(path, (message) => notes.push(`cannot read ${path}: ${message}`));
  if (live && !live.open()) {
    live = null;
    unstable = true;
  }
  // the rotated files (not the live file under another name), less a copy copytruncate is making, or
  // made and has not truncated after yet: the live file still holds all of it and is read instead
  // (read as a generation too, its lines were read twice; remembered as one, the copy's own lines
  // were found nowhere once the live file was truncated)
  const copying = (g: LogFile, liveNow: number) => live !== null && copyBeingMade(g, live, liveNow);
  const liveNow = live ? fstatSync(live.fd).size : 0;
  const copies = live ? gens.filter((g) => copying(g, liveNow)) : [];
  const liveGens = live ? gens.filter((g) => !sameIdentity(g.st, { dev: live.st.dev, ino: live.st.ino }) && !copies.includes(g)) : gens;
  const all = [...gens, ...(live ? [live] : [])];

  const segments: Segment[] = [];
  const events: string[] = [];
  const used = new Set<LogFile>();
  // what the live file begins with now (see Segment's `planned`)
  const liveHead = live ? pread(live.fd, 0, Math.min(HEAD_BYTES, live.st.size)) : null;
  const liveFrom = (start: number, lines: number, prefix: Prefix) => {
    if (live) segments.push(new Segment(live, start, lines, prefix, false, start === 0 ? liveHead : null));
  };
  const heads: Heads = new Map();
  const known = prev?.gens;
  const news = known ? await freshGenerations(liveGens, known, heads) : null;
  if (news?.ambiguous)
    notes.push(`${path}: some rotated files begin like others read before and cannot be told apart: lines may be missing or read twice`);
  const readWhole = (gs: LogFile[], byTime = false) => {
    // new generations of a set whose naming changed (numbers, then dates): by when they were last written
    const order = byTime
      ? (a: LogFile, b: LogFile) => a.st.mtimeMs - b.st.mtimeMs || a.order - b.order
      : (a: LogFile, b: LogFile) => a.order - b.order;
    for (const g of gs.slice().sort(order)) {
      if (used.has(g)) continue;
      used.add(g);
      segments.push(new Segment(g, 0, 0, EMPTY, true)); // opened when read (a first run may read hundreds)
    }
  };

  // the generation rotated away last time: lines written to it late
  if (prev?.rotated) {
    const found = await findGeneration(liveGens, prev.rotated, used);
    // unless it holds what the live file held last time: a copy copytruncate had just created (empty)
    // when it was planned, filled since with lines read from the live file; it is read on from where
    // the live file was read to, below
    if (found && !(prev.current.offset > 0 && (await verify(found.gen, prev.current)) !== null)) {
      used.add(found.gen);
      segments.push(new Segment(found.gen, prev.rotated.offset, prev.rotated.lines, found.prefix, true));
    }
  }

  if (!prev) {
    // the first run: everything the logs hold, the rotated set oldest first
    readWhole(liveGens.filter((g) => !used.has(g)));
    liveFrom(0, 0, EMPTY);
  } else {
    const m = prev.current;
    const same = live !== null && sameIdentity(live.st, m);
    const continued = live && same ? verifyPlain(live, m) : null;
    if (m.offset === 0 && news) {
      // nothing was read of it last time: every generation not seen then is new, and the file itself
      // if it is a rotated one now (seen then as one, when the run found no live file: written since)
      const itself = same ? null : liveGens.find((g) => !g.path.endsWith('.gz') && sameIdentity(g.st, m));
      readWhole(itself && !news.fresh.includes(itself) ? [itself, ...news.fresh] : news.fresh, true);
      if (segments.some((s) => s.start === 0 && s.toEof)) events.push(`${path}: rotated while empty; read the new rotated files`);
      liveFrom(0, 0, EMPTY);
    } else if (m.offset === 0) {
      // (a state of an earlier version) every generation since the newest one seen then is new
      if (prev.newestGen === null || prev.newestGen === undefined) {
        if (prev.newestGen === null) readWhole(liveGens.filter((g) => !used.has(g)));
      } else {
        const seen = await findNewestGen(liveGens, prev.newestGen);
        if (seen) readWhole(liveGens.filter((g) => g.order > seen.order && g.st.mtimeMs >= seen.st.mtimeMs));
        else if (!same)
          notes.push(`${path} was rotated more than its rotated files show: lines written to it after the last run may be missing`);
      }
      if (segments.some((s) => s.start === 0 && s.toEof)) events.push(`${path}: rotated while empty; read the new rotated files`);
      liveFrom(0, 0, EMPTY);
    } else if (continued) {
      liveFrom(m.offset, m.lines, continued);
    } else {
      const found = await findGeneration(liveGens, m, used);
      if (found) {
        used.add(found.gen);
        events.push(`${path}: rotated; the rest of ${found.gen.path} from line ${m.lines + 1}, then what came after`);
        segments.push(new Segment(found.gen, m.offset, m.lines, found.prefix, true));
        // newer: later in the rotation order, and last written after it (a rotation that switched
        // to date extensions leaves numbered files that sort as newer but are older)
        if (news) readWhole(news.fresh, true);
        else readWhole(liveGens.filter((g) => g.order > found.gen.order && g.st.mtimeMs >= found.gen.st.mtimeMs));
        liveFrom(0, 0, EMPTY);
      } else {
        const replacement = live && !same ? verifyPlain(live, m) : null;
        if (replacement) {
          events.push(`${path}: replaced by a file that continues it`);
          liveFrom(m.offset, m.lines, replacement);
        } else if (live) {
          notes.push(
            same
              ? `${path} was truncated or rewritten and no rotated copy of its earlier content was found: lines written after the last run and before that may be missing`
              : `${path} was replaced and its earlier content was not found among its rotated files: lines written to it after the last run may be missing`,
          );
          liveFrom(0, 0, EMPTY);
        } else {
          notes.push(`${path} is gone and its earlier content was not found among its rotated files`);
        }
      }
    }
  }

  // what to remember of the generations: all of them (with their first bytes), and the newest one
  const seen: SeenGeneration[] = [];
  const before = new Map((known ?? []).map((k) => [`${k.dev}:${k.ino}:${k.size}:${k.mtime}`, k.head]));
  for (const g of liveGens) {
    const remembered = before.get(`${g.st.dev}:${g.st.ino}:${g.st.size}:${g.st.mtimeMs}`);
    let head: Fingerprint;
    if (remembered) head = remembered;
    else {
      const h = heads.get(g) ?? (await headCached(g, heads));
      if (h === null) {
        unstable = true; // vanished since listed
        continue;
      }
      head = fingerprint(h);
    }
    seen.push({ dev: g.st.dev, ino: g.st.ino, head, size: g.st.size, mtime: g.st.mtimeMs });
  }
  let newestGen: GenerationMark | null = null;
  if (liveGens.length > 0) {
    const g = liveGens[0]!;
    if (g.open()) newestGen = { dev: g.st.dev, ino: g.st.ino, head: fingerprint(await headOf(g)) };
    else unstable = true;
  }
  for (const g of gens) if (!used.has(g)) g.close();
  if (generationNames(path).join('\n') !== names.join('\n')) unstable = true;
  if (live) {
    const again = statFile(path);
    if (!again || !sameIdentity(again.st, { dev: live.st.dev, ino: live.st.ino })) unstable = true;
    // a copy left out as being made, and the live file truncated since: the plan did not look for the
    // last run's lines in it; or a rotated file to read whole that has become one (a copy created
    // empty, filled since)
    else if (
      copies.some((g) => !copying(g, again.st.size)) ||
      segments.some((x) => x.toEof && x.start === 0 && copying(x.file, again.st.size))
    )
      unstable = true;
  }

  return {
    path,
    segments,
    notes,
    events,
    live: live !== null,
    unstable,
    newestGen,
    close() {
      for (const f of all) f.close();
    },
    consistent() {
      return segments.every((s) => !s.read || s.consistent());
    },
    commit() {
      if (segments.length === 0) return prev ? { ...prev, newestGen, gens: seen } : undefined;
      const last = segments[segments.length - 1]!;
      const before = segments.length >= 2 ? segments[segments.length - 2]! : null;
      const t: TrackedFile = { current: last.mark(), newestGen, gens: seen };
      if (before && before.toEof && !before.file.gz) t.rotated = { ...before.mark(), path: before.file.path };
      return t;
    },
  };
}

/**
 * `g` is a copy of the live file's beginning: the live file (`liveSize` long a moment ago) is at least
 * as long and holds `g`'s first and last bytes where `g` has them (copytruncate's copy before the
 * truncation).
 */
function copyBeingMade(g: LogFile, live: LogFile, liveSize: number): boolean {
  if (g.path.endsWith('.gz') || g.st.size > liveSize) return false;
  const wasOpen = g.isOpen;
  if (!g.open()) return false;
  try {
    // both as they are now (the copy grows while it is made, and the live file with it); an empty file
    // stays a rotated file: it may be the log renamed away while empty, where the daemon still writes
    const size = g.st.size;
    if (g.gz || size === 0 || size > fstatSync(live.fd).size) return false;
    const same = (pos: number, len: number) => pread(g.fd, pos, len).equals(pread(live.fd, pos, len));
    return same(0, Math.min(HEAD_BYTES, size)) && same(Math.max(0, size - TAIL_BYTES), Math.min(TAIL_BYTES, size));
  } finally {
    if (!wasOpen) g.close(); // (a first run may list hundreds: each is opened again when read)
  }
}

const sleep = (ms: number) => new Promise<void>((res) => setTimeout(res, ms));

/**
 * Plan the reading of one tracked file against what the last run read of it. Retries while a rotation
 * is visibly in progress (files renamed between listing and opening).
 */
export async function planFile(path: string, prev: TrackedFile | undefined): Promise<FilePlan> {
  for (let attempt = 0; ; attempt++) {
    const plan = await planOnce(path, prev);
    if (!plan.unstable || attempt >= 8) return plan;
    plan.close();
    await sleep(100 + attempt * 100);
  }
}

/** The files to track for the operands: each rotated set stands for its live file (`kern.log*` → kern.log). */
export function trackedPaths(files: string[]): string[] {
  const out = new Set<string>();
  for (const f of files) out.add(rotationOrder(f)[0]);
  return [...out];
}
