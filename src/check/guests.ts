/**
 * Guest configurations (/etc/xen/*.cfg and /etc/xen/auto/): cpus= narrower than vcpus= or pinned to few
 * cores, guests per bridge against the budget of 64, and the number of guests on the host.
 */
import type { CheckContext, GuestConfig } from './context.js';
import { readBoolean } from './cmdline.js';
import { primaryXenCmdline } from './grub.js';
import { BRIDGE_BUDGET } from './running-host.js';

/** A top-level value of a guest config (xm configs are Python, xl's a Python-like subset). */
export type ConfigValue = string | number | string[];

/** Split a config into top-level statements with their first line; comments dropped. */
function statements(text: string): { text: string; line: number }[] {
  const out: { text: string; line: number }[] = [];
  let cur = '';
  let start = 1;
  let line = 1;
  let depth = 0;
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === '\\') {
        cur += c + (text[i + 1] ?? '');
        i++;
        continue;
      }
      if (text.startsWith(quote, i)) {
        cur += quote;
        i += quote.length - 1;
        quote = null;
        continue;
      }
      if (c === '\n') line++;
      cur += c;
      continue;
    }
    if (c === '#') {
      while (i < text.length && text[i] !== '\n') i++;
      i--;
      continue;
    }
    if (c === "'" || c === '"') {
      quote = text.startsWith(c.repeat(3), i) ? c.repeat(3) : c;
      cur += quote;
      i += quote.length - 1;
      continue;
    }
    if ('([{'.includes(c)) depth++;
    if (')]}'.includes(c)) depth = Math.max(0, depth - 1);
    if (c === '\n') {
      line++;
      if (depth === 0 && !cur.endsWith('\\')) {
        if (cur.trim()) out.push({ text: cur.trim(), line: start });
        cur = '';
        start = line;
        continue;
      }
    }
    if (c === ';' && depth === 0) {
      if (cur.trim()) out.push({ text: cur.trim(), line: start });
      cur = '';
      start = line;
      continue;
    }
    cur += c;
  }
  if (cur.trim()) out.push({ text: cur.trim(), line: start });
  return out;
}

const STRING = /'''([\s\S]*?)'''|"""([\s\S]*?)"""|'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"/g;

function parseValue(src: string): ConfigValue {
  const s = src.trim();
  if (s.startsWith('[')) return [...s.matchAll(STRING)].map((m) => m[1] ?? m[2] ?? m[3] ?? m[4] ?? '');
  if (/^-?\d+$/.test(s)) return Number(s);
  const strings = [...s.matchAll(STRING)];
  if (strings.length && s.replace(STRING, '').replace(/[\s+]/g, '') === '')
    return strings.map((m) => m[1] ?? m[2] ?? m[3] ?? m[4] ?? '').join('');
  return s;
}

/** Top-level settings of a guest config with the line of each. */
export function parseGuestConfig(text: string): Map<string, { value: ConfigValue; line: number }> {
  const out = new Map<string, { value: ConfigValue; line: number }>();
  for (const st of statements(text)) {
    const m = /^([A-Za-z_]\w*)\s*=(?!=)\s*([\s\S]*)$/.exec(st.text);
    if (m) out.set(m[1]!, { value: parseValue(m[2]!), line: st.line });
  }
  return out;
}

/** The host path of a disk spec ("phy:/dev/vg/lv,xvda,w", "file:/x.img,...", "format=raw, vdev=xvda, target=/dev/sdb"). */
export function diskTarget(spec: string): string | null {
  const t = /(?:^|,)\s*target\s*=\s*(.+)$/.exec(spec);
  let p = t ? t[1]!.trim() : spec.split(',')[0]!.trim();
  const m = /^(phy|file|tap2?|aio|qcow2?|vhd|raw|tapdisk|iscsi|drbd|npiv):/.exec(p);
  const phy = m?.[1] === 'phy';
  while (/^[a-z0-9]+:/.test(p)) p = p.replace(/^[a-z0-9]+:/, '');
  if (!p) return null;
  if (!p.startsWith('/')) return phy ? `/dev/${p}` : null;
  return p;
}

/** Bridge of a vif spec; xl's default is xenbr0. Routed/NAT vifs have none. */
export function vifBridge(spec: string): string | null {
  if (/(?:^|,)\s*script\s*=\s*\S*vif-(?:route|nat)/.test(spec)) return null;
  const m = /(?:^|,)\s*bridge\s*=\s*([^,\s]+)/.exec(spec);
  return m ? m[1]! : 'xenbr0';
}

/** Files of /etc/xen that are not guest configurations. */
const NOT_GUEST =
  /^(?:xl\.conf|xend-config.*|xend-pci-.*|xm-config\.xml|cpupool|oxenstored\.conf|README.*|xenapi.*|.*\.(?:sxp|xml|sh|bak|orig|dpkg-.*|rpm.*|example|sample))$|~$/;

function asList(v: ConfigValue | undefined): string[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [String(v)];
}

/** Read the guest configurations of /etc/xen and /etc/xen/auto into the host facts. */
export function readGuests(ctx: CheckContext): void {
  const top = ctx.list('/etc/xen');
  if (top === null) {
    ctx.skip('guests', `${ctx.real('/etc/xen')} is absent: no guest configurations`);
    return;
  }
  const auto = ctx.list('/etc/xen/auto') ?? [];
  const byName = new Map<string, GuestConfig>();
  const seenReal = new Map<string, GuestConfig>();
  // /etc/xen first, so that a guest linked from auto/ is shown by its own file
  const candidates = [
    ...top
      .filter((f) => !NOT_GUEST.test(f) && (f.endsWith('.cfg') || !f.includes('.')))
      .map((f) => ({ path: `/etc/xen/${f}`, auto: false })),
    ...auto.map((f) => ({ path: `/etc/xen/auto/${f}`, auto: true })),
  ];
  for (const c of candidates) {
    const real = ctx.resolve(c.path);
    const known = seenReal.get(real);
    if (known) {
      known.auto ||= c.auto;
      continue;
    }
    if (!c.auto && ctx.isDir(c.path)) continue;
    const r = ctx.read(c.path);
    if (!r.ok) {
      if (!r.absent) ctx.skip('guests', r.reason);
      continue;
    }
    const s = parseGuestConfig(r.file.text);
    if (
      !s.has('name') &&
      !(s.has('memory') && (s.has('kernel') || s.has('builder') || s.has('type') || s.has('disk') || s.has('bootloader')))
    )
      continue;
    const num = (k: string) => {
      const v = s.get(k)?.value;
      const n = typeof v === 'number' ? v : Number(v);
      return v !== undefined && Number.isFinite(n) ? n : null;
    };
    const cpus = s.get('cpus')?.value;
    const name = String(s.get('name')?.value ?? c.path.replace(/^.*\//, '').replace(/\.cfg$/, ''));
    const g: GuestConfig = {
      name,
      source: r.file.source,
      path: r.file.path,
      lines: Object.fromEntries([...s].map(([k, v]) => [k, v.line])),
      memoryMiB: num('memory'),
      vcpus: num('vcpus') ?? (s.has('vcpus') ? null : 1),
      cpus: cpus === undefined ? null : Array.isArray(cpus) ? cpus.join(',') : String(cpus),
      bridges: asList(s.get('vif')?.value)
        .map(vifBridge)
        .filter((b): b is string => b !== null),
      disks: asList(s.get('disk')?.value)
        .map(diskTarget)
        .filter((d): d is string => d !== null),
      auto: c.auto,
    };
    seenReal.set(real, g);
    const dup = byName.get(name);
    if (dup) dup.auto ||= g.auto;
    else byName.set(name, g);
  }
  ctx.facts.guests = [...byName.values()];
  if (ctx.facts.guests.length === 0)
    ctx.skip('guests', `no guest configuration in ${ctx.real('/etc/xen')} or ${ctx.real('/etc/xen/auto')}`);
}

/** Physical CPUs a cpus= setting allows ("0-3", "0,2,4-7", "all,^1", per-vCPU lists joined), or null when it cannot be told. */
export function cpusAllowed(spec: string, nrCpus: number | null): Set<number> | 'all' | null {
  const items = spec
    .split(/[,\s]+/)
    .map((s) => s.trim().replace(/^["']|["']$/g, ''))
    .filter(Boolean);
  if (items.some((i) => /^nodes?:/.test(i))) return null;
  const set = new Set<number>();
  let all = false;
  for (const [n, item] of items.entries()) {
    if (item === 'all') {
      all = true;
      if (nrCpus !== null) for (let c = 0; c < nrCpus; c++) set.add(c);
      continue;
    }
    const m = /^(\^)?(\d+)(?:-(\d+))?$/.exec(item);
    if (!m) return null;
    if (m[1] && n === 0) {
      if (nrCpus === null) return null;
      for (let c = 0; c < nrCpus; c++) set.add(c);
    }
    const from = Number(m[2]);
    const to = m[3] !== undefined ? Number(m[3]) : from;
    for (let c = from; c <= to; c++) {
      if (m[1]) set.delete(c);
      else set.add(c);
    }
  }
  if (all && nrCpus === null && !items.some((i) => i.startsWith('^'))) return 'all';
  return set;
}

/** CPU range text "a-b" or a list. */
function rangeText(from: number, to: number): string {
  return from === to ? String(from) : `${from}-${to}`;
}

/** cpus= against vcpus= and the host's cores (less those reserved for a pinned dom0). */
export function checkGuestCpus(ctx: CheckContext): void {
  const guests = ctx.facts.guests;
  if (!guests?.length) return;
  const nr = ctx.facts.nrCpus;
  const primary = primaryXenCmdline(ctx);
  const dom0Vcpus = Number(primary?.options.find((o) => o.name === 'dom0_max_vcpus')?.value?.replace(/^.*-/, '') ?? NaN);
  const reserved = primary && readBoolean(primary.options, 'dom0_vcpus_pin') === true && Number.isFinite(dom0Vcpus) ? dom0Vcpus : 0;
  if (nr === null) ctx.skip('guest-cpus', "the host's CPU count is unknown (no `xl info`): cpus= compared with vcpus= only");
  for (const g of guests) {
    if (g.cpus === null) continue;
    const allowed = cpusAllowed(g.cpus, nr);
    if (allowed === null || allowed === 'all') continue;
    const count = allowed.size;
    const vcpus = g.vcpus ?? 1;
    const conditions: string[] = [];
    if (count < vcpus) conditions.push('narrower');
    else if (nr !== null && count < nr - reserved) conditions.push('few-cores');
    else if (nr === null && count <= 4) conditions.push('few-cores', 'host-unknown');
    if (!conditions.length) continue;
    const suggest = nr !== null ? rangeText(Math.min(reserved, nr - 1), nr - 1) : 'all';
    ctx.report({
      rule: 'config-guest-cpus-pinned',
      key: { guest: g.name },
      values: {
        guest: g.name,
        cpus: g.cpus,
        count,
        vcpus,
        host_cpus: nr ?? 'unknown',
        reserved,
        suggest_cpus: suggest,
        config: g.path,
      },
      conditions: [...conditions, ...(reserved ? ['dom0-reserved'] : [])],
      evidence: ['cpus', 'vcpus']
        .filter((k) => g.lines[k])
        .map((k) => ({ source: g.source, line: g.lines[k]!, text: `${k} = ${k === 'cpus' ? JSON.stringify(g.cpus) : String(g.vcpus)}` })),
    });
  }
}

/** Guest ports per bridge in the configurations, against the budget of 64. */
export function checkBridgeBudget(ctx: CheckContext): void {
  const guests = ctx.facts.guests;
  if (!guests?.length) return;
  const per = new Map<string, GuestConfig[]>();
  for (const g of guests) for (const b of g.bridges) per.set(b, [...(per.get(b) ?? []), g]);
  for (const [bridge, list] of per) {
    if (list.length <= BRIDGE_BUDGET) continue;
    const names = [...new Set(list.map((g) => g.name))];
    ctx.report({
      rule: 'config-bridge-over-budget',
      key: { bridge },
      values: { bridge, ports: list.length, guests: names.length, budget: BRIDGE_BUDGET, examples: names.slice(0, 5).join(', ') },
      conditions: list.length > 100 ? ['over-100'] : [],
      evidence: list.map((g) => ({ source: g.source, line: g.lines.vif ?? 0, text: `vif: bridge=${bridge} (guest ${g.name})` })),
    });
  }
}

/** Guests on the host (running per `xl list`, else those started with dom0 from /etc/xen/auto) against ~90-120. */
export function checkGuestCount(ctx: CheckContext): void {
  const d = ctx.facts.domains;
  let count: number;
  let source: string;
  let evidence: { source: string; line: number; text: string }[];
  if (d) {
    const guests = d.list.filter((x) => x.id !== 0);
    count = guests.length;
    source = `${d.source} (running guests)`;
    evidence = [{ source: d.source, line: 0, text: `${count} guests besides Domain-0` }];
  } else if (ctx.facts.guests?.some((g) => g.auto)) {
    const auto = ctx.facts.guests.filter((g) => g.auto);
    count = auto.length;
    source = '/etc/xen/auto (guests started with dom0)';
    evidence = [{ source: ctx.real('/etc/xen/auto'), line: 0, text: `${count} guest configurations` }];
  } else {
    ctx.skip('guest-count', 'no `xl list` and no /etc/xen/auto: the number of guests is unknown');
    return;
  }
  if (count <= 90) return;
  ctx.report({
    rule: 'config-too-many-guests',
    values: { guests: count, source },
    conditions: count > 120 ? ['over-120'] : [],
    evidence,
  });
}
