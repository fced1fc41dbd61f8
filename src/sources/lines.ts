/**
 * Lines: splits a stream of Buffers into lines without building a string per line. A prefilter
 * (a multi-literal search, run over each block of whole lines) picks the candidate lines; only
 * those, plus the lines a sink asks for, are decoded. Any bytes are accepted: invalid UTF-8 is replaced,
 * CR and NUL tolerated (NULs and UTF-8 byte-order marks before a line's text are skipped: what a crash
 * leaves in a syslog file), and a line over the limit is cut with a note.
 */
import type { LineFormat } from '../types.js';
import { classifyLine } from '../parse/line.js';
import { lineStart } from './encoding.js';

/** Longest line kept; the rest of a longer line is dropped (and noted). */
export const MAX_LINE = 64 * 1024;

export interface LineSink {
  /** True while the sink wants every line (a multi-line report is open). Asked again only after `line`. */
  wantsAll(): boolean;
  /**
   * A line, decoded. `candidate`: the prefilter picked it; its bytes are raw[start, end). `before`:
   * the line before it, when this one may depend on it (see LinePlace.before): it starts with a
   * space, a TAB or '>' (the wrapped rest of a long line; it is a candidate when the two joined hold
   * a literal), or it follows syslogd's wall broadcast header.
   */
  line(text: string, lineNo: number, candidate: boolean, raw: Uint8Array, start: number, end: number, before?: string): void;
  /**
   * Optional: a line that is neither a candidate nor asked for, and has no line before to go with it,
   * before it is dropped: its bytes raw[start, end). False hands it over after all (to `line`, as
   * not a candidate). The timeline counts such lines by their time and host without a string each.
   */
  passed?(raw: Uint8Array, start: number, end: number, lineNo: number): boolean;
}

/** Finds the places in a buffer where a candidate line may be (see engine/prefilter.ts). */
export interface Prefilter {
  /**
   * Offsets in buf[from, end) where some literal starts, in increasing order (`at[0..n)`). The list
   * may be reused by the next call: a block's list is read before anything else is searched.
   */
  find(buf: Uint8Array, from: number, end: number): { at: Int32Array; n: number };
  /** Offset of the first literal in buf[from, end), or -1; leaves the last `find`'s list as it was. */
  next(buf: Uint8Array, from: number, end: number): number;
}

export interface LineStats {
  lines: number;
  bytes: number;
  formats: Partial<Record<LineFormat, number>>;
  /** The first lines (for the input's first time) and the last line seen. */
  head: string[];
  tail: string | null;
  /** Lines cut for length, by line number. */
  notes: { line: number; text: string }[];
  /** A read error that ended the input early (what came before it was still analysed). */
  error: string | null;
}

const HEAD_LINES = 20;
const NL = 10;

const BYTE_ARRAY_MESSAGE = Buffer.from('"MESSAGE":[');

function hasByteArrayMessage(buf: Buffer, start: number, end: number): boolean {
  const at = buf.indexOf(BYTE_ARRAY_MESSAGE, start);
  return at >= 0 && at < end;
}

const WALL = Buffer.from('Message from syslogd@');

/** Does buf[start, end) hold syslogd's wall broadcast header ("Message from syslogd@host at …")? */
export function isWallHeader(buf: Uint8Array, start: number, end: number): boolean {
  let p = start;
  while (p < end && (buf[p] === 32 || buf[p] === 9 || buf[p] === 7 || buf[p] === 13)) p++;
  if (buf[p] !== 77 /* M */ || end - p < WALL.length) return false;
  for (let i = 1; i < WALL.length; i++) if (buf[p + i] !== WALL[i]) return false;
  return true;
}

function decode(buf: Buffer, start: number, end: number): string {
  if (end > start && buf[end - 1] === 13 /* CR */) end--;
  return buf.toString('utf8', start, end);
}

/**
 * Split `chunks` into lines, feeding candidates (and, while it asks, every line) to `sink`.
 * With `everyLine` (or no prefilter), every line is a candidate: the slow, simple path.
 */
export async function scanLines(
  chunks: AsyncIterable<Buffer>,
  prefilter: Prefilter | null,
  sink: LineSink,
  everyLine = false,
): Promise<LineStats> {
  if (!prefilter) everyLine = true;
  const stats: LineStats = { lines: 0, bytes: 0, formats: {}, head: [], tail: null, notes: [], error: null };
  const formats = new Map<LineFormat, { n: number }>();
  let carry: Buffer | null = null;
  /** The carried line had its leading NULs dropped (it counts as a line even when nothing is left). */
  let strippedLine = false;
  let skipping = false; // inside the dropped rest of an over-long line
  let cutNotes = 0;
  let runFormat: LineFormat | null = null;
  let runCount = { n: 0 };
  // the line before (see LineSink.line's `before`): its bytes in the current block, or a copy of the
  // last line of the block before
  let prevCopy: Buffer | null = null;
  let prevWall = false;
  const space = Buffer.from(' ');

  const processBlock = (buf: Buffer, end: number) => {
    // buf[0..end) holds whole lines, each ended by "\n" (the last may be the final line without one)
    const hits = everyLine ? null : prefilter!.find(buf, 0, end);
    const at = hits?.at;
    const nHits = hits?.n ?? 0;
    let h = 0; // the first hit not before the current line
    let all = sink.wantsAll(); // changes only when the sink is handed a line
    let pos = 0;
    let prevStart = -1;
    let prevEnd = -1;
    const prevBytes = () => (prevStart >= 0 ? buf.subarray(prevStart, prevEnd) : prevCopy);
    while (pos < end) {
      let nl = buf.indexOf(NL, pos);
      if (nl < 0 || nl >= end) nl = end;
      stats.lines++;
      const lineNo = stats.lines;
      // a NUL run (a crash's unflushed blocks) or a byte-order mark before the text: the line starts after it
      const b0 = buf[pos];
      if ((b0 === 0 || b0 === 0xef) && pos < nl) pos = lineStart(buf, pos, nl);
      // neighbouring lines mostly share a format: the map is looked up only when it changes
      const fmt = classifyLine(buf, pos, nl);
      if (fmt !== runFormat) {
        runFormat = fmt;
        runCount = formats.get(fmt) ?? { n: 0 };
        formats.set(fmt, runCount);
      }
      runCount.n++;
      let lineEnd = nl;
      if (nl - pos > MAX_LINE) {
        lineEnd = pos + MAX_LINE;
        if (cutNotes++ < 10) stats.notes.push({ line: lineNo, text: `longer than ${MAX_LINE} bytes, cut` });
      }
      // journalctl -o json writes a message that is not clean UTF-8 as an array of byte values:
      // the literals cannot be seen in the raw line, so such a line is always a candidate
      let candidate = everyLine || (buf[pos] === 123 /* { */ && hasByteArrayMessage(buf, pos, lineEnd));
      if (!candidate) {
        while (h < nHits && at![h]! < pos) h++;
        candidate = h < nHits && at![h]! < lineEnd;
      }
      // a wrapped rest (indented, or quoted) or the line after a wall header: offered with the line before
      const first = buf[pos];
      const rest = first === 32 || first === 9 || first === 62;
      const before = rest || prevWall ? prevBytes() : null;
      if (before !== null && rest && !candidate && !all && !everyLine) {
        // as the engine joins them: the rest without its indentation and quoting
        let q = pos;
        while (q < lineEnd && (buf[q] === 32 || buf[q] === 9 || buf[q] === 62)) q++;
        const joined = Buffer.concat([before, space, buf.subarray(q, lineEnd)]);
        // (next(), not find(): find would reuse the list of this block's hits that the loop still reads)
        candidate = prefilter!.next(joined, 0, joined.length) >= 0;
      }
      const wanted = candidate || all || (sink.passed !== undefined && (before !== null || !sink.passed(buf, pos, lineEnd, lineNo)));
      if (wanted || stats.head.length < HEAD_LINES) {
        const s = decode(buf, pos, lineEnd);
        if (stats.head.length < HEAD_LINES) stats.head.push(s);
        if (wanted) {
          sink.line(s, lineNo, candidate, buf, pos, lineEnd, before ? decode(before, 0, before.length) : undefined);
          all = sink.wantsAll();
        }
      }
      prevWall = isWallHeader(buf, pos, lineEnd);
      prevStart = pos;
      prevEnd = lineEnd;
      if (nl + 1 >= end) stats.tail = decode(buf, pos, lineEnd);
      pos = nl + 1;
    }
    if (prevStart >= 0) prevCopy = Buffer.from(buf.subarray(prevStart, prevEnd));
  };

  try {
    for await (const chunk of chunks) {
      stats.bytes += chunk.length;
      let buf: Buffer = chunk;
      if (skipping) {
        const nl = buf.indexOf(NL);
        if (nl < 0) continue;
        buf = buf.subarray(nl + 1);
        skipping = false;
      }
      if (carry) {
        // the carried line ends in this chunk: join it with the chunk's first line only (copying
        // the whole chunk onto it would copy every byte of the input once more)
        const nl = buf.indexOf(NL);
        const joined = Buffer.concat([carry, nl < 0 ? buf : buf.subarray(0, nl + 1)]);
        carry = null;
        if (nl < 0) buf = joined;
        else {
          processBlock(joined, joined.length);
          buf = buf.subarray(nl + 1);
          if (buf.length === 0) continue;
        }
      }
      const lastNl = buf.lastIndexOf(NL);
      if (lastNl < 0) {
        // buf starts a line: a NUL run there (a crash's unflushed blocks, often more than MAX_LINE) and
        // byte-order marks are dropped as they come, as processBlock drops them, so that the text after
        // them is not cut away as the rest of an over-long line (nor cut shorter than a line read whole)
        strippedLine = buf[0] === 0 || buf[0] === 0xef; // a line, even if nothing is left of it
        if (strippedLine) buf = buf.subarray(lineStart(buf, 0, buf.length));
        if (buf.length > MAX_LINE) {
          // an over-long line with no end in sight: keep its head as the line, drop the rest
          const head = Buffer.from(buf.subarray(0, MAX_LINE + 1));
          head[MAX_LINE] = NL;
          processBlock(head, MAX_LINE + 1);
          if (cutNotes++ < 10) stats.notes.push({ line: stats.lines, text: `longer than ${MAX_LINE} bytes, cut` });
          skipping = true;
        } else {
          carry = Buffer.from(buf);
        }
        continue;
      }
      processBlock(buf, lastNl + 1);
      if (lastNl + 1 < buf.length) carry = Buffer.from(buf.subarray(lastNl + 1));
    }
  } catch (e) {
    stats.error = (e as Error).message;
  }
  if (carry && carry.length > 0) processBlock(carry, carry.length);
  else if (carry && strippedLine) processBlock(Buffer.from([NL]), 1); // only NULs, and no line end
  stats.formats = Object.fromEntries([...formats].map(([f, c]) => [f, c.n]));
  return stats;
}
