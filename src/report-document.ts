/**
 * The report document (docs/report-format.md, schemas/scan.schema.json): what every analysing
 * command and `check` print as JSON, built here from a run's input summaries, findings and
 * unrecognised messages; the tool's version it carries.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { summarize } from './engine/findings.js';
import type { ResolveProblem } from './sources/inputs.js';
import type { Finding, InputSummary, ScanReport, Unrecognized } from './types.js';

let cachedVersion: string | null = null;
/** The package version. */
export function toolVersion(): string {
  if (!cachedVersion) {
    const pkg = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'package.json'), 'utf8')) as {
      version: string;
    };
    cachedVersion = pkg.version;
  }
  return cachedVersion;
}

/** Input summaries for operands that could not be opened (missing file…): they appear in `inputs[]` with their error. */
export function problemSummaries(problems: ResolveProblem[]): InputSummary[] {
  return problems.map((p) => ({ source: p.source, lines: 0, bytes: 0, formats: {}, first: null, last: null, errors: [p.message] }));
}

/** The scan document (docs/report-format.md, schemas/scan.schema.json) around a run's inputs, findings and unrecognised messages. */
export function scanReport(inputs: InputSummary[], findings: Finding[], unrecognized: Unrecognized[]): ScanReport {
  return { tool: 'xendoctor', version: toolVersion(), schema: 1, inputs, findings, unrecognized, summary: summarize(findings) };
}

/** True when not a single input could be read. */
export function nothingRead(report: ScanReport): boolean {
  return report.inputs.length === 0 || report.inputs.every((i) => i.bytes === 0 && i.errors.some((e) => e !== 'empty input'));
}
