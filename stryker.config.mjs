// npm run mutate: mutation testing with StrykerJS and its vitest runner (not part of npm test or CI).
// The machine is small and shared, so one folder at a time, against the tests that import that
// folder's code (vitest.mutate.config.ts), one test process at a time:
//   npm run mutate                      src/parse/
//   npm run mutate:engine               src/engine/
//   npm run mutate:sources              src/sources/
//   npm run mutate:safety               src/engine/safety.ts (its recheck test is slow: a set of its own)
//     (or against its unit tests: XD_MUTATE=engine-safety-units XD_MUTATE_NAME=safety --mutate src/engine/safety.ts)
// or one file: XD_MUTATE=engine XD_MUTATE_NAME=literals npx stryker run --mutate src/engine/literals.ts
// (XD_MUTATE picks the tests, XD_MUTATE_NAME the report and incremental file names).
// node scripts/mutation-score.mjs adds up the reports per folder.
// Incremental: results are kept in reports/stryker-incremental-<name>.json and a run only tests the
// mutants whose code or tests changed since. Static mutants (module-level constants, run once at
// import) are not run: each needs every test of the set re-run with the module reloaded, 60% of the
// time here; docs/mutation.md lists what that leaves out.
// The report: reports/mutation/<name>.html and .json, and the table printed at the end.
const scope = process.env.XD_MUTATE ?? 'parse';
// one file at a time (XD_MUTATE_NAME=literals ... --mutate src/engine/literals.ts) keeps its own results
const name = process.env.XD_MUTATE_NAME ?? scope;
// engine-safety: src/engine/safety.ts against its own (slow) test, kept out of the engine set
const MUTATE = {
  engine: ['src/engine/**/*.ts', '!src/engine/safety.ts'],
  'engine-safety': ['src/engine/safety.ts'],
  'engine-core': ['src/engine/{matching,literals,groups,findings,catalogue,rule-file,rule-folder,samples,facts}.ts'],
};
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutate.config.ts', related: false },
  plugins: ['@stryker-mutator/vitest-runner'],
  mutate: MUTATE[scope] ?? [`src/${scope}/**/*.ts`],
  coverageAnalysis: 'perTest',
  ignoreStatic: true,
  incremental: true,
  incrementalFile: `reports/stryker-incremental-${name}.json`,
  concurrency: 1,
  timeoutMS: 20_000,
  reporters: ['clear-text', 'progress-append-only', 'html', 'json'],
  htmlReporter: { fileName: `reports/mutation/${name}.html` },
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  thresholds: { high: 90, low: 75, break: null },
  // bench/corpus is a symlink to the shared corpora (HELPER-RULES): Stryker cannot copy it, and no test reads it
  ignorePatterns: ['/bench/corpus', '/reports'],
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
