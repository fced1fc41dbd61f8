import { defineConfig } from 'vitest/config';
import base from './vitest.config';

// The tests npm run mutate (stryker.config.mjs) runs against each mutant of src/parse/: the parsers'
// own unit and property tests (the whole suite per mutant is more than this machine can afford).
export default defineConfig({
  test: {
    ...base.test,
    include: ['test/parse.test.ts', 'test/parse-fast.test.ts'],
    reporters: ['default'],
  },
});
