/** Shared types of the pipeline: sources → lines → events → engine → findings → reporters. */

export type Severity = 'info' | 'warning' | 'error' | 'critical';
export const SEVERITIES: readonly Severity[] = ['info', 'warning', 'error', 'critical'];

/** Rank of a severity, info = 0 … critical = 3. */
export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

/** Where a message came from, as far as its line says. */
export type SourceKind = 'hypervisor' | 'kernel' | 'daemon' | 'xend' | 'toolstack' | 'unknown';

/** Line formats recognised by the parser (the keys of `inputs[].formats`). */
export type LineFormat =
  'syslog' | 'rfc5424' | 'rfc3339' | 'journal-json' | 'dmesg' | 'dmesg-T' | 'xen' | 'xend' | 'libxl' | 'console' | 'plain';

/** One parsed log line: prefix decoded, message left for the rules. */
export interface LogEvent {
  format: LineFormat;
  /** Wall-clock time in ms since the epoch, or null when the line has none. */
  time: number | null;
  /** Kernel uptime stamp `[  12.345678]` in seconds, where present. */
  uptime: number | null;
  host: string | null;
  program: string | null;
  pid: string | null;
  source: SourceKind;
  /** The message with every prefix stripped: what rules match against. */
  message: string;
}

export interface Evidence {
  source: string;
  line: number;
  time: string | null;
  text: string;
}

export interface Finding {
  id: string;
  rule: string;
  title: string;
  severity: Severity;
  host: string | null;
  key: Record<string, string>;
  count: number;
  first: string | null;
  last: string | null;
  evidence: Evidence[];
  diagnosis: string;
  fix: string[];
  references: string[];
  harmless: boolean;
  causedBy: string[];
  /** The rule's tags (areas: dom0, memory, storage…), for filtering and routing. */
  tags: string[];
  ongoing?: { since: string | null; before: number };
}

export interface InputSummary {
  source: string;
  lines: number;
  bytes: number;
  formats: Partial<Record<LineFormat, number>>;
  first: string | null;
  last: string | null;
  errors: string[];
}

export interface Unrecognized {
  template: string;
  count: number;
  first: string | null;
  last: string | null;
  example: string;
  related: string[];
}

export interface ScanReport {
  tool: 'xendoctor';
  version: string;
  schema: 1;
  inputs: InputSummary[];
  findings: Finding[];
  unrecognized: Unrecognized[];
  summary: Record<Severity, number>;
}
