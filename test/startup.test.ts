/**
 * Start-up loads what the command uses (issue 19): the modules a run loads, seen through a module
 * loader hook (node --import), and the runs that need every command's definitions (help,
 * completion, options before the command word) still get them. No timing here: start-up time is
 * measured by `npm run bench -- --startup`.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, tmp } from './helpers.js';

let dir: string;
beforeAll(() => {
  dir = tmp('xd-startup-');
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

/** Run the binary; its exit code, output and the module files it loaded (relative to the project). */
function loaded(args: string[], input?: string): { code: number; stdout: string; modules: string[] } {
  const list = join(dir, `loaded-${Math.random().toString(36).slice(2)}.txt`);
  writeFileSync(list, '');
  const r = spawnSync(process.execPath, ['--import', join(dir, 'register.mjs'), BIN, ...args], {
    input,
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    env: { ...process.env, TZ: 'UTC', NO_COLOR: '1', XD_LOADED: list },
  });
  const modules = readFileSync(list, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((u) => decodeURIComponent(u.replace(/^file:\/\//, '')).replace(`${ROOT}/`, ''));
  return { code: r.status ?? -1, stdout: String(r.stdout), modules };
}

const SAMPLE = readFileSync(join(ROOT, 'samples', 'lab', 'toolstack', 'xl-dmesg.txt'), 'utf8');
// (scan reads --baseline through cli/prelude.js, not through the baseline command)
const OTHER_COMMANDS = ['rules', 'timeline', 'watch', 'check', 'report', 'ack', 'explain', 'baseline', 'completion'].map(
  (c) => `dist/cli/${c}.js`,
);

describe('start-up', () => {
  it('a piped scan loads its own command only: no other command module, no lunr, no glob library', () => {
    const r = loaded([], SAMPLE);
    expect([0, 1, 2]).toContain(r.code);
    expect(r.stdout).toContain('158 lines');
    expect(r.modules).toContain('dist/cli/scan.js');
    for (const m of OTHER_COMMANDS) expect(r.modules).not.toContain(m);
    expect(r.modules.filter((m) => /node_modules\/(lunr|tinyglobby|fdir|picomatch|nodemailer|ajv|yaml)\//.test(m))).toEqual([]);
  });

  it('`rules list` loads the rules command and not scan or watch', () => {
    const r = loaded(['rules', 'list']);
    expect(r.code).toBe(0);
    expect(r.modules).toContain('dist/cli/rules.js');
    expect(r.modules).not.toContain('dist/cli/watch.js');
    expect(r.modules).not.toContain('dist/cli/scan.js');
  });

  it('help, completion and options before the command word still see every command', () => {
    const help = loaded(['--help']);
    expect(help.code).toBe(0);
    for (const c of ['scan', 'rules', 'timeline', 'watch', 'check', 'report', 'ack', 'explain', 'baseline', 'completion'])
      expect(help.stdout).toMatch(new RegExp(`^  ${c}\\b`, 'm'));
    const complete = loaded(['__complete', '--', 'rul']);
    expect(complete.stdout.split('\n')).toContain('rules');
    const before = loaded(['--format', 'json', 'rules', 'list']);
    expect(before.code).toBe(0);
    expect(JSON.parse(before.stdout).rules.length).toBeGreaterThan(10);
    // an option of another command given to scan: commander's own error, as with every command loaded
    const other = loaded(['--smtp-host', 'x', '-']);
    expect(other.code).toBe(3);
  });
});
