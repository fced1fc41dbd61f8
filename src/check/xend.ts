/**
 * dom0 ballooning, the toolstack half (/etc/xen/xend-config.sxp: enable-dom0-ballooning, dom0-min-mem;
 * /etc/xen/xl.conf: autoballoon) against the GRUB half (dom0_mem on the Xen command line).
 */
import type { CheckContext, TextFile } from './context.js';
import { lineEvidence } from './context.js';
import { readDom0Mem, versionAtLeast } from './cmdline.js';
import { primaryXenCmdline } from './grub.js';

interface Setting {
  value: string;
  line: number;
}

/** "(name value)" settings of xend-config.sxp that are not commented out. */
export function readSxp(file: TextFile): Map<string, Setting> {
  const out = new Map<string, Setting>();
  file.lines.forEach((l, i) => {
    const m = /^\s*\(([\w-]+)\s+'?([^)'\s]*)'?\s*\)/.exec(l);
    if (m) out.set(m[1]!, { value: m[2]!, line: i + 1 });
  });
  return out;
}

/** autoballoon of xl.conf ("on", "off", "auto", 1, 0), or null when not set. */
export function readAutoballoon(file: TextFile): Setting | null {
  let s: Setting | null = null;
  file.lines.forEach((l, i) => {
    const m = /^\s*autoballoon\s*=\s*["']?(\w+)["']?/.exec(l);
    if (m) s = { value: m[1]!, line: i + 1 };
  });
  return s;
}

const OFF = /^(?:no|false|off|0)$/i;
const ON = /^(?:yes|true|on|1)$/i;

/** Ballooning settings of xend and xl against dom0_mem. */
export function checkBallooning(ctx: CheckContext): void {
  const xend = ctx.read('/etc/xen/xend-config.sxp');
  const xl = ctx.read('/etc/xen/xl.conf');
  if (!xend.ok && !xl.ok) {
    const reasons = [xend, xl].map((r) => (r.ok ? '' : r.reason)).join('; ');
    ctx.skip('ballooning', `no toolstack configuration: ${reasons}`);
    return;
  }
  const primary = primaryXenCmdline(ctx);
  if (!primary) {
    ctx.skip('ballooning', 'no Xen command line found: cannot tell whether dom0_mem is set');
    return;
  }
  const mem = readDom0Mem(primary.options);
  const capped = !!mem?.capped;
  const cmdEvidence = primary.parts.map((p) => ({ source: p.source, line: p.line, text: p.text }));
  const f = ctx.facts;
  const dom0 = f.domains?.list.find((d) => d.id === 0);
  const free = f.xlInfo?.fields.get('free_memory')?.value;
  const values = {
    dom0_mem: mem?.text ?? 'not set',
    dom0_mib: mem?.mib ?? 8192,
    cmdline: primary.label,
    dom0_now_mib: dom0?.memMiB ?? 'unknown',
    total_mib: f.totalMemoryMiB ?? 'unknown',
    free_mib: free ?? 'unknown',
  };
  const holdsAll = dom0 && f.totalMemoryMiB && dom0.memMiB > f.totalMemoryMiB * 0.8 ? ['dom0-holds-all'] : [];

  if (xend.ok) {
    const s = readSxp(xend.file);
    const enable = s.get('enable-dom0-ballooning');
    const minMem = s.get('dom0-min-mem');
    const off = enable ? OFF.test(enable.value) : minMem?.value === '0';
    const setting = enable ?? minMem;
    const ev = setting
      ? [lineEvidence(xend.file, setting.line)]
      : [{ source: xend.file.source, line: 0, text: '(enable-dom0-ballooning not set: yes)' }];
    const v = {
      ...values,
      toolstack: 'xend',
      setting: setting ? xend.file.lines[setting.line - 1]!.trim() : '(enable-dom0-ballooning yes)',
      config: xend.file.path,
    };
    if (off && !capped) {
      ctx.report({
        rule: 'dom0-ballooning-disabled',
        key: { toolstack: 'xend' },
        values: v,
        conditions: ['xend', ...holdsAll],
        evidence: [...ev, ...cmdEvidence],
      });
    } else if (!off && capped) {
      ctx.report({
        rule: 'config-ballooning-mismatch',
        key: { toolstack: 'xend' },
        values: v,
        conditions: ['xend'],
        evidence: [...ev, ...cmdEvidence],
      });
    } else if (off && capped && minMem && mem?.mib && Number(minMem.value) > 0 && Number(minMem.value) !== mem.mib) {
      ctx.report({
        rule: 'config-ballooning-mismatch',
        key: { toolstack: 'xend' },
        values: { ...v, min_mem: minMem.value },
        conditions: ['xend', 'min-mem-differs'],
        evidence: [lineEvidence(xend.file, minMem.line), ...cmdEvidence],
      });
    }
  }

  if (xl.ok) {
    const a = readAutoballoon(xl.file);
    const version = f.xenVersion;
    // "auto" (the default since Xen 4.4) means off when dom0_mem is given, on otherwise; before 4.4 the default was on.
    const mode = a
      ? OFF.test(a.value)
        ? 'off'
        : ON.test(a.value)
          ? 'on'
          : 'auto'
      : version && !versionAtLeast(version, [4, 4])
        ? 'on'
        : 'auto';
    const ev = a ? [lineEvidence(xl.file, a.line)] : [{ source: xl.file.source, line: 0, text: `(autoballoon not set: ${mode})` }];
    const v = {
      ...values,
      toolstack: 'xl',
      setting: a ? xl.file.lines[a.line - 1]!.trim() : `autoballoon not set (${mode})`,
      config: xl.file.path,
    };
    if (mode === 'off' && !capped) {
      ctx.report({
        rule: 'dom0-ballooning-disabled',
        key: { toolstack: 'xl' },
        values: v,
        conditions: ['xl', ...holdsAll],
        evidence: [...ev, ...cmdEvidence],
      });
    } else if (mode === 'on' && capped) {
      ctx.report({
        rule: 'config-ballooning-mismatch',
        key: { toolstack: 'xl' },
        values: v,
        conditions: ['xl'],
        evidence: [...ev, ...cmdEvidence],
      });
    }
  }
}
