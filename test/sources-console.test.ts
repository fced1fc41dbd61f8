/**
 * Unit and property tests of src/sources/console.ts (`watch --xen-console`) and
 * src/sources/console-news.ts (`report`'s console read), reached mostly through the binary before (the
 * mutation run, docs/mutation.md): the overlap of two reads against a brute-force one, the diff's kinds,
 * the poller's reads, failures, recovery and limits with stand-in `xl` scripts; the place the last
 * report run stopped at, across growth, wraps, floods, restarts and marks of the older version.
 */
import { createHash } from 'node:crypto';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { consoleDiff, consoleLines, overlap, XenConsole, type ConsoleOptions } from '../src/sources/console.js';
import { bufferInput, capture, CONSOLE_CONTEXT, consoleNews } from '../src/sources/console-news.js';
import { MAX_LINE } from '../src/sources/lines.js';
import type { ConsoleMark } from '../src/state/state.js';
import { failure, tmp } from './helpers.js';

const L = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `(XEN) line ${from + i}`);
/** An executable shell script in a fresh folder. */
const script = (body: string, name = 'xl'): string => {
  const path = join(tmp('xd-console-'), name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
};

describe('console: the overlap of two reads', () => {
  /** The longest prefix of cur that is a suffix of prev, by trying every length. */
  const brute = (prev: string[], cur: string[]) => {
    for (let n = Math.min(prev.length, cur.length); n > 0; n--)
      if (cur.slice(0, n).every((l, i) => l === prev[prev.length - n + i])) return n;
    return 0;
  };

  it('is the longest prefix of the new read that ends the old one', () => {
    expect(overlap(['a', 'b', 'a', 'b', 'a'], ['a', 'b', 'a', 'b', 'c'])).toBe(3);
    expect(overlap(['a', 'a', 'b', 'a', 'a', 'a'], ['a', 'a', 'a', 'b'])).toBe(3);
    expect(overlap(['c', 'a', 'b', 'a', 'b'], ['a', 'b', 'a', 'b', 'a', 'b'])).toBe(4);
    expect(overlap(['a', 'b', 'c'], ['a', 'b', 'c'])).toBe(3);
    expect(overlap(['x', 'a', 'b', 'c'], ['a', 'b', 'c'])).toBe(3);
    expect(overlap(['a', 'b', 'c', 'x'], ['a', 'b', 'c'])).toBe(0);
    expect(overlap([], ['a'])).toBe(0);
    expect(overlap(['a'], [])).toBe(0);
  });

  it('equals the brute-force overlap for any two reads over a small alphabet', () => {
    const lines = fc.array(fc.constantFrom('a', 'b', 'c'), { maxLength: 12 });
    fc.assert(fc.property(lines, lines, (prev, cur) => overlap(prev, cur) === brute(prev, cur)));
    const ab = fc.array(fc.constantFrom('a', 'b'), { maxLength: 16 });
    fc.assert(
      fc.property(ab, ab, (prev, cur) => overlap(prev, cur) === brute(prev, cur)),
      { numRuns: 2000 },
    );
  });
});

describe('console: what is new since the last read', () => {
  it('tells growth, a wrap, a cut first line and a reset apart', () => {
    expect(consoleDiff(L(1, 5), L(1, 5))).toEqual({ fresh: [], kind: 'grown' });
    expect(consoleDiff(L(1, 5), L(2, 6))).toEqual({ fresh: L(6, 6), kind: 'wrapped' });
    // cut first line: the line before the overlap ends with it
    expect(consoleDiff(L(1, 5), ['line 3', ...L(4, 6)])).toEqual({ fresh: L(6, 6), kind: 'wrapped' });
    expect(consoleDiff(L(1, 5), ['(XEN) line 3', ...L(4, 6)])).toEqual({ fresh: L(6, 6), kind: 'wrapped' });
    // a whole new first line that does not end the line before: nothing in common, all new
    expect(consoleDiff(L(1, 5), ['line 9', ...L(4, 6)])).toEqual({ fresh: ['line 9', ...L(4, 6)], kind: 'reset' });
    // the first line is the end of a line before the overlap only if that line is in the old read
    expect(consoleDiff(L(4, 5), ['line 3', ...L(4, 6)])).toEqual({ fresh: ['line 3', ...L(4, 6)], kind: 'reset' });
    // one line only: there is no second try
    expect(consoleDiff(L(1, 5), ['line 5'])).toEqual({ fresh: ['line 5'], kind: 'reset' });
    expect(consoleDiff(['x'], ['x', 'y'])).toEqual({ fresh: ['y'], kind: 'grown' });
    expect(consoleDiff(['w', 'x'], ['x', 'y'])).toEqual({ fresh: ['y'], kind: 'wrapped' });
    expect(consoleDiff([], [])).toEqual({ fresh: [], kind: 'reset' });
    // nothing in common: a first line that happens to end the old read's last line is no cut line
    expect(consoleDiff(['a', 'line 5'], ['5', 'x'])).toEqual({ fresh: ['5', 'x'], kind: 'reset' });
    // a cut first line, then one line in common
    expect(consoleDiff(L(1, 5), ['ne 4', ...L(5, 7)])).toEqual({ fresh: L(6, 7), kind: 'wrapped' });
  });

  it('splits output into lines: CR dropped, an unfinished last line left for the next read, long lines cut', () => {
    expect(consoleLines('')).toEqual([]);
    expect(consoleLines('a\r\nb\n')).toEqual(['a', 'b']);
    expect(consoleLines('a\nb\nunfinished')).toEqual(['a', 'b']);
    expect(consoleLines('a\r\r\n\n')).toEqual(['a\r', '']);
    expect(consoleLines('r\rx\n')).toEqual(['r\rx']);
    const long = 'x'.repeat(MAX_LINE + 5);
    expect(consoleLines(`${long}\n${'y'.repeat(MAX_LINE)}\n`)).toEqual(['x'.repeat(MAX_LINE), 'y'.repeat(MAX_LINE)]);
  });
});

describe('console: the poller', () => {
  /** A poller on `command` that records what it passes on and says. */
  const poller = (command: string, o: Partial<ConsoleOptions> = {}) => {
    const seen: string[][] = [];
    const notices: [string, string][] = [];
    const c = new XenConsole({
      command,
      intervalMs: 3_600_000,
      fromStart: false,
      onLines: (l) => seen.push(l),
      notice: (m, k) => notices.push([m, k]),
      ...o,
    });
    return { c, seen, notices };
  };
  /** A stand-in xl printing the file `ring`, failing with the status in `status` when there is one. */
  const ringXl = () => {
    const xl = script(
      'f=$(dirname "$0"); [ "$1" = dmesg ] || exit 9; if [ -s "$f/status" ]; then echo "xl: $(cat "$f/status") failed" >&2; echo second >&2; exit $(cat "$f/status"); fi; cat "$f/ring"',
    );
    const dir = join(xl, '..');
    return {
      xl,
      ring: (lines: string[], tail = '') => writeFileSync(join(dir, 'ring'), lines.map((l) => `${l}\n`).join('') + tail),
      fail: (status: number | null) => writeFileSync(join(dir, 'status'), status === null ? '' : String(status)),
    };
  };

  it('is named after its program; the first read is the start unless told to read it too', async () => {
    const { xl, ring } = ringXl();
    ring(L(1, 3));
    const a = poller(xl);
    expect(a.c.name).toBe('xl dmesg');
    expect(poller('xm').c.name).toBe('xm dmesg');
    await a.c.poll();
    expect(a.seen).toEqual([]);
    ring(L(1, 5), 'unfinished');
    await a.c.poll();
    await a.c.poll();
    expect([a.seen, a.c.lines]).toEqual([[L(4, 5)], 2]);
    ring(L(1, 6));
    await a.c.poll();
    expect([a.seen, a.c.lines]).toEqual([[L(4, 5), L(6, 6)], 3]);
    const b = poller(xl, { fromStart: true });
    await b.c.poll();
    await b.c.poll();
    expect([b.seen, b.c.lines]).toEqual([[L(1, 6)], 6]);
    const e = poller(script('exit 0'), { fromStart: true });
    await e.c.poll();
    expect([e.seen, e.c.lines]).toEqual([[], 0]);
    expect([a.notices, b.notices, e.notices]).toEqual([[], [], []]);
  });

  it('says when the buffer overran between two reads, not when it was cleared', async () => {
    const { xl, ring } = ringXl();
    ring(L(1, 3));
    const a = poller(xl);
    await a.c.poll();
    const after: number[] = [];
    ring(L(10, 12)); // as long as before, nothing in common: overran
    await a.c.poll();
    after.push(a.notices.length);
    ring(L(20, 21)); // shorter, nothing in common: cleared
    await a.c.poll();
    after.push(a.notices.length);
    ring([]);
    await a.c.poll();
    after.push(a.notices.length);
    ring(L(30, 30)); // after an empty read
    await a.c.poll();
    after.push(a.notices.length);
    expect(after).toEqual([1, 1, 1, 1]);
    expect(a.seen).toEqual([L(10, 12), L(20, 21), L(30, 30)]);
    expect(a.notices).toEqual([
      ['xl dmesg: the console buffer overran between two reads; some lines were lost (read more often with --interval)', 'info'],
    ]);
  });

  it('reports a failing read once, with the first line of its stderr, and its recovery once', async () => {
    const { xl, ring, fail } = ringXl();
    ring(L(1, 2));
    const a = poller(xl, { intervalMs: 500 });
    fail(3);
    await a.c.poll();
    await a.c.poll();
    fail(4);
    await a.c.poll();
    fail(null);
    await a.c.poll();
    ring(L(1, 3));
    await a.c.poll();
    expect(a.notices).toEqual([
      ['xl dmesg failed (status 3): xl: 3 failed; will retry every 0.5 s', 'problem'],
      ['xl dmesg failed (status 4): xl: 4 failed; will retry every 0.5 s', 'problem'],
      ['xl dmesg works again', 'recovered'],
    ]);
    // the first good read is the start: only what came after it is passed on
    expect(a.seen).toEqual([L(3, 3)]);
    const quiet = poller(script('exit 5'));
    await quiet.c.poll();
    expect(quiet.notices).toEqual([['xl dmesg failed (status 5); will retry every 3600 s', 'problem']]);
    const killed = poller(script('kill -TERM $$'));
    await killed.c.poll();
    expect(killed.notices).toEqual([['xl dmesg failed (SIGTERM); will retry every 3600 s', 'problem']]);
  });

  it('reports a program that cannot be run', async () => {
    const a = poller('/nonexistent/xl');
    await a.c.poll();
    expect(a.notices).toEqual([['cannot run xl dmesg: ENOENT', 'problem']]);
  });

  it('kills a read that does not answer in time, and says so', async () => {
    const a = poller(script('exec sleep 30'), { timeoutMs: 600 });
    const t0 = Date.now();
    await a.c.poll();
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(a.notices).toEqual([['xl dmesg did not answer within 1 s; killed it (will retry)', 'problem']]);
  });

  it('skips a turn while a read is running, and stops reading once closed', async () => {
    const { xl, ring } = ringXl();
    ring(L(1, 2));
    const calls = join(xl, '..', 'calls');
    const slow = script(`echo x >> "${calls}"; sleep 0.3; cat "${join(xl, '..', 'ring')}"`);
    const a = poller(slow, { fromStart: true });
    const first = a.c.poll();
    await a.c.poll(); // skipped: the first read still runs
    await first;
    expect(readFileSync(calls, 'utf8')).toBe('x\n'); // one read: the second turn was skipped
    expect(a.seen).toEqual([L(1, 2)]);
    ring(L(1, 4));
    const pending = a.c.poll();
    a.c.close();
    await pending;
    const before = readFileSync(calls, 'utf8');
    await a.c.poll();
    expect(readFileSync(calls, 'utf8')).toBe(before); // no read once closed
    expect(a.seen).toEqual([L(1, 2)]);
    expect(a.notices).toEqual([]);
  });

  it('keeps at most maxBytes of one read (whole chunks)', async () => {
    const a = poller(script("printf 'a\\nb\\n'; sleep 0.3; printf 'c\\n'"), { fromStart: true, maxBytes: 4 });
    await a.c.poll();
    expect(a.seen).toEqual([['a', 'b']]);
    const b = poller(script("printf 'a\\nb\\n'; sleep 0.3; printf 'c\\n'"), { fromStart: true, maxBytes: 5 });
    await b.c.poll();
    expect(b.seen).toEqual([['a', 'b', 'c']]);
  });

  it('gives the command no standard input, keeps 64 MiB by default, and waits at least 10 s by default', async () => {
    // reads stdin (a pipe would never end), prints two chunks, takes longer than the interval
    const a = poller(script("cat; printf '%0100d\\n' 1; sleep 0.3; printf 'b\\n'"), {
      fromStart: true,
      intervalMs: 100,
      timeoutMs: undefined,
    });
    await a.c.poll();
    expect([a.seen, a.notices]).toEqual([[['0'.repeat(99) + '1', 'b']], []]);
  });

  it('says how long it waited when the default bound (10 s) killed a read', async () => {
    const a = poller(script('exec sleep 60'), { intervalMs: 600 });
    await a.c.poll();
    expect(a.notices).toEqual([['xl dmesg did not answer within 10 s; killed it (will retry)', 'problem']]);
  });

  it('reports a command that cannot even be started', async () => {
    const a = poller('/bin/x\0l');
    await a.c.poll();
    expect(a.notices).toHaveLength(1);
    expect(a.notices[0]![0]).toMatch(/^cannot run x\0l dmesg: .*null bytes/);
  });

  it('keeps about 2000 characters of stderr (whole chunks), blanks around its first line trimmed', async () => {
    const first = 'a'.repeat(2000);
    const a = poller(script(`printf '%s' ${first} >&2; sleep 0.3; echo bbb >&2; exit 3`));
    await a.c.poll();
    expect(a.notices).toEqual([[`xl dmesg failed (status 3): ${first}; will retry every 3600 s`, 'problem']]);
    const b = poller(script("echo '  oops  ' >&2; exit 3"));
    await b.c.poll();
    expect(b.notices).toEqual([['xl dmesg failed (status 3): oops; will retry every 3600 s', 'problem']]);
  });

  it('close kills a read that is running, and stops the interval', async () => {
    const a = poller(script('exec sleep 60'));
    const t0 = Date.now();
    const pending = a.c.poll();
    await new Promise((r) => setTimeout(r, 200));
    a.c.close();
    await pending;
    expect(Date.now() - t0).toBeLessThan(20_000);
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      const { xl, ring } = ringXl();
      ring(L(1, 1));
      const b = poller(xl, { intervalMs: 100 });
      await b.c.start();
      expect(vi.getTimerCount()).toBe(1);
      b.c.close();
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('starts with a read and then polls at its interval until closed', async () => {
    const { xl, ring } = ringXl();
    ring(L(1, 1));
    const a = poller(xl, { intervalMs: 100, fromStart: true });
    await a.c.start();
    expect(a.seen).toEqual([L(1, 1)]);
    ring(L(1, 2));
    for (let i = 0; i < 200 && a.seen.length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    a.c.close();
    expect(a.seen).toEqual([L(1, 1), L(2, 2)]);
  });
});

describe('console-news: capture', () => {
  it('returns standard output, or an error naming the command, its status or signal and stderr', async () => {
    expect((await capture('sh', ['-c', 'printf "a\\nb"'])).toString()).toBe('a\nb');
    await expect(capture('sh', ['-c', 'echo oops >&2; echo more >&2; exit 3'])).rejects.toThrow(
      /^sh -c echo oops >&2; echo more >&2; exit 3 exited with status 3: oops$/,
    );
    await expect(capture('sh', ['-c', 'exit 4'])).rejects.toThrow(/^sh -c exit 4 exited with status 4$/);
    await expect(capture('sh', ['-c', 'kill -TERM $$'])).rejects.toThrow(/^sh -c kill -TERM \$\$ was killed by SIGTERM$/);
    await expect(capture('/nonexistent/xl', ['dmesg'])).rejects.toThrow(/^cannot run \/nonexistent\/xl: ENOENT$/);
    await expect(capture('sleep', ['30'], 300)).rejects.toThrow(/^sleep 30 was killed by SIGTERM$/);
  });

  it('gives the command no standard input (a command that reads it does not hang)', async () => {
    expect((await capture('cat', [], 20_000)).toString()).toBe('');
  });

  it('keeps about 2000 characters of stderr (whole chunks), blanks around its first line trimmed', async () => {
    const first = 'a'.repeat(2000);
    const err = await failure(capture('sh', ['-c', `printf '%s' ${first} >&2; sleep 0.3; echo bbb >&2; exit 3`]));
    expect(err).toBe(`sh -c printf '%s' ${first} >&2; sleep 0.3; echo bbb >&2; exit 3 exited with status 3: ${first}`);
    expect(await failure(capture('sh', ['-c', "echo '  oops  ' >&2; exit 3"]))).toMatch(/ exited with status 3: oops$/);
  });

  it('keeps at most 64 MiB of output', async () => {
    const out = await capture('head', ['-c', String(64 * 1024 * 1024 + 300_000), '/dev/zero']);
    expect(out.length).toBeLessThanOrEqual(64 * 1024 * 1024);
    expect(out.length).toBeGreaterThan(63 * 1024 * 1024);
  });

  it('an input from memory yields its data once, nothing when empty', async () => {
    const data = Buffer.from('x\n');
    const i = bufferInput('xl dmesg', data, 1234, 'h1');
    expect({ ...i, open: undefined }).toEqual({ name: 'xl dmesg', kind: 'command', mtime: 1234, size: 2, host: 'h1', open: undefined });
    const got: Buffer[] = [];
    for await (const b of i.open()) got.push(b);
    expect(got).toEqual([data]);
    const empty: Buffer[] = [];
    for await (const b of bufferInput('e', Buffer.alloc(0), 0, null).open()) empty.push(b);
    expect(empty).toEqual([]);
  });
});

describe('console-news: the lines not seen by the last run', () => {
  const h = (s: string) => createHash('sha1').update(s).digest('hex').slice(0, 16);
  const out = (lines: string[]) => Buffer.from(lines.map((l) => `${l}\n`).join(''));
  const news = (lines: string[], prev?: ConsoleMark) => consoleNews(out(lines), prev, 'xl dmesg');
  const WRAPPED = /ring buffer wrapped \(or was cleared\) since the last run/;
  const ANEW = /console starts anew/;
  const AMBIGUOUS = /during a flood of repeated lines: where the last run stopped is ambiguous/;
  const flood = (n: number) => Array.from({ length: n }, () => '(XEN) flood');

  it('takes everything on the first run and remembers the buffer by hashes', () => {
    const lines = [...L(1, 22), 'r', 'r', 'r', 's'];
    const n = news(lines);
    expect([n.data.toString(), n.lineBase, n.newLines, n.note]).toEqual([out(lines).toString(), 0, 26, null]);
    expect(n.mark).toEqual({
      command: 'xl dmesg',
      lines: 26,
      first: h(L(1, 1)[0]!),
      last: lines.slice(-CONSOLE_CONTEXT).map(h),
      runs: [...L(5, 22).map((l) => [h(l), 1]), [h('r'), 3], [h('s'), 1]],
      whole: h(out(lines).toString()),
    });
    expect(CONSOLE_CONTEXT).toBe(20);
  });

  it('reads CRLF and a last line without its end as lines; nothing as no line', () => {
    const n = consoleNews(Buffer.from('ab\r\nb'), undefined, 'xm dmesg');
    expect([n.data.toString(), n.newLines, n.mark.command, n.mark.last]).toEqual(['ab\nb\n', 2, 'xm dmesg', [h('ab'), h('b')]]);
    const e = consoleNews(Buffer.alloc(0), undefined, 'xl dmesg');
    expect([e.data.length, e.newLines, e.mark.lines, e.mark.first, e.mark.last, e.mark.runs]).toEqual([0, 0, 0, '', [], []]);
    // a blank line in the middle is a line
    expect(consoleNews(Buffer.from('a\n\nb\n'), undefined, 'x').newLines).toBe(3);
    // after an empty read everything is new, and nothing is said
    const after = news(['a', 'b'], e.mark);
    expect([after.lineBase, after.newLines, after.note]).toEqual([0, 2, null]);
  });

  it('reads only what was added to a buffer that grew, nothing from one unchanged (a flood too)', () => {
    const a = news(L(1, 3));
    expect([news(L(1, 5), a.mark).lineBase, news(L(1, 5), a.mark).newLines, news(L(1, 5), a.mark).note]).toEqual([3, 2, null]);
    const same = news(L(1, 3), a.mark);
    expect([same.lineBase, same.newLines, same.note]).toEqual([3, 0, null]);
    const f = news(flood(30));
    const again = news(flood(30), f.mark);
    expect([again.lineBase, again.newLines, again.note]).toEqual([30, 0, null]);
    const more = news(flood(31), f.mark);
    expect([more.lineBase, more.newLines, more.note]).toEqual([30, 1, null]);
    // same first lines, one changed among those seen: not the same buffer; found by its last lines
    const changed = news([L(1, 1)[0]!, 'changed', ...L(3, 5)], a.mark);
    expect(changed.note).toMatch(WRAPPED);
  });

  it('finds the place after a wrap cut the first line, by the runs of the last lines', () => {
    const a = news(L(1, 10));
    const n = news(['ne 5', ...L(6, 15)], a.mark);
    expect([n.lineBase, n.newLines, n.note, n.data.toString()]).toEqual([6, 5, null, out(L(11, 15)).toString()]);
    // the first line whole: it is still not counted as a run (it may be cut)
    const w = news(L(5, 15), a.mark);
    expect([w.lineBase, w.newLines, w.note]).toEqual([6, 5, null]);
    // more than 20 runs remembered: the last 20 must all be there in order
    const big = news(L(1, 40));
    expect(big.mark.runs).toHaveLength(20);
    const n2 = news(['cut', ...L(25, 45)], big.mark);
    expect([n2.lineBase, n2.newLines, n2.note]).toEqual([17, 5, null]);
    // a line among them changed: not found
    const n3 = news(['cut', ...L(25, 30), 'other', ...L(32, 45)], big.mark);
    expect([n3.lineBase, n3.newLines]).toEqual([0, 22]);
    expect(n3.note).toMatch(WRAPPED);
  });

  it('says the buffer wrapped, or the host restarted (a Xen banner in the first 60 lines), when the place is gone', () => {
    const a = news(L(1, 10));
    const gone = news(L(50, 60), a.mark);
    expect([gone.lineBase, gone.newLines]).toEqual([0, 11]);
    expect(gone.note).toMatch(WRAPPED);
    expect(gone.note).toBe(
      'the hypervisor console ring buffer wrapped (or was cleared) since the last run: console lines written in between may be missing (a larger conring_size= on the Xen command line keeps more)',
    );
    const restart = news([...L(50, 108), '(XEN) Xen version 4.17.3 (Debian)', ...L(110, 120)], a.mark);
    expect(restart.note).toBe(
      'the hypervisor console starts anew (the host restarted since the last run?): console lines logged after the last run and before the restart are not in it',
    );
    expect(news([...L(50, 109), '(XEN) Xen version 4.17.3', ...L(110, 120)], a.mark).note).toMatch(WRAPPED);
    expect(news(['(XEN) Xen version x', ...L(50, 60)], a.mark).note).toMatch(WRAPPED);
    // the same first line: no restart, whatever else
    const b = news(['(XEN) Xen version 4.17.3', ...L(1, 10)]);
    expect(news(['(XEN) Xen version 4.17.3', ...L(20, 30)], b.mark).note).toMatch(WRAPPED);
    expect(news(['(XEN) Xen version 4.17.4', ...L(20, 30)], b.mark).note).toMatch(ANEW);
  });

  it('after a flood that wrapped the ring, reads from the earliest place that fits and says so', () => {
    const a = news(['x', ...L(1, 2), ...flood(5)]);
    // the flood went on and cut the buffer's start: how many of the flood were seen is not known
    const n = news(['(XEN) fl', ...flood(9), 'new'], a.mark);
    expect([n.lineBase, n.newLines]).toEqual([1, 10]);
    expect(n.note).toMatch(AMBIGUOUS);
    // the line before the flood still there: exact, the new flood lines and the new line
    const m = news(['cut', L(2, 2)[0]!, ...flood(9), 'new'], a.mark);
    expect([m.lineBase, m.newLines, m.note]).toEqual([7, 5, null]);
    // the remembered runs at two places (a pattern repeated): the earliest, and a note
    const p = news(['p', 'q', 'p', 'q']);
    const twice = news(['cut', 'p', 'q', 'p', 'q', 'p', 'q', 'n'], p.mark);
    expect([twice.lineBase, twice.note === null]).toEqual([3, false]);
    expect(twice.note).toMatch(AMBIGUOUS);
    // a run that grew since ends the place after the lines seen
    const g = news(['cut', 'p', 'q', 'q', 'q', 'n'], news(['a', 'p', 'q']).mark);
    expect([g.lineBase, g.newLines, g.note]).toEqual([3, 3, null]);
  });

  it('says in full why a place is ambiguous', () => {
    const p = news(['p', 'q', 'p', 'q']);
    expect(news(['cut', 'p', 'q', 'p', 'q', 'p', 'q', 'n'], p.mark).note).toBe(
      'the hypervisor console ring buffer wrapped during a flood of repeated lines: where the last run stopped is ambiguous, ' +
        'so it is read from the earliest place that fits (no new line is lost; some repeated lines may be counted again)',
    );
  });

  it('a run the buffer starts with is cut: exact only when it was one line seen and is one line now', () => {
    // seen once, one now: the line after it
    expect(news(['cut', 'p', 'n'], news(['x', 'p']).mark)).toMatchObject({ lineBase: 2, newLines: 1, note: null });
    // seen once, twice now: which of the two was seen is not known
    const b = news(['cut', 'p', 'p', 'n'], news(['x', 'p']).mark);
    expect([b.lineBase, b.newLines]).toEqual([1, 3]);
    expect(b.note).toMatch(AMBIGUOUS);
    // seen twice, once now (the other cut off): not known either
    const c = news(['cut', 'p', 'n'], news(['x', 'p', 'p']).mark);
    expect([c.lineBase, c.newLines]).toEqual([1, 2]);
    expect(c.note).toMatch(AMBIGUOUS);
  });

  it('the oldest remembered run may be cut only when the runs cover the whole buffer seen', () => {
    // 25 runs: the 20 remembered start with r twice, and the buffer held more before it
    const a = news([...L(1, 5), 'r', 'r', ...L(10, 28)]);
    expect(a.mark.runs![0]).toEqual([h('r'), 2]);
    expect(news(['cut', 'u', 'r', 'r', ...L(10, 28), 'n'], a.mark)).toMatchObject({ lineBase: 23, newLines: 1, note: null });
    expect(news(['cut', 'u', 'r', 'r', 'r', ...L(10, 28), 'n'], a.mark).note).toMatch(WRAPPED);
    // cut by the buffer's start: fits
    expect(news(['cut', 'r', ...L(10, 28), 'n'], a.mark)).toMatchObject({ lineBase: 21, newLines: 1, note: null });
  });

  it('counts a run inside the remembered ones exactly, the oldest one as possibly cut', () => {
    const h5 = news(['head', 'r', 'r', 's', 't']);
    // a run in the middle grown, shrunk, or grown at the buffer's start: not the same lines
    expect(news(['cut', 'head', 'r', 'r', 'r', 's', 't', 'n'], h5.mark).note).toMatch(WRAPPED);
    expect(news(['cut', 'head', 'r', 's', 't', 'n'], h5.mark).note).toMatch(WRAPPED);
    expect(news(['cut', 'r', 'r', 'r', 's', 't', 'n'], h5.mark).note).toMatch(WRAPPED);
    expect(news(['cut', 'head', 'r', 'r', 's', 't', 'n'], h5.mark)).toMatchObject({ lineBase: 6, newLines: 1, note: null });
    const a = news(['head', 'r', 'r', 's', 't']);
    // r twice, then s: found
    expect(news(['cut', 'r', 'r', 's', 't', 'n'], a.mark).lineBase).toBe(5);
    // r three times: a different run
    expect(news(['cut', 'u', 'r', 'r', 'r', 's', 't', 'n'], a.mark).note).toMatch(WRAPPED);
    // r once at the buffer's start (cut): fits
    const cut = news(['cut', 'r', 's', 't', 'n'], a.mark);
    expect([cut.lineBase, cut.note]).toEqual([4, null]);
    // the runs remembered cover the whole buffer: the oldest may have been longer than seen
    const whole = news(['r', 'r', 's', 't']);
    const w = news(['cut', 'u', 'r', 'r', 'r', 's', 't', 'n'], whole.mark);
    expect([w.lineBase, w.note]).toEqual([7, null]);
    const w2 = news(['cut', 'u', 'r', 's', 't', 'n'], whole.mark);
    expect(w2.note).toMatch(WRAPPED);
  });

  it('reads the marks of the older version (last lines only)', () => {
    const old = (lines: string[]): ConsoleMark => {
      const { runs: _r, whole: _w, ...m } = news(lines).mark;
      return m;
    };
    const a = old(L(1, 10));
    expect(news(L(1, 12), a)).toMatchObject({ lineBase: 10, newLines: 2, note: null });
    // grown, the last lines seen written again since: the place is where the buffer was, not the latest
    expect(news(['a', 'b', 'x', 'a', 'b'], old(['a', 'b']))).toMatchObject({ lineBase: 2, newLines: 3, note: null });
    const long = old(L(1, 25));
    expect(news([...L(1, 25), ...L(6, 25)], long)).toMatchObject({ lineBase: 25, newLines: 20, note: null });
    // not grown (its first line changed): the latest place
    expect(news(['other', ...L(2, 25), ...L(6, 25)], long)).toMatchObject({ lineBase: 45, newLines: 0, note: null });
    expect(news(['ne 5', ...L(6, 15)], a)).toMatchObject({ lineBase: 6, newLines: 5, note: null });
    // the latest place the last lines end at
    const r = old(['x', 'a', 'b']);
    expect(news(['cut', 'x', 'a', 'b', 'c', 'x', 'a', 'b', 'd'], r)).toMatchObject({ lineBase: 8, newLines: 1, note: null });
    // away from the buffer's start, a part of them is not enough: the place where they end in full
    expect(news(['cut', 'a', 'b', 'c', 'x', 'a', 'b', 'd'], r)).toMatchObject({ lineBase: 7, newLines: 1, note: null });
    // cut at the buffer's start: a part of the last lines is enough there, not elsewhere
    expect(news(['b', 'c'], r)).toMatchObject({ lineBase: 1, newLines: 1 });
    expect(news(['q', 'b', 'c'], r)).toMatchObject({ lineBase: 2, newLines: 1 });
    expect(news(['q', 'q', 'b', 'c'], r).note).toMatch(WRAPPED);
    // the same first line, the lines at the old end changed: not grown, searched
    expect(news(['x', 'a', 'z', 'x', 'a', 'b', 'n'], r)).toMatchObject({ lineBase: 6, newLines: 1 });
    expect(news(['x', 'a', 'z', 'a', 'b', 'n'], r).note).toMatch(WRAPPED);
    expect(news(['x', 'q', 'q', 'q', 'q'], r).note).toMatch(WRAPPED);
    expect(news(L(1, 3), { command: 'xl dmesg', lines: 0, first: '', last: [] })).toMatchObject({ lineBase: 0, newLines: 3, note: null });
    // a mark with lines but no runs (hand-made): the whole buffer is new
    expect(news(L(1, 3), { ...old(L(1, 2)), runs: [], whole: 'x' })).toMatchObject({ lineBase: 0, newLines: 3, note: null });
  });
});
