/** Types of the postmortem timeline: marks, hourly counts, incidents, the fleet summary. */
import type { ScanReport, Severity } from '../types.js';

/**
 * Something the timeline points out besides findings: a dom0 or Xen boot, a stretch without lines,
 * a hole between rotated files, evidence that is missing (a console ring that wrapped), lines that
 * could not be dated.
 */
export type MarkKind = 'boot' | 'xen-boot' | 'gap' | 'rotation-gap' | 'missing' | 'undated';

export interface Mark {
  kind: MarkKind;
  /** ISO time (UTC), or null when it cannot be placed. */
  time: string | null;
  /** End of a stretch (gaps). */
  end?: string | null;
  host: string | null;
  text: string;
  source?: string;
}

/** Lines and finding hits of one host in one hour. */
export interface HourBucket {
  /** Start of the hour, ISO (UTC). */
  hour: string;
  host: string | null;
  lines: number;
  hits: Record<Severity, number>;
}

/** A node of an incident's chain: a finding and the findings it caused. */
export interface ChainNode {
  finding: string;
  effects: ChainNode[];
}

/** A root finding with everything it caused, transitively (through `causedBy`). */
export interface Incident {
  /** The root cause's finding id. */
  root: string;
  rule: string;
  title: string;
  host: string | null;
  /** Worst severity in the incident. */
  severity: Severity;
  first: string | null;
  last: string | null;
  /** All finding ids of the incident, root first, then in order of time. */
  findings: string[];
  chain: ChainNode;
  /** The root cause's fix: what to do first. */
  fix: string[];
}

/** One host's row of the fleet summary. */
export interface HostSummary {
  host: string | null;
  lines: number;
  first: string | null;
  last: string | null;
  boots: number;
  findings: Record<Severity, number>;
}

/** The same rule firing on several hosts (the same Xen bug across the fleet). */
export interface SharedFinding {
  rule: string;
  title: string;
  severity: Severity;
  hosts: string[];
  count: number;
}

/** A line of the merged stream around `--around`. */
export interface WindowLine {
  time: string;
  host: string | null;
  source: string;
  line: number;
  text: string;
}

export interface TimelineData {
  hosts: HostSummary[];
  incidents: Incident[];
  shared: SharedFinding[];
  marks: Mark[];
  hours: HourBucket[];
  /** The merged lines of all inputs in the `--around` window (bounded). */
  window: { from: string; to: string; lines: WindowLine[]; omitted: number } | null;
  /** Lines that could not be dated at all. */
  undated: number;
}

/** The JSON document of `timeline --format json`: the scan document plus `timeline`. */
export interface TimelineReport extends ScanReport {
  timeline: TimelineData;
}
