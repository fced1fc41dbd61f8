/**
 * Acknowledgements: `xendoctor ack ID` (or a line written by hand) silences a finding until it recurs
 * after the acknowledgement. A plain text file, one finding per line:
 *
 *     <finding id> [<ISO time of the ack>] [note...]
 *
 * A line without a time takes the file's modification time. `#` starts a comment.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CliError } from '../errors.js';
import { ensureDir, writeFileAtomic } from './atomic.js';

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

/** Read the ack file (absent: none); lines that cannot be read are returned as problems. */
export function loadAcks(path: string): { acks: Map<string, Ack>; problems: string[] } {
  const acks = new Map<string, Ack>();
  const problems: string[] = [];
  if (!existsSync(path)) return { acks, problems };
  let text: string;
  let mtime: number;
  try {
    text = readFileSync(path, 'utf8');
    mtime = statSync(path).mtimeMs;
  } catch (e) {
    throw new CliError(`cannot read the ack file ${path}: ${(e as Error).message}`);
  }
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) return;
    const [id, second, ...rest] = line.split(/\s+/);
    if (!FINDING_ID.test(id!)) {
      problems.push(`${path}:${i + 1}: "${id}" is not a finding id (16 hex digits)`);
      return;
    }
    let at = mtime;
    let note = [second, ...rest].filter((x) => x !== undefined).join(' ');
    if (second !== undefined && /^\d{4}-\d\d-\d\dT/.test(second)) {
      const t = Date.parse(second);
      if (Number.isNaN(t)) {
        problems.push(`${path}:${i + 1}: cannot read the time "${second}"`);
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
  writeFileAtomic(path, lines.join('\n') + '\n', 0o600);
}
