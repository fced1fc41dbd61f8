/** Picks the reporter for --format. */
import type { ScanReport } from '../types.js';
import { CliError } from '../errors.js';
import { renderHtml } from './html.js';
import { renderJson, renderNdjson } from './json.js';
import { renderMarkdown } from './markdown.js';
import { renderText } from './text.js';
import { defaultFrom, defaultTo, renderEmail } from './email.js';
import { renderPrometheus } from './prometheus.js';
import { hostname } from 'node:os';

export interface RenderSettings {
  format: string;
  color: boolean;
  quiet: boolean;
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
    default:
      throw new CliError(`--format ${s.format} is not available for this command`, 'use text, json, ndjson or markdown');
  }
}
