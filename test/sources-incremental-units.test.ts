/**
 * Unit tests of src/sources/incremental.ts (`report`'s "only what is new" reading; reached only through
 * the binary before, but for the two copytruncate cases in test/follow-copytruncate.test.ts): runs
 * chained in-process through the state each leaves (as JSON, as the state file keeps it), across
 * every kind of rotation: rename and create, copytruncate, compression with and without
 * delaycompress, dateext, several rotations between two runs, a file truncated, replaced or gone,
 * late writes to the generation rotated away, states of earlier versions. Every line is read once.
 * The mutation set `sources-incremental` (docs/mutation.md). Files live in temporary folders.
 */
import {
  appendFileSync,
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  symlinkSync,
  truncateSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HEAD_BYTES, LogFile, Segment, TAIL_BYTES, fingerprint, planFile, pread, trackedPaths } from '../src/sources/incremental.js';
import type { TrackedFile } from '../src/state/state.js';
import { tmp } from './helpers.js';
import { each, fds, lines, nums, run, tracker } from './incremental-fixtures.js';

// node:fs as incremental.ts sees it, with a statSync failure a test can stage for one path, once or
// always (a name that vanishes between listing and looking; EACCES, which root never meets)
const staged = vi.hoisted(() => ({ fail: new Map<string, { error: Error; times: number }>() }));
vi.mock('node:fs', async (original) => {
  const fs = await original<typeof import('node:fs')>();
  const statSync = ((...a: Parameters<typeof fs.statSync>) => {
    const hit = staged.fail.get(String(a[0]));
    if (hit && hit.times > 0) {
      hit.times--;
      throw hit.error;
    }
    return fs.statSync(...a);
  }) as typeof fs.statSync;
  return { ...fs, statSync, default: { ...fs, statSync } };
});
const errno = (code: string) => Object.assign(new Error(`${code}: staged`), { code });

describe('report: the first run and the runs after it', () => {
  it('reads a rotated set oldest first at the first run, then only the lines added, each once', async () => {
    const t = tracker();
    writeFileSync(t.at('.3.gz'), gzipSync(lines(1, 5)));
    writeFileSync(t.at(2), lines(6, 10));
    writeFileSync(t.at(1), lines(11, 15));
    writeFileSync(t.log, lines(16, 20));
    expect(await t.next()).toEqual(each(1, 20));
    expect(t.last!.segs).toEqual([
      ['kern.log.3.gz', 0, 5, true],
      ['kern.log.2', 0, 5, true],
      ['kern.log.1', 0, 5, true],
      ['kern.log', 0, 5, false],
    ]);
    expect(t.last!.events).toEqual([]);
    expect(t.last!.notes).toEqual([]);
    expect(await t.next()).toEqual([]);
    t.write(lines(21, 22));
    expect(await t.next()).toEqual([21, 22]);
    // the generation rotated away last (kern.log.1) is looked at for late lines too
    expect(t.last!.segs).toEqual([
      ['kern.log.1', 5, 5, true],
      ['kern.log', 5, 7, false],
    ]);
    // line numbers are the file's own
    expect(t.state!.current.lines).toBe(7);
    expect(t.state!.current.offset).toBe(statSync(t.log).size);
  });

  it('holds back a line not yet ended, and reads it once it ends', async () => {
    const t = tracker();
    writeFileSync(t.log, `${lines(1, 2)}Nov 26 04:00:01 xen07 kernel: line 3`);
    expect(await t.next()).toEqual([1, 2]);
    expect(t.state!.current.offset).toBe(lines(1, 2).length);
    t.write('\n');
    expect(await t.next()).toEqual([3]);
    // a line of only its end
    t.write('\n');
    await t.next();
    expect(t.last!.text).toBe('\n');
    expect(t.state!.current.lines).toBe(4);
  });

  it('reads a line without an end once it is 1 MiB long', async () => {
    const t = tracker();
    const long = 'x'.repeat(1024 * 1024 + 10);
    writeFileSync(t.log, `${lines(1, 1)}${long}`);
    const r = await run(t.log, undefined);
    expect(r.text.length).toBe(lines(1, 1).length + long.length);
  });

  it('describes each stretch as a stream input: name, modification time, bytes left, line base', async () => {
    const t = tracker();
    writeFileSync(t.log, lines(1, 3));
    writeFileSync(t.at('.1.gz'), gzipSync(lines(0, 0)));
    utimesSync(t.log, 100, 200);
    const plan = await planFile(t.log, undefined);
    try {
      const [gz, live] = plan.segments;
      expect([live!.name, live!.kind, live!.host, live!.mtime, live!.size, live!.lineBase, live!.start]).toEqual([
        t.log,
        'command',
        null,
        200_000,
        lines(1, 3).length,
        0,
        0,
      ]);
      expect(live!.hasWork).toBe(true);
      expect(gz!.size).toBeNull();
      expect(gz!.hasWork).toBe(true);
      const m = live!.mark();
      expect(m.offset).toBe(0);
      expect(m.head).toEqual(fingerprint(Buffer.alloc(0)));
      expect(m.tail).toEqual(fingerprint(Buffer.alloc(0)));
      expect(m.size).toBe(lines(1, 3).length);
      expect(m.mtime).toBe(200_000);
      expect(plan.live).toBe(true);
      expect(plan.path).toBe(t.log);
    } finally {
      plan.close();
    }
    const t2 = tracker();
    writeFileSync(t2.log, lines(1, 3));
    await t2.next();
    const p2 = await planFile(t2.log, t2.state);
    try {
      expect(p2.segments.map((s) => [s.start, s.size, s.hasWork])).toEqual([[lines(1, 3).length, 0, false]]);
    } finally {
      p2.close();
    }
  });

  it('remembers where it stopped by fingerprints of the first 4 KiB and the last 512 bytes read', async () => {
    const t = tracker();
    const text = lines(1, 200);
    writeFileSync(t.log, text);
    await t.next();
    const buf = Buffer.from(text);
    expect(t.state!.current.head).toEqual(fingerprint(buf.subarray(0, HEAD_BYTES)));
    expect(t.state!.current.tail).toEqual(fingerprint(buf.subarray(buf.length - TAIL_BYTES)));
    expect(t.state!.current.dev).toBe(statSync(t.log).dev);
    expect(t.state!.current.ino).toBe(statSync(t.log).ino);
    // a short file: all of it, both
    const s = tracker();
    writeFileSync(s.log, lines(1, 2));
    await s.next();
    expect(s.state!.current.head).toEqual(fingerprint(Buffer.from(lines(1, 2))));
    expect(s.state!.current.tail).toEqual(fingerprint(Buffer.from(lines(1, 2))));
    // read on in small steps: the tail is still the last 512 bytes read
    for (let i = 3; i <= 40; i++) {
      s.write(lines(i, i));
      await s.next();
    }
    const all = Buffer.from(lines(1, 40));
    expect(s.state!.current.tail).toEqual(fingerprint(all.subarray(all.length - TAIL_BYTES)));
    expect(s.state!.current.head).toEqual(fingerprint(all.subarray(0, Math.min(HEAD_BYTES, all.length))));
    for (let i = 41; i <= 200; i++) s.write(lines(i, i));
    await s.next();
    const big = Buffer.from(lines(1, 200));
    expect(s.state!.current.head).toEqual(fingerprint(big.subarray(0, HEAD_BYTES)));
    expect(s.state!.current.tail).toEqual(fingerprint(big.subarray(big.length - TAIL_BYTES)));
  });
});

describe('report: across rotations', () => {
  it('rename and create: the rest of the rotated file, then the new one', async () => {
    const t = tracker();
    writeFileSync(t.log, lines(1, 5));
    await t.next();
    t.write(lines(6, 8));
    t.rotate();
    t.write(lines(9, 10));
    expect(await t.next()).toEqual(each(6, 10));
    expect(t.last!.segs).toEqual([
      ['kern.log.1', 5, 8, true],
      ['kern.log', 0, 2, false],
    ]);
    expect(t.last!.events).toEqual([`${t.log}: rotated; the rest of ${t.at(1)} from line 6, then what came after`]);
    expect(t.last!.notes).toEqual([]);
    // the generation rotated away is watched for late lines
    expect(t.state!.rotated).toMatchObject({ path: t.at(1), offset: lines(1, 8).length, lines: 8 });
    appendFileSync(t.at(1), lines(11, 11)); // written late, before the daemon reopened its log
    t.write(lines(12, 12));
    expect(await t.next()).toEqual([11, 12]);
    expect(await t.next()).toEqual([]);
  });

  it('copytruncate: the rest of the copy, then the file from its start', async () => {
    const t = tracker();
    writeFileSync(t.log, lines(1, 5));
    await t.next();
    t.write(lines(6, 7));
    t.copytruncate();
    t.write(lines(8, 9));
    expect(await t.next()).toEqual(each(6, 9));
    t.write(lines(10, 10));
    t.copytruncate(); // the copy replaces name.1 (logrotate would have moved it to .2)
    expect(await t.next()).toEqual([10]);
  });

  it('compressed at once (no delaycompress): the rest read from the gzip file', async () => {
    const t = tracker();
    writeFileSync(t.log, lines(1, 5));
    await t.next();
    t.write(lines(6, 7));
    t.rotate(true, false);
    t.write(lines(8, 8));
    expect(await t.next()).toEqual([6, 7, 8]);
    expect(t.last!.segs[0]).toEqual(['kern.log.1.gz', 5, 7, true]);
    // a compressed generation is not watched for late lines
    expect(t.state!.rotated).toBeUndefined();
  });

  it('delaycompress: the generation rotated away is compressed at the next rotation', async () => {
    const t = tracker();
    writeFileSync(t.log, lines(1, 3));
    await t.next();
    for (let round = 0; round < 4; round++) {
      const from = 4 + round * 3;
      t.write(lines(from, from + 1));
      t.rotate(true, true);
      t.write(lines(from + 2, from + 2));
      expect(await t.next()).toEqual(each(from, from + 2));
    }
    expect(readdirSync(t.dir).sort()).toEqual(['kern.log', 'kern.log.1', 'kern.log.2.gz', 'kern.log.3.gz', 'kern.log.4.gz']);
  });

  it('several rotations between two runs: the rest of the oldest, the newer ones whole, then the file', async () => {
    const t = tracker();
    writeFileSync(t.log, lines(1, 3));
    await t.next();
    t.write(lines(4, 5));
    t.rotate();
    t.write(lines(6, 7));
    t.rotate(true);
    t.write(lines(8, 9));
    t.rotate(true);
    t.write(lines(10, 10));
    expect(await t.next()).toEqual(each(4, 10));
    expect(t.last!.segs.map((s) => s[0])).toEqual(['kern.log.3.gz', 'kern.log.2.gz', 'kern.log.1', 'kern.log']);
  });

  it('dateext: the dated generations newer than the one it was in, by date', async () => {
    const t = tracker();
    writeFileSync(t.log, lines(1, 3));
    await t.next();
    t.write(lines(4, 4));
    renameSync(t.log, t.at('-20261120'));
    writeFileSync(t.log, lines(5, 5));
    renameSync(t.log, t.at('-20261121'));
    writeFileSync(t.log, lines(6, 6));
    expect(await t.next()).toEqual([4, 5, 6]);
  });

  it('a set dated with a dot (dateformat .%Y%m%d) too', async () => {
    const t = tracker('messages');
    writeFileSync(t.log, lines(1, 3));
    await t.next();
    t.write(lines(4, 4));
    renameSync(t.log, t.at('.20261120'));
    writeFileSync(t.log, lines(5, 5));
    utimesSync(t.at('.20261120'), 1000, 1000);
    renameSync(t.log, t.at('.20261121'));
    utimesSync(t.at('.20261121'), 2000, 2000);
    writeFileSync(t.log, lines(6, 6));
    expect(await t.next()).toEqual([4, 5, 6]);
  });

  it('a numbered file left from before dateext is older than the dated ones, by when it was written', async () => {
    const t = tracker();
    writeFileSync(t.at(1), lines(1, 2));
    utimesSync(t.at(1), 1000, 1000);
    writeFileSync(t.log, lines(3, 4));
    await t.next();
    t.write(lines(5, 5));
    renameSync(t.log, t.at('-20261121'));
    utimesSync(t.at('-20261121'), 3000, 3000);
    writeFileSync(t.log, lines(6, 6));
    renameSync(t.log, t.at('-20261122'));
    utimesSync(t.at('-20261122'), 4000, 4000);
    writeFileSync(t.log, lines(7, 7));
    expect(await t.next()).toEqual([5, 6, 7]);
  });

  it('the file replaced by one that continues it (copied over: a new inode, the same beginning)', async () => {
    const t = tracker();
    writeFileSync(t.log, lines(1, 3));
    await t.next();
    writeFileSync(join(t.dir, 'new'), lines(1, 5));
    renameSync(join(t.dir, 'new'), t.log);
    expect(await t.next()).toEqual([4, 5]);
    expect(t.last!.events).toEqual([`${t.log}: replaced by a file that continues it`]);
  });

  it('says when the earlier content is nowhere: truncated, replaced, gone', async () => {
    const t = tracker();
    writeFileSync(t.log, lines(1, 3));
    await t.next();
    truncateSync(t.log, 0);
    t.write(lines(4, 4));
    expect(await t.next()).toEqual([4]);
    expect(t.last!.notes).toEqual([
      `${t.log} was truncated or rewritten and no rotated copy of its earlier content was found: lines written after the last run and before that may be missing`,
    ]);
    writeFileSync(join(t.dir, 'new'), lines(5, 6));
    renameSync(join(t.dir, 'new'), t.log);
    expect(await t.next()).toEqual([5, 6]);
    expect(t.last!.notes).toEqual([
      `${t.log} was replaced and its earlier content was not found among its rotated files: lines written to it after the last run may be missing`,
    ]);
    unlinkSync(t.log);
    const r = await run(t.log, t.state);
    expect(r.text).toBe('');
    expect(r.live).toBe(false);
    expect(r.notes).toEqual([`${t.log} is gone and its earlier content was not found among its rotated files`]);
    // nothing read: the state is kept
    expect(r.state).toEqual(t.state);
  });

  it('a rewrite of the same length is not taken for the file read on', async () => {
    const t = tracker();
    writeFileSync(t.log, lines(1, 3));
    await t.next();
    // the first bytes changed, the tail not
    const text = lines(1, 3).replace('line 1', 'LINE 1');
    writeFileSync(t.log, text + lines(4, 4));
    expect(await t.next()).toEqual([2, 3, 4]);
    expect(t.last!.notes[0]).toMatch(/was truncated or rewritten/);
    // the last bytes changed, the head not
    const u = tracker();
    writeFileSync(u.log, lines(1, 100));
    await u.next();
    writeFileSync(u.log, lines(1, 99) + lines(100, 100).replace('line', 'LINE') + lines(101, 101));
    expect(await u.next()).toEqual([...each(1, 99), 101]);
  });

  it('a file that was empty at the last run and was rotated: the new rotated files whole', async () => {
    const t = tracker();
    writeFileSync(t.log, '');
    await t.next();
    expect(t.state!.current.offset).toBe(0);
    t.write(lines(1, 2));
    t.rotate();
    t.write(lines(3, 3));
    expect(await t.next()).toEqual([1, 2, 3]);
    expect(t.last!.events).toEqual([`${t.log}: rotated while empty; read the new rotated files`]);
    // empty again, nothing rotated: nothing more
    expect(await t.next()).toEqual([]);
    expect(t.last!.events).toEqual([]);
  });

  it('a file empty at the last run, with generations then, reads only the ones new since', async () => {
    const t = tracker();
    writeFileSync(t.at(1), lines(1, 2));
    writeFileSync(t.log, '');
    expect(await t.next()).toEqual([1, 2]);
    t.rotate(true); // .1 → .2.gz (compressed since: recognised by its first bytes)
    t.write(lines(3, 3));
    t.rotate(true);
    t.write(lines(4, 4));
    // kern.log.1 is empty (rotated while empty), .2.gz is new ("line 3"), .3.gz was seen
    expect(await t.next()).toEqual([3, 4]);
  });

  it('says when generations new since cannot be told from one seen before', async () => {
    const t = tracker();
    writeFileSync(t.at(1), lines(1, 2));
    writeFileSync(t.log, '');
    await t.next();
    // the seen one rewritten as two files that both begin like it
    writeFileSync(t.at(2), lines(1, 3));
    writeFileSync(join(t.dir, 'x'), lines(1, 4));
    renameSync(join(t.dir, 'x'), t.at(1));
    const r = await run(t.log, t.state);
    expect(r.notes).toEqual([
      `${t.log}: some rotated files begin like others read before and cannot be told apart: lines may be missing or read twice`,
    ]);
  });
});

describe('report: states of earlier versions (no list of generations)', () => {
  const old = (s: TrackedFile): TrackedFile => {
    const { gens: _gens, ...rest } = s;
    return rest;
  };

  it('an empty file with no generation then: every generation now is new', async () => {
    const t = tracker();
    writeFileSync(t.log, '');
    await t.next();
    expect(t.state!.newestGen).toBeNull();
    t.write(lines(1, 1));
    t.rotate();
    t.write(lines(2, 2));
    const r = await run(t.log, old(t.state!));
    expect(nums(r.text)).toEqual([1, 2]);
    expect(r.events).toEqual([`${t.log}: rotated while empty; read the new rotated files`]);
  });

  it('an empty file with a newest generation then: those newer than it', async () => {
    const t = tracker();
    writeFileSync(t.at(1), lines(1, 2));
    utimesSync(t.at(1), 1000, 1000);
    writeFileSync(t.log, '');
    await t.next();
    expect(t.state!.newestGen).toMatchObject({ ino: statSync(t.at(1)).ino });
    t.write(lines(3, 3));
    t.rotate(true);
    t.write(lines(4, 4));
    const r = await run(t.log, old(t.state!));
    expect(nums(r.text)).toEqual([3, 4]);
    // the newest one seen is gone (rotated out) and the file replaced: a note
    for (const n of readdirSync(t.dir)) if (n !== 'kern.log') unlinkSync(join(t.dir, n));
    writeFileSync(join(t.dir, 'x'), '');
    renameSync(join(t.dir, 'x'), t.log);
    writeFileSync(t.at(1), lines(9, 9));
    const gone = await run(t.log, old(t.state!));
    expect(gone.notes).toEqual([
      `${t.log} was rotated more than its rotated files show: lines written to it after the last run may be missing`,
    ]);
    expect(nums(gone.text)).toEqual([]);
  });

  it('an empty file with no newest generation known (undefined): nothing but the file', async () => {
    const t = tracker();
    writeFileSync(t.log, '');
    await t.next();
    t.write(lines(1, 1));
    t.rotate();
    t.write(lines(2, 2));
    const { newestGen: _n, gens: _g, ...s } = t.state!;
    const r = await run(t.log, s);
    expect(nums(r.text)).toEqual([2]);
    expect(r.events).toEqual([]);
  });

  it('a file read in part, rotated: the generations newer than the one holding the rest', async () => {
    const t = tracker();
    writeFileSync(t.log, lines(1, 2));
    await t.next();
    t.write(lines(3, 3));
    t.rotate();
    t.write(lines(4, 4));
    t.rotate();
    t.write(lines(5, 5));
    const r = await run(t.log, old(t.state!));
    expect(nums(r.text)).toEqual([3, 4, 5]);
  });
});

describe('report: what is not a log file, and files that move while read', () => {
  it('a folder where the log was: a note, nothing read', async () => {
    const dir = tmp('xd-incr-');
    const log = join(dir, 'kern.log');
    mkdirSync(log);
    const r = await run(log, undefined);
    expect(r.notes).toEqual([`cannot read ${log}: not a regular file`]);
    expect(r.live).toBe(false);
    expect(r.state).toBeUndefined();
    // a path through a file: the system's message
    writeFileSync(join(dir, 'f'), '');
    expect((await run(join(dir, 'f', 'x'), undefined)).notes[0]).toMatch(/^cannot read .*ENOTDIR/);
    // a missing file: no note
    expect((await run(join(dir, 'missing.log'), undefined)).notes).toEqual([]);
  });

  it('a generation that is a folder or a FIFO is left out', async () => {
    const t = tracker();
    mkdirSync(t.at(2));
    execFileSync('mkfifo', [t.at(1)]);
    writeFileSync(t.log, lines(1, 1));
    expect(await t.next()).toEqual([1]);
    // and is no rotation in progress: the plan is not made again and again (8 times, 3.6 s)
    const plan = await planFile(t.log, t.state);
    plan.close();
    expect(plan.unstable).toBe(false);
  });

  it('a live file truncated after it was read counts as inconsistent; a rotated one rewritten too', async () => {
    const t = tracker();
    writeFileSync(t.log, lines(1, 5));
    const plan = await planFile(t.log, undefined);
    try {
      for (const s of plan.segments) for await (const _ of s.open());
      expect(plan.consistent()).toBe(true);
      truncateSync(t.log, 10);
      expect(plan.consistent()).toBe(false);
    } finally {
      plan.close();
    }
    const u = tracker();
    writeFileSync(u.at(1), lines(1, 5));
    writeFileSync(u.log, lines(6, 6));
    const p = await planFile(u.log, undefined);
    try {
      const [gen] = p.segments;
      const chunks: Buffer[] = [];
      for await (const c of gen!.open()) {
        chunks.push(c);
        // rewritten while read: its last bytes differ from what was read
        writeFileSync(u.at(1), lines(1, 4) + lines(5, 5).replace('line', 'LINE'));
      }
      expect(p.consistent()).toBe(false);
    } finally {
      p.close();
    }
  });

  it('a rotated file removed after planning is read all the same, through the descriptor opened then', async () => {
    const t = tracker();
    writeFileSync(t.at(1), lines(1, 2));
    writeFileSync(t.log, lines(3, 3));
    const plan = await planFile(t.log, undefined);
    try {
      unlinkSync(t.at(1));
      writeFileSync(t.at(1), lines(7, 8));
      let text = '';
      for (const s of plan.segments) for await (const c of s.open()) text += c.toString();
      expect(nums(text)).toEqual([1, 2, 3]);
      expect(plan.consistent()).toBe(true);
    } finally {
      plan.close();
    }
  });

  it('closes every rotated file once read, and everything at close', async () => {
    const t = tracker();
    for (let i = 1; i <= 30; i++) writeFileSync(t.at(i), lines(i, i));
    writeFileSync(t.log, lines(0, 0));
    const before = fds();
    const plan = await planFile(t.log, undefined);
    // (the planning opened them all: their first bytes are remembered)
    const planned = fds() - before;
    expect(planned).toBe(31);
    const open: number[] = [];
    for (const s of plan.segments) {
      for await (const _ of s.open());
      open.push(fds() - before);
    }
    expect(open).toEqual([...Array.from({ length: 30 }, (_, i) => 30 - i), 1]);
    plan.close();
    expect(fds()).toBe(before);
  });
});

describe('the pieces', () => {
  it('pread reads up to len bytes from pos, fewer at the end', () => {
    const dir = tmp('xd-incr-');
    const f = join(dir, 'f');
    writeFileSync(f, '0123456789');
    const fd = openSync(f, 'r');
    try {
      expect(pread(fd, 2, 3).toString()).toBe('234');
      expect(pread(fd, 8, 5).toString()).toBe('89');
      expect(pread(fd, 20, 5).length).toBe(0);
      expect(pread(fd, 0, 0).length).toBe(0);
    } finally {
      closeSync(fd);
    }
    expect(fingerprint(Buffer.from('abc'))).toEqual({ len: 3, hash: 'ba7816bf8f01cfea414140de5dae2223' });
  });

  it('LogFile: opened once, refused when no longer the file listed or not a regular file; gzip by its bytes', () => {
    const dir = tmp('xd-incr-');
    const f = join(dir, 'a.gz');
    writeFileSync(f, 'plain, named .gz');
    const lf = new LogFile(f, statSync(f), 0);
    expect(lf.gz).toBe(true);
    expect(() => lf.fd).toThrow(`${f} is not open`);
    expect(lf.open()).toBe(true);
    expect(lf.gz).toBe(false);
    const fd = lf.fd;
    expect(lf.open()).toBe(true);
    expect(lf.fd).toBe(fd);
    lf.close();
    lf.close();
    expect(() => lf.fd).toThrow(/is not open/);
    const g = join(dir, 'g');
    writeFileSync(g, gzipSync('x'));
    const lg = new LogFile(g, statSync(g), 0);
    expect(lg.gz).toBe(false);
    expect(lg.open()).toBe(true);
    expect(lg.gz).toBe(true);
    lg.close();
    const one = join(dir, 'one');
    writeFileSync(one, Buffer.from([0x1f]));
    const l1 = new LogFile(one, statSync(one), 0);
    expect(l1.open()).toBe(true);
    expect(l1.gz).toBe(false);
    l1.close();
    // replaced since listed
    const st = statSync(g);
    unlinkSync(g);
    writeFileSync(join(dir, 'other'), 'x');
    writeFileSync(g, 'y');
    const moved = new LogFile(g, st, 0);
    expect(moved.open()).toBe(false);
    expect(moved.failed).toBe(true);
    expect(moved.open()).toBe(false);
    // removed since listed
    const gone = new LogFile(join(dir, 'gone'), st, 0);
    expect(gone.open()).toBe(false);
    expect(gone.failed).toBe(true);
    // a FIFO (never blocking) or a folder with the inode listed
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    expect(new LogFile(fifo, statSync(fifo), 0).open()).toBe(false);
    expect(new LogFile(dir, statSync(dir), 0).open()).toBe(false);
    // another device, same inode number
    const dev = Object.assign(statSync(one), { dev: statSync(one).dev + 1 });
    expect(new LogFile(one, dev, 0).open()).toBe(false);
  });

  it('Segment of a gzip file skips to its start in the uncompressed bytes; a cut archive is an error', async () => {
    const dir = tmp('xd-incr-');
    const f = join(dir, 'k.log.1.gz');
    const text = lines(1, 10);
    writeFileSync(f, gzipSync(text));
    const start = lines(1, 4).length;
    const seg = new Segment(new LogFile(f, statSync(f), -1), start, 4, { head: Buffer.alloc(0), tail: Buffer.alloc(0) }, true);
    let got = '';
    for await (const c of seg.open()) got += c.toString();
    expect(got).toBe(lines(5, 10));
    expect(seg.lines).toBe(10);
    expect(seg.end).toBe(text.length);
    const cut = join(dir, 'cut.gz');
    writeFileSync(cut, gzipSync(text).subarray(0, 40));
    const bad = new Segment(new LogFile(cut, statSync(cut), -1), 0, 0, { head: Buffer.alloc(0), tail: Buffer.alloc(0) }, true);
    await expect(
      (async () => {
        for await (const _ of bad.open());
      })(),
    ).rejects.toThrow('truncated gzip data (the file ends before the compressed stream does)');
    const junk = join(dir, 'junk.gz');
    writeFileSync(junk, Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.alloc(40, 0xff)]));
    const j = new Segment(new LogFile(junk, statSync(junk), -1), 0, 0, { head: Buffer.alloc(0), tail: Buffer.alloc(0) }, true);
    await expect(
      (async () => {
        for await (const _ of j.open());
      })(),
    ).rejects.toThrow(/^gzip: /);
  });

  it('a rotated file read to its end counts a last line without its end', async () => {
    const dir = tmp('xd-incr-');
    const f = join(dir, 'k.log.1');
    writeFileSync(f, `${lines(1, 2)}tail`);
    const seg = new Segment(new LogFile(f, statSync(f), -1), 0, 0, { head: Buffer.alloc(0), tail: Buffer.alloc(0) }, true);
    for await (const _ of seg.open());
    expect(seg.lines).toBe(3);
    const g = join(dir, 'k.log.2');
    writeFileSync(g, lines(1, 2));
    const s2 = new Segment(new LogFile(g, statSync(g), -2), 0, 0, { head: Buffer.alloc(0), tail: Buffer.alloc(0) }, true);
    for await (const _ of s2.open());
    expect(s2.lines).toBe(2);
    // nothing read: no line
    const e = join(dir, 'k.log.3');
    writeFileSync(e, 'abc');
    const s3 = new Segment(new LogFile(e, statSync(e), -3), 3, 7, { head: Buffer.alloc(0), tail: Buffer.alloc(0) }, true);
    for await (const _ of s3.open());
    expect(s3.lines).toBe(7);
  });

  it('trackedPaths: each rotated set by its live file, once', () => {
    expect(trackedPaths(['/l/kern.log.1', '/l/kern.log', '/l/syslog-20261201.gz', '/l/messages.20261120', '/l/kern.log.2.gz'])).toEqual([
      '/l/kern.log',
      '/l/syslog',
      '/l/messages',
    ]);
  });

  it('a symbolic link as the log is followed', async () => {
    const t = tracker();
    const real = join(t.dir, 'real.log');
    writeFileSync(real, lines(1, 2));
    symlinkSync(real, t.log);
    expect(await t.next()).toEqual([1, 2]);
    appendFileSync(real, lines(3, 3));
    expect(await t.next()).toEqual([3]);
  });
});

describe('written against the first mutation run', () => {
  it('a generation being compressed (name.1 and name.1.gz both there) is read once, from the plain one', async () => {
    const t = tracker();
    writeFileSync(t.log, lines(1, 2));
    await t.next();
    t.write(lines(3, 4));
    t.rotate();
    writeFileSync(t.at('.1.gz'), gzipSync(readFileSync(t.at(1))));
    t.write(lines(5, 5));
    expect(await t.next()).toEqual([3, 4, 5]);
    expect(t.last!.segs[0]![0]).toBe('kern.log.1');
    // and at a first run
    const u = tracker();
    writeFileSync(u.at('.1.gz'), gzipSync(lines(1, 2)));
    writeFileSync(u.at(1), lines(1, 2));
    writeFileSync(u.log, lines(3, 3));
    expect(await u.next()).toEqual([1, 2, 3]);
    expect(u.last!.segs.map((s) => s[0])).toEqual(['kern.log.1', 'kern.log']);
  });

  it('a file born after the mark was last written is another file with the inode number reused', async () => {
    const t = tracker();
    writeFileSync(t.log, lines(1, 3));
    await t.next();
    t.write(lines(4, 4));
    expect(statSync(t.log).birthtimeMs).toBeGreaterThan(0);
    // the mark as if taken before this file was born: same inode, but not the same file
    const r = await run(t.log, { ...t.state!, current: { ...t.state!.current, mtime: 1 } });
    expect(nums(r.text)).toEqual([4]);
    expect(r.events).toEqual([`${t.log}: replaced by a file that continues it`]);
  });

  it('a copy, compressed or not, that begins or ends otherwise, or is shorter, does not hold the rest', async () => {
    // more than 4 KiB read: the head and the tail are fingerprints of different bytes
    const read = lines(1, 200);
    for (const [name, content] of [
      ['head', read.replace('line 1\n', 'LINE 1\n') + lines(201, 202)],
      ['tail', lines(1, 199) + lines(200, 200).replace('line', 'LINE') + lines(201, 202)],
      ['short', lines(1, 150)],
    ] as const) {
      for (const gz of [true, false]) {
        const t = tracker();
        writeFileSync(t.log, read);
        await t.next();
        unlinkSync(t.log);
        if (gz) writeFileSync(t.at('.1.gz'), gzipSync(content));
        else writeFileSync(t.at(1), content);
        writeFileSync(t.log, lines(300, 300));
        const r = await run(t.log, t.state);
        expect([name, gz, nums(r.text)]).toEqual([name, gz, [300]]);
        expect(r.notes[0]).toMatch(/was replaced and its earlier content was not found/);
      }
    }
  });

  it('a run that reads nothing keeps the state, with the generations as they are now', async () => {
    const t = tracker();
    writeFileSync(t.log, lines(1, 1));
    await t.next();
    unlinkSync(t.log);
    writeFileSync(t.at(1), lines(7, 8));
    const r = await run(t.log, t.state);
    expect(r.state!.current).toEqual(t.state!.current);
    expect(r.state!.gens!.map((g) => g.ino)).toEqual([statSync(t.at(1)).ino]);
    expect(r.state!.newestGen).toMatchObject({ ino: statSync(t.at(1)).ino, head: fingerprint(Buffer.from(lines(7, 8))) });
    // no state and nothing there: none
    expect((await run(join(t.dir, 'never.log'), undefined)).state).toBeUndefined();
  });

  it('the state remembers each generation with its first bytes, size and time, and the newest one', async () => {
    const t = tracker();
    writeFileSync(t.at('.2.gz'), gzipSync(lines(1, 1)));
    writeFileSync(t.at(1), lines(2, 2));
    writeFileSync(t.log, lines(3, 3));
    await t.next();
    const st1 = statSync(t.at(1));
    const st2 = statSync(t.at('.2.gz'));
    expect(t.state!.gens).toEqual([
      { dev: st1.dev, ino: st1.ino, head: fingerprint(Buffer.from(lines(2, 2))), size: st1.size, mtime: st1.mtimeMs },
      { dev: st2.dev, ino: st2.ino, head: fingerprint(Buffer.from(lines(1, 1))), size: st2.size, mtime: st2.mtimeMs },
    ]);
    expect(t.state!.newestGen).toEqual({ dev: st1.dev, ino: st1.ino, head: fingerprint(Buffer.from(lines(2, 2))) });
    // remembered as they were when unchanged
    await t.next();
    expect(t.state!.gens![0]!.head).toEqual(fingerprint(Buffer.from(lines(2, 2))));
    // a generation with more than 4 KiB: its first 4 KiB
    const u = tracker();
    writeFileSync(u.at(1), lines(1, 300));
    writeFileSync(u.log, '');
    await u.next();
    expect(u.state!.gens![0]!.head).toEqual(fingerprint(Buffer.from(lines(1, 300)).subarray(0, HEAD_BYTES)));
  });

  it('only names of the set count as generations: not the file itself, other files, or other sets', async () => {
    const t = tracker();
    for (const n of ['kern.log.old', 'kern.logx.1', 'kern.log.1.bak', 'kern.lo.1', 'xkern.log.1'])
      writeFileSync(join(t.dir, n), lines(9, 9));
    writeFileSync(t.at(1), lines(1, 1));
    writeFileSync(t.log, lines(2, 2));
    expect(await t.next()).toEqual([1, 2]);
  });

  it('generations new since the last run are read by when they were written, the same time by their names', async () => {
    const t = tracker();
    writeFileSync(t.log, '');
    await t.next();
    for (const [n, k, time] of [
      ['-20261121', 2, 2000],
      ['-20261120', 1, 2000],
      ['-20261122', 3, 1000],
    ] as const) {
      writeFileSync(t.at(n), lines(k, k));
      utimesSync(t.at(n), time, time);
    }
    expect(await t.next()).toEqual([3, 1, 2]);
  });
});

describe('written against the first mutation run: staged failures', () => {
  afterEach(() => staged.fail.clear());

  it('plans again when a generation vanishes between listing and looking, and then reads as usual', async () => {
    const t = tracker();
    writeFileSync(t.at(1), lines(1, 2));
    writeFileSync(t.log, lines(3, 3));
    staged.fail.set(t.at(1), { error: errno('ENOENT'), times: 1 });
    const plan = await planFile(t.log, undefined);
    try {
      expect(staged.fail.get(t.at(1))!.times).toBe(0);
      expect(plan.unstable).toBe(false);
      expect(plan.segments.map((s) => s.name)).toEqual([t.at(1), t.log]);
    } finally {
      plan.close();
    }
  });

  it('says the live file may not be read, in words', async () => {
    const t = tracker();
    writeFileSync(t.log, lines(1, 1));
    staged.fail.set(t.log, { error: errno('EACCES'), times: 1 });
    const r = await run(t.log, undefined);
    expect(r.notes).toEqual([`cannot read ${t.log}: permission denied`]);
    staged.fail.set(t.log, { error: errno('EPERM'), times: 1 });
    expect((await run(t.log, undefined)).notes).toEqual([`cannot read ${t.log}: permission denied`]);
  });

  it('a live file copytruncated between planning and reading is inconsistent (what was planned is in the copy)', async () => {
    const t = tracker();
    writeFileSync(t.log, lines(1, 10));
    const plan = await planFile(t.log, undefined);
    try {
      t.copytruncate();
      t.write(lines(11, 30));
      for (const s of plan.segments) for await (const _ of s.open());
      expect(plan.consistent()).toBe(false);
    } finally {
      plan.close();
    }
  });

  it('a file is gzip by both magic bytes, not one', () => {
    const dir = tmp('xd-incr-');
    for (const head of [
      [0x1f, 0x61],
      [0x61, 0x8b],
    ]) {
      const f = join(dir, `x${head[0]}.gz`);
      writeFileSync(f, Buffer.from(head));
      const lf = new LogFile(f, statSync(f), 0);
      expect(lf.open()).toBe(true);
      expect(lf.gz).toBe(false);
      lf.close();
    }
  });
});
