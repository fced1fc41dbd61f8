/**
 * src/engine/rule-folder.ts against the races it guards against (as root), staged deterministically:
 * node:fs is wrapped so that a test changes the folder at the exact call the race needs (a folder
 * swapped between its check and its opening, or while its files are read; a file replaced, removed or
 * grown while read; a link appearing on the way; a file on another file system; a file that cannot be
 * opened). The binary meets the same races by chance only (hostile-host's swapper).
 */
import { mkdirSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync, appendFileSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RuleProblem } from '../src/errors.js';
import { readRuleFolder } from '../src/engine/rule-folder.js';
import { tmp } from './helpers.js';

/** What a test does before a call of node:fs goes through (by the call's path or descriptor). */
const hooks = vi.hoisted(() => ({
  lstat: null as ((path: string) => void) | null,
  open: null as ((path: string) => void) | null,
  read: null as ((fd: number) => void) | null,
  fstat: null as ((fd: number, st: Stats) => Stats) | null,
}));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const wrapped = {
    ...fs,
    lstatSync: ((p: string, ...rest: never[]) => {
      hooks.lstat?.(String(p));
      return fs.lstatSync(p, ...rest);
    }) as typeof fs.lstatSync,
    openSync: ((p: string, ...rest: never[]) => {
      hooks.open?.(String(p));
      return (fs.openSync as (...a: unknown[]) => number)(p, ...rest);
    }) as typeof fs.openSync,
    readSync: ((fd: number, ...rest: never[]) => {
      hooks.read?.(fd);
      return (fs.readSync as (...a: unknown[]) => number)(fd, ...rest);
    }) as typeof fs.readSync,
    fstatSync: ((fd: number, ...rest: never[]) => {
      const st = fs.fstatSync(fd, ...rest) as Stats;
      return hooks.fstat ? hooks.fstat(fd, st) : st;
    }) as typeof fs.fstatSync,
  };
  return { ...wrapped, default: wrapped };
});

describe.runIf(process.getuid?.() === 0)('rule-folder: the races it refuses', () => {
  afterEach(() => {
    hooks.lstat = hooks.open = hooks.read = hooks.fstat = null;
  });
  const setup = () => {
    const base = tmp('xd-rulerace-');
    const dir = join(base, 'rules');
    mkdirSync(dir, { mode: 0o755 });
    writeFileSync(join(dir, 'a.yaml'), 'id: a\n');
    writeFileSync(join(dir, 'b.yaml'), 'id: b\n');
    return { base, dir };
  };
  /** Swap `dir` for a fresh folder holding one planted file (the old one kept as dir.old). */
  const swap = (dir: string) => {
    renameSync(dir, `${dir}.old`);
    mkdirSync(dir, { mode: 0o755 });
    writeFileSync(join(dir, 'a.yaml'), 'id: planted\n');
  };
  /** Run `f` once, on the `n`th call that matches. */
  const onCall = <T>(n: number, match: (x: T) => boolean, f: () => void) => {
    let seen = 0;
    return (x: T) => {
      if (match(x) && ++seen === n) f();
    };
  };
  const read = (dir: string) => {
    const problems: RuleProblem[] = [];
    const files = readRuleFolder(dir, problems);
    return { files, problems };
  };
  const refused = (file: string, message: string) => ({
    files: null,
    problems: [{ file, line: null, field: '', message: `refused: ${message}` }],
  });

  it('reads an untouched folder (the wrapping changes nothing), and closes every descriptor it opened', () => {
    const { dir } = setup();
    const fds = () => readdirSync('/proc/self/fd').length;
    const before = fds();
    for (let i = 0; i < 5; i++) expect(read(dir).files!.map((f) => f.text)).toEqual(['id: a\n', 'id: b\n']);
    hooks.lstat = onCall(
      1,
      (p: string) => p === join(dir, 'b.yaml'),
      () => rmSync(join(dir, 'b.yaml')),
    );
    expect(read(dir).files).toBeNull();
    expect(fds()).toBe(before);
  });

  it('lists the files sorted by name, whatever order the folder gives', () => {
    const { dir } = setup();
    const names = Array.from({ length: 40 }, (_, i) => `r${String((i * 17) % 40).padStart(2, '0')}.yaml`);
    for (const n of names) writeFileSync(join(dir, n), n);
    expect(read(dir).files!.map((f) => f.text)).toEqual(['id: a\n', 'id: b\n', ...[...names].sort()]);
  });

  it('a symbolic link swapped in on the way while the path is checked', () => {
    const { base, dir } = setup();
    hooks.lstat = onCall(
      1,
      (p: string) => p === base,
      () => {
        renameSync(base, `${base}.old`);
        symlinkSync(`${base}.old`, base);
      },
    );
    expect(read(dir)).toMatchObject(refused(base, 'a symbolic link appeared on the way to the rule folder (swapped while checked)'));
  });

  it('the folder swapped between its check and its opening', () => {
    const { dir } = setup();
    hooks.open = onCall(
      1,
      (p: string) => p === dir,
      () => swap(dir),
    );
    expect(read(dir)).toMatchObject(refused(dir, 'the rule folder was swapped while it was checked'));
  });

  it('the folder swapped, or moved away, while its files were read', () => {
    const a = setup();
    // lstat of the folder's path: once in the check, once after reading
    hooks.lstat = onCall(
      2,
      (p: string) => p === a.dir,
      () => swap(a.dir),
    );
    expect(read(a.dir)).toMatchObject(refused(a.dir, 'the rule folder was swapped while it was read'));
    const b = setup();
    hooks.lstat = onCall(
      2,
      (p: string) => p === b.dir,
      () => renameSync(b.dir, `${b.dir}.old`),
    );
    expect(read(b.dir)).toMatchObject(refused(b.dir, 'the rule folder was moved while it was read'));
  });

  it('a rule file replaced, or removed, while it was read', () => {
    const a = setup();
    hooks.lstat = onCall(
      1,
      (p: string) => p === join(a.dir, 'b.yaml'),
      () => {
        writeFileSync(join(a.dir, 'new'), 'id: b\n');
        renameSync(join(a.dir, 'new'), join(a.dir, 'b.yaml'));
      },
    );
    expect(read(a.dir)).toMatchObject(refused(join(a.dir, 'b.yaml'), 'the rule file was replaced while it was read'));
    const b = setup();
    hooks.lstat = onCall(
      1,
      (p: string) => p === join(b.dir, 'a.yaml'),
      () => rmSync(join(b.dir, 'a.yaml')),
    );
    expect(read(b.dir)).toMatchObject(refused(join(b.dir, 'a.yaml'), 'the rule file was replaced while it was read'));
  });

  it('a rule file that grew while it was read', () => {
    const { dir } = setup();
    hooks.read = onCall(
      1,
      () => true,
      () => appendFileSync(join(dir, 'a.yaml'), 'title: more\n'),
    );
    expect(read(dir)).toMatchObject(refused(join(dir, 'a.yaml'), 'grew while it was read'));
  });

  it('a rule file on another file system (a mount point in the folder)', () => {
    const { dir } = setup();
    let folderDev = -1;
    hooks.fstat = (_fd, st) => {
      if (st.isDirectory()) folderDev = st.dev;
      else if (st.isFile() && st.dev === folderDev) Object.defineProperty(st, 'dev', { value: st.dev + 1 });
      return st;
    };
    expect(read(dir)).toMatchObject(refused(join(dir, 'a.yaml'), 'not in the rule folder (another file system)'));
  });

  it('a rule file that cannot be opened is a problem, the others are still read', () => {
    const { dir } = setup();
    hooks.open = (p: string) => {
      if (p.endsWith('/a.yaml')) throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
    };
    const r = read(dir);
    expect(r.files!.map((f) => f.text)).toEqual(['id: b\n']);
    expect(r.problems).toEqual([{ file: join(dir, 'a.yaml'), line: null, field: '', message: 'cannot read: EACCES: permission denied' }]);
  });
});
