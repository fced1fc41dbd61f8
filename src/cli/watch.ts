/** `xendoctor watch`: follow logs (and the hypervisor console, and the journal) live; one line per new finding. */
import { existsSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { Option, type Command } from 'commander';
import { CliError, ExitCode } from '../errors.js';
import { FileFollower, LineSplitter } from '../sources/follow.js';
import { XenConsole } from '../sources/console.js';
import { JournalFollower } from '../sources/journal.js';
import { findOnPath } from '../sources/inputs.js';
import { parseDuration } from '../parse/time.js';
import { LiveAnalyser, type LiveSource } from '../live/analyser.js';
import { CommandRunner, SyslogSender, splitArgv } from '../deliver/notify.js';
import { newFindingJson, newFindingText, repeatJson, repeatText } from '../render/watch-events.js';
import { safeText } from '../render/sanitize.js';
import { addCommonOptions, commonSettings, selectRules, scanWindow } from './options.js';
import { defaultIo, type Io } from './io.js';
import { addAlertmanagerOptions, alertSettings } from './alertmanager.js';
import { AlertmanagerClient, LiveAlerts } from '../deliver/alertmanager-client.js';

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

  const err = (source: string | null, message: string) =>
    io.err(`xendoctor: ${source ? `${safeText(source)}: ` : ''}${safeText(message)}\n`);
  const runnerLog = (m: string) => err(null, m);
  const execRunner = execArgv ? new CommandRunner({ label: '--exec', jobs: execJobs, timeoutMs: execTimeout, log: runnerLog }) : null;
  const syslogRunner = logger ? new CommandRunner({ label: '--syslog', jobs: 2, timeoutMs: 10_000, log: runnerLog }) : null;
  const syslog = logger && syslogRunner ? new SyslogSender(logger, syslogRunner) : null;
  const alerts = am ? new LiveAlerts(new AlertmanagerClient({ ...am.config, log: runnerLog }), am.resolveAfterMs) : null;

  const analyser = new LiveAnalyser(rules, {
    ...scanWindow(s),
    minSeverity: s.minSeverity,
    repeatIntervalMs: repeatInterval,
    forgetMs: forget,
    recycleMs: recycle,
    notice: (m) => err(null, m),
    onNew: (f) => {
      const now = Date.now();
      io.out((s.format === 'ndjson' ? newFindingJson(f) : newFindingText(f, s.color, now)) + '\n');
      syslog?.send(f.severity, newFindingText(f, false, now));
      alerts?.seen(f);
      if (execRunner && execArgv) {
        execRunner.run(execArgv, newFindingJson(f) + '\n', {
          XENDOCTOR_ID: f.id,
          XENDOCTOR_RULE: f.rule,
          XENDOCTOR_SEVERITY: f.severity,
          XENDOCTOR_HOST: safeText(f.host ?? ''),
          XENDOCTOR_TITLE: safeText(f.title),
        });
      }
    },
    onRepeat: (r) => {
      io.out((s.format === 'ndjson' ? repeatJson(r) : repeatText(r, s.color)) + '\n');
      syslog?.send(r.finding.severity, repeatText(r, false));
      alerts?.seen(r.finding);
    },
  });

  const sources = new Map<string, LiveSource>();
  const source = (name: string, host: string | null): LiveSource => {
    let src = sources.get(name);
    if (!src) {
      src = { name, host };
      sources.set(name, src);
    }
    return src;
  };
  const notice = (name: string, message: string, kind: 'problem' | 'recovered' | 'info') => {
    if (kind === 'info' && s.quiet) return;
    err(name, message);
  };

  const follower =
    files.length > 0
      ? new FileFollower(
          files,
          {
            line: (path, buf, st, en, n) => analyser.line(source(path, null), buf, st, en, n),
            idle: () => analyser.idle(),
            notice,
          },
          { fromStart, pollMs: poll },
        )
      : null;
  const thisHost = hostname();
  let consoleLine = 0;
  const xenConsole = xl
    ? new XenConsole({
        command: xl,
        intervalMs: interval,
        fromStart,
        onLines: (lines) => {
          const src = source(`${xl!.replace(/^.*\//, '')} dmesg`, thisHost);
          for (const l of lines) {
            const b = Buffer.from(l, 'utf8');
            analyser.line(src, b, 0, b.length, ++consoleLine);
          }
          analyser.idle();
        },
        notice: (m, kind) => notice(`${xl!.replace(/^.*\//, '')} dmesg`, m, kind),
      })
    : null;
  const journal = journalctl
    ? new JournalFollower({
        command: journalctl,
        fromStart,
        line: (buf, st, en, n) => analyser.line(source('journal', null), buf, st, en, n),
        idle: () => analyser.idle(),
        notice: (m, kind) => notice('journal', m, kind),
      })
    : null;
  const stdinSplitter = useStdin ? new LineSplitter((buf, st, en, n) => analyser.line(source('-', null), buf, st, en, n)) : null;

  return new Promise<number>((resolve) => {
    let stopping = false;
    const onStdin = (d: Buffer) => {
      stdinSplitter!.push(d);
      analyser.idle();
    };
    const stop = async () => {
      if (stopping) return;
      stopping = true;
      for (const [sig, h] of handlers) process.off(sig, h);
      process.stdout.off('error', onStdoutError);
      xenConsole?.close();
      journal?.close();
      if (stdinSplitter) {
        process.stdin.off('data', onStdin);
        process.stdin.destroy();
        stdinSplitter.flush();
      }
      await follower?.close();
      analyser.stop();
      // hooks still running get a moment, then are killed: the whole stop stays well under a second
      await Promise.all([execRunner?.stop(200), syslogRunner?.stop(200), alerts?.stop(500)]);
      resolve(ExitCode.Ok);
      // chokidar 4 leaves its folder-read throttle timers (up to 1 s) running after close(): as the
      // program itself (not in tests that call runWatch), leave once the exit code is set
      if (io === defaultIo) setTimeout(() => process.exit(), 100).unref();
    };
    const reload = () => {
      try {
        const fresh = selectRules(s);
        analyser.reload(fresh);
        err(null, `SIGHUP: reloaded the rules (${fresh.length})`);
      } catch (e) {
        err(null, `SIGHUP: the rules could not be reloaded; keeping the ${analyser.ruleCount} rules in use:`);
        for (const line of (e as Error).message.split('\n')) err(null, `  ${line}`);
      }
    };
    const onStdoutError = (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') void stop();
    };
    const handlers: [NodeJS.Signals, () => void][] = [
      ['SIGTERM', () => void stop()],
      ['SIGINT', () => void stop()],
      ['SIGHUP', reload],
    ];
    for (const [sig, h] of handlers) process.on(sig, h);
    process.stdout.on('error', onStdoutError);

    void (async () => {
      analyser.start();
      journal?.start();
      const consoleRead = xenConsole?.start();
      if (stdinSplitter) {
        process.stdin.on('data', onStdin);
        // the end of stdin ends the watch when there is nothing else to follow
        process.stdin.once('end', () => {
          stdinSplitter.flush();
          analyser.idle();
          if (files.length === 0 && !xenConsole && !journal) void stop();
        });
      }
      try {
        await follower?.start();
        // what the console holds at its first read is where following it starts (unless it hangs)
        if (consoleRead) await Promise.race([consoleRead, new Promise((r) => setTimeout(r, 2000).unref())]);
      } catch (e) {
        err(null, `cannot watch: ${(e as Error).message}`);
        await stop();
        return;
      }
      if (!s.quiet && !stopping) {
        const what = [
          ...files,
          ...(useStdin ? ['stdin'] : []),
          ...(xenConsole ? [`${xenConsole.name} every ${interval / 1000} s`] : []),
          ...(journal ? ['the journal'] : []),
        ];
        err(
          null,
          `watching ${what.join(', ')}${fromStart ? ' from the start' : ''} with ${rules.length} rules (SIGTERM or Ctrl-C stops, SIGHUP reloads the rules)`,
        );
      }
    })();
  });
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
