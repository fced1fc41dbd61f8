/**
 * Shell completion for bash, zsh and fish. `xendoctor completion SHELL` prints a thin script that
 * asks the program itself (`xendoctor __complete -- WORDS… CURRENT`) what fits where the cursor is:
 * commands, options, option values (formats and levels from the option's choices, rule ids from
 * the catalogue, IANA time zones, durations) — or that the shell should complete files or folders.
 * The answers come from the commander definitions, so completion cannot drift from `--help`.
 */
import { Argument, Command, type Option } from 'commander';
import { CliError } from '../errors.js';
import { loadCatalogue } from '../engine/catalogue.js';
import { configRuleIds } from '../check/index.js';
import type { Io } from '../io.js';

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

/** What the shell should add to the candidates: files, folders, or nothing. */
export type Directive = 'files' | 'dirs' | 'none';

export interface Completion {
  candidates: string[];
  directive: Directive;
}

const DURATIONS = ['30m', '1h', '6h', '24h', '7d'];

/** The value an option takes, by the name of its argument and the option. */
function valueKind(o: Option): 'files' | 'dirs' | 'rules' | 'zones' | 'durations' | 'none' {
  const arg = /<([^>]+)>/.exec(o.flags)?.[1] ?? '';
  if (o.long === '--only' || o.long === '--exclude') return 'rules';
  if (o.long === '--tz') return 'zones';
  if (arg === 'dir' || o.long === '--root') return 'dirs';
  if (arg === 'file' || arg === 'path') return 'files';
  if (arg === 'duration' || arg === 'time') return 'durations';
  return 'none';
}

function takesValue(o: Option): boolean {
  return o.required || o.optional;
}

/** Options of a command and of the commands above it that apply to it (the root's --help, --version). */
function visibleOptions(cmd: Command): Option[] {
  const help = cmd.createHelp();
  return help.visibleOptions(cmd);
}

function findOption(cmd: Command, word: string): Option | undefined {
  const flag = word.split('=')[0]!;
  for (let c: Command | null = cmd; c; c = c.parent) {
    const o = c.options.find((x) => x.long === flag || x.short === flag);
    if (o) return o;
  }
  return undefined;
}

function subcommand(cmd: Command, name: string): Command | undefined {
  return cmd.commands.find((c) => c.name() === name || c.aliases().includes(name));
}

function defaultCommand(cmd: Command): Command | undefined {
  const name = (cmd as unknown as { _defaultCommandName?: string })._defaultCommandName;
  return name ? subcommand(cmd, name) : undefined;
}

function ruleIds(cmd: Command, extraDirs: string[]): string[] {
  if (cmd.name() === 'check') return configRuleIds();
  try {
    return loadCatalogue({ extraDirs }).map((r) => r.id);
  } catch {
    // a broken site rule folder: still complete the bundled ids
    return loadCatalogue().map((r) => r.id);
  }
}

/**
 * What fits as the last word of `words` (the words after `xendoctor`; the last one is the word
 * under the cursor, maybe empty). Candidates are already filtered by that word.
 */
export function complete(root: Command, words: string[]): Completion {
  // bash splits --opt=value at "=" (COMP_WORDBREAKS): join them back
  const w: string[] = [];
  for (let i = 0; i < words.length; i++) {
    if (words[i] === '=' && w.length && w[w.length - 1]!.startsWith('--')) {
      w[w.length - 1] += `=${i + 1 < words.length ? words[++i]! : ''}`;
    } else if (words[i]!.startsWith('=') && w.length && w[w.length - 1]!.startsWith('--') && !w[w.length - 1]!.includes('=')) {
      w[w.length - 1] += words[i]!;
    } else w.push(words[i]!);
  }
  const cur = w.pop() ?? '';
  let cmd = root;
  let positional = 0;
  let expecting: Option | null = null;
  const extraRules: string[] = [];
  let dashdash = false;
  for (const word of w) {
    if (expecting) {
      if (expecting.long === '--rules') extraRules.push(word);
      expecting = null;
      continue;
    }
    if (!dashdash && word === '--') {
      dashdash = true;
      continue;
    }
    if (!dashdash && word.startsWith('-') && word !== '-') {
      const o = findOption(cmd, word) ?? (cmd === root ? findOption(defaultCommand(root) ?? root, word) : undefined);
      if (o && cmd === root && !root.options.includes(o)) cmd = defaultCommand(root) ?? root;
      if (o && takesValue(o) && !word.includes('=')) expecting = o;
      else if (o?.long === '--rules' && word.includes('=')) extraRules.push(word.slice(word.indexOf('=') + 1));
      continue;
    }
    const sub = positional === 0 ? subcommand(cmd, word) : undefined;
    if (sub) {
      cmd = sub;
      continue;
    }
    if (cmd === root && defaultCommand(root)) cmd = defaultCommand(root)!;
    positional++;
  }
  const starts = (list: string[], prefix = cur) => list.filter((c) => c.startsWith(prefix));

  // --opt=value in one word
  const eq = /^(--[^=]+)=(.*)$/.exec(cur);
  if (eq && !expecting) {
    const o = findOption(cmd, eq[1]!) ?? findOption(defaultCommand(root) ?? root, eq[1]!);
    if (o && takesValue(o)) {
      const v = values(o, eq[2]!, cmd, extraRules);
      return { candidates: v.candidates.map((c) => `${eq[1]}=${c}`), directive: v.directive };
    }
  }
  if (expecting) return values(expecting, cur, cmd, extraRules);

  if (cur.startsWith('-') && !dashdash) {
    const scope = cmd === root && defaultCommand(root) ? [root, defaultCommand(root)!] : [cmd];
    const flags = new Set<string>();
    for (const c of scope) for (const o of visibleOptions(c)) if (o.long) flags.add(o.long);
    return { candidates: starts([...flags].sort()), directive: 'none' };
  }
  const help = cmd.createHelp();
  const subs = positional === 0 ? help.visibleCommands(cmd).map((c) => c.name()) : [];
  const target = cmd === root && defaultCommand(root) ? defaultCommand(root)! : cmd;
  const args = target.registeredArguments;
  const arg: Argument | undefined = args[Math.min(positional, args.length - 1)];
  if (!arg || (positional >= args.length && !arg.variadic)) return { candidates: starts(subs), directive: 'none' };
  const name = arg.name();
  if (arg.argChoices) return { candidates: starts([...subs, ...arg.argChoices]), directive: 'none' };
  if (name === 'id' || (name === 'ids' && target.name() !== 'ack'))
    return { candidates: starts([...subs, ...ruleIds(target, extraRules)]), directive: 'none' };
  if (name === 'paths' || name === 'dir' || name === 'file')
    return { candidates: starts(subs), directive: name === 'dir' ? 'dirs' : 'files' };
  return { candidates: starts(subs), directive: 'none' };
}

function values(o: Option, cur: string, cmd: Command, extraRules: string[]): Completion {
  const starts = (list: string[]) => list.filter((c) => c.startsWith(cur));
  if (o.argChoices) return { candidates: starts(o.argChoices), directive: 'none' };
  switch (valueKind(o)) {
    case 'rules': {
      // a comma-separated list: complete its last item
      const head = cur.slice(0, cur.lastIndexOf(',') + 1);
      const done = new Set(head.split(',').filter(Boolean));
      const tail = cur.slice(head.length);
      const ids = ruleIds(cmd, extraRules).filter((id) => !done.has(id) && id.startsWith(tail));
      return { candidates: ids.map((id) => head + id), directive: 'none' };
    }
    case 'zones':
      return { candidates: starts(['UTC', ...Intl.supportedValuesOf('timeZone').filter((z) => z !== 'UTC')]), directive: 'none' };
    case 'durations':
      return { candidates: starts(DURATIONS), directive: 'none' };
    case 'files':
      return { candidates: [], directive: 'files' };
    case 'dirs':
      return { candidates: [], directive: 'dirs' };
    default:
      return { candidates: [], directive: 'none' };
  }
}

/** The script for a shell: it runs `xendoctor __complete` and turns its answer into the shell's completions. */
export function completionScript(shell: Shell, prog = 'xendoctor'): string {
  switch (shell) {
    case 'bash':
      return `# bash completion for ${prog} (generated by \`${prog} completion bash\`)
# install: ${prog} completion bash > /etc/bash_completion.d/${prog}   (or ~/.local/share/bash-completion/completions/${prog})
_${prog}_complete() {
    local cur=\${COMP_WORDS[COMP_CWORD]} out directive IFS=$'\\n'
    out=$(command ${prog} __complete -- "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null) || return 0
    directive=\${out##*$'\\n'}
    [[ $out == *$'\\n'* ]] && out=\${out%$'\\n'*} || out=
    COMPREPLY=()
    [[ -n $out ]] && COMPREPLY=($out)
    case $directive in
        :files) compopt -o filenames 2>/dev/null; COMPREPLY+=($(compgen -f -- "$cur")) ;;
        :dirs) compopt -o filenames 2>/dev/null; COMPREPLY+=($(compgen -d -- "$cur")) ;;
        *) [[ \${#COMPREPLY[@]} -eq 1 && \${COMPREPLY[0]} == *[=,] ]] && compopt -o nospace 2>/dev/null ;;
    esac
    return 0
}
complete -F _${prog}_complete ${prog}
`;
    case 'zsh':
      return `#compdef ${prog}
# zsh completion for ${prog} (generated by \`${prog} completion zsh\`)
# install: ${prog} completion zsh > "\${fpath[1]}/_${prog}"   (or: source <(${prog} completion zsh))
_${prog}() {
    local -a out cands
    local directive
    out=("\${(@f)$(command ${prog} __complete -- "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
    directive=\${out[-1]}
    cands=("\${(@)out[1,-2]}")
    cands=(\${cands:#})
    (( \${#cands} )) && compadd -Q -- "\${cands[@]}"
    case $directive in
        :files) _files ;;
        :dirs) _files -/ ;;
    esac
}
if [[ $funcstack[1] == _${prog} ]]; then _${prog} "$@"; else compdef _${prog} ${prog}; fi
`;
    case 'fish':
      return `# fish completion for ${prog} (generated by \`${prog} completion fish\`)
# install: ${prog} completion fish > ~/.config/fish/completions/${prog}.fish
function __${prog}_complete
    set -l words (commandline -opc)
    set -l cur (commandline -ct)
    set -l out (command ${prog} __complete -- $words[2..-1] "$cur" 2>/dev/null)
    or return
    set -l directive $out[-1]
    set -e out[-1]
    for c in $out
        echo $c
    end
    switch $directive
        case :files
            __fish_complete_path "$cur"
        case :dirs
            __fish_complete_directories "$cur"
    end
end
complete -c ${prog} -f -a '(__${prog}_complete)'
`;
  }
}

/** Register `completion SHELL` and the hidden `__complete` the scripts call. */
export function registerCompletion(program: Command, io: Io): void {
  program
    .command('completion')
    .description('print the shell completion script for bash, zsh or fish')
    .addArgument(new Argument('<shell>', 'the shell').choices([...SHELLS]))
    .addHelpText(
      'after',
      `
Examples:
  source <(xendoctor completion bash)                            this bash session
  xendoctor completion bash > /etc/bash_completion.d/xendoctor   every bash session
  xendoctor completion zsh > "\${fpath[1]}/_xendoctor"            zsh (then compinit)
  xendoctor completion fish > ~/.config/fish/completions/xendoctor.fish`,
    )
    .action((shell: string) => {
      if (!(SHELLS as readonly string[]).includes(shell))
        throw new CliError(`completion: unknown shell "${shell}"`, 'give bash, zsh or fish');
      io.out(completionScript(shell as Shell));
    });
  program
    .command('__complete', { hidden: true })
    .description('answer a completion request of the shell scripts')
    .argument('[words...]')
    .allowUnknownOption()
    .helpOption(false)
    .action((words: string[]) => {
      const c = complete(program, words.length ? words : ['']);
      io.out([...c.candidates, `:${c.directive}`].join('\n') + '\n');
    });
}
