import { defineConfig } from 'vitest/config';
import base from './vitest.config';

// The tests npm run mutate (stryker.config.mjs) runs against each mutant: the unit and property tests
// that import the mutated folder's code (tests that run the binary use dist/, which Stryker does not
// mutate, and the whole suite per mutant is more than this machine can afford).
// XD_MUTATE_TESTS=test/a.test.ts,test/b.test.ts narrows or widens the set (npm run mutate:engine, ...).
const sets: Record<string, string[]> = {
  parse: ['test/parse.test.ts', 'test/parse-fast.test.ts', 'test/parse-forms.test.ts', 'test/parse-units.test.ts'],
};
const chosen = process.env.XD_MUTATE_TESTS;
export default defineConfig({
  test: {
    ...base.test,
    include: chosen ? chosen.split(',') : sets.parse,
    reporters: ['default'],
  },
});
