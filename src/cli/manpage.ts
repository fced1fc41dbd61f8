/**
 * The man pages, made from the one source of each: xendoctor(1) from the commander definitions
 * (the same option terms and descriptions `--help` prints, the same examples), xendoctor-rules(5)
 * from docs/rule-format.md. Written at build time by build-install-files.ts, so they cannot drift.
 */
import type { Command, Help, Option } from 'commander';

/** Escape text for roff: backslashes, hyphens of options, and a leading dot or quote. */
export function roff(text: string): string {
  return text
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .replace(/^([.'])/gm, '\\&$1')
    .replace(/[^\x00-\x7f]/gu, (c) => `\\[u${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}]`);
}

/** Inline Markdown (`code`, **bold**, *em*, [text](url)) to roff fonts. */
function inline(md: string): string {
  const parts: string[] = [];
  const re = /`([^`]+)`|\*\*([^*]+)\*\*|\[([^\]]+)\]\(([^)]+)\)|(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])/g;
  let last = 0;
  for (let m = re.exec(md); m; m = re.exec(md)) {
    parts.push(roff(md.slice(last, m.index)));
    if (m[1] !== undefined) parts.push(`\\fB${roff(m[1])}\\fR`);
    else if (m[2] !== undefined) parts.push(`\\fB${roff(m[2])}\\fR`);
    else if (m[3] !== undefined) parts.push(/^https?:/.test(m[4]!) ? `${roff(m[3])} <${roff(m[4]!)}>` : roff(m[3]));
    else parts.push(`\\fI${roff(m[5]!)}\\fR`);
    last = m.index + m[0].length;
  }
  parts.push(roff(md.slice(last)));
  return parts.join('');
}

/** A small Markdown subset (headings, paragraphs, lists, fenced code, tables) as man(7) roff. */
export function markdownToRoff(md: string, firstHeading: (text: string) => string[] = (t) => ['.SH DESCRIPTION', inline(t)]): string[] {
  const out: string[] = [];
  const lines = md.replace(/\r/g, '').split('\n');
  let para: string[] = [];
  const flush = () => {
    if (para.length) out.push('.PP', inline(para.join(' ')));
    para = [];
  };
  let first = true;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (/^```/.test(l)) {
      flush();
      out.push('.PP', '.RS 2', '.nf', '.ft CR');
      for (i++; i < lines.length && !/^```/.test(lines[i]!); i++) out.push(roff(lines[i]!) || '\\&');
      out.push('.ft R', '.fi', '.RE');
    } else if (/^#+ /.test(l)) {
      flush();
      const level = /^#+/.exec(l)![0].length;
      const text = l.replace(/^#+ +/, '');
      if (first) out.push(...firstHeading(text));
      else out.push(level <= 2 ? `.SH "${roff(text.toUpperCase())}"` : `.SS "${roff(text)}"`);
      first = false;
    } else if (/^\s*([-*]|\d+\.) /.test(l)) {
      flush();
      let item = l.replace(/^\s*([-*]|\d+\.) +/, '');
      while (i + 1 < lines.length && /^\s{2,}\S/.test(lines[i + 1]!) && !/^\s*([-*]|\d+\.) /.test(lines[i + 1]!))
        item += ` ${lines[++i]!.trim()}`;
      out.push('.IP \\(bu 2', inline(item));
    } else if (/^\|/.test(l)) {
      flush();
      const rows: string[][] = [];
      for (; i < lines.length && /^\|/.test(lines[i]!); i++) {
        if (/^\|[\s:|-]+\|$/.test(lines[i]!)) continue;
        rows.push(
          lines[i]!.replace(/^\||\|$/g, '')
            .split(/(?<!\\)\|/)
            .map((c) => c.trim().replace(/\\\|/g, '|')),
        );
      }
      i--;
      for (const r of rows.slice(1)) out.push('.TP', inline(r[0] ?? ''), inline(r.slice(1).join(' \u2014 ')));
    } else if (l.trim() === '') flush();
    else para.push(l.trim());
  }
  flush();
  return out;
}

/** What a command prints after its help (its examples): the texts of addHelpText('after'). */
function afterHelp(cmd: Command): string {
  let text = '';
  (cmd as unknown as NodeJS.EventEmitter).emit('afterHelp', { error: false, command: cmd, write: (s: string) => (text += s) });
  return text.replace(/^\n+|\n+$/g, '');
}

function optionItem(help: Help, o: Option): string[] {
  return ['.TP', `\\fB${roff(help.optionTerm(o))}\\fR`, roff(help.optionDescription(o))];
}

/** All commands under `cmd` (depth first), with their full names. */
function commandsOf(cmd: Command, help: Help, prefix = ''): { name: string; cmd: Command }[] {
  const out: { name: string; cmd: Command }[] = [];
  for (const c of help.visibleCommands(cmd)) {
    if (c.name() === 'help') continue;
    const name = `${prefix}${c.name()}`;
    out.push({ name, cmd: c });
    out.push(...commandsOf(c, help, `${name} `));
  }
  return out;
}

export interface ManContext {
  version: string;
  /** The page's date (YYYY-MM-DD). */
  date: string;
  /** Long flags every analysing command shares (listed once, under COMMON OPTIONS). */
  common: Command;
}

/** xendoctor(1) from the command tree. */
export function renderCommandPage(program: Command, ctx: ManContext): string {
  const help = program.createHelp();
  const sig = (o: Option) => `${o.flags}\0${o.description}\0${(o.argChoices ?? []).join()}`;
  const commonSigs = new Set(ctx.common.options.map(sig));
  /** An analysing command has every common option: those are listed once, under COMMON OPTIONS. */
  const analysing = (cmd: Command) => ctx.common.options.every((c) => cmd.options.some((o) => sig(o) === sig(c)));
  const out: string[] = [
    `.\\" Generated from the commander definitions by src/cli/build-install-files.ts; do not edit.`,
    `.TH XENDOCTOR 1 "${ctx.date}" "xendoctor ${ctx.version}" "User Commands"`,
    '.nh',
    '.ad l',
    '.SH NAME',
    `xendoctor \\- ${roff(program.description().replace(/\.$/, ''))}`,
    '.SH SYNOPSIS',
  ];
  const all = commandsOf(program, help);
  for (const { name, cmd } of all) {
    if (cmd.commands.length > 0 && help.visibleCommands(cmd).some((c) => c.name() !== 'help')) continue;
    out.push(
      `\\fB${roff(`xendoctor ${name}`)}\\fR ${roff(
        help
          .commandUsage(cmd)
          .split(' ')
          .slice(name.split(' ').length + 1)
          .join(' '),
      )}`,
      '.br',
    );
  }
  out.push(
    '.SH DESCRIPTION',
    roff(program.description()),
    '.PP',
    "Without a command, \\fBxendoctor\\fR runs \\fBscan\\fR: it reads the files named, or standard input when it is piped, or this host's usual logs, and prints each known failure signature found with its diagnosis and the documented fix, filled in with this host's guest ids, PIDs, bridges and devices.",
    '.SH COMMANDS',
  );
  for (const { name, cmd } of all) {
    out.push(`.SS "xendoctor ${roff(name)}"`, roff(help.commandDescription(cmd)));
    const args = help.visibleArguments(cmd);
    if (args.length) {
      out.push('.PP', 'Arguments:', '.RS');
      for (const a of args) out.push('.TP', `\\fI${roff(help.argumentTerm(a))}\\fR`, roff(help.argumentDescription(a)));
      out.push('.RE');
    }
    const shared = analysing(cmd);
    const own = help.visibleOptions(cmd).filter((o) => !(shared && commonSigs.has(sig(o))) && o.long !== '--help');
    if (own.length || shared) {
      out.push('.PP', shared ? 'Options (and the \\fBCOMMON OPTIONS\\fR):' : 'Options:', '.RS');
      for (const o of own) out.push(...optionItem(help, o));
      out.push('.RE');
    }
    const after = afterHelp(cmd);
    if (after) out.push('.PP', '.RS 2', '.nf', ...after.split('\n').map((l) => roff(l) || '\\&'), '.fi', '.RE');
  }
  out.push('.SH "COMMON OPTIONS"', 'Every analysing command (scan, timeline, watch, report) takes these:');
  for (const o of help.visibleOptions(ctx.common).filter((x) => x.long !== '--help')) out.push(...optionItem(help, o));
  out.push('.PP', 'And every command:');
  for (const o of help.visibleOptions(program)) out.push(...optionItem(help, o));
  const main = afterHelp(program);
  const exits = /Exit codes:\s*(.*)/s.exec(main)?.[1] ?? '';
  out.push(
    '.SH "EXIT STATUS"',
    'The Monitoring Plugins convention, so that \\fBxendoctor\\fR also serves as a Nagios or Icinga check (see \\fB\\-\\-format nagios\\fR):',
  );
  for (const [, code, text] of exits.matchAll(/(\d) ([^,]+?)(?=, \d |\.?$)/g)) out.push('.TP', `\\fB${code}\\fR`, roff(text!.trim()));
  out.push(
    '.SH ENVIRONMENT',
    '.TP',
    '.B NO_COLOR',
    'When set and not empty: no colour (as \\fB\\-\\-no\\-color\\fR).',
    '.TP',
    '.B TZ',
    'The default of \\fB\\-\\-tz\\fR: the zone of time stamps that carry none.',
    '.TP',
    '.B XDG_STATE_HOME',
    'Where \\fBreport\\fR keeps its state when not run as root (default \\fI~/.local/state\\fR).',
    '.TP',
    '.B XENDOCTOR_STARTUP',
    '\\fBplain\\fR: run the program from its modules, not from the bundled file and its code cache; \\fBtrace\\fR: say on stderr which way a run started.',
    '.SH FILES',
    '.TP',
    '.I /var/lib/xendoctor/state.json',
    'The state of \\fBxendoctor report\\fR as root: what was read of each log, the findings seen (\\fI$XDG_STATE_HOME/xendoctor/state.json\\fR for other users); \\fIacks\\fR beside it holds the acknowledgements.',
    '.TP',
    '.I /var/log/kern.log, /var/log/syslog, /var/log/messages, /var/log/xen/*.log',
    "This host's usual logs, read when no file is named (and \\fBxl dmesg\\fR, the hypervisor console).",
    '.TP',
    '.I <prefix>/lib/node_modules/xendoctor/rules/',
    'The rule catalogue, one YAML file per rule (see \\fBxendoctor\\-rules\\fR(5)); \\fB\\-\\-rules\\fR \\fIDIR\\fR adds a folder of site rules.',
    '.TP',
    '.I <prefix>/lib/node_modules/xendoctor/contrib/',
    'A cron file, systemd units (report timer, watch service), and Prometheus alerting rules (\\fIprometheus/xendoctor.rules.yml\\fR).',
    '.SH EXAMPLES',
    '.nf',
    ...main
      .replace(/\n*Exit codes:.*$/s, '')
      .replace(/^Examples:\n/, '')
      .split('\n')
      .map((l) => roff(l) || '\\&'),
    '.fi',
    '.SH "SHELL COMPLETION"',
    'Bash: \\fBsource <(xendoctor completion bash)\\fR; zsh: \\fBsource <(xendoctor completion zsh)\\fR; fish: \\fBxendoctor completion fish | source\\fR.',
    '.SH "SEE ALSO"',
    '\\fBxendoctor\\-rules\\fR(5), \\fBxl\\fR(1), \\fBjournalctl\\fR(1), \\fBprometheus\\-node\\-exporter\\fR(1), \\fBprometheus\\-alertmanager\\fR(1)',
  );
  return out.join('\n') + '\n';
}

/** xendoctor-rules(5) from docs/rule-format.md. */
export function renderRulesPage(markdown: string, ctx: Pick<ManContext, 'version' | 'date'>): string {
  const body = markdownToRoff(markdown, (title) => [
    '.SH NAME',
    `xendoctor\\-rules \\- ${roff(title.toLowerCase())} of xendoctor`,
    '.SH DESCRIPTION',
  ]);
  return (
    [
      `.\\" Generated from docs/rule-format.md by src/cli/build-install-files.ts; do not edit.`,
      `.TH XENDOCTOR-RULES 5 "${ctx.date}" "xendoctor ${ctx.version}" "File Formats"`,
      '.nh',
      '.ad l',
      ...body,
      '.SH "SEE ALSO"',
      '\\fBxendoctor\\fR(1); \\fBxendoctor rules list\\fR, \\fBxendoctor rules show\\fR \\fIID\\fR, \\fBxendoctor rules check\\fR.',
    ].join('\n') + '\n'
  );
}
