/**
 * Unit tests of src/parse/ that pin what the mutation run (npm run mutate, docs/mutation.md) found
 * untested: where the fallback readings (parse/fallback.ts) may start a message — each byte class
 * that ends a prefix and its neighbours, the caps on starts and on scan length — and the readings of
 * a line the parser took as a console line glued to another one (the text before the glue, what the
 * readings inherit).
 */
import { describe, expect, it } from 'vitest';
import { otherReadings } from '../src/parse/fallback.js';
import { parseLine } from '../src/parse/line.js';
import { fallbackStarts, plainEvent as plain } from './helpers.js';

const CTX = { zone: 'UTC', year: 2026, reference: Date.parse('2026-11-21T00:00:00Z') };
const starts = fallbackStarts;

describe('fallback: where a message may start in a line of unknown form', () => {
  it('right after a bracket, a TAB or a quote', () => {
    for (const m of ['x]y', 'x\ty', 'x"y', "x'y"]) expect(starts(m), JSON.stringify(m)).toEqual(['y']);
  });

  it('after a space that follows what ends a prefix: a digit, : ] > | ) , or another space or TAB', () => {
    for (const m of ['x0 y', 'x9 y', 'x: y', 'x] y', 'x> y', 'x| y', 'x) y', 'x, y', 'x  y', 'x\t y'])
      expect(starts(m), JSON.stringify(m)).toEqual(['y']);
  });

  it('not after a space that follows anything else (the neighbours of the digits and colon, a letter, ;)', () => {
    for (const m of ['x/ y', 'x; y', 'xa y', 'x. y', 'x= y']) expect(starts(m), JSON.stringify(m)).toEqual([]);
  });

  it('never on a blank: a space, TAB or no-break space is not where a message starts', () => {
    expect(starts('x]\ty')).toEqual(['y']);
    expect(starts('x]\u00a0y')).toEqual([]); // after a no-break space nothing starts either
    for (const m of ['12:00:01  INFO: task', 'a]  \t b'])
      for (const s of starts(m)) expect(/^[ \t\u00a0]/.test(s), JSON.stringify(s)).toBe(false);
  });

  it('not at the end of the line (no empty message)', () => {
    expect(starts('x]')).toEqual([]);
    expect(starts('x: ')).toEqual([]);
  });

  it('at most 48 starts, within the first 1024 characters', () => {
    expect(starts('a]'.repeat(60))).toHaveLength(48);
    expect(starts('a]'.repeat(60))[47]).toBe('a]'.repeat(12));
    expect(starts('x'.repeat(1000) + ']y')).toEqual(['y']);
    expect(starts('x'.repeat(1030) + ']y')).toEqual([]);
  });

  it('none for a line whose source is known', () => {
    expect(otherReadings({ ...plain('x] y'), source: 'daemon' })).toEqual([]);
  });
});

describe('fallback: a console line glued onto another', () => {
  it('reads the text before the glue on its own, and where a message may start in it', () => {
    const text = 'xen07 Hotplug scripts not working.(XEN) d1v0 foo';
    const ev = parseLine(text, CTX);
    expect(ev).toMatchObject({ format: 'xen', source: 'hypervisor', message: 'd1v0 foo' });
    expect(otherReadings(ev, text).map((e) => [e.source, e.message])).toEqual([
      ['unknown', 'xen07 Hotplug scripts not working.'],
      ['unknown', 'Hotplug scripts not working.'],
    ]);
  });

  it('the text before the glue takes the time of the line when it has none', () => {
    const text = 'junk here:(XEN) [2026-11-20 08:00:01] d1v0 foo';
    const ev = parseLine(text, CTX);
    expect(ev.time).toBe(Date.parse('2026-11-20T08:00:01Z'));
    expect(otherReadings(ev, text)).toEqual([{ ...plain('junk here:'), time: ev.time }]);
  });

  it('nothing before the glue, only blanks, the glue too far in, no text or a plain line: no reading of it', () => {
    for (const text of ['(XEN) d1v0 foo', '   (XEN) d1v0 foo', 'x'.repeat(1030) + '(XEN) d1v0 foo']) {
      const ev = parseLine(text, CTX);
      expect(ev.message).toBe('d1v0 foo');
      expect(otherReadings(ev, text), text.slice(0, 12)).toEqual([]);
    }
    const far = 'x'.repeat(1000) + '(XEN) d1v0 foo';
    expect(otherReadings(parseLine(far, CTX), far).map((e) => e.message)).toEqual(['x'.repeat(1000)]);
    const ev = parseLine('xen07 Hotplug scripts not working.(XEN) d1v0 foo', CTX);
    expect(otherReadings(ev)).toEqual([]); // no text given
    // a plain line: the text is not looked at, only where its message may start
    expect(otherReadings(plain('d1v0 foo'), 'abc(XEN) d1v0 foo').map((e) => e.message)).toEqual(['foo']);
    // the message is not the end of the text: no reading of the text
    expect(otherReadings({ ...ev, message: 'other' }, 'xen07 Hotplug scripts not working.(XEN) d1v0 foo')).toEqual([]);
  });

  it('a glue inside the message of a line read as syslog: the console line is read, the text before it is not', () => {
    const text = 'Nov 20 08:00:00 xen07 logger: Hotplug scripts not working.(XEN) [2026-11-20 08:00:01] d1v0 foo';
    const ev = parseLine(text, CTX);
    expect(ev).toMatchObject({
      format: 'syslog',
      program: 'logger',
      message: 'Hotplug scripts not working.(XEN) [2026-11-20 08:00:01] d1v0 foo',
    });
    expect(otherReadings(ev, text).map((e) => [e.format, e.time, e.host, e.message])).toEqual([
      ['xen', Date.parse('2026-11-20T08:00:01Z'), 'xen07', 'd1v0 foo'],
    ]);
  });

  it('a kernel stamp inside a message starts a line of its own, with the host and time of the line', () => {
    const text = 'Nov 20 08:00:00 xen07 kernel: [  12.000000] bar[  13.000000] watchdog: BUG: soft lockup';
    const ev = parseLine(text, CTX);
    expect(ev).toMatchObject({ format: 'syslog', host: 'xen07', message: 'bar[  13.000000] watchdog: BUG: soft lockup' });
    expect(otherReadings(ev, text)).toEqual([
      {
        format: 'dmesg',
        time: Date.parse('2026-11-20T08:00:00Z'),
        uptime: 13,
        host: 'xen07',
        program: null,
        pid: null,
        source: 'kernel',
        message: 'watchdog: BUG: soft lockup',
      },
    ]);
  });

  it('the text before a glue is read up to a glue at 1023, not at 1024 (MAX_SCAN)', () => {
    for (const [n, want] of [
      [1023, ['x'.repeat(1023)]],
      [1024, []],
    ] as const) {
      const text = 'x'.repeat(n) + '(XEN) d1v0 foo';
      expect(
        otherReadings(parseLine(text, CTX), text).map((e) => e.message),
        String(n),
      ).toEqual(want);
    }
  });

  it('a glue in the message is read up to 1023, not at 1024; each of several glues gives its own line', () => {
    const at = (n: number) => otherReadings({ ...plain('x'.repeat(n) + '[  13.000000] BUG: x'), source: 'kernel' }).map((e) => e.message);
    expect(at(1023)).toEqual(['BUG: x']);
    expect(at(1024)).toEqual([]);
    const two = { ...plain('a[  1.000000] b[  2.000000] c'), source: 'kernel' as const };
    expect(otherReadings(two).map((e) => [e.uptime, e.message])).toEqual([
      [1, 'b[  2.000000] c'],
      [2, 'c'],
    ]);
  });

  it('a stamp at the very start of the message, or one that does not read as a line, gives nothing', () => {
    expect(otherReadings({ ...plain('[  13.000000] x'), source: 'kernel' })).toEqual([]);
    expect(otherReadings({ ...plain('a[  13.000000]x'), source: 'kernel' })).toEqual([]);
  });
});
