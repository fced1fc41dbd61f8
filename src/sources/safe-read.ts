/**
 * Reading a small file xendoctor was pointed at (a capture, a baseline, a sample, a config file
 * under `check --root`) without trusting what it is: opened without blocking (a FIFO cannot hang the
 * run), read only when it is a regular file, and only up to a size limit (a device such as
 * /dev/zero, or a huge file, is refused instead of filling memory).
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { kindOf } from '../state/atomic.js';

export interface ReadLimits {
  /** Largest file read, bytes. */
  max: number;
  /** Refuse a symbolic link as the last component (the caller resolved the links itself). */
  noFollow?: boolean;
}

/** A file error with an errno code, like the ones of node:fs. */
function fsError(code: string, message: string): NodeJS.ErrnoException {
  const e = new Error(message) as NodeJS.ErrnoException;
  e.code = code;
  return e;
}

/** Read a regular file of at most `max` bytes as a Buffer; throws a clear error for anything else. */
export function readRegularFileBuffer(path: string, limits: ReadLimits): Buffer {
  const flags = constants.O_RDONLY | constants.O_NONBLOCK | (limits.noFollow ? constants.O_NOFOLLOW : 0);
  const fd = openSync(path, flags);
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw fsError('EISDIR', 'is a folder');
    if (!st.isFile()) throw fsError('ENOTREG', `is ${kindOf(st)}, not a regular file: not read`);
    if (st.size > limits.max) throw fsError('EFBIG', `is too large (${st.size} bytes; at most ${limits.max} are read): not read`);
    const buf = Buffer.alloc(st.size);
    let n = 0;
    while (n < buf.length) {
      const r = readSync(fd, buf, n, buf.length - n, n);
      if (r === 0) break;
      n += r;
    }
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** Read a regular file of at most `max` bytes as UTF-8 text. */
export function readRegularFile(path: string, limits: ReadLimits): string {
  return readRegularFileBuffer(path, limits).toString('utf8');
}

/**
 * The real path of `path` (a path inside the host) under `root`, every symbolic link on the way
 * resolved inside the root as `chroot` would: an absolute target starts again at the root, `..`
 * stops at the root. The path returned has no symbolic link in it (at the moment of the look).
 * Throws ENOENT when a component is absent, ELOOP after 40 links.
 */
export function resolveUnder(root: string, path: string): string {
  let pending = path.split('/').filter((c) => c !== '' && c !== '.');
  const done: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const c = pending.shift()!;
    if (c === '..') {
      done.pop();
      continue;
    }
    if (c === '.') continue;
    const real = join(root, ...done, c);
    let st;
    try {
      st = lstatSync(real);
    } catch (e) {
      if (pending.length === 0 && (e as NodeJS.ErrnoException).code === 'ENOENT') return real;
      throw e;
    }
    if (st.isSymbolicLink()) {
      if (++links > 40) throw fsError('ELOOP', `${join(root, path)}: too many levels of symbolic links`);
      const target = readlinkSync(real);
      if (target.startsWith('/')) done.length = 0;
      pending = [...target.split('/').filter((x) => x !== '' && x !== '.'), ...pending];
    } else {
      if (pending.length > 0 && !st.isDirectory()) throw fsError('ENOTDIR', `${real}: not a folder`);
      done.push(c);
    }
  }
  return join(root, ...done);
}
