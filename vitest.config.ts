import { availableParallelism } from 'node:os';
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
    // as many test files at a time as there are cores (vitest's default is one fewer: one at a time on
    // CI's 2 cores). Most tests wait on the real binary or a real daemon, so a second file keeps the
    // second core busy; the suite was written for a loaded machine (bounds above, test/setup/stall.ts)
    maxWorkers: availableParallelism(),
    minWorkers: 1,
    // .ci/run reads the counts (passed, failed, skipped, files that failed to load) from a JSON report
    reporters: process.env.XD_VITEST_JSON ? ['default', ['json', { outputFile: process.env.XD_VITEST_JSON }]] : ['default'],
  },
});
