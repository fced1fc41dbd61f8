/**
 * Unit tests of src/engine/unrecognized-baseline.ts: a baseline learnt (and merged into an older one),
 * a baseline file read, and the novel and burst findings of a scan's templates against it, with
 * their whole texts. The mutation set `engine-unrecognized-baseline`.
 */
import { truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findingId } from '../src/engine/findings.js';
import type { MinerState, TemplateState } from '../src/engine/unrecognized.js';
import {
  BURST_RULE,
  NOVEL_RULE,
  baselineFindings,
  learnBaseline,
  readBaseline,
  type Baseline,
} from '../src/engine/unrecognized-baseline.js';
import { tmp } from './helpers.js';

const HOUR = 3600_000;
const T0 = Date.UTC(2026, 10, 20); // 2026-11-20T00:00:00Z

function tpl(template: string, over: Partial<TemplateState> = {}): TemplateState {
  return {
    template,
    count: 1,
    first: T0,
    last: T0,
    example: `Nov 20 00:00:00 xen07 app: ${template.replace(/<\*>/g, '7')}`,
    source: 'kern.log',
    line: 3,
    hours: [[T0 / HOUR, 1]],
    latest: null,
    ...over,
  };
}
const mined = (...templates: TemplateState[]): MinerState => ({ templates, evicted: 0 });

function baseline(over: Partial<Baseline> = {}): Baseline {
  return {
    tool: 'xendoctor',
    kind: 'baseline',
    format: 1,
    created: '2026-11-19T00:00:00Z',
    hours: 24,
    first: '2026-11-18T00:00:00Z',
    last: '2026-11-19T00:00:00Z',
    lines: 100,
    sources: ['kern.log'],
    templates: [],
    ...over,
  };
}

describe('learnBaseline', () => {
  it('learns templates, their counts, busiest hours and rates over the period', () => {
    const b = learnBaseline(
      {
        mined: mined(
          tpl('disk <*> slow', {
            count: 6,
            hours: [
              [1, 2],
              [2, 4],
            ],
          }),
          tpl('link down', { count: 3, hours: [[5, 3]] }),
          tpl('a untimed', { count: 3, hours: [] }),
        ),
        first: '2026-11-20T00:00:00Z',
        last: '2026-11-20T12:00:00Z',
        lines: 500,
        sources: ['kern.log', 'xl.log', 'kern.log'],
      },
      null,
      Date.UTC(2026, 10, 21, 1, 2, 3),
    );
    expect(b).toEqual({
      tool: 'xendoctor',
      kind: 'baseline',
      format: 1,
      created: '2026-11-21T01:02:03.000Z',
      hours: 12,
      first: '2026-11-20T00:00:00Z',
      last: '2026-11-20T12:00:00Z',
      lines: 500,
      sources: ['kern.log', 'xl.log'],
      // by count, most first; equal counts by template
      templates: [
        { template: 'disk <*> slow', count: 6, peak: 4, rate: 0.5 },
        { template: 'a untimed', count: 3, peak: 0, rate: 0.25 },
        { template: 'link down', count: 3, peak: 3, rate: 0.25 },
      ],
    });
  });

  it('orders templates of equal counts by template, whatever order they were mined in', () => {
    const names = ['b', 'd', 'a', 'c'];
    for (const order of [names, [...names].reverse()]) {
      const b = learnBaseline({
        mined: mined(...order.map((n) => tpl(`${n} thing`, { count: 2 }))),
        first: null,
        last: null,
        lines: 8,
        sources: [],
      });
      expect(b.templates.map((t) => t.template)).toEqual(['a thing', 'b thing', 'c thing', 'd thing']);
    }
  });

  it('counts a period shorter than an hour as one hour, and rounds to four decimals', () => {
    const short = learnBaseline({
      mined: mined(tpl('x', { count: 2 })),
      first: '2026-11-20T00:00:00Z',
      last: '2026-11-20T00:10:00Z',
      lines: 2,
      sources: [],
    });
    expect(short.hours).toBe(1);
    expect(short.templates[0]!.rate).toBe(2);
    const odd = learnBaseline({
      mined: mined(tpl('x', { count: 1 })),
      first: '2026-11-20T00:00:00Z',
      last: '2026-11-20T03:00:00Z',
      lines: 1,
      sources: [],
    });
    expect(odd.hours).toBe(3);
    expect(odd.templates[0]!.rate).toBe(0.3333);
    const frac = learnBaseline({ mined: mined(), first: '2026-11-20T00:00:00Z', last: '2026-11-20T01:00:01Z', lines: 0, sources: [] });
    expect(frac.hours).toBe(1.0003);
  });

  it('has no hours and no rates when the lines carried no time (either end missing)', () => {
    for (const [first, last] of [
      [null, null],
      ['2026-11-20T00:00:00Z', null],
      [null, '2026-11-20T00:00:00Z'],
    ] as const) {
      const b = learnBaseline({ mined: mined(tpl('x')), first, last, lines: 1, sources: [] });
      expect(b.hours).toBeNull();
      expect(b.templates[0]!.rate).toBeNull();
      expect(b.first).toBe(first);
      expect(b.last).toBe(last);
    }
  });

  it('merges into an older baseline: hours, lines and sources added, the period widened, templates matched', () => {
    const prev = baseline({
      hours: 10,
      first: '2026-11-18T00:00:00Z',
      last: '2026-11-18T10:00:00Z',
      lines: 40,
      sources: ['xl.log', 'kern.log'],
      templates: [
        { template: 'disk <*> slow', count: 5, peak: 5, rate: 0.5 },
        { template: 'fan <*> stopped', count: 2, peak: 1, rate: 0.2 },
      ],
    });
    const b = learnBaseline(
      {
        mined: mined(
          tpl('disk sda slow', { count: 10, hours: [[1, 3]] }),
          tpl('fan 2 stopped', { count: 1, hours: [[1, 9]] }),
          tpl('new thing', { count: 2, hours: [] }),
        ),
        first: '2026-11-17T00:00:00Z',
        last: '2026-11-17T10:00:00Z',
        lines: 60,
        sources: ['kern.log', 'dmesg'],
      },
      prev,
      T0,
    );
    expect(b.hours).toBe(20);
    expect(b.first).toBe('2026-11-17T00:00:00Z');
    expect(b.last).toBe('2026-11-18T10:00:00Z');
    expect(b.lines).toBe(100);
    expect(b.sources).toEqual(['xl.log', 'kern.log', 'dmesg']);
    expect(b.templates).toEqual([
      // the learnt template's words kept, the peak the larger
      { template: 'disk <*> slow', count: 15, peak: 5, rate: 0.75 },
      { template: 'fan <*> stopped', count: 3, peak: 9, rate: 0.15 },
      { template: 'new thing', count: 2, peak: 0, rate: 0.1 },
    ]);
    // the older baseline is left as it was
    expect(prev.templates[0]).toEqual({ template: 'disk <*> slow', count: 5, peak: 5, rate: 0.5 });
  });

  it('keeps the older period and hours when the new lines carried no time, and widens it to the later end', () => {
    const prev = baseline({ hours: 10, first: '2026-11-18T00:00:00Z', last: '2026-11-18T10:00:00Z' });
    const none = learnBaseline({ mined: mined(tpl('x', { count: 5 })), first: null, last: null, lines: 1, sources: [] }, prev);
    expect([none.hours, none.first, none.last, none.templates[0]!.rate]).toEqual([10, '2026-11-18T00:00:00Z', '2026-11-18T10:00:00Z', 0.5]);
    const later = learnBaseline(
      { mined: mined(), first: '2026-11-19T00:00:00Z', last: '2026-11-19T05:00:00Z', lines: 1, sources: [] },
      prev,
    );
    expect([later.hours, later.first, later.last]).toEqual([15, '2026-11-18T00:00:00Z', '2026-11-19T05:00:00Z']);
    const untimedPrev = baseline({ hours: null, first: null, last: null });
    const first = learnBaseline(
      { mined: mined(), first: '2026-11-19T00:00:00Z', last: '2026-11-19T05:00:00Z', lines: 1, sources: [] },
      untimedPrev,
    );
    expect([first.hours, first.first, first.last]).toEqual([5, '2026-11-19T00:00:00Z', '2026-11-19T05:00:00Z']);
    const neither = learnBaseline({ mined: mined(), first: null, last: null, lines: 1, sources: [] }, untimedPrev);
    expect([neither.hours, neither.first, neither.last]).toEqual([null, null, null]);
  });
});

describe('readBaseline', () => {
  it('reads a baseline file back', () => {
    const file = join(tmp(), 'b.json');
    const b = learnBaseline({ mined: mined(tpl('x')), first: null, last: null, lines: 1, sources: ['a'] }, null, T0);
    writeFileSync(file, JSON.stringify(b));
    expect(readBaseline(file)).toEqual(b);
  });

  it('says what is wrong with a file that is no baseline', () => {
    const dir = tmp();
    const write = (name: string, text: string) => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    const missing = join(dir, 'missing.json');
    expect(() => readBaseline(missing)).toThrow(new RegExp(`^cannot read the baseline ${missing}: .*ENOENT`));
    const bad = write('bad.json', '{ not json');
    expect(() => readBaseline(bad)).toThrow(new RegExp(`^cannot read the baseline ${bad}: .*JSON`));
    const no = (f: string) => `${f} is not a xendoctor baseline (made by \`xendoctor baseline learn\`)`;
    for (const [name, text] of [
      ['kind.json', { kind: 'state', format: 1, templates: [] }],
      ['format.json', { kind: 'baseline', format: 2, templates: [] }],
      ['templates.json', { kind: 'baseline', format: 1, templates: {} }],
      ['none.json', { kind: 'baseline', format: 1 }],
      ['null.json', null],
    ] as const) {
      const f = write(name, JSON.stringify(text));
      expect(() => readBaseline(f), name).toThrow(no(f));
    }
    expect(readBaseline(write('ok.json', JSON.stringify({ kind: 'baseline', format: 1, templates: [] })))).toEqual({
      kind: 'baseline',
      format: 1,
      templates: [],
    });
  });
});

describe('readBaseline: size', () => {
  it('refuses a file over 64 MiB without reading it', () => {
    const file = join(tmp(), 'big.json');
    writeFileSync(file, '');
    truncateSync(file, 64 * 1024 * 1024 + 1); // sparse: nothing written
    expect(() => readBaseline(file)).toThrow(
      /^cannot read the baseline .*big\.json: .*too large \(67108865 bytes; at most 67108864 are read\)/,
    );
  });
});

describe('baselineFindings: novel templates', () => {
  it('flags a template the baseline never saw, with its whole text', () => {
    const t = tpl('disk <*> slow', { count: 2, first: T0, last: T0 + HOUR, line: 12 });
    const out = baselineFindings(mined(t), { baseline: baseline(), file: '/var/lib/b.json' });
    const learnt = '/var/lib/b.json (24 h from 2026-11-18T00:00:00Z to 2026-11-19T00:00:00Z)';
    expect(out).toEqual([
      {
        id: findingId(NOVEL_RULE, 'xen07', { template: 'disk <*> slow' }),
        rule: 'unrecognized-novel',
        title: 'New kind of message, not in the baseline: disk <*> slow',
        severity: 'warning',
        host: 'xen07',
        key: { template: 'disk <*> slow' },
        count: 2,
        first: '2026-11-20T00:00:00Z',
        last: '2026-11-20T01:00:00Z',
        evidence: [{ source: 'kern.log', line: 12, time: '2026-11-20T00:00:00Z', text: 'Nov 20 00:00:00 xen07 app: disk 7 slow' }],
        diagnosis:
          'A message that looks like trouble, and that no rule of the catalogue recognises, appeared 2 times between ' +
          `2026-11-20T00:00:00Z and 2026-11-20T01:00:00Z; the baseline ${learnt} never saw a message of its kind:\n` +
          '  disk <*> slow\n' +
          'On large hosts faults build up slowly and a message nobody has seen before is often their first sign. ' +
          'Find out what it means before it matters: which device, guest or daemon wrote it, and whether it keeps coming.',
        fix: [
          "Look the message up in the knowledge base: xendoctor explain 'disk 7 slow'",
          'See what else happened on the host then: xendoctor timeline --around 2026-11-20T00:00:00Z --window 30m <logs>',
          "If it is normal for this host, learn it into the baseline: xendoctor baseline learn <logs of a healthy period> --state '/var/lib/b.json' --merge",
          'If it is a real problem, write a rule for it (docs/rule-format.md) so that it comes with its diagnosis and fix next time',
        ],
        references: [],
        harmless: false,
        causedBy: [],
        tags: ['unrecognized', 'novel'],
      },
    ]);
  });

  it('words one line, an untimed template and a baseline without times; quotes for the shell; names related entries', () => {
    const t = tpl("can't open <*>", { count: 1, first: null, last: null, hours: [], example: "can't open /dev/x" });
    const b = baseline({ hours: null, first: null, last: null, templates: [{ template: 'other', count: 1, peak: 1, rate: null }] });
    const [f] = baselineFindings(mined(t), { baseline: b, file: "/tmp/it's.json" }, new Map([["can't open <*>", ['xen-a', 'xen-b']]]));
    expect(f!.host).toBeNull();
    expect(f!.first).toBeNull();
    expect(f!.evidence[0]!.time).toBeNull();
    expect(f!.diagnosis).toContain(
      "appeared 1 time; the baseline /tmp/it's.json (a period without times from ? to ?) never saw a message of its kind:\n  can't open <*>\n",
    );
    expect(f!.fix).toEqual([
      "Look the message up in the knowledge base: xendoctor explain 'can'\\''t open /dev/x'",
      'Read the closest entries: xendoctor explain xen-a; xendoctor explain xen-b',
      "If it is normal for this host, learn it into the baseline: xendoctor baseline learn <logs of a healthy period> --state '/tmp/it'\\''s.json' --merge",
      'If it is a real problem, write a rule for it (docs/rule-format.md) so that it comes with its diagnosis and fix next time',
    ]);
  });

  it('quotes every quote of a message for the shell', () => {
    const [f] = baselineFindings(mined(tpl("a 'b' c", { example: "a 'b' 'c'" })), { baseline: baseline(), file: 'b' });
    expect(f!.fix[0]).toBe("Look the message up in the knowledge base: xendoctor explain 'a '\\''b'\\'' '\\''c'\\'''");
  });

  it('rounds the learnt hours, and cuts a long message (300) and a long template in the title (100)', () => {
    const long = 'w'.repeat(120);
    const msg = 'm'.repeat(301);
    const t = tpl(long, { example: `Nov 20 00:00:00 xen07 app: ${msg}` });
    const [f] = baselineFindings(mined(t), { baseline: baseline({ hours: 23.6 }), file: 'b.json' });
    expect(f!.title).toBe(`New kind of message, not in the baseline: ${'w'.repeat(99)}…`);
    expect(f!.diagnosis).toContain('the baseline b.json (24 h from ');
    expect(f!.diagnosis).toContain(`:\n  ${long}\n`);
    expect(f!.fix[0]).toBe(`Look the message up in the knowledge base: xendoctor explain '${'m'.repeat(300)}'`);
    const exact = tpl('v'.repeat(100), { example: `Nov 20 00:00:00 xen07 app: ${'n'.repeat(300)}` });
    const [g] = baselineFindings(mined(exact), { baseline: baseline(), file: 'b.json' });
    expect(g!.title).toBe(`New kind of message, not in the baseline: ${'v'.repeat(100)}`);
    expect(g!.fix[0]).toBe(`Look the message up in the knowledge base: xendoctor explain '${'n'.repeat(300)}'`);
  });

  it('knows a template the baseline has, words or wildcards', () => {
    const b = baseline({ templates: [{ template: 'disk <*> slow', count: 1, peak: 100, rate: 1 }] });
    expect(
      baselineFindings(mined(tpl('disk sda slow'), tpl('disk <*> slow'), tpl('disk slow')), { baseline: b, file: 'b' }).map(
        (f) => f.key.template,
      ),
    ).toEqual(['disk slow']);
  });
});

describe('baselineFindings: bursts', () => {
  const known = (rate: number | null, peak = 1, template = 'disk <*> slow') => ({ template, count: 10, peak, rate });
  const busy = (n: number, over: Partial<TemplateState> = {}) =>
    tpl('disk sda slow', {
      count: n + 3,
      first: T0,
      last: T0 + 2 * HOUR,
      hours: [
        [T0 / HOUR, 3],
        [T0 / HOUR + 1, n],
      ],
      ...over,
    });
  const find = (t: TemplateState, b: Baseline, opts: { factor?: number; minCount?: number } = {}) =>
    baselineFindings(mined(t), { baseline: b, file: '/b.json', ...opts });

  it('flags a busiest hour of at least 10 lines, 10 times the usual rate and above the busiest learnt hour, with its whole text', () => {
    const latest = { text: 'Nov 20 01:59:00 xen07 app: disk sda slow', source: 'syslog', line: 99, time: T0 + 2 * HOUR };
    const out = find(busy(20, { latest }), baseline({ templates: [known(1.5, 4)] }));
    expect(out).toEqual([
      {
        id: findingId(BURST_RULE, 'xen07', { template: 'disk sda slow' }),
        rule: 'unrecognized-burst',
        title: 'Burst of a known message: 20 in one hour (usually 1.5 an hour): disk sda slow',
        severity: 'warning',
        host: 'xen07',
        key: { template: 'disk sda slow' },
        count: 23,
        first: '2026-11-20T00:00:00Z',
        last: '2026-11-20T02:00:00Z',
        evidence: [
          { source: 'kern.log', line: 3, time: '2026-11-20T00:00:00Z', text: 'Nov 20 00:00:00 xen07 app: disk sda slow' },
          { source: 'syslog', line: 99, time: '2026-11-20T02:00:00Z', text: latest.text },
        ],
        diagnosis:
          'A message that looks like trouble and that no rule recognises came 20 times in the hour from 2026-11-20T01:00:00Z, ' +
          '13 times its usual rate of 1.5 an hour (at most 4 in one hour) in the baseline ' +
          '/b.json (24 h from 2026-11-18T00:00:00Z to 2026-11-19T00:00:00Z); 23 in all in this scan:\n' +
          '  disk sda slow\n' +
          'A familiar message that suddenly comes much more often usually means that something it reports on is degrading: a disk, a link, a daemon, a guest.',
        fix: [
          "Look the message up in the knowledge base: xendoctor explain 'disk sda slow'",
          'See what else happened on the host then: xendoctor timeline --around 2026-11-20T01:00:00Z --window 30m <logs>',
          "If the new rate is the new normal (more guests, a changed setup), learn it: xendoctor baseline learn <logs> --state '/b.json' --merge",
        ],
        references: [],
        harmless: false,
        causedBy: [],
        tags: ['unrecognized', 'burst'],
      },
    ]);
  });

  it('needs the minimum count (10, or as given)', () => {
    const b = baseline({ templates: [known(0.1)] });
    expect(find(busy(9), b)).toEqual([]);
    expect(find(busy(10), b).map((f) => f.rule)).toEqual([BURST_RULE]);
    expect(find(busy(10), b, { minCount: 11 })).toEqual([]);
    expect(find(busy(5), b, { minCount: 5 }).map((f) => f.rule)).toEqual([BURST_RULE]);
  });

  it('needs the factor times the usual rate (10, or as given), the rates of every matching template added', () => {
    expect(find(busy(19), baseline({ templates: [known(2)] }))).toEqual([]);
    expect(find(busy(20), baseline({ templates: [known(2)] })).length).toBe(1);
    expect(find(busy(20), baseline({ templates: [known(2)] }), { factor: 11 })).toEqual([]);
    expect(find(busy(20), baseline({ templates: [known(4)] }), { factor: 5 }).length).toBe(1);
    // two learnt templates match: their rates add up (1 + 1.5 = 2.5: 25 lines needed)
    const two = baseline({ templates: [known(1, 1, 'disk <*> slow'), known(1.5, 1, 'disk sda <*>')] });
    expect(find(busy(24), two)).toEqual([]);
    const [f] = find(busy(25), two);
    expect(f!.title).toBe('Burst of a known message: 25 in one hour (usually 2.5 an hour): disk sda slow');
  });

  it('needs more than the busiest hour learnt (of every matching template)', () => {
    expect(find(busy(20), baseline({ templates: [known(0.1, 20)] }))).toEqual([]);
    expect(find(busy(20), baseline({ templates: [known(0.1, 19)] })).length).toBe(1);
    expect(find(busy(20), baseline({ templates: [known(0.1, 1), known(0.1, 20, 'disk sda <*>')] }))).toEqual([]);
  });

  it('flags no burst against a template learnt without times, nor for a template without hours', () => {
    expect(find(busy(50), baseline({ templates: [known(null)] }))).toEqual([]);
    expect(find(busy(50), baseline({ templates: [known(0.1), known(null, 1, 'disk sda <*>')] }))).toEqual([]);
    expect(find(busy(50, { hours: [] }), baseline({ templates: [known(0.1)] }))).toEqual([]);
  });

  it('words the usual rate and the ratio at each size', () => {
    const words = (rate: number, n: number) => {
      const [f] = find(busy(n), baseline({ templates: [known(rate)] }));
      return [f!.title.replace(/^.*\(usually (.*) an hour\).*$/, '$1'), f!.diagnosis.replace(/^.*, (.*) times its usual rate .*$/s, '$1')];
    };
    expect(words(1, 10)).toEqual(['1', '10']);
    expect(words(1.26, 20)).toEqual(['1.3', '16']);
    expect(words(0.5, 10)).toEqual(['0.50', '20']);
    expect(words(0.01, 10)).toEqual(['0.01', '1000']);
    expect(words(0.0099, 10)).toEqual(['9.9e-3', 'more than a thousand']);
    expect(words(0.00999, 10)).toEqual(['1.0e-2', 'more than a thousand']);
    expect(words(0, 10)).toEqual(['0.0e+0', 'more than a thousand']);
  });

  it('adds no latest line when there is none', () => {
    const [f] = find(busy(20), baseline({ templates: [known(1)] }));
    expect(f!.evidence).toEqual([
      { source: 'kern.log', line: 3, time: '2026-11-20T00:00:00Z', text: 'Nov 20 00:00:00 xen07 app: disk sda slow' },
    ]);
  });
});
