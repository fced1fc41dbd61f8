/** JSON and NDJSON output, exactly as the design contract lays them out. */
import type { ScanReport } from '../types.js';
import { safeJson } from './sanitize.js';

/** The whole report as one JSON document. */
export function renderJson(report: ScanReport): string {
  return safeJson(report, 2) + '\n';
}

/** One finding per line (for shipping to Elasticsearch, Loki…). */
export function renderNdjson(report: ScanReport): string {
  return report.findings.map((f) => safeJson(f)).join('\n') + (report.findings.length ? '\n' : '');
}
