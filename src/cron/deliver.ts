/**
 * Delivery of a cron run's report, before anything is marked as read: by e-mail (sendmail or SMTP)
 * or on stdout (a closed pipe or a full disk is a failed delivery too), as alerts to Alertmanager,
 * and as node_exporter metrics. A failed delivery is a CliError that says nothing was marked as read.
 */
import { hostname } from 'node:os';
import { CliError } from '../errors.js';
import { render } from '../render/dispatch.js';
import { digestText, type DigestContext } from '../render/digest.js';
import { defaultTo, renderEmail } from '../render/email.js';
import { renderPrometheus } from '../render/prometheus.js';
import { safeText } from '../render/sanitize.js';
import { findSendmail, sendWithSendmail, sendWithSmtp } from '../deliver/mail.js';
import { AlertmanagerClient, findingAlert } from '../deliver/alertmanager-client.js';
import { ensureDir, writeFileAtomic } from '../state/atomic.js';
import type { ReportState } from '../state/state.js';
import type { ScanReport } from '../types.js';
import type { Io } from '../io.js';
import type { CronAlerts, CronSettings, CronOptions } from './options.js';

/** How long a report run keeps retrying an Alertmanager that does not answer. */
const ALERT_FLUSH_MS = 20_000;

/**
 * Deliver `shown` (the findings that are news) wherever the options say; `next` is the state this
 * run will save (its totals go into the metrics, its `since` into the alerts).
 */
export async function deliverReport(
  shown: ScanReport,
  next: ReportState,
  since: string | null,
  ro: CronOptions,
  s: CronSettings,
  am: CronAlerts,
  io: Io,
): Promise<void> {
  const reported = shown.findings;
  const nothingNew = reported.length === 0;
  const ctx: DigestContext = { host: hostname(), since, incremental: true };
  const metrics = () =>
    renderPrometheus(shown, {
      now: s.now,
      totals: Object.values(next.findings).map((f) => ({ rule: f.rule, severity: f.severity, host: f.host, count: f.count })),
    });

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
    for (const f of failed) io.err(`xendoctor: alerts not delivered to ${f.name} (${safeText(f.error)}); another Alertmanager took them\n`);
  }
  if (ro.textfile) {
    try {
      ensureDir(ro.textfile, 0o755);
      writeFileAtomic(ro.textfile, metrics(), 0o644, 'metrics file');
    } catch (e) {
      throw new CliError(`cannot write the metrics file ${ro.textfile}: ${(e as Error).message}`, 'nothing was marked as read');
    }
  }
}
