// npm run mutate: mutation testing with StrykerJS and its vitest runner (not part of npm test or CI).
// The machine is small and shared, so the default scope is src/parse/ against the tests that are
// about it (vitest.mutate.config.ts), one test process at a time; widen it with --mutate, e.g.
//   npm run mutate -- --mutate 'src/engine/**/*.ts' (and add the engine's tests to that config).
// The report: reports/mutation/mutation.html and the table printed at the end.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutate.config.ts', related: false },
  plugins: ['@stryker-mutator/vitest-runner'],
  mutate: ['src/parse/**/*.ts'],
  coverageAnalysis: 'perTest',
  concurrency: 1,
  timeoutMS: 20_000,
  reporters: ['clear-text', 'progress-append-only', 'html', 'json'],
  thresholds: { high: 90, low: 75, break: null },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
