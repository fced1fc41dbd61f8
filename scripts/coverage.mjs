#!/usr/bin/env node
/**
 * npm run coverage: line and branch coverage of src/ by the whole suite, the xendoctor processes the
 * tests start included (most tests run the real binary, bin/xendoctor.js -> dist/).
 *
 *  - in-process code (tests importing src/*.ts): vitest's V8 coverage (@vitest/coverage-v8);
 *  - child processes: NODE_V8_COVERAGE, which every node process the tests start inherits, turned
 *    into src/ coverage through dist/'s source maps by c8;
 *  - both merged (istanbul-lib-coverage), printed per folder and for the weakest files, and written
 *    to coverage/ (coverage-final.json, summary.txt).
 * Run `npm run build` first (the script does it through package.json). Usage: npm run coverage [-- FILES]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import libCoverage from 'istanbul-lib-coverage';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'coverage');
const raw = join(out, 'raw');
rmSync(out, { recursive: true, force: true });
mkdirSync(raw, { recursive: true });
const bin = (name) => join(root, 'node_modules', '.bin', name);

const tests = spawnSync(
  bin('vitest'),
  [
    'run',
    '--coverage.enabled',
    '--coverage.provider=v8',
    '--coverage.reporter=json',
    `--coverage.reportsDirectory=${join(out, 'in-process')}`,
    '--coverage.include=src/**',
    // a test that fails (a timeout on a loaded machine) must not throw the whole measurement away
    '--coverage.reportOnFailure',
    ...process.argv.slice(2),
  ],
  { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_V8_COVERAGE: raw } },
);

const c8 = spawnSync(
  bin('c8'),
  [
    'report',
    `--temp-directory=${raw}`,
    `--reports-dir=${join(out, 'children')}`,
    '--reporter=json',
    '--include=dist/**',
    '--include=src/**',
    '--exclude=dist/**/*.test.*',
    '--exclude-after-remap',
  ],
  { cwd: root, stdio: 'inherit' },
);
if (c8.status !== 0) process.exit(c8.status ?? 1);

const map = libCoverage.createCoverageMap({});
for (const part of ['in-process', 'children']) {
  const file = join(out, part, 'coverage-final.json');
  if (existsSync(file)) map.merge(JSON.parse(readFileSync(file, 'utf8')));
  else console.error(`coverage: no ${part} coverage was written (${file}); the figures below leave it out`);
}
// only src/ (the child processes also load dist/ files without a source map entry)
const files = map.files().filter((f) => f.startsWith(join(root, 'src') + '/') && f.endsWith('.ts'));
const merged = libCoverage.createCoverageMap({});
for (const f of files) merged.addFileCoverage(map.fileCoverageFor(f));
writeFileSync(join(out, 'coverage-final.json'), JSON.stringify(merged.toJSON()));

const pct = (c, t) => (t === 0 ? '   -  ' : `${((100 * c) / t).toFixed(1).padStart(5)}%`);
const groups = new Map();
const rows = [];
const total = { lc: 0, lt: 0, bc: 0, bt: 0 };
for (const f of files) {
  const s = merged.fileCoverageFor(f).toSummary();
  const rel = relative(root, f);
  const dir = dirname(rel);
  const g = groups.get(dir) ?? { lc: 0, lt: 0, bc: 0, bt: 0 };
  for (const acc of [g, total]) {
    acc.lc += s.lines.covered;
    acc.lt += s.lines.total;
    acc.bc += s.branches.covered;
    acc.bt += s.branches.total;
  }
  groups.set(dir, g);
  rows.push({ rel, lines: s.lines, branches: s.branches });
}
const lines = ['folder                 lines   branches', '---------------------- ------- --------'];
for (const [dir, g] of [...groups].sort()) lines.push(`${dir.padEnd(22)} ${pct(g.lc, g.lt)}  ${pct(g.bc, g.bt)}`);
lines.push(`${'all of src/'.padEnd(22)} ${pct(total.lc, total.lt)}  ${pct(total.bc, total.bt)}`);
lines.push('', 'weakest files (branches)');
for (const r of rows
  .filter((r) => r.branches.total >= 10)
  .sort((a, b) => a.branches.pct - b.branches.pct)
  .slice(0, 12))
  lines.push(`  ${r.rel.padEnd(34)} lines ${pct(r.lines.covered, r.lines.total)}  branches ${pct(r.branches.covered, r.branches.total)}`);
const text = lines.join('\n');
writeFileSync(join(out, 'summary.txt'), text + '\n');
console.log(`\ncoverage of src/ (in-process tests and the xendoctor processes they start, merged):\n${text}`);
process.exit(tests.status ?? 1);
