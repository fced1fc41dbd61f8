/**
 * Telling others about findings (`watch --exec CMD`, `--syslog`): a command per finding with its JSON
 * on stdin, and the local syslog through logger(1). Commands run without a shell unless asked, a few
 * at a time, each within a timeout; failures are logged on stderr, the same failure at most once a
 * minute.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { CliError } from '../errors.js';
import type { Severity } from '../types.js';

/** Split a command line into argv like a shell would for words and quotes, without expanding anything. */
export function splitArgv(cmd: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < cmd.length; i++) {
    const c = cmd[i]!;
    if (quote === "'") {
      if (c === "'") quote = null;
      else cur += c;
    } else if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === '\\' && i + 1 < cmd.length && '"\\$`'.includes(cmd[i + 1]!)) cur += cmd[++i];
      else cur += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < cmd.length) {
      cur += cmd[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) throw new CliError(`unbalanced ${quote} in command: ${cmd}`);
  if (inWord) out.push(cur);
  return out;
}

export interface RunnerOptions {
  /** What the runner is called in messages (`--exec`, `--syslog`). */
  label: string;
  /** Most commands running at once; more wait in a queue. */
  jobs: number;
  timeoutMs: number;
  /** Most commands waiting; beyond that they are dropped (and counted). */
  maxQueue?: number;
  log(message: string): void;
}

interface Job {
  argv: string[];
  input: string | null;
  env: Record<string, string>;
}

/** Runs commands with bounded concurrency and a timeout. */
export class CommandRunner {
  private queue: Job[] = [];
  private readonly running = new Set<ChildProcess>();
  private dropped = 0;
  private readonly lastLogged = new Map<string, { at: number; suppressed: number }>();
  private stopped = false;
  /** Commands finished, and of those failed (for tests and the figures). */
  done = 0;
  failed = 0;

  constructor(private readonly opts: RunnerOptions) {}

  run(argv: string[], input: string | null, env: Record<string, string> = {}): void {
    if (this.stopped) return;
    if (this.running.size < this.opts.jobs) {
      this.launch({ argv, input, env });
      return;
    }
    if (this.queue.length >= (this.opts.maxQueue ?? 1000)) {
      if (this.dropped++ === 0) this.fail(`too many commands waiting; dropping some (more than ${this.opts.maxQueue ?? 1000} queued)`);
      return;
    }
    this.queue.push({ argv, input, env });
  }

  private fail(message: string): void {
    this.failed++;
    const now = Date.now();
    const last = this.lastLogged.get(message);
    if (last && now - last.at < 60_000) {
      last.suppressed++;
      return;
    }
    const more = last && last.suppressed > 0 ? ` (and ${last.suppressed} more times in the last minute)` : '';
    if (this.lastLogged.size > 1000) this.lastLogged.clear();
    this.lastLogged.set(message, { at: now, suppressed: 0 });
    this.opts.log(`${this.opts.label}: ${message}${more}`);
  }

  private launch(job: Job): void {
    const name = job.argv[0]!;
    let child: ChildProcess;
    try {
      child = spawn(name, job.argv.slice(1), { stdio: ['pipe', 'ignore', 'pipe'], env: { ...process.env, ...job.env } });
    } catch (e) {
      this.fail(`cannot run ${name}: ${(e as Error).message}`);
      return;
    }
    this.running.add(child);
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 1000).unref();
    }, this.opts.timeoutMs);
    child.stderr!.on('data', (d: Buffer) => {
      if (stderr.length < 1000) stderr += d.toString('utf8');
    });
    child.stdin!.on('error', () => undefined); // a command that does not read its stdin is fine
    child.stdin!.end(job.input ?? '');
    let finished = false;
    const finish = (message: string | null) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      this.running.delete(child);
      this.done++;
      if (message !== null) this.fail(message);
      const next = this.queue.shift();
      if (next && !this.stopped) this.launch(next);
    };
    child.on('error', (e) => finish(`cannot run ${name}: ${(e as NodeJS.ErrnoException).code ?? e.message}`));
    child.on('close', (code, signal) => {
      if (this.stopped && signal === 'SIGKILL') return finish(null); // killed by stop(): not a failure
      if (timedOut) return finish(`${name} did not finish within ${this.opts.timeoutMs / 1000} s; killed`);
      if (code === 0) return finish(null);
      const why = stderr.trim().split('\n')[0] ?? '';
      finish(`${name} failed (${signal ?? `status ${code}`})${why ? `: ${why}` : ''}`);
    });
  }

  /** Stop: nothing new starts; wait up to `ms` for what runs, then kill it. */
  async stop(ms: number): Promise<void> {
    this.stopped = true;
    this.queue = [];
    const deadline = Date.now() + ms;
    while (this.running.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const c of this.running) {
      c.kill('SIGKILL');
      c.stdin?.destroy();
      c.stderr?.destroy();
    }
  }
}

const PRIORITY: Record<Severity, string> = { critical: 'crit', error: 'err', warning: 'warning', info: 'info' };

/** Sends lines to the local syslog with tag xendoctor, through logger(1) (no shell). */
export class SyslogSender {
  constructor(
    private readonly logger: string,
    private readonly runner: CommandRunner,
  ) {}

  send(severity: Severity, message: string): void {
    const text = message.length > 1800 ? `${message.slice(0, 1800)}…` : message;
    this.runner.run([this.logger, '-t', 'xendoctor', '-p', `daemon.${PRIORITY[severity]}`, '--', text], null);
  }
}
