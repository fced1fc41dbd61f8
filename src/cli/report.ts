/**
 * `xendoctor report [PATH...] --state FILE`: cron mode. Reads only what is new since the last run
 * (files across rotation, the hypervisor console, the journal), analyses it with the normal engine,
 * reports new and ongoing findings — or prints nothing when nothing new reaches --min-severity — and
 * delivers the report (stdout, e-mail, metrics file). This module reads the options; the run is
 * src/cron/run.ts.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { CliError, ExitCode } from '../errors.js';
import { defaultStatePath } from '../state/state.js';
import { defaultAckPath } from '../state/acks.js';
import { defaultFrom, parseAddresses } from '../render/email.js';
import { checkSmtpUrl } from '../deliver/mail.js';
import { runCron } from '../cron/run.js';
import type { CronOptions } from '../cron/options.js';
import { addCommonOptions, commonSettings, exitCodeFor, selectRules } from './options.js';
import type { Io } from '../io.js';
import { baselineOption } from './prelude.js';
import { addAlertmanagerOptions, alertSettings } from './alertmanager.js';

function reportOptions(paths: string[], o: Record<string, unknown>): CronOptions {
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

export async function runReport(paths: string[], opts: Record<string, unknown>, io: Io): Promise<number> {
  const s = commonSettings(opts);
  const ro = reportOptions(paths, opts);
  const am = alertSettings(opts);
  const rules = selectRules(s);
  const result = await runCron(ro, s, am, rules, io);
  if (!result.readable) return ExitCode.Unusable;
  return result.reported.length === 0 ? ExitCode.Ok : exitCodeFor(result.reported, s.failOn);
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
