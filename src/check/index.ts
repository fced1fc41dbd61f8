/**
 * `xendoctor check`: run every configuration check against a host (this one, or a tree under --root)
 * and build the same report as `scan`, plus the checks that could not run.
 */
import { scanReport } from '../report-document.js';
import type { ScanReport } from '../types.js';
import { CheckContext, type ContextOptions, type SkippedCheck } from './context.js';
import { checkBridgePorts, checkToolstack, readHostname } from './running-host.js';
import { checkCmdlines, readBootConfig } from './grub.js';
import { checkBallooning } from './xend.js';
import { checkBridgeBudget, checkGuestCount, checkGuestCpus, readGuests } from './guests.js';
import { checkXendomains } from './xendomains.js';
import { checkMinFreeKbytes } from './sysctl.js';
import { checkIoScheduler } from './scheduler.js';
import { checkDiskSpace } from './space.js';
import { loadConfigRules, toFinding, type CheckResult } from './config-rules.js';
import { compareFindings } from '../engine/findings.js';

/** The report of `check`: the scan report plus `skipped`. */
export interface CheckReport extends ScanReport {
  skipped: SkippedCheck[];
}

/** One result per rule and key: evidence and conditions of results seen by several checks are joined. */
function mergeResults(results: CheckResult[]): CheckResult[] {
  const byKey = new Map<string, CheckResult>();
  for (const r of results) {
    const k = `${r.rule}\0${JSON.stringify(Object.entries(r.key ?? {}).sort())}`;
    const seen = byKey.get(k);
    if (!seen) {
      byKey.set(k, { ...r, evidence: [...r.evidence], conditions: [...(r.conditions ?? [])], values: { ...r.values } });
      continue;
    }
    for (const e of r.evidence) if (!seen.evidence.some((x) => x.source === e.source && x.line === e.line)) seen.evidence.push(e);
    for (const c of r.conditions ?? []) if (!seen.conditions!.includes(c)) seen.conditions!.push(c);
    for (const [name, v] of Object.entries(r.values ?? {})) {
      const old = seen.values![name];
      if (old === undefined) seen.values![name] = v;
      else if (typeof old === 'string' && typeof v === 'string' && !old.split('; ').includes(v)) seen.values![name] = `${old}; ${v}`;
    }
  }
  return [...byKey.values()];
}

/** Guests named in a group finding's key and title before "and N more". */
const GROUP_NAMED = 10;

/**
 * One finding per condition, not per guest: the results of one rule keyed by guest alone that share
 * their conditions become one, listing the guests in natural order (g1, g2, … g10, not g1, g10, g2).
 * Values that differ between the guests are listed too (distinct, in guest order).
 */
export function aggregateGuests(results: CheckResult[]): CheckResult[] {
  const out: CheckResult[] = [];
  const groups = new Map<string, CheckResult[]>();
  for (const r of results) {
    const keys = Object.keys(r.key ?? {});
    if (keys.length !== 1 || keys[0] !== 'guest') {
      out.push(r);
      continue;
    }
    const k = `${r.rule}\0${[...(r.conditions ?? [])].sort().join('+')}`;
    const list = groups.get(k) ?? [];
    list.push(r);
    groups.set(k, list);
  }
  const natural = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });
  for (const list of groups.values()) {
    if (list.length === 1) {
      out.push(list[0]!);
      continue;
    }
    list.sort((a, b) => natural(a.key!.guest!, b.key!.guest!));
    const names = list.map((r) => r.key!.guest!);
    const shown =
      names.length > GROUP_NAMED ? `${names.slice(0, GROUP_NAMED).join(', ')} and ${names.length - GROUP_NAMED} more` : names.join(', ');
    const values: Record<string, string | number> = {};
    for (const r of list)
      for (const [name, v] of Object.entries(r.values ?? {})) {
        const old = values[name];
        if (old === undefined) values[name] = v;
        else if (!String(old).split(', ').includes(String(v))) values[name] = `${old}, ${v}`;
      }
    values.guest = shown;
    values.guests = names.join(', ');
    values.guest_count = names.length;
    values.guest_words = names.join(' ');
    out.push({
      rule: list[0]!.rule,
      key: { guests: (list[0]!.conditions ?? []).slice().sort().join('+') || 'all' },
      values,
      conditions: [...(list[0]!.conditions ?? []), 'group'],
      evidence: list.flatMap((r) => r.evidence),
      group: names.length,
    });
  }
  return out;
}

/** Why this looks like a Xen host, or an empty list when nothing does. */
function xenSigns(ctx: CheckContext): string[] {
  const signs: string[] = [];
  if (ctx.isDir('/etc/xen')) signs.push(`${ctx.real('/etc/xen')} exists`);
  const hv = ctx.read('/sys/hypervisor/type');
  if (hv.ok && hv.file.text.trim() === 'xen') signs.push('/sys/hypervisor/type is xen');
  if (ctx.exists('/proc/xen/capabilities')) signs.push('/proc/xen exists');
  if ((ctx.list('/boot') ?? []).some((f) => /^xen.*\.gz$/.test(f))) signs.push('a Xen hypervisor image in /boot');
  if (ctx.facts.xlInfo) signs.push(`${ctx.facts.xlInfo.source} answered`);
  return signs;
}

/** Run the checks and build the report (findings filtered by `only`/`exclude` rule ids). */
export function runChecks(
  opts: ContextOptions,
  select: (id: string) => boolean = () => true,
): { report: CheckReport; problem: string | null } {
  const rules = loadConfigRules();
  const ctx = new CheckContext(opts);
  readHostname(ctx);
  checkToolstack(ctx);
  const signs = xenSigns(ctx);
  if (signs.length === 0) {
    ctx.skip(
      'xen-host',
      `no sign of Xen under ${ctx.root} (no /etc/xen, no /sys/hypervisor/type = xen, no /proc/xen, no /boot/xen*.gz, no answer from xl info): not a Xen host`,
    );
  } else {
    readBootConfig(ctx);
    checkCmdlines(ctx);
    checkBallooning(ctx);
    readGuests(ctx);
    checkGuestCpus(ctx);
    checkBridgeBudget(ctx);
    checkGuestCount(ctx);
    checkBridgePorts(ctx);
    checkXendomains(ctx);
    checkMinFreeKbytes(ctx);
    checkIoScheduler(ctx);
    checkDiskSpace(ctx);
  }
  const findings = aggregateGuests(mergeResults(ctx.results))
    .filter((r) => select(r.rule))
    .map((r) => {
      const rule = rules.get(r.rule);
      if (!rule) throw new Error(`check reported "${r.rule}", which has no rules/config/${r.rule}.yaml`);
      return toFinding(rule, r, ctx.facts.hostname);
    })
    .sort(compareFindings);
  const report: CheckReport = {
    ...scanReport(ctx.inputs, findings, []),
    skipped: ctx.skipped,
  };
  const problem =
    signs.length === 0
      ? ctx.skipped[0]!.reason
      : ctx.inputs.length === 0
        ? `none of the host's configuration files could be read under ${ctx.root}`
        : null;
  return { report, problem };
}

/** Ids of every configuration rule (for --only/--exclude). */
export function configRuleIds(): string[] {
  return [...loadConfigRules().keys()];
}
