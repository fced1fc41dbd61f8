/**
 * Clocks of the timeline: turns kernel uptime stamps and undated Xen console lines into wall-clock
 * time. A first pass over the inputs (`ClockSurvey`) cuts each input into boots (runs of kernel
 * lines whose uptime grows) and Xen console runs, and gathers anchors: lines that carry both a wall
 * time and an uptime (syslog-prefixed kernel lines), journal records (realtime and monotonic clock),
 * `dmesg -T` lines (matched by message to the same message with an uptime). `resolve()` clusters the
 * boots of each host, matches the unanchored ones (plain `dmesg` captures) by sampled fingerprints,
 * and places Xen console runs before the dom0 boot that follows them. The second pass replays the
 * same cutting (`InputCutter`, deterministic) and asks `ResolvedClock.timeOf()` for each undated line.
 *
 * Memory is bounded: per boot a handful of numbers and at most `MAX_FINGERPRINTS` samples.
 */
import { createHash } from 'node:crypto';
import type { LogEvent } from '../types.js';

/** A message is sampled (for `dmesg -T` matching) when its hash falls into this residue class. */
const SAMPLE_MOD = 4;
/** Fingerprints kept per boot segment. */
const MAX_FINGERPRINTS = 512;
/** Message samples kept per unanchored segment. */
const MAX_MESSAGE_SAMPLES = 128;
/** Fingerprints kept over all `dmesg -T` inputs. */
const MAX_MESSAGE_ANCHORS = 200_000;
/**
 * Boot segments one input is cut into per host (and Xen console runs per input) at most. A host's
 * kernel uptime that goes back more often than this in one file is not that machine's boots: several
 * machines log under one name (a central syslog server's `localhost`, cloned guests), or the stamps
 * are out of order. Cutting on would cost memory and time per line and put a "dom0 booted" mark at
 * each step back, so past it the host's kernel lines in that input are dated by no boot at all (their
 * own stamps still date them) and the run says so (`InputCutter.capped`).
 */
export const MAX_SEGMENTS = 1000;
/**
 * Boot segments of one input at most, over all its hosts (a flood of forged host names with kernel
 * stamps: 300,000 names took `scan`'s survey 486 MB and 39 s). Past it, hosts not seen before and
 * hosts whose uptime goes back are not cut any further, as above.
 */
export const MAX_INPUT_SEGMENTS = 10_000;
/** Two segments of one host whose boot times differ by less than this are the same boot. */
export const SAME_BOOT_MS = 30_000;

const LINUX_BANNER = /^Linux version (\S+)/;
const XEN_BANNER = /^Xen version (\d+\.\d+\S*)/;
/** The end of the hypervisor's boot: dom0 starts right after these. */
const XEN_DOM0_START = /^\*\*\* Serial input (?:to|->) DOM0|^Freed \d+kB init memory|^Std\. Loglevel:/;
const XEN_UPTIME = /\(XEN\) \[ *(\d+\.\d+)\]/;
/**
 * What Xen prints while parsing its command line, before its banner (xen/common/kernel.c
 * parse_params(): `parameter "%s" unknown!`, `parameter "%s" has invalid value "%s"...`): a run of
 * only these lines followed by the banner is one complete boot, not a wrapped ring.
 */
const XEN_PRE_BANNER = /^parameter "[^"]*" (?:unknown!|has invalid value|has bad value|is not a boolean)|^Bad (?:console|loglevel)=/;

/** A run of kernel lines of one boot inside one input (one host's lines, uptime growing). */
export interface Segment {
  input: number;
  index: number;
  /** The cutter's key: the host (`h\0host`) or the journal's boot id (`j\0id`). */
  key: string;
  host: string | null;
  bootId: string | null;
  firstLine: number;
  firstUp: number;
  lastUp: number;
  lines: number;
  banner: string | null;
  /** The whole banner line's message ("Linux version 6.1.0-13-amd64 (debian-kernel@…) … #1 SMP …"), survey only. */
  bannerText: string | null;
  /**
   * The boot's wall-clock start: min(wall − uptime) over the anchored lines (a line logged late only
   * raises wall − uptime). Stamps of whole seconds are cut down by up to a second, so for them the
   * least upper bound min(wall + 1 s − uptime) is closer (see `resolve`).
   */
  offset: number | null;
  /** All anchors came from stamps of whole seconds (classic syslog). */
  wholeSeconds: boolean;
  /** Exact uptime stamps (µs), a bounded sample (see sampleKey): shared stamps mean the same boot. */
  fingerprints: Set<number>;
  fpMod: number;
  /** (message hash, uptime) pairs of unanchored segments, for `dmesg -T` matching. */
  messageSamples: [string, number][];
  /** Lines that carry no wall time of their own (survey only): what the clock is needed for. */
  undated: number;
}

/** A run of Xen console lines inside one input (one hypervisor boot, or its wrapped tail). */
export interface XenRun {
  input: number;
  index: number;
  firstLine: number;
  banner: string | null;
  /** Last line of the hypervisor's boot (dom0 starts after it), or null when not seen. */
  bootEndLine: number | null;
  /** Xen uptime at the end of the boot, when the console carries uptime stamps. */
  upAtBootEnd: number | null;
  lastUp: number | null;
  /** The kernel segment that started after this run in the same input (a serial console log). */
  followSegment: number | null;
  lines: number;
  /** Lines of Xen's command-line parsing seen before any other line of the run (see XEN_PRE_BANNER). */
  preBanner?: number;
  /** Lines without a wall time of their own. */
  undated: number;
}

/** Journal clock fields of a `journalctl -o json` record. */
function journalClock(text: string): { realtime: number; monotonic: number; bootId: string; sourceUp: number | null } | null {
  if (!text.includes('__MONOTONIC_TIMESTAMP')) return null;
  try {
    const r = JSON.parse(text) as Record<string, unknown>;
    const realtime = Number(r.__REALTIME_TIMESTAMP);
    const monotonic = Number(r.__MONOTONIC_TIMESTAMP);
    const bootId = typeof r._BOOT_ID === 'string' ? r._BOOT_ID : null;
    if (!Number.isFinite(realtime) || !Number.isFinite(monotonic) || !bootId) return null;
    const src = Number(r._SOURCE_MONOTONIC_TIMESTAMP);
    const sourceUp = r._TRANSPORT === 'kernel' && Number.isFinite(src) && src > 0 ? src / 1e6 : null;
    return { realtime: realtime / 1000, monotonic: monotonic / 1000, bootId, sourceUp };
  } catch {
    return null;
  }
}

/** Key of an uptime stamp (µs), or null for the early-boot stamps that recur on every boot. */
function uptimeKey(up: number): number | null {
  return up < 1 ? null : Math.round(up * 1e6);
}

/**
 * Keep a key in a bounded sample: only keys divisible by the sample's modulus (a power of two) are
 * kept, and the modulus doubles whenever the sample is full. Two samples of the same stamps thus
 * share the keys divisible by the larger modulus, whatever their sizes.
 */
function sampleKey(seg: { fingerprints: Set<number>; fpMod: number }, key: number): void {
  if (key % seg.fpMod !== 0) return;
  seg.fingerprints.add(key);
  while (seg.fingerprints.size > MAX_FINGERPRINTS) {
    seg.fpMod *= 2;
    for (const k of seg.fingerprints) if (k % seg.fpMod !== 0) seg.fingerprints.delete(k);
  }
}

function messageKey(message: string): string | null {
  if (message.length < 12) return null;
  const h = createHash('sha1').update(message).digest();
  return h[0]! % SAMPLE_MOD === 1 ? h.toString('hex', 0, 10) : null;
}

/** What `feed` says of a line that belongs to no segment or run (one the clock does not date). */
const NOWHERE: { segment: null; run: null; xenUp: null } = { segment: null, run: null, xenUp: null };

/**
 * Cuts one input into kernel boot segments and Xen runs. Both passes run the same cutter over the same
 * lines, so they agree on the segment and run numbers.
 */
export class InputCutter {
  readonly segments: Segment[] = [];
  readonly runs: XenRun[] = [];
  private readonly current = new Map<string, Segment>();
  /** Segments started per key. */
  private readonly started = new Map<string, number>();
  /**
   * Keys whose uptime went back more than MAX_SEGMENTS times (see there), with the lines of theirs
   * that carried no wall time (what the clock would have dated): none of their segments dates a line.
   */
  readonly capped = new Map<string, number>();
  /** Kernel lines of hosts first seen once the input held MAX_INPUT_SEGMENTS: all of them, and those without a wall time. */
  readonly unsegmented = { lines: 0, undated: 0 };
  /** Xen console runs past MAX_SEGMENTS: no run dates a line of this input; its lines without a wall time. */
  xenCapped: number | null = null;
  private run: XenRun | null = null;
  /** Kernel lines and Xen lines seen: to tell a console capture from a syslog file. */
  kernelLines = 0;
  dmesgLines = 0;
  xenLines = 0;

  constructor(
    readonly input: number,
    private readonly survey: boolean,
  ) {}

  /**
   * Feed one parsed line. Returns the kernel segment (for kernel lines with an uptime) or the Xen run
   * (for console lines) it belongs to.
   */
  feed(ev: LogEvent, text: string, lineNo: number): { segment: Segment | null; run: XenRun | null; xenUp: number | null } {
    if (ev.source === 'hypervisor') {
      const run = this.xen(ev, text, lineNo);
      return run ? { segment: null, run, xenUp: this.lastXenUp } : NOWHERE;
    }
    let up = ev.uptime;
    let bootId: string | null = null;
    let anchor: number | null = null;
    let printk = up !== null;
    if (ev.format === 'journal-json') {
      const j = journalClock(text);
      if (j) {
        bootId = j.bootId;
        anchor = j.realtime - j.monotonic;
        up = j.sourceUp ?? j.monotonic / 1000;
        printk = j.sourceUp !== null;
      }
    } else if (up !== null && ev.time !== null) {
      anchor = ev.time - up * 1000;
    }
    if (up === null) return NOWHERE;
    this.kernelLines++;
    if (ev.format === 'dmesg') this.dmesgLines++;
    const key = bootId !== null ? `j\0${bootId}` : `h\0${ev.host ?? ''}`;
    const undated = ev.time === null && anchor === null;
    const capped = this.capped.get(key);
    if (capped !== undefined) {
      if (undated) this.capped.set(key, capped + 1);
      return NOWHERE;
    }
    const banner = LINUX_BANNER.exec(ev.message);
    let seg = this.current.get(key) ?? null;
    const backwards = seg !== null && bootId === null && (up + 1 < seg.lastUp || (banner !== null && seg.lastUp > 1));
    const full = this.segments.length >= MAX_INPUT_SEGMENTS;
    if (seg === null && full) {
      this.unsegmented.lines++;
      if (undated) this.unsegmented.undated++;
      return NOWHERE;
    }
    if (seg === null || backwards) {
      const n = this.started.get(key) ?? 0;
      if (n >= MAX_SEGMENTS || full) {
        this.current.delete(key);
        let before = 0;
        for (const s of this.segments) if (s.key === key) before += s.undated;
        this.capped.set(key, before + (undated ? 1 : 0));
        return NOWHERE;
      }
      this.started.set(key, n + 1);
      seg = {
        input: this.input,
        index: this.segments.length,
        key,
        host: ev.host,
        bootId,
        firstLine: lineNo,
        firstUp: up,
        lastUp: up,
        lines: 0,
        banner: null,
        bannerText: null,
        offset: null,
        wholeSeconds: true,
        fingerprints: new Set(),
        fpMod: 1,
        messageSamples: [],
        undated: 0,
      };
      this.segments.push(seg);
      this.current.set(key, seg);
      if (this.run && this.run.followSegment === null) this.run.followSegment = seg.index;
    }
    seg.lines++;
    if (undated) seg.undated++;
    if (up > seg.lastUp) seg.lastUp = up;
    if (up < seg.firstUp) seg.firstUp = up;
    if (!this.survey) return { segment: seg, run: null, xenUp: null };
    if (banner && seg.banner === null) {
      seg.banner = banner[1]!;
      seg.bannerText = ev.message.slice(0, 512).trim();
    }
    if (seg.host === null && ev.host !== null) seg.host = ev.host;
    if (anchor !== null) {
      if (seg.offset === null || anchor < seg.offset) seg.offset = anchor;
      if (bootId !== null || ev.time! % 1000 !== 0) seg.wholeSeconds = false;
    }
    if (printk) {
      const k = uptimeKey(up);
      if (k !== null) sampleKey(seg, k);
    }
    if (anchor === null && seg.messageSamples.length < MAX_MESSAGE_SAMPLES) {
      const k = messageKey(ev.message);
      if (k !== null) seg.messageSamples.push([k, up]);
    }
    return { segment: seg, run: null, xenUp: null };
  }

  private lastXenUp: number | null = null;

  private xen(ev: LogEvent, text: string, lineNo: number): XenRun | null {
    this.xenLines++;
    if (this.xenCapped !== null) {
      if (ev.time === null) this.xenCapped++;
      return null;
    }
    const banner = XEN_BANNER.exec(ev.message);
    const upm = XEN_UPTIME.exec(text);
    const up = upm ? Number(upm[1]) : null;
    this.lastXenUp = up;
    let run = this.run;
    const backwards = run !== null && up !== null && run.lastUp !== null && up + 1 < run.lastUp;
    const onlyPreBanner = run !== null && run.banner === null && run.lines > 0 && run.preBanner === run.lines;
    if (run === null || (banner && run.lines > 0 && !onlyPreBanner) || backwards) {
      if (this.runs.length >= MAX_SEGMENTS) {
        this.run = null;
        this.xenCapped = this.runs.reduce((n, r) => n + r.undated, 0) + (ev.time === null ? 1 : 0);
        return null;
      }
      run = {
        input: this.input,
        index: this.runs.length,
        firstLine: lineNo,
        banner: null,
        bootEndLine: null,
        upAtBootEnd: null,
        lastUp: null,
        followSegment: null,
        lines: 0,
        undated: 0,
      };
      this.runs.push(run);
      this.run = run;
    }
    if (run.lines === (run.preBanner ?? 0) && run.banner === null && XEN_PRE_BANNER.test(ev.message))
      run.preBanner = (run.preBanner ?? 0) + 1;
    run.lines++;
    if (ev.time === null) run.undated++;
    if (banner && run.banner === null) run.banner = banner[1]!;
    if (up !== null) run.lastUp = up;
    if (XEN_DOM0_START.test(ev.message)) {
      run.bootEndLine = lineNo;
      if (up !== null) run.upAtBootEnd = up;
    }
    return run;
  }
}

/** A dom0 boot: the segments of one host that share a boot time. */
export interface Boot {
  id: number;
  host: string | null;
  /** Wall-clock time of uptime 0, ms. */
  start: number;
  kernel: string | null;
  /** Smallest uptime seen: > a few seconds means the boot's start is not in the logs. */
  firstUp: number;
  /**
   * How its wall-clock start is known: stamped lines (syslog, journal), `dmesg -T` lines, or the boot
   * time of the host xendoctor runs on (its own `dmesg` piped in).
   */
  anchored: 'stamps' | 'dmesg-T' | 'host-boot';
}

interface SurveyInput {
  cutter: InputCutter;
  hosts: Map<string, number>;
  name: string;
  inputHost: string | null;
}

/** What the first pass learns; `resolve()` turns it into a clock. */
export class ClockSurvey {
  private readonly inputs: SurveyInput[] = [];
  /** Sampled `dmesg -T` messages → wall time (null: ambiguous). */
  private readonly messageAnchors = new Map<string, number | null>();

  /**
   * Start an input; returns its line observer, and `host`: what a line that matters to the survey
   * only by its host (a plain syslog line, see plain-line.ts) is reduced to.
   */
  beginInput(
    name: string,
    inputHost: string | null,
  ): { line: (ev: LogEvent, text: string, lineNo: number) => void; host: (host: string) => void } {
    const idx = this.inputs.length;
    const si: SurveyInput = { cutter: new InputCutter(idx, true), hosts: new Map(), name, inputHost };
    this.inputs.push(si);
    const countHost = (host: string) => {
      if (si.hosts.size < 10_000 || si.hosts.has(host)) si.hosts.set(host, (si.hosts.get(host) ?? 0) + 1);
    };
    const line = (ev: LogEvent, text: string, lineNo: number) => {
      if (ev.host !== null) countHost(ev.host);
      if (ev.format === 'dmesg-T' && ev.time !== null) {
        const k = messageKey(ev.message);
        if (k !== null) {
          const prev = this.messageAnchors.get(k);
          if (prev === undefined) {
            if (this.messageAnchors.size < MAX_MESSAGE_ANCHORS) this.messageAnchors.set(k, ev.time);
          } else if (prev !== null && Math.abs(prev - ev.time) > 2000) this.messageAnchors.set(k, null);
        }
      }
      si.cutter.feed(ev, text, lineNo);
    };
    return { line, host: countHost };
  }

  /** Cluster, match and place: the clock for the second pass. */
  resolve(): ResolvedClock {
    const knownHosts = new Set<string>();
    for (const si of this.inputs) for (const h of si.hosts.keys()) knownHosts.add(h);
    const inputHosts = this.inputs.map((si) => guessInputHost(si, knownHosts));
    const segHost = (s: Segment) => s.host ?? inputHosts[s.input] ?? null;

    // 1. anchored segments → boots, per host, by boot time
    // the segments and runs that may date a line: none of a host cut too often, nor of an input whose Xen runs were
    const segmentsOf = (si: SurveyInput) => si.cutter.segments.filter((s) => !si.cutter.capped.has(s.key));
    const runsOf = (si: SurveyInput) => (si.cutter.xenCapped === null ? si.cutter.runs : []);
    const anchored = this.inputs.flatMap((si) => segmentsOf(si).filter((s) => s.offset !== null));
    for (const s of anchored) if (s.wholeSeconds && s.lines > 1) s.offset! += 999;
    anchored.sort((a, b) => (segHost(a) ?? '').localeCompare(segHost(b) ?? '') || a.offset! - b.offset!);
    const boots: Boot[] = [];
    const segBoot = new Map<Segment, Boot>();
    let cur: Boot | null = null;
    for (const s of anchored) {
      const host = segHost(s);
      if (!cur || cur.host !== host || s.offset! - cur.start > SAME_BOOT_MS) {
        cur = { id: boots.length, host, start: s.offset!, kernel: null, firstUp: s.firstUp, anchored: 'stamps' };
        boots.push(cur);
      }
      cur.kernel ??= s.banner;
      cur.firstUp = Math.min(cur.firstUp, s.firstUp);
      segBoot.set(s, cur);
    }
    const fp = new Map<number, number>(); // uptime µs → boot id (−1: ambiguous)
    // (only asked for segments without anchors of their own)
    const unanchored = this.inputs.some((si) => segmentsOf(si).some((s) => s.offset === null));
    if (unanchored)
      for (const [s, b] of segBoot) {
        for (const k of s.fingerprints) {
          const prev = fp.get(k);
          fp.set(k, prev === undefined || prev === b.id ? b.id : -1);
        }
      }

    // 2. unanchored segments: the boot whose fingerprints they share, else the `dmesg -T` lines they match
    for (const si of this.inputs) {
      for (const s of segmentsOf(si)) {
        if (s.offset !== null) continue;
        const host = segHost(s);
        const votes = new Map<number, number>();
        for (const k of s.fingerprints) {
          const id = fp.get(k);
          if (id === undefined || id < 0) continue;
          const b = boots[id]!;
          if (host !== null && b.host !== null && b.host !== host) continue;
          votes.set(id, (votes.get(id) ?? 0) + 1);
        }
        let best: Boot | null = null;
        let bestVotes = 0;
        for (const [id, n] of votes) if (n > bestVotes) [best, bestVotes] = [boots[id]!, n];
        if (best) {
          segBoot.set(s, best);
          best.kernel ??= s.banner;
          best.firstUp = Math.min(best.firstUp, s.firstUp);
          continue;
        }
        const offsets: number[] = [];
        for (const [k, up] of s.messageSamples) {
          const wall = this.messageAnchors.get(k);
          if (wall !== undefined && wall !== null) offsets.push(wall - up * 1000);
        }
        if (offsets.length === 0) continue;
        offsets.sort((a, b) => a - b);
        // the largest group of offsets within 2 s of each other (dmesg -T prints whole seconds)
        let bi = 0;
        let bn = 0;
        for (let i = 0, j = 0; i < offsets.length; i++) {
          while (offsets[i]! - offsets[j]! > 2000) j++;
          if (i - j + 1 > bn) [bn, bi] = [i - j + 1, j];
        }
        const start = offsets[bi]!;
        let boot = boots.find((b) => b.host === host && Math.abs(b.start - start) <= SAME_BOOT_MS) ?? null;
        if (!boot) {
          boot = { id: boots.length, host, start, kernel: s.banner, firstUp: s.firstUp, anchored: 'dmesg-T' };
          boots.push(boot);
        }
        segBoot.set(s, boot);
      }
    }

    // 3. inputs that name no host take the host of the boots they matched
    for (const si of this.inputs) {
      const i = si.cutter.input;
      if (inputHosts[i] !== null) continue;
      for (const s of segmentsOf(si)) {
        const b = segBoot.get(s);
        if (b?.host) {
          inputHosts[i] = b.host;
          break;
        }
      }
    }

    // 4. Xen console runs: placed at the dom0 boot that follows them
    const runStart = new Map<XenRun, number>();
    for (const si of this.inputs) {
      const i = si.cutter.input;
      for (const r of runsOf(si)) {
        let boot: Boot | null = null;
        // a serial console log: the dom0 boot right after it in the same file (undated if that one is)
        if (r.followSegment !== null) boot = segBoot.get(si.cutter.segments[r.followSegment]!) ?? null;
        else {
          const host = inputHosts[i];
          const candidates = boots.filter((b) => b.host === host || (host === null && knownHosts.size <= 1));
          // an `xl dmesg` capture holds the hypervisor boot of the running system: the latest dom0 boot
          boot = candidates.reduce<Boot | null>((a, b) => (a === null || b.start > a.start ? b : a), null);
        }
        if (boot) runStart.set(r, boot.start);
      }
    }
    return new ResolvedClock(this.inputs, segBoot, runStart, boots, inputHosts);
  }
}

/** The host an input belongs to when its lines do not say: the command's host, its lines' host, its path, or the only host. */
function guessInputHost(si: SurveyInput, known: Set<string>): string | null {
  if (si.inputHost) return si.inputHost;
  let best: string | null = null;
  let n = 0;
  for (const [h, c] of si.hosts) if (c > n) [best, n] = [h, c];
  if (best !== null) return best;
  const parts = si.name.split(/[/\\]/);
  for (let p = parts.length - 1; p >= 0; p--) {
    const part = parts[p]!;
    if (known.has(part)) return part;
    // file names such as xen07-dmesg.txt or dmesg.xen07.log
    for (const h of known)
      if (p === parts.length - 1 && new RegExp(`(?:^|[._-])${h.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?:[._-]|$)`).test(part)) return h;
  }
  return known.size === 1 ? [...known][0]! : null;
}

/** The clock for the second pass. */
export class ResolvedClock {
  constructor(
    private readonly inputs: SurveyInput[],
    private readonly segBoot: Map<Segment, Boot>,
    private readonly runStart: Map<XenRun, number>,
    readonly boots: Boot[],
    /** Host of each input's lines that name none (null: unknown). */
    readonly inputHosts: (string | null)[],
  ) {}

  /** The surveyed cutting of an input (segments, runs), for marks. */
  cutterOf(input: number): InputCutter {
    return this.inputs[input]!.cutter;
  }

  bootOf(input: number, segment: number): Boot | null {
    const s = this.inputs[input]?.cutter.segments[segment];
    return s ? (this.segBoot.get(s) ?? null) : null;
  }

  /**
   * Would this clock date some line of the input that carries no wall time of its own (a kernel
   * uptime stamp of a boot it knows, an undated Xen line of a run it placed)?
   */
  dates(input: number): boolean {
    const cut = this.inputs[input]?.cutter;
    if (!cut) return false;
    return cut.segments.some((s) => s.undated > 0 && this.segBoot.has(s)) || cut.runs.some((r) => r.undated > 0 && this.runStart.has(r));
  }

  /**
   * Do all kernel lines of the input that carry an uptime carry a date of their own (no line the
   * clock dates by its boot)? Then the second pass need not follow its boots.
   */
  kernelDated(input: number): boolean {
    return this.inputs[input]?.cutter.segments.every((s) => s.undated === 0) ?? false;
  }

  /** The last kernel boot segment of an input, when no clock dates it: what tells whether it is the running boot. */
  undatedLastBoot(input: number): { lastUp: number; banner: string | null; fingerprints: ReadonlySet<number> } | null {
    const cut = this.inputs[input]?.cutter;
    const seg = cut?.segments[cut.segments.length - 1];
    if (!seg || cut!.capped.has(seg.key) || seg.bootId !== null || this.segBoot.has(seg) || seg.undated === 0) return null;
    return { lastUp: seg.lastUp, banner: seg.bannerText, fingerprints: seg.fingerprints };
  }

  /**
   * Date an input's last kernel boot from the boot time of the host xendoctor runs on (its own
   * `dmesg` piped in; the caller has judged it the running boot, see undatedLastBoot). A Xen console
   * run right before it is placed by it.
   */
  anchorHostBoot(input: number, bootStart: number): void {
    const cut = this.inputs[input]?.cutter;
    const seg = cut?.segments[cut.segments.length - 1];
    if (!cut || !seg || cut.capped.has(seg.key) || this.segBoot.has(seg)) return;
    const boot: Boot = {
      id: this.boots.length,
      host: seg.host ?? this.inputHosts[input] ?? null,
      start: bootStart,
      kernel: seg.banner,
      firstUp: seg.firstUp,
      anchored: 'host-boot',
    };
    this.boots.push(boot);
    this.segBoot.set(seg, boot);
    for (const r of cut.runs) if (r.followSegment === seg.index && !this.runStart.has(r)) this.runStart.set(r, bootStart);
  }

  /**
   * What the cutting of an input gave up on (MAX_SEGMENTS), as a note; null when nothing, or, with
   * `undatedOnly`, when every line it concerns carries a date of its own.
   */
  cappedNote(input: number, undatedOnly: boolean): string | null {
    const cut = this.inputs[input]?.cutter;
    if (!cut || (cut.capped.size === 0 && cut.xenCapped === null && cut.unsegmented.lines === 0)) return null;
    const hosts = [...cut.capped.keys()].map((k) => k.slice(2)).filter((h) => h !== '');
    const undated = [...cut.capped.values()].reduce((a, b) => a + b, 0) + (cut.xenCapped ?? 0) + cut.unsegmented.undated;
    if (undatedOnly && undated === 0) return null;
    const went: string[] = [];
    if (cut.capped.size > 0) {
      const named = hosts.length <= 3 ? hosts.join(', ') : `${hosts.slice(0, 3).join(', ')} and ${hosts.length - 3} more`;
      went.push(`the kernel uptime${named ? ` of ${named}` : ''} went back more than ${MAX_SEGMENTS} times`);
    }
    if (cut.xenCapped !== null) went.push(`the Xen console's uptime went back more than ${MAX_SEGMENTS} times`);
    const what: string[] = [];
    if (went.length > 0)
      what.push(`${went.join(', and ')} (several machines logging under one name, or stamps out of order): not taken as boots`);
    if (cut.unsegmented.lines > 0)
      what.push(
        `more than ${MAX_INPUT_SEGMENTS} boots (a flood of host names?): the kernel lines of the hosts after them not taken as boots`,
      );
    const lines = undated === 1 ? 'line without a date of its own' : 'lines without a date of their own';
    return what.join('; ') + (undated > 0 ? `; ${undated} ${lines} left undated` : '');
  }

  /** Wall-clock start of the dom0 boot that follows a Xen run, or null. */
  runStartOf(input: number, run: number): number | null {
    const r = this.inputs[input]?.cutter.runs[run];
    return r ? (this.runStart.get(r) ?? null) : null;
  }

  /**
   * Time of an undated line, from what the cutter of the second pass said about it. `lastTime` is the
   * time of the input's previous dated line (for Xen lines after the boot, interleaved with dom0's).
   */
  timeOf(
    input: number,
    where: { segment: { index: number } | null; run: { index: number } | null; xenUp: number | null },
    ev: LogEvent,
    lineNo: number,
    lastTime: number | null,
  ): number | null {
    if (where.segment && ev.uptime !== null) {
      const b = this.bootOf(input, where.segment.index);
      return b ? b.start + ev.uptime * 1000 : null;
    }
    if (where.run) {
      const r = this.inputs[input]!.cutter.runs[where.run.index]!;
      const start = this.runStart.get(r) ?? null;
      const inBoot = r.bootEndLine !== null ? lineNo <= r.bootEndLine : r.banner !== null;
      if (start !== null && inBoot) {
        if (where.xenUp !== null && r.upAtBootEnd !== null) return start + Math.min(0, where.xenUp - r.upAtBootEnd) * 1000;
        return start;
      }
      if (start !== null && where.xenUp !== null && r.upAtBootEnd !== null) return start + (where.xenUp - r.upAtBootEnd) * 1000;
      if (lastTime !== null && (start === null || lastTime >= start)) return lastTime;
      return null;
    }
    return null;
  }
}
