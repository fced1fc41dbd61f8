import { defineConfig } from 'vitest/config';

// Deterministic runs: fixed time zone, no colour, a throw-away HOME.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    env: { TZ: 'UTC', NO_COLOR: '1', HOME: '/tmp/xendoctor-test-home', LC_ALL: 'C' },
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
