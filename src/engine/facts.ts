/** Host facts seen in the logs (Xen and kernel versions, toolstack) and the version gates of rules. */
import type { LogEvent } from '../types.js';

export interface HostFacts {
  xen?: string;
  kernel?: string;
  toolstack?: 'xm' | 'xl';
  /** Host RAM in MiB, as Xen reports it ("(XEN) System RAM: 393215MB", xl info total_memory). */
  memory?: string;
}

/** Literals of the lines that carry facts; added to the prefilter. */
export const FACT_LITERALS = ['Xen version ', 'Linux version ', 'xen_version', 'System RAM: ', 'total_memory'];

const XEN_VERSION = /^(?:Xen version |xen_version\s*:\s*)(\d+\.\d+(?:\.\d+)?)/;
const LINUX_VERSION = /^Linux version (\d+\.\d+(?:\.\d+)?)/;
const HOST_MEMORY = /^(?:System RAM: (\d+)MB|total_memory\s*: (\d+)$)/;

/** Record what a line tells about its host. */
export function observeFacts(facts: HostFacts, ev: LogEvent): void {
  const m = ev.message;
  let v = XEN_VERSION.exec(m);
  if (v) facts.xen = v[1];
  v = LINUX_VERSION.exec(m);
  if (v && ev.source !== 'hypervisor') facts.kernel = v[1];
  const mem = HOST_MEMORY.exec(m);
  if (mem && (ev.source === 'hypervisor' || mem[2] !== undefined)) facts.memory = mem[1] ?? mem[2];
  if (ev.source === 'xend') facts.toolstack = 'xm';
  else if (ev.source === 'toolstack' && /^(?:libxl|xl):/.test(m)) facts.toolstack ??= 'xl';
}

/** Compare dotted versions numerically: -1, 0, 1. Missing parts count as 0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((x) => parseInt(x, 10) || 0);
  const pb = b.split('.').map((x) => parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

/** Does `version` satisfy a range such as ">=4.2.0 <4.3", "4.2.0 - 4.2.1", "=4.0.1" (all parts must hold)? */
export function inRange(version: string, range: string): boolean {
  const hyphen = /^\s*([\d.]+)\s+-\s+([\d.]+)\s*$/.exec(range);
  if (hyphen) return compareVersions(version, hyphen[1]!) >= 0 && compareVersions(version, hyphen[2]!) <= 0;
  for (const part of range.trim().split(/\s+/)) {
    const m = /^(>=|<=|>|<|=)?([\d.]+)$/.exec(part);
    if (!m) continue;
    const c = compareVersions(version, m[2]!);
    const op = m[1] ?? '=';
    const ok = op === '>=' ? c >= 0 : op === '<=' ? c <= 0 : op === '>' ? c > 0 : op === '<' ? c < 0 : c === 0;
    if (!ok) return false;
  }
  return true;
}

/** A rule applies unless the logs show a version or toolstack outside its `applies`. */
export function ruleApplies(
  applies: { xen?: string; kernel?: string; toolstack?: 'xm' | 'xl'; memory?: string } | undefined,
  facts: HostFacts,
): boolean {
  if (!applies) return true;
  if (applies.memory && facts.memory && !inRange(facts.memory, applies.memory)) return false;
  if (applies.xen && facts.xen && !inRange(facts.xen, applies.xen)) return false;
  if (applies.kernel && facts.kernel && !inRange(facts.kernel, applies.kernel)) return false;
  if (applies.toolstack && facts.toolstack && applies.toolstack !== facts.toolstack) return false;
  return true;
}
