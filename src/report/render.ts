/** Picks the reporter for --format. */
import type { ScanReport } from '../types.js';
import { CliError } from '../errors.js';
import { renderJson, renderNdjson } from './json.js';
import { renderMarkdown } from './markdown.js';
import { renderText } from './text.js';

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
    case 'text':
      return renderText(report, { color: s.color, quiet: s.quiet });
    default:
      throw new CliError(`--format ${s.format} is not available for this command`, 'use text, json, ndjson or markdown');
  }
}
