/**
 * The prefilter (engine/prefilter.ts) against the obvious search: every offset where some literal
 * starts, case-insensitively, whatever the buffer's size (one chain or four interleaved quarters),
 * where the quarters are cut, and wherever the literals sit (across quarter boundaries, at the very
 * start and end, overlapping each other). `ownersIn` must name the same owners whether it answers
 * from the last search's hits or searches the line itself.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LiteralSet } from '../src/engine/prefilter.js';

const RUNS = 200 * Number(process.env.XENDOCTOR_FUZZ_RUNS ?? 1);

/** Every start of every literal in buf[from, end) (ASCII case folded), in order, once each. */
function naiveStarts(buf: Buffer, from: number, end: number, literals: string[]): number[] {
  const hay = buf.toString('latin1', 0, end).toLowerCase();
  const out = new Set<number>();
  for (const l of literals) {
    const needle = Buffer.from(l, 'utf8').toString('latin1').toLowerCase();
    for (let p = hay.indexOf(needle, from); p >= 0; p = hay.indexOf(needle, p + 1)) out.add(p);
  }
  return [...out].sort((a, b) => a - b);
}

function naiveOwners(buf: Buffer, from: number, end: number, literals: [string, number][]): number[] {
  const hay = buf.toString('latin1', from, end).toLowerCase();
  const owners = literals.filter(([l]) => hay.includes(Buffer.from(l, 'utf8').toString('latin1').toLowerCase())).map(([, o]) => o);
  return [...new Set(owners)].sort((a, b) => a - b);
}

const word = fc.stringMatching(/^[a-zA-Z :()#.-]{5,24}$/);
/** Text made of the literals (in random case), their fragments and random bytes, long enough to split in quarters at times. */
const haystack = (literals: string[]) =>
  fc
    .array(
      fc.oneof(
        fc.constantFrom(...literals).chain((l) => fc.constantFrom(l, l.toUpperCase(), l.toLowerCase())),
        fc.constantFrom(...literals).map((l) => l.slice(0, Math.max(1, l.length - 1))),
        fc.uint8Array({ minLength: 0, maxLength: 400 }).map((b) => Buffer.from(b).toString('latin1')),
        fc.constantFrom('\n', ' ', 'error ', 'the quick brown fox jumps over the lazy dog\n'),
      ),
      { maxLength: 60 },
    )
    .map((parts) => Buffer.from(parts.join(''), 'latin1'));

describe('LiteralSet', () => {
  it('finds every start of every literal, as a plain search does', () => {
    fc.assert(
      fc.property(
        fc
          .uniqueArray(word, { minLength: 1, maxLength: 12 })
          .chain((lits) => fc.tuple(fc.constant(lits), haystack(lits), fc.nat(), fc.nat())),
        ([lits, buf, a, b]) => {
          const set = new LiteralSet(lits.map((l, i) => [l, i]));
          const from = buf.length === 0 ? 0 : a % buf.length;
          const end = from + (buf.length - from === 0 ? 0 : b % (buf.length - from + 1));
          const hits = set.find(buf, from, end);
          const got = [...new Set(Array.from(hits.at.subarray(0, hits.n)))];
          expect(got).toEqual(naiveStarts(buf, from, end, lits));
          // and in increasing order, as lines.ts walks them
          for (let i = 1; i < hits.n; i++) expect(hits.at[i]!).toBeGreaterThanOrEqual(hits.at[i - 1]!);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('names the same owners from the last search as by searching each line', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(word, { minLength: 1, maxLength: 12 }).chain((lits) => fc.tuple(fc.constant(lits), haystack(lits))),
        ([lits, buf]) => {
          const pairs: [string, number][] = lits.map((l, i) => [l, i % 4]);
          const set = new LiteralSet(pairs);
          const other = new LiteralSet(pairs);
          set.find(buf, 0, buf.length);
          for (let pos = 0; pos < buf.length;) {
            let nl = buf.indexOf(10, pos);
            if (nl < 0) nl = buf.length;
            const fromHits = new Set<number>();
            const searched = new Set<number>();
            set.ownersIn(buf, pos, nl, fromHits);
            other.ownersIn(buf, pos, nl, searched);
            const want = naiveOwners(buf, pos, nl, pairs);
            expect([...fromHits].sort((x, y) => x - y)).toEqual(want);
            expect([...searched].sort((x, y) => x - y)).toEqual(want);
            pos = nl + 1;
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('finds a literal at every offset of a buffer (every place a quarter may be cut)', () => {
    const lits = ['Out of memory: Kill', 'blocked for more than', 'ENOSPC', 'error'];
    const set = new LiteralSet(lits.map((l, i) => [l, i]));
    for (const size of [1024, 1025, 1026, 1027, 2051]) {
      for (const lit of lits) {
        for (let p = 0; p + lit.length <= size; p++) {
          const buf = Buffer.alloc(size, 'the lazy dog ');
          buf.write(lit.toUpperCase(), p, 'latin1');
          const hits = set.find(buf, 0, size);
          const got = Array.from(hits.at.subarray(0, hits.n));
          if (got.length !== 1 || got[0] !== p) expect({ size, lit, p, got }).toEqual({ size, lit, p, got: [p] });
        }
      }
    }
  });

  it('finds the first literal with next(), as find() does', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(word, { minLength: 1, maxLength: 12 }).chain((lits) => fc.tuple(fc.constant(lits), haystack(lits))),
        ([lits, buf]) => {
          const set = new LiteralSet(lits.map((l, i) => [l, i]));
          const all = naiveStarts(buf, 0, buf.length, lits);
          expect(set.next(buf, 0, buf.length)).toBe(all.length > 0 ? all[0] : -1);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
