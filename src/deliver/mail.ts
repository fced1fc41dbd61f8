/**
 * Delivering the report e-mail: to the local mailer (`sendmail -t -i`, which every host with cron
 * mail has; recipients from the To header) or over SMTP with nodemailer (`smtp://` or `smtps://`
 * URL, with user and password in it where the relay needs them). A failure is an Error: the caller
 * then keeps its state, so the next run reports everything again.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { CliError } from '../errors.js';
import { findOnPath } from '../sources/inputs.js';

/** The sendmail program: the given one, else /usr/sbin/sendmail, /usr/lib/sendmail or sendmail on PATH. */
export function findSendmail(given?: string): string {
  if (given) return given;
  for (const p of ['/usr/sbin/sendmail', '/usr/lib/sendmail']) if (existsSync(p)) return p;
  const onPath = findOnPath('sendmail');
  if (onPath) return onPath;
  throw new CliError(
    'no sendmail program found to deliver the report',
    'install a mail transfer agent, or give --sendmail PATH or --smtp URL',
  );
}

/** Pipe the message to `sendmail -t -i`; resolves when it exited 0. */
export function sendWithSendmail(program: string, message: string, timeoutMs = 120_000): Promise<void> {
  return new Promise((resolve, reject) => {
    // our own timer, cleared however the child ends: spawn's `timeout` outlives a child that never started
    let done = false;
    const finish = (e: Error | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (e) reject(e);
      else resolve();
    };
    const child = spawn(program, ['-t', '-i'], { stdio: ['pipe', 'ignore', 'pipe'] });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(new Error(`${program} did not finish within ${Math.round(timeoutMs / 1000)} s`));
    }, timeoutMs);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 2000) stderr += d.toString('utf8');
    });
    child.on('error', (e) => finish(new Error(`cannot run ${program}: ${(e as NodeJS.ErrnoException).code ?? e.message}`)));
    child.stdin.on('error', () => {
      /* EPIPE: the exit status tells */
    });
    child.on('close', (code, signal) => {
      if (code === 0) finish(null);
      else {
        const why = stderr.trim().split('\n')[0];
        finish(new Error(`${program} ${signal ? `was killed by ${signal}` : `exited with status ${code}`}${why ? `: ${why}` : ''}`));
      }
    });
    child.stdin.end(message);
  });
}

/** Check an SMTP URL before anything is read (bad usage is exit 3 at once). */
export function checkSmtpUrl(url: string): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new CliError(
      `--smtp: "${url.replace(/[^\x20-\x7e]/g, '?')}" is not a URL`,
      'give smtp://host:25, smtp://user:password@host:587 or smtps://host:465',
    );
  }
  if (u.protocol !== 'smtp:' && u.protocol !== 'smtps:') throw new CliError(`--smtp: the URL must start with smtp:// or smtps://`);
  if (!u.hostname) throw new CliError('--smtp: the URL names no host');
  return u;
}

/** Send the message (CRLF line ends) over SMTP to the recipients. */
export async function sendWithSmtp(url: string, from: string, to: string[], message: string, timeoutMs = 60_000): Promise<void> {
  checkSmtpUrl(url);
  // the URL's settings (host, port, TLS, auth, ?query options) win; the timeouts apply where it sets none
  // loaded only here: nodemailer costs every other run 15 MB of memory
  const nodemailer = createRequire(import.meta.url)('nodemailer') as typeof import('nodemailer');
  const transport = nodemailer.createTransport({ url, connectionTimeout: timeoutMs, greetingTimeout: timeoutMs, socketTimeout: timeoutMs });
  try {
    await transport.sendMail({ envelope: { from, to }, raw: message });
  } catch (e) {
    throw new Error(`SMTP delivery to ${to.join(', ')} failed: ${(e as Error).message}`);
  } finally {
    transport.close();
  }
}
