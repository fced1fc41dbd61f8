/**
 * Full-text search over the knowledge base with lunr. The index is built once - by `npm run build`
 * into dist/kb-index.json, or on first use when that file is missing or stale (its fingerprint of
 * the rule, article and sample files differs) - and then only loaded, never rebuilt per query.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import lunr from 'lunr';
import { bundledRulesDir, loadCatalogue, ruleFiles, type Rule } from '../engine/catalogue.js';
import { writeFileAtomic } from '../state/atomic.js';
import { articleFiles, buildDocs, samplesDir, type KbDoc, type KbKind } from './documents.js';

/** Bump when the way documents are built or indexed changes: older index files are then stale. */
const KB_FORMAT = 5;

/** One search result (the JSON of `explain --format json`). */
export interface KbResult {
  id: string;
  kind: KbKind;
  title: string;
  score: number;
  snippet: string;
}

interface IndexFile {
  format: number;
  fingerprint: string;
  docs: KbDoc[];
  index: object;
}

/** Words that operators use for what the entries call otherwise (added to a query, at lower weight). */
const SYNONYMS: Record<string, string[]> = {
  oom: ['out', 'memory', 'killer'],
  ram: ['memory'],
  mem: ['memory'],
  slow: ['performance', 'crawl'],
  sluggish: ['slow', 'performance'],
  hang: ['hung', 'blocked', 'stall'],
  hangs: ['hung', 'blocked', 'stall'],
  freeze: ['hung', 'blocked', 'stall'],
  frozen: ['hung', 'blocked'],
  crash: ['panic', 'crashed', 'oops'],
  crashed: ['panic', 'crash'],
  disk: ['storage', 'block'],
  io: ['disk', 'block'],
  iops: ['io', 'throttling'],
  throttle: ['throttling', 'limit'],
  limit: ['throttling', 'limits'],
  nic: ['network', 'interface'],
  net: ['network'],
  networking: ['network'],
  erratic: ['slow', 'unreliable'],
  flaky: ['erratic', 'unreliable'],
  vm: ['guest'],
  vms: ['guests'],
  domu: ['guest'],
  cpus: ['vcpus', 'cores'],
  cores: ['cpus'],
  pinned: ['pinning', 'cpus'],
  forever: ['slow', 'long'],
  reboot: ['boot'],
  start: ['starting', 'running'],
  wont: ['not'],
  starves: ['starving', 'fairness', 'monopolise'],
  starve: ['starving', 'fairness', 'monopolise'],
  others: ['other', 'every'],
  full: ['space', 'capacity'],
  space: ['full'],
  version: ['versions', 'upgrade'],
  upgrade: ['version'],
  hostname: ['host', 'dom0'],
};

/** Phrases that stand for one word of the entries. */
const PHRASES: [RegExp, string[]][] = [
  [/\bout of memory\b/, ['oom', 'killer']],
  [/\bout of (?:disk|space)\b|\bdisk (?:is )?full\b/, ['space', 'full']],
  [/\bwon ?t (?:start|run|come up)\b/, ['running', 'starting']],
];

/** Lower-case words for indexing and querying: I/O → io, every other non-alphanumeric a separator. */
export function normalize(text: string): string {
  return text
    .toLowerCase()
    .replace(/i\/o/g, 'io')
    .replace(/won't|wont\b/g, 'wont')
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();
}

/** The stem lunr indexes a word under. */
export function stem(word: string): string {
  return lunr.stemmer(new lunr.Token(word, {})).toString();
}

/** The stop words lunr leaves out of the index (they never match). */
function isStopWord(word: string): boolean {
  return lunr.stopWordFilter(new lunr.Token(word, {})) === undefined;
}

/** Query words: normalized, stop words and single letters out. */
export function queryWords(text: string): string[] {
  return normalize(text)
    .split(' ')
    .filter((w) => (w.length > 1 || /\d/.test(w)) && !isStopWord(w));
}

function buildIndex(docs: KbDoc[]): lunr.Index {
  return lunr(function () {
    this.ref('id');
    this.field('title', { boost: 8 });
    this.field('tags', { boost: 4 });
    this.field('name', { boost: 4 });
    this.field('signature', { boost: 2 });
    this.field('body');
    this.field('causes', { boost: 5 });
    for (const d of docs) {
      this.add({
        id: d.id,
        title: normalize(d.title),
        tags: normalize(d.tags.join(' ')),
        name: normalize(d.id),
        signature: normalize(d.signature),
        body: normalize(d.body),
        causes: normalize(d.causes ?? ''),
      });
    }
  });
}

/** The files the index is built from, in a stable order. */
function sourceFiles(extraRuleDirs: string[]): string[] {
  const files = [...ruleFiles(bundledRulesDir()), ...articleFiles()];
  const samples = samplesDir();
  if (existsSync(samples)) files.push(...ruleFiles(bundledRulesDir()).map((f) => join(samples, basename(f).replace(/\.ya?ml$/, '.log'))));
  for (const d of extraRuleDirs) files.push(...ruleFiles(d));
  return files;
}

/** A hash of the index's sources (and of this code's format): what makes a stored index current. */
export function kbFingerprint(extraRuleDirs: string[] = []): string {
  const h = createHash('sha1').update(`kb ${KB_FORMAT} lunr ${lunr.version}\n`);
  for (const f of sourceFiles(extraRuleDirs)) {
    // bundled files by name only, so that the index built into dist/ stays current wherever the package is installed
    h.update(`${f.startsWith(bundledRulesDir()) || f.startsWith(samplesDir()) ? basename(f) : f}\0`);
    try {
      h.update(readFileSync(f));
    } catch {
      h.update('<absent>');
    }
    h.update('\0');
  }
  return h.digest('hex');
}

/** Where `npm run build` puts the index (dist/kb-index.json). */
export function builtIndexPath(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', 'kb-index.json');
}

/** A per-user cache, for installs whose dist/ is not writable. */
function userCachePath(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'xendoctor', 'kb-index.json');
}

function readIndexFile(path: string, fingerprint: string): IndexFile | null {
  try {
    const f = JSON.parse(readFileSync(path, 'utf8')) as IndexFile;
    return f.format === KB_FORMAT && f.fingerprint === fingerprint && Array.isArray(f.docs) ? f : null;
  } catch {
    return null;
  }
}

/** Store an index file (readable by all: it holds only the catalogue's own text). */
function storeIndex(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomic(path, text, 0o644);
}

/** Build the index file's content. */
export function buildIndexFile(rules: Rule[], fingerprint: string): IndexFile {
  const docs = buildDocs(rules);
  return { format: KB_FORMAT, fingerprint, docs, index: buildIndex(docs).toJSON() };
}

/** Build the bundled index and write it where the CLI looks first (the build step). */
export function writeBuiltIndex(path = builtIndexPath()): { path: string; entries: number } {
  const file = buildIndexFile(loadCatalogue(), kbFingerprint());
  storeIndex(path, JSON.stringify(file));
  return { path, entries: file.docs.length };
}

export interface KbOptions {
  /** Site rule folders (--rules DIR): indexed too; such an index is kept in memory only. */
  extraRuleDirs?: string[];
  /** The catalogue, when the caller has loaded it already (must match extraRuleDirs). */
  rules?: Rule[];
}

/** The knowledge base: from the stored index when it is current, else built (and stored) once. */
export function loadKnowledgeBase(opts: KbOptions = {}): KnowledgeBase {
  const extra = opts.extraRuleDirs ?? [];
  const fingerprint = kbFingerprint(extra);
  // the built index lives in dist/; sources run directly (tests) use the user cache only
  const built = builtIndexPath();
  const stored = basename(dirname(built)) === 'dist' ? [built, userCachePath()] : [userCachePath()];
  if (extra.length === 0) {
    for (const p of stored) {
      const f = readIndexFile(p, fingerprint);
      if (f) return new KnowledgeBase(f.docs, lunr.Index.load(f.index));
    }
  }
  const file = buildIndexFile(opts.rules ?? loadCatalogue({ extraDirs: extra }), fingerprint);
  if (extra.length === 0) {
    for (const p of stored) {
      try {
        storeIndex(p, JSON.stringify(file));
        break;
      } catch {
        // not writable (an install owned by root): try the next place, or keep it in memory
      }
    }
  }
  return new KnowledgeBase(file.docs, lunr.Index.load(file.index));
}

/** Split a body into sentences and list items, for snippets. */
function passages(body: string): string[] {
  return body
    .split(/\n\s*\n|\n(?=\s*(?:[-*|]|\d+\.)\s)|(?<=[.!?])\s+(?=[A-Z`(])/)
    .map((s) => s.replace(/\s+/g, ' ').trim())
    .filter((s) => s !== '' && !/^\|?[\s|-]+\|?$/.test(s));
}

/** The passage of a body that holds most of the query's stems, cut to about `max` characters. */
export function snippetOf(body: string, stems: Set<string>, max = 220): string {
  let best = '';
  let bestScore = -1;
  for (const p of passages(body)) {
    const seen = new Set<string>();
    for (const w of normalize(p).split(' ')) {
      const s = stem(w);
      if (stems.has(s)) seen.add(s);
    }
    if (seen.size > bestScore) {
      best = p;
      bestScore = seen.size;
    }
  }
  if (best.length <= max) return best;
  // centre the cut on the first matching word
  const words = best.split(' ');
  let at = words.findIndex((w) =>
    normalize(w)
      .split(' ')
      .some((x) => stems.has(stem(x))),
  );
  if (at < 0) at = 0;
  let start = 0;
  let len = 0;
  for (let i = at; i >= 0 && len + words[i]!.length + 1 < max / 3; i--) {
    start = i;
    len += words[i]!.length + 1;
  }
  let out = words.slice(start).join(' ');
  if (out.length > max) out = out.slice(0, max).replace(/\s+\S*$/, '') + ' …';
  return (start > 0 ? '… ' : '') + out;
}

/**
 * An entry counts as related to a template when they share at least two specific words (each in
 * few entries: idf ≥ RELATED_WORD_IDF) worth RELATED_MIN_IDF together. The words that made the
 * line look like trouble say nothing about its subject and do not count.
 */
const RELATED_WORD_IDF = 1.5;
const RELATED_MIN_IDF = 4;
const GENERIC_WORDS = [
  'error',
  'errors',
  'fail',
  'failed',
  'failure',
  'failing',
  'warning',
  'unable',
  'cannot',
  'can',
  'timed',
  'time',
  'timeout',
  'out',
  'temporary',
  'critical',
  'fatal',
  'none',
  'problem',
  // said of any network client or daemon (a mail relay's "status=deferred (connect to ...: Connection
  // timed out)" is no Xen hotplug or xenbus failure, though their entries speak of connecting devices)
  'status',
  'connect',
  'connected',
  'connecting',
  'connection',
];

export class KnowledgeBase {
  private readonly byId: Map<string, KbDoc>;
  /** Stem → in how many entries it occurs (for how specific a shared word is). */
  private readonly df = new Map<string, number>();

  constructor(
    readonly docs: KbDoc[],
    private readonly index: lunr.Index,
  ) {
    this.byId = new Map(docs.map((d) => [d.id, d]));
    for (const d of docs) {
      const stems = new Set(
        normalize([d.title, d.tags.join(' '), d.id, d.signature, d.body].join(' '))
          .split(' ')
          .map(stem),
      );
      for (const st of stems) this.df.set(st, (this.df.get(st) ?? 0) + 1);
    }
  }

  /** Inverse document frequency of a stem: high for words few entries use. */
  idf(st: string): number {
    return Math.log(this.docs.length / (this.df.get(st) ?? 1));
  }

  get(id: string): KbDoc | undefined {
    return this.byId.get(id);
  }

  /** Entries ranked for a query of free words (or a log line), best first. */
  search(text: string, limit = 5): KbResult[] {
    const words = queryWords(text);
    if (words.length === 0) return [];
    const own = new Set(words);
    const extra = new Set<string>();
    for (const w of words) for (const s of SYNONYMS[w] ?? []) if (!own.has(s)) extra.add(s);
    const phrase = normalize(text);
    for (const [re, add] of PHRASES) if (re.test(phrase)) for (const s of add) if (!own.has(s)) extra.add(s);
    const hits = this.index.query((q) => {
      for (const w of own) q.term(w, { boost: 1 });
      for (const w of extra) q.term(w, { boost: 0.3 });
      // an id typed as it is ("xend-not-running") ranks that entry first
      const id = text.trim();
      if (this.byId.has(id)) for (const w of normalize(id).split(' ')) q.term(w, { fields: ['name'], boost: 10 });
    });
    const stems = new Set([...own].map(stem));
    return hits.slice(0, limit).map((h) => {
      const d = this.byId.get(h.ref)!;
      return { id: d.id, kind: d.kind, title: d.title, score: Math.round(h.score * 1000) / 1000, snippet: snippetOf(d.body, stems) };
    });
  }

  /**
   * The entries closest to a mined template, for `unrecognized[].related`: its masks and host or
   * file names (data, not words) left out; only entries that share specific words with it (not
   * just "error" and "failed"), at most `limit`.
   */
  related(template: string, limit = 3): string[] {
    const text = template.replace(/<[a-z*]+>/g, ' ').replace(/\S*[a-z0-9]\.[a-z][\w.-]*/gi, ' ');
    const words = queryWords(text);
    if (words.length === 0) return [];
    const hits = this.index.query((q) => {
      for (const w of new Set(words)) q.term(w, { fields: ['title', 'tags', 'signature', 'body'] });
    });
    const generic = new Set(GENERIC_WORDS.map(stem));
    return hits
      .filter((h) => {
        const specific = Object.keys(h.matchData.metadata)
          .filter((st) => !generic.has(st))
          .map((st) => this.idf(st))
          .filter((idf) => idf >= RELATED_WORD_IDF);
        return specific.length >= 2 && specific.reduce((n, x) => n + x, 0) >= RELATED_MIN_IDF;
      })
      .slice(0, limit)
      .map((h) => h.ref);
  }

  /** How specific the words shared by an entry and a text are (summed idf; for tuning and tests). */
  specificity(text: string, id: string): number {
    const doc = this.byId.get(id);
    if (!doc) return 0;
    const own = new Set(
      normalize([doc.title, doc.tags.join(' '), doc.id, doc.signature, doc.body].join(' '))
        .split(' ')
        .map(stem),
    );
    return [...new Set(queryWords(text).map(stem))].filter((st) => own.has(st)).reduce((n, st) => n + this.idf(st), 0);
  }
}
