/** What a cron run (`xendoctor report`) is told: the options of the command, validated (src/cli/report.ts). */
import type { Severity } from '../types.js';
import type { BaselineCheck } from '../engine/unrecognized-baseline.js';
import type { AlertSettings } from '../deliver/alertmanager-client.js';

export interface CronOptions {
  statePath: string;
  ackPath: string;
  paths: string[];
  console: boolean;
  xl: string | null;
  journal: boolean;
  journalctl: string;
  /** The section of unrecognised messages (--no-unrecognized leaves it out). */
  unrecognized: boolean;
  mailTo: string[] | null;
  mailFrom: string;
  sendmail: string | undefined;
  smtp: string | null;
  textfile: string | null;
  waitMs: number;
  commandTimeoutMs: number;
  dryRun: boolean;
  baseline: BaselineCheck | null;
  verbose: boolean;
}

/** The common settings a cron run uses (clock, window, output). */
export interface CronSettings {
  now: number;
  zone: string;
  year: number | null;
  since: number | null;
  until: number | null;
  hosts: string[] | null;
  format: string;
  color: boolean;
  quiet: boolean;
  minSeverity: Severity;
  failOn: Severity;
}

/** The --alertmanager settings, or null. */
export type CronAlerts = AlertSettings | null;
