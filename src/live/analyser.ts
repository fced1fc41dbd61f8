/**
 * Live analysis (`xendoctor watch`): lines from the followed sources go through one long-lived
 * Engine (`Engine.read`, as in every command); each finding is announced once, when its first line arrives (or its threshold
 * is crossed), and later hits are folded into a periodic "repeated N times" summary.
 *
 * Memory stays flat over days: findings not seen for `forgetMs` are forgotten (and announced again
 * if they come back; the engine forgets their groups too, `Engine.expire`), the repeat counters are
 * per finding and bounded in number, and the Engine is replaced every `recycleMs` by a fresh one
 * that takes over the host facts and is first fed the recent candidate lines again (silently), so
 * that version gates and thresholds within their windows carry over.
 */
import { Engine, OWN_PROGRAM } from '../engine/engine.js';
import type { Rule } from '../engine/catalogue.js';
import { hasSlowMatches, slowNote, takeSlowMatches } from '../engine/safety.js';
import type { TimeContext } from '../parse/time.js';
import { isWallHeader } from '../sources/lines.js';
import { severityRank, type Finding, type Severity } from '../types.js';

/** A live source of lines (a file, the console, the journal). */
export interface LiveSource {
  name: string;
  /** Host of lines that name none (the console of this host), or null. */
  host: string | null;
}

export interface RepeatSummary {
  /** The finding as it stands now (count is the total). */
  finding: Finding;
  /** Hits since the last line printed about it. */
  repeats: number;
  /** Hits since it was announced (the finding's own count restarts when the engine is renewed). */
  total: number;
  /** The span the repeats fall in, ms. */
  since: number;
  until: number;
}

export interface LiveOptions {
  zone: string;
  year: number | null;
  since?: number | null;
  until?: number | null;
  hosts?: string[] | null;
  minSeverity: Severity;
  /** How often repeats are summed up, ms. */
  repeatIntervalMs: number;
  /** A finding quiet for this long is forgotten (and announced as new if it comes back), ms. */
  forgetMs: number;
  /** Replace the Engine this often (its groups never expire), ms; 0: never. */
  recycleMs: number;
  /** Close a multi-line report when no line has continued it for this long, ms. */
  blockIdleMs?: number;
  onNew(f: Finding): void;
  onRepeat(r: RepeatSummary): void;
  /** Problems worth one line on stderr (a flood of distinct findings…). */
  notice(message: string): void;
  now?: () => number;
}

interface Seen {
  finding: Finding;
  total: number;
  pending: number;
  windowStart: number;
  lastPrint: number;
  lastActivity: number;
}

/** A line offered to the engine, kept to be offered again to a fresh one (parsed again then: less memory). */
interface Kept {
  text: string;
  source: string;
  line: number;
  host: string | null;
  candidate: boolean;
  at: number;
  before?: string;
}

/** The last line read of a source (its bytes copied: the reader's buffer is reused). */
interface Previous {
  bytes: Buffer;
  length: number;
  wall: boolean;
}

interface Queued {
  src: LiveSource;
  text: Buffer;
  line: number;
}

/** Most findings remembered (least recently active forgotten first). */
const MAX_SEEN = 50_000;
/** Candidate lines kept for replay into a fresh Engine. */
const KEEP_LINES = 10_000;
const KEEP_BYTES = 4 * 1024 * 1024;
/** Lines of other sources held while one source's multi-line report is open. */
const QUEUE_LINES = 10_000;

export class LiveAnalyser {
  private engine: Engine;
  private readonly seen = new Map<string, Seen>();
  private kept: Kept[] = [];
  private keptHead = 0;
  private keptBytes = 0;
  private keepFor = 0;
  private replaying = false;
  private blockOwner: LiveSource | null = null;
  private blockTimer: NodeJS.Timeout | null = null;
  private queue: Queued[] = [];
  private readonly ctx = new Map<string, TimeContext>();
  /** Each source's line before the current one (see LinePlace.before). */
  private readonly previous = new Map<LiveSource, Previous>();
  private tickTimer: NodeJS.Timeout | null = null;
  private recycleTimer: NodeJS.Timeout | null = null;
  private droppedSeen = false;
  private lastExpiry = 0;
  private lastDropped = 0;
  /** Lines read, for the figures. */
  linesRead = 0;
  linesOffered = 0;

  constructor(
    private rules: Rule[],
    private readonly opts: LiveOptions,
  ) {
    this.engine = this.newEngine(rules, null);
  }

  private now(): number {
    return this.opts.now?.() ?? Date.now();
  }

  /** A fresh engine with `rules`, knowing what `old` learnt of the hosts (versions: the rules' gates). */
  private newEngine(rules: Rule[], old: Engine | null): Engine {
    this.rules = rules;
    // replay span: the longest threshold window (at least 10 minutes, at most a day)
    let longest = 600_000;
    for (const r of rules) if (r.threshold) longest = Math.max(longest, r.threshold.within ?? 86_400_000);
    this.keepFor = Math.min(longest, 86_400_000);
    const engine = new Engine(rules, {
      since: this.opts.since,
      until: this.opts.until,
      hosts: this.opts.hosts,
      onFinding: (f, kind) => this.hit(f, kind),
    });
    if (old) engine.takeFacts(old);
    return engine;
  }

  /** Start the timers (repeat summaries, expiry, engine recycling). */
  start(): void {
    const every = Math.max(50, Math.min(this.opts.repeatIntervalMs / 4, 1000));
    this.tickTimer = setInterval(() => this.tick(), every);
    if (this.opts.recycleMs > 0) this.recycleTimer = setInterval(() => this.replaceEngine(this.rules), this.opts.recycleMs);
  }

  get ruleCount(): number {
    return this.rules.length;
  }

  /** New rules (SIGHUP): a fresh Engine with them, fed the recent lines again. */
  reload(rules: Rule[]): void {
    this.replaceEngine(rules);
  }

  private replaceEngine(rules: Rule[]): void {
    this.closeBlock();
    this.engine = this.newEngine(rules, this.engine);
    this.expireKept(this.now());
    this.replaying = true;
    try {
      for (let i = this.keptHead; i < this.kept.length; i++) {
        const k = this.kept[i]!;
        const ctx = { zone: this.opts.zone, year: this.opts.year, reference: k.at };
        this.engine.read(k.text, { source: k.source, line: k.line, host: k.host, ctx, candidate: k.candidate, before: k.before });
      }
      this.engine.closeBlock();
    } finally {
      this.replaying = false;
    }
  }

  private contextOf(src: LiveSource): TimeContext {
    let c = this.ctx.get(src.name);
    if (!c) {
      c = { zone: this.opts.zone, year: this.opts.year, reference: this.now() };
      if (this.ctx.size > 10_000) this.ctx.clear();
      this.ctx.set(src.name, c);
    }
    return c;
  }

  /** One line of a source: `buf[start, end)`, without its newline. */
  line(src: LiveSource, buf: Buffer, start: number, end: number, lineNo: number): void {
    this.linesRead++;
    if (this.blockOwner !== null && this.blockOwner !== src) {
      // another source's multi-line report is open: keep this line until it closes
      this.queue.push({ src, text: Buffer.from(buf.subarray(start, end)), line: lineNo });
      if (this.queue.length >= QUEUE_LINES) this.closeBlock();
      return;
    }
    this.offer(src, buf, start, end, lineNo);
  }

  /**
   * The line before this one, when this one may depend on it (as lines.ts scanLines offers it): a
   * wrapped rest (indented or quoted; a candidate when the two joined hold a literal) or the line
   * after a wall broadcast header. Remembers this line as the next one's line before.
   */
  private lineBefore(
    src: LiveSource,
    buf: Buffer,
    start: number,
    end: number,
    candidate: boolean,
  ): { before?: string; candidate: boolean } {
    let prev = this.previous.get(src);
    const first = buf[start];
    const rest = first === 32 || first === 9 || first === 62;
    let before: string | undefined;
    if (prev && (rest || prev.wall)) {
      if (rest && !candidate && !this.engine.wantsAll()) {
        let q = start;
        while (q < end && (buf[q] === 32 || buf[q] === 9 || buf[q] === 62)) q++;
        const joined = Buffer.concat([prev.bytes.subarray(0, prev.length), Buffer.from(' '), buf.subarray(q, end)]);
        candidate = this.engine.isCandidate(joined, 0, joined.length);
      }
      if (candidate || this.engine.wantsAll()) before = prev.bytes.toString('utf8', 0, prev.length);
    }
    if (!prev || prev.bytes.length < end - start) {
      if (this.previous.size > 10_000) this.previous.clear();
      prev = { bytes: Buffer.allocUnsafe(Math.max(256, end - start)), length: 0, wall: false };
      this.previous.set(src, prev);
    }
    prev.length = buf.copy(prev.bytes, 0, start, end);
    prev.wall = isWallHeader(buf, start, end);
    return { before, candidate };
  }

  private offer(src: LiveSource, buf: Buffer, start: number, end: number, lineNo: number): void {
    const { before, candidate } = this.lineBefore(src, buf, start, end, this.engine.isCandidate(buf, start, end));
    if (!candidate && !this.engine.wantsAll()) return;
    const text = buf.toString('utf8', start, end);
    const ctx = this.contextOf(src);
    ctx.reference = this.now(); // live lines are written now: year-less stamps are this year's
    const wasOpen = this.engine.wantsAll();
    const ev = this.engine.read(text, { source: src.name, line: lineNo, host: src.host, ctx, candidate, raw: buf, start, end, before });
    if (ev.program !== null && ev.program.toLowerCase() === OWN_PROGRAM) return;
    this.linesOffered++;
    this.keep({ text, source: src.name, line: lineNo, host: src.host, candidate, at: ctx.reference, before });
    if (this.engine.wantsAll()) {
      this.blockOwner = src;
      this.armBlockTimer();
    } else if (wasOpen || this.blockOwner !== null) {
      this.blockClosed();
    }
    if (hasSlowMatches()) for (const m of takeSlowMatches()) this.opts.notice(`${src.name}:${lineNo}: ${slowNote(m)}`);
    if (this.engine.folded !== this.lastDropped) {
      // told once, when the first key is folded (the finding itself then counts the rest)
      if (this.lastDropped === 0) for (const n of this.engine.foldNotes()) this.opts.notice(n.text);
      this.lastDropped = this.engine.folded;
    }
  }

  /** A read burst of a source ended: a report still open then is closed soon (see blockIdleMs). */
  idle(): void {
    if (this.blockOwner !== null) this.armBlockTimer();
  }

  private armBlockTimer(): void {
    if (this.blockTimer) clearTimeout(this.blockTimer);
    this.blockTimer = setTimeout(() => this.closeBlock(), this.opts.blockIdleMs ?? 250);
  }

  private closeBlock(): void {
    this.engine.closeBlock();
    this.blockClosed();
  }

  private blockClosed(): void {
    if (this.blockTimer) clearTimeout(this.blockTimer);
    this.blockTimer = null;
    this.blockOwner = null;
    while (this.queue.length > 0 && this.blockOwner === null) {
      const q = this.queue;
      this.queue = [];
      for (let i = 0; i < q.length; i++) {
        const x = q[i]!;
        if (this.blockOwner !== null && this.blockOwner !== x.src) {
          this.queue.push(...q.slice(i));
          break;
        }
        this.offer(x.src, x.text, 0, x.text.length, x.line);
      }
    }
  }

  private keep(k: Kept): void {
    this.kept.push(k);
    this.keptBytes += k.text.length + (k.before?.length ?? 0);
    if (this.kept.length - this.keptHead > KEEP_LINES || this.keptBytes > KEEP_BYTES) this.dropKept();
  }

  private dropKept(): void {
    const k = this.kept[this.keptHead]!;
    this.keptBytes -= k.text.length + (k.before?.length ?? 0);
    this.kept[this.keptHead++] = undefined as unknown as Kept;
    if (this.keptHead > 4096 && this.keptHead * 2 > this.kept.length) {
      this.kept = this.kept.slice(this.keptHead);
      this.keptHead = 0;
    }
  }

  private expireKept(now: number): void {
    while (this.keptHead < this.kept.length && now - this.kept[this.keptHead]!.at > this.keepFor) this.dropKept();
  }

  /** The engine's report of a hit of a fired finding. */
  private hit(f: Finding, _kind: 'new' | 'repeat'): void {
    if (this.replaying) return;
    if (severityRank(f.severity) < severityRank(this.opts.minSeverity)) return;
    if (!this.engine.applies(f)) return;
    const now = this.now();
    const s = this.seen.get(f.id);
    if (!s) {
      // not announced yet (or forgotten since): announce it now, whatever the engine calls it
      this.seen.set(f.id, { finding: f, total: f.count, pending: 0, windowStart: now, lastPrint: now, lastActivity: now });
      if (this.seen.size > MAX_SEEN) {
        this.seen.delete(this.seen.keys().next().value!);
        if (!this.droppedSeen) this.opts.notice(`more than ${MAX_SEEN} distinct findings; the least recent are forgotten`);
        this.droppedSeen = true;
      }
      this.opts.onNew(f);
      return;
    }
    if (s.pending === 0 && now - s.lastPrint >= this.opts.repeatIntervalMs) s.windowStart = now;
    s.pending++;
    s.total++;
    s.finding = f;
    s.lastActivity = now;
    // most recently active last: the front of the map is what to forget first
    this.seen.delete(f.id);
    this.seen.set(f.id, s);
  }

  /** Print the repeat summaries that are due; forget findings quiet for too long. */
  tick(final = false): void {
    const now = this.now();
    for (const [id, s] of this.seen) {
      if (s.pending > 0 && (final || now - s.windowStart >= this.opts.repeatIntervalMs)) {
        this.opts.onRepeat({ finding: s.finding, repeats: s.pending, total: s.total, since: s.windowStart, until: now });
        s.pending = 0;
        s.windowStart = now;
        s.lastPrint = now;
      } else if (s.pending === 0 && now - s.lastActivity > this.opts.forgetMs) {
        this.seen.delete(id);
      }
    }
    this.expireKept(now);
    if (now - this.lastExpiry >= Math.min(60_000, this.opts.forgetMs)) {
      // the engine's groups quiet for longer than any window or the memory of findings (log time)
      this.engine.expireQuiet(Math.max(this.opts.forgetMs, this.keepFor), now);
      this.lastExpiry = now;
    }
  }

  /** Findings remembered (for tests and the figures). */
  get remembered(): number {
    return this.seen.size;
  }

  /** Stop: close what is open, print the repeats not yet summed up. */
  stop(): void {
    this.closeBlock();
    if (this.tickTimer) clearInterval(this.tickTimer);
    if (this.recycleTimer) clearInterval(this.recycleTimer);
    if (this.blockTimer) clearTimeout(this.blockTimer);
    this.tick(true);
  }
}
