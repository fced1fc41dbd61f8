import { defineConfig } from 'vitest/config';
import base from './vitest.config';

// The tests npm run mutate (stryker.config.mjs) runs against each mutant of one folder (XD_MUTATE):
// the unit and property tests that import that folder's code. Tests that run the binary use dist/,
// which Stryker does not mutate, and the whole suite per mutant is more than this machine can afford.
const sets: Record<string, string[]> = {
  parse: [
    'test/parse.test.ts',
    'test/parse-time-units.test.ts',
    'test/parse-console-clock.test.ts',
    'test/parse-fast.test.ts',
    'test/parse-forms.test.ts',
    'test/parse-units.test.ts',
    'test/parse-line-units.test.ts',
    'test/fuzz.test.ts',
  ],
  // parse/line.ts (and fallback.ts) against the parse unit tests that import it (XD_MUTATE=parse-line XD_MUTATE_NAME=line
  // --mutate src/parse/line.ts): without test/fuzz.test.ts, whose module-level parseLine over the
  // samples covers most mutants at import, so each of those re-ran every test of the set
  'parse-line': [
    'test/parse.test.ts',
    'test/parse-units.test.ts',
    'test/parse-fast.test.ts',
    'test/parse-console-clock.test.ts',
    'test/parse-forms.test.ts',
    'test/parse-line-units.test.ts',
  ],
  engine: [
    'test/engine.test.ts',
    'test/engine-units.test.ts',
    'test/engine-groups.test.ts',
    'test/engine-findings.test.ts',
    'test/fastpath.test.ts',
    'test/prefilter.test.ts',
    'test/samples.test.ts',
    'test/unrecognized-miner.test.ts',
    'test/parse-forms.test.ts',
  ],
  // the engine's building blocks without the miner and the prefilter (XD_MUTATE=engine-core): 30 s a run
  'engine-core': [
    'test/engine.test.ts',
    'test/engine-units.test.ts',
    'test/engine-groups.test.ts',
    'test/engine-findings.test.ts',
    'test/fastpath.test.ts',
    'test/samples.test.ts',
  ],
  // the engine's unit tests alone (XD_MUTATE=engine-units): a few seconds a run, for one file at a time
  // when the sample suites above (which load and run the whole catalogue per mutant) are too slow
  'engine-units': ['test/engine.test.ts', 'test/engine-units.test.ts', 'test/engine-groups.test.ts', 'test/engine-findings.test.ts'],
  // safety.ts alone (XD_MUTATE=engine-safety): its test runs recheck over the whole catalogue, too slow
  // to run for the mutants of the other engine files, which it does not test
  'engine-safety': ['test/safety.test.ts'],
  // safety.ts against its unit tests with small patterns (XD_MUTATE=engine-safety-units XD_MUTATE_NAME=safety
  // --mutate src/engine/safety.ts): seconds a run where the catalogue's recheck takes minutes
  'engine-safety-units': ['test/engine-safety-units.test.ts'],
  // one small file each against its own unit tests (XD_MUTATE=<set> XD_MUTATE_NAME=<file> --mutate <file>): seconds a run
  'engine-facts': ['test/engine-facts.test.ts'],
  'sources-safe-read': ['test/sources-safe-read.test.ts'],
  'sources-console': ['test/sources-console.test.ts'],
  'sources-journal': ['test/sources-journal.test.ts'],
  'engine-seen-lines': ['test/engine-seen-lines.test.ts'],
  // sources/lines.ts against its own unit tests (fuzz.test.ts, which also covers it, loads the catalogue)
  'sources-lines': ['test/sources-lines.test.ts'],
  // literals.ts: the engine's unit tests hold the literal cases and properties (test/fastpath.test.ts's few
  // cases come with the sample runs, 30 s a mutant: left out); engine-literals.test.ts the ones written since
  'engine-literals': ['test/engine-units.test.ts', 'test/engine-literals.test.ts'],
  // unrecognized-baseline.ts against its own unit tests (unrecognized-miner.test.ts's one case runs recheck beside it)
  'engine-unrecognized-baseline': ['test/engine-unrecognized-baseline.test.ts'],
  // unrecognized.ts against the miner's tests (the recheck case, 16 s, skips itself under this set) and its own unit tests
  'engine-unrecognized': ['test/unrecognized-miner.test.ts', 'test/engine-unrecognized-units.test.ts'],
  // unrecognized.ts lines 1-498 (the masks, shapeOf, walkShape, sameShape, the template cache: --mutate
  // src/engine/unrecognized.ts:1-498, XENDOCTOR_FUZZ_RUNS=0.1) against the same tests without the corpora
  // case (3-6 s a mutant of the shapes, whose properties hold the cached path to the simple one)
  'engine-unrecognized-head': [
    'test/unrecognized-miner.test.ts',
    'test/engine-unrecognized-units.test.ts',
    'test/engine-unrecognized-shape-units.test.ts',
  ],
  // engine.ts against the engine's own unit tests (engine.test.ts loads the catalogue: 4 s a run) and its small-rule tests
  // (and lines 1-216 and 374-789: contexts, releases, caps, expiry, absorb: test/engine-state-units.test.ts)
  'engine-read': ['test/engine.test.ts', 'test/engine-read-units.test.ts', 'test/engine-state-units.test.ts'],
  // rule-file.ts and rule-folder.ts (the folder's tests need root, as hostile-host's do)
  'engine-rule-files': ['test/engine-rule-files.test.ts', 'test/engine-rule-folder-races.test.ts'],
  // prefilter.ts against its property tests and its unit tests (XD_MUTATE=engine-prefilter XD_MUTATE_NAME=prefilter
  // --mutate src/engine/prefilter.ts): the sample suites that also reach it run the whole catalogue per mutant
  'engine-prefilter': ['test/prefilter.test.ts', 'test/engine-prefilter-units.test.ts'],
  // catalogue.ts against the engine's unit tests and its own (XD_MUTATE=engine-catalogue XD_MUTATE_NAME=catalogue
  // --mutate src/engine/catalogue.ts): the tests that load the catalogue at import leave its mutants static
  'engine-catalogue': [
    'test/engine-units.test.ts',
    'test/engine-findings.test.ts',
    'test/engine-groups.test.ts',
    'test/engine-catalogue-units.test.ts',
  ],
  // samples.ts against its unit tests with two small rules (XD_MUTATE=engine-samples XD_MUTATE_NAME=samples):
  // test/samples.test.ts and fastpath.test.ts, which also reach it, run every sample per mutant
  'engine-samples': ['test/engine-samples-units.test.ts'],
  // the sources' unit tests alone (XD_MUTATE=sources-units --mutate src/sources/encoding.ts)
  'sources-units': ['test/sources-units.test.ts'],
  // inputs.ts against its own unit tests (test/read-path.test.ts calls textSize in-process, beside runs of the binary)
  'sources-inputs': ['test/sources-inputs-units.test.ts'],
  // incremental.ts against its own unit tests (follow-copytruncate.test.ts's two planFile cases come with the follower's)
  // (and the tests written against its re-measure, in a file of their own so that Stryker's incremental run reuses the first file's results)
  'sources-incremental': ['test/sources-incremental-units.test.ts', 'test/sources-incremental-edges.test.ts'],
  // follow.ts lines 36-274 (countLines, LineSplitter, globs, watch targets: --mutate src/sources/follow.ts:36-274)
  // against their unit tests: the follower's own tests wait for lines, seconds each (watch-units.test.ts's few
  // cases of these parts load the catalogue for its analyser cases: left out)
  'sources-follow': ['test/sources-follow-units.test.ts'],
  // follow.ts past line 274 (the follower: FileTail, FileFollower; --mutate src/sources/follow.ts:275-1018) against
  // its unit tests, which drive the follower's turns by hand (test/follow-copytruncate.test.ts and the watch
  // tests wait for lines on the follower's timer or the binary: seconds a test)
  // (and test/sources-follow-tail-edges.test.ts, written against its first run: a file of its own for the incremental run)
  'sources-follow-tail': ['test/sources-follow-tail-units.test.ts', 'test/sources-follow-tail-edges.test.ts'],
  sources: ['test/follow-copytruncate.test.ts', 'test/watch-units.test.ts', 'test/watch-console.test.ts', 'test/sources-units.test.ts'],
};
const scope = process.env.XD_MUTATE ?? 'parse';
export default defineConfig({
  test: {
    ...base.test,
    include: sets[scope] ?? sets.parse,
    reporters: ['default'],
  },
});
