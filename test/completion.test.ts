/**
 * Shell completion driven through the real shells: bash (with bash-completion loaded, as an
 * interactive shell has it) calls the function `complete -p` names with COMP_WORDS set as readline
 * would; fish answers `complete -C`; zsh loads the script under compinit. The program is the
 * installed-like `xendoctor` on PATH.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, tmp, xd } from './helpers.js';
import { xdAsync } from './report-helpers.js';

const pathDir = tmp('xd-completion-bin-');
symlinkSync(BIN, join(pathDir, 'xendoctor'));
const env = { ...process.env, PATH: `${pathDir}:${process.env.PATH ?? ''}`, HOME: tmp('xd-completion-home-') };

/** A folder with a few files, where the completion runs. */
const cwd = tmp('xd-completion-cwd-');
writeFileSync(join(cwd, 'kern.log'), '');
writeFileSync(join(cwd, 'kern.log.1'), '');
mkdirSync(join(cwd, 'xen'));
writeFileSync(join(cwd, 'xen', 'xl-xen07.log'), '');

/** Run a shell (asynchronously: a test of many runs must not block vitest's worker). */
function shell(cmd: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (e) => reject(new Error(`${cmd} is needed (Debian package ${cmd}): ${e.message}`)));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

/** What bash offers for `line` (the cursor at its end), through the function registered with `complete`. */
async function bash(line: string): Promise<string[]> {
  const script = `
[ -r /usr/share/bash-completion/bash_completion ] || { echo "bash-completion (Debian package) is needed" >&2; exit 9; }
. /usr/share/bash-completion/bash_completion
source <(xendoctor completion bash)
fn=$(complete -p xendoctor | sed -n 's/.*-F \\([^ ]*\\) .*/\\1/p')
[ -n "$fn" ] || { echo "no completion function registered" >&2; exit 8; }
COMP_LINE=$1; COMP_POINT=\${#COMP_LINE}
read -ra COMP_WORDS <<< "$COMP_LINE"
[[ $COMP_LINE == *' ' ]] && COMP_WORDS+=('')
COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 ))
"$fn" xendoctor "\${COMP_WORDS[COMP_CWORD]}" "\${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\\n' "\${COMPREPLY[@]}"
`;
  const r = await shell('bash', ['--norc', '--noprofile', '-c', script, 'bash', line]);
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.split('\n').filter(Boolean).sort();
}

const ruleIds = (JSON.parse(xd(['rules', 'list', '--format', 'json']).stdout) as { rules: { id: string }[] }).rules.map((r) => r.id);

describe('bash completion', () => {
  it('completes commands, then options of the command', async () => {
    const top = await bash('xendoctor ');
    for (const c of ['scan', 'watch', 'report', 'check', 'timeline', 'rules', 'completion', 'explain']) expect(top).toContain(c);
    expect(top).not.toContain('__complete');
    expect(await bash('xendoctor rep')).toEqual(['report']);
    expect(await bash('xendoctor --for')).toEqual(['--format']);
    expect(await bash('xendoctor watch --alert')).toEqual([
      '--alert-resolve',
      '--alertmanager',
      '--alertmanager-ca',
      '--alertmanager-insecure',
      '--alertmanager-token-file',
    ]);
    expect(await bash('xendoctor rules ')).toEqual(['help', 'list', 'show', 'test']);
  });

  it('completes option values: formats, severities, rule ids (also in a comma list), time zones, shells', async () => {
    expect(await bash('xendoctor --format ')).toEqual(['email', 'html', 'json', 'markdown', 'nagios', 'ndjson', 'prometheus', 'text']);
    expect(await bash('xendoctor scan --min-severity e')).toEqual(['error']);
    expect(await bash('xendoctor report --fail-on ')).toEqual(['critical', 'error', 'info', 'warning']);
    expect(await bash('xendoctor --only xen-')).toEqual(ruleIds.filter((id) => id.startsWith('xen-')).sort());
    expect(await bash('xendoctor --exclude xen-panic,blkback-h')).toEqual(['xen-panic,blkback-hung-task']);
    expect(await bash('xendoctor rules show blkback-h')).toEqual(['blkback-hung-task']);
    expect(await bash('xendoctor --tz Europe/Berl')).toEqual(['Europe/Berlin']);
    expect(await bash('xendoctor timeline --tz ')).toContain('UTC');
    expect(await bash('xendoctor completion ')).toEqual(['bash', 'fish', 'zsh']);
    // check's ids are the configuration rules, not the log rules
    const checkIds = await bash('xendoctor check --only ');
    expect(checkIds.length).toBeGreaterThan(3);
    expect(checkIds).not.toContain('xen-panic');
  });

  it('completes files where a command takes paths, and for file options', async () => {
    expect(await bash('xendoctor ')).toEqual(expect.arrayContaining(['kern.log', 'kern.log.1', 'xen']));
    expect(await bash('xendoctor scan kern')).toEqual(['kern.log', 'kern.log.1']);
    expect(await bash('xendoctor watch xen/')).toEqual(['xen/xl-xen07.log']);
    expect(await bash('xendoctor report --state ker')).toEqual(['kern.log', 'kern.log.1']);
    expect(await bash('xendoctor check --root ')).toEqual(['xen']);
    // where a value is no file, no file is offered
    expect(await bash('xendoctor --format ')).not.toContain('kern.log');
  });

  it('offers every option each command --help lists', async () => {
    const missing: string[] = [];
    for (const cmd of ['scan', 'watch', 'report', 'check', 'timeline', 'explain', 'ack']) {
      const help = (await xdAsync([cmd, '--help'])).stdout;
      const offered = new Set(await bash(`xendoctor ${cmd} --`));
      for (const m of help.matchAll(/^ {2}(?:-\w, )?(--[\w-]+)/gm)) if (!offered.has(m[1]!)) missing.push(`${cmd} ${m[1]}`);
    }
    expect(missing).toEqual([]);
  });
});

describe('fish and zsh completion', () => {
  it('fish: complete -C answers from the script', async () => {
    const r = await shell('fish', [
      '--no-config',
      '-c',
      "xendoctor completion fish | source; complete -C'xendoctor --format na'; complete -C'xendoctor --tz Europe/Berl'; complete -C'xendoctor scan kern.'",
    ]);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.split('\n').map((l) => l.split('\t')[0]);
    expect(lines).toEqual(expect.arrayContaining(['nagios', 'Europe/Berlin', 'kern.log.1']));
  });

  it('zsh: the script loads under compinit and registers _xendoctor', async () => {
    const r = await shell('zsh', [
      '-f',
      '-c',
      'autoload -U compinit && compinit -u -d "$HOME/.zcompdump" && source <(xendoctor completion zsh) && print -r -- $_comps[xendoctor]',
    ]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('_xendoctor');
  });
});
