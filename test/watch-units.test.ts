/** The parts of `watch` on their own: line splitting, globs, argv, and the folding and memory bounds of the live analyser. */
import { describe, expect, it } from 'vitest';
import { followableName, globToRegExp, LineSplitter } from '../src/sources/follow.js';
import { MAX_LINE } from '../src/sources/lines.js';
import { splitArgv } from '../src/deliver/notify.js';
import { LiveAnalyser, type LiveSource, type RepeatSummary } from '../src/live/analyser.js';
import { loadCatalogue } from '../src/engine/catalogue.js';
import type { Finding, Severity } from '../src/types.js';
import { WATCH_RULES } from './watch-helpers.js';

describe('LineSplitter', () => {
  const split = (chunks: (string | Buffer)[]) => {
    const lines: string[] = [];
    const cuts: number[] = [];
    const s = new LineSplitter(
      (b, st, en, n) => lines.push(`${n}:${b.toString('utf8', st, en)}`),
      (n) => cuts.push(n),
    );
    for (const c of chunks) s.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
    return { s, lines, cuts };
  };

  it('splits lines across chunks anywhere, strips CR, holds an unfinished line until flushed', () => {
    const { s, lines } = split(['a', 'b\r\nc\n', '', 'd', 'e\nf']);
    expect(lines).toEqual(['1:ab', '2:c', '3:de']);
    expect(s.pending).toBe(1);
    s.flush();
    expect(lines).toEqual(['1:ab', '2:c', '3:de', '4:f']);
  });

  it('cuts a line longer than MAX_LINE and drops its rest, whatever the chunking', () => {
    const long = 'x'.repeat(MAX_LINE + 5000);
    for (const chunks of [
      [`${long}\nok\n`],
      [long.slice(0, 1000), long.slice(1000), '\nok\n'],
      [long.slice(0, MAX_LINE - 1), 'yy', long, '\nok\n'],
    ]) {
      const { lines, cuts } = split(chunks);
      expect(lines.map((l) => l.length)).toEqual([2 + MAX_LINE, 4]);
      expect(lines[1]).toBe('2:ok');
      expect(cuts).toEqual([1]);
    }
  });
});

describe('globs and names', () => {
  it('turns globs into path regexes', () => {
    expect(globToRegExp('/var/log/xen/*.log').test('/var/log/xen/qemu-dm-a.log')).toBe(true);
    expect(globToRegExp('/var/log/xen/*.log').test('/var/log/xen/sub/a.log')).toBe(false);
    expect(globToRegExp('/var/log/**/*.log').test('/var/log/xen/sub/a.log')).toBe(true);
    expect(globToRegExp('/var/log/{kern,syslog}.lo?').test('/var/log/syslog.log')).toBe(true);
    expect(globToRegExp('/var/log/[!k]*').test('/var/log/kern.log')).toBe(false);
  });

  it('follows live logs from folders, not their rotated copies or binary logs', () => {
    for (const n of ['kern.log', 'syslog', 'xl-guest1.log', 'qemu-dm-web.log']) expect(followableName(`/var/log/${n}`)).toBe(true);
    for (const n of ['kern.log.1', 'kern.log.2.gz', 'syslog-20261120', 'messages.20261120', 'wtmp', 'x.journal', '.hidden', 'a.log.old'])
      expect(followableName(`/var/log/${n}`)).toBe(false);
  });
});

describe('splitArgv', () => {
  it('splits words and quotes like a shell, expanding nothing', () => {
    expect(splitArgv(`notify --to "ops team" 'a $HOME b' c\\ d "x\\"y" $PATH`)).toEqual([
      'notify',
      '--to',
      'ops team',
      'a $HOME b',
      'c d',
      'x"y',
      '$PATH',
    ]);
    expect(splitArgv('  a   b  ')).toEqual(['a', 'b']);
    expect(splitArgv(`a ''`)).toEqual(['a', '']);
    expect(() => splitArgv(`a "b`)).toThrow(/unbalanced/);
  });
});

describe('LiveAnalyser', () => {
  const rules = loadCatalogue({ extraDirs: [WATCH_RULES], noBundled: true });
  const setup = (over: { forgetMs?: number; recycleMs?: number; minSeverity?: Severity } = {}) => {
    let now = Date.parse('2026-11-26T04:00:00Z');
    const news: Finding[] = [];
    const repeats: RepeatSummary[] = [];
    const a = new LiveAnalyser(rules, {
      zone: 'UTC',
      year: null,
      minSeverity: over.minSeverity ?? 'info',
      repeatIntervalMs: 60_000,
      forgetMs: over.forgetMs ?? 86_400_000,
      recycleMs: 0,
      onNew: (f) => news.push(f),
      onRepeat: (r) => repeats.push(r),
      notice: () => undefined,
      now: () => now,
    });
    const src: LiveSource = { name: '/var/log/kern.log', host: null };
    let n = 0;
    const line = (text: string) => {
      const b = Buffer.from(text);
      a.line(src, b, 0, b.length, ++n);
    };
    return { a, news, repeats, line, advance: (ms: number) => (now += ms) };
  };

  it('announces once, sums up repeats per interval, forgets quiet findings and announces them again', () => {
    const { a, news, repeats, line, advance } = setup({ forgetMs: 3_600_000 });
    line('Nov 26 04:00:00 xen07 kernel: XDPROBE 1');
    for (let i = 0; i < 1000; i++) line('Nov 26 04:00:00 xen07 kernel: XDPROBE 1');
    expect(news).toHaveLength(1);
    a.tick();
    expect(repeats).toHaveLength(0); // not yet: once per interval
    advance(60_000);
    a.tick();
    expect(repeats.map((r) => [r.repeats, r.total, r.until - r.since])).toEqual([[1000, 1001, 60_000]]);
    advance(60_000);
    a.tick();
    expect(repeats).toHaveLength(1); // nothing new, nothing said
    expect(a.remembered).toBe(1);
    advance(3_600_001);
    a.tick();
    expect(a.remembered).toBe(0);
    line('Nov 26 05:02:00 xen07 kernel: XDPROBE 1');
    expect(news).toHaveLength(2);
  });

  it("counts a threshold's hits across expiry ticks when the lines are dated long before the wall clock", () => {
    // the wall clock a week after the lines' stamps (a host whose clock or zone is off, lines relayed late):
    // the hits were once measured against it and dropped at the first expiry tick, so the third never fired
    const { a, news, line, advance } = setup({ forgetMs: 3_600_000 });
    advance(7 * 86_400_000);
    line('Nov 26 04:00:00 xen07 app[1]: XDBURST b');
    line('Nov 26 04:00:01 xen07 app[1]: XDBURST b');
    a.tick(); // the first tick expires what has gone quiet
    advance(3_000);
    a.tick();
    line('Nov 26 04:00:03 xen07 app[1]: XDBURST b');
    expect(news.map((f) => [f.rule, f.count])).toEqual([['watch-burst', 3]]);
    a.stop();
  });

  it('still forgets a threshold whose hits have gone quiet in log time, and a line dated in the future ages nothing', () => {
    const { a, news, line, advance } = setup({ forgetMs: 600_000 });
    advance(7 * 86_400_000);
    line('Nov 26 04:00:00 xen07 app[1]: XDBURST b');
    line('Nov 26 04:00:01 xen07 app[1]: XDBURST b');
    // a line of the same host an hour later in log time: the burst's group is quiet, and forgotten
    line('Nov 26 05:00:00 xen07 app[1]: XDBURST other');
    line('Nov 26 05:00:00 xen07 app[1]: XDBURST c');
    line('Nov 26 05:00:01 xen07 app[1]: XDBURST c');
    // a line dated years ahead: no other group of the host is aged by it
    line('Nov 26 05:00:02 xen07 kernel: XDPROBE 2099');
    line('2099-01-01T00:00:00+00:00 xen07 app[1]: XDBURST future');
    // nor does another host whose clock is an hour ahead
    line('Nov 26 06:00:00 xen08 app[1]: XDBURST ahead');
    a.tick();
    line('Nov 26 05:00:02 xen07 app[1]: XDBURST b'); // one hit after the forgetting: not the third
    line('Nov 26 05:00:02 xen07 app[1]: XDBURST c'); // the third within the minute: fires
    expect(news.filter((f) => f.rule === 'watch-burst').map((f) => [f.key.name, f.count])).toEqual([['c', 3]]);
    a.stop();
  });

  it('keeps threshold progress when the engine is renewed (recycled or reloaded)', () => {
    const { a, news, line } = setup();
    line('Nov 26 04:00:00 xen07 app[1]: XDBURST b');
    line('Nov 26 04:00:01 xen07 app[1]: XDBURST b');
    a.reload(rules);
    expect(news).toHaveLength(0);
    line('Nov 26 04:00:02 xen07 app[1]: XDBURST b');
    expect(news.map((f) => [f.rule, f.count])).toEqual([['watch-burst', 3]]);
    a.reload(rules); // an already announced finding is not announced again
    line('Nov 26 04:00:03 xen07 app[1]: XDBURST b');
    line('Nov 26 04:00:04 xen07 app[1]: XDPROBE 2');
    expect(news.map((f) => f.rule)).toEqual(['watch-burst', 'watch-probe']);
    a.stop();
  });

  it('honours --min-severity and never analyses its own syslog lines', () => {
    const { news, line } = setup({ minSeverity: 'error' });
    line('Nov 26 04:00:00 xen07 kernel: XDPROBE 1'); // a warning
    for (let i = 0; i < 3; i++) line('Nov 26 04:00:00 xen07 xendoctor: 2026-11-26 ERROR [watch-burst] xen07: Burst c — XDBURST c');
    expect(news).toHaveLength(0);
  });
});
