/**
 * Unit tests of the follower itself (src/sources/follow.ts past line 274: FileTail, FileFollower),
 * driven turn by turn: the follower's private turn (`checkOne`, `tick`, `tailFor`) is called
 * directly with the clock it is given, without chokidar or inotify (`usePolling`) unless a test is
 * about them, so nothing waits for lines. Rotations are staged synchronously between two turns, or
 * inside a turn from the line handler. `node:fs` is wrapped to stage what root cannot meet (EACCES)
 * and logrotate renaming while the follower lists the copies. The mutation set `sources-follow-tail`
 * (docs/mutation.md); test/follow-copytruncate.test.ts holds the same races run by the follower's timer.
 */
import {
  appendFileSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  renameSync,
  rmdirSync,
  truncateSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_LINE } from '../src/sources/lines.js';
import { tmp } from './helpers.js';
import { hooks, resetHooks } from './follow-tail-fs.js';
import { each, fail, follower, L, logIn, nextTurn, sleep, copytruncate, followed } from './follow-tail-harness.js';

vi.mock('node:fs', async (original) => (await import('./follow-tail-fs.js')).wrapFs(await original()));

afterEach(() => {
  resetHooks();
  vi.restoreAllMocks();
});

describe('reading a followed file', () => {
  it('reads from the start, then what is appended; holds an unfinished line; numbers lines from the file start', () => {
    const { log, w } = followed('a\nb\r\nc');
    expect(w.got).toEqual(['1:a', '2:b']);
    expect(w.f.followed()).toEqual([log]);
    appendFileSync(log, 'd\ne\n');
    w.check(log);
    w.check(log);
    expect(w.got).toEqual(['1:a', '2:b', '3:cd', '4:e']);
    expect(w.idles()).toBe(3);
    expect(w.notices).toEqual([]);
    expect(w.tail(log)!.again).toBe(false);
    void w.f.close();
  });

  it('opened at its end (not from the start): the unfinished last line is read whole, numbered from the file start', () => {
    const cases: [string, string, string[]][] = [
      ['a\nb\nc', 'd\n', ['3:cd']],
      ['a\nb\n', 'c\n', ['3:c']],
      ['abc', 'def\n', ['1:def']], // no line end at all: what is there is old
      ['', 'x\n', ['1:x']],
      [`a\n${'y'.repeat(MAX_LINE + 10)}`, 'z\n', ['2:z']], // no line end in the last MAX_LINE bytes
      [`a\n${'y'.repeat(MAX_LINE - 10)}`, 'z\n', [`2:${'y'.repeat(MAX_LINE - 10)}z`]],
    ];
    for (const [before, after, want] of cases) {
      const log = logIn();
      writeFileSync(log, before);
      const w = follower([log], { fromStart: false });
      expect(w.follow(log).startAtEnd).toBe(true);
      w.check(log);
      expect(w.got).toEqual([]);
      appendFileSync(log, after);
      w.check(log);
      expect(w.got, JSON.stringify(before.slice(0, 20))).toEqual(want);
      void w.f.close();
    }
  });

  it('opened at its end: a file rewritten longer with other bytes before that end is read from its start', () => {
    for (const first of ['a\nb\n', `${'q'.repeat(100)}\n`, `${'q'.repeat(100)}\npart`]) {
      const log = logIn();
      writeFileSync(log, first);
      const w = follower([log], { fromStart: false });
      w.follow(log);
      w.check(log);
      writeFileSync(log, `${'X'.repeat(first.length)}\nY\n`);
      w.check(log);
      // (an unfinished last line was new: read, and ended by the truncation)
      const cut = first.endsWith('part') ? ['2:part'] : [];
      expect(w.got).toEqual([...cut, `1:${'X'.repeat(first.length)}`, '2:Y']);
      void w.f.close();
    }
  });

  it('a file truncated and rewritten shorter is read anew from its start, numbered from 1', () => {
    const { log, w } = followed(L(1, 5));
    writeFileSync(log, 'new\n');
    w.check(log);
    expect(w.got.slice(5)).toEqual(['1:new']);
    appendFileSync(log, 'more\n');
    w.check(log);
    expect(w.got.slice(5)).toEqual(['1:new', '2:more']);
    void w.f.close();
  });

  it('a file rewritten as long with other bytes just before the offset is read anew; bytes further back are not compared', () => {
    const { log, w } = followed(L(1, 5));
    writeFileSync(log, L(1, 4) + 'line X\n' + L(6, 6));
    w.check(log);
    expect(w.texts()).toEqual([...each(1, 5), ...each(1, 4), 'line X', 'line 6']);
    // the 64 bytes before the offset decide: a change before them is taken for the same file
    const log2 = logIn();
    const body = `${'p'.repeat(200)}\n`;
    writeFileSync(log2, body);
    const w2 = follower([log2]);
    w2.follow(log2);
    w2.check(log2);
    writeFileSync(log2, `Q${body.slice(1)}next\n`);
    w2.check(log2);
    expect(w2.texts()).toEqual(['p'.repeat(200), 'next']);
    void w.f.close();
    void w2.f.close();
  });

  it('reads a file larger than a turn over several turns (each turn reads at most 8 MiB, the next is scheduled)', async () => {
    const log = logIn();
    const line = `${'k'.repeat(1023)}\n`;
    writeFileSync(log, line.repeat(9 * 1024));
    const w = follower([log]);
    w.follow(log);
    w.check(log);
    expect(w.got.length).toBe(8 * 1024);
    expect(w.tail(log)!.again).toBe(true);
    await nextTurn();
    await nextTurn();
    expect(w.got.length).toBe(9 * 1024);
    expect(w.got.at(-1)).toBe(`${9 * 1024}:${'k'.repeat(1023)}`);
    expect(w.tail(log)!.again).toBe(false);
    await w.f.close();
  });

  it('reads a file of several read buffers (256 KiB) in one turn', () => {
    const log = logIn();
    const line = `${'k'.repeat(99)}\n`;
    writeFileSync(log, line.repeat(7000)); // 700 KB
    const w = follower([log]);
    w.follow(log);
    w.check(log);
    expect(w.got.length).toBe(7000);
    expect(new Set(w.texts())).toEqual(new Set(['k'.repeat(99)]));
    expect(w.tail(log)!.again).toBe(false);
    void w.f.close();
  });

  it('says once per file that a line was cut at MAX_LINE', () => {
    const { w } = followed(`${'x'.repeat(MAX_LINE + 1)}\nok\n${'x'.repeat(MAX_LINE + 1)}\n`);
    expect(w.got.length).toBe(3);
    expect(w.notices).toEqual([`app.log info: line 1 is longer than ${MAX_LINE} bytes; cut (said once per file)`]);
    void w.f.close();
  });

  it('a stat of the open file that fails leaves the offset alone (not taken for a truncation)', () => {
    const log = logIn();
    writeFileSync(log, L(1, 3));
    const w = follower([log]);
    const t = w.follow(log);
    w.check(log);
    appendFileSync(log, L(4, 4));
    hooks.fstat = (fd) => {
      if (fd === t.fd) throw fail('EIO');
    };
    w.check(log);
    expect(w.texts()).toEqual(each(1, 4));
    void w.f.close();
  });
});

describe('problems with the followed path', () => {
  it('a read error is said once (by its code, or the message of an error without one), and reading goes on after it', () => {
    for (const [code, said] of [
      ['EIO', 'EIO'],
      ['EACCES', 'permission denied'],
      ['EPERM', 'permission denied'],
      ['EISDIR', 'is a folder'],
      ['ENOENT', 'no such file'],
      [undefined, 'boom'],
    ] as const) {
      const { log, w } = followed(L(1, 2));
      appendFileSync(log, L(3, 3));
      hooks.read = () => {
        throw fail(code, 'boom');
      };
      w.check(log);
      w.check(log);
      hooks.read = null;
      expect(w.notices).toEqual([`app.log problem: read error: ${said}`]);
      w.check(log);
      expect(w.texts()).toEqual(each(1, 3));
      void w.f.close();
    }
  });

  it('a file that cannot be opened is said once, then its recovery', () => {
    const log = logIn();
    writeFileSync(log, L(1, 1));
    const w = follower([log]);
    w.follow(log);
    hooks.open = (p) => {
      if (p === log) throw fail('EACCES');
    };
    w.check(log);
    w.check(log);
    expect(w.f.followed()).toEqual([]);
    expect(w.notices).toEqual(['app.log problem: cannot read: permission denied; will keep trying']);
    hooks.open = null;
    w.check(log);
    expect(w.notices.slice(1)).toEqual(['app.log recovered: readable again']);
    expect(w.texts()).toEqual(each(1, 1));
    // removed between its stat and its open: nothing said
    const w2 = follower([log]);
    w2.follow(log);
    hooks.open = () => {
      throw fail('ENOENT');
    };
    w2.check(log);
    expect(w2.notices).toEqual([]);
    void w.f.close();
    void w2.f.close();
  });

  it('a path that cannot be looked at is said, a missing folder on the way is not; a folder or a FIFO is not followed', () => {
    const dir = tmp('xd-tail-');
    const log = join(dir, 'app.log');
    writeFileSync(log, L(1, 1));
    const w = follower([log]);
    w.follow(log);
    hooks.stat = (p) => {
      if (p === log) throw fail('EACCES');
    };
    w.check(log);
    w.check(log);
    expect(w.notices).toEqual(['app.log problem: cannot read: permission denied; will keep trying']);
    expect(w.tail(log)!.missingSince).not.toBe(null);
    hooks.stat = null;
    w.check(log);
    expect(w.notices.slice(1)).toEqual(['app.log recovered: readable again']);
    expect(w.tail(log)!.missingSince).toBe(null);

    const under = join(log, 'x.log'); // a file where a folder should be
    const w2 = follower([under]);
    w2.follow(under);
    w2.check(under);
    expect(w2.notices).toEqual([]);

    const folder = join(dir, 'folder.log');
    mkdirSync(folder);
    const fifo = join(dir, 'fifo.log');
    execFileSync('mkfifo', [fifo]);
    const w3 = follower([folder, fifo]);
    for (const p of [folder, fifo]) {
      w3.follow(p);
      w3.check(p);
      w3.check(p);
    }
    expect(w3.notices).toEqual(['folder.log problem: is a folder, not a file', 'fifo.log problem: not a regular file']);
    expect(w3.f.followed()).toEqual([]);
    rmdirSync(folder);
    writeFileSync(folder, L(1, 1));
    w3.check(folder);
    expect(w3.notices.slice(2)).toEqual(['folder.log recovered: readable again']);
    expect(w3.f.followed()).toEqual([folder]);
    void w.f.close();
    void w2.f.close();
    void w3.f.close();
  });

  it('an explicit file missing past the grace is said once (never opened, or gone), then its return', () => {
    const dir = tmp('xd-tail-');
    const log = join(dir, 'app.log');
    const w = follower([log]);
    w.follow(log);
    w.check(log, Date.now() - 5_000);
    w.x.tick();
    w.x.tick();
    expect(w.notices).toEqual(['app.log problem: does not exist (yet); waiting for it']);
    writeFileSync(log, L(1, 1));
    w.x.tick();
    expect(w.notices.slice(1)).toEqual(['app.log recovered: is back; following it']);
    expect(w.tail(log)!.missingSince).toBe(null);
    expect(w.texts()).toEqual(each(1, 1));
    unlinkSync(log);
    w.check(log, Date.now() - 5_000);
    expect(w.f.followed()).toEqual([]);
    expect(w.tail(log)!.retired.length).toBe(1);
    w.x.tick();
    expect(w.notices.slice(2)).toEqual(['app.log problem: deleted or renamed away; waiting for it to come back']);
    // within the grace (or a longer one given): not yet
    const w2 = follower([log], { missingGraceMs: 60_000 });
    w2.follow(log);
    w2.check(log, Date.now() - 5_000);
    w2.x.tick();
    const w3 = follower([log]);
    w3.follow(log);
    w3.check(log, Date.now() + 1_000);
    w3.x.tick();
    // a file found in a folder is never said missing, and is forgotten once gone and drained
    const w4 = follower([dir]);
    w4.follow(log, false);
    w4.check(log, Date.now() - 5_000);
    expect(w4.tail(log)).toBe(undefined);
    expect(w2.notices).toEqual([]);
    expect(w3.notices).toEqual([]);
    expect(w4.notices).toEqual([]);
    // the first time missing is kept (not moved on by each check)
    const w5 = follower([log]);
    w5.follow(log);
    const then = Date.now() - 5_000;
    w5.check(log, then);
    w5.check(log, Date.now());
    expect(w5.tail(log)!.missingSince).toBe(then);
    for (const v of [w, w2, w3, w4, w5]) void v.f.close();
  });

  it('a file found in a folder is kept while it has a problem or a renamed copy draining, an explicit one always', () => {
    const dir = tmp('xd-tail-');
    const log = join(dir, 'app.log');
    writeFileSync(log, L(1, 1));
    const w = follower([dir]);
    w.follow(log, false);
    w.check(log);
    renameSync(log, `${log}.1`);
    w.check(log);
    expect(w.tail(log)!.retired.length).toBe(1); // draining
    w.check(log, Date.now() + 60_000);
    expect(w.tail(log)).toBe(undefined);
    mkdirSync(log);
    w.follow(log, false);
    w.check(log);
    expect(w.tail(log)!.problem).toBe('is a folder, not a file');
    void w.f.close();
  });
});

describe('rename-and-create', () => {
  it('reads the renamed file to its end, then the new one; keeps draining the old one until quiet, then flushes it', () => {
    const log = logIn();
    writeFileSync(log, L(1, 2));
    const w = follower([log], { retireQuietMs: 1_000 });
    w.follow(log);
    const t0 = Date.now();
    w.check(log, t0);
    appendFileSync(log, L(3, 3)); // written before the rename
    renameSync(log, `${log}.1`);
    writeFileSync(log, 'new 1\n');
    w.check(log, t0);
    expect(w.texts()).toEqual([...each(1, 3), 'new 1']);
    expect(w.got.at(-1)).toBe('1:new 1');
    const t = w.tail(log)!;
    expect(t.retired.length).toBe(1);
    appendFileSync(`${log}.1`, 'line 4\nline 5'); // the writer has not reopened yet
    w.check(log, t0 + 900);
    expect(w.got.at(-1)).toBe('4:line 4');
    w.check(log, t0 + 900 + 999); // quiet for less than 1 s: kept
    expect(t.retired.length).toBe(1);
    w.check(log, t0 + 900 + 1_000);
    expect(t.retired.length).toBe(0);
    expect(w.got.at(-1)).toBe('5:line 5'); // flushed when closed
    expect(w.f.followed()).toEqual([log]);
    void w.f.close();
  });

  it('reads the files rotated in between, oldest first, before the new file (several rotations between two turns)', () => {
    const { log, w } = followed(L(1, 10));
    const rotate = (next: string) => {
      for (let k = 4; k >= 1; k--) if (existsSync(`${log}.${k}`)) renameSync(`${log}.${k}`, `${log}.${k + 1}`);
      renameSync(log, `${log}.1`);
      writeFileSync(log, next);
    };
    rotate(L(11, 15));
    rotate(L(16, 20));
    rotate(L(21, 25));
    w.check(log);
    expect(w.texts()).toEqual(each(1, 25));
    expect(w.got.slice(10, 12)).toEqual(['1:line 11', '2:line 12']); // a copy read whole: its own numbering
    // the next rotation: only the one in between is read, not those read before
    rotate(L(26, 27));
    rotate(L(28, 29));
    w.check(log);
    expect(w.texts()).toEqual(each(1, 29));
    void w.f.close();
  });

  it('a file deleted and re-created is read from its start; the deleted one is drained first', () => {
    const { log, w } = followed(L(1, 2));
    appendFileSync(log, L(3, 3));
    unlinkSync(log);
    w.check(log);
    expect(w.texts()).toEqual(each(1, 3));
    writeFileSync(log, L(4, 5));
    w.check(log);
    expect(w.texts()).toEqual(each(1, 5));
    expect(w.got.at(-1)).toBe('2:line 5');
    void w.f.close();
  });

  it('close flushes the unfinished lines of renamed files still draining', async () => {
    const { log, w } = followed('a\nb');
    renameSync(log, `${log}.1`);
    w.check(log);
    expect(w.got).toEqual(['1:a']);
    await w.f.close();
    expect(w.got).toEqual(['1:a', '2:b']);
    expect(w.f.followed()).toEqual([]);
  });
});

describe('copytruncate', () => {
  it('reads the lines written between its last read and the copy from the copy, then the new generation from 1', () => {
    for (const copyName of ['app.log.1', 'app.log-20261203', 'app.log.20261203']) {
      const dir = tmp('xd-tail-');
      const log = join(dir, 'app.log');
      writeFileSync(log, L(1, 10));
      const w = follower([log]);
      w.follow(log);
      w.check(log);
      appendFileSync(log, L(11, 12));
      copyFileSync(log, join(dir, copyName));
      truncateSync(log, 0);
      appendFileSync(log, L(13, 14));
      w.check(log);
      expect(w.got.slice(10), copyName).toEqual(['11:line 11', '12:line 12', '1:line 13', '2:line 14']);
      void w.f.close();
    }
  });

  it('finds the copy among others: the newest recent one that begins as the content did and holds the bytes last read', () => {
    const dir = tmp('xd-tail-');
    const log = join(dir, 'app.log');
    writeFileSync(log, L(1, 10));
    const w = follower([log]);
    w.follow(log);
    w.check(log);
    appendFileSync(log, L(11, 12));
    const sec = Date.now() / 1000;
    writeFileSync(`${log}.3`, L(1, 10) + L(11, 11) + 'line W\n'); // older, but ok: read if no newer one is
    utimesSync(`${log}.3`, sec - 300, sec - 300);
    writeFileSync(`${log}.4`, L(1, 10) + L(11, 11) + 'line V\n'); // too old (over 10 minutes)
    utimesSync(`${log}.4`, sec - 700, sec - 700);
    writeFileSync(`${log}.5`, L(2, 12)); // begins otherwise
    writeFileSync(`${log}.6`, L(1, 9) + 'line Y\n' + L(11, 12)); // other bytes before the offset
    writeFileSync(`${log}.7`, ''); // empty
    mkdirSync(`${log}.8`); // not a file
    writeFileSync(`${log}.x1`, L(1, 12)); // not a copy's name
    writeFileSync(join(dir, 'other.log.1'), L(1, 12));
    copyFileSync(log, `${log}.2`);
    utimesSync(`${log}.2`, sec - 100, sec - 100);
    truncateSync(log, 0);
    appendFileSync(log, L(13, 13));
    w.check(log);
    expect(w.texts()).toEqual(each(1, 13));
    void w.f.close();
  });

  it('an old copy (over 10 minutes) is not taken for the copy; one just under is', () => {
    for (const [age, want] of [
      [700, [...each(1, 10), 'line 13']],
      [500, each(1, 13)],
    ] as const) {
      const { log, w } = followed(L(1, 10));
      appendFileSync(log, L(11, 12));
      copyFileSync(log, `${log}.1`);
      const sec = Date.now() / 1000 - age;
      utimesSync(`${log}.1`, sec, sec);
      truncateSync(log, 0);
      appendFileSync(log, L(13, 13));
      w.check(log);
      expect(w.texts(), String(age)).toEqual(want);
      void w.f.close();
    }
  });

  it('a copy whose bytes before the offset differ, or that is cut before the content read, is not the copy', () => {
    for (const copy of [L(1, 9) + 'line Y\n' + L(11, 12), 'line 1\n'.slice(0, 4)]) {
      const { log, w } = followed(L(1, 10));
      appendFileSync(log, L(11, 12));
      writeFileSync(`${log}.1`, copy);
      truncateSync(log, 0);
      appendFileSync(log, L(13, 13));
      w.check(log);
      expect(w.texts()).toEqual([...each(1, 10), 'line 13']);
      void w.f.close();
    }
  });

  it('a content longer than the head kept (1 KiB): its copy is found by its first 1 KiB', () => {
    const log = logIn();
    const long = Array.from({ length: 200 }, (_, i) => `line ${i + 1}`).join('\n') + '\n';
    writeFileSync(log, long);
    const w = follower([log]);
    w.follow(log);
    w.check(log);
    appendFileSync(log, L(201, 202));
    copytruncate(log, `${log}.1`, L(203, 203));
    w.check(log);
    expect(w.texts()).toEqual(each(1, 203));
    void w.f.close();
  });

  it('opened at its end: the copy is found by what the file began with', () => {
    const log = logIn();
    writeFileSync(log, L(1, 10));
    const w = follower([log], { fromStart: false });
    w.follow(log);
    w.check(log);
    appendFileSync(log, L(11, 12));
    copytruncate(log, `${log}.1`, L(13, 13));
    w.check(log);
    expect(w.texts()).toEqual(each(11, 13));
    void w.f.close();
  });

  it('two copytruncates between two reads after it read past the first copy: the second copy is read whole', () => {
    const { log, w } = followed(L(1, 10));
    copyFileSync(log, `${log}.1`); // 1-10
    appendFileSync(log, L(11, 12)); // between the copy and the truncation
    w.check(log); // read past the copy's end
    truncateSync(log, 0);
    appendFileSync(log, L(13, 15));
    renameSync(`${log}.1`, `${log}.2`);
    copyFileSync(log, `${log}.1`); // 13-15
    truncateSync(log, 0);
    appendFileSync(log, L(16, 17));
    w.check(log);
    expect(w.texts()).toEqual(each(1, 17));
    void w.f.close();
  });

  it('a copy being made of the current content is not read (the file is)', () => {
    const { log, w } = followed(L(1, 10));
    appendFileSync(log, L(11, 12));
    // logrotate's copy of 1-12 as app.log.2, then the next generation's copy under way as app.log.1
    copytruncate(log, `${log}.2`, L(13, 16));
    writeFileSync(`${log}.1`, L(13, 14)); // being copied: so far its first lines
    w.check(log);
    expect(w.texts()).toEqual(each(1, 16));
    void w.f.close();
  });

  it('the file truncated again between the truncation found and the next read: that content is read from its copy', () => {
    for (const next of ['append', 'empty'] as const) {
      const { log, w } = followed(L(1, 10));
      w.during('line 12', () => {
        renameSync(`${log}.1`, `${log}.2`);
        copyFileSync(log, `${log}.1`); // 13-20
        truncateSync(log, 0);
        if (next === 'append') appendFileSync(log, L(21, 22));
      });
      appendFileSync(log, L(11, 12));
      copyFileSync(log, `${log}.1`); // 1-12
      truncateSync(log, 0);
      appendFileSync(log, L(13, 20));
      w.check(log);
      if (next === 'empty') {
        expect(w.texts(), next).toEqual(each(1, 20));
        appendFileSync(log, L(21, 22));
        w.check(log);
      }
      expect(w.texts(), next).toEqual(each(1, 22));
      void w.f.close();
    }
  });

  it('after it found the file emptied, a generation written and copytruncated before the next read is read from its copy', () => {
    const { log, w } = followed(L(1, 10));
    copyFileSync(log, `${log}.1`);
    truncateSync(log, 0);
    w.check(log); // empty, nothing of it read
    expect(w.texts()).toEqual(each(1, 10));
    appendFileSync(log, L(11, 20));
    renameSync(`${log}.1`, `${log}.2`);
    copytruncate(log, `${log}.1`, L(21, 22));
    w.check(log);
    expect(w.texts()).toEqual(each(1, 22));
    void w.f.close();
  });

  it('a file empty when opened: generations copytruncated before the first read are read, oldest first', () => {
    const log = logIn();
    writeFileSync(log, '');
    writeFileSync(`${log}.1`, L(0, 0)); // there before: not read
    const w = follower([log]);
    w.follow(log);
    w.check(log);
    const sec = Date.now() / 1000;
    renameSync(`${log}.1`, `${log}.3`);
    writeFileSync(`${log}.2`, L(1, 5));
    writeFileSync(`${log}.1`, L(6, 10));
    utimesSync(`${log}.2`, sec - 10, sec - 10);
    utimesSync(`${log}.1`, sec - 10, sec - 10); // same time: by number, highest first
    writeFileSync(`${log}-20261203`, L(11, 12));
    utimesSync(`${log}-20261203`, sec - 5, sec - 5);
    writeFileSync(log, L(13, 14));
    w.check(log);
    expect(w.texts()).toEqual(each(1, 14));
    void w.f.close();
  });

  it('a file empty when opened: a copy of what it holds now is not read as a lost generation', () => {
    const { log, w } = followed('');
    writeFileSync(log, L(1, 5));
    writeFileSync(`${log}.1`, L(1, 3)); // logrotate copying it right now
    w.check(log);
    expect(w.texts()).toEqual(each(1, 5));
    void w.f.close();
  });

  it('a file empty when opened and renamed away before it is read: no copies are read for it', () => {
    const { log, w } = followed('');
    writeFileSync(`${log}.2`, L(1, 2)); // not the file's
    appendFileSync(log, L(3, 4));
    renameSync(log, `${log}.1`);
    writeFileSync(log, L(5, 5));
    w.check(log);
    expect(w.texts()).toEqual(each(3, 5));
    void w.f.close();
  });
});

describe('listing the copies while logrotate renames them', () => {
  it('reads the copies it listed by their identity when logrotate renames them again meanwhile', () => {
    const log = logIn();
    writeFileSync(log, L(1, 10));
    const rotate = (next: string) => {
      for (let k = 4; k >= 1; k--) if (existsSync(`${log}.${k}`)) renameSync(`${log}.${k}`, `${log}.${k + 1}`);
      renameSync(log, `${log}.1`);
      writeFileSync(log, next);
    };
    const w = follower([log]);
    w.follow(log);
    w.check(log);
    w.during('line 11', () => rotate(L(26, 27)));
    rotate(L(11, 15));
    rotate(L(16, 20));
    rotate(L(21, 25));
    w.check(log);
    w.check(log);
    expect(w.texts()).toEqual(each(1, 27));
    void w.f.close();
  });

  it('finds the copy it followed when logrotate renames it while the follower lists the copies', () => {
    const log = logIn();
    writeFileSync(log, L(1, 10));
    const rotate = (next: string) => {
      for (let k = 4; k >= 1; k--) if (existsSync(`${log}.${k}`)) renameSync(`${log}.${k}`, `${log}.${k + 1}`);
      renameSync(log, `${log}.1`);
      writeFileSync(log, next);
    };
    const w = follower([log]);
    w.follow(log);
    w.check(log);
    rotate(L(11, 15));
    rotate(L(16, 20));
    hooks.readdir.push(() => rotate(L(21, 22)));
    w.check(log);
    w.check(log);
    expect(hooks.readdir).toEqual([]);
    expect(w.texts()).toEqual(each(1, 22));
    void w.f.close();
  });
});

describe('the follower', () => {
  it('coalesces the checks of one turn: each touched file is checked once, right after', async () => {
    const log = logIn();
    writeFileSync(log, L(1, 1));
    const w = follower([log]);
    w.follow(log);
    w.x.scheduleCheck(log);
    w.x.scheduleCheck(log);
    w.x.scheduleCheck(`${log}.unknown`);
    expect(w.idles()).toBe(0);
    await nextTurn();
    expect(w.idles()).toBe(1);
    w.x.scheduleCheck(log);
    await nextTurn();
    expect(w.idles()).toBe(2);
    expect(w.texts()).toEqual(each(1, 1));
    await w.f.close();
    w.x.checkOne(log, Date.now()); // closed: nothing
    expect(w.idles()).toBe(2);
  });

  it('start: a named file opened at its end, files of a folder there at start too; files that appear later from their start', async () => {
    const dir = tmp('xd-tail-');
    const log = join(dir, 'app.log');
    const sub = join(dir, 'logs');
    mkdirSync(sub);
    writeFileSync(log, L(1, 2));
    writeFileSync(join(sub, 'a.log'), L(1, 3));
    const w = follower([log, sub], { fromStart: false, usePolling: false });
    await w.f.start();
    try {
      expect(w.f.followed().sort()).toEqual([log, join(sub, 'a.log')]);
      expect([...w.x.tails.values()].map((t) => t.startAtEnd)).toEqual([false, false]);
      expect(w.tail(log)!.explicit).toBe(true);
      expect(w.tail(join(sub, 'a.log'))!.explicit).toBe(false);
      writeFileSync(join(sub, 'b.log'), L(1, 1));
      appendFileSync(log, L(3, 3));
      w.follow(join(sub, 'b.log'), false);
      w.x.tick();
      expect(w.got.sort()).toEqual(['1:line 1', '3:line 3']);
    } finally {
      await w.f.close();
    }
  });

  it("start: a glob whose folder is missing is said once, then watched when it appears (a named file's folder: not said)", async () => {
    const dir = tmp('xd-tail-');
    const missing = join(dir, 'later');
    const w = follower([join(missing, '*.log'), join(dir, 'later2', 'x.log')], { fromStart: false, usePolling: false });
    await w.f.start();
    try {
      w.x.tick();
      expect(w.notices).toEqual([`*.log problem: folder ${missing} does not exist (yet); waiting for it`]);
      mkdirSync(missing);
      mkdirSync(join(dir, 'later2'));
      writeFileSync(join(missing, 'a.log'), L(1, 1));
      w.x.tick();
      await sleep(50);
      expect(w.notices.slice(1)).toEqual([`*.log recovered: folder ${missing} is there now; watching it`]);
      const end = Date.now() + 20_000;
      while (w.got.length === 0 && Date.now() < end) await sleep(20);
      expect(w.texts()).toEqual(each(1, 1)); // a file that appeared after the start: from its start
      w.x.tick();
      await sleep(50);
      expect(w.notices.length).toBe(2);
    } finally {
      await w.f.close();
    }
  });

  it('inotify out of watches: polling from then on, said once; other watch errors are said as they are', async () => {
    const dir = tmp('xd-tail-');
    const w = follower([dir], { usePolling: false });
    await w.f.start();
    try {
      w.x.watcherError(0, fail('ENOSPC'));
      expect(w.x.polling).toBe(true);
      w.x.watcherError(0, fail('EMFILE'));
      w.x.watcherError(0, fail('EIO'));
      const d = dir.split('/').pop()!;
      expect(w.notices.map((n) => n.replace(d, 'DIR'))).toEqual([
        'DIR problem: inotify: ENOSPC (too many watches); falling back to polling every second',
        'DIR problem: watch error: EMFILE',
        'DIR problem: watch error: EIO',
      ]);
      const end = Date.now() + 20_000;
      while (w.x.watchers.length === 0 && Date.now() < end) await sleep(20);
      expect(w.x.watchers.length).toBe(1);
    } finally {
      await w.f.close();
    }
    const w2 = follower([dir], { usePolling: false });
    await w2.f.start();
    try {
      w2.x.watcherError(0, fail('EMFILE'));
      expect(w2.notices.length).toBe(1);
      expect(w2.x.polling).toBe(true);
    } finally {
      await w2.f.close();
    }
  });

  it("watches each followed file's folder with inotify (not when polling); a folder not there yet is watched once it is", async () => {
    const dir = tmp('xd-tail-');
    const log = join(dir, 'app.log');
    writeFileSync(log, '');
    const w = follower([log], { usePolling: false });
    w.follow(log);
    w.check(log);
    expect(w.x.dirWatchers.get(dir)).toBeTruthy();
    appendFileSync(log, L(1, 1));
    const end = Date.now() + 20_000;
    while (w.got.length === 0 && Date.now() < end) await sleep(20);
    expect(w.texts()).toEqual(each(1, 1));

    const later = join(dir, 'later');
    const log2 = join(later, 'b.log');
    w.follow(log2);
    expect(w.x.dirWatchers.get(later)).toBe(null);
    mkdirSync(later);
    w.x.tick();
    expect(w.x.dirWatchers.get(later)).toBeTruthy();
    await w.f.close();
    expect(w.x.dirWatchers.size).toBe(0);

    const p = follower([log]);
    p.follow(log);
    expect(p.x.dirWatchers.size).toBe(0);
    void p.f.close();
  });
});
