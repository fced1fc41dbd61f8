/**
 * Durable, atomic file replacement: write a temporary file beside the target (created exclusively,
 * mode 0600 unless told otherwise), fsync it, rename it over the target and fsync the folder. A
 * reader sees the old file or the new one, never a torn one, whatever moment the writer dies at.
 */
import {
  closeSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  unlinkSync,
  writeSync,
  constants,
  type Stats,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { CliError } from '../errors.js';

/** What kind of thing a file system entry is, in words (for refusals). */
export function kindOf(st: Stats): string {
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isDirectory()) return 'a folder';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'a regular file';
}

/**
 * Refuse (exit 3) a path that exists and is neither a regular file nor a symbolic link: xendoctor
 * never renames, replaces or writes a device node, a FIFO, a socket or a folder it is pointed at.
 * (A symbolic link is replaced by the new file; what it points to is never touched.)
 */
export function refuseSpecial(path: string, what: string): void {
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch {
    return; // absent (or unreadable: the write that follows says why)
  }
  if (st.isFile() || st.isSymbolicLink()) return;
  throw new CliError(
    `the ${what} ${path} is ${kindOf(st)}, not a regular file: refused (it is never renamed, replaced or written)`,
    `give the name of a regular file for the ${what}`,
  );
}

/** Prefix of the temporary files of `path` (to clean up what a killed writer left). */
export function tempPrefix(path: string): string {
  return `.${basename(path)}.tmp-`;
}

/** Create the folder of `path` (mode 0700 for what is created) when it does not exist. */
export function ensureDir(path: string, mode = 0o700): void {
  mkdirSync(dirname(path), { recursive: true, mode });
}

/** Replace `path` with `data` atomically and durably. */
export function writeFileAtomic(path: string, data: string | Buffer, mode = 0o600, what = 'file'): void {
  refuseSpecial(path, what);
  const dir = dirname(path);
  const tmp = join(dir, `${tempPrefix(path)}${process.pid}-${randomBytes(6).toString('hex')}`);
  // O_EXCL | O_NOFOLLOW: never write through a planted file or symlink
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
    throw e;
  }
  syncDir(dir);
}

/** fsync a folder so a rename in it survives a crash (best effort: not every file system allows it). */
export function syncDir(dir: string): void {
  let fd: number | null = null;
  try {
    fd = openSync(dir, constants.O_RDONLY);
    fsyncSync(fd);
  } catch {
    /* not supported here */
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

/** Remove temporary files of `path` left by a writer that was killed (call while holding its lock). */
export function removeStaleTemps(path: string): void {
  const prefix = tempPrefix(path);
  let names: string[];
  try {
    names = readdirSync(dirname(path));
  } catch {
    return;
  }
  for (const n of names) {
    if (!n.startsWith(prefix)) continue;
    try {
      unlinkSync(join(dirname(path), n));
    } catch {
      /* raced with another cleaner */
    }
  }
}
