/**
 * One cron run (`xendoctor report`): under the state file's lock, read what is new since the last
 * run (read-new.ts), keep what is news (news.ts), deliver it (deliver.ts), and only then write the
 * state (atomically), so that a run that is killed or whose delivery fails loses nothing.
 */
import { lstatSync } from 'node:fs';
import { dirname } from 'node:path';
import { CliError } from '../errors.js';
import type { Rule } from '../engine/catalogue.js';
import { summarize } from '../engine/findings.js';
import { acquireLock } from '../state/lock.js';
import { loadState, pruneFindings, saveState, type ReportState } from '../state/state.js';
import { loadAcks } from '../state/acks.js';
import { ensureDir, refuseSpecial, removeStaleTemps } from '../state/atomic.js';
import { safeText } from '../render/sanitize.js';
import { severityRank, type Finding, type ScanReport } from '../types.js';
import type { Io } from '../io.js';
import type { CronAlerts, CronOptions, CronSettings } from './options.js';
import { readNew, trackedFiles, type Analysis } from './read-new.js';
import { mergeFindings, silenced } from './news.js';
import { deliverReport } from './deliver.js';

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

/** The end of a run: nothing could be read, or the findings reported (none: nothing new). */
export type CronResult = { readable: false } | { readable: true; reported: Finding[] };

export async function runCron(ro: CronOptions, s: CronSettings, am: CronAlerts, rules: Rule[], io: Io): Promise<CronResult> {
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
      analysis = await readNew(ro, s, state, t.files, t.console, t.problems, rules);
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
      return { readable: false };
    }

    const nowIso = new Date(s.now).toISOString();
    const since = state.lastRun;
    const next: ReportState = structuredClone(state);
    mergeFindings(report, next, nowIso);
    const reported = report.findings.filter(
      (f) => !silenced(f, acks.get(f.id), since, state.findings[f.id], s.now) && severityRank(f.severity) >= severityRank(s.minSeverity),
    );
    const shown: ScanReport = { ...report, findings: reported, summary: summarize(reported) };
    await deliverReport(shown, next, since, ro, s, am, io);

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
    return { readable: true, reported };
  } finally {
    for (const p of analysis?.plans ?? []) p.close();
    for (const sig of signals) process.off(sig, onSignal);
    lock.release();
  }
}
