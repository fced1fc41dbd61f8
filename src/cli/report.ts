/**
 * `xendoctor report [PATH...] --state FILE`: cron mode. Reads only what is new since the last run
 * (files across rotation, the hypervisor console, the journal), analyses it with the normal engine,
 * reports new and ongoing findings — or prints nothing when nothing new reaches --min-severity — and
 * delivers the report (stdout, e-mail, metrics file). Only after delivery succeeded is the state
 * written (atomically), so a run that is killed or whose mail fails loses nothing.
 */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { CliError, ExitCode } from '../errors.js';
import { defaultInputs, findOnPath, journaldOnly, resolveInputs, type Input, type ResolveProblem } from '../sources/inputs.js';
import { planFile, trackedPaths, type FilePlan } from '../sources/incremental.js';
import { bufferInput, capture, consoleNews, type ConsoleNews } from '../sources/console-news.js';
import { JournalInput } from '../sources/journal-cursor.js';
import { scanInputs } from '../pipeline/scan-inputs.js';
import { summarize } from '../engine/findings.js';
import type { PendingThreshold } from '../engine/groups.js';
import { acquireLock } from '../state/lock.js';
import { defaultStatePath, loadState, pruneFindings, saveState, type ReportState } from '../state/state.js';
import { defaultAckPath, loadAcks, type Ack } from '../state/acks.js';
import { ensureDir, refuseSpecial, removeStaleTemps, writeFileAtomic } from '../state/atomic.js';
import { lstatSync } from 'node:fs';
import { dirname } from 'node:path';
import { render } from '../render/dispatch.js';
import { digestText, type DigestContext } from '../render/digest.js';
import { defaultFrom, defaultTo, parseAddresses, renderEmail } from '../render/email.js';
import { renderPrometheus } from '../render/prometheus.js';
import { safeText } from '../render/sanitize.js';
import { checkSmtpUrl, findSendmail, sendWithSendmail, sendWithSmtp } from '../deliver/mail.js';
import { severityRank, type Finding, type InputSummary, type ScanReport } from '../types.js';
import { addCommonOptions, commonSettings, exitCodeFor, selectRules, type CommonSettings, scanWindow } from './options.js';
import type { Io } from './io.js';
import { baselineOption } from './baseline.js';
import type { BaselineCheck } from '../engine/unrecognized-baseline.js';
import { addAlertmanagerOptions, alertSettings } from './alertmanager.js';
import { AlertmanagerClient, findingAlert } from '../deliver/alertmanager-client.js';

interface ReportOptions {
  statePath: string;
  ackPath: string;
  paths: string[];
  console: boolean;
  xl: string | null;
  journal: boolean;
  journalctl: string;
  /** The section of unrecognised messages (--no-unrecognized leaves it out). */
  unrecognized: boolean;
  mailTo: string[] | null;
  mailFrom: string;
  sendmail: string | undefined;
  smtp: string | null;
  textfile: string | null;
  waitMs: number;
  commandTimeoutMs: number;
  dryRun: boolean;
  baseline: BaselineCheck | null;
  verbose: boolean;
}

function reportOptions(paths: string[], o: Record<string, unknown>): ReportOptions {
  if (paths.includes('-'))
    throw new CliError('report reads files, not standard input', 'name the log files; pipe into `xendoctor scan` for a one-off analysis');
  const statePath = resolve(typeof o.state === 'string' ? o.state : defaultStatePath());
  const mailTo = typeof o.mailTo === 'string' ? parseAddresses(o.mailTo, '--mail-to') : null;
  const from = typeof o.mailFrom === 'string' ? parseAddresses(o.mailFrom, '--mail-from') : [defaultFrom()];
  if (from.length !== 1) throw new CliError('--mail-from: give one address');
  const smtp = typeof o.smtp === 'string' ? o.smtp : null;
  if (smtp !== null) {
    checkSmtpUrl(smtp);
    if (!mailTo) throw new CliError('--smtp needs --mail-to (the recipients)');
  }
  const wait = Number(o.wait ?? 10);
  if (!Number.isFinite(wait) || wait < 0) throw new CliError(`--wait: "${String(o.wait)}" is not a number of seconds`);
  const silence = Number(o.commandTimeout ?? 60);
  if (!Number.isFinite(silence) || silence <= 0)
    throw new CliError(`--command-timeout: "${String(o.commandTimeout)}" is not a number of seconds`);
  return {
    commandTimeoutMs: silence * 1000,
    statePath,
    ackPath: resolve(typeof o.ackFile === 'string' ? o.ackFile : defaultAckPath(statePath)),
    paths,
    console: o.xenConsole === true || typeof o.xl === 'string',
    xl: typeof o.xl === 'string' ? o.xl : null,
    journal: o.journal === true || typeof o.journalctl === 'string',
    journalctl: typeof o.journalctl === 'string' ? o.journalctl : 'journalctl',
    unrecognized: o.unrecognized !== false,
    mailTo,
    mailFrom: from[0]!,
    sendmail: typeof o.sendmail === 'string' ? o.sendmail : undefined,
    smtp,
    textfile: typeof o.textfile === 'string' ? resolve(o.textfile) : null,
    waitMs: wait * 1000,
    dryRun: o.dryRun === true,
    baseline: baselineOption(o),
    verbose: o.verbose === true,
  };
}

/** What one pass over the inputs found. */
interface Analysis {
  report: ScanReport;
  plans: FilePlan[];
  console: { name: string; news: ConsoleNews } | null;
  journal: JournalInput | null;
  /** Thresholds still short of firing at the end of this run (kept in the state for the next). */
  pending: PendingThreshold[];
  consistent: boolean;
  /** Something could be read (a tracked file, the console or the journal). */
  readable: boolean;
}

/** The files to track: the operands (each rotated set stands for its live file), or this host's usual logs. */
function trackedFiles(
  ro: ReportOptions,
  state: ReportState,
  now: number,
  io: Io,
  quiet: boolean,
): { files: string[]; problems: ResolveProblem[]; console: boolean } {
  if (ro.paths.length === 0 && !ro.console && !ro.journal) {
    const d = defaultInputs(now, hostname());
    const files = d.inputs.filter((i) => i.kind === 'file').map((i) => resolve(i.name));
    const withConsole = d.inputs.some((i) => i.kind === 'command' && /\b(?:xl|xm) dmesg$/.test(i.name));
    // a journald-only dom0 (no syslog file): the journal, after the last run's cursor
    const journalctl = journaldOnly() ? findOnPath('journalctl') : null;
    if (journalctl) {
      ro.journal = true;
      ro.journalctl = journalctl;
    }
    if (!quiet) {
      io.err(
        files.length || withConsole || journalctl
          ? `xendoctor: no file named; following this host's logs: ${[...trackedPaths(files), ...(withConsole ? ['xl dmesg'] : []), ...(journalctl ? ['the journal'] : [])].join(', ')}\n`
          : "xendoctor: no file named, and none of this host's usual logs (/var/log/kern.log, syslog, messages, xen/*.log, xl dmesg) is here\n",
      );
    }
    return { files: trackedPaths(files), problems: [], console: withConsole };
  }
  const r = resolveInputs(ro.paths, now);
  const files = r.inputs.filter((i) => i.kind === 'file').map((i) => resolve(i.name));
  const problems: ResolveProblem[] = [];
  for (const p of r.problems) {
    // a live file missing for a moment (rotated, not yet re-created) is still followed
    const abs = resolve(p.source);
    if (state.files[abs]) files.push(abs);
    else problems.push(p);
  }
  return { files: trackedPaths(files), problems, console: ro.console };
}

async function analyse(
  ro: ReportOptions,
  s: CommonSettings,
  state: ReportState,
  tracked: string[],
  useConsole: boolean,
  baseProblems: ResolveProblem[],
  rules: ReturnType<typeof selectRules>,
): Promise<Analysis> {
  const now = s.now;
  const problems = [...baseProblems];
  const plans: FilePlan[] = [];
  const inputs: Input[] = [];
  const lineBase = new Map<string, number>();
  for (const path of tracked) {
    const plan = await planFile(path, state.files[path]);
    plans.push(plan);
    for (const seg of plan.segments) {
      if (!seg.hasWork) continue;
      inputs.push(seg);
      lineBase.set(seg.name, seg.lineBase);
    }
  }
  let consoleResult: Analysis['console'] = null;
  if (useConsole) {
    const xl = ro.xl ?? findOnPath('xl') ?? findOnPath('xm');
    const name = `${xl ?? 'xl'} dmesg`;
    if (!xl) problems.push({ source: 'xl dmesg', message: 'neither xl nor xm is installed here (give --xl PATH)' });
    else {
      try {
        const news = consoleNews(await capture(xl, ['dmesg'], ro.commandTimeoutMs), state.console, name);
        consoleResult = { name, news };
        if (news.newLines > 0) {
          inputs.push(bufferInput(name, news.data, now, hostname()));
          lineBase.set(name, news.lineBase);
        }
      } catch (e) {
        problems.push({ source: name, message: (e as Error).message });
      }
    }
  }
  let journal: JournalInput | null = null;
  if (ro.journal) {
    journal = new JournalInput(ro.journalctl, state.journal?.cursor ?? null, now, ro.commandTimeoutMs);
    inputs.push(journal);
  }
  let pending: PendingThreshold[] = [];
  const report = await scanInputs(inputs, problems, rules, {
    ...scanWindow(s),
    unrecognized: ro.unrecognized || ro.baseline != null,
    baseline: ro.baseline,
    // thresholds whose hits fall in two runs (or more) still add up
    carry: { from: state.pending ?? [], to: (p) => (pending = p) },
    now,
  });

  // evidence line numbers: real line numbers in each file, not counted from where this run began
  for (const f of report.findings) for (const e of f.evidence) e.line += lineBase.get(e.source) ?? 0;
  // inputs: no "empty input" for a file with nothing new; notes on possibly lost lines where they belong
  for (const i of report.inputs) i.errors = i.errors.filter((e) => e !== 'empty input');
  const note = (source: string, message: string) => {
    let i = report.inputs.find((x) => x.source === source);
    if (!i) {
      i = { source, lines: 0, bytes: 0, formats: {}, first: null, last: null, errors: [] } satisfies InputSummary;
      report.inputs.push(i);
    }
    i.errors.push(message);
  };
  for (const p of plans) for (const n of p.notes) note(p.path, n);
  if (consoleResult?.news.note) note(consoleResult.name, consoleResult.news.note);
  if (journal?.note) note(journal.name, journal.note);
  const journalOk = journal !== null && !report.inputs.some((i) => i.source === journal!.name && i.errors.length > 0 && i.bytes === 0);
  return {
    report,
    plans,
    console: consoleResult,
    journal,
    pending,
    consistent: plans.every((p) => p.consistent()),
    readable: plans.some((p) => p.live || p.segments.length > 0) || consoleResult !== null || journalOk,
  };
}

/** Is this finding silenced by an acknowledgement (all its new occurrences date from before the ack)? */
/** A rate this many times the acknowledged one (and at least SURGE_MIN hits) is news again. */
const SURGE = 4;
const SURGE_MIN = 5;
const HOUR = 3_600_000;

/**
 * Whether a finding stays out of the report. A harmless finding seen in earlier runs, or an
 * acknowledged one, stays quiet while it goes on, until something about it changes: a higher
 * severity, or a rate well above the one acknowledged (a new key or a new host is a new finding).
 */
function silenced(
  f: Finding,
  ack: Ack | undefined,
  lastRun: string | null,
  prev: ReportState['findings'][string] | undefined,
  now: number,
): boolean {
  const worse = prev !== undefined && severityRank(f.severity) > severityRank(prev.severity);
  if (!ack) return f.harmless && prev !== undefined && !worse;
  if (f.last !== null && Date.parse(f.last) <= ack.at) return true;
  // undated lines: read in the first run after the ack, they were most likely written before it
  if (f.last === null && (lastRun === null || ack.at >= Date.parse(lastRun))) return true;
  if (prev === undefined || worse) return false;
  const hours = (from: number, to: number) => Math.max(1, (to - from) / HOUR);
  const sinceMs = Date.parse(prev.since ?? '');
  const ackedRate = prev.count / hours(Number.isNaN(sinceMs) ? ack.at - HOUR : sinceMs, ack.at);
  const rate = f.count / hours(lastRun ? Date.parse(lastRun) : now - HOUR, now);
  return !(f.count >= SURGE_MIN && rate > SURGE * ackedRate);
}

/** Mark findings seen in earlier runs as ongoing, and fold this run's counts into the state. */
function mergeFindings(report: ScanReport, state: ReportState, nowIso: string): void {
  for (const f of report.findings) {
    const prev = state.findings[f.id];
    if (prev) f.ongoing = { since: prev.since, before: prev.count };
    const last = prev?.last && f.last ? (prev.last > f.last ? prev.last : f.last) : (f.last ?? prev?.last ?? null);
    state.findings[f.id] = {
      rule: f.rule,
      host: f.host,
      severity: f.severity,
      title: f.title,
      since: prev ? prev.since : (f.first ?? nowIso),
      last,
      count: (prev?.count ?? 0) + f.count,
      seen: nowIso,
    };
  }
}

/** How long a report run keeps retrying an Alertmanager that does not answer. */
const ALERT_FLUSH_MS = 20_000;

/** A state folder that other users can write lets them plant acks, locks or state: refused. */
function refuseOpenFolder(dir: string): void {
  const st = lstatSync(dir);
  const uid = process.getuid?.();
  if (!st.isDirectory()) throw new CliError(`the folder of the state file ${dir} is not a folder`);
  if ((st.mode & 0o022) !== 0 || (uid !== undefined && st.uid !== uid && st.uid !== 0))
    throw new CliError(
      `the folder of the state file ${dir} can be written by other users (mode ${(st.mode & 0o7777).toString(8)}, uid ${st.uid}): refused`,
      'keep the state in a folder only its owner can write (chmod go-w), e.g. the default /var/lib/xendoctor',
    );
}

export async function runReport(paths: string[], opts: Record<string, unknown>, io: Io): Promise<number> {
  const s = commonSettings(opts);
  const ro = reportOptions(paths, opts);
  const am = alertSettings(opts);
  const rules = selectRules(s);
  try {
    ensureDir(ro.statePath);
  } catch (e) {
    throw new CliError(
      `cannot create the folder of the state file ${ro.statePath}: ${(e as Error).message}`,
      'give a writable place with --state FILE',
    );
  }
  refuseOpenFolder(dirname(ro.statePath));
  // nothing in the way of a write is a device or FIFO: refused before anything is read or written
  refuseSpecial(ro.statePath, 'state file');
  refuseSpecial(ro.ackPath, 'ack file');
  if (ro.textfile) refuseSpecial(ro.textfile, 'metrics file');
  const lock = await acquireLock(`${ro.statePath}.lock`, { waitMs: ro.waitMs }, (why) =>
    io.err(`xendoctor: took over a stale lock ${ro.statePath}.lock (${why})\n`),
  );
  const onSignal = (sig: NodeJS.Signals) => {
    lock.release();
    process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGHUP' ? 1 : 15));
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const sig of signals) process.on(sig, onSignal);
  let analysis: Analysis | null = null;
  try {
    removeStaleTemps(ro.statePath);
    const loaded = loadState(ro.statePath, s.now);
    if (loaded.notice) io.err(`xendoctor: ${loaded.notice}\n`);
    const state = loaded.state;
    const { acks, problems: ackProblems } = loadAcks(ro.ackPath);
    for (const p of ackProblems) io.err(`xendoctor: ${p}\n`);

    const t = trackedFiles(ro, state, s.now, io, s.quiet);
    if (t.files.length === 0 && !t.console && !ro.journal && t.problems.length === 0)
      throw new CliError('nothing to read', 'name the log files to follow, or --xen-console, or --journal');

    for (let attempt = 1; ; attempt++) {
      analysis = await analyse(ro, s, state, t.files, t.console, t.problems, rules);
      if (ro.verbose) for (const p of analysis.plans) for (const e of p.events) io.err(`xendoctor: ${safeText(e)}\n`);
      if (analysis.consistent || attempt >= 3) break;
      // a file was truncated or rewritten while it was read (copytruncate during the run): again
      if (ro.verbose) io.err('xendoctor: a log was truncated or rewritten while it was read: reading again\n');
      for (const p of analysis.plans) p.close();
      analysis = null;
    }
    if (!analysis.consistent)
      throw new CliError(
        'the logs kept changing under the reader (truncated while read, three times)',
        'run again; nothing was marked as read',
      );
    const { report } = analysis;
    for (const i of report.inputs) for (const e of i.errors) io.err(`xendoctor: ${safeText(i.source)}: ${safeText(e)}\n`);
    if (!analysis.readable) {
      io.err('xendoctor: no input could be read\n');
      return ExitCode.Unusable;
    }

    const nowIso = new Date(s.now).toISOString();
    const since = state.lastRun;
    const next: ReportState = structuredClone(state);
    mergeFindings(report, next, nowIso);
    const reported = report.findings.filter(
      (f) => !silenced(f, acks.get(f.id), since, state.findings[f.id], s.now) && severityRank(f.severity) >= severityRank(s.minSeverity),
    );
    const shown: ScanReport = { ...report, findings: reported, summary: summarize(reported) };
    const nothingNew = reported.length === 0;
    const ctx: DigestContext = { host: hostname(), since, incremental: true };
    const metrics = () =>
      renderPrometheus(shown, {
        now: s.now,
        totals: Object.values(next.findings).map((f) => ({ rule: f.rule, severity: f.severity, host: f.host, count: f.count })),
      });

    // deliver
    if (ro.mailTo) {
      if (!nothingNew) {
        const message = renderEmail(shown, {
          from: ro.mailFrom,
          to: ro.mailTo,
          date: new Date(s.now),
          digest: ctx,
          eol: ro.smtp ? '\r\n' : '\n',
        });
        try {
          if (ro.smtp) await sendWithSmtp(ro.smtp, ro.mailFrom, ro.mailTo, message);
          else await sendWithSendmail(findSendmail(ro.sendmail), message);
        } catch (e) {
          if (e instanceof CliError) throw e;
          throw new CliError(
            `could not deliver the report: ${safeText((e as Error).message)}`,
            'nothing was marked as read: the next run reports all of it again',
          );
        }
      }
    } else {
      // stdout is a delivery like the mail: a closed pipe or a full disk marks nothing as read
      let text = '';
      if (s.format === 'prometheus') {
        if (!ro.textfile) text = metrics();
      } else if (!nothingNew || s.format === 'nagios') {
        const view = s.quiet ? { ...shown, inputs: [] } : shown;
        switch (s.format) {
          case 'text':
            text = digestText(view, ctx, s.color);
            break;
          case 'email':
            text = renderEmail(view, { from: ro.mailFrom, to: defaultTo(), date: new Date(s.now), digest: ctx });
            break;
          default:
            text = render(shown, s);
        }
      }
      if (text) {
        try {
          (io.outSync ?? io.out)(text);
        } catch (e) {
          throw new CliError(
            `could not write the report to standard output: ${safeText((e as Error).message)}`,
            'nothing was marked as read: the next run reports all of it again',
          );
        }
      }
    }
    if (am && reported.length > 0) {
      const client = new AlertmanagerClient({ ...am.config, log: (m) => io.err(`xendoctor: ${m}\n`) });
      client.send(reported.map((f) => findingAlert(f, Date.parse(next.findings[f.id]?.since ?? '') || s.now, s.now + am.resolveAfterMs)));
      const failed = await client.flush(ALERT_FLUSH_MS);
      client.stop();
      if (failed.length === am.config.urls.length)
        throw new CliError(
          `could not deliver the alerts: ${failed.map((f) => `${f.name}: ${safeText(f.error)}`).join('; ')}`,
          'nothing was marked as read: the next run posts them again',
        );
      for (const f of failed)
        io.err(`xendoctor: alerts not delivered to ${f.name} (${safeText(f.error)}); another Alertmanager took them\n`);
    }
    if (ro.textfile) {
      try {
        ensureDir(ro.textfile, 0o755);
        writeFileAtomic(ro.textfile, metrics(), 0o644, 'metrics file');
      } catch (e) {
        throw new CliError(`cannot write the metrics file ${ro.textfile}: ${(e as Error).message}`, 'nothing was marked as read');
      }
    }

    // delivered: now remember what was read
    if (!ro.dryRun) {
      next.lastRun = nowIso;
      for (const p of analysis.plans) {
        const tf = p.commit();
        if (tf) next.files[p.path] = tf;
      }
      if (analysis.console) next.console = analysis.console.news.mark;
      if (analysis.journal?.cursor) next.journal = { cursor: analysis.journal.cursor };
      next.pending = analysis.pending;
      pruneFindings(next, s.now);
      try {
        saveState(ro.statePath, next);
      } catch (e) {
        throw new CliError(
          `the report was delivered but the state file ${ro.statePath} could not be written: ${(e as Error).message}`,
          'the next run will report the same again',
        );
      }
    }
    return nothingNew ? ExitCode.Ok : exitCodeFor(reported, s.failOn);
  } finally {
    for (const p of analysis?.plans ?? []) p.close();
    for (const sig of signals) process.off(sig, onSignal);
    lock.release();
  }
}

/** Register `report`. */
export function registerReport(program: Command, io: Io, setCode: (c: number) => void): void {
  const cmd = addCommonOptions(
    program
      .command('report')
      .description('cron mode: only what is new since the last run, e-mail ready; prints nothing when all is well')
      .argument('[paths...]', "log files, folders or globs to follow (default: this host's usual logs and xl dmesg)"),
  )
    .option('--state <file>', 'state file (default /var/lib/xendoctor/state.json as root, else $XDG_STATE_HOME/xendoctor/state.json)')
    .option('--ack-file <file>', 'acknowledgements (default: "acks" beside the state file)')
    .option('--xen-console', 'also read the hypervisor console (xl dmesg), only the lines not seen before')
    .option('--xl <path>', 'the xl (or xm) program for the console (implies --xen-console)')
    .option('--journal', 'also read the systemd journal after the cursor of the last run')
    .option('--no-unrecognized', 'leave out the section of unrecognised messages that look like trouble')
    .option('--journalctl <path>', 'the journalctl program (implies --journal)')
    .option('--mail-to <addr>', 'send the report by e-mail to these addresses (comma-separated) instead of printing it')
    .option('--mail-from <addr>', 'sender address (default xendoctor@<this host>)')
    .option('--sendmail <path>', 'the sendmail program (default /usr/sbin/sendmail); it is run as `sendmail -t -i`')
    .option('--smtp <url>', 'send over SMTP instead of sendmail: smtp://[user:password@]host[:port] or smtps://…')
    .option('--textfile <path>', "also write metrics for node_exporter's textfile collector to this file (atomically)")
    .option('--command-timeout <seconds>', 'how long xl dmesg may run, and journalctl stay silent, before it is stopped', '60')
    .option('--wait <seconds>', 'how long to wait for another report run holding the lock', '10')
    .option('--dry-run', 'report, but remember nothing (the state file is left as it was)')
    .option('--baseline <file>', 'also report unrecognised messages new to this baseline or far more frequent (xendoctor baseline learn)')
    .option('--verbose', 'say on stderr what was recognised (rotations, truncations, retries)');
  addAlertmanagerOptions(cmd, '2h')
    .addHelpText(
      'after',
      `
Cron: 17 * * * * root xendoctor report --mail-to root --quiet
Nothing is printed (so cron sends nothing) when nothing new reaches --min-severity.`,
    )
    .action(async (paths: string[], opts: Record<string, unknown>) => setCode(await runReport(paths, opts, io)));
}
