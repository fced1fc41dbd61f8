/**
 * `xendoctor explain QUERY...`: search the knowledge base (the rules and the knowledge articles).
 * The query is a few words ("guests slow pinned cpus"), an entry id (shows the whole entry), or a
 * pasted log line: then the line goes through the engine and the rules that recognise it come
 * first, with their diagnosis and fix filled in from the line.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { Option } from 'commander';
import { CliError, ExitCode } from '../errors.js';
import { loadCatalogue, type Rule } from '../engine/catalogue.js';
import { loadKnowledgeBase, stem, queryWords, snippetOf, type KbResult, type KnowledgeBase } from '../kb/search.js';
import { looksLikeLogLine, matchLines, parsePasted, type LineMatch } from '../kb/match.js';
import { templateOf } from '../engine/unrecognized.js';
import { stdinIsPiped } from '../sources/inputs.js';
import { renderRuleText } from '../render/rule-text.js';
import { safeText } from '../render/sanitize.js';
import type { Io } from '../io.js';

interface ExplainOptions {
  format: 'text' | 'json';
  limit: string;
  rules: string[];
}

/** The JSON of one matching rule (a pasted line). */
function matchJson(m: LineMatch) {
  const f = m.finding;
  return {
    rule: f.rule,
    title: f.title,
    severity: f.severity,
    key: f.key,
    harmless: f.harmless,
    diagnosis: f.diagnosis,
    fix: f.fix,
    threshold: m.threshold,
  };
}

/** Log and rule text wrapped into lines of at most `width`, each neutralised for the terminal. */
function wrap(text: string, indent: string, width = 100): string[] {
  const out: string[] = [];
  for (const para of text.split(/\n\s*\n/)) {
    let line = '';
    for (const w of para
      .split(/\s+/)
      .filter(Boolean)
      .map((x) => safeText(x))) {
      if (line && line.length + w.length + 1 > width - indent.length) {
        out.push(indent + line);
        line = w;
      } else line = line ? `${line} ${w}` : w;
    }
    if (line) out.push(indent + line);
    out.push('');
  }
  while (out.length && out[out.length - 1] === '') out.pop();
  return out;
}

function resultLines(results: KbResult[], rules: Rule[]): string[] {
  const out: string[] = [];
  const byId = new Map(rules.map((r) => [r.id, r]));
  results.forEach((r, i) => {
    out.push(`${i + 1}. ${safeText(r.title)}  [${r.kind} ${r.id}]`);
    if (r.snippet) out.push(...wrap(r.snippet, '     '));
    const causes = byId.get(r.id)?.follows.map((f) => f.rule) ?? [];
    if (causes.length) out.push(`     known cause${causes.length > 1 ? 's' : ''}: ${causes.join(', ')}`);
    if (i < results.length - 1) out.push('');
  });
  return out;
}

/** The whole entry of an id: a rule as `rules show` prints it, an article with its text. */
function entryText(id: string, kb: KnowledgeBase, rules: Rule[]): string | null {
  const rule = rules.find((r) => r.id === id);
  if (rule) return renderRuleText(rule);
  const doc = kb.get(id);
  if (!doc) return null;
  return [
    `${doc.id} — ${safeText(doc.title)}`,
    `article${doc.tags.length ? ` · tags: ${doc.tags.join(', ')}` : ''}`,
    '',
    ...doc.body.split('\n').map((l) => safeText(l)),
    '',
  ].join('\n');
}

export async function runExplain(words: string[], opts: ExplainOptions, io: Io): Promise<number> {
  const limit = Number(opts.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new CliError(`--limit: "${opts.limit}" is not a number from 1 to 100`);
  let query = words.join(' ');
  let lines = words.length ? [query] : [];
  if (query.trim() === '' && stdinIsPiped()) {
    const text = readFileSync(0)
      .subarray(0, 64 * 1024)
      .toString('utf8');
    lines = text
      .split(/\r?\n/)
      .filter((l) => l.trim() !== '')
      .slice(0, 200);
    query = lines[0] ?? '';
  }
  if (query.trim() === '')
    throw new CliError(
      'nothing to explain',
      'give a few words (xendoctor explain guests slow pinned cpus), an id, or a log line in quotes (or piped)',
    );
  const rules = loadCatalogue({ extraDirs: opts.rules });
  const kb = loadKnowledgeBase({ extraRuleDirs: opts.rules, rules });

  // an id: the whole entry
  const id = query.trim();
  if (lines.length <= 1 && kb.get(id)) {
    const doc = kb.get(id)!;
    if (opts.format === 'json') {
      const stems = new Set(queryWords(doc.title).map(stem));
      io.out(
        JSON.stringify(
          { results: [{ id: doc.id, kind: doc.kind, title: doc.title, score: 1, snippet: snippetOf(doc.body, stems) }], matched: [] },
          null,
          2,
        ) + '\n',
      );
    } else io.out(entryText(id, kb, rules)!);
    return ExitCode.Ok;
  }

  const ev = parsePasted(query);
  const matches = matchLines(lines, rules);
  const isLine = matches.length > 0 || lines.length > 1 || looksLikeLogLine(query, ev);
  // a log line is searched by its message, its variable parts (numbers, devices, addresses) left out
  const searchText = isLine ? templateOf(ev.message).replace(/<[a-z*]+>/g, ' ') : query;
  let results = kb.search(searchText, limit + matches.length);
  // a line no rule knows: the entries that share specific words with it, else the nearest few
  let weak = false;
  if (isLine && matches.length === 0) {
    const close = new Set(kb.related(templateOf(ev.message), limit));
    const related = results.filter((r) => close.has(r.id));
    weak = related.length === 0;
    results = weak ? results.slice(0, Math.min(3, limit)) : related;
  }
  if (matches.length) {
    const top = results[0]?.score ?? 1;
    const first: KbResult[] = matches.map((m) => {
      const own = results.find((r) => r.id === m.finding.rule);
      const doc = kb.get(m.finding.rule);
      return {
        id: m.finding.rule,
        kind: 'rule',
        title: m.finding.title,
        score: Math.max(own?.score ?? 0, top),
        snippet: doc ? snippetOf(m.finding.diagnosis, new Set(queryWords(searchText).map(stem))) : m.finding.diagnosis.split('\n')[0]!,
      };
    });
    const ids = new Set(first.map((r) => r.id));
    results = [...first, ...results.filter((r) => !ids.has(r.id))];
  }
  results = results.slice(0, limit);

  if (opts.format === 'json') {
    io.out(JSON.stringify({ results, matched: matches.map(matchJson) }, null, 2) + '\n');
    return ExitCode.Ok;
  }
  const out: string[] = [];
  if (matches.length) {
    for (const m of matches) {
      const f = m.finding;
      out.push(`This line matches rule ${f.rule} (${f.severity}${f.harmless ? ', harmless' : ''}): ${safeText(f.title)}`);
      if (m.threshold) out.push(`   (a finding once ${m.threshold})`);
      out.push('   diagnosis:', ...wrap(f.diagnosis, '     '), '   fix:');
      f.fix.forEach((s, i) => out.push(...wrap(s, '        ').map((l, j) => (j === 0 ? `     ${i + 1}. ${l.trimStart()}` : l))));
      out.push('');
    }
    const rest = results.filter((r) => !matches.some((m) => m.finding.rule === r.id));
    if (rest.length) out.push('Related entries:', '', ...resultLines(rest, rules));
  } else if (results.length === 0) {
    out.push(`Nothing in the knowledge base matches "${safeText(query)}".`, 'Try other words, or list the rules: xendoctor rules list');
  } else {
    if (isLine)
      out.push(
        weak
          ? 'No rule of the catalogue recognises this line, and no entry shares specific words with it. The nearest by text:'
          : 'No rule of the catalogue recognises this line. The closest entries:',
        '',
      );
    out.push(...resultLines(results, rules));
  }
  if (results.length) out.push('', 'The whole entry: xendoctor explain ID');
  io.out(out.join('\n') + '\n');
  return ExitCode.Ok;
}

/** Register `explain`. */
export function registerExplain(program: Command, io: Io, setCode: (c: number) => void): void {
  program
    .command('explain')
    .description('search the knowledge base (rules and articles) by words, an id, or a pasted log line')
    .argument('[query...]', 'a few words, an entry id, or a log line in quotes; nothing: a log line from stdin')
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('--limit <n>', 'how many entries to show', '5')
    .option('--rules <dir>', 'another folder of rule files (repeatable)', (v: string, p: string[]) => [...p, v], [])
    .addHelpText(
      'after',
      `
Examples:
  xendoctor explain guests slow pinned cpus
  xendoctor explain dom0 runs out of memory ballooning
  xendoctor explain blkback-hung-task                 the whole entry
  xendoctor explain "INFO: task blkback.111.xvda:2162 blocked for more than 120 seconds."
  grep -m1 qla2xxx /var/log/kern.log | xendoctor explain`,
    )
    .action(async (words: string[], opts: ExplainOptions) => setCode(await runExplain(words, opts, io)));
}
