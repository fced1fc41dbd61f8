/**
 * What every check shares: the root it reads under, the files it read (the report's inputs), the
 * checks it had to skip and why, the host facts found so far, and the results.
 */
import { readdirSync, readlinkSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { readRegularFile, resolveUnder } from '../sources/safe-read.js';

/** Largest configuration file read (grub.cfg of a host with many kernels is about 100 KiB). */
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;
import type { InputSummary } from '../types.js';
import type { CheckResult } from './config-rules.js';
import type { BootOption } from './cmdline.js';

/** A check that could not run, and why (the report's `skipped[]`). */
export interface SkippedCheck {
  /** Stable name of the check (grub, xend, xendomains, sysctl, io-scheduler, guests, ...). */
  check: string;
  reason: string;
}

/** A file read under the root: its shown path and its lines. */
export interface TextFile {
  /** Path as shown (the real path read). */
  source: string;
  /** Path inside the host ("/etc/default/grub"). */
  path: string;
  text: string;
  lines: string[];
}

export type ReadResult = { ok: true; file: TextFile } | { ok: false; absent: boolean; reason: string };

/** Where a command line (or part of one) is written. */
export interface CmdlinePart {
  source: string;
  /** 1-based line; 0 when the file does not set it at all. */
  line: number;
  /** The line as written, for the evidence. */
  text: string;
  options: BootOption[];
}

/** A Xen or dom0 Linux command line from one place: the running system, a grub.cfg entry, /etc/default/grub. */
export interface Cmdline {
  kind: 'running' | 'grub.cfg' | 'default-grub';
  /** Says where, for a diagnosis ("grub.cfg entry 'Debian GNU/Linux, with Xen hypervisor'"). */
  label: string;
  parts: CmdlinePart[];
  /** All options of all parts, in order. */
  options: BootOption[];
  /** Hypervisor image named on the multiboot line, if any. */
  image?: string;
}

/** One guest configuration file, as far as xendoctor reads it. */
export interface GuestConfig {
  name: string;
  /** Real path read (evidence). */
  source: string;
  /** Host path (/etc/xen/NAME.cfg), for texts. */
  path: string;
  /** Line of each top-level setting. */
  lines: Record<string, number>;
  memoryMiB: number | null;
  vcpus: number | null;
  /** cpus= as written (string or list joined), null when absent. */
  cpus: string | null;
  /** Bridge of each vif (the default xenbr0 when a vif names none). */
  bridges: string[];
  /** Disk targets (phy:/dev/..., file:/..., target=...) as paths. */
  disks: string[];
  /** Listed in /etc/xen/auto (started with dom0). */
  auto: boolean;
}

/** A domain of `xl list`. */
export interface XlDomain {
  name: string;
  id: number;
  memMiB: number;
  vcpus: number;
  line: number;
}

/** What the checks learn about the host, in the order they run. */
export interface HostFacts {
  hostname: string | null;
  /** `xl info` / `xm info` fields, with the line of each. */
  xlInfo: { source: string; fields: Map<string, { value: string; line: number }> } | null;
  /** `xl list`: the domains, Domain-0 included. */
  domains: { source: string; list: XlDomain[] } | null;
  totalMemoryMiB: number | null;
  nrCpus: number | null;
  xenVersion: [number, number] | null;
  xenCmdlines: Cmdline[];
  linuxCmdlines: Cmdline[];
  guests: GuestConfig[] | null;
}

export interface ContextOptions {
  /** Read the host's files under this folder instead of "/" (never runs live commands then). */
  root: string | null;
  /** Captured `xl info` / `xl list` / `df -kP` output to use instead of running the commands. */
  xlInfoFile?: string | null;
  xlListFile?: string | null;
  dfFile?: string | null;
  /** How long a live command may take (ms). */
  commandTimeout?: number;
}

/** The state shared by the checks of one run. */
export class CheckContext {
  readonly root: string;
  readonly live: boolean;
  readonly inputs: InputSummary[] = [];
  readonly skipped: SkippedCheck[] = [];
  readonly results: CheckResult[] = [];
  readonly facts: HostFacts = {
    hostname: null,
    xlInfo: null,
    domains: null,
    totalMemoryMiB: null,
    nrCpus: null,
    xenVersion: null,
    xenCmdlines: [],
    linuxCmdlines: [],
    guests: null,
  };
  private readonly cache = new Map<string, ReadResult>();

  constructor(readonly opts: ContextOptions) {
    this.root = opts.root ?? '/';
    this.live = opts.root === null;
  }

  /** The real path of a host path ("/etc/xen" → "<root>/etc/xen"). */
  real(path: string): string {
    return this.live ? path : join(this.root, path);
  }

  /** The host path of a real path ("<root>/etc/xen" → "/etc/xen"), for texts meant for the host's operator. */
  hostPath(real: string): string {
    if (this.live || !real.startsWith(this.root)) return real;
    return '/' + real.slice(this.root.length).replace(/^\/+/, '');
  }

  /** Record an input (a file read or a command run). */
  addInput(source: string, text: string, errors: string[] = []): void {
    if (this.inputs.some((i) => i.source === source)) return;
    const lines = text === '' ? 0 : text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
    this.inputs.push({ source, lines, bytes: Buffer.byteLength(text), formats: {}, first: null, last: null, errors });
  }

  /** Read a host file as text; absent files are not inputs, unreadable ones are (with the error). */
  read(path: string): ReadResult {
    const cached = this.cache.get(path);
    if (cached) return cached;
    const real = this.real(path);
    let r: ReadResult;
    try {
      // under --root, every link is resolved inside the root: nothing outside it is ever read
      const text = readRegularFile(this.live ? real : resolveUnder(this.root, path), { max: MAX_CONFIG_BYTES, noFollow: !this.live });
      r = { ok: true, file: { source: real, path, text, lines: text.split('\n') } };
      this.addInput(real, text);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') r = { ok: false, absent: true, reason: `${real} is absent` };
      else {
        const why =
          code === 'EACCES' || code === 'EPERM'
            ? 'permission denied (run as root)'
            : code === 'ELOOP' && !this.live
              ? 'a symbolic link that cannot be followed inside the root'
              : (e as Error).message;
        r = { ok: false, absent: false, reason: `${real}: ${why}` };
        if (code !== 'EISDIR') this.addInput(real, '', [why]);
      }
    }
    this.cache.set(path, r);
    return r;
  }

  /** Names in a host folder (sorted), or null when it is absent or unreadable. */
  list(path: string): string[] | null {
    try {
      return readdirSync(this.live ? path : resolveUnder(this.root, path)).sort();
    } catch {
      return null;
    }
  }

  /** Whether a host path exists (following symbolic links within the root). */
  exists(path: string): boolean {
    try {
      statSync(this.resolve(path));
      return true;
    } catch {
      return false;
    }
  }

  /** Whether a host path is a folder. */
  isDir(path: string): boolean {
    try {
      return statSync(this.resolve(path)).isDirectory();
    } catch {
      return false;
    }
  }

  /** Target of a symbolic link as a host path (absolute links stay inside the root), or null. */
  readlink(path: string): string | null {
    try {
      const t = readlinkSync(this.real(path));
      return t.startsWith('/') ? t : posix.join(posix.dirname(path), t);
    } catch {
      return null;
    }
  }

  /** The real path of a host path with its symbolic links followed inside the root. */
  resolve(path: string, depth = 0): string {
    if (!this.live) {
      try {
        return resolveUnder(this.root, path);
      } catch {
        return this.real(path);
      }
    }
    const target = depth < 8 ? this.readlink(path) : null;
    return target ? this.resolve(target, depth + 1) : this.real(path);
  }

  /** Say that a check could not run. */
  skip(check: string, reason: string): void {
    if (!this.skipped.some((s) => s.check === check && s.reason === reason)) this.skipped.push({ check, reason });
  }

  /** Report what a check found. */
  report(r: CheckResult): void {
    this.results.push(r);
  }
}

/** "a", "a and b", "a, b and c". */
export function joinList(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** The evidence line of a file line. */
export function lineEvidence(file: TextFile, line: number): { source: string; line: number; text: string } {
  return { source: file.source, line, text: (file.lines[line - 1] ?? '').trim() };
}
