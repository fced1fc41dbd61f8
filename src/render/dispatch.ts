/** Picks the reporter for --format. */
import type { ScanReport, Severity } from '../types.js';
import { CliError } from '../errors.js';
import { renderHtml } from './html.js';
import { renderJson, renderNdjson } from './json.js';
import { renderMarkdown } from './markdown.js';
import { renderText } from './text.js';
import { defaultFrom, defaultTo, renderEmail } from './email.js';
import { renderPrometheus } from './prometheus.js';
import { pluginStatus, renderNagios } from './nagios.js';
import { hostname } from 'node:os';

export interface RenderSettings {
  format: string;
  color: boolean;
  quiet: boolean;
  /** For `nagios`: the level from which the state is WARNING or CRITICAL (as the exit code). */
  failOn?: Severity;
}

/** Render a report in the requested format. */
export function render(report: ScanReport, s: RenderSettings): string {
  switch (s.format) {
    case 'json':
      return renderJson(report);
    case 'ndjson':
      return renderNdjson(report);
    case 'markdown':
      return renderMarkdown(report);
    case 'html':
      return renderHtml(report);
    case 'text':
      return renderText(report, { color: s.color, quiet: s.quiet });
    case 'email':
      return renderEmail(report, {
        from: defaultFrom(),
        to: defaultTo(),
        date: new Date(),
        digest: { host: hostname(), since: null, incremental: false },
      });
    case 'prometheus':
      return renderPrometheus(report);
    case 'nagios':
      return renderNagios(report, pluginStatus(report.findings, s.failOn ?? 'warning'));
    default:
      throw new CliError(`--format ${s.format} is not available for this command`, 'use text, json, ndjson or markdown');
  }
}
