#!/usr/bin/env node
// Build step (npm run build, after tsc): dist/'s command-line program as one file, dist/xendoctor.cjs,
// that bin/xendoctor.js runs with a V8 code cache (src/cli/fast-start.ts; README "Start-up"), and the
// launcher that does it as CommonJS, dist/fast-start.cjs.
//
//   node scripts/bundle.mjs            bundle, manifest, and the code cache of a scan of a small sample
//
// What is bundled is dist/ as tsc built it (the code the tests run), with commander, luxon and lunr:
// no other build of the sources. Each module keeps its own place: `import.meta.url` of
// dist/engine/catalogue.js becomes the URL of dist/engine/catalogue.js, so the rules, the caches, the
// worker (dist/workers/scan-worker.js) and the packages a module requires lazily (yaml, recheck,
// nodemailer, chokidar, tinyglobby) are found where they are without the bundle. Node's built-in
// modules that a run may not need (child_process and net, crypto, zlib, worker_threads, readline ...)
// are required when a property of them is first read, not when the bundle starts.
//
// Beside it, dist/xendoctor.cjs.json lists every file bundled with its size: the launcher uses the
// bundle only while each has that size and is not newer than the bundle (a `tsc` since, a changed
// package: the modules themselves are run instead).
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');
const OUT = join(DIST, 'xendoctor.cjs');
const require = createRequire(import.meta.url);

/** Built-in modules loaded on first use. */
const LAZY = [
  'child_process',
  'crypto',
  'dgram',
  'dns',
  'fs/promises',
  'http',
  'https',
  'net',
  'os',
  'readline',
  'readline/promises',
  'stream',
  'stream/promises',
  'tls',
  'worker_threads',
  'zlib',
];
const lazyFilter = new RegExp(`^(?:node:)?(?:${LAZY.map((m) => m.replace('/', '\\/')).join('|')})$`);

const plugins = [
  {
    // import.meta.url of each dist/ module: its own file's URL, computed from the bundle's place
    name: 'module-url',
    setup(b) {
      b.onLoad({ filter: /[\\/]dist[\\/].*\.js$/ }, (args) => {
        const rel = relative(DIST, args.path).split('\\').join('/');
        const text = readFileSync(args.path, 'utf8').replaceAll(
          'import.meta.url',
          `require('node:url').pathToFileURL(require('node:path').join(__dirname, ${JSON.stringify(rel)})).href`,
        );
        return { contents: text, loader: 'js' };
      });
    },
  },
  {
    name: 'lazy-builtins',
    setup(b) {
      b.onResolve({ filter: lazyFilter }, (args) =>
        args.namespace === 'lazy-builtin'
          ? { path: args.path, external: true }
          : { path: args.path.replace(/^node:/, ''), namespace: 'lazy-builtin' },
      );
      b.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => {
        const names = Object.keys(require(`node:${args.path}`));
        const props = names.map((n) => `${JSON.stringify(n)}: { enumerable: true, get: () => get()[${JSON.stringify(n)}] }`);
        return {
          contents: `let m;\nconst get = () => m || (m = require(${JSON.stringify(`node:${args.path}`)}));\nObject.defineProperties(module.exports, {\n${props.join(',\n')}\n});\n`,
          loader: 'js',
        };
      });
    },
  },
];

/** What both files are: CommonJS for node 20, bundled, with the list of their inputs. */
const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  metafile: true,
  logLevel: 'warning',
  legalComments: 'none',
  charset: 'ascii',
};
/**
 * A program with its packages and dist/'s modules in one file. No comments or indentation, and ASCII
 * only (other characters escaped): a smaller file that is read as a one-byte string, where the comments
 * of luxon alone made it a two-byte string of twice the size.
 */
const program = (entry, outfile, define = {}) =>
  build({ ...common, entryPoints: [entry], outfile, mainFields: ['module', 'main'], plugins, define, minifyWhitespace: true });
// the scan's worker thread (dist/workers/scan-worker.js) as one CommonJS file beside the bundle, which the
// bundle's pool starts (XD_BUNDLED_WORKER below): the thread starts no ES module loader and holds one
// file, 9 MB less of its memory. Built first: the bundle is not older than any file it lists.
const WORKER = join(DIST, 'scan-worker.cjs');
const worker = await program(join(DIST, 'workers', 'scan-worker.js'), WORKER);
// src/workers/pool.ts: relative to dist/workers/pool.js, whose place the bundle keeps (module-url)
const result = await program(join(DIST, 'cli', 'main.js'), OUT, { XD_BUNDLED_WORKER: JSON.stringify('../scan-worker.cjs') });
// the launcher (dist/cli/fast-start.js) as CommonJS, which bin/xendoctor.js (CommonJS) requires: a run from the
// bundle starts no ES module loader. Its own imports of the modules (the fallback) stay imports of dist/.
const LAUNCHER = join(DIST, 'fast-start.cjs');
const launcher = await build({ ...common, entryPoints: [join(DIST, 'cli', 'fast-start.js')], outfile: LAUNCHER, plugins: [plugins[0]] });
const launcherInputs = Object.keys(launcher.metafile.inputs);
if (launcherInputs.length !== 1) throw new Error(`${LAUNCHER}: bundled more than the launcher: ${launcherInputs.join(', ')}`);

const text = readFileSync(OUT, 'utf8');
// run by vm.Script without a module loader: an import() left in it would fail at run time
if (/\bimport\(/.test(text.replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, ''))) throw new Error(`${OUT}: a dynamic import() was left in the bundle`);
// the launcher's source too: the copy is stale (and the modules are run) when it has changed
// and the worker's: the bundle's pool starts it, so a changed worker module or a changed copy makes the
// modules run
const inputs = [
  ...new Set([...Object.keys(result.metafile.inputs), ...launcherInputs, ...Object.keys(worker.metafile.inputs), relative(ROOT, WORKER)]),
]
  .filter((p) => !p.startsWith('lazy-builtin:'))
  .map((p) => {
    const rel = relative(ROOT, join(ROOT, p)).split('\\').join('/');
    return [rel, statSync(join(ROOT, rel)).size];
  });
writeFileSync(`${OUT}.json`, `${JSON.stringify({ bundle: 'xendoctor.cjs', inputs })}\n`);

// code caches of an earlier bundle are of no use: they are written again by the next run
for (const f of readdirSync(DIST)) if (f.endsWith('.v8cache')) rmSync(join(DIST, f), { force: true });
// the cache of the launcher as installed (its #! line's node options): a scan of a small pipe
const sample = readFileSync(join(ROOT, 'samples', 'lab', 'toolstack', 'xl-dmesg.txt'));
const run = spawnSync(join(ROOT, 'bin', 'xendoctor.js'), [], { input: sample, stdio: ['pipe', 'ignore', 'pipe'] });
if (run.status === null || run.status > 2) throw new Error(`bin/xendoctor.js on a sample: exit ${run.status}: ${String(run.stderr)}`);
const cached = readdirSync(DIST).filter((f) => f.endsWith('.v8cache'));
console.log(
  `bundle: dist/xendoctor.cjs (${inputs.length} files, ${(text.length / 1024).toFixed(0)} KiB); code cache: ${cached.length ? cached.map((f) => `dist/${f}`).join(', ') : 'none written'}`,
);
