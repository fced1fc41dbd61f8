/** Where the CLI writes: stdout and stderr, replaceable in tests. */
import { writeSync } from 'node:fs';

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  /**
   * Write to stdout now and throw when it fails (a closed pipe, a full disk): for output whose loss
   * must be known before anything is marked as delivered (`report`). Defaults to `out`.
   */
  outSync?: (s: string) => void;
}

/** Write all of `s` to `fd`, waiting while a non-blocking pipe is full; throws EPIPE, ENOSPC, EIO… */
export function writeAllSync(fd: number, s: string): void {
  const buf = Buffer.from(s, 'utf8');
  const pause = new Int32Array(new SharedArrayBuffer(4));
  let off = 0;
  let waited = 0;
  while (off < buf.length) {
    try {
      off += writeSync(fd, buf, off, buf.length - off);
      waited = 0;
    } catch (e) {
      // a reader that stops reading for a minute is as good as gone
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN' || waited > 60_000) throw e;
      Atomics.wait(pause, 0, 0, 5);
      waited += 5;
    }
  }
}

export const defaultIo: Io = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  outSync: (s) => writeAllSync(1, s),
};
