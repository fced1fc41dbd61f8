/** Helpers of the report tests: the real binary run asynchronously (servers in this process keep answering), log lines. */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';
import { BIN, spawnAsync, type AsyncRun } from './helpers.js';
import { validateOutput } from './output-schemas.js';

export type { AsyncRun };

/**
 * Run xendoctor without blocking the event loop; `started` gets the child (to kill it); `input` is
 * written to its stdin (else it has none); `node` options go before the launcher.
 */
export async function xdAsync(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  started?: (c: ChildProcess) => void,
  input?: string | Buffer,
  node: string[] = [],
): Promise<AsyncRun> {
  const r = await spawnAsync(
    process.execPath,
    [...node, BIN, ...args],
    { env: { ...process.env, TZ: 'UTC', NO_COLOR: '1', ...env } },
    input,
    started,
  );
  // a document printed follows its JSON Schema (schemas/)
  if (r.code !== null && r.code <= 2) validateOutput(args, r.stdout);
  return r;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A syslog stamp (UTC): "Nov 20 08:01:10". */
export function stamp(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

/** A blkback hung-task line (rule blkback-hung-task) whose finding is keyed by `pid`. */
export function blk(pid: number, at = Date.parse('2026-11-20T08:01:10Z'), host = 'xen07', tail = ''): string {
  return `${stamp(at)} ${host} kernel: [1.0] INFO: task blkback.111.xvda:${pid} blocked for more than 120 seconds.${tail}`;
}

/** A harmless line. */
export function filler(n: number, at = Date.parse('2026-11-20T08:01:10Z')): string {
  return `${stamp(at)} xen07 kernel: [2.0] xenbr0: port ${n % 60}(vif${n}.0) entered forwarding state (filler ${n})`;
}

export interface JsonFinding {
  id: string;
  rule: string;
  key: Record<string, string>;
  count: number;
  host: string | null;
  severity: string;
  title: string;
  first: string | null;
  last: string | null;
  ongoing?: { since: string | null; before: number };
  evidence: { source: string; line: number; text: string; time: string | null }[];
}

/** Findings of a JSON report run; none when it printed nothing. */
export function findingsOf(stdout: string): JsonFinding[] {
  if (!stdout.trim()) return [];
  return (JSON.parse(stdout) as { findings: JsonFinding[] }).findings;
}

/** Line `n` (1-based) of a file, gzip or not. */
export function lineOf(path: string, n: number): string | undefined {
  let buf = readFileSync(path);
  if (buf[0] === 0x1f && buf[1] === 0x8b) buf = gunzipSync(buf);
  return buf.toString('utf8').split('\n')[n - 1];
}

export interface Received {
  from: string;
  to: string[];
  raw: string;
  mail: ParsedMail;
}

/** An SMTP server on 127.0.0.1 that keeps what it receives; `reject` makes it refuse recipients. */
export class Inbox {
  readonly received: Received[] = [];
  reject = false;
  port = 0;
  private server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo: (address, _session, cb) => {
      if (this.reject) cb(Object.assign(new Error('mailbox unavailable'), { responseCode: 550 }));
      else cb();
    },
    onData: (stream, session, cb) => {
      const parts: Buffer[] = [];
      stream.on('data', (d: Buffer) => parts.push(d));
      stream.on('end', () => {
        const raw = Buffer.concat(parts).toString('utf8');
        simpleParser(raw)
          .then((mail) => {
            this.received.push({
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              to: session.envelope.rcptTo.map((r) => r.address),
              raw,
              mail,
            });
            cb();
          })
          .catch(cb);
      });
    },
  });

  start(): Promise<void> {
    return new Promise((res) =>
      this.server.listen(0, '127.0.0.1', () => {
        this.port = (this.server.server.address() as AddressInfo).port;
        res();
      }),
    );
  }

  stop(): Promise<void> {
    return new Promise((res) => this.server.close(() => res()));
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }
}
