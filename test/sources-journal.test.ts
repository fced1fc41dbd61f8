/**
 * Unit tests of src/sources/journal-cursor.ts (`report` reads the journal after its stored cursor) and
 * src/sources/journal.ts (`watch` follows the journal), reached only through the binary before (the
 * mutation run, docs/mutation.md), with stand-in `journalctl` scripts: the arguments, the cursor kept
 * across chunks and runs, a stale cursor, failures, silence; the follower's restarts after the last
 * cursor, its back-off (fake timers), its notices and its close.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { JournalInput, VALID_CURSOR } from '../src/sources/journal-cursor.js';
import { JournalFollower, type JournalOptions } from '../src/sources/journal.js';
import { failure, tmp } from './helpers.js';

/** A stand-in journalctl in a fresh folder: logs its arguments (one call a line) to `args`, then runs `body`. */
/** Is process `pid` still running? */
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const journalctl = (body: string) => {
  const dir = tmp('xd-journal-');
  const path = join(dir, 'journalctl');
  writeFileSync(path, `#!/bin/sh\necho "$@" >> "${dir}/args"\n${body}\n`, { mode: 0o755 });
  const args = () => {
    try {
      return readFileSync(join(dir, 'args'), 'utf8').trim().split('\n');
    } catch {
      return [];
    }
  };
  return { path, dir, args };
};
const rec = (cursor: string, msg = 'm') => `{"__CURSOR":"${cursor}","MESSAGE":"${msg}"}\n`;
async function readAll(i: JournalInput): Promise<string> {
  const out: Buffer[] = [];
  for await (const b of i.open()) out.push(b);
  return Buffer.concat(out).toString();
}

describe('journal-cursor: what a cursor looks like', () => {
  it('takes journald cursors, up to 512 characters, and nothing with a blank, a quote or a newline', () => {
    expect(VALID_CURSOR.test('s=0b5a2c1e9f8d4a7b;i=1f3a;b=9c2e4d;m=1a2b3c;t=5f0e1d2c3b4a5;x=deadbeef')).toBe(true);
    expect(VALID_CURSOR.test('AZaz09=;:_+/.-')).toBe(true);
    expect(VALID_CURSOR.test('x'.repeat(512))).toBe(true);
    expect(VALID_CURSOR.test('x'.repeat(513))).toBe(false);
    expect(VALID_CURSOR.test('')).toBe(false);
    for (const bad of ['s=1 i=2', 's="1"', 's=1\n', '\ns=1', 's=1\\', 's=1,i=2', "s='1'", 's=1$'])
      expect([bad, VALID_CURSOR.test(bad)]).toEqual([bad, false]);
  });
});

describe('journal-cursor: the journal after the stored cursor', () => {
  it('reads the current boot the first time, after the cursor next, and keeps the last record read', async () => {
    const j = journalctl(`printf '%s' '${rec('s=1;i=1')}${rec('s=1;i=2')}'`);
    const first = new JournalInput(j.path, null, 1234);
    expect([first.name, first.kind, first.size, first.host, first.mtime, first.cursor, first.silenceMs]).toEqual([
      'journalctl',
      'command',
      null,
      null,
      1234,
      null,
      60_000,
    ]);
    expect(await readAll(first)).toBe(rec('s=1;i=1') + rec('s=1;i=2'));
    expect([first.cursor, first.note]).toEqual(['s=1;i=2', null]);
    const next = new JournalInput(j.path, 's=1;i=2', 0);
    expect(next.cursor).toBe('s=1;i=2');
    await readAll(next);
    expect(j.args()).toEqual(['-o json --no-pager -q -b', '-o json --no-pager -q --after-cursor=s=1;i=2']);
  });

  it('keeps the stored cursor when nothing was read, and a cursor only from a whole line', async () => {
    const none = new JournalInput(journalctl('exit 0').path, 's=9', 0);
    expect(await readAll(none)).toBe('');
    expect(none.cursor).toBe('s=9');
    // the last line unfinished: the cursor of the last whole one
    const part = new JournalInput(journalctl(`printf '%s' '${rec('s=1')}{"__CURSOR":"s=2","MESS'`).path, null, 0);
    await readAll(part);
    expect(part.cursor).toBe('s=1');
    // a whole line without a cursor after one with it: the cursor before
    const plain = new JournalInput(journalctl(`printf '%s' '${rec('s=1')}{"MESSAGE":"no cursor"}\n'`).path, null, 0);
    await readAll(plain);
    expect(plain.cursor).toBe('s=1');
    // a last cursor whose closing quote is past the line's end, an empty one, one with a blank: not taken
    for (const [body, want] of [
      ['{"__CURSOR":"s=2\\n"}', 's=0'],
      ['{"__CURSOR":""}\\n', 's=0'],
      ['{"__CURSOR":"s=2 x"}\\n', 's=0'],
      ['{"__CURSOR":"s=2"}\\n', 's=2'],
    ]) {
      const i = new JournalInput(journalctl(`printf '${body}'`).path, 's=0', 0);
      await readAll(i);
      expect([body, i.cursor]).toEqual([body, want]);
    }
  });

  it('finds the cursor of a record cut between two chunks', async () => {
    const j = journalctl(`printf '%s' '${rec('s=1;i=1')}{"__CURSOR":"s=1;i'; sleep 0.3; printf '%s\\n' '=2","MESSAGE":"m"}'`);
    const i = new JournalInput(j.path, null, 0);
    const chunks: string[] = [];
    for await (const b of i.open()) chunks.push(b.toString());
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.join('')).toBe(rec('s=1;i=1') + rec('s=1;i=2'));
    expect(i.cursor).toBe('s=1;i=2');
    // one more chunk without a newline after a whole one: the whole one's cursor
    const k = journalctl(`printf '%s' '${rec('s=1;i=1')}'; sleep 0.3; printf '%s' '{"__CURSOR":"s=1;i=2"'; sleep 0.3; printf '%s' '}'`);
    const i2 = new JournalInput(k.path, null, 0);
    await readAll(i2);
    expect(i2.cursor).toBe('s=1;i=1');
  });

  it('falls back to the current boot when the stored cursor is refused, and says why', async () => {
    const j = journalctl(
      `case "$*" in *after-cursor*) echo 'Failed to seek to cursor: Invalid argument' >&2; echo more >&2; exit 1;; esac; printf '%s' '${rec('s=5')}'`,
    );
    const i = new JournalInput(j.path, 's=gone', 0);
    expect(await readAll(i)).toBe(rec('s=5'));
    expect(i.cursor).toBe('s=5');
    expect(i.note).toBe(
      'the journal cursor stored by the last run is no longer valid (Failed to seek to cursor: Invalid argument): read the current boot instead; entries may be missing or repeated',
    );
    expect(j.args()).toEqual(['-o json --no-pager -q --after-cursor=s=gone', '-o json --no-pager -q -b']);
    // no stderr: the status
    const quiet = new JournalInput(journalctl(`case "$*" in *after-cursor*) exit 3;; esac`).path, 's=gone', 0);
    expect(await readAll(quiet)).toBe('');
    expect([quiet.note, quiet.cursor]).toEqual([
      'the journal cursor stored by the last run is no longer valid (status 3): read the current boot instead; entries may be missing or repeated',
      null,
    ]);
  });

  it('fails when journalctl fails otherwise: after output, without a stored cursor, or on the boot too', async () => {
    const after = new JournalInput(journalctl(`printf '%s' '${rec('s=1')}'; echo 'disk gone' >&2; exit 2`).path, 's=0', 0);
    expect(await failure(readAll(after))).toBe('journalctl exited with status 2: disk gone');
    expect(after.note).toBeNull();
    const noCursor = new JournalInput(journalctl('exit 4').path, null, 0);
    expect(await failure(readAll(noCursor))).toBe('journalctl exited with status 4');
    const blanks = new JournalInput(journalctl("echo '   ' >&2; exit 4").path, null, 0);
    expect(await failure(readAll(blanks))).toBe('journalctl exited with status 4');
    const j = journalctl(`echo "  no journal" >&2; echo second >&2; exit 1`);
    const both = new JournalInput(j.path, 's=0', 0);
    expect(await failure(readAll(both))).toBe('journalctl exited with status 1: no journal');
    expect(j.args()).toHaveLength(2);
    expect(await failure(readAll(new JournalInput('/nonexistent/journalctl', null, 0)))).toBe('cannot run /nonexistent/journalctl: ENOENT');
  });

  it('gives journalctl no stdin, keeps about 2000 characters of its stderr, trims its first line', async () => {
    const i = new JournalInput(journalctl(`cat; printf '%s' '${rec('s=1')}'`).path, null, 0, 5000);
    expect(await readAll(i)).toBe(rec('s=1'));
    const first = 'a'.repeat(2000);
    const big = new JournalInput(journalctl(`printf '%s' ${first} >&2; sleep 0.3; echo bbb >&2; exit 2`).path, null, 0);
    expect(await failure(readAll(big))).toBe(`journalctl exited with status 2: ${first}`);
    const blank = new JournalInput(
      journalctl(`case "$*" in *after-cursor*) echo '  Failed to seek  ' >&2; exit 1;; esac; printf '%s' '${rec('s=5')}'`).path,
      's=gone',
      0,
    );
    await readAll(blank);
    expect(blank.note).toMatch(/no longer valid \(Failed to seek\): read/);
  });

  it('takes a cursor key at the very start of the output, and nothing where there is no key', async () => {
    const start = new JournalInput(journalctl(`printf '%s\\n' '"__CURSOR":"s=5"'`).path, 's=0', 0);
    await readAll(start);
    expect(start.cursor).toBe('s=5');
    // no key: the bytes where a key's value would be are not a cursor
    const none = new JournalInput(journalctl(`printf '%s\\n' '0123456789Xs=9"'`).path, 's=0', 0);
    await readAll(none);
    expect(none.cursor).toBe('s=0');
  });

  it('leaves no timer behind, and stops journalctl when the reader throws', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const i = new JournalInput(journalctl(`printf '%s' '${rec('s=1')}'`).path, null, 0);
      await readAll(i);
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
    const j = journalctl(`echo $$ > "$(dirname "$0")/pid"; printf '%s' '${rec('s=1')}'; exec sleep 30`);
    const g = new JournalInput(j.path, null, 0).open();
    await g.next();
    await expect(g.throw(new Error('stop'))).rejects.toThrow('stop');
    const pid = Number(readFileSync(join(j.dir, 'pid'), 'utf8'));
    const t0 = Date.now();
    while (alive(pid) && Date.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 20));
    expect(alive(pid)).toBe(false);
  });

  it('stops a journalctl that stays silent, however much it printed before', async () => {
    const j = journalctl(`printf '%s' '${rec('s=1')}'; sleep 0.2; printf '%s' '${rec('s=2')}'; exec sleep 30`);
    const i = new JournalInput(j.path, null, 0, 700);
    const t0 = Date.now();
    expect(await failure(readAll(i))).toBe(`${j.path} gave no output for 1 s: stopped`);
    expect(Date.now() - t0).toBeLessThan(20_000);
    // output that comes more often than the bound keeps it running
    const slow = journalctl(`for n in 1 2 3 4; do printf '%s' "{\\"__CURSOR\\":\\"s=$n\\"}\n"; sleep 0.3; done`);
    const ok = new JournalInput(slow.path, null, 0, 800);
    await readAll(ok);
    expect(ok.cursor).toBe('s=4');
  });
});

describe('journal: following it live', () => {
  afterEach(() => {
    vi.useRealTimers();
  });
  /** Wait (without timers: they may be fake) until `cond`. */
  const until = async (cond: () => boolean, what: string) => {
    const t0 = performance.now();
    while (!cond()) {
      if (performance.now() - t0 > 10_000) throw new Error(`waited for ${what}`);
      await new Promise((r) => setImmediate(r));
    }
  };
  const follower = (command: string, o: Partial<JournalOptions> = {}) => {
    const lines: [string, number][] = [];
    const notices: [string, string][] = [];
    let idle = 0;
    const f = new JournalFollower({
      command,
      fromStart: false,
      line: (b, s, e, n) => lines.push([b.toString('utf8', s, e), n]),
      idle: () => idle++,
      notice: (m, k) => notices.push([m, k]),
      ...o,
    });
    return { f, lines, notices, idle: () => idle };
  };

  it('starts at the end (or the start), passes each line on, and restarts after the last cursor with a back-off', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const j = journalctl(
      `n=$(wc -l < "$(dirname "$0")/args"); printf '%s' '{"__CURSOR":"s='$n'","MESSAGE":"a"}\n{"MESSAGE":"b"}\n'; echo "gone $n" >&2; echo more >&2; exit 1`,
    );
    const a = follower(j.path);
    expect(a.f.name).toBe('journal');
    a.f.start();
    await until(() => a.notices.length === 1, 'the first exit');
    expect(a.lines).toEqual([
      ['{"__CURSOR":"s=1","MESSAGE":"a"}', 1],
      ['{"MESSAGE":"b"}', 2],
    ]);
    expect(a.idle()).toBeGreaterThan(0);
    expect(a.notices).toEqual([['journalctl exited (status 1): gone 1; restarting it', 'problem']]);
    vi.advanceTimersByTime(999);
    expect(j.args()).toHaveLength(1);
    vi.advanceTimersByTime(1);
    await until(() => a.notices.length === 2, 'the second exit');
    expect(a.lines.map((l) => l[1])).toEqual([1, 2, 3, 4]);
    vi.advanceTimersByTime(1999);
    expect(j.args()).toHaveLength(2);
    vi.advanceTimersByTime(1);
    await until(() => a.notices.length === 3, 'the third exit');
    expect(j.args()).toEqual(['-f -o json -q -n 0', '-f -o json -q --after-cursor=s=1 -n all', '-f -o json -q --after-cursor=s=2 -n all']);
    // the back-off doubles up to a minute
    for (const wait of [4000, 8000, 16_000, 32_000, 60_000, 60_000]) {
      const calls = j.args().length;
      vi.advanceTimersByTime(wait - 1);
      expect(j.args()).toHaveLength(calls);
      vi.advanceTimersByTime(1);
      await until(() => a.notices.length === calls + 1, `exit ${calls + 1}`);
    }
    a.f.close();
    vi.advanceTimersByTime(120_000);
    expect(j.args()).toHaveLength(9);
    const b = follower(j.path, { fromStart: true });
    b.f.start();
    await until(() => b.notices.length === 1, 'the exit');
    b.f.close();
    expect(j.args()[9]).toBe('-f -o json -q -n all');
  });

  it('reports the same failure once, says when it works again (after 2 s running), and resets the back-off', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    // calls 1-2 fail at once; call 3 prints a line, waits for the go file, prints another and keeps running
    const j = journalctl(
      `d=$(dirname "$0"); n=$(wc -l < "$d/args"); if [ $n -le 2 ]; then exit 1; fi; echo '{"MESSAGE":"early"}'; while [ ! -e "$d/go1" ]; do sleep 0.05; done; echo '{"MESSAGE":"at 2 s"}'; while [ ! -e "$d/go2" ]; do sleep 0.05; done; echo '{"MESSAGE":"late"}'; exec sleep 30`,
    );
    const a = follower(j.path);
    a.f.start();
    await until(() => j.args().length === 1 && a.notices.length === 1, 'the first exit');
    vi.advanceTimersByTime(1000);
    await until(() => j.args().length === 2, 'the second start');
    await until(() => vi.getTimerCount() === 1, 'the second exit');
    expect(a.notices).toEqual([['journalctl exited (status 1); restarting it', 'problem']]);
    vi.advanceTimersByTime(2000);
    await until(() => a.lines.length === 1, 'the early line');
    expect(a.notices).toHaveLength(1); // output within 2 s of the start: not yet taken as working
    vi.advanceTimersByTime(2000);
    writeFileSync(join(j.dir, 'go1'), '');
    await until(() => a.lines.length === 2, 'the line at 2 s');
    expect(a.notices).toHaveLength(1); // exactly 2 s: not yet
    vi.advanceTimersByTime(1);
    writeFileSync(join(j.dir, 'go2'), '');
    await until(() => a.lines.length === 3, 'the late line');
    expect(a.notices).toEqual([
      ['journalctl exited (status 1); restarting it', 'problem'],
      ['journalctl works again', 'recovered'],
    ]);
    // closed: the child is killed, no exit is reported, nothing restarts
    a.f.close();
    vi.advanceTimersByTime(120_000);
    expect(j.args()).toHaveLength(3);
    expect(a.notices).toHaveLength(2);
  });

  it('takes a cursor only from its own line, shorter than 512, with its closing quote; never an empty one', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const long = 'x'.repeat(511);
    const lines = [
      '"__CURSOR":"s=1"', // a key at the very start
      `{"MESSAGE":"${'m'.repeat(600)}","__CURSOR":"s=2"}`, // far into a long line
      `{"__CURSOR":"${long}"}`, // 511: taken
      `{"__CURSOR":"${long}y"}`, // 512: not taken
      '{"__CURSOR":""}', // empty: not taken
      '{"__CURSOR":"s=3', // its quote on the next line: not taken
      '"}',
      '{"__CURSOR":"s=4', // no closing quote at all: not taken
    ];
    const j = journalctl(`printf '%s\\n' ${lines.map((l) => `'${l}'`).join(' ')}; exit 1`);
    const a = follower(j.path);
    a.f.start();
    await until(() => a.notices.length === 1, 'the exit');
    expect(a.lines).toHaveLength(lines.length);
    vi.advanceTimersByTime(1000);
    await until(() => a.notices.length === 1 && j.args().length === 2, 'the restart');
    a.f.close();
    expect(j.args()[1]).toBe(`-f -o json -q --after-cursor=${long} -n all`);
  });

  it('gives journalctl no stdin; trims and bounds its stderr; says nothing of a journalctl that works', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const first = 'a'.repeat(2000);
    const j = journalctl(
      `d=$(dirname "$0"); cat; echo '{"MESSAGE":"a"}'; printf '%s' ${first} >&2; sleep 0.3; echo bbb >&2; while [ ! -e "$d/go" ]; do sleep 0.05; done; echo '{"MESSAGE":"b"}'; echo '  why  ' >&2; exit 3`,
    );
    const a = follower(j.path);
    a.f.start();
    await until(() => a.lines.length === 1, 'the first line');
    vi.advanceTimersByTime(3000);
    writeFileSync(join(j.dir, 'go'), '');
    await until(() => a.notices.length === 1, 'the exit');
    expect(a.lines.map((l) => l[0])).toEqual(['{"MESSAGE":"a"}', '{"MESSAGE":"b"}']);
    expect(a.notices).toEqual([[`journalctl exited (status 3): ${first}; restarting it`, 'problem']]);
    a.f.close();
    const k = journalctl(`echo '  oops  ' >&2; exit 3`);
    const b = follower(k.path);
    b.f.start();
    await until(() => b.notices.length === 1, 'the exit');
    b.f.close();
    expect(b.notices).toEqual([['journalctl exited (status 3): oops; restarting it', 'problem']]);
  });

  it('close kills journalctl and reports nothing of its exit', async () => {
    const j = journalctl(`echo $$ > "$(dirname "$0")/pid"; echo '{"MESSAGE":"a"}'; exec sleep 30`);
    const a = follower(j.path);
    a.f.start();
    await until(() => a.lines.length === 1, 'the line');
    a.f.close();
    const pid = Number(readFileSync(join(j.dir, 'pid'), 'utf8'));
    const t0 = performance.now();
    while (alive(pid) && performance.now() - t0 < 10_000) await new Promise((r) => setTimeout(r, 20));
    expect(alive(pid)).toBe(false);
    await new Promise((r) => setTimeout(r, 200));
    expect(a.notices).toEqual([]);
  });

  it('reports a journalctl that cannot even be started (a NUL in its name)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const a = follower('/bin/journal\0ctl');
    a.f.start();
    expect(a.notices).toHaveLength(1);
    expect(a.notices[0]![0]).toMatch(/^cannot run journalctl: .*null bytes/);
    a.f.close();
  });

  it('reports a journalctl that cannot be run, and passes on an unfinished last line at close', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const a = follower('/nonexistent/journalctl');
    a.f.start();
    await until(() => a.notices.length > 0, 'the failure');
    await new Promise((r) => setImmediate(r));
    expect(a.notices).toEqual([['cannot run journalctl: ENOENT', 'problem']]);
    a.f.close();
    const j = journalctl(`printf '%s' '{"MESSAGE":"unfinished"'; exec sleep 30`);
    const b = follower(j.path);
    b.f.start();
    await until(() => b.idle() > 0, 'the output');
    b.f.close();
    expect(b.lines).toEqual([['{"MESSAGE":"unfinished"', 1]]);
    expect(b.notices).toEqual([]);
  });
});
