/**
 * The read path's shortcuts (sources/lines.ts, engine/prefilter.ts, pipeline/scan-inputs.ts) held
 * to the plain reading: what a shortcut answers from work already done must be what searching
 * again would answer.
 */
import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LiteralSet } from '../src/engine/prefilter.js';
import { textSize } from '../src/sources/inputs.js';
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

describe('gzip input', () => {
  // The clock survey reads a compressed file within its budget (XENDOCTOR_SURVEY_MAX) of inflated
  // bytes and stops reading when it inflates past it; the scan then reads the file again. Stopping
  // once left the gunzip feeder waiting for a reader that never came: the run ended with no output
  // and exit status 0.
  it('scans a gzip file whose inflated text outgrows the clock survey (a Xen line in it)', () => {
    const dir = tmp();
    const file = join(dir, 'kern.log.gz');
    const lines = ['Oct 20 00:00:00 xen07 kernel: [0.000000] (XEN) parameter "dom0maxvcpus" unknown!'];
    for (let i = 0; i < 20_000; i++)
      lines.push(`Oct 20 00:0${i % 10}:00 xen07 kernel: [${1000 + i}.000000] xenbr0: port 2(vif${i % 40}.0) entered disabled state`);
    lines.push(HUNG);
    writeFileSync(file, gzipSync(lines.join('\n') + '\n'));
    const r = xd(['scan', '--format', 'json', '--quiet', '--year', '2026', file], undefined, {
      env: { ...process.env, TZ: 'UTC', NO_COLOR: '1', XENDOCTOR_SURVEY_MAX: '100000' },
    });
    expect(r.code).toBe(2);
    expect(
      json(r)
        .findings.map((f) => [f.rule, f.count])
        .sort(),
    ).toEqual([
      ['blkback-hung-task', 1],
      ['xen-unknown-boot-parameter', 1],
    ]);
    expect(json(r).inputs[0]!.lines).toBe(20_002);
  });
});

describe('textSize (the clock survey budgets a gzip file by the text it inflates to)', () => {
  it('reads the inflated size from a gzip trailer, and the size of anything else', () => {
    const dir = tmp();
    const text = Buffer.from('Oct 20 00:00:00 xen07 kernel: [1.000000] xenbr0: port 2(vif1.0) entered disabled state\n'.repeat(5000));
    const gz = gzipSync(text);
    writeFileSync(join(dir, 'a.gz'), gz);
    writeFileSync(join(dir, 'a.log'), text);
    // a gzip file cut short: its last four bytes are no trailer (the survey's own guard still holds)
    writeFileSync(join(dir, 'cut.gz'), gz.subarray(0, 40));
    expect(textSize(join(dir, 'a.gz'), gz.length)).toBe(text.length);
    expect(textSize(join(dir, 'a.log'), text.length)).toBe(text.length);
    expect(textSize(join(dir, 'cut.gz'), 40)).toBeGreaterThanOrEqual(40);
    expect(textSize(join(dir, 'missing.gz'), 1234)).toBe(1234);
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
