/**
 * src/engine/literals.ts: cases written against the survivors of its mutation run (docs/mutation.md),
 * beside the literal cases and properties in test/engine-units.test.ts. Each literal list is held to
 * the prefilter's promise: every text the pattern matches holds one of them.
 */
import { describe, expect, it } from 'vitest';
import { requiredLiterals } from '../src/engine/literals.js';

/** requiredLiterals, and each given text the pattern matches holds one of the literals. */
function lits(src: string, texts: string[] = [], min?: number): string[] | null {
  const got = requiredLiterals(src, min);
  const re = new RegExp(src);
  for (const t of texts) {
    expect(re.test(t), `${src} matches ${t}`).toBe(true);
    if (got)
      expect(
        got.some((l) => t.includes(l)),
        `${JSON.stringify(t)} holds one of ${JSON.stringify(got)}`,
      ).toBe(true);
  }
  return got;
}

describe('requiredLiterals: written against the mutation run', () => {
  it('skips a class inside a group, a ")" in it included', () => {
    expect(lits('(?:xyz[)]|uvw)ab', ['xyz)ab', 'uvwab'])).toEqual(['xyz', 'uvw']);
    expect(lits('(?:a[)]|b)wxyz', ['a)wxyz', 'bwxyz'])).toEqual(['wxyz']);
  });

  it('does not split at an escaped "|" or a "|" inside a class', () => {
    expect(lits('abc\\|def', ['abc|def'])).toEqual(['abc|def']);
    expect(lits('abc[|]defg', ['abc|defg'])).toEqual(['defg']);
  });

  it('unwraps a named group that is the whole pattern, any name', () => {
    expect(lits('(?<name>abc|def)', ['abc', 'def'])).toEqual(['abc', 'def']);
    expect(lits('(?<n_1>abc|def)', ['abc', 'def'])).toEqual(['abc', 'def']);
    // a group after a character is no whole alternative
    expect(lits('x(?<gg>abc|def)', ['xabc', 'xdef'])).toEqual(['abc', 'def']);
  });

  it('takes the first of literals of equal strength', () => {
    expect(lits('abc.def', ['abc-def'])).toEqual(['abc']);
    expect(lits('abc\\x4gh', ['abcx4gh'])).toEqual(['abc']);
  });

  it('lets a zero-width escape continue the run', () => {
    expect(lits('ab\\Bcde', ['abcde'])).toEqual(['abcde']);
    expect(lits('abc\\bdef|ab\\B', [])).toBeNull();
  });

  it('reads \\xHH only, and no other escape, as a character', () => {
    expect(lits('abc\\d12', ['abc512'])).toEqual(['abc']);
    expect(lits('ab\\x41cd', ['abAcd'])).toEqual(['abAcd']);
  });

  it('knows a group optional by {0,…} only right after it', () => {
    expect(lits('(?:wxyz)ab.{0,3}', ['wxyzab'])).toEqual(['wxyz']);
    expect(lits('(?:wxyz){2}ab.{0,3}', ['wxyzwxyzab'])).toEqual(['wxyz']);
    expect(lits('(?:wxyz){0,2}abc', ['abc'])).toEqual(['abc']);
  });

  it('knows a lookaround by its own opening only', () => {
    expect(lits('(wxyz)ab(?<=b)', ['wxyzab'])).toEqual(['wxyz']);
    expect(lits('(?=a)b(wxyz)', [])).toEqual(['wxyz']);
  });

  it('takes no literal from an optional group or a lookaround, however long', () => {
    expect(lits('(?:wxyzw)?abc', ['abc'])).toEqual(['abc']);
    expect(lits('(?=wxyzw)abc', [])).toEqual(['abc']);
  });

  it('takes a "{" as a quantifier only where one starts, and with any number of digits', () => {
    expect(lits('ab{wxyz.{2}', ['ab{wxyzqq'])).toEqual(['wxyz']);
    // a brace of the text after a literal: the literal holds what a line holds (it was "bcd", " : failed")
    expect(lits('ab{wxyz}cd', ['ab{wxyz}cd'])).toEqual(['wxyz']);
    expect(lits('Error {code}: failed', ['Error {code}: failed'])).toEqual([': failed']);
    expect(lits('xy.{1234}ab', ['xy' + 'q'.repeat(1234) + 'ab'], 2)).toEqual(['xy']);
    // a literal repeated a counted number of times, of any digits, starts the run after it
    expect(lits('ab{12}cdef', ['a' + 'b'.repeat(12) + 'cdef'])).toEqual(['bcdef']);
    expect(lits('ab{1,12}cdef', ['abbcdef'])).toEqual(['bcdef']);
  });

  it('skips the lazy mark of an optional atom only', () => {
    expect(lits('ab\\??cdef', ['abcdef', 'ab?cdef'])).toEqual(['cdef']);
  });

  it('does not unwrap a lookaround that is a whole alternative', () => {
    expect(lits('(?=abcd)|xyz', ['xyz'])).toBeNull();
  });

  it('unwraps a group of alternatives that is the whole pattern', () => {
    expect(lits('(?:abc|def)', ['abc', 'def'])).toEqual(['abc', 'def']);
  });
});
