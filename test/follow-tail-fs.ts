/**
 * `node:fs` as the follower sees it in test/sources-follow-tail-*.test.ts (and `report`'s incremental reader
 * in test/sources-incremental-race.test.ts): each hook, when set, runs before the call (and may throw). Each of those files mocks `node:fs` with
 * `vi.mock('node:fs', async (original) => (await import('./follow-tail-fs.js')).wrapFs(await original()))`;
 * this module imports nothing that reads `node:fs`, so the mock can load it.
 */
import type * as FS from 'node:fs';

export const hooks = {
  open: null as null | ((p: string) => void),
  read: null as null | ((fd: number) => void),
  stat: null as null | ((p: string) => void),
  fstat: null as null | ((fd: number) => void),
  /** run in turn, one per folder read, right after it (before the follower stats the names it got) */
  readdir: [] as (() => void)[],
  /** run after every folder read while set */
  everyReaddir: null as null | (() => void),
  /** folder reads since set to 0 */
  readdirs: 0,
};

/** Clear every hook (after each test). */
export function resetHooks(): void {
  hooks.open = hooks.read = hooks.stat = hooks.fstat = hooks.everyReaddir = null;
  hooks.readdir = [];
}

/** The module `node:fs` with its open, read (and readSync), stat, fstat and readdir calls going through the hooks. */
export function wrapFs(fs: typeof FS): typeof FS {
  const wrapped = {
    openSync: ((p: string, ...a: unknown[]) => {
      hooks.open?.(String(p));
      return (fs.openSync as (...x: unknown[]) => number)(p, ...a);
    }) as typeof fs.openSync,
    readSync: ((fd: number, ...a: unknown[]) => {
      hooks.read?.(fd);
      return (fs.readSync as (...x: unknown[]) => number)(fd, ...a);
    }) as typeof fs.readSync,
    read: ((fd: number, ...a: unknown[]) => {
      hooks.read?.(fd);
      return (fs.read as (...x: unknown[]) => void)(fd, ...a);
    }) as typeof fs.read,
    statSync: ((p: string, ...a: unknown[]) => {
      hooks.stat?.(String(p));
      return (fs.statSync as (...x: unknown[]) => unknown)(p, ...a);
    }) as typeof fs.statSync,
    fstatSync: ((fd: number, ...a: unknown[]) => {
      hooks.fstat?.(fd);
      return (fs.fstatSync as (...x: unknown[]) => unknown)(fd, ...a);
    }) as typeof fs.fstatSync,
    readdirSync: ((...a: Parameters<typeof fs.readdirSync>) => {
      const names = fs.readdirSync(...a);
      hooks.readdirs++;
      hooks.readdir.shift()?.();
      hooks.everyReaddir?.();
      return names;
    }) as typeof fs.readdirSync,
  };
  return { ...fs, default: { ...fs, ...wrapped }, ...wrapped } as typeof FS;
}
