/**
 * The rule catalogue: loads rule files (YAML), validates them against rules/rule.schema.json,
 * compiles their patterns, and reports every problem with file, line and field.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { writeFileAtomic } from '../state/atomic.js';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readRuleFile, type Locate } from './rule-file.js';
import { RuleFileError, type RuleProblem } from '../errors.js';
import type { Severity, SourceKind } from '../types.js';
import { parseDuration } from '../parse/time.js';
import { requiredLiterals } from './literals.js';
import { backtrackingRisk } from './safety.js';

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
  threshold?: { count: number; within?: string; distinct?: string };
  follows?: { rule: string; within: string }[];
  applies?: { xen?: string; kernel?: string; toolstack?: 'xm' | 'xl'; memory?: string };
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
  follows: { rule: string; within: number }[];
}

/** The folder of the bundled rules (rules/ at the package root). */
export function bundledRulesDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'rules');
}

function compile(source: string, flags: string): RegExp {
  return new RegExp(source, flags);
}

/** Parse, validate and compile one rule file; problems are pushed to `problems`. */
export function loadRuleFile(file: string, problems: RuleProblem[]): Rule | null {
  const read = readRuleFile<RuleSpec>(file, join(bundledRulesDir(), 'rule.schema.json'), problems);
  return read && compileRule(read.spec, file, problems, read.locate);
}

/** Compile a validated spec into a rule (checks what the schema cannot: regexes, captures named in keys). */
export function compileRule(spec: RuleSpec, file: string, problems: RuleProblem[], locate: Locate = () => null): Rule | null {
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
  let literals: string[] | null = spec.prefilter ?? [];
  if (!spec.prefilter) {
    for (const p of spec.patterns) {
      const lits = requiredLiterals(p);
      if (lits === null) {
        literals = null;
        break;
      }
      literals.push(...lits);
    }
  }
  if (problems.length > before || patterns.includes(null) || ignore.includes(null)) return null;
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
    follows: (spec.follows ?? []).map((f) => ({ rule: f.rule, within: parseDuration(f.within) ?? 0 })),
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

/**
 * Running as root, a rule folder or file that other users can write is refused (as logrotate and
 * sudo refuse such configuration): whoever can write a rule decides what root reads and runs.
 */
function refuseInsecure(dir: string, files: string[], problems: RuleProblem[]): boolean {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return false;
  let refused = false;
  for (const path of [dir, ...files]) {
    const st = statSync(path);
    // world-writable, or group-writable by a group other than root's, or owned by another user
    const writable = (st.mode & 0o002) !== 0 || ((st.mode & 0o020) !== 0 && st.gid !== 0);
    if (writable || st.uid !== 0) {
      const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
      problems.push({
        file: path,
        line: null,
        field: '',
        message: `refused: ${st.uid !== 0 ? `owned by uid ${st.uid}` : `writable by other users (mode ${mode})`}; fix with: chown root:root ${path} && chmod go-w ${path}`,
      });
      refused = true;
    }
  }
  return refused;
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

interface CatalogueCache {
  /** name, mtime and size of each rule file, in order */
  stamp: [string, number, number][];
  specs: RuleSpec[];
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

/** The rules of one folder: from the cache when it is fresh, else parsed and validated (and cached). */
function loadFolder(dir: string, files: string[], problems: RuleProblem[]): Rule[] {
  const cache = cachePath(dir);
  const stamp: [string, number, number][] = files.map((f) => {
    const st = statSync(f);
    return [basename(f), st.mtimeMs, st.size];
  });
  if (cache) {
    try {
      const c = JSON.parse(readFileSync(cache, 'utf8')) as CatalogueCache;
      if (JSON.stringify(c.stamp) === JSON.stringify(stamp)) {
        const rules = c.specs.map((spec, i) => compileRule(spec, files[i]!, problems));
        if (!rules.includes(null)) return rules as Rule[];
      }
    } catch {
      /* no cache, or a stale or broken one: parse the files */
    }
  }
  const before = problems.length;
  const rules = files.map((f) => loadRuleFile(f, problems)).filter((r): r is Rule => r !== null);
  if (cache && problems.length === before) {
    try {
      writeFileAtomic(cache, JSON.stringify({ stamp, specs: rules.map((r) => r.spec) } satisfies CatalogueCache), 0o644);
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
    let files: string[];
    try {
      if (!statSync(dir).isDirectory()) throw new Error('not a folder');
      files = ruleFiles(dir);
    } catch (e) {
      problems.push({ file: dir, line: null, field: '', message: `cannot read rule folder: ${(e as Error).message}` });
      continue;
    }
    if (refuseInsecure(dir, files, problems)) continue;
    const bundled = isBundled(dir);
    for (const rule of loadFolder(dir, files, problems)) {
      if (!bundled && !opts.allowUnsafe && !patternsAreSafe(rule, problems)) continue;
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
