/** vm.min_free_kbytes: the persistent setting (sysctl.d, sysctl.conf) and the live value (/proc/sys/vm/min_free_kbytes). */
import type { CheckContext } from './context.js';

/** The reserve the operator notes recommend for hosts with many guests: 128 MB. */
export const MIN_FREE_KBYTES = 131072;

/** Hosts smaller than this are "small": a low reserve matters less there. */
const SMALL_HOST_MIB = 16 * 1024;

const DIRS = ['/etc/sysctl.d', '/run/sysctl.d', '/usr/local/lib/sysctl.d', '/usr/lib/sysctl.d', '/lib/sysctl.d'];

interface Setting {
  value: string;
  source: string;
  line: number;
  text: string;
}

/** The last vm.min_free_kbytes of the files, read in the order `sysctl --system` applies them. */
function configured(ctx: CheckContext): { setting: Setting | null; files: number } {
  // sysctl.d files by name across the folders (the first folder wins a name), then /etc/sysctl.conf last.
  const byName = new Map<string, string>();
  for (const d of DIRS) for (const f of ctx.list(d) ?? []) if (f.endsWith('.conf') && !byName.has(f)) byName.set(f, `${d}/${f}`);
  const files = [...[...byName.keys()].sort().map((k) => byName.get(k)!), '/etc/sysctl.conf'];
  let setting: Setting | null = null;
  let read = 0;
  for (const path of files) {
    const r = ctx.read(path);
    if (!r.ok) {
      if (!r.absent) ctx.skip('sysctl', r.reason);
      continue;
    }
    read++;
    r.file.lines.forEach((l, i) => {
      const m = /^\s*-?\s*vm[./]min_free_kbytes\s*=\s*(\S+)/.exec(l);
      if (m) setting = { value: m[1]!, source: r.file.source, line: i + 1, text: l.trim() };
    });
  }
  return { setting, files: read };
}

export function checkMinFreeKbytes(ctx: CheckContext): void {
  const { setting, files } = configured(ctx);
  const liveFile = ctx.read('/proc/sys/vm/min_free_kbytes');
  const live = liveFile.ok ? Number(liveFile.file.lines[0]) : null;
  if (!liveFile.ok)
    ctx.skip(
      'min-free-kbytes-live',
      liveFile.absent ? `${ctx.real('/proc/sys/vm/min_free_kbytes')} is absent: live value not read` : liveFile.reason,
    );
  if (files === 0) ctx.skip('sysctl', `no sysctl configuration (${ctx.real('/etc/sysctl.conf')}, ${ctx.real('/etc/sysctl.d')}) to read`);
  if (live === null && files === 0) return;
  const want = MIN_FREE_KBYTES;
  const conf = setting ? Number(setting.value) : null;
  const conditions: string[] = [];
  if (conf !== null && conf < want) conditions.push('configured-low');
  else if (conf === null && live !== null && live < want) conditions.push('not-configured');
  else if (conf === null && live === null) conditions.push('not-configured');
  if (conf !== null && conf >= want && live !== null && live < want) conditions.push('not-applied');
  if (!conditions.length) return;
  const total = ctx.facts.totalMemoryMiB;
  if (total !== null && total < SMALL_HOST_MIB) conditions.push('small-host');
  const evidence = [];
  if (setting) evidence.push({ source: setting.source, line: setting.line, text: setting.text });
  if (liveFile.ok && live !== null) evidence.push({ source: liveFile.file.source, line: 1, text: String(live) });
  if (!evidence.length) evidence.push({ source: ctx.real('/etc/sysctl.conf'), line: 0, text: 'vm.min_free_kbytes is not set' });
  ctx.report({
    rule: 'config-min-free-kbytes-low',
    values: {
      want,
      live: live ?? 'unknown',
      configured: conf ?? 'not set',
      configured_in: setting ? `${setting.source}:${setting.line}` : 'nowhere',
      total_mib: total ?? 'unknown',
    },
    conditions,
    evidence,
  });
}
