/**
 * Unit tests of src/engine/engine.ts (Engine.read and what it keeps) with small rules of their own, not
 * the catalogue: what its first mutation run (XD_MUTATE=engine-read, docs/mutation.md) found reached by
 * no unit test (the engine is mostly exercised through the binary, which Stryker does not mutate).
 */
import { describe, expect, it } from 'vitest';
import { type RuleSpec } from '../src/engine/catalogue.js';
import { Engine, FUTURE_TOLERANCE, OWN_PROGRAM, type EngineOptions } from '../src/engine/engine.js';
import { disk, engine, feed, place, rule } from './engine-fixtures.js';

const T = Date.UTC(2026, 10, 20, 8, 1, 10);

const summary = (e: Engine) => e.findings().map((f) => [f.rule, f.host, f.count, f.key]);
const at = (h: number, m: number, s: number) =>
  `Nov 20 ${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;

describe('Engine.read: which lines count', () => {
  it("xendoctor's own lines are never analysed again, whatever their case; a longer name is another program", () => {
    const e = engine();
    feed(e, [`${at(8, 1, 10)} h ${OWN_PROGRAM}[1]: disk sda failed`, `${at(8, 1, 11)} h XenDoctor[1]: disk sdb failed`]);
    expect(e.findings()).toEqual([]);
    expect(e.exportState().seq).toBe(0);
    const f = engine();
    feed(f, [
      `${at(8, 1, 10)} h xendoctors[1]: disk sda failed`,
      `${at(8, 1, 11)} h xendocto[1]: disk sdb failed`,
      `${at(8, 1, 12)} h otherprog[1]: disk sdc failed`,
    ]);
    expect(summary(f)).toHaveLength(3);
    expect(f.exportState().seq).toBe(3);
  });

  it('a lone "#" is a comment too', () => {
    const e = engine([rule({ id: 'hash', patterns: ['^#$'] })]);
    feed(e, ['#']);
    expect(e.findings()).toEqual([]);
  });

  it('a comment line ("#", "# ...") is no log line; "#x" is', () => {
    const e = engine([rule({ id: 'disk', patterns: ['disk (?<dev>\\w+) failed'], key: ['dev'] })]);
    feed(e, ['# disk sda failed', '#', '#disk sdb failed', 'disk sdc failed']);
    expect(
      e
        .findings()
        .map((f) => f.key.dev)
        .sort(),
    ).toEqual(['sdb', 'sdc']);
  });

  it('a line the prefilter did not pick (candidate false) is not matched', () => {
    const e = engine();
    e.read('disk sda failed', place(1, { candidate: false }));
    e.endInput();
    expect(e.findings()).toEqual([]);
    expect(e.exportState().seq).toBe(1);
  });

  it('since and until keep the lines of the window; an undated line is kept and counted as such', () => {
    const e = engine([disk], { since: T, until: T + 2000 });
    feed(e, [
      `${at(8, 1, 9)} h k: disk a failed`,
      `${at(8, 1, 10)} h k: disk b failed`,
      `${at(8, 1, 12)} h k: disk c failed`,
      `${at(8, 1, 13)} h k: disk d failed`,
      'disk e failed',
    ]);
    expect(
      e
        .findings()
        .map((f) => f.key.dev)
        .sort(),
    ).toEqual(['b', 'c', 'e']);
    expect(e.undated).toBe(1);
    expect(e.exportState().undated).toBe(1);
    const s = engine([disk], { since: T });
    feed(s, ['disk e failed', `${at(8, 1, 9)} h k: disk a failed`]);
    expect(s.undated).toBe(1);
    const u = engine([disk], { until: T });
    feed(u, ['disk e failed', `${at(8, 1, 11)} h k: disk a failed`]);
    expect(u.undated).toBe(1);
    expect(u.findings().map((f) => f.key.dev)).toEqual(['e']);
    const none = engine();
    feed(none, ['disk e failed']);
    expect(none.undated).toBe(0);
  });

  it('hosts keeps the named hosts and the lines that name none; defaultHost names those', () => {
    const e = engine([disk], { hosts: ['h1'] });
    feed(e, [`${at(8, 1, 9)} h1 k: disk a failed`, `${at(8, 1, 9)} h2 k: disk b failed`, 'disk c failed']);
    expect(
      e
        .findings()
        .map((f) => f.key.dev)
        .sort(),
    ).toEqual(['a', 'c']);
    const d = engine([disk], { defaultHost: 'dom0' });
    feed(d, ['disk c failed', `${at(8, 1, 9)} h2 k: disk b failed`]);
    expect(
      d
        .findings()
        .map((f) => [f.key.dev, f.host])
        .sort(),
    ).toEqual([
      ['b', 'h2'],
      ['c', 'dom0'],
    ]);
    const p = engine([disk], { defaultHost: 'dom0' });
    feed(p, ['disk c failed'], { host: 'placed' });
    expect(p.findings()[0]!.host).toBe('placed');
  });

  it('future: lines dated more than FUTURE_TOLERANCE after now, and the first of them', () => {
    const now = T;
    const e = engine([disk], { now });
    const stamp = (ms: number) => new Date(ms).toISOString();
    e.read(`${stamp(now + FUTURE_TOLERANCE)} h k: disk a failed`, place(1, { source: 'a' }));
    expect(e.future).toEqual({ count: 0, first: null });
    e.read(`${stamp(now + FUTURE_TOLERANCE + 1000)} h k: disk b failed`, place(2, { source: 'b' }));
    e.read(`${stamp(now + FUTURE_TOLERANCE + 5000)} h k: disk c failed`, place(3, { source: 'c' }));
    expect(e.future).toEqual({ count: 2, first: { source: 'b', time: now + FUTURE_TOLERANCE + 1000 } });
    expect(e.exportState().future).toEqual({ count: 2, first: { source: 'b', time: now + FUTURE_TOLERANCE + 1000 } });
    const none = engine([disk]);
    none.read(`${stamp(now + 10 * FUTURE_TOLERANCE)} h k: disk a failed`, place(1));
    expect(none.future.count).toBe(0);
  });

  it('passed() counts a line read without read()', () => {
    const e = engine();
    e.passed();
    e.passed();
    expect(e.exportState().seq).toBe(2);
  });
});

describe('candidates and the prefilter', () => {
  const bytes = (s: string) => Buffer.from(s, 'utf8');
  it("isCandidate: a rule's literal, or a journal record whose message is bytes; prefilterCandidate also for host facts", () => {
    const e = engine();
    const t = (s: string, pad = '') => {
      const b = bytes(pad + s + pad);
      return [e.isCandidate(b, pad.length, pad.length + s.length), e.prefilterCandidate(b, pad.length, pad.length + s.length)];
    };
    expect(t('disk sda failed')).toEqual([true, true]);
    expect(t('nothing here')).toEqual([false, false]);
    expect(t('{"MESSAGE":[104,105]}')).toEqual([true, true]);
    expect(t('{"MESSAGE":[104,105]}', 'xx')).toEqual([true, true]);
    expect(t(' {"MESSAGE":[104,105]}')).toEqual([false, false]);
    // the record's array lies past the line's end, or starts right at it: another line's
    const b = bytes('{"A":1}\n{"MESSAGE":[1]}');
    expect(e.isCandidate(b, 0, 7)).toBe(false);
    expect(e.prefilterCandidate(b, 0, 7)).toBe(false);
    expect(e.isCandidate(bytes('{"A":1}"MESSAGE":[1]}'), 0, 7)).toBe(false);
    // a record whose message is a string, holding no literal
    expect(t('{"MESSAGE":"nothing"}')).toEqual([false, false]);
    // host facts and the console clock's dated lines are candidates too (the prefilter holds their literals)
    expect(t('(XEN) Xen version 4.17.3')).toEqual([true, true]);
    expect(t('(XEN) [2026-11-26 05:21:39.696] x')).toEqual([true, true]);
    expect(t('(XEN) [3026-11-26 05:21:39.696] x')).toEqual([false, false]);
  });

  it('a rule without literals (or everyLine) tries every line: no prefilter', () => {
    const any = rule({ id: 'any', patterns: ['^(?<w>\\w+) \\1$'] });
    expect(any.literals).toBeNull();
    const e = engine([disk, any]);
    expect(e.prefilter).toBeNull();
    expect(e.everyLine).toBe(true);
    expect(e.isCandidate(bytes('zz'), 0, 2)).toBe(true);
    expect(e.prefilterCandidate(bytes('zz'), 0, 2)).toBe(false);
    const f = engine([disk], { everyLine: true });
    expect(f.prefilter).toBeNull();
    feed(f, ['disk sda failed', 'foo foo']);
    expect(summary(f)).toHaveLength(1);
    const g = engine([disk]);
    expect(g.prefilter).not.toBeNull();
    expect(g.everyLine).toBe(false);
    feed(e, ['disk sda failed', 'foo foo', 'foo bar']);
    expect(summary(e).map((s) => s[0])).toEqual(['any', 'disk']);
  });

  it('a rule matches a line through its JSON-escaped literal (a journal record)', () => {
    const q = rule({ id: 'quote', patterns: ['said "(?<w>\\w+)"'], key: ['w'] });
    const e = engine([q]);
    const rec = JSON.stringify({
      MESSAGE: 'he said "no"',
      __REALTIME_TIMESTAMP: String(T * 1000),
      _HOSTNAME: 'h',
      SYSLOG_IDENTIFIER: 'app',
    });
    feed(e, [rec]);
    const [f] = e.findings();
    expect(f?.key).toEqual({ w: 'no' });
    // shown as a log line, not as its JSON
    expect(f!.evidence[0]!.text).toBe('2026-11-20T08:01:10Z h app: he said "no"');
  });

  it('a journal record whose message is bytes is tried against every rule', () => {
    const e = engine();
    const rec = JSON.stringify({
      MESSAGE: [...Buffer.from('disk sda failed')],
      __REALTIME_TIMESTAMP: String(T * 1000),
      _HOSTNAME: 'h',
      SYSLOG_IDENTIFIER: 'k',
      _PID: '7',
    });
    feed(e, [rec]);
    const [f] = e.findings();
    expect(f?.key).toEqual({ dev: 'sda' });
    expect(f!.evidence[0]!.text).toBe('2026-11-20T08:01:10Z h k[7]: disk sda failed');
  });

  it('lines with the literals of several rules try each of them', () => {
    const a = rule({ id: 'a', patterns: ['alpha (?<x>\\d+)'], key: ['x'] });
    const b = rule({ id: 'b', patterns: ['beta (?<x>\\d+)'], key: ['x'] });
    const e = engine([a, b]);
    feed(e, ['alpha 1 beta 2', 'beta 3', 'gamma 4']);
    expect(
      e
        .findings()
        .map((f) => `${f.rule}${f.key.x}`)
        .sort(),
    ).toEqual(['a1', 'b2', 'b3']);
  });

  it("raw bytes: the rules are found in the line's own bytes", () => {
    const e = engine();
    const line = 'disk sda failed';
    const raw = Buffer.from(`xx${line}yy`);
    e.read(line, place(1, { raw, start: 2, end: 2 + line.length }));
    // bytes that hold no literal: the rule is not tried, whatever the text
    e.read('disk sdb failed', place(2, { raw: Buffer.from('nothing'), start: 0, end: 7 }));
    e.endInput();
    expect(e.findings().map((f) => f.key.dev)).toEqual(['sda']);
  });
});

describe('multi-line reports', () => {
  const oops = rule({
    id: 'oops',
    patterns: ['^Oops: (?<what>\\w+)'],
    key: ['what'],
    multiline: { continuation: '^ (?:RIP|Call)', end: '^ END', max: 2 },
  });
  it('continuation lines join the report, up to max; the end line closes it', () => {
    const e = engine([oops]);
    feed(e, ['Oops: a', ' RIP x', ' Call y', ' Call z', 'Oops: b', ' RIP q', ' END r', ' RIP s']);
    const f = e.findings().sort((x, y) => (x.key.what! < y.key.what! ? -1 : 1));
    expect(f.map((x) => x.evidence.map((v) => v.text))).toEqual([
      ['Oops: a', ' RIP x', ' Call y'],
      ['Oops: b', ' RIP q', ' END r'],
    ]);
    expect(e.wantsAll()).toBe(false);
  });

  it('wantsAll while a report is open; a line not continuing it closes it', () => {
    const e = engine([oops]);
    e.read('Oops: a', place(1));
    expect(e.wantsAll()).toBe(true);
    e.read(' RIP x', place(2, { candidate: false }));
    expect(e.wantsAll()).toBe(true);
    e.read('unrelated', place(3, { candidate: false }));
    expect(e.wantsAll()).toBe(false);
    expect(e.findings()[0]!.evidence.map((v) => v.text)).toEqual(['Oops: a', ' RIP x']);
  });

  it('an ignored report takes its lines and counts for nothing; so does one with an ignored line', () => {
    const r = rule({
      id: 'oops',
      patterns: ['^Oops: (?<what>\\w+)'],
      key: ['what'],
      ignore: ['cgroup'],
      multiline: { continuation: '^ ' },
    });
    const e = engine([r]);
    feed(e, ['Oops: a cgroup', ' RIP x', 'Oops: b', ' in cgroup', 'Oops: c', ' RIP y']);
    expect(e.findings().map((f) => f.key.what)).toEqual(['c']);
  });

  it('a report opening line that also ends it is recorded at once', () => {
    const r = rule({ id: 'oops', patterns: ['^Oops: (?<what>\\w+)'], key: ['what'], multiline: { continuation: '^ ', end: 'done$' } });
    const e = engine([r]);
    e.read('Oops: a done', place(1));
    expect(e.wantsAll()).toBe(false);
    expect(e.findings().map((f) => f.evidence.length)).toEqual([1]);
  });

  it('the first hit keeps the first lines and the end line; later hits only the end line', () => {
    const r = rule({ id: 'oops', patterns: ['^Oops: (?<what>\\w+)'], multiline: { continuation: '^ ', end: '^ END', max: 100 } });
    const e = engine([r]);
    const body = Array.from({ length: 30 }, (_, i) => ` line ${i}`);
    feed(e, ['Oops: a', ...body, ' END 1', 'Oops: b', ' x', ' END 2', 'Oops: c', ' y']);
    const [f] = e.findings();
    const texts = f!.evidence.map((v) => v.text);
    // BLOCK_EVIDENCE (12) lines of the first report: its first 11 and its end line
    expect(texts).toEqual(['Oops: a', ...body.slice(0, 11), ' END 1', 'Oops: b', ' END 2', 'Oops: c']);
    // a long report with no end line: its first 12 lines
    const g = engine([r]);
    feed(g, ['Oops: a', ...body]);
    expect(g.findings()[0]!.evidence.map((v) => v.text)).toEqual(['Oops: a', ...body.slice(0, 12)]);
  });
});

describe('wrapped lines', () => {
  // (the first half holds the rule's literal: the reader offers it)
  const r = rule({ id: 'wrap', patterns: ['device (?<dev>\\w+) is gone for good'], key: ['dev'], prefilter: ['device '] });
  it('the indented rest of a line no rule took is joined to it', () => {
    const e = engine([r]);
    feed(e, [`${at(8, 1, 10)} h k: device sda is gone`, '   for good']);
    const [f] = e.findings();
    expect(f?.key).toEqual({ dev: 'sda' });
    expect(f!.evidence[0]!.text).toBe(`${at(8, 1, 10)} h k: device sda is gone for good`);
    expect(f!.evidence[0]!.line).toBe(1);
  });

  it('the joined line is tried against the rules whose literals it holds, not only those of its first half (the bug)', () => {
    // the first half holds only the other rule's literal: the reader offers it, and then the rest
    const other = rule({ id: 'other', patterns: ['device (?<dev>\\w+) vanished'], prefilter: ['device '] });
    const late = rule({ id: 'late', patterns: ['device (?<dev>\\w+) is gone for good'], key: ['dev'] });
    expect(late.literals).toEqual([' is gone for good']);
    const first = `${at(8, 1, 10)} h k: device sda is gone`;
    for (const before of [undefined, first]) {
      const e = engine([other, late]);
      e.read(first, place(1));
      e.read('   for good', place(2, { before }));
      e.endInput();
      expect(e.findings().map((f) => [f.rule, f.key.dev, f.evidence[0]!.line])).toEqual([['late', 'sda', 1]]);
    }
    // the same on the every-line path
    const bare = rule({ id: 'bare', patterns: ['^(?<w>zz+)$'] });
    const e = engine([other, late, bare]);
    e.read(first, place(1));
    e.read('   for good', place(2));
    e.endInput();
    expect(e.findings().map((f) => f.rule)).toEqual(['late']);
  });

  it('mail quoting before the rest is taken away', () => {
    const e = engine([r]);
    feed(e, [`${at(8, 1, 10)} h k: device sda is gone`, '> >  for good  ']);
    expect(e.findings()[0]!.evidence[0]!.text).toBe(`${at(8, 1, 10)} h k: device sda is gone for good`);
  });

  it('a line that is not indented is no rest', () => {
    const e = engine([r]);
    feed(e, [`${at(8, 1, 10)} h k: device sda is gone`, 'for good']);
    expect(e.findings()).toEqual([]);
  });

  it('the line before that the reader did not offer (place.before) takes the rest', () => {
    const e = engine([r]);
    const before = `${at(8, 1, 10)} h k: device sdb is gone`;
    e.read('  for good', place(2, { before }));
    e.endInput();
    const [f] = e.findings();
    expect(f?.key).toEqual({ dev: 'sdb' });
    expect(f!.evidence[0]).toMatchObject({ line: 1, text: `${before} for good` });
    expect(f!.host).toBe('h');
  });

  it('a plain line before takes no rest (no prefix of a log line)', () => {
    const e = engine([r]);
    e.read('  for good', place(2, { before: 'device sdb is gone' }));
    e.endInput();
    expect(e.findings()).toEqual([]);
  });

  it('nor does a line before that a rule already took', () => {
    const whole = rule({ id: 'whole', patterns: ['device (?<dev>\\w+) is gone'], key: ['dev'] });
    const e = engine([whole, r]);
    const before = `${at(8, 1, 10)} h k: device sdb is gone`;
    e.read(before, place(1));
    e.read('  for good', place(2, { before }));
    e.endInput();
    expect(e.findings().map((f) => f.rule)).toEqual(['whole']);
  });

  it('the joined line keeps to the time window and the hosts', () => {
    const before = `${at(8, 1, 10)} h k: device sdb is gone`;
    for (const opts of [{ since: T + 1000 }, { until: T - 1000 }, { hosts: ['other'] }] as EngineOptions[]) {
      const e = engine([r], opts);
      e.read('  for good', place(2, { before }));
      e.endInput();
      expect(e.findings()).toEqual([]);
    }
    const ok = engine([r], { since: T - 1000, until: T + 1000, hosts: ['h'] });
    ok.read('  for good', place(2, { before }));
    ok.endInput();
    expect(ok.findings()).toHaveLength(1);
  });

  it("syslogd's wall header lends its host to a dated line that names none", () => {
    const e = engine([disk]);
    e.read('(XEN) [2026-11-20 08:01:11.123] disk sda failed', place(2, { before: 'Message from syslogd@xen07 at Nov 20 08:01:10 ...' }));
    e.endInput();
    expect(e.findings()[0]).toMatchObject({ host: 'xen07', first: '2026-11-20T08:01:11.123Z' });
  });

  it("syslogd's wall header lends the next line its host and time", () => {
    const e = engine([disk]);
    e.read(' kernel:[ 12.3] disk sda failed', place(2, { before: 'Message from syslogd@xen07 at Nov 20 08:01:10 ...' }));
    e.endInput();
    const [f] = e.findings();
    expect(f).toMatchObject({ host: 'xen07', first: '2026-11-20T08:01:10Z' });
  });
});

describe('context and release', () => {
  it("lines matching a rule's context are its next hit's evidence (the latest max, within lines)", () => {
    const r = rule({ id: 'crash', patterns: ['guest (?<g>\\w+) crashed'], context: { patterns: ['^hint'], lines: 3, max: 2 } });
    const e = engine([r]);
    feed(e, ['hint 1', 'hint 2', 'hint 3', 'guest a crashed', 'hint 4', 'x', 'x', 'x', 'guest b crashed']);
    const [f] = e.findings();
    const texts = f!.evidence.map((v) => v.text);
    expect(texts).toEqual(['hint 2', 'hint 3', 'guest a crashed', 'guest b crashed']);
  });

  it('a line taken as context is not a hit, nor mined as unrecognised', () => {
    const r = rule({ id: 'crash', patterns: ['guest (?<g>\\w+) crashed'], context: { patterns: ['crashed|hint'] } });
    const e = engine([r], { unrecognized: true });
    feed(e, ['guest a crashed', 'hint: error in the guest']);
    expect(e.findings()).toEqual([]);
    expect(e.unrecognizedTemplates()).toEqual([]);
  });

  it('a release takes a distinct value away from the count', () => {
    const r = rule({
      id: 'ports',
      patterns: ['port (?<p>\\w+) joined'],
      threshold: { count: 3, distinct: 'p', release: ['port (?<p>\\w+) left'] },
    });
    const e = engine([r]);
    feed(e, ['port a joined', 'port b joined', 'port a left', 'port c joined']);
    expect(e.findings()).toEqual([]);
    const f = engine([r]);
    feed(f, ['port a joined', 'port b joined', 'port c joined']);
    expect(f.findings()).toHaveLength(1);
  });
});

describe('the same line from two captures', () => {
  it('a kernel line with the same uptime stamp in two inputs counts once; in one input twice', () => {
    const e = engine();
    const line = `${at(8, 1, 10)} h kernel: [12.345678] disk sda failed`;
    e.read(line, place(1, { source: 'kern.log' }));
    e.read(line, place(1, { source: 'dmesg' }));
    e.endInput();
    expect(e.findings()[0]!.count).toBe(1);
    const f = engine();
    f.read(line, place(1, { source: 'kern.log' }));
    f.read(line, place(2, { source: 'kern.log' }));
    f.endInput();
    expect(f.findings()[0]!.count).toBe(2);
  });

  it('from another host, or a second or more apart, it is another line', () => {
    const e = engine();
    e.read(`${at(8, 1, 10)} h kernel: [12.345678] disk sda failed`, place(1, { source: 'a' }));
    e.read(`${at(8, 1, 10)} g kernel: [12.345678] disk sda failed`, place(1, { source: 'b' }));
    e.read(`${at(8, 1, 12)} h kernel: [12.345678] disk sda failed`, place(1, { source: 'c' }));
    e.endInput();
    expect(
      e
        .findings()
        .map((f) => [f.host, f.count])
        .sort(),
    ).toEqual([
      ['g', 1],
      ['h', 2],
    ]);
  });

  it('a syslog line stamped to the millisecond has no signature either (only Xen console stamps do)', () => {
    const e = engine();
    e.read('2026-11-20T08:01:10.123Z h k: disk sda failed', place(1, { source: 'a' }));
    e.read('2026-11-20T08:01:10.123Z h k: disk sda failed', place(1, { source: 'b' }));
    e.endInput();
    expect(e.findings()[0]!.count).toBe(2);
  });

  it('a line stamped to the second only has no signature: twice from two inputs is twice', () => {
    const e = engine();
    e.read(`${at(8, 1, 10)} h k: disk sda failed`, place(1, { source: 'a' }));
    e.read(`${at(8, 1, 10)} h k: disk sda failed`, place(1, { source: 'b' }));
    e.endInput();
    expect(e.findings()[0]!.count).toBe(2);
  });
});

describe('unrecognised lines', () => {
  it('lines that look like trouble and match no rule are mined (when asked)', () => {
    const e = engine([disk], { unrecognized: true });
    feed(e, ['disk sda failed', 'fan error on board 1', 'fan error on board 2', 'all good']);
    expect(e.unrecognizedTemplates().map((u) => [u.template, u.count])).toEqual([['fan error on board <*>', 2]]);
    expect(e.unrecognizedState()!.templates).toHaveLength(1);
    const off = engine([disk]);
    feed(off, ['fan error on board 1']);
    expect(off.unrecognizedTemplates()).toEqual([]);
    expect(off.unrecognizedState()).toBeNull();
    expect(off.exportState().miner).toBeNull();
  });

  it('on the every-line path too', () => {
    const e = engine([disk], { unrecognized: true, everyLine: true });
    feed(e, ['fan error on board 1', 'all good']);
    expect(e.unrecognizedTemplates().map((u) => u.template)).toEqual(['fan error on board <*>']);
  });
});

describe('bounds, expiry, state', () => {
  it('expire drops the groups last seen before the cutoff, keeps undated ones', () => {
    const e = engine();
    feed(e, [`${at(8, 0, 0)} h k: disk a failed`, `${at(9, 0, 0)} h k: disk b failed`, 'disk c failed']);
    expect(e.expire(T)).toBe(1);
    expect(
      e
        .findings()
        .map((f) => f.key.dev)
        .sort(),
    ).toEqual(['b', 'c']);
    expect(e.expire(T)).toBe(0);
  });

  it('absorb: another engine of the same rules, later in the input: counts add, lines shift', () => {
    const a = engine();
    const b = engine();
    feed(a, [`${at(8, 0, 0)} h k: disk a failed`]);
    feed(b, [`${at(9, 0, 0)} h k: disk a failed`, `${at(9, 0, 1)} h k: disk b failed`]);
    a.absorb(b.exportState(), 10);
    const f = a.findings().sort((x, y) => (x.key.dev! < y.key.dev! ? -1 : 1));
    expect(f.map((x) => [x.key.dev, x.count, x.evidence.map((v) => v.line)])).toEqual([
      ['a', 2, [1, 11]],
      ['b', 1, [12]],
    ]);
    expect(a.exportState().seq).toBe(3);
  });

  it('absorb: the same stamped line read by both engines counts once', () => {
    const line = `${at(8, 1, 10)} h kernel: [12.345678] disk sda failed`;
    const a = engine();
    const b = engine();
    a.read(line, place(1, { source: 'kern.log' }));
    b.read(line, place(1, { source: 'dmesg' }));
    a.absorb(b.exportState());
    expect(a.findings().map((f) => f.count)).toEqual([1]);
  });

  it('pending thresholds carry to the next run', () => {
    const r = rule({ id: 'flap', patterns: ['link (?<nic>\\w+) down'], key: ['nic'], threshold: { count: 3, within: '1h' } });
    const a = engine([r]);
    feed(a, [`${at(8, 0, 0)} h k: link e0 down`, `${at(8, 1, 0)} h k: link e0 down`]);
    expect(a.findings()).toEqual([]);
    const pending = a.pendingThresholds(T);
    expect(pending).toHaveLength(1);
    const b = engine([r]);
    b.seedPending([...pending, { ...pending[0]!, rule: 'gone' }]);
    feed(b, [`${at(8, 2, 0)} h k: link e0 down`]);
    expect(b.findings().map((f) => f.count)).toEqual([1]);
  });

  it('takeFacts: what another engine learnt of the hosts', () => {
    const r = rule({ id: 'old', patterns: ['disk (?<dev>\\w+) failed'], applies: { xen: '<4.5' } });
    const a = engine([r]);
    feed(a, ['(XEN) Xen version 4.17.3 (Debian 4.17.3)']);
    const b = engine([r]);
    feed(b, ['disk sda failed']);
    expect(b.findings()).toHaveLength(1);
    expect(b.applies(b.findings()[0]!)).toBe(true);
    b.takeFacts(a);
    expect(b.findings()).toEqual([]);
    expect(b.applies({ ...a.findings()[0]!, rule: 'unknown' } as never)).toBe(true);
  });

  it('host facts are read on the every-line path too (the version gate)', () => {
    const r = rule({ id: 'old', patterns: ['disk (?<dev>\\w+) failed'], applies: { xen: '<4.5' } });
    const e = engine([r], { everyLine: true });
    feed(e, ['(XEN) Xen version 4.17.3 (Debian 4.17.3)', 'disk sda failed']);
    expect(e.findings()).toEqual([]);
  });

  it('onFinding: "new" at the first hit, "repeat" after', () => {
    const kinds: string[] = [];
    const e = engine([disk], { onFinding: (_f, k) => kinds.push(k) });
    feed(e, ['disk a failed', 'disk a failed', 'disk b failed']);
    expect(kinds).toEqual(['new', 'repeat', 'new']);
  });
});

describe('other readings of a line (a console line glued onto another)', () => {
  const anchored = (extra: Partial<RuleSpec> = {}) =>
    rule({ id: 'glued', patterns: ['^disk (?<dev>\\w+) failed$'], key: ['dev'], ...extra });
  const line = `${at(8, 1, 10)} h k: some text (XEN) disk sda failed`;
  it('a rule that does not match the line as parsed matches the glued part, on both paths', () => {
    for (const opts of [{}, { everyLine: true }] as EngineOptions[]) {
      const e = engine([anchored()], opts);
      feed(e, [line]);
      expect(e.findings().map((f) => [f.key.dev, f.host, f.first])).toEqual([['sda', 'h', '2026-11-20T08:01:10Z']]);
    }
  });

  it("on the every-line path, a rule's literal is found in the line whatever its case", () => {
    const e = engine([anchored({ patterns: ['^DISK (?<dev>\\w+) FAILED$'], flags: 'i' })], { everyLine: true });
    feed(e, [`${at(8, 1, 10)} h k: some text (XEN) Disk sda Failed`]);
    expect(e.findings().map((f) => f.key.dev)).toEqual(['sda']);
  });

  it('on the every-line path, a rule is tried on the other readings when the line holds any one of its literals', () => {
    const either = rule({ id: 'either', patterns: ['^(?:alpha|beta) (?<x>\\d+)$'], key: ['x'] });
    expect(either.literals!.length).toBe(2);
    const e = engine([either], { everyLine: true });
    feed(e, [`${at(8, 1, 10)} h k: some text (XEN) beta 7`]);
    expect(e.findings().map((f) => f.key.x)).toEqual(['7']);
  });

  it('a rule of no literals is tried on the other readings too (every-line path)', () => {
    const e = engine([rule({ id: 'bare', patterns: ['^(?<dev>\\w+)$'], key: ['dev'] })]);
    expect(e.everyLine).toBe(true);
    feed(e, ['Nov 20 08:01:10 h k: some text (XEN) sdz']);
    expect(e.findings().map((f) => f.key.dev)).toEqual(['sdz']);
  });

  it("a rule's ignore patterns hold on the line as parsed too (any one of them)", () => {
    const e = engine([anchored({ ignore: ['never', 'some text'] })]);
    feed(e, [line]);
    expect(e.findings()).toEqual([]);
  });

  it('a line no reading matched is kept for one line: the next may be its wrapped rest', () => {
    const e = engine([anchored()]);
    e.read(`${at(8, 1, 10)} h k: other text (XEN) disk sdb failed now`, place(1));
    expect(e.wantsAll()).toBe(true);
    e.read('nothing', place(2));
    expect(e.wantsAll()).toBe(false);
  });
});

describe('signatures of stamped lines', () => {
  it('a Xen console line stamped to the millisecond read from two inputs counts once; to the second, twice', () => {
    for (const [stamp, count] of [
      ['08:01:10.123', 1],
      ['08:01:10.000', 2],
    ] as const) {
      const e = engine();
      const line = `(XEN) [2026-11-20 ${stamp}] disk sda failed`;
      e.read(line, place(1, { source: 'a' }));
      e.read(line, place(1, { source: 'b' }));
      e.endInput();
      expect(e.findings()[0]!.count).toBe(count);
    }
  });

  it('a Xen console line with no date has no signature', () => {
    const e = engine();
    e.read('(XEN) disk sda failed', place(1, { source: 'a' }));
    e.read('(XEN) disk sda failed', place(1, { source: 'b' }));
    e.endInput();
    expect(e.findings()[0]!.count).toBe(2);
  });
});

describe('journal records shown as log lines', () => {
  it('without time, host, program or pid: dashes for what is missing', () => {
    const e = engine();
    feed(e, [
      JSON.stringify({ MESSAGE: 'disk sda failed' }),
      JSON.stringify({ MESSAGE: 'disk sdb failed', SYSLOG_IDENTIFIER: 'app', _HOSTNAME: 'h' }),
    ]);
    expect(
      e
        .findings()
        .map((f) => f.evidence[0]!.text)
        .sort(),
    ).toEqual(['- - disk sda failed', '- h app: disk sdb failed']);
  });
});
