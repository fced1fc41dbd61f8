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

export class LiteralSet {
  /** Window length: the shortest literal (capped). */
  private readonly m: number;
  private readonly shift: Uint8Array;
  private readonly buckets = new Map<number, Entry[]>();
  private readonly entries: Entry[] = [];
  /** Literals too short for the shift table (under B+1 bytes) are looked up by scanning. */
  readonly empty: boolean;

  /** `literals`: [text, owner] pairs. Literals must be at least 3 bytes long. */
  constructor(literals: [string, number][]) {
    const byText = new Map<string, Entry>();
    for (const [text, owner] of literals) {
      const bytes = Uint8Array.from(Buffer.from(text, 'utf8'), (b) => FOLD[b]!);
      const key = Buffer.from(bytes).toString('latin1');
      let e = byText.get(key);
      if (!e) {
        e = { bytes, owners: [] };
        byText.set(key, e);
        this.entries.push(e);
      }
      if (!e.owners.includes(owner)) e.owners.push(owner);
    }
    this.empty = this.entries.length === 0;
    this.m = Math.min(MAX_M, ...this.entries.map((e) => e.bytes.length), MAX_M);
    if (this.m < B + 1 && !this.empty) throw new Error(`literal shorter than ${B + 1} bytes`);
    const m = this.m;
    this.shift = new Uint8Array(65536).fill(m - B + 1);
    for (const e of this.entries) {
      const p = e.bytes;
      for (let q = B; q <= m; q++) {
        const h = (p[q - 2]! << 8) | p[q - 1]!;
        const s = m - q;
        if (s < this.shift[h]!) this.shift[h] = s;
        if (s === 0) {
          const list = this.buckets.get(h);
          if (list) list.push(e);
          else this.buckets.set(h, [e]);
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
      const h = (FOLD[buf[pos - 1]!]! << 8) | FOLD[buf[pos]!]!;
      const s = shift[h]!;
      if (s > 0) {
        pos += s;
        continue;
      }
      const start = pos - m + 1;
      for (const e of this.buckets.get(h)!) {
        if (LiteralSet.matchesAt(buf, start, end, e.bytes)) return start;
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
      const h = (FOLD[buf[pos - 1]!]! << 8) | FOLD[buf[pos]!]!;
      const s = this.shift[h]!;
      if (s > 0) {
        pos += s;
        continue;
      }
      const start = pos - m + 1;
      for (const e of this.buckets.get(h)!) {
        if (LiteralSet.matchesAt(buf, start, end, e.bytes)) for (const o of e.owners) out.add(o);
      }
      pos++;
    }
  }
}
