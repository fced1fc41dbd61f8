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
import { hash53 } from '../src/engine/groups.js';
import { LiteralSet } from '../src/engine/prefilter.js';
import { textSize } from '../src/sources/inputs.js';
import { MAX_SEEN, SeenLines, signature } from '../src/engine/seen-lines.js';
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

describe('SeenLines (the signatures of stamped lines that made hits)', () => {
  /** The table's model: a Map of signature to first sight, as the engine kept them before. */
  type Sight = { host: string | null; time: number | null; source: string };
  const op = fc.oneof(
    fc.record({
      kind: fc.constant('set' as const),
      sig: fc.oneof(fc.nat(40), fc.constantFrom(0, 2 ** 32, 2 ** 53 - 1, 2 ** 40 + 7, 1024, 2048)),
      host: fc.constantFrom(null, 'xen07', 'xen08'),
      time: fc.constantFrom(null, 0, 1_700_000_000_000, 5),
      source: fc.constantFrom('kern.log', 'dmesg.txt', 'console.log'),
    }),
    fc.record({
      kind: fc.constant('update' as const),
      sig: fc.nat(40),
      host: fc.constantFrom(null, 'xen07', 'xen09'),
      time: fc.constantFrom(null, 7, 1_700_000_000_500),
    }),
    fc.constant({ kind: 'clear' as const }),
  );

  it('answers get, sameSource and size as a Map does', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const table = new SeenLines();
        const model = new Map<number, Sight>();
        for (const o of ops) {
          if (o.kind === 'set') {
            table.set(o.sig, o.host, o.time, o.source);
            model.set(o.sig, { host: o.host, time: o.time, source: o.source });
          } else if (o.kind === 'update') {
            const m = model.get(o.sig);
            if (!m) continue;
            table.update(o.sig, o.host, o.time);
            if (m.host === null && o.host !== null) m.host = o.host;
            if (m.time === null && o.time !== null) m.time = o.time;
          } else {
            table.clear();
            model.clear();
          }
          expect(table.size).toBe(model.size);
        }
        for (const sig of [...Array(41).keys(), 0, 2 ** 32, 2 ** 53 - 1, 2 ** 40 + 7, 1024, 2048]) {
          expect(table.get(sig), `sig ${sig}`).toEqual(model.get(sig));
          const m = model.get(sig);
          for (const src of ['kern.log', 'dmesg.txt'])
            expect(table.sameSource(sig, src)).toBe(m === undefined ? undefined : m.source === src);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('keeps MAX_SEEN entries apart (the table grows), and forgets them all on clear', () => {
    const table = new SeenLines();
    const sig = (i: number) => hash53(`line ${i}`);
    for (let i = 0; i < MAX_SEEN; i++) table.set(sig(i), i % 3 === 0 ? null : `h${i % 5}`, i % 7 === 0 ? null : i * 1000, `in${i % 2}`);
    expect(table.size).toBe(MAX_SEEN);
    for (let i = 0; i < MAX_SEEN; i += 997) {
      expect(table.get(sig(i))).toEqual({
        host: i % 3 === 0 ? null : `h${i % 5}`,
        time: i % 7 === 0 ? null : i * 1000,
        source: `in${i % 2}`,
      });
    }
    expect(table.get(hash53('line -1'))).toBeUndefined();
    table.clear();
    expect(table.size).toBe(0);
    expect(table.get(sig(0))).toBeUndefined();
  });

  it('signs the same rule, stamp and message alike, and any difference apart', () => {
    const part = fc.tuple(
      fc.constantFrom('hung-task', 'bridge-port-overload', 'hung-tas'),
      fc.constantFrom(117, 120),
      fc.oneof(fc.constantFrom(0, 812363.123456, 812363.123457, 1.5, 1764547200123), fc.double({ noNaN: true, min: 0 })),
      fc.constantFrom('INFO: task x blocked', 'INFO: task y blocked', '', 'k\u00e9rnel'),
    );
    fc.assert(
      fc.property(part, part, (a, b) => {
        const same = a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];
        expect(signature(...a) === signature(...b)).toBe(same);
        expect(Number.isSafeInteger(signature(...a))).toBe(true);
      }),
      { numRuns: RUNS * 5 },
    );
  });
});
