/**
 * Start-up (issue 19): a run starts from the bundle (dist/xendoctor.cjs) with its V8 code cache, with
 * the same output as from dist/'s modules; a stale bundle, an untrusted or refused cache, a folder it
 * cannot write fall back safely; and from the modules a run loads what its command uses. The modules
 * a run loads are seen through a module loader hook (node --import), the way it started through
 * XENDOCTOR_STARTUP=trace. No timing here: start-up time is measured by `npm run bench -- --startup`.
 */
import { spawnSync, type SpawnOptions } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  cpSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileRule, type RuleSpec } from '../src/engine/catalogue.js';
import { BIN, ROOT, spawnAsync, tmp } from './helpers.js';

let dir: string;
beforeAll(() => {
  dir = tmp('xd-startup-');
  chmodSync(dir, 0o755); // the hook is loaded by another user's run too
  // every module file the run loads, one URL a line
  writeFileSync(
    join(dir, 'hooks.mjs'),
    `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  if (url.startsWith('file:')) appendFileSync(process.env.XD_LOADED, url + '\\n');
  return next(url, context);
}
`,
  );
  writeFileSync(
    join(dir, 'register.mjs'),
    `import { register } from 'node:module';\nregister(${JSON.stringify('file://' + join(dir, 'hooks.mjs'))});\n`,
  );
});

interface Loaded {
  code: number;
  stdout: string;
  stderr: string;
  /** The module files it loaded, relative to the project (`root`). */
  modules: string[];
}

/**
 * Run the binary of the project at `root` (this one by default); `startup` is XENDOCTOR_STARTUP
 * (`plain`: from dist/'s modules; `trace`: say on stderr how it started).
 */
async function loaded(args: string[], input?: string, startup?: 'plain' | 'trace', root = ROOT, opts: SpawnOptions = {}): Promise<Loaded> {
  const list = join(dir, `loaded-${Math.random().toString(36).slice(2)}.txt`);
  writeFileSync(list, '');
  chmodSync(list, 0o666);
  const env: NodeJS.ProcessEnv = { ...process.env, TZ: 'UTC', NO_COLOR: '1', XD_LOADED: list };
  delete env.XENDOCTOR_STARTUP;
  delete env.NODE_V8_COVERAGE;
  if (startup) env.XENDOCTOR_STARTUP = startup;
  // spawned, not spawnSync: this worker's event loop turns while the run goes on (test/setup/stall.ts)
  const r = await spawnAsync(
    process.execPath,
    ['--import', join(dir, 'register.mjs'), join(root, 'bin', 'xendoctor.js'), ...args],
    { ...opts, env: { ...env, ...opts.env } },
    input,
  );
  const modules = readFileSync(list, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((u) => decodeURIComponent(u.replace(/^file:\/\//, '')).replace(`${root}/`, ''));
  return { code: r.code ?? -1, stdout: r.stdout, stderr: r.stderr, modules };
}

const SAMPLE = readFileSync(join(ROOT, 'samples', 'lab', 'toolstack', 'xl-dmesg.txt'), 'utf8');
// (scan reads --baseline through cli/prelude.js, not through the baseline command)
const OTHER_COMMANDS = ['rules', 'timeline', 'watch', 'check', 'report', 'ack', 'explain', 'baseline', 'completion'].map(
  (c) => `dist/cli/${c}.js`,
);

describe('start-up from dist/ modules (XENDOCTOR_STARTUP=plain, and a stale bundle)', () => {
  it('a piped scan loads its own command only: no other command module, no lunr, no glob library', async () => {
    const r = await loaded([], SAMPLE, 'plain');
    expect([0, 1, 2]).toContain(r.code);
    expect(r.stdout).toContain('158 lines');
    expect(r.modules).toContain('dist/cli/scan.js');
    for (const m of OTHER_COMMANDS) expect(r.modules).not.toContain(m);
    expect(r.modules.filter((m) => /node_modules\/(lunr|tinyglobby|fdir|picomatch|nodemailer|ajv|yaml)\//.test(m))).toEqual([]);
  });

  it('`rules list` loads the rules command and not scan or watch', async () => {
    const r = await loaded(['rules', 'list'], undefined, 'plain');
    expect(r.code).toBe(0);
    expect(r.modules).toContain('dist/cli/rules.js');
    expect(r.modules).not.toContain('dist/cli/watch.js');
    expect(r.modules).not.toContain('dist/cli/scan.js');
  });

  it('help, completion and options before the command word still see every command', async () => {
    const help = await loaded(['--help'], undefined, 'plain');
    expect(help.code).toBe(0);
    for (const c of ['scan', 'rules', 'timeline', 'watch', 'check', 'report', 'ack', 'explain', 'baseline', 'completion'])
      expect(help.stdout).toMatch(new RegExp(`^  ${c}\\b`, 'm'));
    const complete = await loaded(['__complete', '--', 'rul'], undefined, 'plain');
    expect(complete.stdout.split('\n')).toContain('rules');
    const before = await loaded(['--format', 'json', 'rules', 'list'], undefined, 'plain');
    expect(before.code).toBe(0);
    expect(JSON.parse(before.stdout).rules.length).toBeGreaterThan(10);
    // an option of another command given to scan: commander's own error, as with every command loaded
    const other = await loaded(['--smtp-host', 'x', '-'], undefined, 'plain');
    expect(other.code).toBe(3);
  });
});

/** Runs compared between the bundle and the modules: stdout, stderr and exit code all equal. */
const SAME: [string[], string?][] = [
  [[], SAMPLE],
  [['--format', 'json', '-'], SAMPLE],
  [['--format', 'json', '--quiet', join(ROOT, 'samples', 'hung-task.log'), join(ROOT, 'samples', 'disk-full.log')]],
  [['--format', 'html', join(ROOT, 'samples', 'hung-task.log')]],
  [['timeline', join(ROOT, 'samples', 'hung-task.log')]],
  [['rules', 'list']],
  [['explain', 'hung-task']],
  [['--help']],
  [['--version']],
  [['no-such-command']],
  [['--format', 'nagios', '--since', 'yesterday-ish', '-'], SAMPLE],
];

const trace = (r: Loaded) => r.stderr.split('\n').filter((l) => l.startsWith('xendoctor: start-up: '));
const without = (r: Loaded) =>
  r.stderr
    .split('\n')
    .filter((l) => !l.startsWith('xendoctor: start-up: '))
    .join('\n');

describe('start-up from the bundle with its code cache', () => {
  it('a run loads the launcher and the bundle, no module of dist/ else, and prints what the modules print', async () => {
    await loaded([], SAMPLE); // the code cache of these node options, written when there is none yet
    for (const [args, input] of SAME) {
      const bundled = await loaded(args, input, 'trace');
      const plain = await loaded(args, input, 'plain');
      expect(trace(bundled)[0], args.join(' ')).toMatch(/^xendoctor: start-up: bundle, code cache /);
      // no ES module at all: the launcher is dist/fast-start.cjs, required by the CommonJS bin/xendoctor.js
      expect(bundled.modules.filter((m) => m.startsWith('dist/') || m.startsWith('node_modules/'))).toEqual([]);
      expect(trace(bundled)).toContain('xendoctor: start-up: launcher: dist/fast-start.cjs');
      expect(plain.modules).toContain('dist/cli/main.js');
      expect({ code: bundled.code, stdout: bundled.stdout, stderr: without(bundled) }, args.join(' ')).toEqual({
        code: plain.code,
        stdout: plain.stdout,
        stderr: plain.stderr,
      });
    }
  }, 480_000); // 22 runs: 174 s at load 16 on 2 cores

  it('a scan split across a worker thread starts the bundled worker (dist/scan-worker.cjs): no module of dist/, the same output', async () => {
    // 20,000 filler lines and a filesystem gone read-only, scanned as byte ranges with one worker thread beside the
    // main one (the small thresholds of test/workers.test.ts)
    const log = join(dir, 'kern-worker.log');
    const at = (i: number) =>
      `Nov 20 08:${String(Math.floor(i / 60) % 60).padStart(2, '0')}:${String(i % 60).padStart(2, '0')} xen07 kernel`;
    const lines = Array.from({ length: 20_000 }, (_, i) => `${at(i)}: [${i}.0] e1000e: eth9 NIC statistics ${i} rx 0 tx 0 ok`);
    lines.push(`${at(20_000)}: [20000.0] EXT4-fs error (device sdd1): ext4_journal_check_start:83: Detected aborted journal`);
    lines.push(`${at(20_001)}: [20001.0] EXT4-fs (sdd1): Remounting filesystem read-only`);
    writeFileSync(log, `${lines.join('\n')}\n`);
    const env = {
      XENDOCTOR_WORKERS: '1',
      XENDOCTOR_TRACE_JOBS: '1',
      XENDOCTOR_WORKER_MIN: '100000',
      XENDOCTOR_SPLIT_MIN: '200000',
      XENDOCTOR_SEGMENT: '300000',
    };
    const args = ['--format', 'json', log];
    await loaded([], SAMPLE); // the code cache of these node options (its writer loads dist/state/atomic.js)
    const bundled = await loaded(args, undefined, 'trace', ROOT, { env });
    const plain = await loaded(args, undefined, 'plain', ROOT, { env });
    for (const r of [bundled, plain]) expect(r.stderr).toMatch(/^xendoctor: job bytes \d+-\d+ on a worker thread$/m);
    expect(trace(bundled)).toContain('xendoctor: start-up: worker thread: dist/scan-worker.cjs');
    // the worker's own file only (with --import, node starts a thread's file through the module loader)
    expect(bundled.modules.filter((m) => m.startsWith('dist/') || m.startsWith('node_modules/'))).toEqual(['dist/scan-worker.cjs']);
    // the hook sees the worker thread's modules too: from dist/'s modules the worker is dist/workers/scan-worker.js
    expect(plain.modules).toContain('dist/workers/scan-worker.js');
    expect(JSON.parse(bundled.stdout).findings.length).toBeGreaterThan(0);
    expect({ code: bundled.code, stdout: bundled.stdout }).toEqual({ code: plain.code, stdout: plain.stdout });
  });

  it('the second run of the same node options uses the code cache the first one wrote', async () => {
    // node options of their own: a cache file of their own (the key), written by the first run
    const args = ['--import', join(dir, 'register.mjs'), '--stack-size=900'];
    const run = () =>
      spawnSync(process.execPath, [...args, BIN], {
        input: SAMPLE,
        env: { ...process.env, TZ: 'UTC', XENDOCTOR_STARTUP: 'trace', XD_LOADED: join(dir, 'ignored.txt'), NODE_V8_COVERAGE: '' },
      });
    delete process.env.NODE_V8_COVERAGE;
    const first = String(run().stderr);
    const file = /code cache (\S+): /.exec(first)?.[1];
    expect(file).toMatch(/dist\/xendoctor\.cjs-[0-9a-f]{8}\.v8cache$/);
    rmSync(file!, { force: true });
    expect(String(run().stderr)).toContain(`code cache written: ${file}`);
    expect(statSync(file!).mode & 0o777).toBe(0o644);
    expect(String(run().stderr)).toContain(`code cache ${file}: accepted`);
  });
});

/** A copy of the built package (bin, dist without code caches, rules) in a folder of its own. */
function copyPackage(): string {
  const root = join(tmp('xd-startup-pkg-'), 'xendoctor');
  // timestamps kept: a copy is as fresh as its original
  for (const d of ['bin', 'dist', 'rules'])
    cpSync(join(ROOT, d), join(root, d), { recursive: true, preserveTimestamps: true, filter: (f) => !f.endsWith('.v8cache') });
  cpSync(join(ROOT, 'package.json'), join(root, 'package.json'), { preserveTimestamps: true });
  symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'));
  chmodSync(join(root, '..'), 0o755);
  return root;
}

describe('start-up falls back safely (a copy of the package)', () => {
  let root: string;
  beforeAll(() => {
    root = copyPackage();
  });
  const cacheOf = (r: Loaded) => /code cache (\S+): /.exec(r.stderr)?.[1];
  const expected = () => loaded([], SAMPLE, 'plain');

  it('an untrusted cache is ignored and replaced; a cache V8 refuses is replaced; a stale header is not used', async () => {
    const first = await loaded([], SAMPLE, 'trace', root);
    const file = cacheOf(first)!;
    expect(file.startsWith(join(root, 'dist'))).toBe(true);
    expect(trace(first)).toContain(`xendoctor: start-up: code cache written: ${file}`);
    expect(trace(await loaded([], SAMPLE, 'trace', root))).toContain(`xendoctor: start-up: bundle, code cache ${file}: accepted`);

    // writable by others: whoever could write it could run code as the next user
    chmodSync(file, 0o666);
    const loose = await loaded([], SAMPLE, 'trace', root);
    expect(trace(loose)[0]).toBe(`xendoctor: start-up: bundle, code cache ${file}: writable by others (mode 666): ignored`);
    expect(loose.stdout).toBe((await expected()).stdout);
    expect(statSync(file).mode & 0o777).toBe(0o644); // written again, by this user

    // data V8 does not take (right header, wrong code): compiled from the source, written again
    const header = readFileSync(file, 'latin1').split('\n')[0]!;
    writeFileSync(file, `${header}\n${'x'.repeat(4096)}`, { mode: 0o644 });
    const refused = await loaded([], SAMPLE, 'trace', root);
    expect(trace(refused)[0]).toBe(`xendoctor: start-up: bundle, code cache ${file}: refused by V8`);
    expect(refused.stdout).toBe((await expected()).stdout);
    expect(trace(await loaded([], SAMPLE, 'trace', root))[0]).toMatch(/: accepted$/);

    // made from another bundle (its header): not given to V8 at all
    writeFileSync(file, readFileSync(file, 'latin1').replace(/^xendoctor code cache \d+/, 'xendoctor code cache 1'), {
      encoding: 'latin1',
      mode: 0o644,
    });
    expect(trace(await loaded([], SAMPLE, 'trace', root))[0]).toMatch(/: stale$/);

    if (process.getuid?.() === 0) {
      // another user's file, even of mode 0644: ignored
      chownSync(file, 65534, 65534);
      const foreign = await loaded([], SAMPLE, 'trace', root);
      expect(trace(foreign)[0]).toBe(`xendoctor: start-up: bundle, code cache ${file}: owned by uid 65534: ignored`);
      expect(statSync(file).uid).toBe(0);
    }
  });

  it('without the CommonJS launcher (dist/fast-start.cjs) the ES module one starts the bundle, with the same output', async () => {
    const copy = join(root, 'dist', 'fast-start.cjs');
    const saved = readFileSync(copy);
    rmSync(copy);
    try {
      const r = await loaded([], SAMPLE, 'trace', root);
      expect(trace(r)).toContain('xendoctor: start-up: launcher: dist/cli/fast-start.js');
      // the launcher as a module, and then the bundle, not dist/'s modules (the code cache's writer may follow)
      expect(r.modules.filter((m) => m.startsWith('dist/'))[0]).toBe('dist/cli/fast-start.js');
      expect(r.modules).not.toContain('dist/cli/main.js');
      expect({ code: r.code, stdout: r.stdout }).toEqual({ code: (await expected()).code, stdout: (await expected()).stdout });
    } finally {
      writeFileSync(copy, saved);
    }
  });

  it('a user who cannot write the installation runs from the bundle without a cache, and without a word', async () => {
    const asOther: SpawnOptions = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : (chmodSync(join(root, 'dist'), 0o555), {});
    try {
      for (const f of readdirSync(join(root, 'dist'))) if (f.endsWith('.v8cache')) rmSync(join(root, 'dist', f));
      const r = await loaded(['--format', 'json', '-'], SAMPLE, 'trace', root, asOther);
      expect(trace(r)[0]).toMatch(/^xendoctor: start-up: bundle, code cache \S+: none$/);
      expect(trace(r)[1]).toBe('xendoctor: start-up: launcher: dist/fast-start.cjs');
      expect(trace(r)[2]).toMatch(/^xendoctor: start-up: code cache not written: /);
      const plain = await loaded(['--format', 'json', '-'], SAMPLE, 'plain');
      expect({ code: r.code, stdout: r.stdout, stderr: without(r) }).toEqual({
        code: plain.code,
        stdout: plain.stdout,
        stderr: plain.stderr,
      });
      expect(readdirSync(join(root, 'dist')).filter((f) => f.endsWith('.v8cache'))).toEqual([]);
    } finally {
      chmodSync(join(root, 'dist'), 0o755);
    }
  });

  it('a dist/ module newer than the bundle in a checkout (tsc since the build) runs the modules; installed, times do not count, sizes do', async () => {
    const engine = join(root, 'dist', 'engine', 'engine.js');
    const later = new Date(statSync(join(root, 'dist', 'xendoctor.cjs')).mtimeMs + 5000);
    utimesSync(engine, later, later);
    mkdirSync(join(root, 'src')); // a checkout: the sources beside dist/
    const r = await loaded([], SAMPLE, 'trace', root);
    expect(trace(r)[0]).toBe('xendoctor: start-up: modules (bundle not used: dist/engine/engine.js changed since the bundle was built)');
    expect(r.modules).toContain('dist/engine/engine.js');
    expect(r.stdout).toBe((await expected()).stdout);
    // an installed package (no src/): unpacked in any order, at any time
    rmSync(join(root, 'src'), { recursive: true });
    expect(trace(await loaded([], SAMPLE, 'trace', root))[0]).toMatch(/^xendoctor: start-up: bundle, /);
    // ... but a file of another size is another build
    writeFileSync(engine, `${readFileSync(engine, 'utf8')}\n`);
    expect(trace(await loaded([], SAMPLE, 'trace', root))[0]).toBe(
      'xendoctor: start-up: modules (bundle not used: dist/engine/engine.js changed since the bundle was built)',
    );
    writeFileSync(engine, readFileSync(join(ROOT, 'dist', 'engine', 'engine.js')));
    utimesSync(
      engine,
      statSync(join(ROOT, 'dist', 'engine', 'engine.js')).mtime,
      statSync(join(ROOT, 'dist', 'engine', 'engine.js')).mtime,
    );
    expect(trace(await loaded([], SAMPLE, 'trace', root))[0]).toMatch(/^xendoctor: start-up: bundle, /);
    // the bundle's pool starts dist/scan-worker.cjs: without it, or with another one, the modules
    const worker = join(root, 'dist', 'scan-worker.cjs');
    const saved = readFileSync(worker);
    rmSync(worker);
    expect(trace(await loaded([], SAMPLE, 'trace', root))[0]).toBe(
      'xendoctor: start-up: modules (bundle not used: dist/scan-worker.cjs is gone)',
    );
    writeFileSync(worker, Buffer.concat([saved, Buffer.from('\n')]));
    expect(trace(await loaded([], SAMPLE, 'trace', root))[0]).toBe(
      'xendoctor: start-up: modules (bundle not used: dist/scan-worker.cjs changed since the bundle was built)',
    );
    // no bundle at all: the modules
    rmSync(join(root, 'dist', 'xendoctor.cjs'));
    expect(trace(await loaded([], SAMPLE, 'trace', root))[0]).toBe('xendoctor: start-up: modules (no bundle (dist/xendoctor.cjs))');
  });
});

describe('code caches beside the bundle', () => {
  it('are at most four: a run that writes one removes the least recently written others', async () => {
    const root = copyPackage();
    const dist = join(root, 'dist');
    const old = ['0000000a', '0000000b', '0000000c', '0000000d', '0000000e'].map((k, i) => {
      const f = join(dist, `xendoctor.cjs-${k}.v8cache`);
      writeFileSync(f, 'xendoctor code cache 0 0 0\n', { mode: 0o644 });
      utimesSync(f, 1_000_000 + i, 1_000_000 + i); // a is the oldest, e the newest
      return f;
    });
    const r = await loaded([], SAMPLE, 'trace', root);
    const written = /code cache written: (\S+)/.exec(r.stderr)?.[1];
    expect(written).toBeDefined();
    const left = readdirSync(dist)
      .filter((f) => f.endsWith('.v8cache'))
      .map((f) => join(dist, f))
      .sort();
    expect(left).toEqual([written!, old[2]!, old[3]!, old[4]!].sort());
    expect(r.stdout).toBe((await loaded([], SAMPLE, 'plain')).stdout);
  });
});

describe('the catalogue cache answers the rules and their prefilter literals', () => {
  it("holds each rule's literals as its patterns give them, and a run takes them from it", async () => {
    const root = copyPackage();
    const hung = join(ROOT, 'samples', 'hung-task.log');
    const rules = (r: Loaded) => (JSON.parse(r.stdout) as { findings: { rule: string }[] }).findings.map((f) => f.rule);
    // the first run writes the copy's cache (its rule files' times are the copy's)
    expect(rules(await loaded(['--format', 'json', hung], undefined, undefined, root))).toContain('hung-task');
    const file = join(root, 'dist', 'catalogue-cache.json');
    const cache = JSON.parse(readFileSync(file, 'utf8')) as { format: number; specs: RuleSpec[]; literals: (string[] | null)[] };
    expect(cache.format).toBe(2);
    expect(cache.literals.length).toBe(cache.specs.length);
    cache.specs.forEach((spec, i) => expect(cache.literals[i], spec.id).toEqual(compileRule(spec, `${spec.id}.yaml`, [])!.literals));

    // literals no line holds: the rule never sees its lines (so they come from the cache, not the patterns)
    const i = cache.specs.findIndex((s) => s.id === 'hung-task');
    writeFileSync(file, JSON.stringify({ ...cache, literals: cache.literals.map((l, j) => (j === i ? ['no line holds this'] : l)) }));
    expect(rules(await loaded(['--format', 'json', hung], undefined, undefined, root))).not.toContain('hung-task');

    // a cache of the format before (no literals): the files are read again and the cache written again
    writeFileSync(file, JSON.stringify({ stamp: (cache as unknown as { stamp: unknown }).stamp, specs: cache.specs }));
    expect(rules(await loaded(['--format', 'json', hung], undefined, undefined, root))).toContain('hung-task');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(cache);

    // a fresh-looking cache with a spec that does not compile: the files are read, and the cache's
    // problem is not told as the rule files' (it made every run exit 3 before)
    writeFileSync(file, JSON.stringify({ ...cache, specs: cache.specs.map((s, j) => (j === i ? { ...s, patterns: ['(unclosed'] } : s)) }));
    const broken = await loaded(['--format', 'json', hung], undefined, undefined, root);
    expect(broken.stderr).toBe('');
    expect(rules(broken)).toContain('hung-task');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(cache);

    // a rule file changed since the cache: its new text is read (the cache's stamp no longer fits)
    const ruleFile = join(root, 'rules', 'hung-task.yaml');
    writeFileSync(ruleFile, readFileSync(ruleFile, 'utf8').replace(/^title: .*$/m, 'title: "A task hung (changed)"'));
    const changed = await loaded(['--format', 'json', hung], undefined, undefined, root);
    const titles = (JSON.parse(changed.stdout) as { findings: { rule: string; title: string }[] }).findings;
    expect(titles.filter((f) => f.rule === 'hung-task').map((f) => f.title)).toContain('A task hung (changed)');
  });
});
