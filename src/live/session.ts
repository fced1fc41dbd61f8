/**
 * A `watch` session: the followed sources (files, the hypervisor console, the journal, stdin) wired
 * to one LiveAnalyser, whose new findings and folded repeats go to stdout and to the notifiers
 * (--exec, --syslog, Alertmanager); SIGHUP reloads the rules, SIGTERM/SIGINT or a closed stdout
 * stops it. The options are read in src/cli/watch.ts.
 */
import { hostname } from 'node:os';
import { ExitCode } from '../errors.js';
import type { Rule } from '../engine/catalogue.js';
import { FileFollower, LineSplitter } from '../sources/follow.js';
import { XenConsole } from '../sources/console.js';
import { JournalFollower } from '../sources/journal.js';
import { CommandRunner, SyslogSender } from '../deliver/notify.js';
import { AlertmanagerClient, LiveAlerts, type AlertSettings } from '../deliver/alertmanager-client.js';
import { newFindingJson, newFindingText, repeatJson, repeatText } from '../render/watch-events.js';
import { safeText } from '../render/sanitize.js';
import { defaultIo, type Io } from '../io.js';
import { LiveAnalyser, type LiveOptions, type LiveSource } from './analyser.js';

/** What to follow, how to tell, and the analyser's settings. */
export interface WatchPlan {
  /** Files, folders or globs to follow. */
  files: string[];
  /** Also read stdin (`-`). */
  stdin: boolean;
  /** The xl or xm program for the hypervisor console, or null. */
  xl: string | null;
  journalctl: string | null;
  /** logger(1) for --syslog, or null. */
  logger: string | null;
  exec: { argv: string[]; jobs: number; timeoutMs: number } | null;
  alerts: AlertSettings | null;
  fromStart: boolean;
  /** How often the console is read, ms. */
  intervalMs: number;
  /** How often followed files are re-checked, ms. */
  pollMs: number;
  format: 'text' | 'ndjson';
  color: boolean;
  quiet: boolean;
  analyser: Omit<LiveOptions, 'onNew' | 'onRepeat' | 'notice' | 'now'>;
  /** The rules again (SIGHUP); throws when they cannot be read. */
  loadRules(): Rule[];
}

/** Follow until stopped; resolves with the exit code. */
export function watchSession(plan: WatchPlan, rules: Rule[], io: Io): Promise<number> {
  const { files, fromStart, xl, journalctl } = plan;
  const useStdin = plan.stdin;
  const interval = plan.intervalMs;
  const poll = plan.pollMs;
  const err = (source: string | null, message: string) =>
    io.err(`xendoctor: ${source ? `${safeText(source)}: ` : ''}${safeText(message)}\n`);
  const runnerLog = (m: string) => err(null, m);
  const exec = plan.exec;
  const execRunner = exec ? new CommandRunner({ label: '--exec', jobs: exec.jobs, timeoutMs: exec.timeoutMs, log: runnerLog }) : null;
  const logger = plan.logger;
  const syslogRunner = logger ? new CommandRunner({ label: '--syslog', jobs: 2, timeoutMs: 10_000, log: runnerLog }) : null;
  const syslog = logger && syslogRunner ? new SyslogSender(logger, syslogRunner) : null;
  const am = plan.alerts;
  const alerts = am ? new LiveAlerts(new AlertmanagerClient({ ...am.config, log: runnerLog }), am.resolveAfterMs) : null;

  const analyser = new LiveAnalyser(rules, {
    ...plan.analyser,
    notice: (m) => err(null, m),
    onNew: (f) => {
      const now = Date.now();
      io.out((plan.format === 'ndjson' ? newFindingJson(f) : newFindingText(f, plan.color, now)) + '\n');
      syslog?.send(f.severity, newFindingText(f, false, now));
      alerts?.seen(f);
      if (execRunner && exec) {
        execRunner.run(exec.argv, newFindingJson(f) + '\n', {
          XENDOCTOR_ID: f.id,
          XENDOCTOR_RULE: f.rule,
          XENDOCTOR_SEVERITY: f.severity,
          XENDOCTOR_HOST: safeText(f.host ?? ''),
          XENDOCTOR_TITLE: safeText(f.title),
        });
      }
    },
    onRepeat: (r) => {
      io.out((plan.format === 'ndjson' ? repeatJson(r) : repeatText(r, plan.color)) + '\n');
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
    if (kind === 'info' && plan.quiet) return;
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
      // program itself (not in tests that call watchSession), leave once the exit code is set
      if (io === defaultIo) setTimeout(() => process.exit(), 100).unref();
    };
    const reload = () => {
      try {
        const fresh = plan.loadRules();
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
      if (!plan.quiet && !stopping) {
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
