/** `xendoctor watch`: follow logs (and the hypervisor console, and the journal) live; one line per new finding. The options are read here; the session is src/live/session.ts. */
import { existsSync, statSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { CliError } from '../errors.js';
import { findOnPath } from '../sources/inputs.js';
import { parseDuration } from '../parse/time.js';
import { splitArgv } from '../deliver/notify.js';
import { watchSession } from '../live/session.js';
import { addCommonOptions, commonSettings, selectRules, scanWindow } from './options.js';
import type { Io } from '../io.js';
import { addAlertmanagerOptions, alertSettings } from './alertmanager.js';

/** This host's usual logs to follow: those of kern.log, syslog and messages that exist, and /var/log/xen/*.log. */
export function defaultWatchPaths(root = '/'): string[] {
  const base = root.replace(/\/$/, '');
  const paths = ['/var/log/kern.log', '/var/log/syslog', '/var/log/messages'].map((p) => base + p).filter((p) => existsSync(p));
  if (existsSync(`${base}/var/log/xen`)) paths.push(`${base}/var/log/xen/*.log`);
  return paths;
}

function duration(name: string, v: unknown, min: number): number {
  const ms = parseDuration(String(v));
  if (ms === null || ms < min)
    throw new CliError(`--${name}: cannot read "${String(v)}"`, `give a duration of at least ${min} ms such as 500ms, 5s, 10m, 24h`);
  return ms;
}

function executable(path: string): boolean {
  try {
    const st = statSync(path);
    return st.isFile() && (st.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

export async function runWatch(paths: string[], opts: Record<string, unknown>, io: Io): Promise<number> {
  const s = commonSettings(opts);
  if (s.format !== 'text' && s.format !== 'ndjson')
    throw new CliError(`watch prints one line per finding: --format ${s.format} is not available`, 'use --format text or --format ndjson');
  const interval = duration('interval', opts.interval, 100);
  const repeatInterval = duration('repeat-interval', opts.repeatInterval, 100);
  const forget = duration('forget', opts.forget, 1000);
  const recycle = opts.recycle === '0' ? 0 : duration('recycle', opts.recycle, 1000);
  const poll = duration('poll', opts.poll, 50);
  const execTimeout = duration('exec-timeout', opts.execTimeout, 100);
  const execJobs = Number(opts.execJobs);
  if (!Number.isInteger(execJobs) || execJobs < 1 || execJobs > 64)
    throw new CliError(`--exec-jobs: "${String(opts.execJobs)}" is not a number from 1 to 64`);
  const fromStart = opts.fromStart === true;

  // what to follow
  const named = paths.length > 0;
  const useStdin = paths.includes('-');
  const files = named ? paths.filter((p) => p !== '-') : defaultWatchPaths();
  let xl: string | null = null;
  if (typeof opts.xl === 'string') {
    if (!executable(opts.xl)) throw new CliError(`--xl: ${opts.xl} is not an executable file`);
    xl = opts.xl;
  } else if (opts.xenConsole === true || !named) {
    xl = findOnPath('xl') ?? findOnPath('xm');
    if (!xl && opts.xenConsole === true)
      throw new CliError('--xen-console: neither xl nor xm is on PATH', 'name the toolstack program with --xl PATH');
  }
  let journalctl: string | null = null;
  if (opts.journal === true) {
    journalctl = findOnPath('journalctl');
    if (!journalctl) throw new CliError('--journal: journalctl is not on PATH (no systemd journal on this host?)');
  }
  if (files.length === 0 && !xl && !journalctl && !useStdin)
    throw new CliError(
      "nothing to watch: none of this host's usual logs (/var/log/kern.log, syslog, messages, xen/*.log) is here and there is no xl or xm",
      'name files, folders or globs, or add --journal',
    );
  let logger: string | null = null;
  if (opts.syslog === true) {
    logger = findOnPath('logger');
    if (!logger) throw new CliError('--syslog: the logger program (util-linux/bsdutils) is not on PATH');
  }
  let execArgv: string[] | null = null;
  if (typeof opts.exec === 'string') {
    execArgv = opts.execShell === true ? ['/bin/sh', '-c', opts.exec] : splitArgv(opts.exec);
    if (execArgv.length === 0) throw new CliError('--exec: empty command');
  }
  const am = alertSettings(opts);
  if (am && am.resolveAfterMs <= repeatInterval)
    throw new CliError(
      '--alert-resolve must be longer than --repeat-interval',
      "a finding's repeats are summed up every --repeat-interval; a shorter --alert-resolve would resolve its alert in between",
    );
  const rules = selectRules(s);
  return watchSession(
    {
      files,
      stdin: useStdin,
      xl,
      journalctl,
      logger,
      exec: execArgv ? { argv: execArgv, jobs: execJobs, timeoutMs: execTimeout } : null,
      alerts: am,
      fromStart,
      intervalMs: interval,
      pollMs: poll,
      format: s.format,
      color: s.color,
      quiet: s.quiet,
      analyser: { ...scanWindow(s), minSeverity: s.minSeverity, repeatIntervalMs: repeatInterval, forgetMs: forget, recycleMs: recycle },
      loadRules: () => selectRules(s),
    },
    rules,
    io,
  );
}

/** Register `watch`. */
export function registerWatch(program: Command, io: Io, setCode: (c: number) => void): void {
  const cmd = addCommonOptions(
    program
      .command('watch')
      .description('follow logs (and the hypervisor console, and the journal) live; one line per new finding, repeats folded')
      .argument('[paths...]', "files, folders or globs (quote them); - for stdin; default: this host's usual logs and the console"),
    'text',
    ['text', 'ndjson'],
  )
    .option('--from-start', 'read the files (and the console buffer) from their start, not only what is written from now on')
    .option('--xen-console', 'also follow the hypervisor console: xl dmesg (xm dmesg), every --interval; never clears it')
    .option('--xl <path>', 'the xl or xm program to read the console with (default: xl, else xm, on PATH)')
    .option('--interval <duration>', 'how often to read the console', '5s')
    .option('--journal', 'also follow the systemd journal (journalctl -f -o json)')
    .option('--repeat-interval <duration>', 'how often to sum up the repeats of a finding already shown', '5m')
    .option('--forget <duration>', 'a finding quiet for this long is shown again as new when it comes back', '24h')
    .option('--exec <command>', 'run this command for each new finding, with its JSON on stdin (no shell; see --exec-shell)')
    .option('--exec-shell', 'run the --exec command with /bin/sh -c')
    .option('--exec-timeout <duration>', 'kill an --exec command that runs longer', '30s')
    .option('--exec-jobs <n>', 'most --exec commands running at once', '4')
    .option('--syslog', 'also send each finding to the local syslog (tag xendoctor, facility daemon)');
  addAlertmanagerOptions(cmd, '15m');
  cmd
    .addOption(new Option('--recycle <duration>', 'renew the rule engine this often (memory)').default('1h').hideHelp())
    .addOption(new Option('--poll <duration>', 're-check every followed file this often').default('500ms').hideHelp())
    .action(async (paths: string[], opts: Record<string, unknown>) => setCode(await runWatch(paths, opts, io)));
}
