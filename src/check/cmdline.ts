/** Boot command lines: split into options, read dom0_mem and sizes, classify option names. */
import { LINUX_CONSOLE, LINUX_ONLY_OPTIONS, XEN_ONLY_OPTIONS, XEN_OPTIONS, squash } from './xen-options.js';

/** One word of a command line: `name[=value]`, with a boolean `no-` prefix recognised. */
export interface BootOption {
  /** The word as written. */
  word: string;
  /** Name before "=", as written (with a "no-" prefix if any). */
  name: string;
  value: string | null;
}

/** Split a command line into options; GRUB placeholders ("placeholder", "${xen_rm_opts}") are dropped. */
export function splitCmdline(cmdline: string): BootOption[] {
  const out: BootOption[] = [];
  for (const raw of cmdline.split(/\s+/)) {
    const word = raw.replace(/^["']|["']$/g, '');
    if (!word || word === 'placeholder' || word === '--' || word.startsWith('$')) continue;
    const eq = word.indexOf('=');
    out.push(eq < 0 ? { word, name: word, value: null } : { word, name: word.slice(0, eq), value: word.slice(eq + 1) });
  }
  return out;
}

/** The option name Xen looks up: without a boolean "no-" prefix and without a "[index]" suffix. */
export function xenLookupName(name: string): string {
  const base = name.replace(/\[.*$/, '');
  if (XEN_OPTIONS.has(base)) return base;
  return base.startsWith('no-') ? base.slice(3) : base;
}

export type XenWordClass = 'xen' | 'linux' | 'unknown';

/** Whether a word on the Xen command line is a Xen option, a Linux/init option, or neither. */
export function classifyXenWord(o: BootOption): XenWordClass {
  if (o.name === 'console' && o.value !== null && LINUX_CONSOLE.test(o.value)) return 'linux';
  if (XEN_OPTIONS.has(xenLookupName(o.name))) return 'xen';
  if (LINUX_ONLY_OPTIONS.has(o.name) || /^[\w-]+\.[\w.-]+$/.test(o.name) || /^(?:systemd|rd|net|ipv6)\./.test(o.name)) return 'linux';
  return 'unknown';
}

/** Whether a word on the Linux command line is meant for Xen (and so does nothing there). */
export function isXenOnlyWord(o: BootOption): boolean {
  return XEN_ONLY_OPTIONS.has(o.name) || [...XEN_ONLY_OPTIONS].some((x) => x.length > 5 && squash(x) === squash(o.name));
}

/** A size as Xen reads it ("8192M", "4G", "512k", bare number = KiB) in MiB, or null. */
export function xenSizeMiB(text: string): number | null {
  const m = /^(\d+)([TtGgMmKkBb]?)$/.exec(text);
  if (!m) return null;
  const n = Number(m[1]);
  const unit = (m[2] || 'k').toLowerCase();
  const factor: Record<string, number> = { t: 1024 * 1024, g: 1024, m: 1, k: 1 / 1024, b: 1 / (1024 * 1024) };
  return n * factor[unit]!;
}

/** dom0_mem as written, read per Xen's rules (docs/misc/xen-command-line: dom0_mem x86). */
export interface Dom0Mem {
  /** Text of all dom0_mem options joined with "," ("8192M,max:8192M"). */
  text: string;
  /** An absolute positive size ("8192M", "1G+25%"), if any. */
  size: string | null;
  /** The max: part, if any. */
  max: string | null;
  /** dom0 is capped: a positive size or a max: part (min: alone or a negative size is not a cap). */
  capped: boolean;
  /** The fixed size in MiB when it can be told without the host's RAM (plain size, else max:). */
  mib: number | null;
}

/** Read every dom0_mem= option of a command line; null when there is none. */
export function readDom0Mem(opts: BootOption[]): Dom0Mem | null {
  const parts = opts.filter((o) => o.name === 'dom0_mem' && o.value !== null).flatMap((o) => o.value!.split(','));
  if (parts.length === 0) return null;
  let size: string | null = null;
  let max: string | null = null;
  for (const p of parts) {
    if (p.startsWith('max:')) max = p.slice(4);
    else if (p.startsWith('min:') || p.startsWith('-') || p === '') continue;
    else size = p;
  }
  const mib = (size !== null ? xenSizeMiB(size) : null) ?? (max !== null ? xenSizeMiB(max) : null);
  return { text: parts.join(','), size, max, capped: size !== null || max !== null, mib };
}

/** The scheduler chosen by sched= (last one wins), or null. */
export function readSched(opts: BootOption[]): string | null {
  let s: string | null = null;
  for (const o of opts) if (o.name === 'sched' && o.value) s = o.value;
  return s;
}

/** Boolean option state as Xen parses it: true, false, or null when absent ("no-NAME" = false, "NAME=idle" = the string). */
export function readBoolean(opts: BootOption[], name: string): boolean | string | null {
  let v: boolean | string | null = null;
  for (const o of opts) {
    if (o.name === `no-${name}` && o.value === null) v = false;
    else if (o.name === name) {
      if (o.value === null) v = true;
      else if (/^(?:yes|on|true|enable|1)$/.test(o.value)) v = true;
      else if (/^(?:no|off|false|disable|0)$/.test(o.value)) v = false;
      else v = o.value;
    }
  }
  return v;
}

/** "4.17" from a Xen version string or a hypervisor file name ("/boot/xen-4.0-amd64.gz"). */
export function xenVersionOf(text: string): [number, number] | null {
  const m = /(?:^|[^\d.])(\d+)\.(\d+)(?:[.\d]*)/.exec(text);
  return m ? [Number(m[1]), Number(m[2])] : null;
}

/** a >= b for [major, minor] versions. */
export function versionAtLeast(a: [number, number], b: [number, number]): boolean {
  return a[0] > b[0] || (a[0] === b[0] && a[1] >= b[1]);
}
