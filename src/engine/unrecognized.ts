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

/** Recent messages' templates: the same message (a repeated error) is masked once. */
const templateCache = new Map<string, string>();
const TEMPLATE_CACHE = 4096;

/** The template of a message: its variable parts masked. */
export function templateOf(message: string): string {
  let t = message.length > 512 ? message.slice(0, 512) : message;
  const cached = templateCache.get(t);
  if (cached !== undefined) return cached;
  const key = t;
  for (const [re, mask, can] of MASK_STEPS) if (can(t)) t = t.replace(re, mask);
  t = t.replace(ODD_SPACE, ' ').trim();
  if (templateCache.size >= TEMPLATE_CACHE) templateCache.clear();
  templateCache.set(key, t);
  return t;
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

/** Share of positions where a template and a message agree (wildcards not counted), Drain's simSeq. */
function similarity(template: string[], tokens: string[]): { sim: number; params: number } {
  let same = 0;
  let params = 0;
  for (let i = 0; i < template.length; i++) {
    if (template[i] === WILDCARD) params++;
    else if (template[i] === tokens[i]) same++;
  }
  return { sim: same / template.length, params };
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
    writeFileAtomic(cache, JSON.stringify({ stamp, specs }), 0o644);
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

export class TemplateMiner {
  private readonly groups = new Map<string, Template[]>();
  private size = 0;
  private evicted = 0;
  private readonly benign: BenignEntry[];

  constructor(benign?: BenignEntry[]) {
    this.benign = benign ?? loadBundledBenign();
  }

  /** Count one unmatched line that looks like trouble (known-benign messages are skipped). */
  add(ev: LogEvent, text: string, source = '', line = 0): void {
    if (!looksLikeTrouble(ev.message) || isBenign(ev, text, this.benign)) return;
    const tokens = tokensOf(templateOf(ev.message));
    if (tokens.length === 1 && tokens[0] === '') return;
    const t = this.place(tokens, () => ({
      tokens,
      count: 0,
      first: null,
      last: null,
      example: text.length > 1000 ? text.slice(0, 1000) : text,
      source,
      line,
      hours: new Map(),
      latest: null,
    }));
    t.count++;
    if (t.count > 1) t.latest = { text: text.length > 1000 ? text.slice(0, 1000) : text, source, line, time: ev.time };
    const time = ev.time;
    if (time !== null) {
      if (t.first === null || time < t.first) t.first = time;
      if (t.last === null || time > t.last) t.last = time;
      addHour(t.hours, Math.floor(time / HOUR), 1);
    }
  }

  /** The template a message (or another miner's template) joins, created when none is similar enough. */
  private place(tokens: string[], create: () => Template): Template {
    const key = groupKey(tokens);
    let group = this.groups.get(key);
    if (!group) {
      group = [];
      this.groups.set(key, group);
    }
    let best: Template | null = null;
    let bestSim = -1;
    let bestParams = -1;
    for (const t of group) {
      const { sim, params } = similarity(t.tokens, tokens);
      if (sim > bestSim || (sim === bestSim && params > bestParams)) {
        best = t;
        bestSim = sim;
        bestParams = params;
      }
    }
    // short messages only join an identical template: one shared word of two says little
    const threshold = tokens.length <= 2 ? 1 : SIMILARITY;
    if (best && (bestSim >= threshold || best.tokens.every((w, i) => w === WILDCARD || w === tokens[i]))) {
      for (let i = 0; i < tokens.length; i++) if (best.tokens[i] !== tokens[i]) best.tokens[i] = WILDCARD;
      return best;
    }
    if (group.length >= MAX_PER_GROUP) this.evictFrom(group);
    else if (this.size >= MAX_TEMPLATES) this.evict();
    const t = create();
    t.tokens = [...tokens];
    group.push(t);
    this.size++;
    return t;
  }

  private evictFrom(group: Template[]): void {
    let worst = 0;
    for (let i = 1; i < group.length; i++) if (group[i]!.count < group[worst]!.count) worst = i;
    group.splice(worst, 1);
    this.size--;
    this.evicted++;
  }

  private evict(): void {
    let worst: { group: Template[]; i: number } | null = null;
    for (const group of this.groups.values()) {
      for (let i = 0; i < group.length; i++) if (!worst || group[i]!.count < worst.group[worst.i]!.count) worst = { group, i };
    }
    if (!worst) return;
    worst.group.splice(worst.i, 1);
    this.size--;
    this.evicted++;
  }

  exportState(): MinerState {
    const templates: TemplateState[] = [];
    for (const group of this.groups.values()) {
      for (const t of group) {
        templates.push({
          template: t.tokens.join(' '),
          count: t.count,
          first: t.first,
          last: t.last,
          example: t.example,
          source: t.source,
          line: t.line,
          hours: [...t.hours],
          latest: t.latest,
        });
      }
    }
    return { templates, evicted: this.evicted };
  }

  /** Merge another miner's templates (a later part of the input; `lineOffset` shifts its line numbers). */
  absorb(s: MinerState, lineOffset = 0): void {
    for (const o of s.templates) {
      const tokens = tokensOf(o.template);
      const t = this.place(tokens, () => ({
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

  /** Templates, most frequent first (related entries are filled in by the knowledge base). */
  results(): Unrecognized[] {
    return this.exportState()
      .templates.sort((a, b) => b.count - a.count || (a.template < b.template ? -1 : 1))
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
  for (const [h, c] of hours) {
    if (h !== hour && c < least) {
      quiet = h;
      least = c;
    }
  }
  if (quiet !== null) hours.delete(quiet);
}

/** The busiest hour of a template: its start (ms) and count; null when no line had a time. */
export function peakHour(hours: [number, number][]): { hour: number; count: number } | null {
  let best: [number, number] | null = null;
  for (const h of hours) if (!best || h[1] > best[1] || (h[1] === best[1] && h[0] < best[0])) best = h;
  return best ? { hour: best[0] * HOUR, count: best[1] } : null;
}
