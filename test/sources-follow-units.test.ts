/**
 * Unit tests of the first part of src/sources/follow.ts (lines 36-274: countLines, LineSplitter,
 * followableName, globToRegExp, watchTargets); the follower itself (FileTail, FileFollower) is
 * driven turn by turn in test/sources-follow-tail-units.test.ts and -edges.test.ts. The mutation set `sources-follow`
 * (docs/mutation.md). Files live in temporary folders.
 */
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { countLines, followableName, globToRegExp, LineSplitter, watchTargets } from '../src/sources/follow.js';
import { MAX_LINE } from '../src/sources/lines.js';
import { tmp } from './helpers.js';

describe('countLines', () => {
  it('counts the line ends in the first `end` bytes, in blocks of 1 MiB, up to the end of the file', () => {
    const dir = tmp('xd-follow-');
    const f = join(dir, 'f');
    // line ends on both sides of the 1 MiB block border, and at it
    const text = Buffer.alloc(3 * 1024 * 1024 + 10, 0x61);
    const ends = [0, 5, 1024 * 1024 - 1, 1024 * 1024, 1024 * 1024 + 1, 2 * 1024 * 1024, 3 * 1024 * 1024 + 9];
    for (const e of ends) text[e] = 10;
    writeFileSync(f, text);
    const fd = openSync(f, 'r');
    try {
      expect(countLines(fd, text.length)).toBe(ends.length);
      expect(countLines(fd, text.length + 1000)).toBe(ends.length);
      expect(countLines(fd, 0)).toBe(0);
      expect(countLines(fd, 1)).toBe(1);
      expect(countLines(fd, 5)).toBe(1);
      expect(countLines(fd, 6)).toBe(2);
      expect(countLines(fd, 1024 * 1024)).toBe(3);
      expect(countLines(fd, 1024 * 1024 + 1)).toBe(4);
      expect(countLines(fd, 1024 * 1024 + 2)).toBe(5);
    } finally {
      closeSync(fd);
    }
    // a descriptor that cannot be read: what was counted (nothing)
    expect(countLines(fd, 100)).toBe(0);
    const d = openSync(dir, 'r');
    try {
      expect(countLines(d, 100)).toBe(0);
    } finally {
      closeSync(d);
    }
  });
});

describe('LineSplitter', () => {
  const split = (chunks: (string | Buffer)[]) => {
    const lines: string[] = [];
    const cuts: number[] = [];
    const s = new LineSplitter(
      (b, st, en, n) => lines.push(`${n}:${b.toString('latin1', st, en)}`),
      (n) => cuts.push(n),
    );
    for (const c of chunks) s.push(Buffer.isBuffer(c) ? c : Buffer.from(c, 'latin1'));
    return { s, lines, cuts };
  };
  const x = (n: number) => 'x'.repeat(n);

  it('keeps a line of exactly MAX_LINE bytes whole, in one piece or joined from several', () => {
    for (const chunks of [[`${x(MAX_LINE)}\nb\n`], [x(10), `${x(MAX_LINE - 10)}\nb\n`], [x(10), x(MAX_LINE - 10), '\nb\n']]) {
      const { lines, cuts } = split(chunks);
      expect(lines).toEqual([`1:${x(MAX_LINE)}`, '2:b']);
      expect(cuts).toEqual([]);
    }
    // unfinished at MAX_LINE: held back whole
    const { s, lines } = split([x(MAX_LINE)]);
    expect(lines).toEqual([]);
    expect(s.pending).toBe(MAX_LINE);
  });

  it('cuts a line one byte longer, in one piece, joined, or unfinished, and drops its rest up to its end', () => {
    for (const chunks of [
      [`${x(MAX_LINE + 1)}\nb\n`],
      [x(10), `${x(MAX_LINE - 9)}\nb\n`],
      [x(10), x(MAX_LINE - 9), 'yyy', 'zz\nb\n'],
      [x(MAX_LINE + 1), 'yyy', '\nb\n'],
      [x(MAX_LINE + 1), '\nb\n'],
    ]) {
      const { s, lines, cuts } = split(chunks);
      expect(lines).toEqual([`1:${x(MAX_LINE)}`, '2:b']);
      expect(cuts).toEqual([1]);
      expect(s.pending).toBe(0);
    }
    // the rest dropped up to the line end, then the carried part of the next line kept
    const { s, lines } = split([x(10), `${x(MAX_LINE)}\nb`, 'c\n']);
    expect(lines).toEqual([`1:${x(MAX_LINE)}`, '2:bc']);
    expect(s.pending).toBe(0);
  });

  it('skips the rest of a cut line across pushes with no line end, then reads on', () => {
    const { s, lines, cuts } = split([x(MAX_LINE + 1), x(100), x(100), `${x(5)}\nnext\n`]);
    expect(lines).toEqual([`1:${x(MAX_LINE)}`, '2:next']);
    expect(cuts).toEqual([1]);
    expect(s.lineNo).toBe(2);
    // flush stops the skipping: what follows is a new line
    const t = split([x(MAX_LINE + 1)]);
    t.s.flush();
    t.s.push(Buffer.from('new\n'));
    expect(t.lines).toEqual([`1:${x(MAX_LINE)}`, '2:new']);
  });

  it('stops skipping where the cut line ends: every line of the pushes after that is read', () => {
    const { lines, cuts } = split([x(MAX_LINE + 1), `${x(5)}\nfirst\n`, 'second\n', 'third\n']);
    expect(lines).toEqual([`1:${x(MAX_LINE)}`, '2:first', '3:second', '4:third']);
    expect(cuts).toEqual([1]);
  });

  it('strips one CR before the line end, not a CR alone inside; an empty line is a line', () => {
    const { s, lines } = split(['a\r\n\r\n\n', 'b\rc\n', 'd\r', '\n', 'e\r\r\n']);
    expect(lines).toEqual(['1:a', '2:', '3:', '4:b\rc', '5:d', '6:e\r']);
    s.push(Buffer.from('f\r'));
    s.flush();
    expect(lines.at(-1)).toBe('7:f');
    // nothing held: flush emits nothing
    s.flush();
    expect(lines.length).toBe(7);
    expect(s.pending).toBe(0);
  });

  it('holds an unfinished line across pushes, joining each', () => {
    const { s, lines } = split(['ab', 'cd', '', 'ef']);
    expect(lines).toEqual([]);
    expect(s.pending).toBe(6);
    s.push(Buffer.from('g\nh'));
    expect(lines).toEqual(['1:abcdefg']);
    expect(s.pending).toBe(1);
  });

  it('a cut line without onCut given', () => {
    const lines: number[] = [];
    const s = new LineSplitter((_b, st, en) => lines.push(en - st));
    s.push(Buffer.from(`${x(MAX_LINE + 3)}\n`));
    expect(lines).toEqual([MAX_LINE]);
  });
});

describe('followableName', () => {
  it('follows live logs, not hidden files, binary logs or rotated and compressed copies', () => {
    for (const n of ['kern.log', 'syslog', 'xl-guest1.log', 'qemu-dm-web.log', 'wtmpx', 'a.journalx', 'x.gzip', 'log.1x', 'a-2026112'])
      expect(followableName(`/var/log/${n}`)).toBe(true);
    for (const n of [
      '.hidden',
      'btmp.2',
      'faillog',
      'x.journal~',
      'a.db',
      'b.sqlite',
      'a.bz2',
      'a.xz',
      'a.zst',
      'a.lz4',
      'a.zip',
      'a.tar',
      'a.bak',
      'syslog-2026112012.gz',
    ])
      expect(followableName(`/var/log/${n}`)).toBe(false);
  });
});

describe('globToRegExp', () => {
  const m = (glob: string, path: string) => globToRegExp(glob).test(path);

  it('* and ? stay within one folder; ** crosses folders, **/ none or several', () => {
    expect(m('/l/*.log', '/l/a.log')).toBe(true);
    expect(m('/l/*.log', '/l/.log')).toBe(true);
    expect(m('/l/*.log', '/l/s/a.log')).toBe(false);
    expect(m('/l/a?.log', '/l/ab.log')).toBe(true);
    expect(m('/l/a?.log', '/l/a/.log')).toBe(false);
    expect(m('/l/a?.log', '/l/a.log')).toBe(false);
    expect(m('/l/**/*.log', '/l/a.log')).toBe(true);
    expect(m('/l/**/*.log', '/l/x/y/a.log')).toBe(true);
    expect(m('/l/**/*.log', '/lx/a.log')).toBe(false);
    expect(m('/l/**', '/l/x/y/a.log')).toBe(true);
    expect(m('/l/a**', '/l/a/b')).toBe(true);
    expect(m('/l/**.log', '/l/x/a.log')).toBe(true);
    expect(m('/l/**.log', '/l/x/a.txt')).toBe(false);
    expect(m('**/a', 'x/y/a')).toBe(true);
  });

  it('classes: a set, a negated one, a backslash in one, a [ with no ] as text', () => {
    expect(m('/l/[ab].log', '/l/b.log')).toBe(true);
    expect(m('/l/[ab].log', '/l/c.log')).toBe(false);
    expect(m('/l/[ab].log', '/l/ab.log')).toBe(false);
    expect(m('/l/[!k]*', '/l/kern.log')).toBe(false);
    expect(m('/l/[!k]*', '/l/syslog')).toBe(true);
    expect(m('/l/[a-c]x', '/l/bx')).toBe(true);
    expect(m('/l/[\\]x', '/l/\\x')).toBe(true);
    expect(m('/l/[\\]x', '/l/]x')).toBe(false);
    expect(m('/l/[a', '/l/[a')).toBe(true);
    expect(m('/l/[a', '/l/a')).toBe(false);
    expect(m('/l/[]x', '/l/[]x')).toBe(true);
    // the first ] after [ is part of the set (as in a shell): [] ] is the set of ]
    // (the bug: the ] went into the regex as is, `[]]x`, an empty class, and the glob matched nothing)
    expect(m('/l/[]]x', '/l/]x')).toBe(true);
    expect(m('/l/[]]x', '/l/x')).toBe(false);
    expect(m('/l/[!]]x', '/l/ax')).toBe(true);
    expect(m('/l/[!]]x', '/l/]x')).toBe(false);
  });

  it('braces: alternatives with globs in them, a { with no } as text, other regex characters as text', () => {
    expect(m('/l/{kern,syslog}.lo?', '/l/syslog.log')).toBe(true);
    expect(m('/l/{kern,syslog}.lo?', '/l/kern.log')).toBe(true);
    expect(m('/l/{kern,syslog}.lo?', '/l/messages.log')).toBe(false);
    expect(m('/l/{*.log,sys*}', '/l/a.log')).toBe(true);
    expect(m('/l/{*.log,sys*}', '/l/s/a.log')).toBe(false);
    expect(m('/l/{a,}x', '/l/x')).toBe(true);
    expect(m('/l/{a', '/l/{a')).toBe(true);
    expect(m('/l/a}', '/l/a}')).toBe(true);
    expect(m('/l/a.log', '/l/aXlog')).toBe(false);
    for (const c of ['+', '^', '$', '(', ')', '|', '\\', '.']) {
      expect(m(`/l/a${c}b`, `/l/a${c}b`)).toBe(true);
      expect(m(`/l/a${c}b`, '/l/ab')).toBe(false);
    }
    expect(m('/l/a(b)', '/l/a(b)')).toBe(true);
    // anchored at both ends
    expect(m('/l/a', '/l/ab')).toBe(false);
    expect(m('/l/a', 'x/l/a')).toBe(false);
  });
});

describe('watchTargets', () => {
  it('a glob: watched from its static folder, as deep as it reaches, or without bound with **', () => {
    const dir = tmp('xd-follow-');
    const [g] = watchTargets([join(dir, 'xen', '*.log')]);
    expect({ ...g, claims: undefined }).toEqual({
      operand: join(dir, 'xen', '*.log'),
      kind: 'glob',
      root: join(dir, 'xen'),
      depth: 0,
      claims: undefined,
    });
    expect(g!.claims(join(dir, 'xen', 'a.log'))).toBe(true);
    expect(g!.claims(join(dir, 'xen', 's', 'a.log'))).toBe(false);
    const [d] = watchTargets([join(dir, 'a', '*', 'b', '*.log')]);
    expect([d!.root, d!.depth]).toEqual([join(dir, 'a'), 2]);
    const [s] = watchTargets([join(dir, '**', '*.log')]);
    expect([s!.root, s!.depth]).toEqual([dir, undefined]);
    expect(s!.claims(join(dir, 'x', 'y', 'z.log'))).toBe(true);
    const [top] = watchTargets(['/*.log']);
    expect([top!.root, top!.depth]).toEqual([sep, 0]);
    // relative: made absolute
    const rel = relative(process.cwd(), join(dir, '?.log'));
    const [r] = watchTargets([rel]);
    expect([r!.operand, r!.kind, r!.root]).toEqual([rel, 'glob', dir]);
    expect(r!.claims(join(dir, 'a.log'))).toBe(true);
  });

  it('a folder claims the followable files under it; a file, itself; a missing path is a file to wait for', () => {
    const dir = tmp('xd-follow-');
    mkdirSync(join(dir, 'logs'));
    writeFileSync(join(dir, 'x[1].log'), '');
    const [folder, file, missing, literal] = watchTargets([
      join(dir, 'logs'),
      join(dir, 'x'),
      join(dir, 'gone.log'),
      join(dir, 'x[1].log'),
    ]);
    expect([folder!.kind, folder!.root, folder!.depth]).toEqual(['folder', join(dir, 'logs'), undefined]);
    expect(folder!.claims(join(dir, 'logs', 'kern.log'))).toBe(true);
    expect(folder!.claims(join(dir, 'logs', 'sub', 'kern.log'))).toBe(true);
    expect(folder!.claims(join(dir, 'logs', 'kern.log.1'))).toBe(false);
    expect(folder!.claims(join(dir, 'logsx', 'kern.log'))).toBe(false);
    expect(folder!.claims(join(dir, 'logs'))).toBe(false);
    expect([file!.kind, file!.root]).toEqual(['file', join(dir, 'x')]);
    expect(file!.claims(join(dir, 'x'))).toBe(true);
    expect(file!.claims(join(dir, 'x', 'y'))).toBe(false);
    expect([missing!.kind, missing!.root]).toEqual(['file', join(dir, 'gone.log')]);
    // a name with glob characters that exists is the file
    expect([literal!.kind, literal!.root]).toEqual(['file', join(dir, 'x[1].log')]);
    expect(watchTargets([])).toEqual([]);
  });
});
