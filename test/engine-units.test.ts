/**
 * Unit and property tests of src/engine/matching.ts and src/engine/literals.ts that pin what the
 * mutation run (npm run mutate:engine, docs/mutation.md) found untested: the rule filters (sources,
 * programs, where bounds, ignore), the captures a hit keeps, keys completed from a report's later
 * lines, the call-trace fingerprint; and the prefilter literals, held to their promise (every text a
 * pattern matches holds one of them) over the catalogue's patterns and generated texts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileRule, loadCatalogue, type Rule, type RuleSpec } from '../src/engine/catalogue.js';
import { jsonEscaped, requiredLiterals } from '../src/engine/literals.js';
import { completeFromBlock, isIgnored, keyOf, matchRule, traceFingerprint, type Hit } from '../src/engine/matching.js';
import type { LogEvent } from '../src/types.js';

function rule(spec: Partial<RuleSpec>): Rule {
  const problems: unknown[] = [];
  const r = compileRule(
    { id: 't', title: 't', severity: 'error', patterns: ['x'], diagnosis: 'd', fix: ['f'], ...spec } as RuleSpec,
    't.yaml',
    problems as never,
  );
  expect(problems).toEqual([]);
  return r!;
}
const ev = (message: string, source: LogEvent['source'] = 'kernel', program: string | null = null): LogEvent => ({
  format: 'syslog',
  time: null,
  uptime: null,
  host: 'h',
  program,
  pid: null,
  source,
  message,
});
const hit = (r: Rule, first: string, block: string[] = []): Hit => {
  const e = ev(first);
  return { rule: r, captures: matchRule(r, e) ?? {}, event: e, source: 's', line: 1, text: first, seq: 0, block: [], blockMessages: block };
};

describe('matching: which lines a rule takes', () => {
  it('sources: a line of another source is not taken; one of unknown source is', () => {
    const r = rule({ sources: ['kernel', 'hypervisor'], patterns: ['boom'] });
    expect(matchRule(r, ev('boom', 'kernel'))).toEqual({});
    expect(matchRule(r, ev('boom', 'hypervisor'))).toEqual({});
    expect(matchRule(r, ev('boom', 'unknown'))).toEqual({});
    expect(matchRule(r, ev('boom', 'daemon'))).toBeNull();
    expect(matchRule(rule({ sources: ['any'], patterns: ['boom'] }), ev('boom', 'daemon'))).toEqual({});
  });

  it('programs: a daemon line of another program is not taken; other sources and lines without a program are', () => {
    const r = rule({ programs: ['xl', 'Libvirtd'], patterns: ['boom'] });
    expect(matchRule(r, ev('boom', 'daemon', 'XL'))).toEqual({});
    expect(matchRule(r, ev('boom', 'daemon', 'libvirtd'))).toEqual({});
    expect(matchRule(r, ev('boom', 'daemon', 'sshd'))).toBeNull();
    expect(matchRule(r, ev('boom', 'daemon', null))).toEqual({});
    expect(matchRule(r, ev('boom', 'toolstack', 'sshd'))).toEqual({});
  });

  it('keeps the named captures of the first pattern that matches, and only those that took part', () => {
    const r = rule({ patterns: ['^a (?<x>\\d+)(?: (?<y>z))?$', '^a (?<w>\\d+)'] });
    expect(matchRule(r, ev('a 12 z'))).toEqual({ x: '12', y: 'z' });
    expect(matchRule(r, ev('a 12'))).toEqual({ x: '12' });
    expect(matchRule(r, ev('a 12 q'))).toEqual({ w: '12' });
    expect(matchRule(r, ev('b 12'))).toBeNull();
  });

  it('where: each bound holds at its edge and not past it; a capture that is no number fails', () => {
    const at = (where: RuleSpec['where'], n: string) => matchRule(rule({ patterns: ['n=(?<n>\\S+)'], where }), ev(`n=${n}`)) !== null;
    expect([at({ n: { gt: 5 } }, '5'), at({ n: { gt: 5 } }, '5.5')]).toEqual([false, true]);
    expect([at({ n: { gte: 5 } }, '4.9'), at({ n: { gte: 5 } }, '5')]).toEqual([false, true]);
    expect([at({ n: { lt: 5 } }, '5'), at({ n: { lt: 5 } }, '4.9')]).toEqual([false, true]);
    expect([at({ n: { lte: 5 } }, '5.1'), at({ n: { lte: 5 } }, '5')]).toEqual([false, true]);
    expect([at({ n: { eq: 5 } }, '6'), at({ n: { eq: 5 } }, '5'), at({ n: { eq: 5 } }, '4')]).toEqual([false, true, false]);
    expect(at({ n: { gt: 1, lt: 10 } }, '10')).toBe(false);
    expect(at({ n: { gt: 1, lt: 10 } }, '9')).toBe(true);
    expect(at({ n: { gte: 0 } }, 'abc')).toBe(false);
    expect(at({ n: { gte: 0 } }, 'Infinity')).toBe(false);
  });

  it('ignore: voids a single-line hit; a multi-line rule leaves it to the engine (the whole report)', () => {
    const single = rule({ patterns: ['boom'], ignore: ['harmless'] });
    expect(matchRule(single, ev('boom'))).toEqual({});
    expect(matchRule(single, ev('boom harmless'))).toBeNull();
    expect(isIgnored(single, 'a harmless line')).toBe(true);
    expect(isIgnored(single, 'a line')).toBe(false);
    expect(isIgnored(rule({ patterns: ['boom'] }), 'harmless')).toBe(false);
    const multi = rule({ patterns: ['boom'], ignore: ['harmless'], multiline: { continuation: '^\\s' } });
    expect(matchRule(multi, ev('boom harmless'))).toEqual({});
  });
});

describe('matching: keys of a hit', () => {
  it('a key missing on the first line is taken from a later line of the report, first found wins, none overwritten', () => {
    const r = rule({
      patterns: ['^head (?<a>\\w+)?', '^victim (?<b>\\w+) (?<a>\\w+)'],
      key: ['a', 'b'],
      multiline: { continuation: '^' },
    });
    const h = hit(r, 'head first', ['noise', 'victim bee other', 'victim second third']);
    completeFromBlock(h);
    expect(h.captures).toEqual({ a: 'first', b: 'bee' });
    expect(keyOf(h)).toEqual({ a: 'first', b: 'bee' });
  });

  it('a collected capture is completed the same way; a key no line holds stays absent', () => {
    const r = rule({ patterns: ['^head', '^victim (?<proc>\\w+)', '^pid (?<pid>\\d+)'], key: ['pid'], collect: { procs: 'proc' } });
    const h = hit(r, 'head', ['victim qemu']);
    completeFromBlock(h);
    expect(h.captures).toEqual({ proc: 'qemu' });
    expect(keyOf(h)).toEqual({});
  });

  it('the key holds the key captures only, and the trace fingerprint when the rule asks for one', () => {
    const r = rule({
      patterns: ['^BUG: (?<what>\\w+) (?<other>\\w+)'],
      key: ['what'],
      multiline: { continuation: '^', fingerprint: 'trace' },
    });
    const trace = ['Call Trace:', ' blkif_schedule+0x1a/0x40', ' kthread+0x10/0x20'];
    expect(keyOf(hit(r, 'BUG: oops here', trace))).toEqual({ what: 'oops', trace: 'blkif_schedule < kthread' });
    expect(keyOf(hit(r, 'BUG: oops here', ['no trace']))).toEqual({ what: 'oops' });
    const plain = rule({ patterns: ['^BUG: (?<what>\\w+)'], key: ['what'], multiline: { continuation: '^' } });
    expect(keyOf(hit(plain, 'BUG: oops', trace))).toEqual({ what: 'oops' });
  });
});

describe('matching: call trace fingerprint', () => {
  it('the first four frames after "Call Trace:", without the oops machinery and "?" frames', () => {
    const msgs = [
      'BUG: unable to handle page fault',
      ' not_a_frame+0x1/0x2 before the trace',
      'Call Trace:',
      ' dump_stack+0x5/0x10',
      ' ? stale_word+0x0/0x10',
      ' <TASK>',
      ' xen_evtchn_do_upcall+0x2a/0x50',
      ' [<ffffffff81012345>] handle_irq.part.0+0x10/0x30',
      ' asm_exc_page_fault+0x1e/0x30',
      ' one+0x1/0x2',
      ' two+0x1/0x2',
      ' three+0x1/0x2',
    ];
    expect(traceFingerprint(msgs)).toBe('xen_evtchn_do_upcall < handle_irq.part.0 < one < two');
  });

  it('before "Call Trace:", only old-style "[<addr>]" frames count', () => {
    expect(traceFingerprint([' plain_fn+0x1/0x2', ' [<c0123456>] old_fn+0x1/0x2'])).toBe('old_fn');
  });

  it('with no frames, the function of the faulting instruction; else nothing', () => {
    expect(traceFingerprint(['RIP: 0010:xen_clocksource_read+0x12/0x40'])).toBe('xen_clocksource_read');
    expect(traceFingerprint(['EIP: [<c0123456>] old_fault+0x1/0x2'])).toBe('old_fault');
    expect(traceFingerprint(['PC is at arm_fn+0x1c/0x40'])).toBe('arm_fn');
    expect(traceFingerprint(['Call Trace:', ' dump_stack+0x5/0x10', 'RIP: 0010:leaf+0x1/0x2'])).toBe('leaf');
    expect(traceFingerprint(['nothing here'])).toBe('');
  });
});

describe('literals: what every matching line holds', () => {
  it.each([
    ['foo bar', ['foo bar']],
    ['^abc$', ['abc']],
    ['abc|defg', ['abc', 'defg']],
    ['(?:abc|defg) x', ['abc', 'defg']],
    ['(?:No space left|ENOSPC) on x', ['No space left', 'ENOSPC']],
    ['(?:No space left|ENOSPC) on dev', [' on dev']],
    ['(?<n>hello) worlds', [' worlds']],
    ['ab|cdef', null],
    ['a\\.b\\.c', ['a.b.c']],
    ['a\\-b\\/c', ['a-b/c']],
    ['\\x41BC', ['ABC']],
    ['\\x4', null],
    ['\\bfoo\\b', ['foo']],
    ['\\d+abc', ['abc']],
    ['abcdx?ef', ['abcd']],
    ['abcx*defg', ['defg']],
    ['abcx{0,2}defg', ['defg']],
    ['abcx{1,2}defg', ['xdefg']],
    ['abcx{2}?defg', ['xdefg']],
    ['abcx+?defg', ['xdefg']],
    ['(?:foo)?barbaz', ['barbaz']],
    ['(?:foo)*barbaz', ['barbaz']],
    ['(?:foox){0,1}bar', ['bar']],
    ['(?:foox)+bar', ['foox']],
    ['(?:foox){2}bar', ['foox']],
    ['(?:foox)??bar', ['bar']],
    ['(?=abcdef)de', null],
    ['(?!abcdef)def', ['def']],
    ['(?<=abcdef)def', ['def']],
    ['[abc]defg', ['defg']],
    ['[^]]defg', ['defg']],
    ['[\\]x]defg', ['defg']],
    ['[]x]defg', ['defg']],
    ['(?:a[)]b)defg', ['defg']],
    ['(?:a\\)b)|xyz', ['a)b', 'xyz']],
    ['(a(b)c)defg', ['defg']],
    ['x.yzw', ['yzw']],
    ['abc\\s+de', ['abc']],
    // a counted quantifier of a non-literal atom is no text (a site rule's "Error.{0,200}timeout" once needed "0,200")
    ['ab.{0,100}xyz', ['xyz']],
    ['ab\\d{1,3}xyz', ['xyz']],
    ['x.{2,50}?yzw', ['yzw']],
    ['abcd{0,3}', ['abc']],
    ['abc{0,3}', null],
    ['[a-z]{2,64}xyz', ['xyz']],
  ])('%s', (src, want) => {
    expect(requiredLiterals(src)).toEqual(want);
  });

  it('the shortest literal it accepts is `min` characters', () => {
    expect(requiredLiterals('ab|cd', 2)).toEqual(['ab', 'cd']);
    expect(requiredLiterals('ab|cd')).toBeNull();
    expect(requiredLiterals('abc|de', 3)).toBeNull();
    expect(requiredLiterals('(?:abc|de)', 3)).toBeNull();
  });

  it('a JSON-escaped form only when it differs', () => {
    expect(jsonEscaped('abc')).toBeNull();
    expect(jsonEscaped('say "x"')).toBe('say \\"x\\"');
    expect(jsonEscaped('a\\b')).toBe('a\\\\b');
  });

  // the prefilter's promise: a line without any of a rule's literals cannot match it
  it('every text a catalogue pattern matches holds one of its literals (generated texts)', () => {
    const patterns = loadCatalogue()
      .flatMap((r) => r.spec.patterns.map((p) => ({ p, flags: r.caseInsensitive ? 'i' : '' })))
      .filter(({ p }) => !/\(\?<?[=!]|\\[1-9]|\\k</.test(p)); // the generator cannot do lookaround or backreferences
    expect(patterns.length).toBeGreaterThan(60);
    let checked = 0;
    for (const { p, flags } of patterns) {
      const lits = requiredLiterals(p);
      if (lits === null) continue;
      const re = new RegExp(p, flags);
      // texts of the pattern without its word boundaries (the generator has none); those the pattern does not match are dropped
      let gen: fc.Arbitrary<string>;
      try {
        gen = fc.stringMatching(new RegExp(p.replace(/\\[bB]/g, '')));
      } catch {
        continue;
      }
      fc.assert(
        fc.property(gen, (text) => {
          if (!re.test(text)) return;
          const hay = flags ? text.toLowerCase() : text;
          expect(
            lits.some((l) => hay.includes(flags ? l.toLowerCase() : l)),
            `${p} matched ${JSON.stringify(text)}, none of ${JSON.stringify(lits)}`,
          ).toBe(true);
          checked++;
        }),
        { numRuns: 20 },
      );
    }
    expect(checked).toBeGreaterThan(1000);
  });

  it('the same for generated patterns built from literals, groups, classes and quantifiers', () => {
    const atom = fc.oneof(
      fc.constantFrom('abc', 'de', 'x', 'Q', '\\.', '\\d', '\\s', '\\w', '[xy]', '[^]a]', '.', '\\x41', '\\-'),
      fc.constantFrom('(?:foo|barz)', '(?<g>kl)', '(?:mn)', '(p|qrs)'),
    );
    const quant = fc.constantFrom('', '', '', '?', '*', '+', '{2}', '{0,3}', '{1,}', '+?', '*?');
    const pattern = fc.array(fc.tuple(atom, quant), { minLength: 1, maxLength: 6 }).map((xs) => xs.map(([a, q]) => a + q).join(''));
    const alts = fc.array(pattern, { minLength: 1, maxLength: 3 }).map((xs) => {
      let n = 0; // each named group its own name
      return xs.join('|').replace(/\(\?<g>/g, () => `(?<g${n++}>`);
    });
    fc.assert(
      fc.property(
        alts.chain((p) => fc.tuple(fc.constant(p), fc.array(fc.stringMatching(new RegExp(p)), { minLength: 1, maxLength: 5 }))),
        fc.integer({ min: 1, max: 3 }),
        ([p, texts], min) => {
          const lits = requiredLiterals(p, min);
          if (lits === null) return;
          for (const l of lits) expect(l.length).toBeGreaterThanOrEqual(min);
          for (const t of texts)
            if (new RegExp(p).test(t))
              expect(
                lits.some((l) => t.includes(l)),
                `${p} / ${JSON.stringify(t)} / ${lits}`,
              ).toBe(true);
        },
      ),
      { numRuns: 400 },
    );
  });
});
