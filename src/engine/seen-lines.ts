/**
 * The stamped lines that made hits, by signature (rule, stamp and message hashed), with the host,
 * time and input of their first sight: a line read again from an overlapping capture (kern.log, a
 * dmesg capture and the serial console of one boot) is counted once (Engine.firstSight).
 *
 * A hot path: on a quiet dom0's kern.log a third of the lines are bridge port changes that a rule
 * counts, each one signed and remembered. The table is an open-addressing hash over typed arrays
 * (no object per line, no string built to hash), with a Map's behaviour: `get` after `set` finds
 * the entry, `clear` forgets everything, and it holds at most MAX_SEEN entries (cleared when full,
 * by the caller).
 */

/** Entries at most (the caller clears the table when it is full). */
export const MAX_SEEN = 100_000;

/** Slots when the table is first used; it doubles while more than half full, up to 2^18 (> 2 × MAX_SEEN). */
const FIRST_SLOTS = 1024;

const STAMP = new Float64Array(1);
const STAMP_WORDS = new Uint32Array(STAMP.buffer);

/**
 * The signature of a stamped line: a 53-bit hash (cyrb53, as groups.ts hash53) of the rule id, the
 * kind of stamp (`kind`: a character code), the stamp's number and the message. The stamp enters
 * as the 64 bits of its double, not as its decimal text: the same number gives the same bits, and
 * no string is made per line (an uptime's shortest decimal form costs more than the whole hash).
 */
export function signature(rule: string, kind: number, stamp: number, message: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < rule.length; i++) {
    const ch = rule.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  // NUL, the kind, the stamp's two 32-bit words, NUL
  STAMP[0] = stamp;
  const lo = STAMP_WORDS[0]!;
  const hi = STAMP_WORDS[1]!;
  h1 = Math.imul(h1, 2654435761);
  h2 = Math.imul(h2, 1597334677);
  h1 = Math.imul(h1 ^ kind, 2654435761);
  h2 = Math.imul(h2 ^ kind, 1597334677);
  h1 = Math.imul(h1 ^ lo, 2654435761);
  h2 = Math.imul(h2 ^ lo, 1597334677);
  h1 = Math.imul(h1 ^ hi, 2654435761);
  h2 = Math.imul(h2 ^ hi, 1597334677);
  h1 = Math.imul(h1, 2654435761);
  h2 = Math.imul(h2, 1597334677);
  for (let i = 0; i < message.length; i++) {
    const ch = message.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/** Host, time and input of a signature's first sight. */
export interface Sight {
  host: string | null;
  time: number | null;
  source: string;
}

export class SeenLines {
  /** Signature + 1 per slot (0: empty); signatures are below 2^53, so + 1 stays exact. */
  private keys: Float64Array | null = null;
  private times = new Float64Array(0);
  /** 1 where the time is null. */
  private untimed = new Uint8Array(0);
  /** Index into `names` of the host (-1: none) and of the input. */
  private hosts = new Int32Array(0);
  private sources = new Int32Array(0);
  /** Host names and input names, each kept once (forgotten with the entries). */
  private names: string[] = [];
  private nameIndex = new Map<string, number>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  clear(): void {
    // the slots are kept (a full table fills again: growing it anew would rehash every entry)
    this.keys?.fill(0);
    this.count = 0;
    this.names = [];
    this.nameIndex.clear();
  }

  /** The slot of `sig`: where it is, or the empty slot where it would go. */
  private slot(keys: Float64Array, sig: number): number {
    const mask = keys.length - 1;
    const k = sig + 1;
    // the low 32 bits of the hash are its first half (cyrb53's h1): well mixed
    let i = (sig >>> 0) & mask;
    for (;;) {
      const at = keys[i]!;
      if (at === k || at === 0) return i;
      i = (i + 1) & mask;
    }
  }

  /** The first sight of `sig`, or undefined. The object is a copy: fill it in with `update`. */
  get(sig: number): Sight | undefined {
    const keys = this.keys;
    if (keys === null) return undefined;
    const i = this.slot(keys, sig);
    if (keys[i] === 0) return undefined;
    const h = this.hosts[i]!;
    return { host: h < 0 ? null : this.names[h]!, time: this.untimed[i] ? null : this.times[i]!, source: this.names[this.sources[i]!]! };
  }

  /** Is the input of `sig`'s first sight `source`? (undefined: not seen) */
  sameSource(sig: number, source: string): boolean | undefined {
    const keys = this.keys;
    if (keys === null) return undefined;
    const i = this.slot(keys, sig);
    if (keys[i] === 0) return undefined;
    return this.names[this.sources[i]!] === source;
  }

  /** Fill in the host and the time of `sig`'s entry (which exists) where it has none. */
  update(sig: number, host: string | null, time: number | null): void {
    const i = this.slot(this.keys!, sig);
    if (host !== null && this.hosts[i]! < 0) this.hosts[i] = this.name(host);
    if (time !== null && this.untimed[i] === 1) {
      this.times[i] = time;
      this.untimed[i] = 0;
    }
  }

  set(sig: number, host: string | null, time: number | null, source: string): void {
    if (this.keys === null) this.alloc(FIRST_SLOTS);
    else if ((this.count + 1) * 2 > this.keys.length) this.grow();
    const keys = this.keys!;
    const i = this.slot(keys, sig);
    if (keys[i] === 0) this.count++;
    keys[i] = sig + 1;
    this.hosts[i] = host === null ? -1 : this.name(host);
    this.sources[i] = this.name(source);
    this.untimed[i] = time === null ? 1 : 0;
    this.times[i] = time ?? 0;
  }

  private name(s: string): number {
    let i = this.nameIndex.get(s);
    if (i === undefined) {
      i = this.names.length;
      this.names.push(s);
      this.nameIndex.set(s, i);
    }
    return i;
  }

  private alloc(slots: number): void {
    this.keys = new Float64Array(slots);
    this.times = new Float64Array(slots);
    this.untimed = new Uint8Array(slots);
    this.hosts = new Int32Array(slots);
    this.sources = new Int32Array(slots);
  }

  private grow(): void {
    const { keys, times, untimed, hosts, sources } = this;
    this.alloc(keys!.length * 2);
    for (let j = 0; j < keys!.length; j++) {
      const k = keys![j]!;
      if (k === 0) continue;
      const i = this.slot(this.keys!, k - 1);
      this.keys![i] = k;
      this.times[i] = times[j]!;
      this.untimed[i] = untimed[j]!;
      this.hosts[i] = hosts[j]!;
      this.sources[i] = sources[j]!;
    }
  }
}
