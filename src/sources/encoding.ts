/**
 * Text encodings other than UTF-8 on the way in: a log written as UTF-16 (a Windows tool's export,
 * `iconv -t UTF-16`, a syslog relay that re-encodes) is told by its byte-order mark, or without one
 * by its NUL pattern (ASCII text in UTF-16 has a NUL in every other byte), and transcoded to UTF-8
 * before it is split into lines; anything else passes through untouched, at the cost of one look at
 * the first bytes of the stream.
 *
 * Within UTF-8 text, what a crash leaves in a syslog file (a run of NUL bytes where unflushed blocks
 * were, then the lines written after the reboot) and byte-order marks of files glued together are
 * skipped at the start of each line (`lineStart`), so that the line keeps its prefix, host and time.
 */

export type Utf16 = 'utf-16le' | 'utf-16be';

/** Bytes of a stream's beginning looked at to tell UTF-16 without a byte-order mark. */
export const SNIFF_BYTES = 256;

/**
 * UTF-16 by the first bytes of a stream: a byte-order mark (FF FE, FE FF; not FF FE 00 00, UTF-32),
 * or, without one, NULs in nearly every byte of one parity and nearly none of the other (at least
 * 16 bytes looked at). A run of NULs (a crashed syslog) has NULs at both parities: not UTF-16.
 */
export function utf16Of(head: Uint8Array): Utf16 | null {
  if (head.length >= 2) {
    if (head[0] === 0xff && head[1] === 0xfe) return head.length >= 4 && head[2] === 0 && head[3] === 0 ? null : 'utf-16le';
    if (head[0] === 0xfe && head[1] === 0xff) return 'utf-16be';
  }
  const n = Math.min(head.length, SNIFF_BYTES) & ~1;
  if (n < 16) return null;
  let even = 0;
  let odd = 0;
  for (let i = 0; i < n; i += 2) {
    if (head[i] === 0) even++;
    if (head[i + 1] === 0) odd++;
  }
  const half = n / 2;
  if (odd >= half * 0.9 && even <= half * 0.1) return 'utf-16le';
  if (even >= half * 0.9 && odd <= half * 0.1) return 'utf-16be';
  return null;
}

/**
 * The bytes of a stream, as UTF-8: UTF-16 (see utf16Of) is transcoded (the byte-order mark dropped,
 * invalid units replaced); anything else is passed through as it comes.
 */
export async function* toUtf8(chunks: AsyncIterable<Buffer>, onUtf16?: (enc: Utf16) => void): AsyncGenerator<Buffer> {
  const it = chunks[Symbol.asyncIterator]();
  let head: Buffer | null = null;
  // enough of the beginning to decide (a stream may come in tiny pieces)
  while (head === null || head.length < SNIFF_BYTES) {
    const r = await it.next();
    if (r.done) break;
    head = head === null ? r.value : Buffer.concat([head, r.value]);
  }
  if (head === null) return;
  const enc = utf16Of(head);
  if (enc === null) {
    yield head;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
    return;
  }
  onUtf16?.(enc);
  // big-endian is swapped to little-endian (Node's small-ICU builds decode only utf-16le); a lone last
  // byte is dropped: half a code unit (report reads a live file to its last line end, the 0x0A of
  // "\n" in UTF-16LE; its 0x00 is the start of the next run's read)
  const decoder = new TextDecoder('utf-16le');
  let odd: Buffer | null = null;
  const feed = (c: Buffer): Buffer => {
    if (odd) {
      c = Buffer.concat([odd, c]);
      odd = null;
    }
    const even = c.length & ~1;
    if (even < c.length) odd = Buffer.from(c.subarray(even));
    const units = enc === 'utf-16be' ? Buffer.from(c.subarray(0, even)).swap16() : c.subarray(0, even);
    return Buffer.from(decoder.decode(units, { stream: true }), 'utf8');
  };
  let out = feed(head);
  if (out.length > 0) yield out;
  for (let r = await it.next(); !r.done; r = await it.next()) {
    out = feed(r.value);
    if (out.length > 0) yield out;
  }
  out = Buffer.from(decoder.decode(), 'utf8');
  if (out.length > 0) yield out;
}

/**
 * Where a line's text starts in buf[start, end): after any NUL bytes and UTF-8 byte-order marks
 * (EF BB BF) before it. Call only when buf[start] is 0 or 0xEF (the common line pays one byte check).
 */
export function lineStart(buf: Uint8Array, start: number, end: number): number {
  let p = start;
  for (;;) {
    while (p < end && buf[p] === 0) p++;
    if (p + 3 <= end && buf[p] === 0xef && buf[p + 1] === 0xbb && buf[p + 2] === 0xbf) p += 3;
    else return p;
  }
}
