#!/usr/bin/env -S node --max-semi-space-size=2
// --max-semi-space-size: the young generation of the heap kept at 2 MiB a half (V8 allows 16): as fast here, and
// 25 MB less peak memory on a large scan. `env -S` (coreutils 8.30+, macOS) passes the flag.
// CommonJS (bin/package.json): a run from the bundle starts no ES module loader (README "Start-up").
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { setFlagsFromString } = require('node:v8');

// Matching time is bounded whatever a pattern is: after too many backtracks V8 goes on with its
// linear-time engine (same result); `l` lets src/engine/safety.ts ask which patterns that engine runs.
setFlagsFromString('--enable-experimental-regexp-engine');
setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
// The old generation grows by a factor of 2 when it fills, not by V8's own factor (up to 4 for a heap that
// collects fast): a long scan keeps little alive, and the heap it left to grow was RSS it never needed.
// 1 GiB of v2 lines: peak RSS 146-152 -> 117-119 MB at the same CPU; 100 hosts' folders: 167-174 ->
// 131-141 MB for 7-15% more CPU (more full collections of a larger live set). README "Speed and scale".
setFlagsFromString('--heap-growing-percent=100');

// The program: one bundled file with V8's code cache when they are up to date, else dist/'s modules; the
// launcher that decides is dist/fast-start.cjs, made by `npm run build`, or without it dist/cli/fast-start.js.
const launcher = join(__dirname, '..', 'dist', 'fast-start.cjs');
const load = () => (existsSync(launcher) ? Promise.resolve(require(launcher)) : import('../dist/cli/fast-start.js'));

load()
  .then(({ start }) => start())
  .then(({ main, done }) => {
    // A reader that stops early (`xendoctor rules list | head`) is not an error.
    for (const stream of [process.stdout, process.stderr]) {
      stream.on('error', (e) => {
        if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
        throw e;
      });
    }
    return main(process.argv).then(async (code) => {
      process.exitCode = code;
      await done();
    });
  });
