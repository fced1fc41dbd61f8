/**
 * The prefilter (engine/prefilter.ts), case by case: what the property tests (test/prefilter.test.ts,
 * one fresh set and one search each) leave open, found by the mutation run (docs/mutation.md): a set
 * searched again (its lists reused), `holds` (the line test of sources/lines.ts), lines outside the
 * last search, `next` from an offset, more hits than the first list holds, and the two sets (long
 * and short literals) side by side.
 */
import { describe, expect, it } from 'vitest';
import { Hits, LiteralSet } from '../src/engine/prefilter.js';

const starts = (h: Hits) => Array.from(h.at.subarray(0, h.n));

/** Every start of every literal in buf[from, end) (ASCII case folded), in order, once each. */
function naive(buf: Buffer, from: number, end: number, literals: string[]): number[] {
  const hay = buf.toString('latin1', 0, end).toLowerCase();
  const out = new Set<number>();
  for (const l of literals) for (let p = hay.indexOf(l.toLowerCase(), from); p >= 0; p = hay.indexOf(l.toLowerCase(), p + 1)) out.add(p);
  return [...out].sort((a, b) => a - b);
}

/** A buffer of filler with each text written at its offset. */
function place(size: number, at: [number, string][]): Buffer {
  const buf = Buffer.alloc(size, 'the lazy dog ');
  for (const [p, t] of at) buf.write(t, p, 'latin1');
  return buf;
}

describe('Hits', () => {
  it('grows past its first 256 positions, keeping them all in order', () => {
    const h = new Hits();
    for (let i = 0; i < 1000; i++) h.push(i * 3);
    expect(h.n).toBe(1000);
    expect(starts(h)).toEqual(Array.from({ length: 1000 }, (_, i) => i * 3));
    const g = new Hits();
    g.push(-1);
    g.append(h);
    expect(g.n).toBe(1001);
    expect(starts(g).slice(0, 3)).toEqual([-1, 0, 3]);
    expect(starts(g).at(-1)).toBe(2997);
  });
});

describe('LiteralSet', () => {
  it('refuses a literal shorter than 3 bytes', () => {
    expect(() => new LiteralSet([['ab', 0]])).toThrow('literal shorter than 3 bytes');
    expect(() => new LiteralSet([['abc', 0]])).not.toThrow();
  });

  it('with no literal finds nothing, holds nothing, names no owner', () => {
    const set = new LiteralSet([]);
    const buf = Buffer.from('anything at all');
    expect(set.find(buf, 0, buf.length).n).toBe(0);
    expect(set.next(buf, 0, buf.length)).toBe(-1);
    expect(set.holds(buf, 0, buf.length)).toBe(false);
    const owners = new Set<number>();
    set.ownersIn(buf, 0, buf.length, owners);
    expect(owners.size).toBe(0);
  });

  it('finds more hits than a list first holds, in a small block and a large one', () => {
    const set = new LiteralSet([['error', 0]]);
    for (const sep of [' ', '\n', ' x ']) {
      const text = Buffer.from(`ERROR${sep}`.repeat(700), 'latin1');
      const want = naive(text, 0, text.length, ['error']);
      expect(want.length).toBe(700);
      expect(starts(set.find(text, 0, text.length))).toEqual(want);
      // from a small block (one chain): 300 hits in under 1024 bytes
      const small = Buffer.from('abc'.repeat(340), 'latin1');
      const s3 = new LiteralSet([['abc', 1]]);
      expect(starts(s3.find(small, 0, small.length))).toEqual(naive(small, 0, small.length, ['abc']));
    }
  });

  it('a set searched again gives the new search only (its lists are reused), long and short literals, small and large blocks', () => {
    const lits = ['blocked for more than', 'oom', 'error'];
    const set = new LiteralSet(lits.map((l, i) => [l, i]));
    const a = place(3000, [
      [10, 'ERROR'],
      [900, 'blocked for more than'],
      [1500, 'OOM'],
      [2500, 'error'],
      [2990, 'oom'],
    ]);
    const b = place(3000, [
      [40, 'oom'],
      [1000, 'Error'],
      [2200, 'Blocked For More Than'],
    ]);
    const c = place(600, [[5, 'oom']]);
    for (const [buf, from, end] of [
      [a, 0, 3000],
      [b, 0, 3000],
      [a, 5, 2995],
      [c, 0, 600],
      [b, 0, 3000],
      [c, 0, 600],
      [a, 0, 3000],
    ] as [Buffer, number, number][]) {
      expect(starts(set.find(buf, from, end))).toEqual(naive(buf, from, end, lits));
    }
  });

  it('next: the first literal at or after `from`, not one before it nor one running past `end`', () => {
    const lits = ['disk full', 'oops'];
    const set = new LiteralSet(lits.map((l, i) => [l, i]));
    const buf = place(200, [
      [10, 'OOPS'],
      [50, 'disk full'],
      [120, 'oops'],
    ]);
    expect(set.next(buf, 0, 200)).toBe(10);
    expect(set.next(buf, 10, 200)).toBe(10);
    expect(set.next(buf, 11, 200)).toBe(50);
    expect(set.next(buf, 51, 200)).toBe(120);
    expect(set.next(buf, 121, 200)).toBe(-1);
    expect(set.next(buf, 0, 13)).toBe(-1);
    expect(set.next(buf, 0, 14)).toBe(10);
    expect(set.next(buf, 11, 58)).toBe(-1);
    expect(set.next(buf, 11, 59)).toBe(50);
    // the short set finds the earlier literal, the long one a later one, and the other way round
    expect(set.next(buf, 40, 200)).toBe(50);
    const other = place(200, [
      [10, 'disk full'],
      [50, 'oops'],
    ]);
    expect(set.next(other, 0, 200)).toBe(10);
    expect(set.next(other, 11, 200)).toBe(50);
  });

  it('holds: whether a line holds a literal, from the last search or searching the line', () => {
    const lits = ['blocked for more than', 'oom', 'error'];
    const set = new LiteralSet(lits.map((l, i) => [l, i]));
    const fresh = new LiteralSet(lits.map((l, i) => [l, i]));
    for (const size of [300, 3000]) {
      const buf = place(size, [
        [20, 'ERROR'],
        [200, 'blocked for more than'],
        [size - 40, 'oom'],
        [size - 3, 'err'],
      ]);
      for (let i = 99; i < size; i += 100) buf[i] = 10;
      set.find(buf, 0, size);
      for (let from = 0; from < size; from += 100) {
        for (const end of [from + 1, from + 23, from + 25, from + 99, Math.min(size, from + 221)]) {
          const want = naive(buf, from, end, lits).some((p) =>
            lits.some((l) => p + l.length <= end && buf.toString('latin1', p, p + l.length).toLowerCase() === l),
          );
          expect(set.holds(buf, from, end), `${size} ${from}-${end}`).toBe(want);
          expect(fresh.holds(buf, from, end), `${size} ${from}-${end} (searched)`).toBe(want);
        }
      }
      // a literal cut by the line's end (a line cut at MAX_LINE): not held
      expect(set.holds(buf, 200, 220)).toBe(false);
      expect(set.holds(buf, 200, 221)).toBe(true);
      expect(set.holds(buf, 195, 215)).toBe(false);
      // the line at the very end: 'err' is no literal
      expect(set.holds(buf, size - 10, size)).toBe(false);
    }
  });

  it('holds and ownersIn: a line outside the last search (another buffer, before it, after it) is searched', () => {
    const lits: [string, number][] = [
      ['error', 1],
      ['blocked for more than', 2],
      ['oom', 3],
    ];
    const set = new LiteralSet(lits);
    for (const size of [400, 3000]) {
      const buf = place(size, [
        [10, 'error'],
        [size / 2, 'OOM'],
        [size - 30, 'blocked for more than'],
      ]);
      const copy = Buffer.from(buf);
      set.find(buf, 100, size - 100);
      const owners = (b: Buffer, from: number, end: number) => {
        const out = new Set<number>();
        set.ownersIn(b, from, end, out);
        return [...out].sort();
      };
      expect(set.holds(buf, 0, 50)).toBe(true);
      expect(owners(buf, 0, 50)).toEqual([1]);
      expect(set.holds(buf, size - 50, size)).toBe(true);
      expect(owners(buf, size - 50, size)).toEqual([2]);
      expect(set.holds(buf, size / 2 - 5, size / 2 + 5)).toBe(true);
      expect(owners(buf, size / 2 - 5, size / 2 + 5)).toEqual([3]);
      // the same bytes in another buffer: searched, not answered from the hits of `buf`
      copy.write('xxx', size / 2, 'latin1');
      expect(set.holds(copy, size / 2 - 5, size / 2 + 5)).toBe(false);
      expect(owners(copy, size / 2 - 5, size / 2 + 5)).toEqual([]);
      copy.write('error', 300, 'latin1');
      expect(owners(copy, 290, 320)).toEqual([1]);
      expect(set.holds(copy, 290, 320)).toBe(true);
    }
  });

  it('ownersIn names every owner of every literal of a line, a literal shared by owners once for each', () => {
    const set = new LiteralSet([
      ['error', 1],
      ['ERROR', 2],
      ['error', 1],
      ['blocked for more than', 3],
      ['oom', 4],
      ['oom-killer', 5],
    ]);
    const buf = place(2000, [
      [100, 'Error oom-killer'],
      [1500, 'BLOCKED FOR MORE THAN'],
    ]);
    for (let i = 99; i < 2000; i += 100) buf[i] = 10;
    set.find(buf, 0, 2000);
    const got = (from: number, end: number, s = set) => {
      const out = new Set<number>();
      s.ownersIn(buf, from, end, out);
      return [...out].sort();
    };
    expect(got(100, 199)).toEqual([1, 2, 4, 5]);
    expect(got(100, 112)).toEqual([1, 2, 4]);
    expect(got(1500, 1599)).toEqual([3]);
    expect(got(1500, 1520)).toEqual([]);
    expect(got(200, 1499)).toEqual([]);
    const fresh = new LiteralSet([
      ['error', 1],
      ['ERROR', 2],
      ['blocked for more than', 3],
      ['oom', 4],
      ['oom-killer', 5],
    ]);
    expect(got(100, 199, fresh)).toEqual([1, 2, 4, 5]);
    expect(got(1500, 1520, fresh)).toEqual([]);
  });

  it('a block searched from an offset: no literal before `from`, however the quarters are cut', () => {
    const set = new LiteralSet([['error', 0]]);
    for (const from of [1, 3, 4, 5, 500, 997, 998, 999, 1000]) {
      // a literal ending at every place around `from`
      for (let at = Math.max(0, from - 6); at <= from + 1; at++) {
        const buf = place(from + 2100, [[at, 'error']]);
        const got = starts(set.find(buf, from, buf.length));
        expect(got, `${from} ${at}`).toEqual(at >= from ? [at] : []);
      }
    }
  });

  it('a dense block (a literal every 3 bytes): each start once, in order, whatever its size', () => {
    const set = new LiteralSet([['abc', 0]]);
    for (let size = 1024; size <= 1040; size++) {
      for (const shifted of ['', 'x', 'xy']) {
        const buf = Buffer.from((shifted + 'abc'.repeat(400)).slice(0, size), 'latin1');
        expect(starts(set.find(buf, 0, size)), `${size} ${shifted}`).toEqual(naive(buf, 0, size, ['abc']));
      }
    }
  });

  it('quarters searched at different speeds: the fast one does not run into the next', () => {
    const set = new LiteralSet([['error', 0]]);
    for (const size of [1024, 2048, 4000]) {
      for (const fast of [0, 1, 2, 3]) {
        // the fast quarter skips 3 bytes a step, the others crawl over literals
        const q = Math.floor(size / 4);
        const text = Array.from({ length: 4 }, (_, k) => (k === fast ? 'z'.repeat(q) : 'error'.repeat(Math.ceil(q / 5)).slice(0, q))).join(
          '',
        );
        const buf = Buffer.from(text.padEnd(size, 'z'), 'latin1');
        expect(starts(set.find(buf, 0, size)), `${size} ${fast}`).toEqual(naive(buf, 0, size, ['error']));
      }
    }
  });

  it('a window that ends as a literal does and starts as one, but is none, is no hit', () => {
    const set = new LiteralSet([['errors', 0]]);
    for (const size of [200, 2000]) {
      const buf = place(size, [
        [50, 'erXors'],
        [size - 100, 'ERxORS'],
        [size / 2, 'mirrors'],
      ]);
      expect(starts(set.find(buf, 0, size))).toEqual([]);
      expect(set.next(buf, 0, size)).toBe(-1);
    }
    // 'irror' ends as 'error' does, but does not start as it
    const short = new LiteralSet([['error', 0]]);
    const buf = Buffer.from('mirror mirror on the wall');
    expect(starts(short.find(buf, 0, buf.length))).toEqual([]);
    expect(short.holds(buf, 0, buf.length)).toBe(false);
  });

  it('literals sharing their last bytes, or a block at another distance from their end', () => {
    // abcde and xycde share the window end cde (one bucket); xyzabc and abcxyz share abc at distances 0 and 3
    for (const lits of [
      ['abcde', 'xycde'],
      ['xycde', 'abcde'],
      ['xyzabc', 'abcxyz'],
      ['abcxyz', 'xyzabc'],
    ]) {
      const set = new LiteralSet(lits.map((l, i) => [l, i]));
      for (const size of [100, 2000]) {
        const buf = place(size, [
          [10, lits[0]!],
          [40, lits[1]!],
          [size - 20, lits[0]!.toUpperCase()],
          [size - 10, lits[1]!],
        ]);
        expect(starts(set.find(buf, 0, size)), lits.join()).toEqual([10, 40, size - 20, size - 10]);
        expect(set.next(buf, 20, size)).toBe(40);
        const owners = new Set<number>();
        set.ownersIn(buf, 0, size, owners);
        expect([...owners].sort()).toEqual([0, 1]);
      }
    }
  });

  it('ownersIn: a literal that begins and ends as another does names only its own owner', () => {
    const set = new LiteralSet([
      ['abcde', 1],
      ['aXcde', 2],
      ['aYYde', 3],
    ]);
    for (const size of [100, 2000]) {
      const buf = place(size, [[30, 'abcde']]);
      buf[size - 1] = 10;
      set.find(buf, 0, size);
      const fromHits = new Set<number>();
      set.ownersIn(buf, 0, size - 1, fromHits);
      expect([...fromHits]).toEqual([1]);
      const searched = new Set<number>();
      new LiteralSet([
        ['abcde', 1],
        ['aXcde', 2],
        ['aYYde', 3],
      ]).ownersIn(buf, 0, size - 1, searched);
      expect([...searched]).toEqual([1]);
    }
  });

  it('a literal of 8 bytes, beside shorter and longer ones: found once', () => {
    const lits = ['eightchr', 'seven77', 'ninechars'];
    const set = new LiteralSet(lits.map((l, i) => [l, i]));
    for (const size of [100, 2000]) {
      const buf = place(size, [
        [5, 'eightchr'],
        [30, 'seven77'],
        [60, 'ninechars'],
        [size - 9, 'EIGHTCHR'],
      ]);
      expect(starts(set.find(buf, 0, size))).toEqual([5, 30, 60, size - 9]);
    }
  });

  it('hits of the long and the short literals merged in order, ties kept', () => {
    const set = new LiteralSet([
      ['short', 0],
      ['a much longer literal', 1],
      ['shorter than', 2],
    ]);
    for (const size of [300, 3000]) {
      const buf = place(size, [
        [3, 'a much longer literal'],
        [30, 'short'],
        [50, 'shorter than'],
        [80, 'a much longer literal'],
        [120, 'short'],
        [size - 30, 'short'],
      ]);
      const want = naive(buf, 0, size, ['short', 'a much longer literal', 'shorter than']);
      // 'shorter than' starts with 'short': the same offset from both sets, twice
      const got = starts(set.find(buf, 0, size));
      expect(got).toEqual([3, 30, 50, 50, 80, 120, size - 30]);
      expect([...new Set(got)]).toEqual(want);
    }
  });

  it('holds: a literal at offset 0 of a buffer not searched', () => {
    const set = new LiteralSet([['error', 0]]);
    const buf = Buffer.from('error at the start');
    expect(set.holds(buf, 0, buf.length)).toBe(true);
    expect(set.holds(buf, 0, 5)).toBe(true);
    expect(set.holds(buf, 1, buf.length)).toBe(false);
  });

  it('holds after a search with fewer hits than the one before: no hit left from the earlier search', () => {
    const set = new LiteralSet([['error', 0]]);
    const buf = place(200, [
      [10, 'error'],
      [20, 'error'],
      [30, 'error'],
    ]);
    expect(starts(set.find(buf, 0, 200))).toEqual([10, 20, 30]);
    expect(starts(set.find(buf, 15, 200))).toEqual([20, 30]);
    // the line after the last literal holds none (the first search's third hit, 30, is not the second's)
    expect(set.holds(buf, 36, 50)).toBe(false);
    expect(set.holds(buf, 30, 50)).toBe(true);
  });

  it('holds at a hit of the short set that starts as a long literal does: the long set has no bucket there', () => {
    const set = new LiteralSet([
      ['blocked for more than', 0],
      ['blo', 1],
    ]);
    const buf = Buffer.from('a blot on the landscape, and more text after it');
    expect(starts(set.find(buf, 0, buf.length))).toEqual([2]);
    expect(set.holds(buf, 0, buf.length)).toBe(true);
    expect(set.holds(buf, 3, buf.length)).toBe(false);
    // a long literal cut by the line's end, where the short set knows the first two bytes (blx) but not the window
    const cut = new LiteralSet([
      ['blocked for more than', 0],
      ['blx', 1],
    ]);
    const line = Buffer.from('task blocked for more than 120 seconds');
    expect(starts(cut.find(line, 0, line.length))).toEqual([5]);
    expect(cut.holds(line, 0, line.length)).toBe(true);
    expect(cut.holds(line, 0, 5 + 20)).toBe(false);
  });
});
