/**
 * A lock file so that two report runs never read and commit the same state at once. Created
 * exclusively (O_EXCL, mode 0600) with the holder's PID, host and start time; a lock whose holder is
 * gone (no such process on this host, the PID now another program, or far too old) is stale and
 * broken by renaming it away, checking that what was renamed is what was judged stale.
 */
import {
  closeSync,
  constants,
  fsyncSync,
  linkSync,
  lstatSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { CliError, ExitCode } from '../errors.js';
import { refuseSpecial } from './atomic.js';

export interface LockInfo {
  pid: number;
  host: string;
  started: string;
  token: string;
  /** This boot of the host (/proc/sys/kernel/random/boot_id), when known. */
  boot?: string;
  /** The holder's start time in clock ticks since boot (/proc/PID/stat), when known. */
  start?: string;
}

export interface LockOptions {
  /** How long to wait for another holder, ms. */
  waitMs: number;
  /** A lock older than this is stale whoever holds it, ms (default 6 h: no report run takes that long). */
  maxAgeMs?: number;
  /** Poll interval while waiting, ms. */
  pollMs?: number;
}

export interface Lock {
  path: string;
  info: LockInfo;
  /** Remove the lock if it is still ours. Safe to call twice. */
  release(): void;
}

const sleep = (ms: number) => new Promise<void>((res) => setTimeout(res, ms));

/** Largest lock file read: a real one is about 150 bytes. */
const MAX_LOCK_BYTES = 4096;

function readLock(path: string): { info: LockInfo | null; ino: number; mtimeMs: number } | null {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return null;
  }
  // a lock is a small regular file: anything else in its place is refused, never read or renamed
  if (!st.isFile()) refuseSpecial(path, 'lock file');
  let info: LockInfo | null = null;
  const uid = process.getuid?.();
  const trusted = st.isFile() && (uid === undefined || st.uid === uid || st.uid === 0) && (st.mode & 0o022) === 0;
  if (trusted) {
    try {
      const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
      const buf = Buffer.alloc(MAX_LOCK_BYTES);
      let n = 0;
      try {
        n = readSync(fd, buf, 0, buf.length, 0);
      } finally {
        closeSync(fd);
      }
      const o = JSON.parse(buf.toString('utf8', 0, n)) as Partial<LockInfo>;
      if (typeof o.pid === 'number' && typeof o.host === 'string' && typeof o.started === 'string' && typeof o.token === 'string')
        info = o as LockInfo;
    } catch {
      /* empty (its writer is between create and write, or died there) or garbled */
    }
  }
  return { info, ino: st.ino, mtimeMs: st.mtimeMs };
}

/** This boot's id, or null where the kernel does not tell. */
export function bootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
  } catch {
    return null;
  }
}

/** When process `pid` started (clock ticks since boot, field 22 of /proc/PID/stat), or null. */
export function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) may hold spaces and parentheses: count from the last ")"
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

/** Is a process with this PID alive on this host, and plausibly a xendoctor run? */
function holderAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
    // EPERM: it exists, under another user
  }
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (cmd && !/xendoctor/i.test(cmd)) return false; // the PID was reused by another program
  } catch {
    /* no /proc, or gone just now: trust kill(0) */
  }
  return true;
}

/**
 * Why the lock at hand is stale, or null when its holder may still be running. The holder is named
 * by host, boot id, PID and the PID's start time: a lock of another host or an earlier boot, a PID
 * that names no process (0, -1…) or a process started at another time (the PID reused) is stale.
 */
export function staleReason(l: { info: LockInfo | null; mtimeMs: number }, now: number, maxAgeMs: number): string | null {
  const age = now - l.mtimeMs;
  if (!l.info) return age > 30_000 ? 'unreadable and old' : null;
  const { pid, host } = l.info;
  if (age > maxAgeMs) return `older than ${Math.round(maxAgeMs / 60_000)} minutes`;
  if (!Number.isSafeInteger(pid) || pid <= 0) return `${JSON.stringify(pid)} is not a process id`;
  if (host !== hostname()) return `written on another host (${JSON.stringify(host.slice(0, 64))})`;
  if (!holderAlive(pid)) return `process ${pid} is gone`;
  const boot = bootId();
  if (boot !== null && l.info.boot !== boot) return l.info.boot ? 'written before this host last booted' : 'it names no boot of this host';
  const start = processStart(pid);
  if (start !== null && l.info.start !== start) return `process ${pid} is not the one that took the lock`;
  return null;
}

function tryCreate(path: string, info: LockInfo): boolean {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new CliError(
      `cannot create the lock file ${path}: ${(e as Error).message}`,
      'give a writable place with --state FILE (the lock is FILE.lock)',
    );
  }
  try {
    const buf = Buffer.from(JSON.stringify(info) + '\n');
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
    closeSync(fd);
  } catch (e) {
    // a full disk (ENOSPC) or a quota: leave no empty lock behind
    try {
      closeSync(fd);
    } catch {
      /* closed already */
    }
    try {
      unlinkSync(path);
    } catch {
      /* gone */
    }
    throw new CliError(`cannot write the lock file ${path}: ${(e as Error).message}`, 'free some space where the state file is kept');
  }
  return true;
}

/** Break a stale lock: rename it away, and put it back if what was renamed turns out to be a fresh one. */
function breakLock(path: string, judgedIno: number): void {
  const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    renameSync(path, aside);
  } catch {
    return; // someone else broke it first
  }
  let ino = -1;
  try {
    ino = lstatSync(aside).ino;
  } catch {
    /* gone */
  }
  if (ino !== judgedIno) {
    // we took a lock created after our look: give it back unless another one exists by now
    try {
      linkSync(aside, path);
    } catch {
      /* a newer lock exists: the one we took is lost to its holder, which re-checks on release */
    }
  }
  try {
    unlinkSync(aside);
  } catch {
    /* gone */
  }
}

/** Take the lock at `path`, waiting up to `waitMs` for another holder; a clear error if it stays busy. */
export async function acquireLock(path: string, opts: LockOptions, onStale?: (why: string) => void): Promise<Lock> {
  refuseSpecial(path, 'lock file');
  const info: LockInfo = { pid: process.pid, host: hostname(), started: new Date().toISOString(), token: randomBytes(8).toString('hex') };
  const boot = bootId();
  const start = processStart(process.pid);
  if (boot !== null) info.boot = boot;
  if (start !== null) info.start = start;
  const deadline = Date.now() + opts.waitMs;
  const maxAge = opts.maxAgeMs ?? 6 * 3600_000;
  for (;;) {
    if (tryCreate(path, info)) break;
    const cur = readLock(path);
    if (!cur) continue; // released between our create and our look
    const why = staleReason(cur, Date.now(), maxAge);
    if (why) {
      onStale?.(why);
      breakLock(path, cur.ino);
      continue;
    }
    if (Date.now() >= deadline) {
      const h = cur.info;
      throw new CliError(
        `another xendoctor report run holds the lock ${path}${h ? ` (pid ${h.pid} on ${h.host}, since ${h.started})` : ''}`,
        'wait for it to finish (--wait SECONDS waits longer); remove the lock file only if no such process runs',
        ExitCode.Unusable,
      );
    }
    await sleep(Math.min(opts.pollMs ?? 200, Math.max(10, deadline - Date.now())));
  }
  let released = false;
  return {
    path,
    info,
    release() {
      if (released) return;
      released = true;
      const cur = readLock(path);
      if (cur?.info?.token !== info.token) return; // not ours any more
      try {
        unlinkSync(path);
      } catch {
        /* gone */
      }
    },
  };
}
