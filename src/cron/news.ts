/**
 * What of a cron run's findings is news: findings seen in earlier runs are marked ongoing and
 * their counts folded into the state; harmless findings already reported and acknowledged ones
 * stay quiet until they get worse.
 */
import { severityRank, type Finding, type ScanReport } from '../types.js';
import type { Ack } from '../state/acks.js';
import type { ReportState } from '../state/state.js';

/** A rate this many times the acknowledged one (and at least SURGE_MIN hits) is news again. */
const SURGE = 4;
const SURGE_MIN = 5;
const HOUR = 3_600_000;

/**
 * Whether a finding stays out of the report. A harmless finding seen in earlier runs, or an
 * acknowledged one, stays quiet while it goes on, until something about it changes: a higher
 * severity, or a rate well above the one acknowledged (a new key or a new host is a new finding).
 */
export function silenced(
  f: Finding,
  ack: Ack | undefined,
  lastRun: string | null,
  prev: ReportState['findings'][string] | undefined,
  now: number,
): boolean {
  const worse = prev !== undefined && severityRank(f.severity) > severityRank(prev.severity);
  if (!ack) return f.harmless && prev !== undefined && !worse;
  if (f.last !== null && Date.parse(f.last) <= ack.at) return true;
  // undated lines: read in the first run after the ack, they were most likely written before it
  if (f.last === null && (lastRun === null || ack.at >= Date.parse(lastRun))) return true;
  if (prev === undefined || worse) return false;
  const hours = (from: number, to: number) => Math.max(1, (to - from) / HOUR);
  const sinceMs = Date.parse(prev.since ?? '');
  const ackedRate = prev.count / hours(Number.isNaN(sinceMs) ? ack.at - HOUR : sinceMs, ack.at);
  const rate = f.count / hours(lastRun ? Date.parse(lastRun) : now - HOUR, now);
  return !(f.count >= SURGE_MIN && rate > SURGE * ackedRate);
}

/** Mark findings seen in earlier runs as ongoing, and fold this run's counts into the state. */
export function mergeFindings(report: ScanReport, state: ReportState, nowIso: string): void {
  for (const f of report.findings) {
    const prev = state.findings[f.id];
    if (prev) f.ongoing = { since: prev.since, before: prev.count };
    const last = prev?.last && f.last ? (prev.last > f.last ? prev.last : f.last) : (f.last ?? prev?.last ?? null);
    state.findings[f.id] = {
      rule: f.rule,
      host: f.host,
      severity: f.severity,
      title: f.title,
      since: prev ? prev.since : (f.first ?? nowIso),
      last,
      count: (prev?.count ?? 0) + f.count,
      seen: nowIso,
    };
  }
}
