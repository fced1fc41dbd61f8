/**
 * Free space of the filesystem holding a path: statfs on this host, or a captured `df -kP` (--df FILE),
 * which also serves under --root. The low-disk check for /, /var and /var/log.
 */
import { statSync, statfsSync } from 'node:fs';
import { readRegularFile } from '../sources/safe-read.js';
import { dirname } from 'node:path';
import { MAX_CONFIG_BYTES, type CheckContext } from './context.js';

export interface FreeSpace {
  /** Mount point (df) or the path measured (statfs). */
  mount: string;
  sizeMiB: number;
  availMiB: number;
  /** Device number (statfs) or filesystem name (df), to tell filesystems apart. */
  fs: string;
  evidence: { source: string; line: number; text: string };
}

interface DfRow {
  fs: string;
  sizeKiB: number;
  availKiB: number;
  mount: string;
  line: number;
  text: string;
}

const dfCache = new WeakMap<CheckContext, { source: string; rows: DfRow[] } | { error: string }>();

/** Rows of `df -kP` (POSIX: Filesystem 1024-blocks Used Available Capacity Mounted-on). */
export function parseDf(text: string): DfRow[] {
  const rows: DfRow[] = [];
  text.split('\n').forEach((l, i) => {
    const m = /^(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+\d+%\s+(\/.*)$/.exec(l.trim());
    if (m) rows.push({ fs: m[1]!, sizeKiB: Number(m[2]), availKiB: Number(m[4]), mount: m[5]!, line: i + 1, text: l.trim() });
  });
  return rows;
}

function df(ctx: CheckContext): { source: string; rows: DfRow[] } | { error: string } {
  let c = dfCache.get(ctx);
  if (!c) {
    const file = ctx.opts.dfFile!;
    try {
      const text = readRegularFile(file, { max: MAX_CONFIG_BYTES });
      ctx.addInput(file, text);
      const rows = parseDf(text);
      c = rows.length ? { source: file, rows } : { error: `${file}: no \`df -kP\` rows` };
    } catch (e) {
      c = { error: `cannot read ${file}: ${(e as Error).message}` };
    }
    dfCache.set(ctx, c);
  }
  return c;
}

/** Free space where a host path lives, or why it cannot be told. */
export function freeSpace(ctx: CheckContext, path: string): FreeSpace | { reason: string } {
  if (ctx.opts.dfFile) {
    const d = df(ctx);
    if ('error' in d) return { reason: d.error };
    const rows = d.rows.filter((r) => path === r.mount || path.startsWith(r.mount.endsWith('/') ? r.mount : `${r.mount}/`));
    const row = rows.sort((a, b) => b.mount.length - a.mount.length)[0];
    if (!row) return { reason: `${d.source} has no filesystem holding ${path}` };
    return {
      mount: row.mount,
      sizeMiB: Math.floor(row.sizeKiB / 1024),
      availMiB: Math.floor(row.availKiB / 1024),
      fs: row.fs,
      evidence: { source: d.source, line: row.line, text: row.text },
    };
  }
  if (!ctx.live) return { reason: "--root given: free space is not measured (give --df FILE with the host's `df -kP` output)" };
  let p = path;
  for (let i = 0; i < 64; i++) {
    try {
      const s = statfsSync(p);
      const dev = String(statSync(p).dev);
      const sizeMiB = Math.floor((s.blocks * s.bsize) / 2 ** 20);
      const availMiB = Math.floor((s.bavail * s.bsize) / 2 ** 20);
      const text = `statfs(${p}): ${availMiB} MiB available of ${sizeMiB} MiB`;
      ctx.addInput(`statfs(${p})`, text + '\n');
      return { mount: p, sizeMiB, availMiB, fs: dev, evidence: { source: `statfs(${p})`, line: 1, text } };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' || p === '/') return { reason: `statfs(${p}): ${(e as Error).message}` };
      p = dirname(p);
    }
  }
  return { reason: `statfs(${path}): no existing parent` };
}

/** Below this share or amount of free space a filesystem is low; below the second pair, nearly full. */
export const LOW = { share: 0.1, mib: 1024 };
export const NEARLY_FULL = { share: 0.02, mib: 200 };

/** Free space on /, /var and /var/log (and /var/lib/xen, where images and dumps go). */
export function checkDiskSpace(ctx: CheckContext): void {
  const seen = new Set<string>();
  for (const path of ['/', '/var', '/var/log', '/var/lib/xen']) {
    const s = freeSpace(ctx, path);
    if ('reason' in s) {
      ctx.skip('disk-space', s.reason);
      continue;
    }
    if (seen.has(s.fs)) continue;
    seen.add(s.fs);
    const share = s.sizeMiB > 0 ? s.availMiB / s.sizeMiB : 1;
    if (share >= LOW.share && s.availMiB >= LOW.mib) continue;
    const nearlyFull = share < NEARLY_FULL.share || s.availMiB < NEARLY_FULL.mib;
    ctx.report({
      rule: 'config-low-disk-space',
      key: { mount: s.mount },
      values: {
        mount: s.mount,
        path,
        avail_mib: s.availMiB,
        size_mib: s.sizeMiB,
        used_pct: Math.round((1 - share) * 100),
      },
      conditions: nearlyFull ? ['nearly-full'] : [],
      evidence: [s.evidence],
    });
  }
}
