/**
 * Multi-literal search (Wu–Manber): finds the occurrences of many literals in a byte buffer,
 * skipping several bytes per step, so that most log lines are never decoded nor touched by a
 * regular expression. It also tells which literals a candidate line holds, so only the rules that
 * can match are tried. ASCII letters are folded: the search is case-insensitive, and the rules'
 * own patterns decide exactly.
 *
 * Each step of Wu–Manber waits on the one before (the next position depends on the shift just
 * read), so a block is searched as four interleaved quarters: four independent chains keep the
 * CPU busy while each one waits on memory, about 2–3 times the speed of one chain.
 */

const FOLD = new Uint8Array(256);
for (let i = 0; i < 256; i++) FOLD[i] = i >= 65 && i <= 90 ? i + 32 : i;

/** Block size of the shift table (bytes hashed per step): three bytes tell log text apart far better than two. */
const B = 3;
/** Longest prefix of a literal used for the window (longer windows skip further). */
const MAX_M = 16;
/** A block shorter than this is searched as one chain (four would not pay). */
const QUAD_MIN = 1024;
const TABLE = 1 << 16;

/** Hash of the three bytes ending at a window's end (the same expression is inlined in the loops). */
function hash3(a: number, b: number, c: number): number {
  return ((a << 10) ^ (b << 5) ^ c) & (TABLE - 1);
}

interface Entry {
  bytes: Uint8Array;
  /** Owner ids (e.g. rule indexes) of this literal. */
  owners: number[];
}

/** Positions found by a search, in increasing order (a growable buffer, reused). */
export class Hits {
  at = new Int32Array(256);
  n = 0;

  push(p: number): void {
    if (this.n === this.at.length) {
      const grown = new Int32Array(this.at.length * 2);
      grown.set(this.at);
      this.at = grown;
    }
    this.at[this.n++] = p;
  }

  /** Append another list's positions. */
  append(o: Hits): void {
    for (let i = 0; i < o.n; i++) this.push(o.at[i]!);
  }
}

/** Wu–Manber over literals of similar length; the shortest literal sets the window (and the skip). */
class WuManber {
  /** Window length: the shortest literal (capped). */
  private readonly m: number;
  private readonly shift: Uint8Array;
  /** The first two bytes of every literal (all case variants): a cheap check before the bucket's. */
  private readonly prefix = new Uint8Array(TABLE);
  /**
   * Literals whose window ends in a block: `lists[slot[hash]]` (slot 0: none). A 64 K-slot array of
   * lists took milliseconds to allocate at every start; the slot table is zeroed memory.
   */
  private readonly slot = new Uint16Array(TABLE);
  private readonly lists: Entry[][] = [[]];
  /** The hits of each quarter of a block, concatenated at its end. */
  private readonly quarters = [new Hits(), new Hits(), new Hits(), new Hits()];

  constructor(entries: Entry[]) {
    this.m = Math.min(MAX_M, ...entries.map((e) => e.bytes.length));
    const m = this.m;
    if (m < B) throw new Error(`literal shorter than ${B} bytes`);
    const shift = (this.shift = new Uint8Array(TABLE).fill(m - B + 1));
    // The table is indexed by raw bytes (no folding in the hot loop): each block is entered in
    // every case variant of its letters (a folded letter's upper case is 32 below it). Plain loops
    // over the variants: this runs at every start, before the code is optimised.
    const x = [0, 0];
    const y = [0, 0];
    const z = [0, 0];
    const both = (v: number[], b: number) => {
      v[0] = b;
      v[1] = b >= 97 && b <= 122 ? b - 32 : b;
      return v[1] === b ? 1 : 2;
    };
    for (const e of entries) {
      const p = e.bytes;
      const nx0 = both(x, p[0]!);
      const ny0 = both(y, p[1]!);
      for (let i = 0; i < nx0; i++) for (let j = 0; j < ny0; j++) this.prefix[(x[i]! << 8) | y[j]!] = 1;
      for (let q = B; q <= m; q++) {
        const s = m - q;
        const nx = both(x, p[q - 3]!);
        const ny = both(y, p[q - 2]!);
        const nz = both(z, p[q - 1]!);
        for (let i = 0; i < nx; i++) {
          for (let j = 0; j < ny; j++) {
            for (let k = 0; k < nz; k++) {
              const h = hash3(x[i]!, y[j]!, z[k]!);
              if (s < shift[h]!) shift[h] = s;
              if (s !== 0) continue;
              if (this.slot[h] === 0) this.slot[h] = this.lists.push([]) - 1;
              const list = this.lists[this.slot[h]!]!;
              if (!list.includes(e)) list.push(e);
            }
          }
        }
      }
    }
  }

  private static matchesAt(buf: Uint8Array, start: number, end: number, p: Uint8Array): boolean {
    if (start + p.length > end) return false;
    for (let k = 0; k < p.length; k++) if (FOLD[buf[start + k]!] !== p[k]) return false;
    return true;
  }

  /** Does some literal start at `start` (its window ending at start + m - 1)? */
  private at(buf: Uint8Array, start: number, end: number): boolean {
    if (this.prefix[(buf[start]! << 8) | buf[start + 1]!] === 0) return false;
    const h = hash3(buf[start + this.m - 3]!, buf[start + this.m - 2]!, buf[start + this.m - 1]!);
    const list = this.lists[this.slot[h]!]!;
    const first = FOLD[buf[start]!]!;
    for (const e of list) if (e.bytes[0] === first && WuManber.matchesAt(buf, start, end, e.bytes)) return true;
    return false;
  }

  /**
   * One chain: every literal start whose window ends in [pos, stop) goes to `out`; `end` bounds
   * the literals themselves. Without `out`, stops at the first one and returns it (or -1).
   */
  private chain(buf: Uint8Array, pos: number, stop: number, end: number, out: Hits | null): number {
    const m = this.m;
    const shift = this.shift;
    while (pos < stop) {
      const s = shift[((buf[pos - 2]! << 10) ^ (buf[pos - 1]! << 5) ^ buf[pos]!) & (TABLE - 1)]!;
      if (s > 0) {
        pos += s;
        continue;
      }
      const start = pos - m + 1;
      if (this.at(buf, start, end)) {
        if (!out) return start;
        out.push(start);
      }
      pos++;
    }
    return -1;
  }

  /** Offset where some literal starts, searching buf[from, end); -1 when none does. */
  next(buf: Uint8Array, from: number, end: number): number {
    return this.chain(buf, from + this.m - 1, end, end, null);
  }

  /** Every offset in buf[from, end) where some literal starts, appended to `out` in order. */
  find(buf: Uint8Array, from: number, end: number, out: Hits): void {
    const m = this.m;
    if (end - from < QUAD_MIN) {
      this.chain(buf, from + m - 1, end, end, out);
      return;
    }
    // four chains over four quarters; quarter k owns the windows ending in [e(k-1), e(k))
    const L = Math.floor((end - from) / 4);
    const [o0, o1, o2, o3] = this.quarters as [Hits, Hits, Hits, Hits];
    o0.n = o1.n = o2.n = o3.n = 0;
    const shift = this.shift;
    const prefix = this.prefix;
    const e0 = from + L + m - 1;
    const e1 = e0 + L;
    const e2 = e1 + L;
    let p0 = from + m - 1;
    let p1 = e0;
    let p2 = e1;
    let p3 = e2;
    while (p0 < e0 && p1 < e1 && p2 < e2 && p3 < end) {
      const s0 = shift[((buf[p0 - 2]! << 10) ^ (buf[p0 - 1]! << 5) ^ buf[p0]!) & (TABLE - 1)]!;
      const s1 = shift[((buf[p1 - 2]! << 10) ^ (buf[p1 - 1]! << 5) ^ buf[p1]!) & (TABLE - 1)]!;
      const s2 = shift[((buf[p2 - 2]! << 10) ^ (buf[p2 - 1]! << 5) ^ buf[p2]!) & (TABLE - 1)]!;
      const s3 = shift[((buf[p3 - 2]! << 10) ^ (buf[p3 - 1]! << 5) ^ buf[p3]!) & (TABLE - 1)]!;
      // one branch for the common case (no chain on a possible match): s - 1 is negative only for 0
      if (((s0 - 1) | (s1 - 1) | (s2 - 1) | (s3 - 1)) >= 0) {
        p0 += s0;
        p1 += s1;
        p2 += s2;
        p3 += s3;
        continue;
      }
      if (s0 !== 0) p0 += s0;
      else {
        const start = p0++ - m + 1;
        if (prefix[(buf[start]! << 8) | buf[start + 1]!] !== 0) o0.push(start);
      }
      if (s1 !== 0) p1 += s1;
      else {
        const start = p1++ - m + 1;
        if (prefix[(buf[start]! << 8) | buf[start + 1]!] !== 0) o1.push(start);
      }
      if (s2 !== 0) p2 += s2;
      else {
        const start = p2++ - m + 1;
        if (prefix[(buf[start]! << 8) | buf[start + 1]!] !== 0) o2.push(start);
      }
      if (s3 !== 0) p3 += s3;
      else {
        const start = p3++ - m + 1;
        if (prefix[(buf[start]! << 8) | buf[start + 1]!] !== 0) o3.push(start);
      }
    }
    // the loop above only noted the windows that may hold a literal: check them now, out of the hot loop
    this.keepMatches(buf, end, o0);
    this.keepMatches(buf, end, o1);
    this.keepMatches(buf, end, o2);
    this.keepMatches(buf, end, o3);
    // each chain finishes its own quarter alone
    this.chain(buf, p0, e0, end, o0);
    this.chain(buf, p1, e1, end, o1);
    this.chain(buf, p2, e2, end, o2);
    this.chain(buf, p3, end, end, o3);
    out.append(o0);
    out.append(o1);
    out.append(o2);
    out.append(o3);
  }

  /** Keep only the starts in `list` where a literal does start. */
  private keepMatches(buf: Uint8Array, end: number, list: Hits): void {
    let k = 0;
    for (let i = 0; i < list.n; i++) {
      const start = list.at[i]!;
      if (this.at(buf, start, end)) list.at[k++] = start;
    }
    list.n = k;
  }

  /** Does one of the literals start at `start` and end by `end`? */
  startsAt(buf: Uint8Array, start: number, end: number): boolean {
    return start + this.m <= end && this.at(buf, start, end);
  }

  /** Owners of the literals starting at `start` and ending by `end`, added to `out`. */
  ownersAt(buf: Uint8Array, start: number, end: number, out: Set<number>): void {
    const m = this.m;
    if (start + m > end) return;
    const list = this.lists[this.slot[hash3(buf[start + m - 3]!, buf[start + m - 2]!, buf[start + m - 1]!)]!]!;
    const first = FOLD[buf[start]!]!;
    for (const e of list) {
      if (e.bytes[0] === first && WuManber.matchesAt(buf, start, end, e.bytes)) for (const o of e.owners) out.add(o);
    }
  }

  /** Owners of every literal occurring in buf[from, end), added to `out`. */
  ownersIn(buf: Uint8Array, from: number, end: number, out: Set<number>): void {
    const m = this.m;
    let pos = from + m - 1;
    while (pos < end) {
      const h = ((buf[pos - 2]! << 10) ^ (buf[pos - 1]! << 5) ^ buf[pos]!) & (TABLE - 1);
      const s = this.shift[h]!;
      if (s > 0) {
        pos += s;
        continue;
      }
      const start = pos - m + 1;
      const first = FOLD[buf[start]!]!;
      for (const e of this.lists[this.slot[h]!]!) {
        if (e.bytes[0] === first && WuManber.matchesAt(buf, start, end, e.bytes)) for (const o of e.owners) out.add(o);
      }
      pos++;
    }
  }
}

/** Literals at least this long share the fast table; shorter ones (which would shorten every skip) get their own. */
const LONG = 8;

/**
 * The prefilter of a catalogue: every rule's literals, searched as two Wu–Manber sets (long and
 * short literals), so that one weak literal does not slow the search for all the others.
 */
export class LiteralSet {
  /** One or two sets: long literals, short ones. */
  private readonly sets: WuManber[];
  /** The hits of the last `find` (with two sets: each set's, merged into `hits`). */
  private readonly parts = [new Hits(), new Hits()];
  private readonly hits = new Hits();
  /** What the last `find` searched (its hits are in `hits`). */
  private readonly searched: { buf: Uint8Array | null; from: number; end: number } = { buf: null, from: 0, end: 0 };

  /** `literals`: [text, owner] pairs; each literal at least 3 bytes long. */
  constructor(literals: [string, number][]) {
    const byText = new Map<string, Entry>();
    const entries: Entry[] = [];
    for (const [text, owner] of literals) {
      const bytes = Buffer.from(text, 'utf8');
      for (let i = 0; i < bytes.length; i++) bytes[i] = FOLD[bytes[i]!]!;
      const key = bytes.toString('latin1');
      let e = byText.get(key);
      if (!e) {
        e = { bytes, owners: [] };
        byText.set(key, e);
        entries.push(e);
      }
      if (!e.owners.includes(owner)) e.owners.push(owner);
    }
    // (measured: a third set, for literals of 16 bytes or more, or one set for all, is slower)
    const long = entries.filter((e) => e.bytes.length >= LONG);
    const short = entries.filter((e) => e.bytes.length < LONG);
    this.sets = [long, short].filter((l) => l.length > 0).map((l) => new WuManber(l));
  }

  /** Offset where some literal starts, searching buf[from, end); -1 when none does. */
  next(buf: Uint8Array, from: number, end: number): number {
    let best = -1;
    for (const s of this.sets) {
      const at = s.next(buf, from, end);
      if (at >= 0 && (best < 0 || at < best)) best = at;
    }
    return best;
  }

  /**
   * Every offset in buf[from, end) where some literal starts, in increasing order. The list is
   * reused by the next call.
   */
  find(buf: Uint8Array, from: number, end: number): Hits {
    const out = this.hits;
    out.n = 0;
    this.searched.buf = buf;
    this.searched.from = from;
    this.searched.end = end;
    const [a, b] = this.sets;
    if (!a) return out;
    if (!b) {
      a.find(buf, from, end, out);
      return out;
    }
    const [pa, pb] = this.parts as [Hits, Hits];
    pa.n = pb.n = 0;
    a.find(buf, from, end, pa);
    b.find(buf, from, end, pb);
    mergeInto(pa, pb, out);
    return out;
  }

  /**
   * Does some literal lie wholly in buf[from, end)? As `next(buf, from, end) >= 0`, but a line of
   * the block the last `find` searched is answered from that search's hits, not searched again.
   */
  holds(buf: Uint8Array, from: number, end: number): boolean {
    if (buf !== this.searched.buf || from < this.searched.from || end > this.searched.end) return this.next(buf, from, end) >= 0;
    const hits = this.hits;
    for (let i = this.firstHit(from); i < hits.n && hits.at[i]! < end; i++) {
      // a literal starting in the line may run past `end` (a line cut at MAX_LINE)
      for (const s of this.sets) if (s.startsAt(buf, hits.at[i]!, end)) return true;
    }
    return false;
  }

  /** Index of the first hit of the last `find` at or after `from` (binary search: lines need not be asked in order). */
  private firstHit(from: number): number {
    const hits = this.hits;
    let lo = 0;
    let hi = hits.n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (hits.at[mid]! < from) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Owners of every literal occurring in buf[from, end), added to `out`. A line of the block the
   * last `find` searched is answered from that search's hits, not searched again.
   */
  ownersIn(buf: Uint8Array, from: number, end: number, out: Set<number>): void {
    if (buf === this.searched.buf && from >= this.searched.from && end <= this.searched.end) {
      const hits = this.hits;
      const lo = this.firstHit(from);
      for (let i = lo; i < hits.n && hits.at[i]! < end; i++) {
        if (i > lo && hits.at[i] === hits.at[i - 1]) continue;
        for (const s of this.sets) s.ownersAt(buf, hits.at[i]!, end, out);
      }
      return;
    }
    for (const s of this.sets) s.ownersIn(buf, from, end, out);
  }
}

/** Merge two increasing lists into `out`. */
function mergeInto(a: Hits, b: Hits, out: Hits): void {
  let i = 0;
  let j = 0;
  while (i < a.n && j < b.n) {
    if (a.at[i]! <= b.at[j]!) out.push(a.at[i++]!);
    else out.push(b.at[j++]!);
  }
  while (i < a.n) out.push(a.at[i++]!);
  while (j < b.n) out.push(b.at[j++]!);
}
