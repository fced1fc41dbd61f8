/**
 * The entries of the knowledge base: every rule of the catalogue (title, diagnosis, fix, tags, the
 * text of its patterns and of its sample lines, id) and the knowledge articles in rules/articles/
 * (Markdown with a front matter of id, title and tags), for what leaves no signature in the logs.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { bundledRulesDir, type Rule } from '../engine/catalogue.js';
import { requiredLiterals } from '../engine/literals.js';
import { parseLine } from '../parse/line.js';

export type KbKind = 'rule' | 'article';

/** One entry as indexed and shown. */
export interface KbDoc {
  id: string;
  kind: KbKind;
  title: string;
  tags: string[];
  /** Rules: the literal text of the patterns and positive sample lines; articles: empty. */
  signature: string;
  /** What is shown and searched: a rule's diagnosis and fix steps, an article's body. */
  body: string;
  /** Rules: the titles and tags of the rules that this one is a known cause of (their `follows`). */
  causes?: string;
}

/** The folder of the bundled knowledge articles. */
export function articlesDir(): string {
  return join(bundledRulesDir(), 'articles');
}

/** The folder of the bundled sample files (samples/ beside rules/). */
export function samplesDir(): string {
  return join(bundledRulesDir(), '..', 'samples');
}

/** Article files (*.md) of a folder, sorted; none when the folder is absent. */
export function articleFiles(dir = articlesDir()): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => join(dir, f));
}

/** Parse one article: YAML front matter between `---` lines, then the Markdown body. */
export function parseArticle(file: string, text: string): KbDoc {
  const m = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?([\s\S]*)$/.exec(text);
  if (!m) throw new Error(`${file}: no front matter (--- id, title, tags ---)`);
  const { parse } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  const front = (parse(m[1]!) ?? {}) as { id?: unknown; title?: unknown; tags?: unknown };
  if (typeof front.id !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(front.id))
    throw new Error(`${file}: front matter needs an id (lower-case, dashes)`);
  if (typeof front.title !== 'string' || front.title.trim() === '') throw new Error(`${file}: front matter needs a title`);
  const tags = Array.isArray(front.tags) ? front.tags.map(String) : [];
  return { id: front.id, kind: 'article', title: front.title.trim(), tags, signature: '', body: m[2]!.trim() };
}

/** The readable text of a regular expression: escapes, groups, classes and quantifiers dropped. */
export function patternText(source: string): string {
  return source
    .replace(/\(\?<[A-Za-z_]\w*>/g, ' ')
    .replace(/\(\?[:=!]|\(\?<[=!]/g, ' ')
    .replace(/\[(?:\\.|[^\]\\])*\]/g, ' ')
    .replace(/\\[dDsSwWbB]/g, ' ')
    .replace(/\{\d+(?:,\d*)?\}/g, ' ')
    .replace(/\\(.)/g, '$1')
    .replace(/[()|^$*+?]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Messages of the positive sample lines of a rule (at most a few, prefixes stripped). */
function sampleMessages(id: string, max = 6): string[] {
  const file = join(samplesDir(), `${id}.log`);
  if (!existsSync(file)) return [];
  const out: string[] = [];
  let expecting = false;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.startsWith('# expect:')) {
      expecting = !/^# expect: none\b/.test(line);
      continue;
    }
    if (line.startsWith('#') || line.trim() === '') continue;
    if (expecting) {
      const msg = parseLine(line, { zone: 'UTC', year: 2000, reference: 0 }).message.trim();
      if (msg && !out.includes(msg)) out.push(msg.length > 300 ? msg.slice(0, 300) : msg);
      expecting = false;
      if (out.length >= max) break;
    }
  }
  return out;
}

/** The entry of one rule. */
export function ruleDoc(rule: Rule): KbDoc {
  const s = rule.spec;
  const signature = [
    ...s.patterns.map(patternText),
    ...s.patterns.flatMap((p) => requiredLiterals(p) ?? []),
    ...(rule.file.startsWith(bundledRulesDir()) ? sampleMessages(s.id) : []),
  ].join('\n');
  // placeholders of the captured values read as <name> outside a finding
  const plain = (t: string) => t.replace(/\{([A-Za-z_]\w*)\}/g, '<$1>');
  const body = [plain(s.diagnosis.trim()), '', 'Fix:', ...s.fix.map((f, i) => `${i + 1}. ${plain(f)}`)].join('\n');
  return { id: s.id, kind: 'rule', title: plain(s.title), tags: s.tags ?? [], signature, body };
}

/** All entries: the rules, then the articles (an article never replaces a rule of the same id). */
export function buildDocs(rules: Rule[], files = articleFiles()): KbDoc[] {
  const docs = rules.map(ruleDoc);
  // a root cause is found by the words of what it causes ("xend won't start" finds disk-full too)
  const byId = new Map(docs.map((d) => [d.id, d]));
  for (const r of rules) {
    for (const f of r.follows) {
      const cause = byId.get(f.rule);
      if (cause) cause.causes = [cause.causes, r.spec.title, ...(r.spec.tags ?? [])].filter(Boolean).join(' ');
    }
  }
  const ids = new Set(docs.map((d) => d.id));
  for (const f of files) {
    const a = parseArticle(f, readFileSync(f, 'utf8'));
    if (ids.has(a.id)) throw new Error(`${f}: id "${a.id}" is already taken by a rule or another article`);
    ids.add(a.id);
    docs.push(a);
  }
  return docs;
}
