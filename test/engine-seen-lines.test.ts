/**
 * engine/seen-lines.ts: the table of stamped lines that made hits (a Map's behaviour over typed
 * arrays) and their signatures. Moved from test/read-path.test.ts, which also runs the binary, so that
 * mutation testing (XD_MUTATE=engine-seen-lines) runs these alone.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hash53 } from '../src/engine/groups.js';
import { MAX_SEEN, SeenLines, signature } from '../src/engine/seen-lines.js';

const RUNS = 200 * Number(process.env.XENDOCTOR_FUZZ_RUNS ?? 1);

describe('SeenLines (the signatures of stamped lines that made hits)', () => {
  /** The table's model: a Map of signature to first sight, as the engine kept them before. */
  type Sight = { host: string | null; time: number | null; source: string };
  // sets and updates weigh more than clears, so that tables hold entries when they are updated
  const op = fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant('set' as const),
        sig: fc.oneof(fc.nat(40), fc.constantFrom(0, 2 ** 32, 2 ** 53 - 1, 2 ** 40 + 7, 1024, 2048)),
        host: fc.constantFrom(null, 'xen07', 'xen08'),
        time: fc.constantFrom(null, 0, 1_700_000_000_000, 5),
        source: fc.constantFrom('kern.log', 'dmesg.txt', 'console.log'),
      }),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant('update' as const),
        sig: fc.nat(40),
        host: fc.constantFrom(null, 'xen07', 'xen09'),
        time: fc.constantFrom(null, 7, 1_700_000_000_500),
      }),
    },
    { weight: 1, arbitrary: fc.constant({ kind: 'clear' as const }) },
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
          if (o.kind !== 'clear') expect(table.get(o.sig)).toEqual(model.get(o.sig));
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

  it('fills in a host and a time where the first sight had none, and keeps those it had', () => {
    const table = new SeenLines();
    // xen07 is the first name the table keeps (index 0), kern.log the second
    table.set(1, 'xen07', 0, 'kern.log');
    table.set(2, null, null, 'dmesg.txt');
    table.set(3, null, 5, 'kern.log');
    table.set(4, 'xen08', null, 'kern.log');
    for (const sig of [1, 2, 3, 4]) table.update(sig, 'xen09', 1000);
    expect([1, 2, 3, 4].map((sig) => table.get(sig))).toEqual([
      { host: 'xen07', time: 0, source: 'kern.log' },
      { host: 'xen09', time: 1000, source: 'dmesg.txt' },
      { host: 'xen09', time: 5, source: 'kern.log' },
      { host: 'xen08', time: 1000, source: 'kern.log' },
    ]);
    // nothing to fill in with
    table.set(5, null, null, 'x');
    table.update(5, null, null);
    expect(table.get(5)).toEqual({ host: null, time: null, source: 'x' });
    // filled in once only
    table.update(5, 'xen10', 7);
    table.update(5, 'xen11', 8);
    expect(table.get(5)).toEqual({ host: 'xen10', time: 7, source: 'x' });
    expect(table.size).toBe(5);
  });

  it('gives nothing, and throws nothing, before the first entry and after a clear', () => {
    const table = new SeenLines();
    expect(table.get(0)).toBeUndefined();
    expect(table.sameSource(0, 'x')).toBeUndefined();
    table.clear();
    expect(table.size).toBe(0);
    expect(table.get(0)).toBeUndefined();
    table.set(0, null, null, 'x');
    expect(table.sameSource(0, 'x')).toBe(true);
    expect(table.sameSource(0, 'y')).toBe(false);
    table.clear();
    expect(table.sameSource(0, 'x')).toBeUndefined();
  });

  it('gives a signature in [0, 2^53) when its high part is zero (found by search), and keeps it', () => {
    // the table marks an empty slot with 0 and stores signature + 1: a negative signature would break it
    const sig = signature('hung-task', 117, 812363.123456, 'INFO: task 3119026 blocked');
    expect(sig).toBeGreaterThanOrEqual(0);
    expect(sig).toBeLessThan(2 ** 32);
    const table = new SeenLines();
    table.set(sig, 'h', 1, 's');
    expect(table.get(sig)).toEqual({ host: 'h', time: 1, source: 's' });
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
