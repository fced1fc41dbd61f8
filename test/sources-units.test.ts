/**
 * Unit and property tests of src/sources/encoding.ts (reached only through the binary before; the
 * mutation run, docs/mutation.md): UTF-16 told by its byte-order mark or its NUL pattern, transcoded
 * to UTF-8 whatever the chunking, everything else passed through byte for byte; where a line's text
 * starts after NUL runs and byte-order marks.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { lineStart, SNIFF_BYTES, toUtf8, utf16Of } from '../src/sources/encoding.js';

const le = (s: string) => Buffer.from(s, 'utf16le');
const be = (s: string) => Buffer.from(s, 'utf16le').swap16();
async function collect(chunks: Buffer[], onUtf16?: (e: string) => void): Promise<Buffer> {
  async function* gen() {
    for (const c of chunks) yield c;
  }
  const out: Buffer[] = [];
  for await (const b of toUtf8(gen(), onUtf16)) {
    expect(b.length).toBeGreaterThan(0);
    out.push(b);
  }
  return Buffer.concat(out);
}
/** `buf` cut at the given points (sorted, deduplicated) into consecutive pieces. */
const cut = (buf: Buffer, points: number[]): Buffer[] => {
  const at = [...new Set(points.map((p) => p % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of [...at, buf.length]) {
    if (p > from) out.push(buf.subarray(from, p));
    from = Math.max(from, p);
  }
  return out;
};
const LOG = 'Nov 20 08:01:10 xen07 kernel: [812345.1] INFO: task blkback.1.xvda:2162 blocked for more than 120 seconds.\n';

describe('encoding: telling UTF-16', () => {
  it('by its byte-order mark (not UTF-32 LE, FF FE 00 00)', () => {
    expect(utf16Of(Buffer.from([0xff, 0xfe]))).toBe('utf-16le');
    expect(utf16Of(Buffer.from([0xff, 0xfe, 0x41, 0x00]))).toBe('utf-16le');
    expect(utf16Of(Buffer.from([0xff, 0xfe, 0x00, 0x41]))).toBe('utf-16le');
    expect(utf16Of(Buffer.from([0xff, 0xfe, 0x41, 0x00, 0x00]))).toBe('utf-16le');
    expect(utf16Of(Buffer.from([0xff, 0xfe, 0x00, 0x00]))).toBeNull();
    expect(utf16Of(Buffer.from([0xfe, 0xff]))).toBe('utf-16be');
    expect(utf16Of(Buffer.from([0xfe]))).toBeNull();
    expect(utf16Of(Buffer.from([0xff, 0xff]))).toBeNull();
    expect(utf16Of(Buffer.from([0xfe, 0xfe]))).toBeNull();
  });

  it('without one, by NULs in (nearly) every byte of one parity and (nearly) none of the other', () => {
    expect(utf16Of(le(LOG))).toBe('utf-16le');
    expect(utf16Of(be(LOG))).toBe('utf-16be');
    expect(utf16Of(Buffer.from(LOG))).toBeNull();
    expect(utf16Of(Buffer.alloc(64))).toBeNull(); // a crashed syslog's NUL run: both parities
    // 16 bytes are enough, 14 are not
    expect(utf16Of(le('abcdefgh'))).toBe('utf-16le');
    expect(utf16Of(le('abcdefg'))).toBeNull();
    expect(utf16Of(be('abcdefgh'))).toBe('utf-16be');
    // an odd length: the last byte is not looked at
    expect(utf16Of(Buffer.concat([le('abcdefgh'), Buffer.from([0x41])]))).toBe('utf-16le');
  });

  it('at 90% of the units with a NUL on one side and at most 10% on the other', () => {
    // 20 units: 18 ASCII and 2 others (a non-Latin-1 character has no NUL byte)
    const mixed = (others: number, ch = 'ā') => le('a'.repeat(20 - others) + ch.repeat(others));
    expect(utf16Of(mixed(2))).toBe('utf-16le');
    expect(utf16Of(mixed(3))).toBeNull();
    expect(utf16Of(Buffer.from(mixed(2)).swap16())).toBe('utf-16be');
    expect(utf16Of(Buffer.from(mixed(3)).swap16())).toBeNull();
    // NULs on the other side too: 2 of 20 is still UTF-16, 3 is not
    const nuls = (n: number) => {
      const b = le('a'.repeat(20));
      for (let i = 0; i < n; i++) b[2 * i] = 0;
      return b;
    };
    expect(utf16Of(nuls(2))).toBe('utf-16le');
    expect(utf16Of(nuls(3))).toBeNull();
    expect(utf16Of(Buffer.from(nuls(2)).swap16())).toBe('utf-16be');
    expect(utf16Of(Buffer.from(nuls(3)).swap16())).toBeNull();
  });

  it('counts the bytes it looks at, not the one after them', () => {
    // 128 units, 12 of them with a NUL low byte (10% of the even bytes, the most UTF-16LE allows), then
    // more such units past the first 256 bytes
    const head = le('a'.repeat(116) + 'Ā'.repeat(12));
    expect(utf16Of(head)).toBe('utf-16le');
    expect(utf16Of(Buffer.concat([head, le('Ā')]))).toBe('utf-16le');
  });

  it(`looks at the first ${SNIFF_BYTES} bytes only`, () => {
    const head = le('a'.repeat(SNIFF_BYTES / 2));
    const tail = Buffer.from('x'.repeat(4 * SNIFF_BYTES));
    expect(utf16Of(Buffer.concat([head, tail]))).toBe('utf-16le');
    expect(utf16Of(Buffer.concat([Buffer.from('x'.repeat(SNIFF_BYTES)), le('a'.repeat(SNIFF_BYTES))]))).toBeNull();
  });
});

describe('encoding: to UTF-8', () => {
  it('UTF-16 of any text in any chunking reads as its UTF-8, the byte-order mark dropped, and is reported', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: 'grapheme', minLength: 0, maxLength: 300 }),
        fc.constantFrom('le', 'be', 'le-bom', 'be-bom'),
        fc.array(fc.nat(), { maxLength: 12 }),
        async (body, form, points) => {
          const text = `${LOG.repeat(3)}${body}`; // ASCII over the first 256 bytes: a form without a mark is told by its NULs
          const bom = form.endsWith('bom') ? '\ufeff' : '';
          const bytes = form.startsWith('le') ? le(bom + text) : be(bom + text);
          const seen: string[] = [];
          const got = await collect(cut(bytes, points), (e) => seen.push(e));
          expect(got.toString('utf8')).toBe(text);
          expect(seen).toEqual([form.startsWith('le') ? 'utf-16le' : 'utf-16be']);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('anything else passes through byte for byte (invalid UTF-8 included), and is not reported', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 1000 }), fc.array(fc.nat(), { maxLength: 12 }), async (arr, points) => {
        const bytes = Buffer.from(arr);
        fc.pre(utf16Of(bytes) === null);
        let reported = false;
        const got = await collect(cut(bytes, points), () => (reported = true));
        expect(got.equals(bytes)).toBe(true);
        expect(reported).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it('decides on the first bytes even when they come one at a time, and keeps the order of what follows', async () => {
    const text = LOG.repeat(5);
    const bytes = le(text);
    const got = await collect([...bytes].map((b) => Buffer.from([b])));
    expect(got.toString('utf8')).toBe(text);
    const plain = Buffer.from(text);
    expect((await collect([...plain].map((b) => Buffer.from([b])))).equals(plain)).toBe(true);
  });

  it('an empty stream gives nothing; a lone last byte of UTF-16 is dropped (half a code unit)', async () => {
    expect((await collect([])).length).toBe(0);
    // a byte-order mark alone: no text (and no empty piece)
    expect((await collect([Buffer.from([0xff, 0xfe])])).length).toBe(0);
    // a lone high surrogate at the very end: the replacement character, not nothing
    expect((await collect([le(`${LOG}\ud83d`)])).toString('utf8')).toBe(`${LOG}\ufffd`);
    const bytes = Buffer.concat([le(LOG), Buffer.from([0x41])]);
    expect((await collect([bytes])).toString('utf8')).toBe(LOG);
    // a character split across chunks, and a surrogate pair split across chunks
    const pair = le(`${LOG}😀ā`);
    for (let i = LOG.length * 2; i < pair.length; i++)
      expect((await collect([pair.subarray(0, i), pair.subarray(i)])).toString('utf8'), `cut at ${i}`).toBe(`${LOG}😀ā`);
  });
});

describe('encoding: where a line starts', () => {
  it('after NUL runs and UTF-8 byte-order marks, in any order; not past the line end', () => {
    const at = (bytes: number[], start = 0, end = bytes.length) => lineStart(Uint8Array.from(bytes), start, end);
    const BOM = [0xef, 0xbb, 0xbf];
    expect(at([0, 0, 0, 0x41])).toBe(3);
    expect(at([...BOM, 0x41])).toBe(3);
    expect(at([0, ...BOM, 0, 0, ...BOM, 0x41])).toBe(9);
    expect(at([0xef, 0xbb, 0x41])).toBe(0); // not a whole mark
    expect(at([0xef, 0x41, 0xbf])).toBe(0);
    expect(at([0xef, 0xbb, 0xbe, 0x41])).toBe(0);
    expect(at([0x41, 0xbb, 0xbf, 0x41])).toBe(0);
    expect(at([0, 0, 0x41], 1)).toBe(2);
    expect(at([0, 0, 0, 0x41], 0, 2)).toBe(2); // the line ends before its text
    expect(at([...BOM, 0x41], 0, 2)).toBe(0); // a mark cut by the line end is text
    expect(at([0, ...BOM], 0, 4)).toBe(4);
  });
});
