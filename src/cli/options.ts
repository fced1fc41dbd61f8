/** Common command-line options (README.md, "Options") and their validation into typed settings. */
import { Command, Option } from 'commander';
import { CliError, ExitCode } from '../errors.js';
import { SEVERITIES, severityRank, type Finding, type ScanReport, type Severity } from '../types.js';
import { hostZone, parseBound, validZone } from '../parse/time.js';
import { loadCatalogue, type Rule } from '../engine/catalogue.js';
import { summarize } from '../engine/findings.js';
import { pluginStatus } from '../render/nagios.js';

export const FORMATS = ['text', 'json', 'ndjson', 'markdown', 'html', 'email', 'prometheus', 'nagios'] as const;
export type Format = (typeof FORMATS)[number];

export interface CommonSettings {
  format: Format;
  since: number | null;
  until: number | null;
  zone: string;
  year: number | null;
  ruleDirs: string[];
  allowUnsafe: boolean;
  only: Set<string> | null;
  exclude: Set<string>;
  minSeverity: Severity;
  failOn: Severity;
  hosts: string[] | null;
  color: boolean;
  quiet: boolean;
  verbose: boolean;
  now: number;
}

const collect = (v: string, prev: string[]) => [...prev, v];

/** Add the options every analysing command shares. */
export function addCommonOptions(cmd: Command, defaultFormat: Format = 'text', formats: readonly Format[] = FORMATS): Command {
  return cmd
    .addOption(new Option('--format <format>', 'output format').choices([...formats]).default(defaultFormat))
    .option('--since <time>', 'only lines at or after this time (ISO time, or a duration back from now such as 24h)')
    .option('--until <time>', 'only lines at or before this time (ISO time or duration)')
    .option('--tz <zone>', "time zone of stamps that carry none (IANA name, default: this host's)")
    .option('--year <yyyy>', "year of year-less syslog stamps (default: inferred from the file's time)")
    .option('--rules <dir>', 'another folder of rule files (repeatable)', collect, [])
    .option('--allow-unsafe-patterns', 'accept site rules whose patterns can backtrack catastrophically')
    .option('--only <ids>', 'only these rule ids (comma-separated)')
    .option('--exclude <ids>', 'leave out these rule ids (comma-separated)')
    .addOption(new Option('--min-severity <level>', 'report findings at or above this level').choices([...SEVERITIES]).default('info'))
    .addOption(
      new Option('--fail-on <level>', 'exit non-zero when a finding reaches this level').choices([...SEVERITIES]).default('warning'),
    )
    .option('--host <name>', 'only this host (repeatable; lines that name no host are kept)', collect, [])
    .option('--no-color', 'no colour, even on a terminal')
    .option('--quiet', 'no progress, no verdict; findings only');
}

function idList(v: unknown): string[] {
  return typeof v === 'string'
    ? v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : [];
}

/** Validate the parsed options; bad values are usage errors (exit 3). */
export function commonSettings(o: Record<string, unknown>, now = Date.now()): CommonSettings {
  // the host's zone is always one luxon knows (hostZone); only --tz is checked
  const zone = typeof o.tz === 'string' ? o.tz : hostZone();
  if (typeof o.tz === 'string' && !validZone(zone))
    throw new CliError(`--tz: unknown time zone "${zone}"`, 'use an IANA name such as UTC or Europe/Berlin');
  let year: number | null = null;
  if (o.year !== undefined) {
    year = Number(o.year);
    if (!Number.isInteger(year) || year < 1970 || year > 2200) throw new CliError(`--year: "${String(o.year)}" is not a year`);
  }
  const bound = (name: string, v: unknown) => {
    if (v === undefined) return null;
    const t = parseBound(String(v), zone, now);
    if (t === null)
      throw new CliError(`--${name}: cannot read "${String(v)}"`, 'give an ISO time (2026-11-20T08:00) or a duration (30m, 24h, 7d)');
    return t;
  };
  const noColor = o.color === false || (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '');
  return {
    format: o.format as Format,
    since: bound('since', o.since),
    until: bound('until', o.until),
    zone,
    year,
    ruleDirs: (o.rules as string[]) ?? [],
    allowUnsafe: o.allowUnsafePatterns === true,
    only: o.only ? new Set(idList(o.only)) : null,
    exclude: new Set(idList(o.exclude)),
    minSeverity: o.minSeverity as Severity,
    failOn: o.failOn as Severity,
    hosts: (o.host as string[])?.length ? (o.host as string[]) : null,
    color: !noColor && process.stdout.isTTY === true,
    quiet: o.quiet === true,
    verbose: o.verbose === true,
    now,
  };
}

/** The part of the settings every analysis takes (clock, time window, hosts). */
export function scanWindow(s: CommonSettings): {
  zone: string;
  year: number | null;
  since: number | null;
  until: number | null;
  hosts: string[] | null;
} {
  return { zone: s.zone, year: s.year, since: s.since, until: s.until, hosts: s.hosts };
}

/** The catalogue with --rules, --only and --exclude applied. */
export function selectRules(s: CommonSettings): Rule[] {
  const rules = loadCatalogue({ extraDirs: s.ruleDirs, allowUnsafe: s.allowUnsafe });
  const known = new Set(rules.map((r) => r.id));
  for (const id of [...(s.only ?? []), ...s.exclude]) {
    if (!known.has(id)) throw new CliError(`unknown rule id "${id}"`, 'see `xendoctor rules list`');
  }
  return rules.filter((r) => (!s.only || s.only.has(r.id)) && !s.exclude.has(r.id));
}

/** Drop findings under --min-severity and recount the summary. */
export function applyMinSeverity(report: ScanReport, min: Severity): ScanReport {
  const findings = report.findings.filter((f: Finding) => severityRank(f.severity) >= severityRank(min));
  return { ...report, findings, summary: summarize(findings) };
}

/** Exit code from the worst finding against --fail-on (docs/report-format.md, "Exit codes"). */
export function exitCodeFor(findings: Finding[], failOn: Severity): ExitCode {
  return pluginStatus(findings, failOn) as number as ExitCode;
}
