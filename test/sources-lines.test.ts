/**
 * Unit tests of src/sources/lines.ts (the line reader) with a prefilter of its own: which lines reach
 * the sink (candidates, lines asked for, lines a sink's `passed` refuses), the line before that goes
 * with a wrapped rest or a wall broadcast, journal lines with a MESSAGE of bytes, over-long lines and
 * their notes, the statistics, a failing read. The properties over any bytes and any chunking (the
 * simple path) are in test/fuzz.test.ts; this file is the mutation set `sources-lines`.
 */
import { describe, expect, it } from 'vitest';
import { MAX_LINE, isWallHeader, scanLines, type LineSink, type LineStats, type Prefilter } from '../src/sources/lines.js';

/** A prefilter over fixed literals (case as given). `find` reuses its list, as engine/prefilter.ts's does. */
function literals(...lits: string[]): Prefilter & { finds: number } {
  const bytes = lits.map((l) => Buffer.from(l));
  const list = new Int32Array(4096);
  const starts = (buf: Uint8Array, from: number, end: number): number[] => {
    const out: number[] = [];
    const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    for (let p = from; p < end; p++) if (bytes.some((l) => p + l.length <= end && b.subarray(p, p + l.length).equals(l))) out.push(p);
    return out;
  };
  const pf = {
    finds: 0,
    find(buf: Uint8Array, from: number, end: number) {
      pf.finds++;
      const s = starts(buf, from, end);
      list.fill(-7);
      s.forEach((x, i) => (list[i] = x));
      return { at: list, n: s.length };
    },
    next(buf: Uint8Array, from: number, end: number) {
      return starts(buf, from, end)[0] ?? -1;
    },
  };
  return pf;
}

interface Got {
  text: string;
  n: number;
  candidate: boolean;
  raw: string;
  before?: string;
}

async function* feed(chunks: (string | Buffer)[]): AsyncGenerator<Buffer> {
  for (const c of chunks) yield typeof c === 'string' ? Buffer.from(c) : c;
}

/** Reads `chunks`; the sink records every line with its raw bytes, and wants all lines after a line holding "BEGIN" until one holding "END". */
async function read(
  chunks: (string | Buffer)[],
  prefilter: Prefilter | null,
  opts: { everyLine?: boolean; passed?: (text: string, n: number) => boolean } = {},
): Promise<{ got: Got[]; stats: LineStats; passed: [string, number][] }> {
  const got: Got[] = [];
  const passed: [string, number][] = [];
  let all = false;
  const sink: LineSink = {
    wantsAll: () => all,
    line(text, n, candidate, raw, start, end, before) {
      got.push({ text, n, candidate, raw: Buffer.from(raw.subarray(start, end)).toString(), ...(before === undefined ? {} : { before }) });
      if (text.includes('BEGIN')) all = true;
      if (text.includes('END')) all = false;
    },
  };
  if (opts.passed) {
    const f = opts.passed;
    sink.passed = (raw, start, end, n) => {
      const text = Buffer.from(raw.subarray(start, end)).toString();
      passed.push([text, n]);
      return f(text, n);
    };
  }
  const stats = await scanLines(feed(chunks), prefilter, sink, opts.everyLine);
  return { got, stats, passed };
}

const texts = (got: Got[]) => got.map((g) => [g.n, g.text, g.candidate]);

describe('scanLines with a prefilter', () => {
  it('hands the sink the lines that hold a literal, as candidates, and counts every line', async () => {
    const { got, stats } = await read(['one\nthe Oops here\nthree\nOops\nfive'], literals('Oops'));
    expect(texts(got)).toEqual([
      [2, 'the Oops here', true],
      [4, 'Oops', true],
    ]);
    expect(got.map((g) => g.raw)).toEqual(['the Oops here', 'Oops']);
    expect(stats.lines).toBe(5);
    expect(stats.bytes).toBe(33);
    expect(stats.head).toEqual(['one', 'the Oops here', 'three', 'Oops', 'five']);
    expect(stats.tail).toBe('five');
    expect(stats.error).toBeNull();
    expect(stats.notes).toEqual([]);
  });

  it('takes a literal at the very start or end of a line', async () => {
    const { got } = await read(['Oops\nx\nabOops\nOop\nsOops\n'], literals('Oops'));
    expect(texts(got)).toEqual([
      [1, 'Oops', true],
      [3, 'abOops', true],
      [5, 'sOops', true],
    ]);
  });

  it('skips past the hits of lines before (several hits in one line, hits in lines not asked for)', async () => {
    const { got } = await read(['a a a\nb\na\nb b\n'], literals('a'));
    expect(texts(got)).toEqual([
      [1, 'a a a', true],
      [3, 'a', true],
    ]);
  });

  it('is every line a candidate with everyLine, or with no prefilter', async () => {
    const pf = literals('zzz');
    const a = await read(['x\ny\n'], pf, { everyLine: true });
    expect(texts(a.got)).toEqual([
      [1, 'x', true],
      [2, 'y', true],
    ]);
    expect(pf.finds).toBe(0);
    const b = await read(['x\ny\n'], null);
    expect(texts(b.got)).toEqual(texts(a.got));
  });

  it('hands over every line, not as a candidate, while the sink wants all, asking again after each line', async () => {
    const { got } = await read(['x\nOops BEGIN\nplain\nmore\nEND here\nafter\nOops\n'], literals('Oops'));
    expect(texts(got)).toEqual([
      [2, 'Oops BEGIN', true],
      [3, 'plain', false],
      [4, 'more', false],
      [5, 'END here', false],
      [7, 'Oops', true],
    ]);
  });

  it('asks the sink before each block whether it wants all (a report open across chunks)', async () => {
    const { got } = await read(['Oops BEGIN\n', 'plain\n', 'END\nlast\n'], literals('Oops'));
    expect(texts(got)).toEqual([
      [1, 'Oops BEGIN', true],
      [2, 'plain', false],
      [3, 'END', false],
    ]);
  });
});

describe('scanLines: a sink that looks at passed lines', () => {
  it('offers each line neither a candidate nor asked for, and hands it over when refused', async () => {
    const { got, passed } = await read(['a\nOops\nkeep me\nd\n'], literals('Oops'), { passed: (t) => !t.startsWith('keep') });
    expect(passed).toEqual([
      ['a', 1],
      ['keep me', 3],
      ['d', 4],
    ]);
    expect(texts(got)).toEqual([
      [2, 'Oops', true],
      [3, 'keep me', false],
    ]);
  });

  it('does not offer a line that has a line before to go with it: it is handed over', async () => {
    const { got, passed } = await read(
      ['head\n  rest\nMessage from syslogd@xen07 at Oct 20 03:14:17 ...\nkernel: panic\nz\n'],
      literals('Oops'),
      {
        passed: () => true,
      },
    );
    expect(passed.map((p) => p[0])).toEqual(['head', 'Message from syslogd@xen07 at Oct 20 03:14:17 ...', 'z']);
    expect(got).toEqual([
      { text: '  rest', n: 2, candidate: false, raw: '  rest', before: 'head' },
      { text: 'kernel: panic', n: 4, candidate: false, raw: 'kernel: panic', before: 'Message from syslogd@xen07 at Oct 20 03:14:17 ...' },
    ]);
  });
});

describe('scanLines: the line before a wrapped rest or after a wall header', () => {
  it('makes a wrapped rest a candidate when the two lines joined hold a literal', async () => {
    for (const lead of [' ', '\t', '>', '  \t> ']) {
      const { got } = await read([`foo: cannot\n${lead}allocate buffer\nbar\n`], literals('cannot allocate'));
      expect(got, JSON.stringify(lead)).toEqual([
        { text: `${lead}allocate buffer`, n: 2, candidate: true, raw: `${lead}allocate buffer`, before: 'foo: cannot' },
      ]);
    }
  });

  it('takes a literal that starts the line before', async () => {
    const { got } = await read(['cannot\n  allocate\n'], literals('cannot allocate'));
    expect(texts(got)).toEqual([[2, '  allocate', true]]);
  });

  it('joins with one space after the rest is stripped of its indentation and quoting only', async () => {
    // the literal needs the joined text to be exactly "a b": one space, no more
    const hit = await read(['x a\n  >b y\n'], literals('a b'));
    expect(hit.got.map((g) => g.candidate)).toEqual([true]);
    const miss = await read(['x a\n  > .b y\n'], literals('a b'));
    expect(miss.got).toEqual([]);
    // the rest's own end: nothing past the line's end joins in
    const end = await read(['x a\n b\ny\n'], literals('a b\ny'));
    expect(end.got).toEqual([]);
  });

  it('gives a candidate rest its line before, from the block before too, with its CR dropped', async () => {
    const { got } = await read(['Oops one\r\n', ' Oops two\n'], literals('Oops'));
    expect(got).toEqual([
      { text: 'Oops one', n: 1, candidate: true, raw: 'Oops one\r' },
      { text: ' Oops two', n: 2, candidate: true, raw: ' Oops two', before: 'Oops one' },
    ]);
  });

  it('joins a rest with the line before when that line ended the chunk before', async () => {
    const { got } = await read(['foo: cannot\n', '    allocate buffer\n'], literals('cannot allocate'));
    expect(texts(got)).toEqual([[2, '    allocate buffer', true]]);
    expect(got[0]!.before).toBe('foo: cannot');
  });

  it('gives the first line of an input no line before', async () => {
    const { got } = await read(['  Oops\n'], literals('Oops'));
    expect(got).toEqual([{ text: '  Oops', n: 1, candidate: true, raw: '  Oops' }]);
    // an indented first line that is no candidate: nothing to join it with
    const plain = await read(['  foo\nOops\n'], literals('Oops'));
    expect(texts(plain.got)).toEqual([[2, 'Oops', true]]);
    expect(plain.stats.error).toBeNull();
  });

  it('gives the line after a wall header its header, and not the line after that', async () => {
    const wall = 'Message from syslogd@xen07 at Oct 20 03:14:17 ...';
    const { got } = await read([`${wall}\nkernel: Oops\nOops again\n`], literals('Oops'));
    expect(got).toEqual([
      { text: 'kernel: Oops', n: 2, candidate: true, raw: 'kernel: Oops', before: wall },
      { text: 'Oops again', n: 3, candidate: true, raw: 'Oops again' },
    ]);
  });

  it('does not search a line after a wall header joined with it (only a wrapped rest)', async () => {
    const { got } = await read(['Message from syslogd@xen07 at x\nfoo\n'], literals('x foo'));
    expect(got).toEqual([]);
  });

  it('does not search a rest joined when the sink wants all or every line is a candidate', async () => {
    const pf = literals('cannot allocate', 'BEGIN');
    let nexts = 0;
    const next = pf.next.bind(pf);
    pf.next = (b, f, e) => (nexts++, next(b, f, e));
    const open = await read(['BEGIN\nfoo: cannot\n  allocate\nEND\n'], pf);
    expect(texts(open.got)).toEqual([
      [1, 'BEGIN', true],
      [2, 'foo: cannot', false],
      [3, '  allocate', false],
      [4, 'END', false],
    ]);
    await read(['foo: cannot\n  allocate\n'], pf, { everyLine: true });
    expect(nexts).toBe(0);
    await read(['foo: cannot\n  allocate\n'], pf);
    expect(nexts).toBe(1);
  });
});

describe('isWallHeader', () => {
  const at = (s: string, from = 0, end?: number) => {
    const b = Buffer.from(s);
    return isWallHeader(b, from, end ?? b.length);
  };
  it("knows syslogd's header after blanks, a BEL or a CR", () => {
    expect(at('Message from syslogd@xen07 at Oct 20 03:14:17 ...')).toBe(true);
    expect(at('Message from syslogd@')).toBe(true);
    expect(at(' \t\x07\r Message from syslogd@h')).toBe(true);
    expect(at('xxMessage from syslogd@h', 2)).toBe(true);
  });
  it('refuses anything else', () => {
    expect(at('Message from syslogd')).toBe(false);
    expect(at('Message from syslogd@h', 0, 20)).toBe(false);
    // the header's end past `end`, though in the buffer
    expect(at('xxMessage from syslogd@h', 2, 22)).toBe(false);
    expect(at('xxMessage from syslogd@h', 2, 23)).toBe(true);
    expect(at('Message from syslogd#h')).toBe(false);
    expect(at('message from syslogd@h')).toBe(false);
    expect(at('Nessage from syslogd@h')).toBe(false);
    expect(at('xMessage from syslogd@h')).toBe(false);
    expect(at('\nMessage from syslogd@h')).toBe(false);
    expect(at('')).toBe(false);
    expect(at('   ')).toBe(false);
  });
});

describe('scanLines: journal records with a MESSAGE of bytes', () => {
  it('makes a JSON line whose MESSAGE is an array a candidate, and no other', async () => {
    const lines = [
      '{"MESSAGE":[79,111,112,115],"_HOSTNAME":"xen07"}',
      '{"MESSAGE":"plain text"}',
      ' {"MESSAGE":[1]}',
      'x{"MESSAGE":[1]}',
      '{"A":1}',
      '"MESSAGE":[2]',
    ];
    const { got } = await read([lines.join('\n') + '\n'], literals('Oops'));
    expect(texts(got)).toEqual([[1, lines[0], true]]);
  });

  it('does not take the array of the next line', async () => {
    const { got } = await read(['{"A":1}\n{"MESSAGE":[1]}\n'], literals('Oops'));
    expect(texts(got)).toEqual([[2, '{"MESSAGE":[1]}', true]]);
    // no array anywhere after it
    const none = await read(['{"MESSAGE":"x"}\n{"A":1}\n'], literals('Oops'));
    expect(none.got).toEqual([]);
  });

  it('does not take an array past the cut of an over-long line', async () => {
    const at = (n: number) => read(['{' + 'p'.repeat(n - 1) + '"MESSAGE":[1]}\n'], literals('Oops'));
    // "MESSAGE":[ starting at the cut (byte MAX_LINE) is cut away; one byte before, its start is kept
    expect((await at(MAX_LINE)).got).toEqual([]);
    expect((await at(MAX_LINE - 1)).got.map((g) => g.candidate)).toEqual([true]);
  });
});

describe('scanLines: over-long lines', () => {
  it('cuts a line at MAX_LINE bytes with a note, within a chunk and across chunks', async () => {
    const long = 'Oops' + 'a'.repeat(MAX_LINE + 10);
    for (const chunks of [[`x\n${long}\nnext Oops\n`], ['x\n', long.slice(0, 1000), long.slice(1000) + '\nnext Oops\n']]) {
      const { got, stats } = await read(chunks, literals('Oops'));
      expect(got.map((g) => [g.n, g.text.length])).toEqual([
        [2, MAX_LINE],
        [3, 9],
      ]);
      expect(stats.notes).toEqual([{ line: 2, text: `longer than ${MAX_LINE} bytes, cut` }]);
      expect(stats.lines).toBe(3);
    }
  });

  it('keeps a line of exactly MAX_LINE bytes whole, without a note', async () => {
    const { got, stats } = await read(['Oops' + 'a'.repeat(MAX_LINE - 4) + '\n'], literals('Oops'));
    expect(got[0]!.text.length).toBe(MAX_LINE);
    expect(stats.notes).toEqual([]);
  });

  it('does not take a literal past the cut as a hit', async () => {
    const { got } = await read(['a'.repeat(MAX_LINE) + 'Oops\n'], literals('Oops'));
    expect(got).toEqual([]);
  });

  it('drops the rest of a line with no end in sight until its end, over several chunks', async () => {
    const chunk = 'b'.repeat(MAX_LINE + 1);
    const { got, stats } = await read(['Oops' + chunk, chunk, 'Oops no\n', 'Oops yes\n'], literals('Oops'));
    expect(got.map((g) => [g.n, g.text.slice(0, 8), g.text.length])).toEqual([
      [1, 'Oopsbbbb', MAX_LINE],
      [2, 'Oops yes', 8],
    ]);
    expect(stats.notes).toEqual([{ line: 1, text: `longer than ${MAX_LINE} bytes, cut` }]);
    expect(stats.lines).toBe(2);
  });

  it('reads the line after a dropped rest that ends in the same chunk', async () => {
    const { got } = await read(['b'.repeat(MAX_LINE + 1), 'rest\nOops\n'], literals('Oops'));
    expect(texts(got)).toEqual([[2, 'Oops', true]]);
  });

  it('notes at most 10 cut lines, on either path', async () => {
    const long = 'c'.repeat(MAX_LINE + 1);
    const inBlock = await read([Array(12).fill(long).join('\n') + '\n'], null);
    expect(inBlock.stats.notes.map((n) => n.line)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(inBlock.stats.lines).toBe(12);
    const unended = await read(Array.from({ length: 12 }, () => [long, '\n']).flat(), null);
    expect(unended.stats.notes.map((n) => n.line)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(unended.stats.lines).toBe(12);
  });
});

describe('scanLines: statistics, NULs and a failing read', () => {
  it('counts the lines of each format, across runs of one format', async () => {
    const { stats } = await read(
      [
        'Oct 20 03:14:17 xen07 kernel: a\nOct 20 03:14:18 xen07 kernel: b\n[  1.0] c\nplain\n',
        'Oct 20 03:14:19 xen07 kernel: d\n[  2.0] e\n',
      ],
      literals('Oops'),
    );
    expect(stats.formats).toEqual({ syslog: 3, dmesg: 2, plain: 1 });
  });

  it('keeps the first 20 lines as the head and the last as the tail, whatever is handed out', async () => {
    const lines = Array.from({ length: 25 }, (_, i) => `line ${i + 1}\r`);
    const { got, stats } = await read([lines.slice(0, 10).join('\n') + '\n', lines.slice(10).join('\n')], literals('Oops'));
    expect(got).toEqual([]);
    expect(stats.head).toEqual(Array.from({ length: 20 }, (_, i) => `line ${i + 1}`));
    expect(stats.tail).toBe('line 25');
    expect(stats.lines).toBe(25);
  });

  it('keeps no more than 20 lines as the head when every line is handed out', async () => {
    const { got, stats } = await read([Array.from({ length: 25 }, (_, i) => `Oops ${i + 1}`).join('\n') + '\n'], literals('Oops'));
    expect(got.length).toBe(25);
    expect(stats.head).toEqual(Array.from({ length: 20 }, (_, i) => `Oops ${i + 1}`));
  });

  it('has no tail and no lines for no bytes', async () => {
    const { stats } = await read([], literals('Oops'));
    expect(stats).toEqual({ lines: 0, bytes: 0, formats: {}, head: [], tail: null, notes: [], error: null });
    const empty = await read([Buffer.alloc(0)], literals('Oops'));
    expect(empty.stats.lines).toBe(0);
  });

  it('drops NULs and byte-order marks before a line, and counts a line of NULs alone', async () => {
    const { got, stats } = await read([Buffer.from('\0\0\0Oops a\n\ufeffOops b\n\0\0'), Buffer.from('\0\0')], literals('Oops'));
    expect(texts(got)).toEqual([
      [1, 'Oops a', true],
      [2, 'Oops b', true],
    ]);
    expect(stats.lines).toBe(3);
    expect(stats.tail).toBe('');
  });

  it('drops a NUL run longer than a line that starts a chunk, and reads the text after it whole', async () => {
    const { got, stats } = await read([Buffer.alloc(MAX_LINE + 100), Buffer.from('Oops ' + 'd'.repeat(100) + '\n')], literals('Oops'));
    expect(got.map((g) => g.text)).toEqual(['Oops ' + 'd'.repeat(100)]);
    expect(stats.notes).toEqual([]);
    expect(stats.lines).toBe(1);
  });

  it('keeps what was read before a failing read, the unfinished line too, and says why', async () => {
    async function* failing(): AsyncGenerator<Buffer> {
      yield Buffer.from('Oops one\nOops tw');
      throw new Error('EIO: i/o error, read');
    }
    const got: string[] = [];
    const stats = await scanLines(failing(), literals('Oops'), { wantsAll: () => false, line: (t) => got.push(t) });
    expect(got).toEqual(['Oops one', 'Oops tw']);
    expect(stats.error).toBe('EIO: i/o error, read');
    expect(stats.lines).toBe(2);
  });

  it('reads the line after a carried one when the next chunk starts with its line end', async () => {
    const { got, stats } = await read(['Oops a', '\nOops b\nOops c'], literals('Oops'));
    expect(texts(got)).toEqual([
      [1, 'Oops a', true],
      [2, 'Oops b', true],
      [3, 'Oops c', true],
    ]);
    expect(stats.lines).toBe(3);
  });

  it('counts a line after a NUL-led carried one once, whatever chunk ends with a line end', async () => {
    const { got, stats } = await read([Buffer.from('\0\0Oops x'), Buffer.from('y\nOops z\n')], literals('Oops'));
    expect(texts(got)).toEqual([
      [1, 'Oops xy', true],
      [2, 'Oops z', true],
    ]);
    expect(stats.lines).toBe(2);
  });

  it('keeps a line of exactly MAX_LINE bytes whole when its line end comes in the next chunk', async () => {
    const { got, stats } = await read(['Oops' + 'a'.repeat(MAX_LINE - 4), '\nnext\n'], literals('Oops'));
    expect(got.map((g) => g.text.length)).toEqual([MAX_LINE]);
    expect(stats.notes).toEqual([]);
  });

  it('cuts a long line after an empty one at MAX_LINE bytes, the empty line starting the chunk', async () => {
    const { got, stats } = await read(['x\n', '\nOops' + 'a'.repeat(MAX_LINE + 10), '\n'], literals('Oops'));
    expect(got.map((g) => [g.n, g.text.length])).toEqual([[3, MAX_LINE]]);
    expect(stats.notes.map((n) => n.line)).toEqual([3]);
  });

  it('hands a line cut before its end came with no more than its head (the rest is not kept)', async () => {
    const chunk = 'b'.repeat(MAX_LINE);
    const raws: number[] = [];
    const sink: LineSink = { wantsAll: () => false, line: (_t, _n, _c, raw) => raws.push(raw.length) };
    await scanLines(feed(['Oops' + chunk, chunk, chunk, 'x\n']), literals('Oops'), sink);
    expect(raws.length).toBe(1);
    expect(raws[0]).toBeLessThanOrEqual(MAX_LINE + 1);
  });

  it('reads a line led by a byte-order mark alike however the reads cut it (its line end in a later chunk)', async () => {
    // it was cut 3 bytes short, with a note, when its chunk had no line end
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    const text = Buffer.from('Oops' + 'a'.repeat(MAX_LINE - 4));
    for (const chunks of [
      [Buffer.concat([bom, text, Buffer.from('\n')])],
      [Buffer.concat([bom, text]), Buffer.from('\n')],
      [bom, text, Buffer.from('\n')],
    ]) {
      const { got, stats } = await read(chunks, literals('Oops'));
      expect(got.map((g) => g.text.length)).toEqual([MAX_LINE]);
      expect(stats.notes).toEqual([]);
    }
    const { got, stats } = await read([Buffer.concat([bom, text, Buffer.from('bc')]), Buffer.from('\n')], literals('Oops'));
    expect(got.map((g) => g.text.length)).toEqual([MAX_LINE]);
    expect(stats.notes).toEqual([{ line: 1, text: `longer than ${MAX_LINE} bytes, cut` }]);
  });

  it('reads a last line without a line end, joined across chunks', async () => {
    const { got, stats } = await read(['a\nOo', 'ps', ' end'], literals('Oops'));
    expect(texts(got)).toEqual([[2, 'Oops end', true]]);
    expect(stats.tail).toBe('Oops end');
  });
});
