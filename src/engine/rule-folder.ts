/**
 * Reading a rule folder so that what is checked is what is loaded. Whoever can write a rule decides
 * what root reads and runs, so as root (as logrotate and sudo do with their configuration):
 *
 * - every folder on the way to it, from `/`, is checked, not only the last one: owned by root and not
 *   writable by group (other than root's) or others, except a sticky folder such as /tmp whose entry on
 *   the way belongs to root (nobody else can rename it); the rule folder itself writable by nobody else;
 *   a folder on the way that is a symbolic link when looked at (one swapped in after the path was
 *   resolved) is refused;
 * - the folder is then opened, and its descriptor checked to be the folder checked; the rule files are
 *   listed and opened through that descriptor (`/proc/self/fd/N/name`, Linux's openat), never
 *   following a link, each checked on its descriptor (a regular file, owned by root, not writable by
 *   others, at most 1 MiB) and read from it; after reading, the path must still lead to the same
 *   folder and each name to the same file, else the folder is refused as changed while it was read.
 *
 * Not as root, nothing is refused (the user's own files are the user's business), but the files are read
 * the same way.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readSync, realpathSync, type Stats } from 'node:fs';
import { join, sep } from 'node:path';
import type { RuleProblem } from '../errors.js';

/** Largest rule file read. */
export const MAX_RULE_FILE = 1024 * 1024;

export interface RuleText {
  /** The path to show (the folder as given, and the file's name). */
  file: string;
  text: string;
  st: Stats;
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

function modeText(st: Stats): string {
  return (st.mode & 0o7777).toString(8).padStart(4, '0');
}

/** Writable by someone other than root: others, or a group other than root's. */
function othersWrite(st: Stats): boolean {
  return (st.mode & 0o002) !== 0 || ((st.mode & 0o020) !== 0 && st.gid !== 0);
}

function refuse(problems: RuleProblem[], file: string, message: string): null {
  problems.push({ file, line: null, field: '', message: `refused: ${message}` });
  return null;
}

/**
 * The folders from `/` to `real` (a resolved path), each checked as above; the last one's stats, or
 * null (problems say why).
 */
function checkComponents(real: string, problems: RuleProblem[]): Stats | null {
  const parts = real.split(sep).filter(Boolean);
  let path: string = sep;
  let st = lstatSync(path);
  for (let i = 0; ; i++) {
    const last = i === parts.length;
    if (st.isSymbolicLink())
      return refuse(problems, path, 'a symbolic link appeared on the way to the rule folder (swapped while checked)');
    if (!st.isDirectory()) return refuse(problems, path, 'not a folder');
    if (st.uid !== 0) return refuse(problems, path, `owned by uid ${st.uid}; fix with: chown root:root ${path} && chmod go-w ${path}`);
    if (othersWrite(st)) {
      const sticky = (st.mode & 0o1000) !== 0;
      if (last || !sticky) {
        const what = last
          ? 'the rule folder is writable by other users'
          : 'a folder on the way to the rule folder is writable by other users, who could swap what it holds';
        return refuse(problems, path, `${what} (mode ${modeText(st)}); fix with: chmod go-w ${path}`);
      }
      // sticky (/tmp): only the owner of the next entry can rename it; that one is checked next
    }
    if (last) return st;
    path = join(path, parts[i]!);
    st = lstatSync(path);
  }
}

const sameFile = (a: Stats, b: Stats) => a.dev === b.dev && a.ino === b.ino;

/**
 * The rule files (*.yaml, *.yml) of a folder, sorted by name, read as described above; null when the
 * folder is refused or cannot be read (problems say why). With `texts` false, every check is made but
 * no file is read (`text` is empty): the catalogue cache answers from the files' names, times and sizes,
 * and decoding the forty bundled files was half of this at every start.
 */
export function readRuleFolder(dir: string, problems: RuleProblem[], texts = true): RuleText[] | null {
  const strict = isRoot();
  let real: string;
  let checked: Stats | null = null;
  let fd: number;
  try {
    real = realpathSync(dir);
    if (strict) {
      checked = checkComponents(real, problems);
      if (!checked) return null;
    }
    fd = openSync(real, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    problems.push({
      file: dir,
      line: null,
      field: '',
      message: `cannot read rule folder: ${code === 'ENOTDIR' ? 'not a folder' : (e as Error).message}`,
    });
    return null;
  }
  const opened: { name: string; fd: number; st: Stats }[] = [];
  try {
    const dst = fstatSync(fd);
    if (checked && !sameFile(dst, checked)) return refuse(problems, dir, 'the rule folder was swapped while it was checked');
    // through the descriptor: the folder opened, whatever its path leads to now
    const viaFd = `/proc/self/fd/${fd}`;
    let base = real;
    try {
      if (sameFile(lstatSync(`${viaFd}/.`), dst)) base = viaFd;
    } catch {
      /* no /proc: by path, checked against the descriptor below */
    }
    const names = readdirSync(base)
      .filter((f) => /\.ya?ml$/.test(f))
      .sort();
    for (const name of names) {
      const file = join(dir, name);
      let ffd: number;
      try {
        ffd = openSync(join(base, name), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ELOOP') return refuse(problems, file, 'a symbolic link; rule files are read only as regular files in the folder');
        problems.push({ file, line: null, field: '', message: `cannot read: ${(e as Error).message}` });
        continue;
      }
      const st = fstatSync(ffd);
      opened.push({ name, fd: ffd, st });
      if (!st.isFile()) return refuse(problems, file, 'not a regular file');
      if (st.dev !== dst.dev) return refuse(problems, file, 'not in the rule folder (another file system)');
      if (strict && st.uid !== 0)
        return refuse(problems, file, `owned by uid ${st.uid}; fix with: chown root:root ${file} && chmod go-w ${file}`);
      if (strict && othersWrite(st))
        return refuse(problems, file, `writable by other users (mode ${modeText(st)}); fix with: chmod go-w ${file}`);
      if (st.size > MAX_RULE_FILE) return refuse(problems, file, `larger than ${MAX_RULE_FILE} bytes`);
    }
    const out: RuleText[] = [];
    for (const o of opened) {
      if (!texts) {
        out.push({ file: join(dir, o.name), text: '', st: o.st });
        continue;
      }
      const buf = Buffer.alloc(o.st.size + 1);
      let got = 0;
      for (let n; got < buf.length && (n = readSync(o.fd, buf, got, buf.length - got, got)) > 0;) got += n;
      if (got > o.st.size) return refuse(problems, join(dir, o.name), 'grew while it was read');
      out.push({ file: join(dir, o.name), text: buf.toString('utf8', 0, got), st: o.st });
    }
    // the path still leads to the folder read, and each name to the file read
    let now: Stats;
    try {
      now = lstatSync(real);
    } catch {
      return refuse(problems, dir, 'the rule folder was moved while it was read');
    }
    if (!sameFile(now, dst)) return refuse(problems, dir, 'the rule folder was swapped while it was read');
    for (const o of opened) {
      let st: Stats | null = null;
      try {
        st = lstatSync(join(real, o.name));
      } catch {
        /* gone */
      }
      if (!st || !sameFile(st, o.st)) return refuse(problems, join(dir, o.name), 'the rule file was replaced while it was read');
    }
    return out;
  } finally {
    for (const o of opened) closeSync(o.fd);
    closeSync(fd);
  }
}
