/** `xendoctor check [--root DIR]`: the host's Xen configuration against the documented pitfalls. */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { CliError, ExitCode } from '../errors.js';
import { configRuleIds, runChecks, type CheckReport } from '../check/index.js';
import type { SkippedCheck } from '../check/context.js';
import { render } from '../render/dispatch.js';
import { escapeMarkdown, safeText } from '../render/sanitize.js';
import { nagiosUnknown } from '../render/nagios.js';
import { SEVERITIES, type Severity } from '../types.js';
import { applyMinSeverity, exitCodeFor, FORMATS, type Format } from './options.js';
import type { Io } from '../io.js';

function ids(v: unknown): string[] {
  return typeof v === 'string'
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : [];
}

function skippedText(skipped: SkippedCheck[]): string[] {
  if (!skipped.length) return [];
  return [`== SKIPPED (${skipped.length}) ==`, '', ...skipped.map((s) => `   ${s.check}: ${safeText(s.reason)}`), ''];
}

function skippedMarkdown(skipped: SkippedCheck[]): string {
  if (!skipped.length) return '';
  return [
    '## Skipped checks',
    '',
    '| check | reason |',
    '| --- | --- |',
    ...skipped.map((s) => `| ${s.check} | ${escapeMarkdown(s.reason)} |`),
    '',
  ].join('\n');
}

/** The report in the chosen format, with the skipped checks where the format has room for them. */
function output(report: CheckReport, format: Format, color: boolean, quiet: boolean, failOn: Severity, io: Io): string {
  const out = render(report, { format, color, quiet, failOn });
  if (format === 'text' && !quiet) {
    const lines = out.replace(/\n$/, '').split('\n');
    const summary = lines.pop()!;
    return [...lines, ...skippedText(report.skipped), summary].join('\n') + '\n';
  }
  if (format === 'markdown') return out.replace(/\n*$/, '\n\n') + skippedMarkdown(report.skipped);
  if (format !== 'json' && !quiet) for (const s of report.skipped) io.err(`xendoctor: skipped ${s.check}: ${safeText(s.reason)}\n`);
  return out;
}

export function runCheck(opts: Record<string, unknown>, io: Io): number {
  let root: string | null = null;
  if (typeof opts.root === 'string') {
    root = resolve(opts.root);
    let dir = false;
    try {
      dir = statSync(root).isDirectory();
    } catch {
      dir = false;
    }
    if (!dir)
      throw new CliError(
        `--root: ${opts.root} is not a folder`,
        "give the folder that holds the host's etc/ (and boot/, proc/, sys/ if copied)",
      );
  }
  const known = new Set(configRuleIds());
  const only = opts.only ? new Set(ids(opts.only)) : null;
  const exclude = new Set(ids(opts.exclude));
  for (const id of [...(only ?? []), ...exclude]) {
    if (!known.has(id)) throw new CliError(`unknown configuration rule id "${id}"`, `known: ${[...known].sort().join(', ')}`);
  }
  const { report, problem } = runChecks(
    {
      root,
      xlInfoFile: (opts.xlInfo as string | undefined) ?? null,
      xlListFile: (opts.xlList as string | undefined) ?? null,
      dfFile: (opts.df as string | undefined) ?? null,
    },
    (id) => (!only || only.has(id)) && !exclude.has(id),
  );
  const shown = { ...applyMinSeverity(report, opts.minSeverity as Severity), skipped: report.skipped };
  const color = opts.color !== false && !process.env.NO_COLOR && process.stdout.isTTY === true;
  const quiet = opts.quiet === true;
  if (problem && opts.format === 'nagios') io.out(nagiosUnknown(`nothing could be checked: ${problem}`));
  else io.out(output(shown, opts.format as Format, color, quiet, opts.failOn as Severity, io));
  if (problem) {
    io.err(`xendoctor: nothing could be checked: ${safeText(problem)}\n`);
    return ExitCode.Unusable;
  }
  return exitCodeFor(shown.findings, opts.failOn as Severity);
}

/** Register `check`. */
export function registerCheck(program: Command, io: Io, setCode: (c: number) => void): void {
  program
    .command('check')
    .description("check the host's Xen configuration and live state against the documented pitfalls")
    .option('--root <dir>', 'read the host files under DIR instead of / (a copied /etc, a mounted disk); runs no live command')
    .option('--xl-info <file>', 'captured `xl info` output to use instead of running xl (also with --root)')
    .option('--xl-list <file>', 'captured `xl list` output to use instead of running xl (also with --root)')
    .option('--df <file>', 'captured `df -kP` output for the free-space checks (also with --root)')
    .addOption(new Option('--format <format>', 'output format').choices([...FORMATS]).default('text'))
    .option('--only <ids>', 'only these rule ids (comma-separated)')
    .option('--exclude <ids>', 'leave out these rule ids (comma-separated)')
    .addOption(new Option('--min-severity <level>', 'report findings at or above this level').choices([...SEVERITIES]).default('info'))
    .addOption(
      new Option('--fail-on <level>', 'exit non-zero when a finding reaches this level').choices([...SEVERITIES]).default('warning'),
    )
    .option('--no-color', 'no colour, even on a terminal')
    .option('--quiet', 'findings only: no list of inputs, no skipped checks, no summary')
    .addHelpText(
      'after',
      `
Examples:
  xendoctor check                                  this host: files under /, xl info, xl list, statfs
  xendoctor check --root /mnt/xen07                a copied or mounted host tree; no live command
  xendoctor check --root /srv/xen07 --xl-info xen07-xl-info.txt --xl-list xen07-xl-list.txt --df xen07-df.txt
  xendoctor check --format json | jq .skipped      the checks that could not run, and why`,
    )
    .action((opts: Record<string, unknown>) => setCode(runCheck(opts, io)));
}
