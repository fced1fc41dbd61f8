import { defineConfig } from 'vitest/config';

// Deterministic runs: fixed time zone, no colour, a throw-away HOME.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // one fast-check seed per run, printed, replayable with XD_SEED=<seed>
    globalSetup: ['test/setup/seed.ts'],
    setupFiles: ['test/setup/fast-check.ts', 'test/setup/stall.ts', 'test/setup/tmp.ts'],
    env: { TZ: 'UTC', NO_COLOR: '1', HOME: '/tmp/xendoctor-test-home', LC_ALL: 'C' },
    // bounds for a loaded 2-core machine (niced tests beside busy loops ran 10-40x slower), not for speed
    testTimeout: 180_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // .ci/run reads the counts (passed, failed, skipped, files that failed to load) from a JSON report
    reporters: process.env.XD_VITEST_JSON ? ['default', ['json', { outputFile: process.env.XD_VITEST_JSON }]] : ['default'],
  },
});
