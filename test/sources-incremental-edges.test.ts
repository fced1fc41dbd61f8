/**
 * More unit tests of src/sources/incremental.ts, written against the mutation set `sources-incremental`'s
 * re-measure (docs/mutation.md): reads past the size planned, gzip read errors and skips over more than
 * one piece, lines held back, the consistency checks, the planning's retries. Beside
 * test/sources-incremental-units.test.ts (whose helpers these repeat: a file of their own keeps that
 * one's mutation results reusable by Stryker's incremental runs).
 */
import { appendFileSync, readdirSync, renameSync, statSync, truncateSync, utimesSync, linkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LogFile, Segment, TAIL_BYTES, planFile } from '../src/sources/incremental.js';
import type { TrackedFile } from '../src/state/state.js';
import { tmp } from './helpers.js';
import { each, fds, lines, nums, run, tracker } from './incremental-fixtures.js';

// node:fs as incremental.ts sees it, with a statSync failure a test can stage for one path, once or
// always (a name that vanishes between listing and looking; EACCES, which root never meets), after
// some calls that pass (`after`), or the stat of another path in its place (`as`: a folder there),
// counting the calls (`calls`); openSync failing for a path (`openFail`: times); the listing of a
// folder changed by a hook (`readdir`: a name appearing while planning); and failures of the next
// `readFail` positioned reads (`read`, as gzip data is read: EIO)
const staged = vi.hoisted(() => ({
  fail: new Map<string, { error?: Error; as?: string; times: number; after?: number; calls?: number }>(),
  openFail: new Map<string, number>(),
  readdir: null as ((dir: string, names: string[]) => string[]) | null,
  readFail: 0,
}));
vi.mock('node:fs', async (original) => {
  const fs = await original<typeof import('node:fs')>();
  const statSync = ((...a: Parameters<typeof fs.statSync>) => {
    const hit = staged.fail.get(String(a[0]));
    if (hit) hit.calls = (hit.calls ?? 0) + 1;
    if (hit && hit.after) hit.after--;
    else if (hit && hit.times > 0) {
      hit.times--;
      if (hit.as !== undefined) return fs.statSync(hit.as);
      throw hit.error;
    }
    return fs.statSync(...a);
  }) as typeof fs.statSync;
  const openSync = ((...a: Parameters<typeof fs.openSync>) => {
    const left = staged.openFail.get(String(a[0])) ?? 0;
    if (left > 0) {
      staged.openFail.set(String(a[0]), left - 1);
      throw Object.assign(new Error(`ENOENT: staged, open '${String(a[0])}'`), { code: 'ENOENT' });
    }
    return fs.openSync(...a);
  }) as typeof fs.openSync;
  // (incremental.ts lists names only: readdirSync(dir))
  const readdirSync = ((dir: string) => {
    const names = fs.readdirSync(dir);
    return staged.readdir ? staged.readdir(dir, names) : names;
  }) as unknown as typeof fs.readdirSync;
  const read = ((...a: unknown[]) => {
    if (staged.readFail > 0) {
      staged.readFail--;
      const cb = a[a.length - 1] as (e: Error) => void;
      setImmediate(() => cb(Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' })));
      return;
    }
    return (fs.read as (...x: unknown[]) => void)(...a);
  }) as typeof fs.read;
  const mocked = { statSync, openSync, readdirSync, read };
  return { ...fs, ...mocked, default: { ...fs, ...mocked } };
});
const errno = (code: string) => Object.assign(new Error(`${code}: staged`), { code });

describe('incremental.ts: written against the re-measure', () => {
  afterEach(() => {
    staged.fail.clear();
    staged.openFail.clear();
    staged.readdir = null;
    staged.readFail = 0;
  });

  it('a file refused once stays refused, even when it is back under its name', () => {
    const dir = tmp('xd-incr-');
    const f = join(dir, 'k.log.1');
    writeFileSync(f, lines(1, 1));
    const lf = new LogFile(f, statSync(f), -1);
    renameSync(f, join(dir, 'away'));
    expect(lf.open()).toBe(false);
    renameSync(join(dir, 'away'), f);
    expect(lf.open()).toBe(false);
  });

  it('the live file is read up to its size when planned, from where the last run stopped', async () => {
    const t = tracker();
    writeFileSync(t.log, lines(1, 3));
    await t.next();
    t.write(lines(4, 5));
    const plan = await planFile(t.log, t.state);
    try {
      t.write(lines(6, 7)); // the next run's
      let text = '';
      for (const s of plan.segments) for await (const c of s.open()) text += c.toString();
      expect(nums(text)).toEqual([4, 5]);
    } finally {
      plan.close();
    }
  });

  it('a compressed file that cannot be read is an error of its reading, not a wait', async () => {
    const dir = tmp('xd-incr-');
    const f = join(dir, 'k.log.1.gz');
    writeFileSync(f, gzipSync(lines(1, 3)));
    const seg = new Segment(new LogFile(f, statSync(f), -1), 0, 0, { head: Buffer.alloc(0), tail: Buffer.alloc(0) }, true);
    staged.readFail = 1;
    await expect(
      (async () => {
        for await (const _ of seg.open());
      })(),
    ).rejects.toThrow('gzip: EIO: i/o error, read');
  }, 20_000); // (without the error passed on, gunzip waits forever)

  it('a compressed file read from past its first 256 KiB skips that much of its uncompressed bytes', async () => {
    const dir = tmp('xd-incr-');
    const f = join(dir, 'k.log.1.gz');
    const text = lines(1, 20_000); // about 860 KB: gunzip gives it in 256 KiB pieces
    writeFileSync(f, gzipSync(text));
    const start = lines(1, 15_000).length;
    expect(start).toBeGreaterThan(2 * 256 * 1024);
    const seg = new Segment(new LogFile(f, statSync(f), -1), start, 15_000, { head: Buffer.alloc(0), tail: Buffer.alloc(0) }, true);
    let got = '';
    for await (const c of seg.open()) got += c.toString();
    expect(nums(got)).toEqual(each(15_001, 20_000));
    expect(seg.lines).toBe(20_000);
  });

  it('holds back an unended line that is all there is new, or that follows a line end alone', async () => {
    const t = tracker();
    writeFileSync(t.log, lines(1, 2));
    await t.next();
    t.write('Nov 26 04:00:01 xen07 kernel: line 3');
    expect(await t.next()).toEqual([]);
    expect(t.last!.text).toBe('');
    t.write('\n');
    expect(await t.next()).toEqual([3]);
    t.write('\nabc');
    await t.next();
    expect(t.last!.text).toBe('\n');
    expect(t.state!.current.lines).toBe(4);
  });

  it('reads an unended line of exactly 1 MiB, and counts no line for it until it ends', async () => {
    const t = tracker();
    writeFileSync(t.log, 'x'.repeat(1024 * 1024));
    await t.next();
    expect(t.last!.text.length).toBe(1024 * 1024);
    expect(t.state!.current.lines).toBe(0);
    const u = tracker();
    writeFileSync(u.log, `${lines(1, 1)}${'x'.repeat(1024 * 1024 + 10)}`);
    await u.next();
    expect(u.state!.current.lines).toBe(1);
    u.write(`\n${lines(2, 2)}`);
    expect(await u.next()).toEqual([2]);
    expect(u.state!.current.lines).toBe(3);
  });

  it('a file read on whose first bytes were rewritten while read counts as inconsistent', async () => {
    const t = tracker();
    writeFileSync(t.log, lines(1, 200));
    await t.next();
    t.write(lines(201, 210));
    const plan = await planFile(t.log, t.state);
    try {
      for (const s of plan.segments) for await (const _ of s.open());
      expect(plan.consistent()).toBe(true);
      // the same length, the last bytes the same: only the first differ
      writeFileSync(t.log, lines(1, 210).replace('line 1\n', 'LINE 1\n'));
      expect(plan.consistent()).toBe(false);
    } finally {
      plan.close();
    }
  });

  it('segments with nothing to read, left unread as report leaves them, do not make the plan inconsistent', async () => {
    const t = tracker();
    writeFileSync(t.log, lines(1, 3));
    await t.next();
    const plan = await planFile(t.log, t.state);
    try {
      expect(plan.segments.map((s) => s.hasWork)).toEqual([false]);
      truncateSync(t.log, 0);
      expect(plan.consistent()).toBe(true);
    } finally {
      plan.close();
    }
  });

  it('a log in a folder that does not exist is no rotation in progress: planned once', async () => {
    const dir = tmp('xd-incr-');
    const t0 = Date.now();
    const plan = await planFile(join(dir, 'missing', 'kern.log'), undefined);
    plan.close();
    expect([plan.unstable, plan.segments.length, plan.notes]).toEqual([false, 0, []]);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('a mark of another device is another file, even with the inode number', async () => {
    const t = tracker();
    writeFileSync(t.log, lines(1, 3));
    await t.next();
    t.write(lines(4, 4));
    const r = await run(t.log, { ...t.state!, current: { ...t.state!.current, dev: t.state!.current.dev + 1 } });
    expect(nums(r.text)).toEqual([4]);
    expect(r.events).toEqual([`${t.log}: replaced by a file that continues it`]);
  });

  it('the live file failing its second look (permission, a folder now) plans again, without a note', async () => {
    for (const stage of [{ error: errno('EACCES') }, { as: tmp('xd-incr-') }]) {
      const t = tracker();
      writeFileSync(t.log, lines(1, 2));
      staged.fail.set(t.log, { ...stage, times: 1, after: 1 });
      const r = await run(t.log, undefined);
      expect(staged.fail.get(t.log)!.times).toBe(0);
      expect([nums(r.text), r.notes]).toEqual([[1, 2], []]);
    }
  });

  it('a rotation that never settles is planned 9 times, waiting 100 ms more each time, then read as it is', async () => {
    const t = tracker();
    writeFileSync(t.at(1), lines(1, 2));
    writeFileSync(t.log, lines(3, 3));
    staged.fail.set(t.at(1), { error: errno('ENOENT'), times: 100 });
    const t0 = Date.now();
    const plan = await planFile(t.log, undefined);
    try {
      expect(Date.now() - t0).toBeGreaterThanOrEqual(3500);
      expect(staged.fail.get(t.at(1))!.times).toBe(91);
      expect(plan.unstable).toBe(true);
      expect(plan.segments.map((s) => s.name)).toEqual([t.log]);
    } finally {
      plan.close();
    }
  });

  it('a compressed generation holds the rest of more than 256 KiB read (its last 512 bytes in the second piece of gunzip)', async () => {
    const t = tracker();
    writeFileSync(t.log, lines(1, 8000));
    expect(statSync(t.log).size).toBeGreaterThan(256 * 1024 + TAIL_BYTES);
    await t.next();
    t.write(lines(8001, 8002));
    t.rotate(true, false);
    t.write(lines(8003, 8003));
    expect(await t.next()).toEqual(each(8001, 8003));
    expect(t.last!.notes).toEqual([]);
    expect(t.last!.segs[0]).toEqual(['kern.log.1.gz', 8000, 8002, true]);
  });

  it('a file compressed right after the last run, with nothing added: its end is where the run stopped', async () => {
    const t = tracker();
    writeFileSync(t.log, lines(1, 5));
    await t.next();
    t.rotate(true, false);
    t.write(lines(6, 6));
    expect(await t.next()).toEqual([6]);
    expect(t.last!.notes).toEqual([]);
    expect(t.last!.events).toEqual([`${t.log}: rotated; the rest of ${t.at('.1.gz')} from line 6, then what came after`]);
  });

  it('the file renamed away is found by its inode before a newer one that begins the same (a banner)', async () => {
    const t = tracker();
    writeFileSync(t.log, lines(1, 2));
    await t.next();
    t.write(lines(3, 3));
    t.rotate();
    // the daemon writes the same first lines into each new file
    t.write(lines(1, 2) + lines(4, 4));
    t.rotate();
    t.write(lines(5, 5));
    expect(await t.next()).toEqual([3, 1, 2, 4, 5]);
    expect(t.last!.segs.map((s) => s[0])).toEqual(['kern.log.2', 'kern.log.1', 'kern.log']);
  });

  it('an empty generation rotated away and removed since is not taken for any file', async () => {
    const t = tracker();
    writeFileSync(t.at(1), '');
    writeFileSync(t.log, lines(1, 3));
    await t.next();
    expect(t.state!.rotated).toMatchObject({ path: t.at(1), offset: 0 });
    unlinkSync(t.at(1));
    t.write(lines(4, 5));
    renameSync(t.log, t.at(1));
    writeFileSync(t.log, lines(6, 6));
    expect(await t.next()).toEqual([4, 5, 6]);
    expect(t.last!.notes).toEqual([]);
  });

  describe('the newest generation of a state of an earlier version', () => {
    const old = (s: TrackedFile): TrackedFile => {
      const { gens: _gens, ...rest } = s;
      return rest;
    };

    it('is found by its inode before a newer one that begins the same', async () => {
      const t = tracker();
      writeFileSync(t.at(1), lines(1, 2));
      writeFileSync(t.log, '');
      await t.next();
      t.write(lines(1, 3));
      t.rotate();
      t.write(lines(4, 4));
      const r = await run(t.log, old(t.state!));
      expect(nums(r.text)).toEqual([1, 2, 3, 4]);
      // (kern.log.2: the generation rotated away at the last run, read on for late lines)
      expect(r.segs.map((s) => s[0])).toEqual(['kern.log.2', 'kern.log.1', 'kern.log']);
    });

    it('compressed since: by its first bytes, not by a newer, longer file that begins otherwise', async () => {
      const t = tracker();
      writeFileSync(t.at(1), lines(1, 2));
      writeFileSync(t.log, '');
      await t.next();
      t.write(lines(3, 5));
      t.rotate(true);
      t.write(lines(6, 6));
      const r = await run(t.log, old(t.state!));
      expect(nums(r.text)).toEqual([3, 4, 5, 6]);
    });

    it('its inode number held by another file (reused) is checked by its first bytes', async () => {
      const t = tracker();
      writeFileSync(t.at(1), lines(1, 2));
      writeFileSync(t.log, '');
      await t.next();
      t.write(lines(3, 3));
      t.rotate();
      t.write(lines(4, 4));
      const s = old(t.state!);
      const r = await run(t.log, { ...s, newestGen: { ...s.newestGen!, ino: statSync(t.at(1)).ino } });
      expect(nums(r.text)).toEqual([3, 4]);
    });

    it('empty and gone: nothing tells which files are newer (a note)', async () => {
      const t = tracker();
      writeFileSync(t.at(1), '');
      writeFileSync(t.log, '');
      await t.next();
      expect(t.state!.newestGen).toMatchObject({ head: { len: 0 } });
      unlinkSync(t.at(1));
      t.write(lines(1, 2));
      renameSync(t.log, t.at(1));
      writeFileSync(t.log, lines(3, 3));
      const r = await run(t.log, old(t.state!));
      expect(nums(r.text)).toEqual([3]);
      expect(r.notes).toEqual([
        `${t.log} was rotated more than its rotated files show: lines written to it after the last run may be missing`,
      ]);
    });
  });

  it('a generation that cannot be opened while planning (gone between listing and opening) plans again', async () => {
    const t = tracker();
    writeFileSync(t.at(1), lines(1, 2));
    writeFileSync(t.log, lines(3, 4));
    await t.next();
    for (const n of [5, 6]) {
      t.write(lines(n, n));
      t.rotate(true, true);
    }
    t.write(lines(7, 7));
    expect(readdirSync(t.dir).sort()).toEqual(['kern.log', 'kern.log.1', 'kern.log.2.gz', 'kern.log.3.gz']);
    staged.openFail.set(t.at('.2.gz'), 1);
    expect(await t.next()).toEqual([5, 6, 7]);
    expect(staged.openFail.get(t.at('.2.gz'))).toBe(0);
    expect(t.last!.notes).toEqual([]);
  });

  it('the newest generation that cannot be opened while planning plans again, and is remembered', async () => {
    const t = tracker();
    writeFileSync(t.at(1), lines(1, 2));
    writeFileSync(t.log, lines(3, 4));
    await t.next();
    t.write(lines(5, 5));
    staged.openFail.set(t.at(1), 1);
    expect(await t.next()).toEqual([5]);
    expect(staged.openFail.get(t.at(1))).toBe(0);
    expect(t.state!.newestGen).toMatchObject({ ino: statSync(t.at(1)).ino });
    expect(t.state!.rotated).toMatchObject({ path: t.at(1) });
  });

  it('a rotated file gone when its turn comes is read as nothing, and the plan is inconsistent', async () => {
    const dir = tmp('xd-incr-');
    const f = join(dir, 'k.log.1');
    writeFileSync(f, lines(1, 2));
    const seg = new Segment(new LogFile(f, statSync(f), -1), 0, 0, { head: Buffer.alloc(0), tail: Buffer.alloc(0) }, true);
    unlinkSync(f);
    let text = '';
    for await (const c of seg.open()) text += c.toString();
    expect([text, seg.read, seg.consistent()]).toEqual(['', true, false]);
  });

  it('a rotated name that is the live file itself (a hard link) is not read twice', async () => {
    const t = tracker();
    writeFileSync(t.log, lines(1, 2));
    linkSync(t.log, t.at(1));
    expect(await t.next()).toEqual([1, 2]);
  });

  it('the first run reads the rotated set by the order of their names, whatever their times', async () => {
    const t = tracker();
    writeFileSync(t.at(2), lines(1, 1));
    utimesSync(t.at(2), 2000, 2000);
    writeFileSync(t.at(1), lines(2, 2));
    utimesSync(t.at(1), 1000, 1000);
    writeFileSync(t.log, lines(3, 3));
    expect(await t.next()).toEqual([1, 2, 3]);
  });

  it('a plan keeps open only the files it will read', async () => {
    const t = tracker();
    for (let i = 1; i <= 5; i++) writeFileSync(t.at(i), lines(i, i));
    writeFileSync(t.log, lines(0, 0));
    await t.next();
    const before = fds();
    // a state of an earlier version (no list of generations): every generation's first bytes are read
    const { gens: _gens, ...state } = t.state!;
    const plan = await planFile(t.log, state);
    try {
      // kern.log.1 (rotated away last: read on for late lines) and kern.log
      expect(plan.segments.map((s) => s.name)).toEqual([t.at(1), t.log]);
      expect(fds() - before).toBe(2);
    } finally {
      plan.close();
    }
  });

  it('a name appearing in the folder while planning plans again', async () => {
    const t = tracker();
    writeFileSync(t.log, lines(1, 1));
    let calls = 0;
    staged.readdir = (dir, names) => {
      if (dir !== t.dir) return names;
      calls++;
      return calls === 2 ? [...names, 'kern.log.1'] : names;
    };
    const plan = await planFile(t.log, undefined);
    plan.close();
    expect([calls, plan.unstable]).toEqual([4, false]);
  });

  it('a log gone, with its rotated files there, is planned once', async () => {
    const t = tracker();
    writeFileSync(t.log, lines(1, 1));
    await t.next();
    t.rotate();
    unlinkSync(t.log);
    const t0 = Date.now();
    const plan = await planFile(t.log, t.state);
    plan.close();
    expect([plan.unstable, plan.live]).toEqual([false, false]);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('the live file replaced between the first and the second look plans again', async () => {
    const t = tracker();
    writeFileSync(t.log, lines(1, 2));
    const other = join(t.dir, 'other');
    writeFileSync(other, lines(1, 2));
    staged.fail.set(t.log, { as: other, times: 1, after: 1 });
    const r = await run(t.log, undefined);
    expect(nums(r.text)).toEqual([1, 2]);
    // two plans, two looks each
    expect(staged.fail.get(t.log)!.calls).toBe(4);
  });

  it('a name of another set, with a number this set lacks, is not a generation', async () => {
    const t = tracker();
    writeFileSync(join(t.dir, 'kern.logx.2'), lines(9, 9));
    writeFileSync(t.at(1), lines(1, 1));
    writeFileSync(t.log, lines(2, 2));
    expect(await t.next()).toEqual([1, 2]);
  });

  it('a compressed file read from exactly its first 256 KiB on gives no empty piece', async () => {
    const dir = tmp('xd-incr-');
    const f = join(dir, 'k.log.1.gz');
    const line = `${'x'.repeat(1023)}\n`;
    writeFileSync(f, gzipSync(line.repeat(300)));
    const seg = new Segment(new LogFile(f, statSync(f), -1), 256 * 1024, 256, { head: Buffer.alloc(0), tail: Buffer.alloc(0) }, true);
    const sizes: number[] = [];
    for await (const c of seg.open()) sizes.push(c.length);
    expect(sizes).toEqual([44 * 1024]);
    expect(seg.lines).toBe(300);
  });

  it('a remembered generation is known by inode, size and time together, not by size and time alone', async () => {
    const t = tracker();
    writeFileSync(t.at(1), lines(1, 1));
    utimesSync(t.at(1), 1000, 1000);
    writeFileSync(t.log, '');
    expect(await t.next()).toEqual([1]);
    // the same size and time as kern.log.1 was: another file all the same
    t.write(lines(3, 3));
    utimesSync(t.log, 1000, 1000);
    t.rotate();
    t.write(lines(4, 4));
    expect(await t.next()).toEqual([3, 4]);
  });

  it('a remembered generation written to since is known by its inode before a newer one that begins the same', async () => {
    const t = tracker();
    writeFileSync(t.at(1), lines(1, 2));
    writeFileSync(t.log, '');
    await t.next();
    appendFileSync(t.at(1), lines(3, 3)); // written late
    t.write(lines(1, 2) + lines(4, 4)); // the same first lines (a banner)
    t.rotate();
    t.write(lines(5, 5));
    const r = await run(t.log, t.state);
    expect(nums(r.text)).toEqual([3, 1, 2, 4, 5]);
    expect(r.notes).toEqual([]);
  });

  it('a remembered empty generation, gone since, claims no new file', async () => {
    const t = tracker();
    writeFileSync(t.at(1), '');
    writeFileSync(t.log, '');
    await t.next();
    unlinkSync(t.at(1));
    t.write(lines(1, 1));
    renameSync(t.log, t.at(2));
    writeFileSync(t.at(1), lines(2, 2));
    writeFileSync(t.log, lines(3, 3));
    expect(await t.next()).toEqual([1, 2, 3]);
  });

  it('a remembered generation compressed since is found by its first bytes without a note', async () => {
    const t = tracker();
    writeFileSync(t.at(1), lines(1, 2));
    writeFileSync(t.log, '');
    await t.next();
    t.write(lines(3, 3));
    t.rotate(true);
    t.write(lines(4, 4));
    expect(await t.next()).toEqual([3, 4]);
    expect(t.last!.notes).toEqual([]);
  });

  it('the newest generation of a dated set is the latest date', async () => {
    const t = tracker();
    writeFileSync(t.at('-20261120'), lines(1, 1));
    writeFileSync(t.at('-20261121'), lines(2, 2));
    writeFileSync(t.log, lines(3, 3));
    await t.next();
    expect(t.state!.newestGen).toMatchObject({ ino: statSync(t.at('-20261121')).ino });
  });

  it('a live file gone between its look and its opening plans again', async () => {
    const t = tracker();
    writeFileSync(t.log, lines(1, 2));
    staged.openFail.set(t.log, 1);
    expect(await t.next()).toEqual([1, 2]);
    expect(staged.openFail.get(t.log)).toBe(0);
  });

  it('empty at the last run and still empty, nothing rotated: no event', async () => {
    const t = tracker();
    writeFileSync(t.at(1), lines(1, 1));
    writeFileSync(t.log, '');
    await t.next();
    expect(await t.next()).toEqual([]);
    expect(t.last!.events).toEqual([]);
    // a state of an earlier version (no list of generations), kern.log.1 read on for late lines
    const { gens: _g, ...old } = t.state!;
    const r = await run(t.log, old);
    expect([nums(r.text), r.events, r.notes]).toEqual([[], [], []]);
    // the newest generation seen gone, the file itself not rotated: nothing is missing
    unlinkSync(t.at(1));
    const gone = await run(t.log, old);
    expect([nums(gone.text), gone.events, gone.notes]).toEqual([[], [], []]);
  });

  it('a state of an earlier version: only the generations newer than the newest seen, by name and by time', async () => {
    const t = tracker();
    writeFileSync(t.at('-20261120'), lines(1, 1));
    utimesSync(t.at('-20261120'), 1000, 1000);
    writeFileSync(t.log, '');
    await t.next();
    const { gens: _g, rotated: _r, ...old } = t.state!;
    // written to at the same time as the newest seen (to the millisecond): newer all the same
    writeFileSync(t.at('-20261121'), lines(2, 2));
    utimesSync(t.at('-20261121'), 1000, 1000);
    // a numbered file older than it (left from before dateext): not new
    writeFileSync(t.at(1), lines(0, 0));
    utimesSync(t.at(1), 500, 500);
    const r = await run(t.log, old);
    expect([nums(r.text), r.notes]).toEqual([[2], []]);
  });

  it('new generations after the one holding the rest are read by when they were written', async () => {
    const t = tracker();
    writeFileSync(t.log, lines(1, 1));
    await t.next();
    t.write(lines(2, 2));
    renameSync(t.log, t.at('-20261120'));
    utimesSync(t.at('-20261120'), 1000, 1000);
    writeFileSync(t.at(1), lines(3, 3)); // numbered, but written before the dated one after it
    utimesSync(t.at(1), 1500, 1500);
    writeFileSync(t.at('-20261121'), lines(4, 4));
    utimesSync(t.at('-20261121'), 2000, 2000);
    writeFileSync(t.log, lines(5, 5));
    expect(await t.next()).toEqual([2, 3, 4, 5]);
  });

  it('a state of an earlier version read in part: neither older generations nor newer names written before', async () => {
    const t = tracker();
    writeFileSync(t.at('-20261101'), lines(1, 1));
    utimesSync(t.at('-20261101'), 500, 500);
    writeFileSync(t.at(1), lines(2, 2));
    utimesSync(t.at(1), 1000, 1000);
    writeFileSync(t.log, lines(3, 3));
    expect(await t.next()).toEqual([1, 2, 3]);
    const { gens: _g, rotated: _r, ...old } = t.state!;
    t.write(lines(4, 4));
    renameSync(t.log, t.at('-20261121'));
    utimesSync(t.at('-20261121'), 3000, 3000);
    writeFileSync(t.log, lines(5, 5));
    const r = await run(t.log, old);
    expect(nums(r.text)).toEqual([4, 5]);
  });

  it('a remembered generation unchanged is not read again, however far it moved', async () => {
    const t = tracker();
    writeFileSync(t.at(2), lines(1, 1));
    writeFileSync(t.at(1), lines(2, 2));
    writeFileSync(t.log, '');
    expect(await t.next()).toEqual([1, 2]);
    t.write(lines(3, 3));
    t.rotate();
    t.write(lines(4, 4));
    expect(await t.next()).toEqual([3, 4]);
  });

  it('empty at the last run: the event names the new rotated files read whole, beside the rest of the one rotated away', async () => {
    const t = tracker();
    writeFileSync(t.at(1), lines(1, 1));
    writeFileSync(t.log, '');
    await t.next();
    t.write(lines(2, 2));
    t.rotate();
    expect(await t.next()).toEqual([2]);
    expect(t.last!.segs.map((s) => [s[0], s[1]])).toEqual([
      ['kern.log.2', 1],
      ['kern.log.1', 0],
      ['kern.log', 0],
    ]);
    expect(t.last!.events).toEqual([`${t.log}: rotated while empty; read the new rotated files`]);
  });
});
