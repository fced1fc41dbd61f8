/**
 * Unit tests of the shapes of src/engine/unrecognized.ts (lines 1-498: shapeOf, walkShape, the words of
 * a shape's slots) on the edges that the mutation run of those lines (XD_MUTATE=engine-unrecognized-head,
 * docs/mutation.md) found the properties of test/unrecognized-miner.test.ts reach too rarely at a tenth of
 * their runs: characters past ASCII, long digit runs beside a colon, one digit beside a dot, hex words
 * beside a hyphen, a one-digit run before a slot.
 */
import { describe, expect, it } from 'vitest';
import { TemplateMiner, shapeOf, templateOf, templateOfSimple, walkShape } from '../src/engine/unrecognized.js';
import type { LogEvent } from '../src/types.js';

/** The 32-bit FNV-1a hash of a shape's key, as walkShape computes it in place. */
const fnv = (key: string) => {
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return h;
};
const ev = (message: string): LogEvent => ({
  format: 'syslog',
  time: null,
  uptime: null,
  host: 'h',
  program: 'app',
  pid: null,
  source: 'unknown',
  message,
});

describe('walkShape hashes the shape shapeOf builds', () => {
  it.each([
    ['a character past ASCII before digits', 'caf\u00e912 error'],
    ['U+0080 before digits', '\u008012 error'],
    ['a character past ASCII inside a word', 'ab\u00e912 error'],
    ['U+0080 inside a word', 'ab\u008012 error'],
    ['15 digits beside a colon', `port:${'1'.repeat(15)} error`],
    ['one digit 0-7 beside a dot', 'version 1.7 error'],
    ['one digit 8-9 beside a dot', 'version 1.9 error'],
    ['8 digits beside a dot', 'value 1.12345678 error'],
    ['a hex word of 9 beside a hyphen', 'abcdef123-x error'],
  ])('%s', (_, message) => {
    const { key } = shapeOf(message);
    expect(walkShape(message, message.length)).toBe(fnv(key));
  });
});

describe('shapes keep what the masks read', () => {
  it('one digit beside a dot and a hyphen: 8-9 is no PCI function', () => {
    for (const m of ['0000:05:00.9-x error', '0000:05:00.7-x error', '0000:05:00.9:x error'])
      expect(templateOf(m)).toBe(templateOfSimple(m));
    expect(templateOf('0000:05:00.9-x error')).not.toContain('<pci>');
  });
});

describe('the words of the slots of a shape met before', () => {
  it('a one-digit run before a slot is no slot word (the cached path equals the simple one)', () => {
    const lines = ['error 9: user spam951 failed', 'error 9: user spam951 failed'];
    const cached = new TemplateMiner([]);
    const simple = new TemplateMiner([], { simple: true });
    for (const m of [cached, simple]) lines.forEach((l, i) => m.add(ev(l), l, 'a.log', i + 1));
    expect(cached.exportState()).toEqual(simple.exportState());
    expect(cached.exportState().templates.map((t) => [t.template, t.count])).toEqual([['error <*>: user spam951 failed', 2]]);
  });
});
