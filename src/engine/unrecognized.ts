/**
 * Unrecognised messages: lines that no rule matched but that look like trouble are mined into
 * templates in the manner of Drain (He et al., "Drain: An Online Log Parsing Approach with Fixed
 * Depth Tree", ICWS 2017): the variable parts are masked first (numbers, hex, addresses, domain
 * ids, devices, interfaces, paths), then a message joins the most similar template of the same
 * length and first word - the positions where they differ become <*> - or starts a new one.
 * Each template keeps its count, first and last time, an example line and a bounded histogram of
 * its hourly counts (for bursts against a baseline). Known-benign messages (rules/benign/) are
 * skipped. Memory is bounded: caps on templates in all and per group, the rarest evicted.
 */
import { readFileSync, statSync } from 'node:fs';
import { writeFileAtomic } from '../state/atomic.js';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LogEvent, Unrecognized } from '../types.js';
import { toIso } from '../parse/time.js';
import { bundledRulesDir } from './catalogue.js';

/** Words that make a line look like trouble (matched case-insensitively by the prefilter). */
// Five characters at least: a shorter literal shortens every skip of the prefilter for all lines.
export const TROUBLE_LITERALS = [
  'error',
  'failed',
  'failure',
  'fails ',
  'failing',
  'fatal',
  'panic',
  'unable to',
  'cannot ',
  "can't ",
  'timed out',
  'timeout',
  'denied',
  'refused',
  'corrupt',
  'warning',
  'critical',
  'abort',
  'not responding',
  ' lost',
  'link down',
  'link is down',
  'segfault',
  'stalled',
  'hung ',
  'unreadable',
  'uncorrectable',
  'degraded',
];

const TROUBLE = new RegExp(TROUBLE_LITERALS.map((w) => w.replace(/[.*+?^${}()|[\]\\']/g, '\\$&')).join('|'), 'i');

/** Words of the error level and above: such templates are listed before warning-level ones, whatever their counts. */
const GRAVE =
  /\b(?:panic|fatal|critical|emerg(?:ency)?|alert|error|errors|failed|failure|fails|failing|segfault|corrupt(?:ed|ion)?|uncorrectable|abort(?:ed|ing)?|oops|bug)\b/i;
const WARNING =
  /\b(?:warn(?:ing)?|timed out|timeout|denied|refused|degraded|not responding|lost|link (?:is )?down|stalled|hung|unable to|cannot|can't)\b/i;

/** How grave a template's words are: 2 error level, 1 warning level, 0 other. */
export function gravity(template: string): number {
  return GRAVE.test(template) ? 2 : WARNING.test(template) ? 1 : 0;
}

/** Does a message look like trouble (the simple path's equivalent of the prefilter)? */
export function looksLikeTrouble(message: string): boolean {
  return TROUBLE.test(message);
}

/** The wildcard of a template position where messages differ. */
export const WILDCARD = '<*>';

/** Has the text a digit? (a cheap test for the masks that need one) */
const hasDigit = (t: string) => /\d/.test(t);
const hasAny = (t: string, parts: string[]) => parts.some((p) => t.includes(p));
/** Enough colons for a full IPv6 address, or the "::" of a shortened one. */
const ipv6Like = (t: string) => t.includes('::') || t.split(':').length > 7;

/**
 * The masks of variable parts, applied in order: [pattern, replacement, a cheap test that holds
 * whenever the pattern can match]. The test only saves the regular expression's scan of a
 * message that cannot match (the replacement would change nothing): most masks need a character
 * or word that most messages lack.
 */
export const MASK_STEPS: [RegExp, string, (t: string) => boolean][] = [
  [/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<uuid>', (t) => t.includes('-')],
  [/\b(?:[0-9a-f]{2}:){5}[0-9a-f]{2}\b/gi, '<mac>', (t) => t.includes(':')],
  [/\b[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]\b/gi, '<pci>', (t) => t.includes(':') && t.includes('.')],
  [
    /\b(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}\b|\b[0-9a-f]{1,4}(?::[0-9a-f]{1,4})*::(?:[0-9a-f]{1,4}(?::[0-9a-f]{1,4})*)?\b/gi,
    '<ip>',
    ipv6Like,
  ],
  [/\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b/g, '<ip>', (t) => t.includes('.')],
  [/\b0x[0-9a-f]+\b/gi, '<hex>', (t) => t.includes('0x') || t.includes('0X')],
  [/\b(?=[0-9a-f]*\d)[0-9a-f]{8,}\b/gi, '<hex>', hasDigit],
  [/\bvif\d+\.\d+(?:-emu)?\b/g, 'vif<*>', (t) => t.includes('vif')],
  [/\bvif-\d+-\d+\b/g, 'vif-<*>', (t) => t.includes('vif-')],
  [/\btap\d+\.\d+\b/g, 'tap<*>', (t) => t.includes('tap')],
  [
    /(?:\/dev\/)?\b(?:sd[a-z]+\d*|xvd[a-z]+\d*|vd[a-z]+\d*|hd[a-z]\d*|nvme\d+n\d+(?:p\d+)?|mmcblk\d+(?:p\d+)?|dm-\d+|md\d+|loop\d+)\b/g,
    '<dev>',
    (t) => hasAny(t, ['sd', 'vd', 'hd', 'nvme', 'mmcblk', 'dm-', 'md', 'loop']),
  ],
  [/\b(?:eth|eno|enp|ens|bond|xenbr|virbr|vlan)\w*\b|\bbr\d\w*\b/g, '<if>', (t) => hasAny(t, ['eth', 'en', 'bond', 'br', 'vlan'])],
  [/\bd\d+v\d+\b/g, 'd<*>v<*>', hasDigit],
  [/\bd\d+\b/g, 'd<*>', hasDigit],
  // paths of data (not of programs and scripts, which stay: /etc/xen/scripts/vif-bridge); a colon
  // ends a path unless a word follows it (/dev/disk/by-path/pci-0000:05:00.0)
  [
    /(?:^|(?<=[\s=('"[]))\/(?!(?:etc|usr|lib|lib64|sbin|bin|opt)\/)(?:[\w.@+-]|:(?=\w))+(?:\/(?:[\w.@+-]|:(?=\w))*)+/g,
    '<path>',
    (t) => t.includes('/'),
  ],
  [/-?\b\d+(?:\.\d+)?\b/g, WILDCARD, hasDigit],
];

/** The masks alone, in order (tests and `rules` tooling). */
export const MASKS: [RegExp, string][] = MASK_STEPS.map(([re, mask]) => [re, mask]);

/** Whitespace that `templateOf` folds: a run of two or more, or one that is not a plain space. */
const ODD_SPACE = /\s{2,}|[^\S ]/g;

/** Most characters of a message that are masked and templated (a longer message is cut). */
const MAX_MESSAGE = 512;

/** The template of a message by the masks alone, with no cache: the reference the cached paths are held to. */
export function templateOfSimple(message: string): string {
  return masked(message.length > MAX_MESSAGE ? message.slice(0, MAX_MESSAGE) : message);
}

/** A text with every mask applied and its odd spaces folded (no cut: a shape's slots may make it longer). */
function masked(text: string): string {
  let t = text;
  for (const [re, mask, can] of MASK_STEPS) if (can(t)) t = t.replace(re, mask);
  return t.replace(ODD_SPACE, ' ').trim();
}

const isWordCode = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const ZEROS = Array.from({ length: 14 }, (_, n) => '0'.repeat(n));
/** Stand-ins of hex words of 8 to 13 letters and digits: a letter first (see shapeOf), then zeros. */
const HEX_ZEROS = Array.from({ length: 14 }, (_, n) => (n < 8 ? '' : `a${'0'.repeat(n - 1)}`));
/** Is message[i, j) all hex digits (either case)? */
function isHexWord(message: string, i: number, j: number): boolean {
  for (let p = i; p < j; p++) {
    const c = message.charCodeAt(p) | 32; // ASCII letters to lower case; digits unchanged, '_' not hex either way
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}
/** Words that a mask reads by their first letters (vif, tap, devices, interfaces, d<N>, 0x) or by name (a path's lib64). */
const MASKED_PREFIXES = 'vif|tap|sd|xvd|vd|hd|nvme|mmcblk|d|md|loop|eth|en|bond|xenbr|virbr|vlan|br|0x|0X';
const MASKED_START = new RegExp(`^(?:${MASKED_PREFIXES}|lib64$)`);
/** MASKED_START at an offset of a message (sticky: no word is cut out), for a word that ends before the message does. */
const MASKED_START_AT = new RegExp(`(?:${MASKED_PREFIXES}|lib64(?![0-9A-Za-z_]))`, 'y');
const ALL_HEX = /^[0-9a-f]+$/i;
/** A word's stand-in in a shape: `qZ`, its index in letters g-z, `Zq` (a word of letters no mask reads). */
const SLOT_MARK = 'qZ';
const SLOT = /qZ([g-z]+)Zq/g;
function slotName(k: number): string {
  let s = '';
  do {
    s += String.fromCharCode(103 + (k % 20));
    k = Math.floor(k / 20);
  } while (k > 0);
  return `${SLOT_MARK}${s}Zq`;
}
function slotIndex(letters: string): number {
  let k = 0;
  for (let i = letters.length - 1; i >= 0; i--) k = k * 20 + letters.charCodeAt(i) - 103;
  return k;
}

/** A message's shape (`key`) and the words its slots stand for, in order (null: none). */
export interface Shape {
  key: string;
  words: string[] | null;
}

/**
 * The shape of a message: its text with the parts that no mask reads in detail replaced by
 * stand-ins, so that the template of the shape, with the words put back in its slots, is the
 * template of the message (`templateOf` caches templates by shape). One pass over the characters;
 * a message with nothing to replace is its own shape.
 *
 * - A word of digits only (no letter, digit or `_` beside it) becomes a stand-in that keeps only what
 *   the masks can tell apart in it:
 *   - beside a colon or hyphen (ports, MACs, IPv6, PCI slots, UUIDs, `error -12`): the length up
 *     to 13 (the masks count 2, 4, 1-4, 8, 12 and 8+ digits there), and for one digit whether it
 *     is 0-7 (a PCI function, `0000:05:00.1`);
 *   - beside a dot but no colon or hyphen (IPv4 addresses, versions): one digit 0-7, one 8-9,
 *     2-3, 4-7 or 8+ digits (an address octet has 1-3, the hex mask takes 8+);
 *   - elsewhere (between spaces, brackets, slashes, `=`, ...): 1-7 or 8+ digits (the hex mask
 *     takes 8+; the number mask or a path takes the rest whatever their length).
 * - A word of 8 or more hex digits with a letter among them (a queue or transaction id) becomes
 *   a hex word of a letter and zeros: the hex mask takes both, and no mask before it tells them
 *   apart: the length up to 13 beside a colon or hyphen (a UUID's 8 and 12), else 8. (A letter
 *   first: an IPv4 address's port takes digits only, `10.0.0.7:00000000` would be one address.)
 * - A word of letters and digits that no mask reads (not hex, not a device, interface, vif or
 *   `d<N>` name: a queue id, `spam951`, `mail28`) becomes a slot, a word of letters that the masks
 *   treat as they treat it: kept as it is, or taken whole into a path.
 * - Every other word is kept as it is.
 *
 * test/unrecognized-miner.test.ts holds `templateOf` to `templateOfSimple` on messages built to
 * differ only in such words.
 */
export function shapeOf(message: string): Shape {
  const n = message.length;
  const slots = !message.includes(SLOT_MARK);
  let out = '';
  let from = 0;
  let words: string[] | null = null;
  let i = 0;
  while (i < n) {
    const c = message.charCodeAt(i);
    if (!isWordCode(c)) {
      i++;
      continue;
    }
    let digits = c >= 48 && c <= 57 ? 1 : 0;
    let j = i + 1;
    for (; j < n; j++) {
      const d = message.charCodeAt(j);
      if (!isWordCode(d)) break;
      if (d >= 48 && d <= 57) digits++;
    }
    const len = j - i;
    if (digits === len) {
      const prev = i > 0 ? message.charCodeAt(i - 1) : 32;
      const next = j < n ? message.charCodeAt(j) : 32;
      let stand: string;
      if (prev === 58 || prev === 45 || next === 58 || next === 45) stand = len === 1 ? (c <= 55 ? '0' : '8') : ZEROS[len > 13 ? 13 : len]!;
      else if (prev === 46 || next === 46) stand = len === 1 ? (c <= 55 ? '0' : '8') : len <= 3 ? '00' : len < 8 ? '0000' : '00000000';
      else stand = len < 8 ? '0' : '00000000';
      out += message.slice(from, i) + stand;
      from = j;
    } else if (digits > 0 && len >= 8 && isHexWord(message, i, j)) {
      const prev = i > 0 ? message.charCodeAt(i - 1) : 32;
      const next = j < n ? message.charCodeAt(j) : 32;
      const beside = prev === 58 || prev === 45 || next === 58 || next === 45;
      out += message.slice(from, i) + HEX_ZEROS[beside && len < 13 ? len : beside ? 13 : 8]!;
      from = j;
    } else if (digits > 0 && slots) {
      const word = message.slice(i, j);
      if (!ALL_HEX.test(word) && !MASKED_START.test(word)) {
        words ??= [];
        out += message.slice(from, i) + slotName(words.length);
        words.push(word);
        from = j;
      }
    }
    i = j;
  }
  return { key: from === 0 ? message : out + message.slice(from), words };
}

/** The stand-ins in a shape: '8', then 1 to 13 zeros (digit runs), then the hex words' of 8 to 13 (see shapeOf). */
const STAND_INS = ['8', ...ZEROS.slice(1), ...HEX_ZEROS.slice(8)];
const HEX_STAND = 14 - 8;
/** Slot names by number, made as needed. */
const SLOT_NAMES: string[] = [];
const slotNameOf = (k: number) => SLOT_NAMES[k] ?? (SLOT_NAMES[k] = slotName(k));
/** ASCII characters of words: 1 a letter or `_`, 2 a digit, 0 none (as isWordCode). */
const WORD_KIND = Uint8Array.from({ length: 128 }, (_, c) => (c >= 48 && c <= 57 ? 2 : isWordCode(c) ? 1 : 0));
/** A 32-bit FNV-1a step over one UTF-16 code unit. */
const FNV_PRIME = 0x01000193;
const FNV_BASIS = 0x811c9dc5 | 0;

/**
 * The runs of a message that the last `walkShape` replaced: run r spans [RUNS[3r], RUNS[3r+1]) of
 * the message and stands for RUNS[3r+2]: a stand-in (an index into STAND_INS), or -1 - the number of
 * a slot. A message of MAX_MESSAGE characters has at most MAX_MESSAGE / 2 runs (a word and the
 * character that ends it).
 */
const RUNS = new Int32Array(3 * (MAX_MESSAGE / 2 + 1));
let runCount = 0;

/** Is message[i, j) (a word of letters and digits) one that a shape replaces by a slot? (see shapeOf) */
function isSlotWord(message: string, i: number, j: number, n: number): boolean {
  if (isHexWord(message, i, j)) return false;
  if (j === n && n < message.length) return !MASKED_START.test(message.slice(i, j)); // a word the cut ends
  MASKED_START_AT.lastIndex = i;
  return !MASKED_START_AT.test(message);
}

/**
 * The hash of a message's shape (shapeOf's key of its first `n` characters), walked over the message
 * in place: no string is built. Leaves the replaced runs in RUNS (for sameShape and wordsOfRuns).
 * test/unrecognized-miner.test.ts holds it to shapeOf.
 */
export function walkShape(message: string, n: number): number {
  const mark = message.indexOf(SLOT_MARK);
  const slots = mark < 0 || mark + SLOT_MARK.length > n;
  let h = FNV_BASIS;
  let runs = 0;
  let slot = 0;
  let i = 0;
  while (i < n) {
    const c = message.charCodeAt(i);
    const kind = c < 128 ? WORD_KIND[c]! : 0;
    if (kind === 0) {
      h = Math.imul(h ^ c, FNV_PRIME);
      i++;
      continue;
    }
    // the word's hash as kept, taken back when the word is replaced (each character is read once)
    let kept = Math.imul(h ^ c, FNV_PRIME);
    let digits = kind === 2 ? 1 : 0;
    let j = i + 1;
    for (; j < n; j++) {
      const d = message.charCodeAt(j);
      const k = d < 128 ? WORD_KIND[d]! : 0;
      if (k === 0) break;
      if (k === 2) digits++;
      kept = Math.imul(kept ^ d, FNV_PRIME);
    }
    const len = j - i;
    let stand = 0;
    let replaced = true;
    if (digits === len) {
      const prev = i > 0 ? message.charCodeAt(i - 1) : 32;
      const next = j < n ? message.charCodeAt(j) : 32;
      if (prev === 58 || prev === 45 || next === 58 || next === 45) stand = len === 1 ? (c <= 55 ? 1 : 0) : len > 13 ? 13 : len;
      else if (prev === 46 || next === 46) stand = len === 1 ? (c <= 55 ? 1 : 0) : len <= 3 ? 2 : len < 8 ? 4 : 8;
      else stand = len < 8 ? 1 : 8;
    } else if (digits > 0 && len >= 8 && isHexWord(message, i, j)) {
      const prev = i > 0 ? message.charCodeAt(i - 1) : 32;
      const next = j < n ? message.charCodeAt(j) : 32;
      const beside = prev === 58 || prev === 45 || next === 58 || next === 45;
      stand = HEX_STAND + (beside && len < 13 ? len : beside ? 13 : 8);
    } else if (digits > 0 && slots && isSlotWord(message, i, j, n)) stand = -1 - slot++;
    else replaced = false;
    if (replaced) {
      const s = stand >= 0 ? STAND_INS[stand]! : slotNameOf(-1 - stand);
      for (let p = 0; p < s.length; p++) h = Math.imul(h ^ s.charCodeAt(p), FNV_PRIME);
      const r = 3 * runs++;
      RUNS[r] = i;
      RUNS[r + 1] = j;
      RUNS[r + 2] = stand;
    } else h = kept;
    i = j;
  }
  runCount = runs;
  return h;
}

/** Is `key` the shape of the message's first `n` characters, as the last walkShape of that message found it? */
export function sameShape(message: string, n: number, key: string): boolean {
  let k = 0;
  let from = 0;
  for (let r = 0; r < 3 * runCount; r += 3) {
    const start = RUNS[r]!;
    for (let p = from; p < start; p++) if (key.charCodeAt(k++) !== message.charCodeAt(p)) return false;
    const stand = RUNS[r + 2]!;
    const s = stand >= 0 ? STAND_INS[stand]! : slotNameOf(-1 - stand);
    for (let p = 0; p < s.length; p++) if (key.charCodeAt(k++) !== s.charCodeAt(p)) return false;
    from = RUNS[r + 1]!;
  }
  for (let p = from; p < n; p++) if (key.charCodeAt(k++) !== message.charCodeAt(p)) return false;
  return k === key.length;
}

/** The words of the slots the last walkShape of a message found, in order. */
function wordsOfRuns(message: string): string[] {
  const words: string[] = [];
  for (let r = 0; r < 3 * runCount; r += 3) if (RUNS[r + 2]! < 0) words.push(message.slice(RUNS[r]!, RUNS[r + 1]!));
  return words;
}

/**
 * A bounded map that keeps what is used: when the young half is full it becomes the old half (the
 * older one is dropped), and an entry found in the old half moves back to the young one.
 */
export class TwoGenerationCache<V, K = string> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();
  constructor(private readonly half: number) {}

  get(key: K): V | undefined {
    const v = this.young.get(key);
    if (v !== undefined) return v;
    const o = this.old.get(key);
    if (o !== undefined) this.set(key, o);
    return o;
  }

  set(key: K, v: V): void {
    if (this.young.size >= this.half) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(key, v);
  }
}

/** Templates by message shape: a message of a shape seen before costs one pass and a lookup, not the masks. */
const templateCache = new TwoGenerationCache<string>(4096);

/** The template of a message's shape, its slots filled with the message's words. */
function templateOfShape(shape: Shape): string {
  let t = templateCache.get(shape.key);
  if (t === undefined) {
    t = masked(shape.key);
    templateCache.set(shape.key, t);
  }
  const words = shape.words;
  return words === null ? t : t.replace(SLOT, (_, k: string) => words[slotIndex(k)]!);
}

/** The shape of a message as templated (cut to MAX_MESSAGE characters first). */
const shapeOfMessage = (message: string) => shapeOf(message.length > MAX_MESSAGE ? message.slice(0, MAX_MESSAGE) : message);

/** The template of a message: its variable parts masked (cached by the message's shape, see shapeOf). */
export function templateOf(message: string): string {
  return templateOfShape(shapeOfMessage(message));
}

/** Most tokens of a template considered (longer messages are cut). */
const MAX_TOKENS = 64;

function tokensOf(template: string): string[] {
  const t = template.split(' ');
  return t.length > MAX_TOKENS ? t.slice(0, MAX_TOKENS) : t;
}

/** The group a template lives in: its length and first word (a variable first word groups as <*>). */
function groupKey(tokens: string[]): string {
  const first = tokens[0] ?? '';
  return `${tokens.length} ${/[<\d]/.test(first) ? WILDCARD : first}`;
}

/** Drain's similarity threshold: a message joins a template when at least this share agrees. */
const SIMILARITY = 0.5;
/** Most templates kept; past it, the least frequent is evicted. */
const MAX_TEMPLATES = 2000;
/** Most templates in one group (same length and first word); past it, the group's rarest goes. */
const MAX_PER_GROUP = 100;
/** Most hours kept per template; past it, the quietest hour is dropped (the peaks stay). */
const MAX_HOURS = 48;
const HOUR = 3600_000;

interface Template {
  tokens: string[];
  count: number;
  first: number | null;
  last: number | null;
  example: string;
  source: string;
  line: number;
  /** Hour (ms since the epoch / 1h) → lines in it. */
  hours: Map<number, number>;
  /** The latest line of the template (evidence of a burst), when it is not the example. */
  latest: LatestLine | null;
}

/** A line of a template with its place. */
export interface LatestLine {
  text: string;
  source: string;
  line: number;
  time: number | null;
}

/** A template as it crosses a worker boundary (structured clone) or goes into a baseline. */
export interface TemplateState {
  template: string;
  count: number;
  first: number | null;
  last: number | null;
  example: string;
  source: string;
  line: number;
  hours: [number, number][];
  latest: LatestLine | null;
}

export interface MinerState {
  templates: TemplateState[];
  evicted: number;
}

/** A known-benign message (rules/benign/*.yaml): all of the given conditions must hold. */
export interface BenignEntry {
  id: string;
  program: RegExp | null;
  message: RegExp | null;
  line: RegExp | null;
}

export interface BenignSpec {
  id?: unknown;
  program?: unknown;
  message?: unknown;
  line?: unknown;
}

// YAML is loaded only when the list changed since it was last cached (it is slow to load).
const lazyRequire = createRequire(import.meta.url);

/** Parse a benign list (YAML: `benign: [ {id, why, program?, message?, line?} ]`) into its specs. */
function readBenignSpecs(text: string, file: string): BenignSpec[] {
  const { parse } = lazyRequire('yaml') as typeof import('yaml');
  const doc = (parse(text) ?? {}) as { benign?: BenignSpec[] };
  if (!Array.isArray(doc.benign)) throw new Error(`${file}: expected a list under "benign"`);
  return doc.benign;
}

/** Compile a benign list's entries; throws on a bad one. */
export function compileBenign(specs: BenignSpec[], file: string): BenignEntry[] {
  return specs.map((b, i) => {
    const re = (field: 'program' | 'message' | 'line'): RegExp | null => {
      const v = b[field];
      if (v === undefined) return null;
      if (typeof v !== 'string') throw new Error(`${file}: benign.${i}.${field}: expected a regular expression`);
      try {
        return new RegExp(v, field === 'program' ? 'i' : '');
      } catch (e) {
        throw new Error(`${file}: benign.${i}.${field}: ${(e as Error).message}`);
      }
    };
    const entry = { id: typeof b.id === 'string' ? b.id : `#${i}`, program: re('program'), message: re('message'), line: re('line') };
    if (!entry.message && !entry.line) throw new Error(`${file}: benign.${i}: needs "message" or "line"`);
    return entry;
  });
}

/** Parse and compile a benign list file's text. */
export function parseBenign(text: string, file: string): BenignEntry[] {
  return compileBenign(readBenignSpecs(text, file), file);
}

let bundledBenign: BenignEntry[] | null = null;
/**
 * The bundled list of known-benign messages (rules/benign/benign.yaml), from its parsed copy beside
 * the build (dist/benign-cache.json) while the file is unchanged.
 */
export function loadBundledBenign(): BenignEntry[] {
  if (bundledBenign) return bundledBenign;
  const file = join(bundledRulesDir(), 'benign', 'benign.yaml');
  // beside the build only (dist/), never in the sources when they run directly (tests)
  const home = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const cache = basename(home) === 'dist' ? join(home, 'benign-cache.json') : null;
  const st = statSync(file);
  const stamp = `${st.mtimeMs} ${st.size}`;
  try {
    const c = JSON.parse(readFileSync(cache ?? '', 'utf8')) as { stamp: string; specs: BenignSpec[] };
    if (c.stamp === stamp) return (bundledBenign = compileBenign(c.specs, file));
  } catch {
    /* no cache, or a stale or broken one: parse the file */
  }
  const specs = readBenignSpecs(readFileSync(file, 'utf8'), file);
  bundledBenign = compileBenign(specs, file);
  if (cache === null) return bundledBenign;
  try {
    writeFileAtomic(cache, JSON.stringify({ stamp, specs }), 0o644, 'benign-list cache');
  } catch {
    /* a read-only installation: no cache, only a slower start */
  }
  return bundledBenign;
}

/** Is a line a known-benign message? */
export function isBenign(ev: LogEvent, text: string, list: BenignEntry[]): boolean {
  for (const b of list) {
    if (b.program && !(ev.program !== null && b.program.test(ev.program))) continue;
    if (b.message && !b.message.test(ev.message)) continue;
    if (b.line && !b.line.test(text)) continue;
    return true;
  }
  return false;
}

/** Does a template cover another (same length; each position equal, or a wildcard on either side)? */
export function templatesMatch(a: string, b: string): boolean {
  if (a === b) return true;
  const ta = tokensOf(a);
  const tb = tokensOf(b);
  if (ta.length !== tb.length) return false;
  for (let i = 0; i < ta.length; i++) if (ta[i] !== tb[i] && ta[i] !== WILDCARD && tb[i] !== WILDCARD) return false;
  return true;
}

/** The templates of one length and first word, and a number that changes whenever any of them does. */
interface Group {
  list: Template[];
  /** Bumped when a template is added to or evicted from the group, or one of its words becomes a wildcard. */
  version: number;
}

/**
 * What a message shape leads to in one miner: its template's words (a word with a slot still holds
 * the slot's name: `slotAt` lists them), their group, and the template the last placement chose when
 * that placement changed nothing (valid while the group's version is `version`: placement depends
 * only on the group's templates and the words, so it would choose the same template again and
 * change nothing again). A shape with slots is looked up so only while every template of its group
 * has a wildcard wherever the shape has a slot: the words in them then change nothing either.
 */
interface ShapeEntry {
  key: string;
  tokens: string[];
  /** The words of `tokens` with a slot in them, null when none. */
  slotAt: number[] | null;
  group: Group | null;
  template: Template | null;
  version: number;
}

/** Has every template of a group a wildcard at each of these words? */
function wildAt(group: Group, at: number[]): boolean {
  for (const t of group.list) for (const i of at) if (t.tokens[i] !== WILDCARD) return false;
  return true;
}

/** A shape's template words with the message's words put back in their slots. */
function fillSlots(tokens: string[], at: number[], words: string[]): string[] {
  const out = tokens.slice();
  for (const i of at) out[i] = tokens[i]!.replace(SLOT, (_, k: string) => words[slotIndex(k)]!);
  return out;
}

export interface MinerOptions {
  /**
   * The simple path: every message masked and placed anew, with no cache (the reference that
   * test/unrecognized-miner.test.ts holds the cached path to).
   */
  simple?: boolean;
}

export class TemplateMiner {
  private readonly groups = new Map<string, Group>();
  private size = 0;
  private evicted = 0;
  private readonly benign: BenignEntry[];
  private readonly simple: boolean;
  /** The hash of a message's shape (walkShape) → what the shape leads to (see ShapeEntry); bounded. */
  private readonly shapes = new TwoGenerationCache<ShapeEntry, number>(4096);

  constructor(benign?: BenignEntry[], opts: MinerOptions = {}) {
    this.benign = benign ?? loadBundledBenign();
    this.simple = opts.simple === true;
  }

  /** Count one unmatched line that looks like trouble (known-benign messages are skipped). */
  add(ev: LogEvent, text: string, source = '', line = 0): void {
    if (!looksLikeTrouble(ev.message) || isBenign(ev, text, this.benign)) return;
    const t = this.simple ? this.placeSimple(ev.message, text, source, line) : this.placeCached(ev.message, text, source, line);
    if (t === null) return;
    t.count++;
    if (t.count > 1) {
      // the template's own record, updated in place (exportState hands out copies)
      const latest = text.length > 1000 ? text.slice(0, 1000) : text;
      const l = t.latest;
      if (l === null) t.latest = { text: latest, source, line, time: ev.time };
      else {
        l.text = latest;
        l.source = source;
        l.line = line;
        l.time = ev.time;
      }
    }
    const time = ev.time;
    if (time !== null) {
      if (t.first === null || time < t.first) t.first = time;
      if (t.last === null || time > t.last) t.last = time;
      addHour(t.hours, Math.floor(time / HOUR), 1);
    }
  }

  /** A new template for a line (its words are set by place). */
  private static fresh(text: string, source: string, line: number): Template {
    return {
      tokens: [],
      count: 0,
      first: null,
      last: null,
      example: text.length > 1000 ? text.slice(0, 1000) : text,
      source,
      line,
      hours: new Map(),
      latest: null,
    };
  }

  private placeSimple(message: string, text: string, source: string, line: number): Template | null {
    const tokens = tokensOf(templateOfSimple(message));
    if (tokens.length === 1 && tokens[0] === '') return null;
    return this.place(tokens, this.groupOf(tokens), () => TemplateMiner.fresh(text, source, line));
  }

  /**
   * The template a message joins: by its shape (hashed in place, compared with the shape's key), a
   * lookup while its group is unchanged since a placement of that shape that changed nothing (see
   * ShapeEntry); else masked (templateOf's cache) and placed. A repeated message costs the walk, the
   * comparison and one lookup: no string is built.
   */
  private placeCached(message: string, text: string, source: string, line: number): Template | null {
    const n = message.length > MAX_MESSAGE ? MAX_MESSAGE : message.length;
    const hash = walkShape(message, n);
    let e = this.shapes.get(hash);
    let words: string[] | null = null;
    if (e === undefined || !sameShape(message, n, e.key)) {
      // a shape new to this miner (or one that shares the hash of another: it takes the place)
      const shape = shapeOfMessage(message);
      let template = templateCache.get(shape.key);
      if (template === undefined) {
        template = masked(shape.key);
        templateCache.set(shape.key, template);
      }
      const tokens = tokensOf(template);
      let slotAt: number[] | null = null;
      if (shape.words !== null) for (let i = 0; i < tokens.length; i++) if (tokens[i]!.includes(SLOT_MARK)) (slotAt ??= []).push(i);
      words = shape.words;
      // the group of the words as filled: a word with a slot has a digit, whatever the slot holds
      const filled = slotAt === null ? tokens : fillSlots(tokens, slotAt, words!);
      const empty = tokens.length === 1 && tokens[0] === '';
      e = { key: shape.key, tokens, slotAt, group: empty ? null : this.groupOf(filled), template: null, version: -1 };
      this.shapes.set(hash, e);
    }
    const group = e.group;
    if (group === null) return null;
    if (e.template !== null && group.version === e.version) return e.template;
    const slotAt = e.slotAt;
    const tokens = slotAt === null ? e.tokens : fillSlots(e.tokens, slotAt, words ?? wordsOfRuns(message));
    const before = group.version;
    const t = this.place(tokens, group, () => TemplateMiner.fresh(text, source, line));
    if (group.version === before && (slotAt === null || wildAt(group, slotAt))) {
      e.template = t;
      e.version = before;
    } else e.template = null;
    return t;
  }

  /** The group of a template's words (created empty when new). */
  private groupOf(tokens: string[]): Group {
    const key = groupKey(tokens);
    let group = this.groups.get(key);
    if (!group) {
      group = { list: [], version: 0 };
      this.groups.set(key, group);
    }
    return group;
  }

  /**
   * The template a message's words (or another miner's template) join in their group, created when
   * none is similar enough: Drain's simSeq (the share of positions where they agree, wildcards not
   * counted), ties to the template with more wildcards. Work is bounded: at most MAX_PER_GROUP
   * templates of at most MAX_TOKENS words are compared.
   */
  private place(tokens: string[], group: Group, create: () => Template): Template {
    let best: Template | null = null;
    let bestSim = -1;
    let bestParams = -1;
    const n = tokens.length;
    for (const t of group.list) {
      const words = t.tokens;
      let same = 0;
      let params = 0;
      for (let i = 0; i < n; i++) {
        const w = words[i];
        if (w === WILDCARD) params++;
        else if (w === tokens[i]) same++;
      }
      const sim = same / n;
      if (sim > bestSim || (sim === bestSim && params > bestParams)) {
        best = t;
        bestSim = sim;
        bestParams = params;
      }
    }
    // short messages only join an identical template: one shared word of two says little
    const threshold = n <= 2 ? 1 : SIMILARITY;
    if (best && (bestSim >= threshold || best.tokens.every((w, i) => w === WILDCARD || w === tokens[i]))) {
      const words = best.tokens;
      for (let i = 0; i < n; i++) {
        if (words[i] !== tokens[i] && words[i] !== WILDCARD) {
          words[i] = WILDCARD;
          group.version++;
        }
      }
      return best;
    }
    if (group.list.length >= MAX_PER_GROUP) this.evictFrom(group);
    else if (this.size >= MAX_TEMPLATES) this.evict();
    const t = create();
    t.tokens = [...tokens];
    group.list.push(t);
    group.version++;
    this.size++;
    return t;
  }

  private evictFrom(group: Group): void {
    const list = group.list;
    let worst = 0;
    for (let i = 1; i < list.length; i++) if (list[i]!.count < list[worst]!.count) worst = i;
    list.splice(worst, 1);
    group.version++;
    this.size--;
    this.evicted++;
  }

  private evict(): void {
    let worst: { group: Group; i: number } | null = null;
    for (const group of this.groups.values()) {
      const list = group.list;
      for (let i = 0; i < list.length; i++) if (!worst || list[i]!.count < worst.group.list[worst.i]!.count) worst = { group, i };
    }
    if (!worst) return;
    worst.group.list.splice(worst.i, 1);
    worst.group.version++;
    this.size--;
    this.evicted++;
  }

  exportState(): MinerState {
    const templates: TemplateState[] = [];
    for (const group of this.groups.values()) {
      for (const t of group.list) {
        templates.push({
          template: t.tokens.join(' '),
          count: t.count,
          first: t.first,
          last: t.last,
          example: t.example,
          source: t.source,
          line: t.line,
          hours: [...t.hours],
          latest: t.latest && { ...t.latest },
        });
      }
    }
    return { templates, evicted: this.evicted };
  }

  /** Merge another miner's templates (a later part of the input; `lineOffset` shifts its line numbers). */
  absorb(s: MinerState, lineOffset = 0): void {
    for (const o of s.templates) {
      const tokens = tokensOf(o.template);
      const t = this.place(tokens, this.groupOf(tokens), () => ({
        tokens,
        count: 0,
        first: null,
        last: null,
        example: o.example,
        source: o.source,
        line: o.line + lineOffset,
        hours: new Map(),
        latest: null,
      }));
      const fresh = t.count === 0;
      t.count += o.count;
      if (o.latest) t.latest = { ...o.latest, line: o.latest.line + lineOffset };
      else if (!fresh) t.latest = { text: o.example, source: o.source, line: o.line + lineOffset, time: o.first };
      if (o.first !== null && (t.first === null || o.first < t.first)) t.first = o.first;
      if (o.last !== null && (t.last === null || o.last > t.last)) t.last = o.last;
      for (const [h, n] of o.hours) addHour(t.hours, h, n);
    }
    this.evicted += s.evicted;
  }

  /** Templates, the gravest words first, then the most frequent (related entries are filled in by the knowledge base). */
  results(): Unrecognized[] {
    return this.exportState()
      .templates.sort((a, b) => gravity(b.template) - gravity(a.template) || b.count - a.count || (a.template < b.template ? -1 : 1))
      .map((t) => ({ template: t.template, count: t.count, first: toIso(t.first), last: toIso(t.last), example: t.example, related: [] }));
  }
}

/**
 * Count lines into an hour. Past MAX_HOURS, the quietest other hour goes: never the one just
 * counted, which would otherwise be the quietest at its first line, every time, and a burst in a
 * new hour could never grow.
 */
function addHour(hours: Map<number, number>, hour: number, n: number): void {
  const before = hours.get(hour);
  hours.set(hour, (before ?? 0) + n);
  if (before !== undefined || hours.size <= MAX_HOURS) return;
  let quiet: number | null = null;
  let least = Infinity;
  // forEach, not for-of: a template whose lines come an hour or more apart passes here at each line,
  // and for-of allocates an entry array per hour
  hours.forEach((c, h) => {
    if (h !== hour && c < least) {
      quiet = h;
      least = c;
    }
  });
  if (quiet !== null) hours.delete(quiet);
}

/** The busiest hour of a template: its start (ms) and count; null when no line had a time. */
export function peakHour(hours: [number, number][]): { hour: number; count: number } | null {
  let best: [number, number] | null = null;
  for (const h of hours) if (!best || h[1] > best[1] || (h[1] === best[1] && h[0] < best[0])) best = h;
  return best ? { hour: best[0] * HOUR, count: best[1] } : null;
}
