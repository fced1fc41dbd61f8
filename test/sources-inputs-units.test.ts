/**
 * Unit tests of src/sources/inputs.ts (input discovery; reached only through the binary before, but
 * for `textSize` in test/read-path.test.ts): rotated sets ordered oldest first, gzip undone whatever
 * the name and however the bytes come, a gzip file's text size, a command's output and failure,
 * folders walked (binary files, notes, hidden files, links to devices and FIFOs left out), globs,
 * this host's usual logs, and the time context of a file whose last stamp is year-less. The mutation
 * set `sources-inputs` (docs/mutation.md). Files live in temporary folders.
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, mkdirSync, readdirSync, statSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  commandInput,
  stdinIsPiped,
  defaultInputs,
  findOnPath,
  inputContext,
  journaldOnly,
  logRoot,
  maybeGunzip,
  notLogText,
  orderRotated,
  resolveInputs,
  rotationOrder,
  stdinInput,
  textSize,
  type Input,
} from '../src/sources/inputs.js';
import { tmp } from './helpers.js';

// node:fs as inputs.ts sees it, with failures a test can stage for one path (root reads every folder,
// so EACCES and EPERM cannot be had for real here) and standard input's fstat
const staged = vi.hoisted(() => ({
  fail: new Map<string, { call: string; error: Error }>(),
  stdin: null as null | (() => unknown),
}));
vi.mock('node:fs', async (original) => {
  const fs = await original<typeof import('node:fs')>();
  const failing = <F extends (...a: never[]) => unknown>(call: string, f: F) =>
    ((...a: Parameters<F>) => {
      const hit = staged.fail.get(String(a[0]));
      if (hit && hit.call === call) throw hit.error;
      return f(...a);
    }) as unknown as F;
  const statSync = failing('statSync', fs.statSync);
  const readdirSync = failing('readdirSync', fs.readdirSync);
  const fstatSync = ((fd: number, ...rest: never[]) =>
    fd === 0 && staged.stdin ? staged.stdin() : fs.fstatSync(fd, ...rest)) as unknown as typeof fs.fstatSync;
  const over = { statSync, readdirSync, fstatSync };
  return { ...fs, ...over, default: { ...fs, ...over } };
});
const errno = (code: string | undefined, message = `${code}: staged`) => Object.assign(new Error(message), { code });

const fds = () => readdirSync('/proc/self/fd').length;

/** An async source of the given chunks that records whether it was closed (its `return` called). */
function source(chunks: (Buffer | Error)[]): AsyncIterable<Buffer> & { closed: boolean; pulled: number } {
  const s = {
    closed: false,
    pulled: 0,
    async *[Symbol.asyncIterator]() {
      try {
        for (const c of chunks) {
          s.pulled++;
          if (c instanceof Error) throw c;
          yield c;
        }
      } finally {
        s.closed = true;
      }
    },
  };
  return s;
}

async function all(it: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const c of it) out.push(c);
  return out;
}

async function failure(it: AsyncIterable<Buffer>): Promise<Error> {
  try {
    await all(it);
  } catch (e) {
    return e as Error;
  }
  throw new Error('did not throw');
}

const b = (s: string) => Buffer.from(s, 'latin1');
const texts = (chunks: Buffer[]) => chunks.map((c) => c.toString('latin1'));

describe('rotated sets', () => {
  it('sorts each file by its set and its age: numbered, dateext (8 or 10 digits), dated with a dot, compressed', () => {
    expect(rotationOrder('/l/kern.log')).toEqual(['/l/kern.log', 0]);
    expect(rotationOrder('/l/kern.log.gz')).toEqual(['/l/kern.log', 0]);
    expect(rotationOrder('/l/kern.log.3')).toEqual(['/l/kern.log', -3]);
    expect(rotationOrder('/l/kern.log.12.gz')).toEqual(['/l/kern.log', -12]);
    expect(rotationOrder('/l/kern.log-20261201')).toEqual(['/l/kern.log', -1e12 + 20261201]);
    expect(rotationOrder('/l/kern.log-2026120113.gz')).toEqual(['/l/kern.log', -1e12 + 20261201]);
    expect(rotationOrder('/l/messages.20261120')).toEqual(['/l/messages', -1e12 + 20261120]);
    expect(rotationOrder('/l/messages.20261121.gz')).toEqual(['/l/messages', -1e12 + 20261121]);
    // not eight digits after a dot: a number (and nine digits are not a date)
    expect(rotationOrder('/l/messages.123456789')).toEqual(['/l/messages', -123456789]);
    expect(rotationOrder('/l/a\nb.log.2')).toEqual(['/l/a\nb.log', -2]);
    expect(rotationOrder('rel.log.1')).toEqual(['rel.log', -1]);
  });

  it('reads a set dated with a dot (dateformat .%Y%m%d) oldest first, as the other sets are', () => {
    // the bug: `.20261121` was taken as rotation number 20261121, so the newer file was read first
    expect(orderRotated(['/l/messages', '/l/messages.20261121', '/l/messages.20261120.gz', '/l/messages.1'])).toEqual([
      '/l/messages.20261120.gz',
      '/l/messages.20261121',
      '/l/messages.1',
      '/l/messages',
    ]);
  });

  it('keeps the sets in the order they were named, each oldest first, each file once', () => {
    expect(orderRotated(['/l/b.log', '/l/a.log.1', '/l/a.log', '/l/b.log.2.gz', '/l/b.log.10', '/l/a.log.1'])).toEqual([
      '/l/b.log.10',
      '/l/b.log.2.gz',
      '/l/b.log',
      '/l/a.log.1',
      '/l/a.log',
    ]);
    // a set named again later keeps its first place
    expect(orderRotated(['/l/a.log.1', '/l/b.log', '/l/a.log'])).toEqual(['/l/a.log.1', '/l/a.log', '/l/b.log']);
    expect(orderRotated([])).toEqual([]);
  });

  it('orders files of the same age by name, whichever comes first', () => {
    const same = ['/l/k.log.1.gz', '/l/k.log.1'];
    expect(orderRotated(same)).toEqual(['/l/k.log.1', '/l/k.log.1.gz']);
    expect(orderRotated([...same].reverse())).toEqual(['/l/k.log.1', '/l/k.log.1.gz']);
    const dated = ['/l/k.log-2026120113', '/l/k.log-20261201', '/l/k.log-2026120100'];
    expect(orderRotated(dated)).toEqual(['/l/k.log-20261201', '/l/k.log-2026120100', '/l/k.log-2026120113']);
    expect(orderRotated(['/l/k.log-20261202', '/l/k.log-2026120123'])).toEqual(['/l/k.log-2026120123', '/l/k.log-20261202']);
  });
});

describe('maybeGunzip', () => {
  it('passes plain bytes through as they come, the first two bytes gathered to look at', async () => {
    expect(texts(await all(maybeGunzip(source([b('a'), b('b'), b('cd'), b('e')]))))).toEqual(['ab', 'cd', 'e']);
    expect(texts(await all(maybeGunzip(source([b('abc'), b('d')]))))).toEqual(['abc', 'd']);
    expect(texts(await all(maybeGunzip(source([b(''), b('x'), b(''), b('yz'), b('')]))))).toEqual(['xyz', '']);
    expect(texts(await all(maybeGunzip(source([b('x')]))))).toEqual(['x']);
    expect(await all(maybeGunzip(source([])))).toEqual([]);
    expect(await all(maybeGunzip(source([b('')])))).toEqual([b('')]);
  });

  it('undoes gzip whatever the chunking, the magic split over chunks too', async () => {
    const text = Buffer.from('Oct 20 03:14:17 xen07 kernel: hello\n'.repeat(1000));
    const gz = gzipSync(text);
    for (const cuts of [[1], [2], [1, 2, 3], [5, 100, 101]]) {
      const chunks: Buffer[] = [];
      let at = 0;
      for (const c of cuts) {
        chunks.push(gz.subarray(at, c));
        at = c;
      }
      chunks.push(gz.subarray(at));
      expect(Buffer.concat(await all(maybeGunzip(source(chunks)))).equals(text)).toBe(true);
    }
  });

  it('inflates in pieces of 256 KiB', async () => {
    const text = Buffer.from('Oct 20 03:14:17 xen07 kernel: hello\n'.repeat(30_000));
    const out = await all(maybeGunzip(source([gzipSync(text)])));
    expect(out[0]!.length).toBe(256 * 1024);
    expect(Buffer.concat(out).equals(text)).toBe(true);
  });

  it('reads a large input through (its writes wait for drain)', async () => {
    const text = randomBytes(3 * 1024 * 1024);
    const gz = gzipSync(text);
    const chunks: Buffer[] = [];
    for (let i = 0; i < gz.length; i += 64 * 1024) chunks.push(gz.subarray(i, i + 64 * 1024));
    const src = source(chunks);
    const out = await all(maybeGunzip(src));
    expect(Buffer.concat(out).equals(text)).toBe(true);
    expect(src.closed).toBe(true);
  });

  it('closes the input when its reader stops early, plain or gzip (and never waits for a drain that does not come)', async () => {
    const plain = source([b('ab'), b('cd'), b('ef')]);
    for await (const _ of maybeGunzip(plain)) break;
    expect(plain.closed).toBe(true);
    expect(plain.pulled).toBe(1);

    const gz = gzipSync(randomBytes(4 * 1024 * 1024));
    const chunks: Buffer[] = [];
    for (let i = 0; i < gz.length; i += 256 * 1024) chunks.push(gz.subarray(i, i + 256 * 1024));
    const src = source(chunks);
    let got = 0;
    for await (const c of maybeGunzip(src)) {
      got += c.length;
      break;
    }
    expect(got).toBeGreaterThan(0);
    expect(src.closed).toBe(true);
    // the feeder stopped: it did not read the rest of the input
    expect(src.pulled).toBeLessThan(chunks.length);
  });

  it('says a gzip stream is cut short, names other gzip errors, and passes on the input failing', async () => {
    const gz = gzipSync(Buffer.from('hello\n'.repeat(100)));
    expect((await failure(maybeGunzip(source([gz.subarray(0, gz.length - 12)])))).message).toBe(
      'truncated gzip data (the file ends before the compressed stream does)',
    );
    const bad = Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.alloc(30, 0xff)]);
    expect((await failure(maybeGunzip(source([bad])))).message).toMatch(/^gzip: (?!truncated).+/);
    const src = source([gz.subarray(0, 20), new Error('disk gone')]);
    expect((await failure(maybeGunzip(src))).message).toBe('gzip: disk gone');
    expect(src.closed).toBe(true);
  });
});

describe('textSize', () => {
  it('is the size of a plain file, and of a gzip file the larger of its size and its trailer', () => {
    const dir = tmp('xd-inputs-');
    const plain = join(dir, 'plain');
    writeFileSync(plain, 'x'.repeat(100));
    expect(textSize(plain, 100)).toBe(100);
    const text = Buffer.from('abc\n'.repeat(10_000));
    const gz = join(dir, 'a.gz');
    writeFileSync(gz, gzipSync(text));
    expect(textSize(gz, statSync(gz).size)).toBe(text.length);
    // incompressible: the compressed file is the larger
    const noise = join(dir, 'n.gz');
    writeFileSync(noise, gzipSync(randomBytes(1000)));
    expect(textSize(noise, statSync(noise).size)).toBe(statSync(noise).size);
  });

  it('looks only at files of 18 bytes and more, and at the four bytes the size given ends at', () => {
    const dir = tmp('xd-inputs-');
    const f = join(dir, 'f');
    const trailer = (n: number, size: number) => {
      const buf = Buffer.alloc(size);
      buf[0] = 0x1f;
      buf[1] = 0x8b;
      buf.writeUInt32LE(n, size - 4);
      return buf;
    };
    writeFileSync(f, trailer(1000, 18));
    expect(textSize(f, 18)).toBe(1000);
    writeFileSync(f, trailer(1000, 17));
    expect(textSize(f, 17)).toBe(17);
    // a size past the file's end (it shrank): the four bytes cannot be read
    writeFileSync(f, trailer(1000, 30));
    expect(textSize(f, 100)).toBe(100);
    expect(textSize(join(dir, 'missing'), 50)).toBe(50);
    const before = fds();
    for (let i = 0; i < 20; i++) textSize(f, 30);
    expect(fds()).toBe(before);
  });
});

describe('stdin and commands', () => {
  afterEach(() => vi.restoreAllMocks());

  it('reads standard input, gzip or not, and keeps its raw bytes', async () => {
    const gz = gzipSync(Buffer.from('from stdin\n'));
    const stdin = Readable.from([gz]);
    vi.spyOn(process, 'stdin', 'get').mockReturnValue(stdin as unknown as typeof process.stdin);
    const input = stdinInput(1234);
    expect({ ...input, open: undefined, raw: undefined }).toEqual({
      name: '-',
      kind: 'stdin',
      mtime: 1234,
      size: null,
      host: null,
      open: undefined,
      raw: undefined,
    });
    expect(input.raw!()).toBe(stdin);
    expect(Buffer.concat(await all(input.open())).toString()).toBe('from stdin\n');
  });

  it("reads a command's output, named by its words, with no standard input", async () => {
    const input = commandInput('sh', ['-c', 'printf "a\\nb\\n"; cat'], 99, 'xen07');
    expect({ ...input, open: undefined }).toEqual({
      name: 'sh -c printf "a\\nb\\n"; cat',
      kind: 'command',
      mtime: 99,
      size: null,
      host: 'xen07',
      open: undefined,
    });
    expect(Buffer.concat(await all(input.open())).toString()).toBe('a\nb\n');
  }, 20_000);

  it("fails with the command's status and the first line of its error output, trimmed", async () => {
    const run = (script: string) => failure(commandInput('sh', ['-c', script], 0, null).open());
    expect((await run('echo out; printf "\\n  no such domain  \\nmore\\n" >&2; exit 3')).message).toBe(
      'exited with status 3: no such domain  ',
    );
    expect((await run('exit 4')).message).toBe('exited with status 4');
    expect((await run('printf "   \\n" >&2; exit 5')).message).toBe('exited with status 5');
    // error output past 2000 characters is not kept (the first line here has no end)
    expect((await run('printf "%2500s" x >&2; sleep 0.3; printf "yyy\\n" >&2; exit 1')).message).toBe('exited with status 1: x');
  }, 30_000);

  it('fails with the reason a program cannot be run, and no unhandled rejection', async () => {
    // the bug: the spawn's error rejected a promise not yet awaited, and Node ended the process with a
    // stack trace (`xendoctor scan` as a user who may not run /usr/sbin/xl: EACCES)
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const dir = tmp('xd-inputs-');
      await expect(all(commandInput(join(dir, 'no-such-program'), [], 0, null).open())).rejects.toThrow(/ENOENT/);
      await new Promise((r) => setTimeout(r, 100));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('notLogText: what a walked folder leaves out by its bytes', () => {
  const dir = tmp('xd-inputs-sniff-');
  let n = 0;
  const file = (data: Buffer | string, name = `f${n++}`) => {
    const p = join(dir, name);
    writeFileSync(p, data);
    return p;
  };
  /** Text with a run of NULs (both parities: not UTF-16), 100 bytes besides them, `k` of them `byte`. */
  const nulRun = (byte: number, k: number, newline = true) => {
    const rest = Buffer.alloc(100, 0x61);
    if (newline) rest[99] = 10;
    for (let i = 0; i < k; i++) rest[10 + i] = byte;
    return Buffer.concat([Buffer.alloc(64), rest]);
  };

  it('leaves out a binary, keeps text, gzip, UTF-16 and text with NULs where a crash left them', () => {
    expect(notLogText(file(Buffer.concat([Buffer.from('\x7fELF\x02\x01\x01'), Buffer.alloc(64), randomBytes(200)])))).toBe(true);
    expect(notLogText(file('Oct 20 03:14:17 xen07 kernel: hello\n'))).toBe(false);
    expect(notLogText(file(gzipSync(Buffer.alloc(1000))))).toBe(false);
    expect(notLogText(file(Buffer.from('\ufeffOct 20 03:14:17 xen07 kernel: hello\n', 'utf16le')))).toBe(false);
    expect(notLogText(file(Buffer.from('Oct 20 03:14:17 xen07 kernel: hello\n', 'utf16le')))).toBe(false);
    expect(notLogText(file(Buffer.from([0])))).toBe(true);
    expect(notLogText(file(Buffer.from([0x1f])))).toBe(false);
    expect(notLogText(file(''))).toBe(false);
    // only the first 4096 bytes are looked at
    expect(notLogText(file(Buffer.concat([Buffer.alloc(4096, 0x61), Buffer.alloc(100)])))).toBe(false);
    expect(notLogText(file(Buffer.concat([Buffer.alloc(4095, 0x61), Buffer.alloc(100)])))).toBe(true);
  });

  it('takes text with NUL runs as text when at most 2% of its other bytes are control bytes, and it has a line end', () => {
    expect(notLogText(file(nulRun(1, 0)))).toBe(false);
    expect(notLogText(file(nulRun(1, 0, false)))).toBe(true);
    expect(notLogText(file(nulRun(1, 2)))).toBe(false);
    expect(notLogText(file(nulRun(1, 3)))).toBe(true);
    expect(notLogText(file(nulRun(31, 3)))).toBe(true);
    expect(notLogText(file(nulRun(127, 3)))).toBe(true);
    expect(notLogText(file(nulRun(8, 3)))).toBe(true);
    expect(notLogText(file(nulRun(11, 3)))).toBe(true);
    expect(notLogText(file(nulRun(12, 3)))).toBe(true);
    expect(notLogText(file(nulRun(26, 3)))).toBe(true);
    expect(notLogText(file(nulRun(28, 3)))).toBe(true);
    // TAB, CR, ESC (colour codes), a blank, line ends and bytes past ASCII are text
    for (const byte of [9, 13, 27, 32, 10, 126, 128, 0xc3, 0xff]) expect(notLogText(file(nulRun(byte, 20)))).toBe(false);
  });

  it('leaves out a JSON document that is not a journal export, by its name and first bytes', () => {
    expect(notLogText(file('{"a": 1}', 'expect.json'))).toBe(true);
    expect(notLogText(file('  \n [1, 2]', 'list.JSON'))).toBe(true);
    expect(notLogText(file('{"MESSAGE": "hello"}\n', 'export.json'))).toBe(false);
    expect(notLogText(file('{"__REALTIME_TIMESTAMP" : "1"}\n', 'export2.json'))).toBe(false);
    expect(notLogText(file('{"MESSAGES": 1}\n', 'not-export.json'))).toBe(true);
    expect(notLogText(file('Oct 20 03:14:17 xen07 kernel: {"a": 1}\n', 'log.json'))).toBe(false);
    expect(notLogText(file('{"a": 1}', 'config.txt'))).toBe(false);
    expect(notLogText(file('{"a": 1}', 'config.json.1'))).toBe(false);
  });

  it('reads what it cannot look into later: a FIFO (without blocking), a folder, a missing file; closes what it opened', () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    expect(notLogText(fifo)).toBe(false);
    expect(notLogText(dir)).toBe(false);
    expect(notLogText(join(dir, 'missing'))).toBe(false);
    const bin = file(Buffer.alloc(10));
    const before = fds();
    for (let i = 0; i < 20; i++) notLogText(bin);
    expect(fds()).toBe(before);
  });
});

describe('resolveInputs', () => {
  const names = (r: { inputs: Input[] }) => r.inputs.map((i) => i.name);

  it('walks folders: rotated sets oldest first, binary logs, notes, hidden files and non-text left out', () => {
    const dir = tmp('xd-inputs-walk-');
    const sub = join(dir, 'xen');
    mkdirSync(join(sub, 'deeper'), { recursive: true });
    for (const f of ['kern.log', 'kern.log.1', 'syslog', 'xen/qemu-a.log', 'xen/deeper/b.log', 'odd\nname.log'])
      writeFileSync(join(dir, f), 'text\n');
    writeFileSync(join(dir, 'kern.log.2.gz'), gzipSync('old\n'));
    for (const f of [
      'wtmp',
      'wtmp.1',
      'btmp',
      'lastlog',
      'faillog',
      'x.journal',
      'x.journal~',
      'a.xz',
      'b.zst',
      'c.db',
      'README.md',
      'NOTES.Markdown',
      '.hidden',
    ])
      writeFileSync(join(dir, f), 'text\n');
    writeFileSync(join(dir, 'expect.json'), '{"findings": []}');
    writeFileSync(join(dir, 'prog'), Buffer.concat([Buffer.from('\x7fELF'), Buffer.alloc(100)]));
    symlinkSync(join(dir, 'syslog'), join(dir, 'link.log'));
    const r = resolveInputs([dir], 1);
    expect(r.problems).toEqual([]);
    expect(names(r).sort()).toEqual(
      ['kern.log.2.gz', 'kern.log.1', 'kern.log', 'link.log', 'odd\nname.log', 'syslog', 'xen/deeper/b.log', 'xen/qemu-a.log']
        .map((f) => join(dir, f))
        .sort(),
    );
    const k = names(r).indexOf(join(dir, 'kern.log'));
    expect(names(r).slice(k - 2, k + 1)).toEqual(['kern.log.2.gz', 'kern.log.1', 'kern.log'].map((f) => join(dir, f)));
  });

  it('reads a file named on the command line whatever it is; a link in a folder only to a regular file', () => {
    const dir = tmp('xd-inputs-links-');
    writeFileSync(join(dir, 'a.log'), 'a\n');
    symlinkSync('/dev/zero', join(dir, 'zero.log'));
    execFileSync('mkfifo', [join(dir, 'fifo-target')]);
    const logs = join(dir, 'logs');
    mkdirSync(logs);
    symlinkSync(join(dir, 'fifo-target'), join(logs, 'fifo.log'));
    symlinkSync(join(dir, 'a.log'), join(logs, 'a.log'));
    symlinkSync(join(dir, 'gone'), join(logs, 'dangling.log'));
    const r = resolveInputs([logs, join(dir, 'zero.log'), join(dir, 'README.md')], 1);
    expect(names(r)).toEqual([join(logs, 'a.log'), join(dir, 'zero.log')]);
    // an operand's problem is found at once, a file's when the files are described (after the operands)
    expect(r.problems).toEqual([
      { source: join(dir, 'README.md'), message: 'no such file or folder' },
      { source: join(logs, 'dangling.log'), message: 'no such file or folder' },
      { source: join(logs, 'fifo.log'), message: 'a link to a FIFO, not a log file: skipped' },
    ]);
    const zero = resolveInputs([dir], 1);
    expect(zero.problems).toContainEqual({
      source: join(dir, 'zero.log'),
      message: 'a link to a character device, not a log file: skipped',
    });
  });

  it('describes each file: name, kind, modification time, size; reads it (gzip too) in 256 KiB pieces', async () => {
    const dir = tmp('xd-inputs-file-');
    const f = join(dir, 'big.log');
    const text = Buffer.alloc(600 * 1024, 0x61);
    writeFileSync(f, text);
    utimesSync(f, 1000, 2000);
    writeFileSync(join(dir, 'big.log.1'), gzipSync(text));
    const r = resolveInputs([f, join(dir, 'big.log.1')], 5);
    const [gz, plain] = r.inputs;
    expect({ ...plain!, open: undefined }).toEqual({
      name: f,
      kind: 'file',
      mtime: 2_000_000,
      size: 600 * 1024,
      host: null,
      open: undefined,
    });
    const chunks = await all(plain!.open());
    expect(chunks[0]!.length).toBe(256 * 1024);
    expect(Buffer.concat(chunks).equals(text)).toBe(true);
    expect(Buffer.concat(await all(gz!.open())).equals(text)).toBe(true);
  });

  it('takes "-" as standard input in its place among the files', () => {
    const dir = tmp('xd-inputs-');
    const [a, b2] = ['a.log', 'b.log'].map((f) => join(dir, f));
    writeFileSync(a!, 'a\n');
    writeFileSync(b2!, 'b\n');
    const r = resolveInputs([a!, '-', b2!, '-'], 77);
    expect(r.inputs.map((i) => [i.name, i.kind])).toEqual([
      [a, 'file'],
      ['-', 'stdin'],
      [b2, 'file'],
      ['-', 'stdin'],
    ]);
    expect(r.inputs[1]!.mtime).toBe(77);
  });

  it('reports a missing file, an empty folder, a pattern that matches nothing; reads the others', () => {
    const dir = tmp('xd-inputs-');
    mkdirSync(join(dir, 'empty'));
    mkdirSync(join(dir, 'notes'));
    writeFileSync(join(dir, 'notes', 'README.md'), 'x');
    writeFileSync(join(dir, 'a.log'), 'a\n');
    const r = resolveInputs(
      [join(dir, 'missing.log'), join(dir, 'empty'), join(dir, 'notes'), join(dir, 'none-*.log'), join(dir, 'a.log')],
      1,
    );
    expect(names(r)).toEqual([join(dir, 'a.log')]);
    expect(r.problems).toEqual([
      { source: join(dir, 'missing.log'), message: 'no such file or folder' },
      { source: join(dir, 'empty'), message: 'folder holds no log files' },
      { source: join(dir, 'notes'), message: 'folder holds no log files' },
      { source: join(dir, 'none-*.log'), message: 'no file matches this pattern' },
    ]);
    // a file whose name looks like a pattern is read as named
    writeFileSync(join(dir, 'x[1].log'), 'x\n');
    expect(names(resolveInputs([join(dir, 'x[1].log')], 1))).toEqual([join(dir, 'x[1].log')]);
    // a path through a file: ENOTDIR, said as the system says it
    expect(resolveInputs([join(dir, 'a.log', 'x')], 1).problems[0]!.message).toMatch(/ENOTDIR/);
  });

  it('expands a pattern to the files it matches (not hidden ones, not folders), each set oldest first', () => {
    const dir = tmp('xd-inputs-glob-');
    for (const f of ['kern.log', 'kern.log.1', '.hidden.log', 'syslog']) writeFileSync(join(dir, f), 'x\n');
    mkdirSync(join(dir, 'folder.log'));
    const r = resolveInputs([join(dir, 'kern.log*'), join(dir, '*.log')], 1);
    expect(r.problems).toEqual([]);
    expect(names(r).map((p) => resolve(p))).toEqual([join(dir, 'kern.log.1'), join(dir, 'kern.log')]);
    const s = resolveInputs([join(dir, 's?slog'), join(dir, '{a,b}.log')], 1);
    expect(names(s).map((p) => resolve(p))).toEqual([join(dir, 'syslog')]);
    expect(s.problems).toEqual([{ source: join(dir, '{a,b}.log'), message: 'no file matches this pattern' }]);
  });
});

describe("this host's usual logs", () => {
  const saved = { path: process.env.PATH, root: process.env.XENDOCTOR_LOG_ROOT };
  afterEach(() => {
    process.env.PATH = saved.path;
    if (saved.root === undefined) delete process.env.XENDOCTOR_LOG_ROOT;
    else process.env.XENDOCTOR_LOG_ROOT = saved.root;
  });
  const exe = (dir: string, name: string, mode = 0o755) => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, name), '#!/bin/sh\n');
    chmodSync(join(dir, name), mode);
    return join(dir, name);
  };

  it('takes the log root from XENDOCTOR_LOG_ROOT, or /', () => {
    process.env.XENDOCTOR_LOG_ROOT = '/some/root';
    expect(logRoot()).toBe('/some/root');
    process.env.XENDOCTOR_LOG_ROOT = '';
    expect(logRoot()).toBe('/');
    delete process.env.XENDOCTOR_LOG_ROOT;
    expect(logRoot()).toBe('/');
  });

  it('finds an executable file on PATH, skipping empty entries, folders and files that are not executable', () => {
    const dir = tmp('xd-inputs-path-');
    const a = join(dir, 'a');
    const b2 = join(dir, 'b');
    exe(a, 'tool', 0o644);
    mkdirSync(join(a, 'dir-tool'));
    const tool = exe(b2, 'tool', 0o100);
    exe(b2, 'dir-tool');
    process.env.PATH = `:${a}:${join(dir, 'missing')}:${b2}`;
    expect(findOnPath('tool')).toBe(tool);
    expect(findOnPath('dir-tool')).toBe(join(b2, 'dir-tool'));
    expect(findOnPath('nothing')).toBeNull();
    delete process.env.PATH;
    expect(findOnPath('sh')).toBeNull();
    // an empty entry is not the current folder (a name relative to it would be found there)
    process.env.PATH = '::';
    expect(findOnPath(relative(process.cwd(), tool))).toBeNull();
    process.env.PATH = `:.`;
    expect(findOnPath(relative(process.cwd(), tool))).toBe(relative(process.cwd(), tool));
  });

  it('tells a journald-only host by its missing syslog files', () => {
    const root = tmp('xd-inputs-root-');
    expect(journaldOnly(root)).toBe(true);
    mkdirSync(join(root, 'var/log'), { recursive: true });
    for (const f of ['kern.log', 'syslog', 'messages']) {
      writeFileSync(join(root, 'var/log', f), '');
      expect(journaldOnly(root)).toBe(false);
      unlinkSync(join(root, 'var/log', f));
    }
    writeFileSync(join(root, 'var/log/daemon.log'), '');
    expect(journaldOnly(root)).toBe(true);
    process.env.XENDOCTOR_LOG_ROOT = root;
    expect(journaldOnly()).toBe(true);
    writeFileSync(join(root, 'var/log/syslog'), '');
    expect(journaldOnly()).toBe(false);
  });

  it('reads the syslog files there are, /var/log/xen/*.log sorted, and `xl dmesg` (or xm) where installed', () => {
    const root = tmp('xd-inputs-root-');
    mkdirSync(join(root, 'var/log/xen'), { recursive: true });
    for (const f of ['kern.log', 'messages', 'xen/xl-b.log', 'xen/qemu-a.log', 'xen/xl-b.log.1', 'xen/notes.txt'])
      writeFileSync(join(root, 'var/log', f), 'x\n');
    const bin = join(root, 'bin');
    const xm = exe(bin, 'xm');
    process.env.PATH = bin;
    const r = defaultInputs(5, 'xen07', root);
    expect(r.problems).toEqual([]);
    expect(r.inputs.map((i) => [i.name, i.kind, i.host])).toEqual([
      [join(root, 'var/log/kern.log'), 'file', null],
      [join(root, 'var/log/messages'), 'file', null],
      [join(root, 'var/log/xen/qemu-a.log'), 'file', null],
      [join(root, 'var/log/xen/xl-b.log'), 'file', null],
      [`${xm} dmesg`, 'command', 'xen07'],
    ]);
    const xl = exe(bin, 'xl');
    expect(defaultInputs(5, 'xen07', root).inputs.at(-1)!.name).toBe(`${xl} dmesg`);
    process.env.PATH = join(root, 'nothing');
    expect(defaultInputs(5, 'xen07', root).inputs.map((i) => i.kind)).toEqual(['file', 'file', 'file', 'file']);
    // the root from the environment
    process.env.XENDOCTOR_LOG_ROOT = root;
    expect(defaultInputs(5, 'xen07').inputs.length).toBe(4);
  });

  it('reads the journal of a host without syslog files, and no /var/log/xen is no problem', () => {
    const root = tmp('xd-inputs-root-');
    const bin = join(root, 'bin');
    const journalctl = exe(bin, 'journalctl');
    process.env.PATH = bin;
    const r = defaultInputs(5, 'xen07', root);
    expect(r.problems).toEqual([]);
    expect(r.inputs.map((i) => [i.name, i.kind, i.host, i.mtime])).toEqual([[`${journalctl} -o json --no-pager -q`, 'command', null, 5]]);
    mkdirSync(join(root, 'var/log'), { recursive: true });
    writeFileSync(join(root, 'var/log/syslog'), 'x\n');
    expect(defaultInputs(5, 'xen07', root).inputs.map((i) => i.kind)).toEqual(['file']);
    process.env.PATH = join(root, 'nothing');
    expect(defaultInputs(5, 'xen07', tmp('xd-inputs-root-')).inputs).toEqual([]);
  });
});

describe('inputContext: the year of a file that runs over New Year', () => {
  const Y = 2026;
  const dec30 = Date.UTC(Y, 11, 30, 10, 0, 0);
  const fileOf = (data: string | Buffer, over: Partial<Input> = {}): Input => {
    const p = join(tmp('xd-inputs-ctx-'), 'kern.log');
    writeFileSync(p, data);
    return { name: p, kind: 'file', mtime: 42, size: statSync(p).size, host: null, open: () => source([]), ...over };
  };
  const SYSLOG = 'Dec 30 10:00:00 xen07 kernel: hello';

  it('takes the last year-less stamp, read in the year given, as the reference of a plain file', () => {
    expect(inputContext(fileOf(`Jan  2 00:00:00 xen07 kernel: a\n${SYSLOG}\n`), 'UTC', Y)).toEqual({
      zone: 'UTC',
      year: null,
      reference: dec30,
    });
    // blank lines and lines without a stamp after it are passed over
    expect(inputContext(fileOf(`${SYSLOG}\n  continued\n\n   \nno stamp\n`), 'UTC', Y)).toEqual({
      zone: 'UTC',
      year: null,
      reference: dec30,
    });
    expect(inputContext(fileOf(SYSLOG), 'Europe/Berlin', Y)).toEqual({ zone: 'Europe/Berlin', year: null, reference: dec30 - 3600_000 });
  });

  it('keeps the year given for a stamp with a year, a stream, a gzip file, an empty or missing file, or no year', () => {
    const keep = (input: Input, year: number | null = Y) =>
      expect(inputContext(input, 'UTC', year)).toEqual({ zone: 'UTC', year, reference: 42 });
    keep(fileOf(`${SYSLOG}\n2026-12-30T10:00:00.000000+00:00 xen07 kernel: iso\n`));
    keep(fileOf(`${SYSLOG}\n`), null);
    keep(fileOf(`${SYSLOG}\n`, { kind: 'stdin' }));
    keep(fileOf(`${SYSLOG}\n`, { kind: 'command' }));
    keep(fileOf(`${SYSLOG}\n`, { size: null }));
    keep(fileOf(`${SYSLOG}\n`, { size: 0 }));
    keep(fileOf(gzipSync(`${SYSLOG}\n`)));
    keep(fileOf(`${SYSLOG}\n`, { name: join(tmp('xd-inputs-'), 'missing') }));
    keep(fileOf('no stamp at all\n'));
  });

  it('looks at the last 200 lines with text only', () => {
    const lines = (n: number) => Array.from({ length: n }, (_, i) => `line ${i}\n\n`).join('');
    expect(inputContext(fileOf(`${SYSLOG}\n${lines(199)}`), 'UTC', Y).year).toBeNull();
    expect(inputContext(fileOf(`${SYSLOG}\n${lines(200)}`), 'UTC', Y).year).toBe(Y);
  });

  it('reads only the last 64 KiB, without the piece of a line it starts in', () => {
    // the stamp is before the last 64 KiB
    expect(inputContext(fileOf(`${SYSLOG}\n${'x'.repeat(70_000)}\n`), 'UTC', Y).year).toBe(Y);
    // the last 64 KiB start inside a line, at what looks like a stamp
    const tail = `${SYSLOG}\n${'y'.repeat(65_536 - SYSLOG.length - 2)}\n`;
    expect(Buffer.byteLength(tail)).toBe(65_536);
    expect(inputContext(fileOf(`${'z'.repeat(1000)}${tail}`), 'UTC', Y).year).toBe(Y);
    // the size given, not the file's: a file that grew is read up to the size it had
    const grown = fileOf(`no stamp\n${SYSLOG}\n`);
    expect(inputContext({ ...grown, size: 'no stamp\n'.length }, 'UTC', Y).year).toBe(Y);
  });
});

describe('written against the first mutation run', () => {
  afterEach(() => {
    staged.fail.clear();
    staged.stdin = null;
  });
  const names = (r: { inputs: Input[] }) => r.inputs.map((i) => i.name);

  it('orders many files of the same age by name, however they come (a sort of more than 64)', () => {
    const sorted: string[] = [];
    for (let h = 0; h < 100; h++)
      sorted.push(`/l/k.log-20261201${String(h).padStart(2, '0')}`, `/l/k.log-20261201${String(h).padStart(2, '0')}.gz`);
    sorted.push('/l/k.log-20261201', '/l/k.log-20261201.gz');
    sorted.sort();
    let seed = 7;
    const shuffled = [...sorted].sort(() => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % 3) - 1);
    expect(shuffled).not.toEqual(sorted);
    expect(orderRotated(shuffled)).toEqual(sorted);
    expect(orderRotated([...sorted].reverse())).toEqual(sorted);
  });

  it('maybeGunzip: gzip only by both magic bytes; an input without `return`; no listener left per wait', async () => {
    expect(texts(await all(maybeGunzip(source([Buffer.from([0x1f, 0x61, 0x62])]))))).toEqual(['\x1fab']);
    expect(texts(await all(maybeGunzip(source([Buffer.from([0x61, 0x8b, 0x62])]))))).toEqual(['a\x8bb']);
    const bare = (chunks: Buffer[]): AsyncIterable<Buffer> => ({
      [Symbol.asyncIterator]: () => {
        let i = 0;
        return { next: async () => (i < chunks.length ? { done: false, value: chunks[i++]! } : { done: true, value: undefined }) };
      },
    });
    expect(texts(await all(maybeGunzip(bare([b('ab'), b('c')]))))).toEqual(['ab', 'c']);
    expect(Buffer.concat(await all(maybeGunzip(bare([gzipSync('zipped\n')])))).toString()).toBe('zipped\n');
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const text = randomBytes(2 * 1024 * 1024);
      const gz = gzipSync(text);
      const chunks: Buffer[] = [];
      for (let i = 0; i < gz.length; i += 32 * 1024) chunks.push(gz.subarray(i, i + 32 * 1024));
      expect(Buffer.concat(await all(maybeGunzip(source(chunks)))).equals(text)).toBe(true);
      await new Promise((r) => setTimeout(r, 50));
      expect(warnings.map((w) => w.name)).not.toContain('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('textSize: a trailer only behind both magic bytes', () => {
    const dir = tmp('xd-inputs-');
    const f = join(dir, 'f');
    for (const head of [
      [0x1f, 0x00],
      [0x00, 0x8b],
    ]) {
      const buf = Buffer.alloc(30);
      buf.set(head, 0);
      buf.writeUInt32LE(1000, 26);
      writeFileSync(f, buf);
      expect(textSize(f, 30)).toBe(30);
    }
  });

  it('notLogText: a binary is not taken for gzip by one of the magic bytes', () => {
    const dir = tmp('xd-inputs-');
    for (const head of [
      [0x00, 0x8b],
      [0x1f, 0x00],
    ]) {
      const p = join(dir, `b${head[0]}`);
      writeFileSync(p, Buffer.concat([Buffer.from(head), Buffer.alloc(100), randomBytes(100)]));
      expect(notLogText(p)).toBe(true);
    }
  });

  it('a FIFO, socket or device met in a walked folder is passed over without a word (only links to them are named)', () => {
    const dir = tmp('xd-inputs-');
    execFileSync('mkfifo', [join(dir, 'fifo.log')]);
    writeFileSync(join(dir, 'a.log'), 'a\n');
    const r = resolveInputs([dir], 1);
    expect(names(r)).toEqual([join(dir, 'a.log')]);
    expect(r.problems).toEqual([]);
  });

  it('a pattern gives names as it is written: absolute for an absolute one, relative for a relative one', () => {
    const dir = tmp('xd-inputs-');
    writeFileSync(join(dir, 'kern.log'), 'x\n');
    writeFileSync(join(dir, 'kern.log.1'), 'x\n');
    // (the bug: tinyglobby's `absolute: false` gave an absolute pattern's files relative to the working folder)
    expect(names(resolveInputs([join(dir, 'kern.log*')], 1))).toEqual([join(dir, 'kern.log.1'), join(dir, 'kern.log')]);
    const rel = relative(process.cwd(), dir);
    expect(names(resolveInputs([join(rel, 'kern.log*')], 1))).toEqual([join(rel, 'kern.log.1'), join(rel, 'kern.log')]);
  });

  it('says a folder it cannot read, and a file it may not read, in words', () => {
    const dir = tmp('xd-inputs-');
    mkdirSync(join(dir, 'locked'));
    mkdirSync(join(dir, 'odd'));
    writeFileSync(join(dir, 'a.log'), 'a\n');
    writeFileSync(join(dir, 'b.log'), 'b\n');
    staged.fail.set(join(dir, 'locked'), { call: 'readdirSync', error: errno('EACCES') });
    staged.fail.set(join(dir, 'odd'), { call: 'readdirSync', error: errno(undefined, 'odd failure') });
    staged.fail.set(join(dir, 'a.log'), { call: 'statSync', error: errno('EACCES') });
    staged.fail.set(join(dir, 'b.log'), { call: 'statSync', error: errno('EPERM') });
    const r = resolveInputs([join(dir, 'a.log'), join(dir, 'b.log'), join(dir, 'locked'), join(dir, 'odd')], 1);
    expect(r.problems).toEqual([
      { source: join(dir, 'a.log'), message: 'permission denied' },
      { source: join(dir, 'b.log'), message: 'permission denied' },
      { source: join(dir, 'locked'), message: 'cannot read folder: EACCES' },
      { source: join(dir, 'locked'), message: 'folder holds no log files' },
      { source: join(dir, 'odd'), message: 'cannot read folder: odd failure' },
      { source: join(dir, 'odd'), message: 'folder holds no log files' },
    ]);
  });

  it('stdinIsPiped: a pipe, a file or a socket, not a terminal or nothing', () => {
    const kind = (k: string) => () => ({ isFIFO: () => k === 'fifo', isFile: () => k === 'file', isSocket: () => k === 'socket' });
    for (const [k, piped] of [
      ['fifo', true],
      ['file', true],
      ['socket', true],
      ['tty', false],
    ] as const) {
      staged.stdin = kind(k);
      expect(stdinIsPiped()).toBe(piped);
    }
    staged.stdin = () => {
      throw errno('EBADF');
    };
    expect(stdinIsPiped()).toBe(false);
  });

  it('inputContext: a gzip file (stored, its text readable in its tail) keeps the year; a plain one with one magic byte is read', () => {
    const Y = 2026;
    const SYSLOG = 'Dec 30 10:00:00 xen07 kernel: hello\n';
    const dir = tmp('xd-inputs-');
    const input = (p: string, size = statSync(p).size): Input => ({
      name: p,
      kind: 'file',
      mtime: 42,
      size,
      host: null,
      open: () => source([]),
    });
    const gz = join(dir, 'a.gz');
    writeFileSync(gz, gzipSync(SYSLOG.repeat(3), { level: 0 }));
    expect(inputContext(input(gz), 'UTC', Y)).toEqual({ zone: 'UTC', year: Y, reference: 42 });
    for (const [i, first] of [0x1f, 0x8b].entries()) {
      const p = join(dir, `p${i}`);
      writeFileSync(p, Buffer.concat([Buffer.from(i === 0 ? [first, 0x0a] : [0x61, first, 0x0a]), Buffer.from(SYSLOG)]));
      expect(inputContext(input(p), 'UTC', Y).year).toBeNull();
    }
    // grown past the size given, with more than 64 KiB: what came after that size is not read
    const grown = join(dir, 'grown');
    writeFileSync(grown, `${'x'.repeat(70_000)}\n`);
    const size = statSync(grown).size;
    appendFileSync(grown, SYSLOG);
    expect(inputContext(input(grown, size), 'UTC', Y).year).toBe(Y);
    // lines of blanks are no lines
    const blanks = join(dir, 'blanks');
    writeFileSync(blanks, `${SYSLOG}${Array.from({ length: 199 }, (_, k) => `line ${k}\n  \t\n`).join('')}`);
    expect(inputContext(input(blanks), 'UTC', Y).year).toBeNull();
    const before = fds();
    for (let k = 0; k < 20; k++) inputContext(input(blanks), 'UTC', Y);
    expect(fds()).toBe(before);
  });
});
