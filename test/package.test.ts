/**
 * The package: `npm pack` (its prepack builds) from a copy of the sources, the tarball installed
 * globally into a temporary prefix as on a clean host, and the installed `xendoctor` run on its
 * bundled samples. The copy keeps the build out of the working tree's dist/, which other test files
 * run meanwhile; dependencies come from the npm cache or the registry.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { schemaProblems } from './output-schemas.js';
import { ROOT, tmp, turn } from './helpers.js';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  files: string[];
  engines: { node: string };
  bin: Record<string, string>;
  devDependencies: Record<string, string>;
  dependencies: Record<string, string>;
};

const work = tmp('xd-package-');
const checkout = join(work, 'checkout');
const prefix = join(work, 'prefix');
const installed = join(prefix, 'lib', 'node_modules', 'xendoctor');
const bin = join(prefix, 'bin', 'xendoctor');

/**
 * npm with the user's real cache (vitest gives the tests a throw-away HOME). Asynchronous: `npm pack`
 * builds (tsc, the index, the bundle), which beside busy loops takes minutes, and a test worker blocked
 * that long in a synchronous call misses vitest's 60 s answer to its last report (an unhandled
 * "Timeout calling onTaskUpdate" error fails the run even when every test passed).
 */
function npm(args: string[], cwd: string): Promise<string> {
  const cache = join(userInfo().homedir, '.npm');
  const child = spawn('npm', args, {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...(existsSync(cache) ? { npm_config_cache: cache } : {}), npm_config_update_notifier: 'false' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`npm ${args.join(' ')} failed (${code}):\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** Run the installed xendoctor as an operator would: a clean environment, no TTY. */
function run(args: string[], input?: string) {
  const r = spawnSync(bin, args, {
    input,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { PATH: process.env.PATH, HOME: join(work, 'home'), TZ: 'UTC', NO_COLOR: '1', LC_ALL: 'C' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let tarball = '';
let packed: string[] = [];

beforeAll(async () => {
  // a checkout: what git tracks for the package, without dist/ and its caches
  for (const x of [
    'bin',
    'src',
    'scripts',
    'rules',
    'samples',
    'contrib',
    'schemas',
    'docs',
    'package.json',
    'package-lock.json',
    'tsconfig.json',
    'README.md',
    'CHANGELOG.md',
  ])
    if (existsSync(join(ROOT, x))) cpSync(join(ROOT, x), join(checkout, x), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(checkout, 'node_modules'), 'dir');
  const out = await npm(['pack', '--json', '--pack-destination', work], checkout);
  // the prepack build prints before the JSON
  const info = JSON.parse(out.slice(out.indexOf('[\n'))) as { filename: string; files: { path: string }[] }[];
  tarball = join(work, info[0]!.filename);
  packed = info[0]!.files.map((f) => f.path);
  mkdirSync(join(work, 'home'));
  await npm(['install', '--global', '--prefix', prefix, tarball, '--prefer-offline', '--no-audit', '--no-fund'], work);
}, 600_000);

describe('npm pack', () => {
  it('is named after the version and holds the program, rules, articles, samples and contrib', () => {
    expect(tarball.endsWith(`xendoctor-${pkg.version}.tgz`)).toBe(true);
    for (const f of [
      'bin/xendoctor.js',
      'dist/cli/main.js',
      'dist/xendoctor.cjs',
      'dist/xendoctor.cjs.json',
      'dist/fast-start.cjs',
      'dist/scan-worker.cjs',
      'dist/kb-index.json',
      'rules/rule.schema.json',
      'rules/hung-task.yaml',
      'rules/benign/benign.yaml',
      'samples/hung-task.log',
      'contrib/cron.d/xendoctor',
      'contrib/systemd/xendoctor-watch.service',
      'contrib/systemd/xendoctor-report.service',
      'contrib/systemd/xendoctor-report.timer',
      'schemas/finding.schema.json',
      'schemas/scan.schema.json',
      'schemas/timeline.schema.json',
      'schemas/report.schema.json',
      'schemas/check.schema.json',
      'docs/report-format.md',
      'contrib/prometheus/xendoctor.rules.yml',
      'man/xendoctor.1',
      'man/xendoctor-rules.5',
      'completion/xendoctor.bash',
      'completion/_xendoctor',
      'completion/xendoctor.fish',
      'README.md',
      'package.json',
    ])
      expect(packed).toContain(f);
    for (const dir of ['rules/config/', 'rules/articles/'])
      if (existsSync(join(ROOT, dir))) expect(packed.some((p) => p.startsWith(dir))).toBe(true);
    // every rule with its sample
    for (const f of readdirSync(join(ROOT, 'rules')).filter((f) => f.endsWith('.yaml'))) {
      expect(packed).toContain(`rules/${f}`);
      expect(packed).toContain(`samples/${f.replace(/\.yaml$/, '.log')}`);
    }
  });

  it('leaves out sources, tests, benches, source maps and the caches written beside dist/ at run time', () => {
    expect(packed.filter((p) => /^(?:src|test|bench|node_modules|\.ci)\//.test(p) || p.endsWith('.map') || p.endsWith('.ts'))).toEqual([]);
    expect(packed).not.toContain('dist/catalogue-cache.json');
    expect(packed).not.toContain('dist/benign-cache.json');
    expect(packed.filter((p) => p.endsWith('.v8cache'))).toEqual([]);
  });

  it('declares Node.js 20, the bin, and no development package among the dependencies', () => {
    expect(pkg.engines.node).toBe('>=20');
    expect(pkg.bin).toEqual({ xendoctor: 'bin/xendoctor.js' });
    for (const d of Object.keys(pkg.dependencies))
      expect(d, `${d} is a dependency`).not.toMatch(/^@types\/|^(?:typescript|vitest|eslint|prettier)$/);
  });
});

describe('the installed package', () => {
  it('has no development dependency installed', () => {
    const mods = join(installed, 'node_modules');
    const present = (name: string) => existsSync(join(mods, name));
    for (const dev of [...Object.keys(pkg.devDependencies), 'vitest', 'typescript', 'eslint']) expect(present(dev), dev).toBe(false);
    for (const dep of Object.keys(pkg.dependencies))
      expect(present(dep) || existsSync(join(prefix, 'lib', 'node_modules', dep)), dep).toBe(true);
  });

  it('starts from its bundle (unpacked at any time, in any order: the sizes tell it is up to date)', () => {
    const r = spawnSync(bin, [], {
      input: '(XEN) Xen version 4.17.3\n',
      encoding: 'utf8',
      env: { PATH: process.env.PATH, HOME: join(work, 'home'), TZ: 'UTC', NO_COLOR: '1', XENDOCTOR_STARTUP: 'trace' },
    });
    expect(r.stderr).toMatch(/^xendoctor: start-up: bundle, code cache /m);
    expect(r.stdout).toContain('1 line');
  });

  it('prints its version and help with examples', () => {
    const v = run(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toBe(pkg.version);
    const h = run(['--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/Examples:\n {2}xl dmesg \| xendoctor/);
    for (const cmd of ['scan', 'report', 'watch', 'timeline', 'rules', 'explain', 'check']) expect(h.stdout).toContain(`  ${cmd}`);
  });

  it('diagnoses its bundled samples: findings, exit code 2', () => {
    const r = run(['--format', 'json', '--quiet', join(installed, 'samples')]);
    expect(r.stderr).not.toMatch(/internal error|Cannot find (?:module|package)/);
    expect(r.code).toBe(2);
    const doc = JSON.parse(r.stdout) as { version: string; findings: { rule: string }[] };
    expect(doc.version).toBe(pkg.version);
    // the document follows the JSON Schema the package ships
    expect(schemaProblems('scan', doc, join(installed, 'schemas'))).toBe('');
    const rules = new Set(doc.findings.map((f) => f.rule));
    for (const id of ['blkback-hung-task', 'dom0-oom-killer', 'xen-panic', 'disk-full']) expect(rules).toContain(id);
    // and from stdin, as in `xl dmesg | xendoctor`
    const p = run([], readFileSync(join(installed, 'samples', 'xen-panic.log'), 'utf8'));
    expect(p.code).toBe(2);
    expect(p.stdout).toContain('[xen-panic]');
  });

  it('passes its own rule tests and searches its knowledge base from the index built into dist/', async () => {
    const t = run(['rules', 'test']);
    expect(t.stderr).toBe('');
    expect(t.code).toBe(0);
    await turn(); // (two long runs: the worker's loop turns between them, test/setup/stall.ts)
    const index = join(installed, 'dist', 'kb-index.json');
    const before = statSync(index).mtimeMs;
    const e = run(['explain', '--format', 'json', 'page', 'allocation', 'failure']);
    expect(e.code).toBe(0);
    expect((JSON.parse(e.stdout) as { results: { id: string }[] }).results[0]!.id).toBe('dom0-page-allocation-failure');
    // the shipped index is current where it was installed: read, not rebuilt
    expect(statSync(index).mtimeMs).toBe(before);
  });

  it('man xendoctor and man 5 xendoctor-rules work from the prefix npm installed into', () => {
    for (const [section, page, title] of [
      ['1', 'xendoctor', 'XENDOCTOR(1)'],
      ['5', 'xendoctor-rules', 'XENDOCTOR-RULES(5)'],
    ] as const) {
      expect(existsSync(join(prefix, 'share', 'man', `man${section}`, `${page}.${section}`)), `${page}.${section} linked`).toBe(true);
      const r = spawnSync('man', ['-M', join(prefix, 'share', 'man'), section, page], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH, MANPAGER: 'cat', PAGER: 'cat', MANWIDTH: '100', LC_ALL: 'C.UTF-8' },
      });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.replace(/.\x08/g, '')).toContain(title);
    }
  });

  it('ships completion scripts equal to what `xendoctor completion SHELL` prints, and the Prometheus rules', () => {
    for (const [shell, file] of [
      ['bash', 'xendoctor.bash'],
      ['zsh', '_xendoctor'],
      ['fish', 'xendoctor.fish'],
    ])
      expect(readFileSync(join(installed, 'completion', file), 'utf8')).toBe(run(['completion', shell]).stdout);
    const complete = run(['__complete', '--', '--format', '']);
    expect(complete.stdout.split('\n')).toContain('nagios');
    const r = spawnSync('promtool', ['check', 'rules', join(installed, 'contrib', 'prometheus', 'xendoctor.rules.yml')], {
      encoding: 'utf8',
    });
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  it('contrib: the cron file and the units use options the commands have', () => {
    const help = (cmd: string) => run([cmd, '--help']).stdout;
    const lines = [
      ...readFileSync(join(installed, 'contrib', 'cron.d', 'xendoctor'), 'utf8')
        .split('\n')
        .filter((l) => /^[\d*]/.test(l)),
      ...readdirSync(join(installed, 'contrib', 'systemd')).flatMap((f) =>
        readFileSync(join(installed, 'contrib', 'systemd', f), 'utf8')
          .split('\n')
          .filter((l) => /^#?ExecStart=/.test(l)),
      ),
    ];
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const l of lines) {
      const cmd = /xendoctor (\w+)/.exec(l)![1]!;
      const h = help(cmd);
      for (const o of l.match(/--[a-z-]+/g) ?? []) expect(h, `${o} in "${l}"`).toContain(o);
      if (cmd === 'report') expect(l).toContain('--state /var/lib/xendoctor/state.json');
    }
  });

  it.runIf(spawnSync('systemd-analyze', ['--version']).status === 0)('contrib: systemd finds nothing wrong in the units', () => {
    const dir = join(work, 'units');
    mkdirSync(dir);
    const units = readdirSync(join(installed, 'contrib', 'systemd'));
    for (const u of units)
      writeFileSync(
        join(dir, u),
        readFileSync(join(installed, 'contrib', 'systemd', u), 'utf8').replaceAll('/usr/local/bin/xendoctor', bin),
      );
    const r = spawnSync('systemd-analyze', ['verify', ...units.map((u) => join(dir, u))], { encoding: 'utf8' });
    const out = `${r.stdout}${r.stderr}`;
    expect(out).not.toMatch(/Unknown (?:key|section)|Failed to parse|Invalid|not executable|bad-setting/i);
  });
});
