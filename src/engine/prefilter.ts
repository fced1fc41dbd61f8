/**
 * Multi-literal search (Wu–Manber): finds the first occurrence of any of many literals in a byte
 * buffer, skipping several bytes per step, so that most log lines are never decoded nor touched by
 * a regular expression. It also tells which literals a candidate line holds, so only the rules
 * that can match are tried. ASCII letters are folded: the search is case-insensitive, and the
 * rules' own patterns decide exactly.
 */

const FOLD = new Uint8Array(256);
for (let i = 0; i < 256; i++) FOLD[i] = i >= 65 && i <= 90 ? i + 32 : i;

/** Block size of the shift table (bytes hashed per step). */
const B = 2;
/** Longest prefix of a literal used for the window (longer windows skip further). */
const MAX_M = 16;

interface Entry {
  bytes: Uint8Array;
  /** Owner ids (e.g. rule indexes) of this literal. */
  owners: number[];
}

/** Wu–Manber over literals of similar length; the shortest literal sets the window (and the skip). */
class WuManber {
  /** Window length: the shortest literal (capped). */
  private readonly m: number;
  private readonly shift: Uint8Array;
  /** Literals whose window ends in a block, by the block's hash (a plain array: no Map in the hot loop). */
  private readonly buckets: (Entry[] | undefined)[] = new Array<Entry[] | undefined>(65536);
  private readonly entries: Entry[];
  readonly empty: boolean;

  constructor(entries: Entry[]) {
    this.entries = entries;
    this.empty = this.entries.length === 0;
    this.m = Math.min(MAX_M, ...this.entries.map((e) => e.bytes.length), MAX_M);
    if (this.m < B + 1 && !this.empty) throw new Error(`literal shorter than ${B + 1} bytes`);
    const m = this.m;
    this.shift = new Uint8Array(65536).fill(m - B + 1);
    // The table is indexed by raw bytes (no folding in the hot loop): each block is entered in
    // every case variant of its letters.
    const variants = (b: number) => (b >= 97 && b <= 122 ? [b, b - 32] : [b]);
    for (const e of this.entries) {
      const p = e.bytes;
      for (let q = B; q <= m; q++) {
        const s = m - q;
        for (const x of variants(p[q - 2]!)) {
          for (const y of variants(p[q - 1]!)) {
            const h = (x << 8) | y;
            if (s < this.shift[h]!) this.shift[h] = s;
            if (s === 0) {
              const list = this.buckets[h];
              if (!list) this.buckets[h] = [e];
              else if (!list.includes(e)) list.push(e);
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

  /** Offset where some literal starts, searching buf[from, end); -1 when none does. */
  next(buf: Uint8Array, from: number, end: number): number {
    if (this.empty) return -1;
    const m = this.m;
    const shift = this.shift;
    let pos = from + m - 1;
    while (pos < end) {
      const h = (buf[pos - 1]! << 8) | buf[pos]!;
      const s = shift[h]!;
      if (s > 0) {
        pos += s;
        continue;
      }
      const start = pos - m + 1;
      const first = FOLD[buf[start]!]!;
      for (const e of this.buckets[h]!) {
        if (e.bytes[0] === first && WuManber.matchesAt(buf, start, end, e.bytes)) return start;
      }
      pos++;
    }
    return -1;
  }

  /** Owners of every literal occurring in buf[from, end), added to `out`. */
  ownersIn(buf: Uint8Array, from: number, end: number, out: Set<number>): void {
    if (this.empty) return;
    const m = this.m;
    let pos = from + m - 1;
    while (pos < end) {
      const h = (buf[pos - 1]! << 8) | buf[pos]!;
      const s = this.shift[h]!;
      if (s > 0) {
        pos += s;
        continue;
      }
      const start = pos - m + 1;
      const first = FOLD[buf[start]!]!;
      for (const e of this.buckets[h]!) {
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
  private readonly sets: WuManber[];
  /** Per set, the last search: in which buffer, from where, and what it found. */
  private readonly memo: { buf: Uint8Array | null; from: number; end: number; at: number }[];

  /** `literals`: [text, owner] pairs; each literal at least 3 bytes long. */
  constructor(literals: [string, number][]) {
    const byText = new Map<string, Entry>();
    const entries: Entry[] = [];
    for (const [text, owner] of literals) {
      const bytes = Uint8Array.from(Buffer.from(text, 'utf8'), (b) => FOLD[b]!);
      const key = Buffer.from(bytes).toString('latin1');
      let e = byText.get(key);
      if (!e) {
        e = { bytes, owners: [] };
        byText.set(key, e);
        entries.push(e);
      }
      if (!e.owners.includes(owner)) e.owners.push(owner);
    }
    const long = entries.filter((e) => e.bytes.length >= LONG);
    const short = entries.filter((e) => e.bytes.length < LONG);
    this.sets = [long, short].filter((l) => l.length > 0).map((l) => new WuManber(l));
    this.memo = this.sets.map(() => ({ buf: null, from: 0, end: 0, at: -1 }));
  }

  /** Offset where some literal starts, searching buf[from, end); -1 when none does. */
  next(buf: Uint8Array, from: number, end: number): number {
    let best = -1;
    for (let i = 0; i < this.sets.length; i++) {
      const m = this.memo[i]!;
      // the last answer still holds when it was searched in this buffer from no later than `from`
      if (!(m.buf === buf && m.end === end && m.from <= from && (m.at === -1 || m.at >= from))) {
        m.buf = buf;
        m.from = from;
        m.end = end;
        m.at = this.sets[i]!.next(buf, from, end);
      }
      if (m.at >= 0 && (best < 0 || m.at < best)) best = m.at;
    }
    return best;
  }

  /** Owners of every literal occurring in buf[from, end), added to `out`. */
  ownersIn(buf: Uint8Array, from: number, end: number, out: Set<number>): void {
    for (const s of this.sets) s.ownersIn(buf, from, end, out);
  }
}
