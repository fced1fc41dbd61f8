/**
 * The systemd journal, live: `journalctl -f -o json`, one JSON record per line (the parser reads the
 * record's message, time, host and program). When journalctl exits, it is restarted after the last
 * record seen (`--after-cursor`), so nothing is read twice; the failure is reported once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { LineSplitter } from './follow.js';

export interface JournalOptions {
  command: string;
  fromStart: boolean;
  line(buf: Buffer, start: number, end: number, lineNo: number): void;
  idle(): void;
  notice(message: string, kind: 'problem' | 'recovered' | 'info'): void;
}

const CURSOR = Buffer.from('"__CURSOR":"');

/** Follows the journal; see the module comment. */
export class JournalFollower {
  private child: ChildProcess | null = null;
  private cursor: string | null = null;
  private closed = false;
  private restartTimer: NodeJS.Timeout | null = null;
  private backoff = 1000;
  private problem: string | null = null;
  private splitter: LineSplitter;
  private started = 0;

  constructor(private readonly opts: JournalOptions) {
    this.splitter = new LineSplitter((buf, s, e, n) => {
      const at = buf.indexOf(CURSOR, s);
      if (at >= 0 && at < e) {
        const from = at + CURSOR.length;
        const to = buf.indexOf(34 /* " */, from);
        if (to > from && to < e && to - from < 512) this.cursor = buf.toString('latin1', from, to);
      }
      this.opts.line(buf, s, e, n);
    });
  }

  readonly name = 'journal';

  start(): void {
    const args = ['-f', '-o', 'json', '-q'];
    if (this.cursor) args.push(`--after-cursor=${this.cursor}`, '-n', 'all');
    else args.push('-n', this.opts.fromStart ? 'all' : '0');
    let child: ChildProcess;
    try {
      child = spawn(this.opts.command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      this.failed(`cannot run journalctl: ${(e as Error).message}`);
      return;
    }
    this.child = child;
    this.started = Date.now();
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => {
      this.splitter.push(d);
      this.opts.idle();
      if (this.problem !== null && Date.now() - this.started > 2000) {
        this.problem = null;
        this.backoff = 1000;
        this.opts.notice('journalctl works again', 'recovered');
      }
    });
    child.stderr!.on('data', (d: Buffer) => {
      if (stderr.length < 2000) stderr += d.toString('utf8');
    });
    child.on('error', (e) => this.failed(`cannot run journalctl: ${(e as NodeJS.ErrnoException).code ?? e.message}`));
    child.on('close', (code, signal) => {
      if (this.child !== child) return;
      this.child = null;
      if (this.closed) return;
      const why = stderr.trim().split('\n')[0] ?? '';
      this.failed(`journalctl exited (${signal ?? `status ${code}`})${why ? `: ${why}` : ''}; restarting it`);
    });
  }

  private failed(message: string): void {
    this.child = null;
    if (this.closed) return;
    if (this.problem !== message) {
      this.problem = message;
      this.opts.notice(message, 'problem');
    }
    if (this.restartTimer) return;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (!this.closed) this.start();
    }, this.backoff);
    this.backoff = Math.min(this.backoff * 2, 60_000);
  }

  close(): void {
    this.closed = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.child) {
      this.child.kill('SIGTERM');
      // a pipe still held open by a grandchild must not keep xendoctor alive
      this.child.stdout?.destroy();
      this.child.stderr?.destroy();
    }
    this.splitter.flush();
  }
}
