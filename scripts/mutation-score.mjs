#!/usr/bin/env node
/**
 * Adds up StrykerJS JSON reports (reports/mutation/*.json, written by npm run mutate) per folder and
 * per file: mutation score = (killed + timed out) / (killed + timed out + survived + no coverage);
 * static mutants (ignored, see stryker.config.mjs) are counted apart. With --survivors, lists each
 * surviving mutant (file:line:column, mutator, replacement) for docs/mutation.md.
 * When several reports hold the same file, the newest report wins.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(root, 'reports', 'mutation');
const reports = readdirSync(dir)
  .filter((n) => n.endsWith('.json'))
  .map((n) => join(dir, n))
  .sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs);
const files = new Map();
for (const r of reports) {
  const j = JSON.parse(readFileSync(r, 'utf8'));
  for (const [f, v] of Object.entries(j.files)) files.set(relative(root, resolve(root, f)), v.mutants);
}
const blank = () => ({ killed: 0, timeout: 0, survived: 0, noCoverage: 0, ignored: 0, other: 0 });
const add = (acc, s) => {
  if (s === 'Killed') acc.killed++;
  else if (s === 'Timeout') acc.timeout++;
  else if (s === 'Survived') acc.survived++;
  else if (s === 'NoCoverage') acc.noCoverage++;
  else if (s === 'Ignored') acc.ignored++;
  else acc.other++;
};
const score = (a) => {
  const d = a.killed + a.timeout + a.survived + a.noCoverage;
  return d === 0 ? '   -  ' : `${((100 * (a.killed + a.timeout)) / d).toFixed(1).padStart(5)}%`;
};
const row = (name, a) =>
  `${name.padEnd(34)} ${score(a)}  killed ${String(a.killed).padStart(4)}  timeout ${String(a.timeout).padStart(3)}  survived ${String(a.survived).padStart(4)}  no coverage ${String(a.noCoverage).padStart(3)}  static (not run) ${String(a.ignored).padStart(4)}`;
const folders = new Map();
const lines = [];
const survivors = [];
for (const [f, mutants] of [...files].sort()) {
  const a = blank();
  for (const m of mutants) {
    add(a, m.status);
    if (m.status === 'Survived' || m.status === 'NoCoverage')
      survivors.push(
        `${f}:${m.location.start.line}:${m.location.start.column} ${m.status} ${m.mutatorName}: ${JSON.stringify(m.replacement ?? '')}`,
      );
  }
  const g = folders.get(dirname(f)) ?? blank();
  for (const k of Object.keys(a)) g[k] += a[k];
  folders.set(dirname(f), g);
  lines.push(row(`  ${f}`, a));
}
for (const [d, a] of folders) console.log(row(`${d}/`, a));
console.log(lines.join('\n'));
if (process.argv.includes('--survivors')) console.log(survivors.join('\n'));
