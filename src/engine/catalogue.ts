/**
 * The rule catalogue: loads rule files (YAML), validates them against rules/rule.schema.json,
 * compiles their patterns, and reports every problem with file, line and field.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { writeFileAtomic } from '../state/atomic.js';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readRuleFile, type Locate } from './rule-file.js';
import { readRuleFolder } from './rule-folder.js';
import { RuleFileError, type RuleProblem } from '../errors.js';
import type { Severity, SourceKind } from '../types.js';
import { parseDuration } from '../parse/time.js';
import { requiredLiterals } from './literals.js';
import { backtrackingRisk, bounded } from './safety.js';

/** A rule file as written (see docs/rule-format.md). */
export interface RuleSpec {
  id: string;
  title: string;
  severity: Severity;
  tags?: string[];
  sources?: (SourceKind | 'any')[];
  programs?: string[];
  patterns: string[];
  flags?: '' | 'i';
  prefilter?: string[];
  ignore?: string[];
  key?: string[];
  where?: Record<string, { gt?: number; gte?: number; lt?: number; lte?: number; eq?: number }>;
  multiline?: { continuation: string; end?: string; max?: number; fingerprint?: 'trace' };
  threshold?: { count: number; within?: string; distinct?: string; release?: string[] };
  follows?: { rule: string; within: string; certainty?: 'cause' | 'possible' }[];
  applies?: { xen?: string; kernel?: string; toolstack?: 'xm' | 'xl'; memory?: string };
  /** Lines shortly before a hit that explain it (shown as its evidence, before it). */
  context?: { patterns: string[]; lines?: number; max?: number };
  /** Distinct values of a capture over all of a finding's hits, as a placeholder: `{ victims: process }`. */
  collect?: Record<string, string>;
  /** Title and fix steps chosen by what was captured or collected (first matching title wins; fixes add up, first). */
  cases?: { when: Record<string, string>; title?: string; fix?: string[] }[];
  diagnosis: string;
  fix: string[];
  references?: string[];
  harmless?: boolean;
}

/** A rule ready to run. */
export interface Rule {
  spec: RuleSpec;
  id: string;
  file: string;
  /** A site rule: its patterns are matched with a time budget (see boundRule; set again in worker threads). */
  boundedMatch?: true;
  severity: Severity;
  sources: Set<SourceKind> | null;
  programs: Set<string> | null;
  patterns: RegExp[];
  /** The named groups of each pattern (copying a match's groups by name beats enumerating them). */
  groups: string[][];
  ignore: RegExp[];
  /** Literals at least one of which every matching line holds; null: the rule must see every line. */
  literals: string[] | null;
  caseInsensitive: boolean;
  key: string[];
  continuation: RegExp | null;
  /** A line that ends the report (and belongs to it). */
  blockEnd: RegExp | null;
  continuationMax: number;
  traceFingerprint: boolean;
  threshold: { count: number; within: number | null; distinct: string | null } | null;
  /** Lines that take a distinct value away again (threshold.release). */
  release: RegExp[];
  follows: { rule: string; within: number; possible: boolean }[];
  /** Placeholder name → capture whose distinct values it lists. */
  collect: [string, string][];
  /** Lines before a hit that explain it: patterns, how far back (lines), how many kept. */
  context: { patterns: RegExp[]; lines: number; max: number } | null;
  cases: { when: [string, RegExp][]; title: string | null; fix: string[] }[];
}

/** The folder of the bundled rules (rules/ at the package root). */
export function bundledRulesDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'rules');
}

function compile(source: string, flags: string): RegExp {
  return new RegExp(source, flags);
}

/** Parse, validate and compile one rule file; problems are pushed to `problems`. */
export function loadRuleFile(file: string, problems: RuleProblem[], text?: string): Rule | null {
  const read = readRuleFile<RuleSpec>(file, join(bundledRulesDir(), 'rule.schema.json'), problems, text);
  return read && compileRule(read.spec, file, problems, read.locate);
}

/**
 * Compile a validated spec into a rule (checks what the schema cannot: regexes, captures named in keys).
 * `cached`: the literals worked out for this spec before (the catalogue cache), not worked out again.
 */
export function compileRule(
  spec: RuleSpec,
  file: string,
  problems: RuleProblem[],
  locate: Locate = () => null,
  cached?: { literals: string[] | null },
): Rule | null {
  const before = problems.length;
  const id = basename(file).replace(/\.ya?ml$/, '');
  if (spec.id !== id) {
    problems.push({ file, line: locate(['id']), field: 'id', message: `must equal the file name (${id})` });
  }
  const flags = spec.flags === 'i' ? 'i' : '';
  const regex = (field: (string | number)[], src: string, f = flags): RegExp | null => {
    try {
      return compile(src, f);
    } catch (e) {
      problems.push({
        file,
        line: locate(field),
        field: field.join('.'),
        message: `invalid regular expression: ${(e as Error).message}`,
      });
      return null;
    }
  };
  const patterns = spec.patterns.map((p, i) => regex(['patterns', i], p));
  const ignore = (spec.ignore ?? []).map((p, i) => regex(['ignore', i], p));
  const continuation = spec.multiline ? regex(['multiline', 'continuation'], spec.multiline.continuation) : null;
  const blockEnd = spec.multiline?.end ? regex(['multiline', 'end'], spec.multiline.end) : null;
  const groups = spec.patterns.map((p) => [...new Set([...p.matchAll(/\(\?<([A-Za-z_]\w*)>/g)].map((m) => m[1]!))]);
  const names = new Set(groups.flat());
  (spec.key ?? []).forEach((k, i) => {
    if (!names.has(k)) problems.push({ file, line: locate(['key', i]), field: `key.${i}`, message: `no pattern captures "${k}"` });
  });
  for (const k of Object.keys(spec.where ?? {})) {
    if (!names.has(k)) problems.push({ file, line: locate(['where', k]), field: `where.${k}`, message: `no pattern captures "${k}"` });
  }
  const distinct = spec.threshold?.distinct;
  if (distinct && !names.has(distinct)) {
    problems.push({
      file,
      line: locate(['threshold', 'distinct']),
      field: 'threshold.distinct',
      message: `no pattern captures "${distinct}"`,
    });
  }
  const collect = Object.entries(spec.collect ?? {});
  for (const [name, cap] of collect) {
    if (!names.has(cap))
      problems.push({ file, line: locate(['collect', name]), field: `collect.${name}`, message: `no pattern captures "${cap}"` });
  }
  const known = new Set([...names, ...collect.map(([n]) => n), 'host', ...(spec.multiline?.fingerprint === 'trace' ? ['trace'] : [])]);
  const cases = (spec.cases ?? []).map((c, i) => ({
    when: Object.entries(c.when).map(([name, re]): [string, RegExp | null] => {
      if (!known.has(name))
        problems.push({
          file,
          line: locate(['cases', i, 'when', name]),
          field: `cases.${i}.when.${name}`,
          message: `no capture or collect named "${name}"`,
        });
      return [name, regex(['cases', i, 'when', name], re)];
    }),
    title: c.title ?? null,
    fix: c.fix ?? [],
  }));
  // a {placeholder} must name a capture, a collected list or {host}: otherwise it is printed as <name>
  const texts: [(string | number)[], string][] = [
    [['title'], spec.title],
    [['diagnosis'], spec.diagnosis],
    ...spec.fix.map((f, i): [(string | number)[], string] => [['fix', i], f]),
    ...(spec.cases ?? []).flatMap((c, i): [(string | number)[], string][] => [
      ...(c.title ? [[['cases', i, 'title'], c.title] as [(string | number)[], string]] : []),
      ...(c.fix ?? []).map((f, j): [(string | number)[], string] => [['cases', i, 'fix', j], f]),
    ]),
  ];
  for (const [field, text] of texts) {
    for (const m of text.matchAll(/\{([A-Za-z_]\w*)\}/g)) {
      if (!known.has(m[1]!))
        problems.push({
          file,
          line: locate(field),
          field: field.join('.'),
          message: `placeholder {${m[1]}} names no capture of this rule`,
        });
    }
  }
  const contextPatterns = (spec.context?.patterns ?? []).map((p, i) => regex(['context', 'patterns', i], p));
  const release = (spec.threshold?.release ?? []).map((p, i) => regex(['threshold', 'release', i], p));
  if (release.length && !distinct)
    problems.push({ file, line: locate(['threshold', 'release']), field: 'threshold.release', message: 'needs threshold.distinct' });
  let literals: string[] | null = spec.prefilter ?? [];
  if (cached) literals = cached.literals;
  else if (!spec.prefilter) {
    for (const p of [...spec.patterns, ...(spec.context?.patterns ?? []), ...(spec.threshold?.release ?? [])]) {
      const lits = requiredLiterals(p);
      if (lits === null) {
        literals = null;
        break;
      }
      literals.push(...lits);
    }
  }
  if (
    problems.length > before ||
    patterns.includes(null) ||
    ignore.includes(null) ||
    contextPatterns.includes(null) ||
    release.includes(null) ||
    cases.some((c) => c.when.some(([, re]) => re === null))
  )
    return null;
  return {
    spec,
    id: spec.id,
    file,
    severity: spec.severity,
    sources: spec.sources && !spec.sources.includes('any') ? new Set(spec.sources as SourceKind[]) : null,
    programs: spec.programs ? new Set(spec.programs.map((p) => p.toLowerCase())) : null,
    patterns: patterns as RegExp[],
    groups,
    ignore: ignore as RegExp[],
    literals,
    caseInsensitive: flags === 'i',
    key: spec.key ?? [],
    continuation,
    blockEnd,
    continuationMax: spec.multiline?.max ?? 60,
    traceFingerprint: spec.multiline?.fingerprint === 'trace',
    threshold: spec.threshold
      ? {
          count: spec.threshold.count,
          within: spec.threshold.within ? parseDuration(spec.threshold.within) : null,
          distinct: distinct ?? null,
        }
      : null,
    follows: (spec.follows ?? []).map((f) => ({
      rule: f.rule,
      within: parseDuration(f.within) ?? 0,
      possible: f.certainty === 'possible',
    })),
    collect,
    cases: cases.map((c) => ({ ...c, when: c.when as [string, RegExp][] })),
    release: release as RegExp[],
    context: spec.context ? { patterns: contextPatterns as RegExp[], lines: spec.context.lines ?? 300, max: spec.context.max ?? 8 } : null,
  };
}

/** Rule files (*.yaml, *.yml) in a folder, sorted. */
export function ruleFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => join(dir, f));
}

export interface LoadOptions {
  /** Extra folders (--rules DIR), loaded after the bundled rules; a rule with the same id replaces it. */
  extraDirs?: string[];
  /** Accept site rules whose patterns can backtrack catastrophically (--allow-unsafe-patterns). */
  allowUnsafe?: boolean;
  /** Skip the bundled catalogue (used by tests of site rules). */
  noBundled?: boolean;
}

/** Memo of pattern verdicts for this process (the same pattern is checked once). */
const verdicts = new Map<string, string | null>();

/**
 * Check a rule's regular expressions for catastrophic backtracking with recheck; a vulnerable one is
 * a problem naming the file, the field and an attack string.
 */
function patternsAreSafe(rule: Rule, problems: RuleProblem[]): boolean {
  const fields: [string, string][] = [
    ...rule.spec.patterns.map((p, i): [string, string] => [`patterns.${i}`, p]),
    ...(rule.spec.ignore ?? []).map((p, i): [string, string] => [`ignore.${i}`, p]),
    ...(rule.spec.multiline ? ([['multiline.continuation', rule.spec.multiline.continuation]] as [string, string][]) : []),
    ...(rule.spec.multiline?.end ? ([['multiline.end', rule.spec.multiline.end]] as [string, string][]) : []),
    ...(rule.spec.context?.patterns ?? []).map((p, i): [string, string] => [`context.patterns.${i}`, p]),
    ...(rule.spec.threshold?.release ?? []).map((p, i): [string, string] => [`threshold.release.${i}`, p]),
  ];
  let safe = true;
  for (const [field, source] of fields) {
    const key = `${rule.spec.flags ?? ''}/${source}`;
    let verdict = verdicts.get(key);
    if (verdict === undefined) {
      verdict = backtrackingRisk(source, rule.spec.flags ?? '');
      verdicts.set(key, verdict);
    }
    if (verdict) {
      problems.push({
        file: rule.file,
        line: null,
        field,
        message: `pattern ${JSON.stringify(source)} ${verdict}; rewrite it, or pass --allow-unsafe-patterns`,
      });
      safe = false;
    }
  }
  return safe;
}

/** A site rule's patterns, each matched within a time budget (see safety.ts). */
export function boundRule(rule: Rule): void {
  rule.boundedMatch = true;
  rule.patterns = rule.patterns.map(bounded);
  rule.ignore = rule.ignore.map(bounded);
  if (rule.continuation) rule.continuation = bounded(rule.continuation);
  if (rule.blockEnd) rule.blockEnd = bounded(rule.blockEnd);
}

/** Format of the catalogue cache (a cache of another format is written again). */
const CACHE_FORMAT = 2;

interface CatalogueCache {
  format: typeof CACHE_FORMAT;
  /** name, mtime and size of each rule file, in order */
  stamp: [string, number, number][];
  specs: RuleSpec[];
  /** each rule's prefilter literals (requiredLiterals of its patterns: a quarter of a small run's start-up) */
  literals: (string[] | null)[];
}

/** The validated specs of the bundled folder, cached beside the build (dist/) while no file changes. */
function cachePath(dir: string): string | null {
  const built = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  // only the built package (dist/) keeps a cache; running from the sources (tests) does not
  if (basename(built) !== 'dist' || !isBundled(dir)) return null;
  return join(built, 'catalogue-cache.json');
}

function isBundled(dir: string): boolean {
  return resolve(dir) === resolve(bundledRulesDir());
}

/**
 * The rules of one folder (null when it is refused): from the cache when it is fresh (the files
 * checked, not read), else read, parsed and validated (and cached).
 */
function loadFolder(dir: string, problems: RuleProblem[]): Rule[] | null {
  const cache = cachePath(dir);
  const told = problems.length;
  let files = readRuleFolder(dir, problems, cache === null);
  if (!files) return null;
  const stamp: [string, number, number][] = files.map((f) => [basename(f.file), f.st.mtimeMs, f.st.size]);
  if (cache) {
    try {
      const c = JSON.parse(readFileSync(cache, 'utf8')) as CatalogueCache;
      if (c.format === CACHE_FORMAT && JSON.stringify(c.stamp) === JSON.stringify(stamp)) {
        const rules = c.specs.map((spec, i) => compileRule(spec, files![i]!.file, problems, undefined, { literals: c.literals[i]! }));
        if (!rules.includes(null)) return rules as Rule[];
      }
    } catch {
      /* no cache, or a stale or broken one: parse the files */
    }
    // read again, this time with the texts: what the first pass told is told again
    problems.length = told;
    files = readRuleFolder(dir, problems);
    if (!files) return null;
  }
  const before = problems.length;
  const rules = files.map((f) => loadRuleFile(f.file, problems, f.text)).filter((r): r is Rule => r !== null);
  if (cache && problems.length === before) {
    try {
      // exclusive, unpredictable temporary file (never a planted one), renamed over the cache
      const c: CatalogueCache = { format: CACHE_FORMAT, stamp, specs: rules.map((r) => r.spec), literals: rules.map((r) => r.literals) };
      writeFileAtomic(cache, JSON.stringify(c), 0o644, 'catalogue cache');
    } catch {
      /* a read-only installation: no cache, only a slower start */
    }
  }
  return rules;
}

/** Load the catalogue; throws RuleFileError with every problem of every file. */
export function loadCatalogue(opts: LoadOptions = {}): Rule[] {
  const problems: RuleProblem[] = [];
  const byId = new Map<string, Rule>();
  const dirs = [...(opts.noBundled ? [] : [bundledRulesDir()]), ...(opts.extraDirs ?? [])];
  for (const dir of dirs) {
    // as root: every folder on the way checked, the files read through the folder's descriptor
    const rules = loadFolder(dir, problems);
    if (!rules) continue;
    const bundled = isBundled(dir);
    for (const rule of rules) {
      if (!bundled && !opts.allowUnsafe && !patternsAreSafe(rule, problems)) continue;
      if (!bundled) boundRule(rule); // matching time bounded whatever the checker said
      byId.set(rule.id, rule);
    }
  }
  const rules = [...byId.values()];
  for (const r of rules) {
    for (const f of r.follows) {
      if (!byId.has(f.rule)) problems.push({ file: r.file, line: null, field: 'follows', message: `unknown rule "${f.rule}"` });
    }
  }
  if (problems.length > 0) throw new RuleFileError(problems);
  return rules;
}
