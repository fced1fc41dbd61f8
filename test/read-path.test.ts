/**
 * The read path's shortcuts (sources/lines.ts, engine/prefilter.ts, pipeline/scan-inputs.ts) held
 * to the plain reading: what a shortcut answers from work already done must be what searching
 * again would answer.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LiteralSet } from '../src/engine/prefilter.js';
import { json, tmp, xd } from './helpers.js';

const RUNS = 200 * Number(process.env.XENDOCTOR_FUZZ_RUNS ?? 1);

const HUNG = 'Oct 20 03:14:17 xen07 kernel: [812363.123456] INFO: task blkback.103.xvda:2163 blocked for more than 120 seconds.';

describe('line reader', () => {
  // A wrapped rest ("    allocate buffer") is tried joined with the line before; the joined text
  // holds a literal ("cannot ") that neither line holds alone. Searching the joined text must not
  // overwrite the list of the block's hits that the reader is still walking: the hung-task line
  // after it was once lost that way.
  it.each([
    ['a literal only in the joined text', 'foo: cannot\n    allocate buffer'],
    ['a literal in the line before', 'foo: cannot allocate\n    a buffer'],
    ['no literal at all', 'foo: nothing\n    allocate buffer'],
  ])('finds the line after a wrapped rest (%s)', (_name, wrapped) => {
    const dir = tmp();
    const file = join(dir, 'kern.log');
    const [head, rest] = wrapped.split('\n');
    writeFileSync(file, `Oct 20 03:14:10 xen07 kernel: [812360.000000] ${head}\n${rest}\n${HUNG}\n`);
    const r = xd(['scan', '--format', 'json', '--quiet', '--year', '2026', file]);
    expect(json(r).findings.map((f) => [f.rule, f.count])).toEqual([['blkback-hung-task', 1]]);
  });
});

const word = fc.stringMatching(/^[a-zA-Z :()#.-]{5,24}$/);

describe('LiteralSet.holds', () => {
  it('answers from the last search as next() does by searching the line', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(word, { minLength: 1, maxLength: 12 }).chain((lits) =>
          fc.tuple(
            fc.constant(lits),
            fc
              .array(
                fc.oneof(
                  fc.constantFrom(...lits).chain((l) => fc.constantFrom(l, l.toUpperCase())),
                  fc.constantFrom(...lits).map((l) => l.slice(0, Math.max(1, l.length - 1))),
                  fc.constantFrom('\n', ' ', 'the quick brown fox\n'),
                ),
                { maxLength: 60 },
              )
              .map((p) => Buffer.from(p.join(''), 'latin1')),
            fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 20 }),
          ),
        ),
        ([lits, buf, ranges]) => {
          const pairs: [string, number][] = lits.map((l, i) => [l, i]);
          const set = new LiteralSet(pairs);
          const other = new LiteralSet(pairs);
          set.find(buf, 0, buf.length);
          // every line, and ranges cut anywhere (a line cut at MAX_LINE ends inside a literal)
          const asked: [number, number][] = [];
          for (let pos = 0; pos < buf.length;) {
            let nl = buf.indexOf(10, pos);
            if (nl < 0) nl = buf.length;
            asked.push([pos, nl]);
            pos = nl + 1;
          }
          for (const [a, b] of ranges) {
            const from = buf.length === 0 ? 0 : a % buf.length;
            asked.push([from, from + (b % (buf.length - from + 1))]);
          }
          for (const [from, end] of asked) {
            expect(set.holds(buf, from, end), `[${from}, ${end})`).toBe(other.next(buf, from, end) >= 0);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });
});
