/**
 * The hypervisor console, live: runs `xl dmesg` (`xm dmesg` on old hosts) every few seconds and
 * passes on only the lines not seen in the previous read. The console is a ring buffer: it grows,
 * then wraps (old lines fall off the front, and the first line may be cut), and another tool may
 * clear it (`xl dmesg -c`). xendoctor never clears it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { MAX_LINE } from './lines.js';

/**
 * Length of the longest prefix of `cur` that is also a suffix of `prev` (KMP over lines): how much
 * of the new read the previous one already held.
 */
export function overlap(prev: string[], cur: string[]): number {
  const m = cur.length;
  if (m === 0 || prev.length === 0) return 0;
  const fail = new Int32Array(m);
  for (let i = 1, k = 0; i < m; i++) {
    while (k > 0 && cur[i] !== cur[k]) k = fail[k - 1]!;
    if (cur[i] === cur[k]) k++;
    fail[i] = k;
  }
  let k = 0;
  for (let i = Math.max(0, prev.length - m); i < prev.length; i++) {
    while (k > 0 && (k === m || prev[i] !== cur[k])) k = fail[k - 1]!;
    if (prev[i] === cur[k]) k++;
  }
  return k;
}

export interface ConsoleDiff {
  /** Lines that are new since the previous read. */
  fresh: string[];
  /**
   * grown: the buffer only grew; wrapped: old lines fell off the front; reset: nothing in common
   * with the previous read (cleared by another tool, or overrun: more was written than it holds).
   */
  kind: 'grown' | 'wrapped' | 'reset';
}

/** The lines of `cur` that follow what `prev` held (see ConsoleDiff). */
export function consoleDiff(prev: string[], cur: string[]): ConsoleDiff {
  if (prev.length === 0) return { fresh: cur, kind: 'reset' };
  const j = overlap(prev, cur);
  if (j > 0) return { fresh: cur.slice(j), kind: j === prev.length ? 'grown' : 'wrapped' };
  // After a wrap the ring usually starts in the middle of a line: try again without the first one,
  // if it is the end of the line that came before the overlap (otherwise it is a new line, whole).
  if (cur.length > 1) {
    const j1 = overlap(prev, cur.slice(1));
    const before = prev[prev.length - j1 - 1];
    if (j1 > 0 && before !== undefined && before.endsWith(cur[0]!)) return { fresh: cur.slice(1 + j1), kind: 'wrapped' };
  }
  return { fresh: cur, kind: 'reset' };
}

/** Split command output into lines; an unfinished last line (no newline yet) is left out. */
export function consoleLines(text: string): string[] {
  const lines = text.split('\n');
  lines.pop(); // "" after the final newline, or an unfinished line: the next read will have it whole
  return lines.map((l) => {
    if (l.endsWith('\r')) l = l.slice(0, -1);
    return l.length > MAX_LINE ? l.slice(0, MAX_LINE) : l;
  });
}

export interface ConsoleOptions {
  /** The xl (or xm) program. */
  command: string;
  intervalMs: number;
  /** Analyse what the buffer holds at start too (otherwise only what comes after). */
  fromStart: boolean;
  /** Kill a read that takes longer than this, ms. */
  timeoutMs?: number;
  /** Largest output read, bytes (the console ring is at most a few MB). */
  maxBytes?: number;
  onLines(lines: string[]): void;
  notice(message: string, kind: 'problem' | 'recovered' | 'info'): void;
}

/** Polls the console; see the module comment. */
export class XenConsole {
  private prev: string[] = [];
  private first = true;
  private timer: NodeJS.Timeout | null = null;
  private child: ChildProcess | null = null;
  private problem: string | null = null;
  private closed = false;
  /** Lines passed on so far (the "line numbers" of the console's evidence). */
  lines = 0;

  constructor(private readonly opts: ConsoleOptions) {}

  get name(): string {
    return `${this.opts.command.replace(/^.*\//, '')} dmesg`;
  }

  /** Start polling; resolves when the first read is done (what the buffer holds then is the start). */
  start(): Promise<void> {
    this.timer = setInterval(() => void this.poll(), this.opts.intervalMs);
    return this.poll();
  }

  private report(message: string): void {
    if (this.problem === message) return;
    this.problem = message;
    this.opts.notice(message, 'problem');
  }

  /** One read: run the command, keep what is new. A read still running skips the turn. */
  async poll(): Promise<void> {
    if (this.child || this.closed) return;
    const out = await this.read();
    if (out === null || this.closed) return;
    if (this.problem !== null) {
      this.problem = null;
      this.opts.notice(`${this.name} works again`, 'recovered');
    }
    const cur = consoleLines(out);
    if (this.first) {
      this.first = false;
      this.prev = cur;
      if (this.opts.fromStart) this.emit(cur);
      return;
    }
    const d = consoleDiff(this.prev, cur);
    if (d.kind === 'reset' && cur.length > 0 && this.prev.length > 0 && cur.length >= this.prev.length)
      this.opts.notice(
        `${this.name}: the console buffer overran between two reads; some lines were lost (read more often with --interval)`,
        'info',
      );
    this.prev = cur;
    this.emit(d.fresh);
  }

  private emit(lines: string[]): void {
    if (lines.length === 0) return;
    this.lines += lines.length;
    this.opts.onLines(lines);
  }

  private read(): Promise<string | null> {
    return new Promise((res) => {
      const maxBytes = this.opts.maxBytes ?? 64 * 1024 * 1024;
      const chunks: Buffer[] = [];
      let bytes = 0;
      let stderr = '';
      let timedOut = false;
      let child: ChildProcess;
      try {
        child = spawn(this.opts.command, ['dmesg'], { stdio: ['ignore', 'pipe', 'pipe'] });
      } catch (e) {
        this.report(`cannot run ${this.name}: ${(e as Error).message}`);
        res(null);
        return;
      }
      this.child = child;
      const timer = setTimeout(
        () => {
          timedOut = true;
          child.kill('SIGKILL');
        },
        this.opts.timeoutMs ?? Math.max(10_000, this.opts.intervalMs),
      );
      child.stdout!.on('data', (d: Buffer) => {
        if (bytes < maxBytes) chunks.push(d);
        bytes += d.length;
      });
      child.stderr!.on('data', (d: Buffer) => {
        if (stderr.length < 2000) stderr += d.toString('utf8');
      });
      const done = (v: string | null) => {
        clearTimeout(timer);
        this.child = null;
        res(v);
      };
      child.on('error', (e) => {
        this.report(`cannot run ${this.name}: ${(e as NodeJS.ErrnoException).code ?? e.message}`);
        done(null);
      });
      child.on('close', (code, signal) => {
        if (this.closed) return done(null);
        if (timedOut) {
          this.report(
            `${this.name} did not answer within ${Math.round((this.opts.timeoutMs ?? Math.max(10_000, this.opts.intervalMs)) / 1000)} s; killed it (will retry)`,
          );
          return done(null);
        }
        if (code !== 0) {
          const why = stderr.trim().split('\n')[0] ?? '';
          this.report(
            `${this.name} failed (${signal ?? `status ${code}`})${why ? `: ${why}` : ''}; will retry every ${this.opts.intervalMs / 1000} s`,
          );
          return done(null);
        }
        done(Buffer.concat(chunks).toString('utf8'));
      });
    });
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.child) {
      this.child.kill('SIGKILL');
      this.child.stdout?.destroy();
      this.child.stderr?.destroy();
    }
  }
}
