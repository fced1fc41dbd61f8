/**
 * Acknowledgements: `xendoctor ack ID` (or a line written by hand) silences a finding until it recurs
 * after the acknowledgement. A plain text file, one finding per line:
 *
 *     <finding id> [<ISO time of the ack>] [note...]
 *
 * A line without a time takes the file's modification time. `#` starts a comment.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CliError } from '../errors.js';
import { safeText } from '../render/sanitize.js';
import { ensureDir, refuseSpecial, writeFileAtomic } from './atomic.js';

export interface Ack {
  id: string;
  /** Time of the acknowledgement, ms. */
  at: number;
  note: string;
}

export const FINDING_ID = /^[0-9a-f]{16}$/;

/** The ack file that belongs with a state file: `acks` in the same folder. */
export function defaultAckPath(statePath: string): string {
  return join(dirname(statePath), 'acks');
}

/** Largest ack file read (a line is about 60 bytes). */
const MAX_ACK_BYTES = 1024 * 1024;

/**
 * Read the ack file (absent: none); lines that cannot be read are returned as problems. The file is
 * trusted as strictly as the state file: a device or FIFO is refused (exit 3); a symbolic link, a
 * file of another user or one that others can write is ignored with a problem (its text is never shown).
 */
export function loadAcks(path: string): { acks: Map<string, Ack>; problems: string[] } {
  const acks = new Map<string, Ack>();
  const problems: string[] = [];
  let st;
  try {
    st = lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { acks, problems };
    throw new CliError(`cannot read the ack file ${path}: ${(e as Error).message}`);
  }
  refuseSpecial(path, 'ack file');
  if (st.isDirectory()) throw new CliError(`the ack file ${path} is a folder`, 'give a file name with --ack-file FILE');
  const uid = process.getuid?.();
  const distrust = (why: string) => {
    problems.push(`the ack file ${path} ${why}: not trusted, its acknowledgements are ignored`);
    return { acks, problems };
  };
  if (st.isSymbolicLink()) return distrust('is a symbolic link');
  if (uid !== undefined && st.uid !== uid && st.uid !== 0) return distrust(`belongs to another user (uid ${st.uid})`);
  if (st.mode & 0o022) return distrust('is writable by other users (so could have been tampered with)');
  if (st.size > MAX_ACK_BYTES) return distrust('is far too large to be an ack file');
  let text: string;
  let mtime: number;
  try {
    const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      const fst = fstatSync(fd);
      if (!fst.isFile() || fst.ino !== st.ino) return distrust('changed while it was opened');
      const buf = Buffer.alloc(Math.min(fst.size, MAX_ACK_BYTES));
      let n = 0;
      while (n < buf.length) {
        const r = readSync(fd, buf, n, buf.length - n, n);
        if (r === 0) break;
        n += r;
      }
      text = buf.toString('utf8', 0, n);
      mtime = fst.mtimeMs;
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    throw new CliError(`cannot read the ack file ${path}: ${(e as Error).message}`);
  }
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) return;
    const [id, second, ...rest] = line.split(/\s+/);
    if (!FINDING_ID.test(id!)) {
      problems.push(`${path}:${i + 1}: "${safeText(id!.slice(0, 40))}" is not a finding id (16 hex digits)`);
      return;
    }
    let at = mtime;
    let note = [second, ...rest].filter((x) => x !== undefined).join(' ');
    if (second !== undefined && /^\d{4}-\d\d-\d\dT/.test(second)) {
      const t = Date.parse(second);
      if (Number.isNaN(t)) {
        problems.push(`${path}:${i + 1}: cannot read the time "${safeText(second.slice(0, 40))}"`);
        return;
      }
      at = t;
      note = rest.join(' ');
    }
    const prev = acks.get(id!);
    if (!prev || prev.at < at) acks.set(id!, { id: id!, at, note });
  });
  return { acks, problems };
}

/** Write the ack file (atomically, mode 0600). */
export function saveAcks(path: string, acks: Map<string, Ack>): void {
  const lines = [
    '# xendoctor acknowledgements: finding id, time of the ack (UTC), note.',
    '# A finding stays silent in `xendoctor report` until it recurs after that time.',
    ...[...acks.values()]
      .sort((a, b) => a.at - b.at)
      .map((a) => `${a.id} ${new Date(a.at).toISOString()}${a.note ? ` ${a.note.replace(/[\r\n\u0000-\u001f\u007f]+/g, ' ')}` : ''}`),
  ];
  ensureDir(path);
  writeFileAtomic(path, lines.join('\n') + '\n', 0o600, 'ack file');
}
