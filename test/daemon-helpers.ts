/** Test helpers: real daemons (node_exporter, Alertmanager) started on free loopback ports, and HTTP on loopback. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';

/** A TCP port free on 127.0.0.1 right now (the kernel's choice). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** GET or POST on loopback (https: certificate not verified); resolves with status and body (never throws on HTTP errors). */
export function http(url: string, method = 'GET', body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const opts = { method, headers: body ? { 'content-type': 'application/json' } : {}, rejectUnauthorized: false };
    const req = (url.startsWith('https:') ? httpsRequest : request)(url, opts, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

export interface Daemon {
  proc: ChildProcess;
  /** What it wrote on stdout and stderr so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Start `cmd args` and wait until `readyUrl` answers `readyStatus` (at most `timeoutMs`; a loaded 2-core
 * machine may take seconds). Fails with the daemon's own output when it exits or never gets ready.
 */
export async function startDaemon(cmd: string, args: string[], readyUrl: string, timeoutMs = 30_000, readyStatus = 200): Promise<Daemon> {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  let exited: string | null = null;
  proc.on('error', (e) => (exited = `cannot start ${cmd}: ${e.message}`));
  proc.on('exit', (code, sig) => (exited ??= `${cmd} exited (${code ?? sig})`));
  const daemon: Daemon = {
    proc,
    log: () => out,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
        setTimeout(() => proc.kill('SIGKILL'), 5000).unref();
      }),
  };
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (exited) throw new Error(`${exited}\n${out}`);
    try {
      if ((await http(readyUrl)).status === readyStatus) return daemon;
    } catch {
      // not listening yet
    }
    if (Date.now() > until) {
      await daemon.stop();
      throw new Error(`${cmd} not ready at ${readyUrl} after ${timeoutMs} ms\n${out}`);
    }
    await sleep(100);
  }
}

/** Poll `probe` until it returns a value (not undefined) or `timeoutMs` passes (then the last error). */
export async function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}
