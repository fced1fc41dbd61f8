/**
 * The follower's edges (src/sources/follow.ts past line 274), written against the survivors of the
 * first mutation run of test/sources-follow-tail-units.test.ts (docs/mutation.md): a file of its own
 * so that Stryker's incremental run keeps that file's results. The same harness: the follower's
 * private turn driven by hand, `node:fs` wrapped to stage what root and a quiet folder cannot meet.
 */
import { appendFileSync, copyFileSync, renameSync, truncateSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { tmp } from './helpers.js';
import { hooks, resetHooks } from './follow-tail-fs.js';
import { each, fail, follower, L, logIn, nextTurn, openFds, rotate, sleep, until, copytruncate, followed } from './follow-tail-harness.js';

vi.mock('node:fs', async (original) => (await import('./follow-tail-fs.js')).wrapFs(await original()));

afterEach(() => {
  resetHooks();
  vi.restoreAllMocks();
});

describe('listing the copies', () => {
  it('takes the listing again until two in a row agree, at most five', () => {
    const log = logIn();
    writeFileSync(log, '');
    writeFileSync(`${log}.1`, 'a\n');
    writeFileSync(`${log}.2`, 'b\n');
    const w = follower([log]);
    const t = w.follow(log);
    hooks.readdirs = 0;
    expect([...t.siblings().numbered.keys()].sort()).toEqual([1, 2]);
    expect(hooks.readdirs).toBe(2); // a quiet folder: two listings
    // a copy made during every listing: five, and the last one is taken
    let n = 3;
    hooks.everyReaddir = () => writeFileSync(`${log}.${n++}`, 'c\n');
    hooks.readdirs = 0;
    expect([...t.siblings().numbered.keys()].sort()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(hooks.readdirs).toBe(5);
    hooks.everyReaddir = null;
    void w.f.close();
  });

  it('a listing disturbed twice in a row is not taken: the next two that agree are', () => {
    const log = logIn();
    writeFileSync(log, '');
    writeFileSync(`${log}.1`, 'a\n');
    writeFileSync(`${log}.2`, 'b\n');
    const w = follower([log]);
    const t = w.follow(log);
    // each of the first two listings: the folder read, then .1 renamed .5 and .2 renamed .6 (then back)
    hooks.readdir = [
      () => renameSync(`${log}.1`, `${log}.5`),
      () => {
        renameSync(`${log}.5`, `${log}.1`);
        renameSync(`${log}.2`, `${log}.6`);
      },
    ];
    const { numbered } = t.siblings();
    expect([...numbered.keys()].sort()).toEqual([1, 6]);
    // stats between the names of one listing: .1 then (renamed meanwhile) .2 are the same file
    const log2 = logIn();
    writeFileSync(log2, '');
    writeFileSync(`${log2}.1`, 'x\n');
    writeFileSync(`${log2}.2`, 'y\n');
    const t2 = w.follow(log2);
    let calls = 0;
    hooks.readdir = [() => undefined]; // the first listing quiet
    hooks.stat = (p) => {
      if (!p.startsWith(`${log2}.`)) return;
      calls++;
      if (calls === 3) {
        // in the second listing, after the stat of .1: .2 → .3, .1 → .2, a new .1
        hooks.stat = null;
        renameSync(`${log2}.2`, `${log2}.3`);
        renameSync(`${log2}.1`, `${log2}.2`);
        writeFileSync(`${log2}.1`, 'z\n');
      }
    };
    const got = t2.siblings();
    expect([...got.numbered.keys()].sort()).toEqual([1, 2, 3]);
    expect(new Set(got.all.map((c) => c.st.ino)).size).toBe(3);
    void w.f.close();
  });

  it('two rotations while it lists the copies after a rename: the newer ones are read after the file it follows, once', () => {
    const { log, w } = followed(L(1, 10));
    rotate(log, L(11, 15));
    rotate(log, L(16, 20)); // name.2: 1-10 (followed), name.1: 11-15, the file: 16-20
    // the next two runs of logrotate, each just after the follower read the folder
    hooks.readdir = [() => rotate(log, L(21, 22)), () => rotate(log, L(23, 24))];
    w.check(log);
    w.check(log);
    expect(hooks.readdir).toEqual([]);
    expect(w.texts()).toEqual(each(1, 24));
    void w.f.close();
  });

  it('a copy is name.N (1-4 digits), name-DATE or name.DATE; other names beside it are not copies', () => {
    const { log, w } = followed(''); // empty when opened: copies made from now on are lost generations
    const dir = join(log, '..');
    for (const n of ['other.log', 'app.logx.1', 'app.log.2.gz', 'app.log.old', 'app.log.1.bak', 'app.log-x1', 'xapp.log.1'])
      writeFileSync(join(dir, n), `${n}\n`);
    writeFileSync(`${log}.12`, L(1, 1));
    writeFileSync(`${log}-20261202`, L(2, 2));
    writeFileSync(`${log}.20261203`, L(3, 3));
    const sec = Date.now() / 1000;
    utimesSync(`${log}.12`, sec - 30, sec - 30);
    utimesSync(`${log}-20261202`, sec - 20, sec - 20);
    utimesSync(`${log}.20261203`, sec - 10, sec - 10);
    writeFileSync(log, L(4, 4));
    w.check(log);
    expect(w.texts()).toEqual(each(1, 4));
    const t = w.tail(log)!;
    expect([...t.siblings().numbered.keys()]).toEqual([12]);
    void w.f.close();
  });

  it('a dated copy has no number: a file renamed to name.DATE reads no numbered copy as newer', () => {
    const log = logIn();
    writeFileSync(`${log}.1`, 'old\n'); // an older generation, read long ago
    writeFileSync(log, L(1, 2));
    const w = follower([log]);
    w.follow(log);
    w.check(log);
    renameSync(log, `${log}.20261203`);
    writeFileSync(log, L(3, 3));
    w.check(log);
    expect(w.texts()).toEqual(each(1, 3));
    void w.f.close();
  });

  it('ten rotations between two reads: the followed file is name.10 and the nine newer copies are read', () => {
    const { log, w } = followed(L(1, 1));
    for (let i = 2; i <= 11; i++) rotate(log, L(i, i));
    w.check(log);
    expect(w.texts()).toEqual(each(1, 11));
    void w.f.close();
  });

  it('lost generations of the same age are read by number, highest (oldest) first', () => {
    // made in both orders: the folder's order (of creation, or its reverse) is not the one wanted in one of them
    for (const order of [
      [1, 2, 3, 4, 5, 6],
      [6, 5, 4, 3, 2, 1],
      [3, 1, 6, 2, 5, 4],
    ]) {
      const { log, w } = followed('');
      const sec = Date.now() / 1000 - 10;
      for (const k of order) {
        writeFileSync(`${log}.${k}`, L(7 - k, 7 - k));
        utimesSync(`${log}.${k}`, sec, sec);
      }
      writeFileSync(log, L(7, 7));
      w.check(log);
      expect(w.texts(), order.join()).toEqual(each(1, 7));
      void w.f.close();
    }
  });

  it('a file empty when opened and gone before it is read: no copies are read for it', () => {
    const { log, w } = followed('');
    writeFileSync(`${log}.1`, 'lost?\n');
    writeFileSync(log, L(1, 1));
    let first = true;
    hooks.stat = (p) => {
      if (p === log && first) {
        first = false;
        throw fail('ENOENT');
      }
    };
    w.check(log);
    expect(w.texts()).toEqual(each(1, 1));
    void w.f.close();
  });
});

describe('copies that vanish or are not what they seem', () => {
  it('a copy deleted as it is opened is skipped: no crash, its lines are lost', () => {
    for (const stage of ['copytruncate', 'blind', 'intermediate'] as const) {
      const { log, w } = followed(stage === 'blind' ? '' : L(1, 10));
      if (stage === 'copytruncate') {
        appendFileSync(log, L(11, 12));
        copytruncate(log, `${log}.1`, L(13, 13));
      } else if (stage === 'blind') {
        writeFileSync(`${log}.1`, L(1, 12));
        writeFileSync(log, L(13, 13));
      } else {
        rotate(log, L(11, 12));
        rotate(log, L(13, 13));
      }
      hooks.open = (p) => {
        if (p === `${log}.1`) {
          hooks.open = null;
          unlinkSync(p);
        }
      };
      w.check(log);
      expect(w.texts(), stage).toEqual(stage === 'blind' ? ['line 13'] : [...each(1, 10), 'line 13']);
      void w.f.close();
    }
  });

  it('a copy renamed as it is opened is opened under its new name', () => {
    const { log, w } = followed(L(1, 10));
    appendFileSync(log, L(11, 12));
    copytruncate(log, `${log}.1`, L(13, 13));
    hooks.open = (p) => {
      if (p === `${log}.1`) {
        hooks.open = null;
        renameSync(p, `${log}.2`);
        writeFileSync(p, 'not it\n');
      }
    };
    w.check(log);
    expect(w.texts()).toEqual(each(1, 13));
    void w.f.close();
  });

  it('past the head (1 KiB): a copy of the same size whose bytes before the offset differ is not the copy', () => {
    const log = logIn();
    writeFileSync(log, L(1, 200)); // 1.8 KB
    const w = follower([log]);
    w.follow(log);
    w.check(log);
    appendFileSync(log, L(201, 202));
    const sec = Date.now() / 1000;
    copyFileSync(log, `${log}.1`);
    utimesSync(`${log}.1`, sec - 60, sec - 60);
    writeFileSync(`${log}-20261203`, L(1, 199) + 'line 2X0\n'); // newer, as long as what was read, its last line other
    truncateSync(log, 0);
    appendFileSync(log, L(203, 203));
    w.check(log);
    expect(w.texts()).toEqual(each(1, 203));
    void w.f.close();
  });

  it('the newest matching copy is the copy, whatever the order of the folder', () => {
    const { log, w } = followed(L(1, 10));
    appendFileSync(log, L(11, 12));
    const sec = Date.now() / 1000;
    copyFileSync(log, `${log}.1`);
    utimesSync(`${log}.1`, sec - 10, sec - 10);
    for (let k = 2; k <= 7; k++) {
      writeFileSync(`${log}-2026120${k}`, L(1, 10) + `line ${k}00\n`); // older copies beginning the same
      utimesSync(`${log}-2026120${k}`, sec - 10 - k * 10, sec - 10 - k * 10);
    }
    truncateSync(log, 0);
    appendFileSync(log, L(13, 13));
    w.check(log);
    expect(w.texts()).toEqual(each(1, 13));
    void w.f.close();
  });

  it('the file growing while its truncation is handled, with a copy of its new content under way: read once', () => {
    const { log, w } = followed(L(1, 10));
    appendFileSync(log, L(11, 12));
    copytruncate(log, `${log}.2`, L(13, 14));
    w.during('line 12', () => {
      // read from the copy, after the follower took the new content's first bytes
      appendFileSync(log, L(15, 16));
      writeFileSync(`${log}.1`, L(13, 14)); // the next copy, under way
    });
    w.check(log);
    expect(w.texts()).toEqual(each(1, 16));
    void w.f.close();
  });

  it('does not leak descriptors: copies, renamed files, the file itself', async () => {
    const before = openFds();
    const log = logIn();
    writeFileSync(log, L(1, 10));
    const w = follower([log], { retireQuietMs: 1_000 });
    w.follow(log);
    const t0 = Date.now();
    w.check(log, t0);
    appendFileSync(log, L(11, 12));
    copyFileSync(log, `${log}.1`);
    truncateSync(log, 0); // found empty: blind
    w.check(log, t0);
    writeFileSync(`${log}.2`, L(13, 14)); // a lost generation
    writeFileSync(`${log}.3`, L(15, 16)); // under way (isCopyOf)
    writeFileSync(log, L(15, 16));
    w.check(log, t0);
    rotate(log, L(17, 18));
    rotate(log, L(19, 20));
    w.check(log, t0);
    expect(w.tail(log)!.retired.length).toBe(1);
    w.check(log, t0 + 5_000); // the renamed file gone quiet: closed
    expect(w.tail(log)!.retired.length).toBe(0);
    expect(openFds()).toBe(before + 1); // the file itself
    rotate(log, L(21, 21));
    w.check(log, t0 + 5_000);
    await w.f.close();
    expect(openFds()).toBe(before);
  });
});

describe('reading', () => {
  it('a renamed file with more than a turn left is drained over several turns', async () => {
    const { log, w } = followed('');
    const line = `${'k'.repeat(1023)}\n`;
    appendFileSync(log, line.repeat(17 * 1024));
    renameSync(log, `${log}.1`); // and no new file yet
    const t = w.tail(log)!;
    w.check(log); // 8 MiB of the current file, which is then found renamed
    expect(w.got.length).toBe(8 * 1024);
    expect(t.retired.length).toBe(1);
    w.check(log); // 8 MiB of the renamed one
    expect(w.got.length).toBe(16 * 1024);
    expect(t.again).toBe(true);
    await nextTurn();
    expect(w.got.length).toBe(17 * 1024);
    await w.f.close();
  });

  it('a read error on a renamed file is said', () => {
    const { log, w } = followed(L(1, 1));
    renameSync(log, `${log}.1`);
    writeFileSync(log, '');
    w.check(log);
    appendFileSync(`${log}.1`, L(2, 2));
    const cur = w.tail(log)!.fd;
    hooks.read = (fd) => {
      if (fd !== cur) throw fail('EIO');
    };
    w.check(log);
    expect(w.notices).toEqual(['app.log problem: read error: EIO']);
    void w.f.close();
  });

  it('a truncation found by the read when the stat of the file fails (shorter than the bytes compared)', () => {
    const log = logIn();
    writeFileSync(log, L(1, 10));
    const w = follower([log]);
    const t = w.follow(log);
    w.check(log);
    w.check(log); // nothing new
    hooks.fstat = (fd) => {
      if (fd === t.fd) throw fail('EIO');
    };
    truncateSync(log, 0);
    writeFileSync(log, 'x\n');
    w.check(log);
    hooks.fstat = null;
    appendFileSync(log, L(20, 30));
    w.check(log);
    expect(w.texts()).toEqual([...each(1, 10), 'x', ...each(20, 30)]);
    void w.f.close();
  });

  it('opened at its end with no line end in it: a truncation is found by the size alone', () => {
    for (const after of ['x\n', ''] as const) {
      const log = logIn();
      writeFileSync(log, 'abc');
      const w = follower([log], { fromStart: false });
      w.follow(log);
      w.check(log);
      truncateSync(log, 0);
      if (after) appendFileSync(log, after);
      w.check(log);
      appendFileSync(log, 'more\n');
      w.check(log);
      expect(w.texts(), after).toEqual([...(after ? [after.trim()] : []), 'more']);
      void w.f.close();
    }
  });

  it('opened at its end: the bytes before the offset are kept when the last line end is near the start of the window', () => {
    const log = logIn();
    writeFileSync(log, `a\n${'x'.repeat(200)}`);
    const w = follower([log], { fromStart: false });
    w.follow(log);
    w.check(log);
    writeFileSync(log, `Q\n${'y'.repeat(300)}\n`); // rewritten, longer: the byte before the offset differs
    w.check(log);
    expect(w.got).toEqual([`2:${'x'.repeat(200)}`, '1:Q', `2:${'y'.repeat(300)}`]);
    void w.f.close();
  });

  it('opened at its end: a line end at the first byte of the window', () => {
    const log = logIn();
    writeFileSync(log, '\nabc');
    const w = follower([log], { fromStart: false });
    w.follow(log);
    w.check(log);
    appendFileSync(log, 'def\n');
    w.check(log);
    expect(w.got).toEqual(['2:abcdef']);
    void w.f.close();
  });

  it('truncated again while the new content is read: the next turn reads it anew', async () => {
    const log = logIn();
    writeFileSync(log, L(1, 10));
    const w = follower([log]);
    const t = w.follow(log);
    w.check(log);
    truncateSync(log, 0);
    appendFileSync(log, 'n 1\nn 2\n');
    w.during('n 1', () => {
      truncateSync(log, 0);
      appendFileSync(log, 'z 1\n');
    });
    w.during('z 1', () => {
      truncateSync(log, 0);
      appendFileSync(log, 'y\n');
    });
    w.check(log);
    expect(t.again).toBe(true);
    await nextTurn();
    expect(w.texts()).toEqual([...each(1, 10), 'n 1', 'n 2', 'z 1', 'y']);
    expect(t.again).toBe(false);
    await w.f.close();
  });

  it('a new file truncated while its first lines are read: the next turn reads it anew', async () => {
    const log = logIn();
    writeFileSync(log, L(1, 1));
    const w = follower([log]);
    const t = w.follow(log);
    w.check(log);
    rotate(log, 'n 1\nn 2\n');
    w.during('n 1', () => {
      truncateSync(log, 0);
      appendFileSync(log, 'z\n');
    });
    w.check(log);
    expect(t.again).toBe(true);
    await nextTurn();
    expect(w.texts()).toEqual(['line 1', 'n 1', 'n 2', 'z']);
    await w.f.close();
  });

  it('a file whose stat fails as it is opened is followed all the same', () => {
    const log = logIn();
    writeFileSync(log, L(1, 2));
    const w = follower([log]);
    w.follow(log);
    let first = true;
    hooks.fstat = () => {
      if (first) {
        first = false;
        throw fail('EIO');
      }
    };
    w.check(log);
    appendFileSync(log, L(3, 3));
    w.check(log);
    expect(w.texts()).toEqual(each(1, 3));
    void w.f.close();
  });

  it('events without an idle handler', () => {
    const log = logIn();
    writeFileSync(log, L(1, 1));
    const w = follower([log], {}, false);
    w.follow(log);
    w.check(log);
    expect(w.texts()).toEqual(each(1, 1));
    void w.f.close();
  });
});

describe('missing and unreadable', () => {
  it('a named file that appears unreadable while missing is said unreadable, not missing', () => {
    const log = logIn();
    const w = follower([log]);
    w.follow(log);
    w.check(log, Date.now() - 5_000);
    writeFileSync(log, L(1, 1));
    hooks.open = (p) => {
      if (p === log) throw fail('EACCES');
    };
    w.check(log);
    w.x.tick();
    expect(w.notices).toEqual(['app.log problem: cannot read: permission denied; will keep trying']);
    expect(w.tail(log)!.missingSince).toBe(null);
    void w.f.close();
  });

  it('missing for exactly the grace: said', () => {
    const log = logIn();
    const w = follower([log], { missingGraceMs: 3_000 });
    w.follow(log);
    const now = Date.now();
    w.check(log, now - 3_000);
    vi.spyOn(Date, 'now').mockReturnValue(now);
    w.x.tick();
    expect(w.notices).toEqual(['app.log problem: does not exist (yet); waiting for it']);
    void w.f.close();
  });
});

describe('the follower', () => {
  it('one tail per path; inotify on its folder unless polling is asked for', () => {
    const log = logIn();
    writeFileSync(log, '');
    const w = follower([log], { usePolling: undefined });
    expect(w.follow(log)).toBe(w.follow(log));
    const dir = join(log, '..');
    const watcher = w.x.dirWatchers.get(dir);
    expect(watcher).toBeTruthy();
    w.x.tick();
    expect(w.x.dirWatchers.get(dir)).toBe(watcher); // kept, not made anew each tick
    // an error: closed, then made again at the next tick
    watcher!.emit('error', fail('EIO'));
    expect(w.x.dirWatchers.get(dir)).toBe(null);
    w.x.tick();
    expect(w.x.dirWatchers.get(dir)).toBeTruthy();
    expect(w.x.dirWatchers.get(dir)).not.toBe(watcher);
    void w.f.close();
  });

  it('a folder file forgotten once gone: its folder is not watched again for it', () => {
    const dir = tmp('xd-tail-');
    const log = join(dir, 'app.log');
    writeFileSync(log, '');
    const w = follower([dir], { usePolling: false, retireQuietMs: 0 });
    w.follow(log, false);
    w.check(log);
    w.x.dirWatchers.get(dir)!.emit('error', fail('EIO'));
    unlinkSync(log);
    w.x.tick();
    expect(w.tail(log)).toBe(undefined);
    expect(w.x.dirWatchers.get(dir)).toBe(null);
    void w.f.close();
  });

  it('the poll: every pollMs (500 unless told), cleared at close', async () => {
    const log = logIn();
    writeFileSync(log, '');
    for (const [given, want] of [
      [40, 40],
      [undefined, 500],
    ] as const) {
      const set = vi.spyOn(globalThis, 'setInterval');
      const clear = vi.spyOn(globalThis, 'clearInterval');
      const w = follower([log], { pollMs: given });
      let ticks = 0;
      w.x.tick = () => void ticks++;
      await w.f.start();
      const call = set.mock.calls.find((c) => c[1] === want);
      expect(call, String(given)).toBeTruthy();
      (call![0] as () => void)();
      expect(ticks).toBe(1);
      const timer = w.x.timer;
      await w.f.close();
      expect(clear).toHaveBeenCalledWith(timer);
      vi.restoreAllMocks();
    }
  });

  it('start: a named file in a missing folder is said missing after the grace; a missing named file in a folder is watched', async () => {
    const dir = tmp('xd-tail-');
    const w = follower([join(dir, 'nope', 'x.log'), join(dir, 'y.log')], { missingGraceMs: 0, fromStart: false });
    await w.f.start();
    try {
      w.x.tick();
      expect(w.notices.sort()).toEqual([
        'x.log problem: does not exist (yet); waiting for it',
        'y.log problem: does not exist (yet); waiting for it',
      ]);
      expect(w.x.watchers[0]).toBe(null);
      expect(w.x.watchers[1]).toBeTruthy();
      writeFileSync(join(dir, 'y.log'), L(1, 1)); // appears after the start: read from its start
      w.x.tick();
      expect(w.texts()).toEqual(each(1, 1));
    } finally {
      const watchers = [...w.x.watchers];
      await w.f.close();
      expect(watchers[1]!.closed).toBe(true);
    }
  });

  it("chokidar's change and unlink events are followed (polling, no poll of our own)", async () => {
    const dir = tmp('xd-tail-');
    const log = join(dir, 'a.log');
    writeFileSync(log, '');
    writeFileSync(join(dir, 'a.log.1'), 'rotated\n');
    const w = follower([dir], { fromStart: false, retireQuietMs: 0 });
    await w.f.start();
    try {
      expect(await until(() => w.f.followed().length > 0)).toBe(true);
      expect(w.f.followed()).toEqual([log]); // not the rotated copy
      // chokidar's poll may take its first look after a first write: write until one is seen
      let n = 0;
      while (w.got.length === 0 && n < 10) {
        n++;
        appendFileSync(log, L(n, n));
        await until(() => w.got.length > 0, 2_000);
      }
      expect(w.got.length).toBeGreaterThan(0);
      unlinkSync(log);
      expect(await until(() => w.tail(log) === undefined)).toBe(true);
      expect(w.texts()).toEqual(each(1, n));
    } finally {
      await w.f.close();
    }
  });

  it("a watcher's error is said; inotify out of watches: the watchers are made anew with polling, the old closed", async () => {
    const dir = tmp('xd-tail-');
    const w = follower([dir, join(dir, 'missing', '*.log')], { usePolling: false });
    await w.f.start();
    try {
      w.x.watcherError(0, fail('EIO'));
      expect(w.x.polling).toBe(false);
      const old = w.x.watchers[0]!;
      expect(w.x.watchers[1]).toBe(null);
      old.emit('error', fail('ENOSPC'));
      expect(w.x.polling).toBe(true);
      expect(await until(() => w.x.watchers[0] !== undefined && w.x.watchers[0] !== old)).toBe(true);
      expect(old.closed).toBe(true);
      expect(w.notices.map((n) => n.replace(/^\S+ /, ''))).toEqual([
        'problem: folder ' + join(dir, 'missing') + ' does not exist (yet); waiting for it',
        'problem: watch error: EIO',
        'problem: inotify: ENOSPC (too many watches); falling back to polling every second',
      ]);
    } finally {
      await w.f.close();
    }
    // closed while the watchers are made anew: none is made
    const w2 = follower([dir], { usePolling: false });
    await w2.f.start();
    w2.x.watcherError(0, fail('EMFILE'));
    await w2.f.close();
    await sleep(200);
    expect(w2.x.watchers.length).toBe(0);
  });

  it('a file read over several turns is checked once per turn, not again once read', async () => {
    const log = logIn();
    writeFileSync(log, L(1, 1));
    const w = follower([log]);
    w.follow(log);
    w.x.scheduleCheck(log);
    await nextTurn();
    await nextTurn();
    await nextTurn();
    expect(w.idles()).toBe(1);
    await w.f.close();
  });
});
