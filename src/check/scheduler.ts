/**
 * The block I/O scheduler (/sys/block/DISK/queue/scheduler) of the disks that hold guest storage: the
 * guests' disk= targets followed through LVM/device-mapper and md (sysfs "slaves") and, for image files,
 * through the mount table, down to the physical disks.
 */
import type { CheckContext } from './context.js';

/** Not disks that hold storage (or without an elevator of their own). */
const VIRTUAL = /^(?:loop|ram|zram|sr|fd|nbd|dm-|md|xvd|rbd|drbd)/;

/** The sysfs block device of a /dev path ("/dev/sda2" → "sda2", "/dev/vg0/web" → "dm-3", "/dev/cciss/c0d0p1" → "cciss!c0d0p1"). */
function blockName(ctx: CheckContext, devPath: string, depth = 0): string | null {
  if (depth > 8) return null;
  const link = ctx.readlink(devPath);
  if (link) return blockName(ctx, link, depth + 1);
  const rel = devPath.replace(/^\/dev\//, '');
  if (rel === devPath) return null;
  // device-mapper: /dev/mapper/NAME, or /dev/VG/LV (dm name VG-LV with dashes doubled)
  const parts = rel.split('/');
  let dmName: string | null = null;
  if (parts[0] === 'mapper' && parts.length === 2) dmName = parts[1]!;
  else if (parts.length === 2 && parts[0] !== 'disk' && parts[0] !== 'cciss') dmName = parts.map((p) => p.replace(/-/g, '--')).join('-');
  if (dmName) {
    for (const b of ctx.list('/sys/block') ?? []) {
      if (!b.startsWith('dm-')) continue;
      const r = ctx.read(`/sys/block/${b}/dm/name`);
      if (r.ok && r.file.lines[0]?.trim() === dmName) return b;
    }
    return null;
  }
  return rel.replace(/\//g, '!');
}

/** The whole disk a block device (or partition) belongs to, following dm/md slaves down. */
function physicalDisks(ctx: CheckContext, name: string, out: Set<string>, depth = 0): void {
  if (depth > 8) return;
  const top = ctx.list('/sys/block') ?? [];
  if (top.includes(name)) {
    const slaves = ctx.list(`/sys/block/${name}/slaves`) ?? [];
    if (slaves.length) for (const s of slaves) physicalDisks(ctx, s, out, depth + 1);
    else out.add(name);
    return;
  }
  // a partition: /sys/block/DISK/NAME
  for (const d of top) if (ctx.isDir(`/sys/block/${d}/${name}`)) return void out.add(d);
  // no sysfs entry: strip the partition number (sda2 → sda, nvme0n1p2 → nvme0n1)
  const m = /^(.*\d)p\d+$/.exec(name) ?? /^([a-z!]+?)\d+$/.exec(name);
  if (m && top.includes(m[1]!)) out.add(m[1]!);
}

/** The device a file lives on, from the mount table (/proc/mounts). */
function deviceOfFile(ctx: CheckContext, path: string): string | null {
  const r = ctx.read('/proc/mounts');
  if (!r.ok) return null;
  let best: { mount: string; dev: string } | null = null;
  for (const l of r.file.lines) {
    const [dev, mount] = l.split(/\s+/);
    if (!dev || !mount || !dev.startsWith('/dev/')) continue;
    const under = mount === '/' || path === mount || path.startsWith(`${mount}/`);
    if (under && (!best || mount.length > best.mount.length)) best = { mount, dev };
  }
  return best?.dev ?? null;
}

/** The current scheduler in brackets and the choices ("noop deadline [cfq]"). */
export function parseScheduler(text: string): { current: string; available: string[] } | null {
  const available = text.trim().split(/\s+/).filter(Boolean);
  const cur = available.find((a) => a.startsWith('['));
  if (!cur) return available.length === 1 ? { current: available[0]!, available } : null;
  return { current: cur.replace(/[[\]]/g, ''), available: available.map((a) => a.replace(/[[\]]/g, '')) };
}

export function checkIoScheduler(ctx: CheckContext): void {
  const blocks = ctx.list('/sys/block');
  if (blocks === null) {
    ctx.skip('io-scheduler', `${ctx.real('/sys/block')} is absent: I/O schedulers not read`);
    return;
  }
  const guestDisks = new Set<string>();
  const unmapped: string[] = [];
  for (const g of ctx.facts.guests ?? []) {
    for (const target of g.disks) {
      const dev = target.startsWith('/dev/') ? target : deviceOfFile(ctx, target);
      const name = dev ? blockName(ctx, dev) : null;
      const found = new Set<string>();
      if (name) physicalDisks(ctx, name, found);
      if (found.size) for (const d of found) guestDisks.add(d);
      else unmapped.push(target);
    }
  }
  if (unmapped.length)
    ctx.skip(
      'io-scheduler',
      `disk of ${unmapped.length} guest storage path(s) not found in ${ctx.real('/sys/block')} (e.g. ${unmapped[0]})`,
    );
  const mapped = guestDisks.size > 0;
  const disks = mapped ? [...guestDisks].sort() : blocks.filter((b) => !VIRTUAL.test(b));
  for (const disk of disks) {
    const r = ctx.read(`/sys/block/${disk}/queue/scheduler`);
    if (!r.ok) {
      ctx.skip('io-scheduler', r.reason);
      continue;
    }
    const s = parseScheduler(r.file.lines[0] ?? '');
    if (!s || !/^(?:noop|none)$/.test(s.current)) continue;
    const suggest = ['cfq', 'bfq', 'deadline', 'mq-deadline'].find((x) => s.available.includes(x));
    ctx.report({
      rule: 'config-io-scheduler-noop',
      key: { disk },
      values: {
        disk,
        scheduler: s.current,
        available: s.available.join(' '),
        suggest: suggest ?? (s.current === 'none' ? 'mq-deadline' : 'cfq'),
      },
      conditions: [mapped ? 'guest-storage' : 'unmapped', ...(suggest ? [] : ['no-alternative'])],
      evidence: [{ source: r.file.source, line: 1, text: (r.file.lines[0] ?? '').trim() }],
    });
  }
}
