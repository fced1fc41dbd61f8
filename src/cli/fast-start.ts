/**
 * Start-up (issue 19; README "Start-up"): bin/xendoctor.js gets the command-line program from here.
 * It is dist/xendoctor.cjs, the whole of dist/cli/main.js and what it imports bundled into one file
 * (scripts/bundle.mjs), compiled with a V8 code cache beside it, so a run neither resolves and links
 * some fifty module files nor parses and compiles what it runs again. The modules themselves
 * (dist/cli/main.js) are run instead, with the same result, when
 *
 * - there is no bundle, or it is stale: a file it was built from (dist/*.js, listed with its size in
 *   dist/xendoctor.cjs.json) has another size, or, in a checkout (src/ beside dist/), is newer than
 *   the bundle (`tsc` since the build);
 * - coverage is being collected (NODE_V8_COVERAGE: counted per module file), or
 *   XENDOCTOR_STARTUP=plain asks for them.
 *
 * The code cache, dist/xendoctor.cjs-KEY.v8cache, holds V8's compiled code of the bundle for one node
 * binary and set of node options (KEY: their hash; V8 refuses a cache of other flags anyway), headed
 * by the size, time and inode of the bundle it was made from. A cache is used only when it is a
 * regular file owned by this user or root and writable by nobody else (compiled code is code: a cache
 * another user could write is ignored), and V8 accepts it. Missing, stale or refused, the run
 * compiles from source and afterwards writes the cache (created exclusively, renamed over the old
 * one, mode 0644); where it cannot (a read-only installation, another user's), it does not, silently.
 * At most MAX_CACHES caches are kept: the least recently written others go.
 * XENDOCTOR_STARTUP=trace tells on stderr which way a run started.
 *
 * bin/xendoctor.js is CommonJS (bin/package.json) and requires this launcher as dist/fast-start.cjs, its
 * CommonJS copy that `npm run build` makes: a run from the bundle then starts no ES module loader (its
 * start and the ES-module form of each built-in module imported were a tenth of a small run). Without
 * that copy, or when it is stale (this file has changed since), the launcher is imported from here.
 */
import { isAscii } from 'node:buffer';
import { closeSync, constants, fstatSync, openSync, readdirSync, readFileSync, readSync, statSync, unlinkSync, type Stats } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';

export type Main = (argv: string[]) => Promise<number>;

export interface Started {
  main: Main;
  /** How the program was loaded: "bundle" (with "cache accepted", "cache written" ...) or "modules". */
  how: string;
  /** Call when the run is over: writes the code cache when there was none to use. */
  done: () => Promise<void>;
}

const DIST = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BUNDLE = join(DIST, 'xendoctor.cjs');
/** Largest code cache read. */
const MAX_CACHE = 64 * 1024 * 1024;

const tracing = () => process.env.XENDOCTOR_STARTUP === 'trace';
function trace(message: string): void {
  if (tracing()) process.stderr.write(`xendoctor: start-up: ${message}\n`);
}

/** 32-bit FNV-1a of a string, in hex (a file name, not a secret). */
function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

/** Why the bundle cannot be used, or null when it can; `st` its stats. */
function staleness(st: Stats): string | null {
  let manifest: { inputs: [string, number][] };
  try {
    manifest = JSON.parse(readFileSync(`${BUNDLE}.json`, 'utf8')) as typeof manifest;
  } catch {
    return 'no list of its files (dist/xendoctor.cjs.json)';
  }
  const root = dirname(DIST);
  // Times tell only in a checkout (the sources beside dist/), where tsc rebuilds dist/ without the
  // bundle; an installed package (no src/) has the times of its unpacking, in no particular order.
  const checkout = statSync(join(root, 'src'), { throwIfNoEntry: false })?.isDirectory() === true;
  for (const [rel, size] of manifest.inputs) {
    // the packages it holds are its own copies; dist/ must be what it was built from
    if (!rel.startsWith('dist/')) continue;
    const s = statSync(join(root, rel), { throwIfNoEntry: false });
    if (!s) return `${rel} is gone`;
    if (s.size !== size || (checkout && s.mtimeMs > st.mtimeMs)) return `${rel} changed since the bundle was built`;
  }
  return null;
}

/** The code cache file of this node binary and these node options. */
export function cacheFile(): string {
  const key = [process.version, process.arch, process.execArgv.join('\0'), process.env.NODE_OPTIONS ?? ''].join('\n');
  return join(DIST, `xendoctor.cjs-${fnv1a(key)}.v8cache`);
}

/** The first line of a cache: the bundle it was made from. */
const headerOf = (st: Stats) => `xendoctor code cache ${st.size} ${st.mtimeMs} ${st.ino}\n`;

/** The cached data for the bundle (`st`), or why there is none. */
function readCache(file: string, st: Stats): Buffer | string {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'none' : `unreadable (${(e as NodeJS.ErrnoException).code})`;
  }
  try {
    const c = fstatSync(fd);
    const uid = typeof process.geteuid === 'function' ? process.geteuid() : 0;
    if (!c.isFile()) return 'not a regular file';
    if (c.uid !== uid && c.uid !== 0) return `owned by uid ${c.uid}: ignored`;
    if ((c.mode & 0o022) !== 0) return `writable by others (mode ${(c.mode & 0o777).toString(8)}): ignored`;
    if (c.size > MAX_CACHE) return 'too large';
    const buf = Buffer.alloc(c.size);
    let off = 0;
    while (off < c.size) {
      const n = readSync(fd, buf, off, c.size - off, off);
      if (n === 0) break;
      off += n;
    }
    const header = headerOf(st);
    if (off !== c.size || buf.toString('latin1', 0, header.length) !== header) return 'stale';
    return buf.subarray(header.length);
  } finally {
    closeSync(fd);
  }
}

/** The program from its modules (dist/cli/main.js). */
async function fromModules(why: string): Promise<Started> {
  trace(`modules (${why})`);
  // a URL, not './main.js': the launcher is also run as dist/fast-start.cjs (scripts/bundle.mjs), from which
  // the modules are still imported, not bundled
  const { main } = (await import(new URL('./main.js', import.meta.url).href)) as typeof import('./main.js');
  return { main, how: 'modules', done: async () => {} };
}

/** Load the program: the bundle with its code cache when they can be used, else the modules. */
export async function start(): Promise<Started> {
  const mode = process.env.XENDOCTOR_STARTUP;
  if (mode === 'plain') return fromModules('XENDOCTOR_STARTUP=plain');
  if (process.env.NODE_V8_COVERAGE) return fromModules('coverage is collected per module');
  const st = statSync(BUNDLE, { throwIfNoEntry: false });
  if (!st) return fromModules('no bundle (dist/xendoctor.cjs)');
  const stale = staleness(st);
  if (stale) return fromModules(`bundle not used: ${stale}`);

  const file = cacheFile();
  const cached = readCache(file, st);
  // ASCII (scripts/bundle.mjs escapes the rest): read as such, a copy, where UTF-8 decoding is a scan
  const bytes = readFileSync(BUNDLE);
  const source = isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8');
  let script: Script;
  try {
    script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
      filename: BUNDLE,
      ...(typeof cached === 'string' ? {} : { cachedData: cached }),
    });
  } catch (e) {
    return fromModules(`bundle not used: ${(e as Error).message}`);
  }
  const mod = { exports: {} as { main?: Main } };
  (script.runInThisContext() as (...a: unknown[]) => void)(mod.exports, createRequire(BUNDLE), mod, BUNDLE, DIST);
  const main = mod.exports.main;
  if (typeof main !== 'function') return fromModules('bundle not used: it exports no main');
  const accepted = typeof cached !== 'string' && !script.cachedDataRejected;
  const state = typeof cached === 'string' ? cached : accepted ? 'accepted' : 'refused by V8';
  trace(`bundle, code cache ${file}: ${state}`);
  // the CommonJS copy has `require` in its scope; this ES module does not
  trace(`launcher: ${typeof require === 'function' ? 'dist/fast-start.cjs' : 'dist/cli/fast-start.js'}`);
  return {
    main,
    how: `bundle, cache ${state}`,
    done: async () => {
      if (!accepted) await writeCache(file, st, script);
    },
  };
}

/** Write the code cache of the run that just ended (compiled so far: what this run used). */
async function writeCache(file: string, st: Stats, script: Script): Promise<void> {
  try {
    const data = Buffer.concat([Buffer.from(headerOf(st), 'latin1'), script.createCachedData()]);
    // loaded only here: an exclusively created temporary file with an unpredictable name, renamed
    const { writeFileAtomic } = (await import(new URL('../state/atomic.js', import.meta.url).href)) as typeof import('../state/atomic.js');
    writeFileAtomic(file, data, 0o644, 'code cache');
    trace(`code cache written: ${file}`);
  } catch (e) {
    trace(`code cache not written: ${(e as Error).message}`);
    return;
  }
  pruneCaches(file);
}

/** Most code caches kept beside the bundle (node options differ: --import, --cpu-prof-dir ... each has its own). */
export const MAX_CACHES = 4;

/** Remove the least recently written caches beyond MAX_CACHES (`kept`, just written, stays). */
function pruneCaches(kept: string): void {
  try {
    const others = readdirSync(DIST)
      .filter((f) => /^xendoctor\.cjs-[0-9a-f]{8}\.v8cache$/.test(f) && join(DIST, f) !== kept)
      .map((f) => ({ f: join(DIST, f), t: statSync(join(DIST, f)).mtimeMs }))
      .sort((a, b) => b.t - a.t);
    for (const { f } of others.slice(MAX_CACHES - 1)) {
      unlinkSync(f);
      trace(`code cache removed (the least recently written beyond ${MAX_CACHES}): ${f}`);
    }
  } catch {
    /* another run removed it first, or the folder is not ours */
  }
}
