/**
 * The Xen and dom0 Linux command lines: /etc/default/grub (and grub.d/*.cfg), the multiboot entries of
 * grub.cfg, the running hypervisor's (xl info) and dom0's (/proc/cmdline). Checks dom0_mem and its max:,
 * dom0_max_vcpus/dom0_vcpus_pin, boot scrubbing, sched=, option names Xen does not know, and options on
 * the wrong command line.
 */
import { joinList, type CheckContext, type Cmdline, type CmdlinePart } from './context.js';
import type { CheckResult } from './config-rules.js';
import {
  classifyXenWord,
  isXenOnlyWord,
  readBoolean,
  readDom0Mem,
  readSched,
  splitCmdline,
  versionAtLeast,
  xenLookupName,
  xenVersionOf,
  type BootOption,
} from './cmdline.js';
import { readShellAssignments, type ShellVar } from './shell.js';
import { suggestXenOption } from './xen-options.js';

/** Hosts with at least this much RAM are "big" (the notes' trouble starts with tens to hundreds of GB). */
export const BIG_HOST_MIB = 64 * 1024;

const GRUB_CFGS = ['/boot/grub/grub.cfg', '/boot/grub2/grub.cfg', '/boot/grub/menu.lst'];

function part(v: ShellVar): CmdlinePart {
  return { source: v.file, line: v.line, text: v.text, options: splitCmdline(v.value) };
}

function cmdline(kind: Cmdline['kind'], label: string, parts: CmdlinePart[], image?: string): Cmdline {
  return { kind, label, parts, options: parts.flatMap((p) => p.options), ...(image ? { image } : {}) };
}

/** /etc/default/grub and /etc/default/grub.d/*.cfg, sourced in that order as grub-mkconfig does. */
function readGrubDefaults(ctx: CheckContext): void {
  const vars = new Map<string, ShellVar>();
  const files = [
    '/etc/default/grub',
    ...(ctx.list('/etc/default/grub.d') ?? []).filter((f) => f.endsWith('.cfg')).map((f) => `/etc/default/grub.d/${f}`),
  ];
  let read: string | null = null;
  for (const path of files) {
    const r = ctx.read(path);
    if (r.ok) {
      readShellAssignments(r.file.text, r.file.source, vars);
      read ??= r.file.source;
    } else if (!r.absent) ctx.skip('grub-defaults', r.reason);
  }
  if (!read) {
    ctx.skip('grub-defaults', `${ctx.real('/etc/default/grub')} is absent (not booted by GRUB?)`);
    return;
  }
  const xen = ['GRUB_CMDLINE_XEN', 'GRUB_CMDLINE_XEN_DEFAULT'].map((n) => vars.get(n)).filter((v): v is ShellVar => !!v);
  const xenParts = xen.length
    ? xen.map(part)
    : [{ source: read, line: 0, text: 'GRUB_CMDLINE_XEN and GRUB_CMDLINE_XEN_DEFAULT are not set', options: [] }];
  const label = (list: ShellVar[], names: string[]) =>
    list.length ? joinList(list.map((v) => `${names.find((n) => vars.get(n) === v)} in ${ctx.hostPath(v.file)}`)) : ctx.hostPath(read!);
  const xenNames = ['GRUB_CMDLINE_XEN', 'GRUB_CMDLINE_XEN_DEFAULT'];
  ctx.facts.xenCmdlines.push(cmdline('default-grub', label(xen, xenNames), xenParts));
  const replaceNames = ['GRUB_CMDLINE_LINUX_XEN_REPLACE', 'GRUB_CMDLINE_LINUX_XEN_REPLACE_DEFAULT'];
  const linuxNames = replaceNames.some((n) => vars.has(n)) ? replaceNames : ['GRUB_CMDLINE_LINUX', 'GRUB_CMDLINE_LINUX_DEFAULT'];
  const linux = linuxNames.map((n) => vars.get(n)).filter((v): v is ShellVar => !!v);
  if (linux.length) ctx.facts.linuxCmdlines.push(cmdline('default-grub', label(linux, linuxNames), linux.map(part)));
}

/** The Xen entries of grub.cfg (menu.lst): each multiboot line and the dom0 kernel's module line after it. */
function readGrubCfg(ctx: CheckContext): void {
  let found = false;
  for (const path of GRUB_CFGS) {
    const r = ctx.read(path);
    if (!r.ok) {
      if (!r.absent) ctx.skip('grub-cfg', r.reason);
      continue;
    }
    found = true;
    const xenGroups = new Map<string, { parts: CmdlinePart[]; title: string; image: string }>();
    const linuxParts: CmdlinePart[] = [];
    let title = '';
    let inXen = false;
    let wantKernel = false;
    r.file.lines.forEach((raw, i) => {
      const l = raw.trim();
      const entry = /^(?:menuentry|title)\s+(?:'([^']*)'|"([^"]*)"|(.*?))(?:\s+[-{]|$)/.exec(l);
      if (entry) {
        title = entry[1] ?? entry[2] ?? entry[3] ?? '';
        inXen = false;
        return;
      }
      if (/recovery mode|\(single-user mode\)/i.test(title)) return;
      const boot = /^(multiboot2?|xen_hypervisor|kernel)\s+(\S+)\s*(.*)$/.exec(l);
      if (boot) {
        inXen = /xen/i.test(boot[2]!.replace(/^.*\//, ''));
        wantKernel = inXen;
        if (!inXen) return;
        const p = { source: r.file.source, line: i + 1, text: l, options: splitCmdline(boot[3]!) };
        const k = p.options.map((o) => o.word).join(' ');
        const g = xenGroups.get(k) ?? { parts: [], title, image: boot[2]! };
        g.parts.push(p);
        xenGroups.set(k, g);
        return;
      }
      const mod = /^(module2?|xen_module)\s+(\S+)\s*(.*)$/.exec(l);
      if (mod && inXen && wantKernel) {
        wantKernel = false;
        linuxParts.push({ source: r.file.source, line: i + 1, text: l, options: splitCmdline(mod[3]!) });
      }
    });
    if (xenGroups.size === 0) ctx.skip('grub-cfg', `${r.file.source} has no Xen entry (no multiboot line loading xen)`);
    for (const g of xenGroups.values()) {
      const label = `the grub.cfg entry '${g.title}'${g.parts.length > 1 ? ` (and ${g.parts.length - 1} more like it)` : ''}`;
      ctx.facts.xenCmdlines.push(cmdline('grub.cfg', label, g.parts, g.image));
    }
    if (linuxParts.length) ctx.facts.linuxCmdlines.push(cmdline('grub.cfg', `the dom0 kernel lines of ${r.file.path}`, linuxParts));
    break;
  }
  if (!found) ctx.skip('grub-cfg', `${GRUB_CFGS.map((p) => ctx.real(p)).join(', ')} are absent`);
}

/** dom0's running Linux command line. */
function readProcCmdline(ctx: CheckContext): void {
  const r = ctx.read('/proc/cmdline');
  if (!r.ok) {
    ctx.skip('dom0-cmdline', r.absent ? `${ctx.real('/proc/cmdline')} is absent: dom0's running command line not read` : r.reason);
    return;
  }
  const text = r.file.lines[0] ?? '';
  ctx.facts.linuxCmdlines.push(
    cmdline('running', `dom0's running kernel (/proc/cmdline)`, [{ source: r.file.source, line: 1, text, options: splitCmdline(text) }]),
  );
}

/** Read every command line into the host facts (the running Xen's was added by the toolstack check). */
export function readBootConfig(ctx: CheckContext): void {
  readGrubDefaults(ctx);
  readGrubCfg(ctx);
  readProcCmdline(ctx);
}

/** Evidence of the parts of a command line that hold an option (all parts when none matches). */
function evidenceFor(c: Cmdline, pick?: (o: BootOption) => boolean) {
  const parts = pick ? c.parts.filter((p) => p.options.some(pick)) : c.parts;
  return (parts.length ? parts : c.parts).map((p) => ({ source: p.source, line: p.line, text: p.text }));
}

/** Findings about single words, one per rule and option, gathered over several command lines. */
class WordFindings {
  private readonly found = new Map<string, { result: CheckResult; labels: string[] }>();

  add(c: Cmdline, o: BootOption, make: () => CheckResult): void {
    const fresh = make();
    const k = `${fresh.rule}\0${o.name}`;
    const f = this.found.get(k) ?? { result: fresh, labels: [] };
    this.found.set(k, f);
    if (!f.labels.includes(c.label)) f.labels.push(c.label);
    if (c.kind === 'running' && !f.result.conditions!.includes('running')) f.result.conditions!.push('running');
    for (const e of evidenceFor(c, (x) => x.name === o.name))
      if (!f.result.evidence.some((x) => x.source === e.source && x.line === e.line)) f.result.evidence.push(e);
  }

  report(ctx: CheckContext): void {
    for (const { result, labels } of this.found.values()) ctx.report({ ...result, values: { ...result.values, where: joinList(labels) } });
  }
}

/** Conditions shared by the "missing on some command line" findings. */
function spread(all: Cmdline[], bad: Cmdline[]): { conditions: string[]; values: Record<string, string> } {
  const good = all.filter((c) => !bad.includes(c));
  const has = (list: Cmdline[], kind: Cmdline['kind']) => list.some((c) => c.kind === kind);
  const conditions: string[] = [];
  if (has(bad, 'running')) conditions.push('running');
  else if (has(good, 'running')) conditions.push('config-only');
  if (has(bad, 'running') && bad.length === 1 && good.length) conditions.push('fixed-not-rebooted');
  if (has(bad, 'grub.cfg') && has(good, 'default-grub')) conditions.push('update-grub');
  if (has(bad, 'default-grub') && has(good, 'grub.cfg')) conditions.push('defaults-lack');
  if (good.length) conditions.push('inconsistent');
  return {
    conditions,
    values: { where: joinList(bad.map((c) => c.label)), fine_in: joinList(good.map((c) => c.label)) },
  };
}

/** Xen version: the running one, else the one the first grub.cfg entry boots. */
function xenVersion(ctx: CheckContext): [number, number] | null {
  if (ctx.facts.xenVersion) return ctx.facts.xenVersion;
  for (const c of ctx.facts.xenCmdlines) if (c.image) return xenVersionOf(c.image.replace(/^.*\//, ''));
  return null;
}

/** The Xen command line in effect: the running one (xl info), else the one grub.cfg boots, else /etc/default/grub's. */
export function primaryXenCmdline(ctx: CheckContext): Cmdline | null {
  const order: Cmdline['kind'][] = ['running', 'grub.cfg', 'default-grub'];
  for (const k of order) {
    const c = ctx.facts.xenCmdlines.find((x) => x.kind === k);
    if (c) return c;
  }
  return null;
}

/** All checks on the Xen and dom0 Linux command lines. */
export function checkCmdlines(ctx: CheckContext): void {
  const all = ctx.facts.xenCmdlines;
  const total = ctx.facts.totalMemoryMiB;
  const big = total !== null && total >= BIG_HOST_MIB ? ['big-host'] : [];
  const hostValues = { total_mib: total ?? 'unknown', total_gib: total !== null ? Math.round(total / 1024) : 'unknown' };
  if (all.length === 0) {
    ctx.skip('xen-cmdline', 'no Xen command line found (no /etc/default/grub, no Xen entry in grub.cfg, no `xl info`)');
  }

  // Option names: unknown to Xen, or Linux's.
  const words = new WordFindings();
  for (const c of all) {
    for (const o of c.options) {
      const cls = classifyXenWord(o);
      if (cls === 'xen') continue;
      const suggestion = cls === 'unknown' ? suggestXenOption(xenLookupName(o.name)) : null;
      words.add(c, o, () => ({
        rule: cls === 'linux' ? 'config-linux-option-on-xen-cmdline' : 'xen-unknown-boot-parameter',
        key: { option: o.name },
        values: { option: o.name, word: o.word, suggestion: suggestion ?? '' },
        conditions: [suggestion ? 'suggestion' : 'no-suggestion'],
        evidence: [],
      }));
    }
  }
  words.report(ctx);

  if (all.length) {
    // dom0_mem: present and capping, with a max:.
    const uncapped = all.filter((c) => !readDom0Mem(c.options)?.capped);
    if (uncapped.length) {
      const s = spread(all, uncapped);
      const memOpt = uncapped.some((c) => c.options.some((o) => o.name === 'mem')) ? ['xen-mem-option'] : [];
      ctx.report({
        rule: 'dom0-memory-not-capped',
        values: { ...hostValues, ...s.values },
        conditions: [...s.conditions, ...big, ...memOpt],
        evidence: uncapped.flatMap((c) => evidenceFor(c)),
      });
    }
    const noMax = all.filter((c) => {
      const m = readDom0Mem(c.options);
      return m?.size && !m.max;
    });
    if (noMax.length) {
      const m = readDom0Mem(noMax[0]!.options)!;
      ctx.report({
        rule: 'config-dom0-mem-no-max',
        values: { dom0_mem: m.text, size: m.size!, where: joinList(noMax.map((c) => c.label)) },
        conditions: spread(all, noMax).conditions,
        evidence: noMax.flatMap((c) => evidenceFor(c, (o) => o.name === 'dom0_mem')),
      });
    }

    // dom0 vCPUs: a fixed number, pinned.
    const noReserve = all.filter(
      (c) => !c.options.some((o) => o.name === 'dom0_max_vcpus') || readBoolean(c.options, 'dom0_vcpus_pin') !== true,
    );
    if (noReserve.length) {
      const c0 = noReserve[0]!;
      const missing = [
        ...(c0.options.some((o) => o.name === 'dom0_max_vcpus') ? [] : ['dom0_max_vcpus']),
        ...(readBoolean(c0.options, 'dom0_vcpus_pin') === true ? [] : ['dom0_vcpus_pin']),
      ];
      const misspelt = noReserve.some((c) =>
        c.options.some((o) => /^dom0-?max-?vcpus$|^dom0-?vcpus-?pin$/i.test(o.name) && classifyXenWord(o) !== 'xen'),
      );
      ctx.report({
        rule: 'config-dom0-no-reserved-cpu',
        values: { missing: missing.join(' and ') || 'dom0_max_vcpus / dom0_vcpus_pin', ...spread(all, noReserve).values },
        conditions: [...spread(all, noReserve).conditions, ...(misspelt ? ['misspelt'] : [])],
        evidence: noReserve.flatMap((c) => evidenceFor(c)),
      });
    }

    // Boot scrubbing: off (no-bootscrub, bootscrub=false) or in the background (bootscrub=idle, the default since 4.12).
    const version = xenVersion(ctx);
    const scrubbing = all.filter((c) => {
      const v = readBoolean(c.options, 'bootscrub');
      if (v === false || v === 'idle') return false;
      return v === true || !version || !versionAtLeast(version, [4, 12]);
    });
    if (scrubbing.length) {
      const explicit = scrubbing.some((c) => readBoolean(c.options, 'bootscrub') === true);
      ctx.report({
        rule: 'xen-boot-scrub',
        values: { version: version ? version.join('.') : 'unknown', where: joinList(scrubbing.map((c) => c.label)), ...hostValues },
        conditions: [
          ...(explicit ? ['explicit'] : []),
          ...(version ? (versionAtLeast(version, [4, 12]) ? ['idle-available'] : ['old-xen']) : ['version-unknown']),
          ...big,
        ],
        evidence: scrubbing.flatMap((c) => evidenceFor(c, (o) => /bootscrub$/.test(o.name))),
      });
    }

    // sched= on the command line (the running scheduler is checked from xl info).
    for (const c of all) {
      const sched = readSched(c.options);
      if (sched && !/^credit2?$/.test(sched) && c.kind !== 'running') {
        ctx.report({
          rule: 'xen-scheduler-not-credit',
          key: { scheduler: sched },
          values: { scheduler: sched, source: c.label },
          conditions: ['configured'],
          evidence: evidenceFor(c, (o) => o.name === 'sched'),
        });
      }
    }
  }

  // Xen's options on dom0's Linux command line.
  const onLinux = new WordFindings();
  for (const c of ctx.facts.linuxCmdlines) {
    for (const o of c.options) {
      if (!isXenOnlyWord(o)) continue;
      onLinux.add(c, o, () => ({
        rule: 'config-xen-option-on-linux-cmdline',
        key: { option: o.name },
        values: { option: o.name, word: o.word },
        conditions: o.name.startsWith('dom0_mem') ? ['dom0-mem'] : [],
        evidence: [],
      }));
    }
  }
  onLinux.report(ctx);
}
