/**
 * The follower where birth times are not real: libuv without statx (kernels before 4.11, containers
 * whose seccomp profile refuses it) fills them with the change time, which renames and writes move.
 * Emulated by setting birthtimeMs to ctimeMs in every stat. Each case runs with real birth times too.
 * (From a review of the identity by device, inode and birth time, which broke both cases there.)
 */
import { appendFileSync, renameSync, copyFileSync, truncateSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { resetHooks } from './follow-tail-fs.js';
import { copytruncate, each, followed, L, rotate, sleep } from './follow-tail-harness.js';

// libuv without statx fills birthtime with ctime (uv__to_stat)
const fallback = { on: false };
vi.mock('node:fs', async (original) => {
  const fs = (await import('./follow-tail-fs.js')).wrapFs(await original());
  const patch = <T>(st: T): T => {
    const s = st as unknown as { ctimeMs?: number; birthtimeMs?: number };
    if (fallback.on && s && typeof s.ctimeMs === 'number') s.birthtimeMs = s.ctimeMs;
    return st;
  };
  const statSync = ((...a: unknown[]) => patch((fs.statSync as (...x: unknown[]) => unknown)(...a))) as typeof fs.statSync;
  const fstatSync = ((...a: unknown[]) => patch((fs.fstatSync as (...x: unknown[]) => unknown)(...a))) as typeof fs.fstatSync;
  return { ...fs, statSync, fstatSync, default: { ...fs, statSync, fstatSync } };
});
afterEach(() => {
  resetHooks();
  fallback.on = false;
});

describe.each([false, true])('birth time = change time (no statx): %s', (fb) => {
  it('a file empty across a copytruncate rotation: the renamed older copy is not read again', async () => {
    fallback.on = fb;
    const { log, w } = followed(L(1, 3));
    copytruncate(log, `${log}.1`, ''); // lines 1-3 to .1; the file empty (blind)
    w.check(log);
    w.check(log);
    await sleep(20);
    renameSync(`${log}.1`, `${log}.2`); // the next rotation while still empty (ifempty)
    copyFileSync(log, `${log}.1`);
    truncateSync(log, 0);
    w.check(log);
    appendFileSync(log, L(4, 4));
    w.check(log);
    expect(w.texts()).toEqual(each(1, 4)); // fallback: 1,2,3,1,2,3,4
    void w.f.close();
  });
  it('rename-and-create twice between two turns: the middle generation is read', async () => {
    fallback.on = fb;
    const { log, w } = followed(L(1, 2));
    await sleep(20);
    appendFileSync(log, L(3, 3)); // the file's ctime changes after it was opened
    rotate(log, L(4, 5));
    await sleep(20);
    rotate(log, L(6, 7));
    w.check(log);
    w.check(log);
    expect(w.texts()).toEqual(each(1, 7)); // fallback: 4-5 missing
    void w.f.close();
  });
});
