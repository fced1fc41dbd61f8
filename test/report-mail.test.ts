/**
 * Delivery of the cron report: a real SMTP server on loopback (smtp-server) receives the message and
 * a real MIME parser (mailparser) reads it; a sendmail-compatible command; and the guarantee that a
 * run whose delivery fails, or that is killed with SIGKILL half-way, loses nothing: the next run
 * reports all of it.
 */
import { appendFileSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tmp, xd } from './helpers.js';
import { findSendmail, sendWithSendmail } from '../src/deliver/mail.js';
import { simpleParser } from 'mailparser';
import { Inbox, blk, filler, findingsOf, xdAsync } from './report-helpers.js';

const ONLY = ['--only', 'blkback-hung-task'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let inbox: Inbox;
beforeAll(async () => {
  inbox = new Inbox();
  await inbox.start();
});
afterAll(async () => {
  await inbox.stop();
});

function setup() {
  const dir = tmp('xd-mail-');
  const log = join(dir, 'kern.log');
  const state = join(dir, 'state.json');
  writeFileSync(log, `${filler(1)}\n${blk(2162)}\n${blk(2162, Date.parse('2026-11-20T08:01:11Z'))}\n${blk(77)}\n`);
  return { dir, log, state };
}

describe('report by e-mail over SMTP', () => {
  it('delivers a complete multipart message to a real SMTP server', async () => {
    const { log, state } = setup();
    const before = inbox.received.length;
    const r = await xdAsync([
      'report',
      '--state',
      state,
      '--mail-to',
      'ops@example.org,oncall@example.org',
      '--mail-from',
      'xd@xen07.example.org',
      '--smtp',
      inbox.url,
      ...ONLY,
      log,
    ]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(''); // delivered, not printed: cron sends nothing more
    expect(r.code).toBe(2);
    expect(inbox.received.length).toBe(before + 1);
    const got = inbox.received[inbox.received.length - 1]!;
    expect(got.from).toBe('xd@xen07.example.org');
    expect(got.to).toEqual(['ops@example.org', 'oncall@example.org']);
    const m = got.mail;
    expect(m.subject).toBe('xendoctor: xen07: 2 errors');
    expect(m.from?.value[0]?.address).toBe('xd@xen07.example.org');
    expect((Array.isArray(m.to) ? m.to : [m.to]).flatMap((t) => t!.value.map((v) => v.address))).toEqual([
      'ops@example.org',
      'oncall@example.org',
    ]);
    expect(m.date).toBeInstanceOf(Date);
    expect(Math.abs(m.date!.getTime() - Date.now())).toBeLessThan(120_000);
    expect(m.messageId).toMatch(/^<[^<>\s]+@[^<>\s]+>$/);
    expect(m.headers.get('content-type')).toMatchObject({ value: 'multipart/alternative' });
    expect(got.raw).toMatch(/\r\nContent-Type: text\/plain; charset=utf-8\r\n/);
    expect(got.raw).toMatch(/\r\nContent-Type: text\/html; charset=utf-8\r\n/);
    expect(m.text).toContain('blkback thread of guest 111 (xvda) blocked in dom0');
    expect(m.text).toContain('ionice -p 2162 -c 2 -n 7');
    expect(m.text).toMatch(/first run: everything the logs hold/);
    expect(m.html).toContain('<h1');
    expect(m.html).toContain('ionice -p 2162 -c 2 -n 7');

    // nothing new: no mail at all
    const quiet = await xdAsync(['report', '--state', state, '--mail-to', 'ops@example.org', '--smtp', inbox.url, ...ONLY, log]);
    expect(quiet).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(inbox.received.length).toBe(before + 1);

    // new lines: a mail about them, ongoing since the first time
    appendFileSync(log, `${blk(2162)}\n`);
    await xdAsync(['report', '--state', state, '--mail-to', 'ops@example.org', '--smtp', inbox.url, ...ONLY, log]);
    const next = inbox.received[inbox.received.length - 1]!.mail;
    expect(next.subject).toBe('xendoctor: xen07: 1 error');
    expect(next.text).toMatch(/1× · 2026-11-20 08:01:10Z · ongoing since 2026-11-20T08:01:10Z \(2 before\)/);
  });

  it('keeps everything for the next run when the SMTP server refuses the mail', async () => {
    const { log, state } = setup();
    inbox.reject = true;
    let r;
    try {
      r = await xdAsync(['report', '--state', state, '--mail-to', 'ops@example.org', '--smtp', inbox.url, ...ONLY, log]);
    } finally {
      inbox.reject = false;
    }
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/could not deliver the report: SMTP delivery to ops@example\.org failed/);
    expect(r.stderr).toMatch(/nothing was marked as read/);
    expect(existsSync(state)).toBe(false);
    appendFileSync(log, `${blk(77)}\n`);
    const ok = await xdAsync(['report', '--state', state, '--format', 'json', ...ONLY, log]);
    expect(
      findingsOf(ok.stdout)
        .map((f) => [f.key.pid, f.count])
        .sort(),
    ).toEqual([
      ['2162', 2],
      ['77', 2],
    ]);
  });

  it('keeps everything when no SMTP server answers', async () => {
    const { log, state } = setup();
    const r = await xdAsync(['report', '--state', state, '--mail-to', 'ops@example.org', '--smtp', 'smtp://127.0.0.1:1', ...ONLY, log]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/could not deliver the report/);
    expect(existsSync(state)).toBe(false);
  });
});

/** A sendmail stand-in: records its arguments and the message; fails or hangs on demand. */
function fakeSendmail(dir: string): { path: string; out: string } {
  const out = join(dir, 'outbox');
  const path = join(dir, 'sendmail');
  writeFileSync(
    path,
    `#!/bin/sh
mkdir -p ${out}
n=$(date +%s%N)
echo "$@" > ${out}/$n.args
cat > ${out}/$n.eml
[ -f ${dir}/fail ] && { echo "sendmail: queue file write error" >&2; exit 75; }
[ -f ${dir}/hang ] && { echo $$ > ${dir}/hanging; sleep 30; }
exit 0
`,
    { mode: 0o755 },
  );
  return { path, out };
}

function messages(out: string): { args: string; eml: string }[] {
  if (!existsSync(out)) return [];
  return readdirSync(out)
    .filter((n) => n.endsWith('.eml'))
    .sort()
    .map((n) => ({ eml: readFileSync(join(out, n), 'utf8'), args: readFileSync(join(out, n.replace(/eml$/, 'args')), 'utf8').trim() }));
}

describe('report through sendmail', () => {
  it('pipes the message to `sendmail -t -i`', async () => {
    const { dir, log, state } = setup();
    const sm = fakeSendmail(dir);
    const r = await xdAsync(['report', '--state', state, '--mail-to', 'root', '--sendmail', sm.path, ...ONLY, log]);
    expect(r).toMatchObject({ code: 2, stdout: '', stderr: '' });
    const [msg] = messages(sm.out);
    expect(msg!.args).toBe('-t -i');
    expect(msg!.eml).not.toContain('\r'); // the local mailer gets Unix line ends
    const m = await simpleParser(msg!.eml);
    expect(m.subject).toBe('xendoctor: xen07: 2 errors');
    expect(msg!.eml).toMatch(/^To: root$/m);
    expect(m.text).toContain('xendoctor ack');
  });

  it('keeps everything for the next run when sendmail fails', async () => {
    const { dir, log, state } = setup();
    const sm = fakeSendmail(dir);
    writeFileSync(join(dir, 'fail'), '');
    const r = await xdAsync(['report', '--state', state, '--mail-to', 'root', '--sendmail', sm.path, ...ONLY, log]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/could not deliver the report: .*sendmail exited with status 75: sendmail: queue file write error/);
    expect(existsSync(state)).toBe(false);
    const again = await xdAsync(['report', '--state', state, '--format', 'json', ...ONLY, log]);
    expect(
      findingsOf(again.stdout)
        .map((f) => [f.key.pid, f.count])
        .sort(),
    ).toEqual([
      ['2162', 2],
      ['77', 1],
    ]);
  });
});

describe('mail delivery that cannot start or does not end (src/deliver/mail.ts)', () => {
  it('an --smtp that is not an SMTP URL: exit 3 before anything is read, one message each', () => {
    const { dir, log, state } = setup();
    for (const [url, why] of [
      ['relay.example.org:25', /--smtp: the URL must start with smtp:\/\/ or smtps:\/\//],
      ['not a url', /--smtp: "not a url" is not a URL/],
      ['http://relay.example.org/', /--smtp: the URL must start with smtp:\/\/ or smtps:\/\//],
      ['smtp://', /--smtp: the URL names no host/],
    ] as const) {
      const r = xd(['report', '--state', state, '--mail-to', 'root', '--smtp', url, ...ONLY, log]);
      expect(r.code, url).toBe(3);
      expect(r.stderr, url).toMatch(why);
      expect(r.stderr).not.toMatch(/internal error| {4}at /);
      expect(existsSync(state)).toBe(false);
    }
    expect(readdirSync(dir)).not.toContain('state.json.lock');
  });

  it('a sendmail killed by a signal: exit 3 naming the signal, nothing marked as read', async () => {
    const { dir, log, state } = setup();
    const sm = join(dir, 'sendmail');
    writeFileSync(sm, '#!/bin/sh\ncat > /dev/null\necho "sendmail: out of luck" >&2\nkill -9 $$\n', { mode: 0o755 });
    const r = await xdAsync(['report', '--state', state, '--mail-to', 'root', '--sendmail', sm, ...ONLY, log]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/could not deliver the report: .*sendmail was killed by SIGKILL: sendmail: out of luck/);
    expect(existsSync(state)).toBe(false);
  });

  it('a sendmail that never ends is killed after the delivery timeout', async () => {
    const dir = tmp('xd-mail-');
    const sm = join(dir, 'sendmail');
    writeFileSync(sm, `#!/bin/sh\necho $$ > ${dir}/pid\ncat > /dev/null\nexec sleep 60\n`, { mode: 0o755 });
    const started = Date.now();
    await expect(sendWithSendmail(sm, 'Subject: x\n\nbody\n', 1000)).rejects.toThrow(`${sm} did not finish within 1 s`);
    expect(Date.now() - started).toBeLessThan(30_000); // not the 60 s it sleeps
    const pid = Number(readFileSync(join(dir, 'pid'), 'utf8'));
    let alive = true;
    for (let i = 0; i < 100 && alive; i++) {
      try {
        process.kill(pid, 0);
        await sleep(50);
      } catch {
        alive = false;
      }
    }
    expect(alive).toBe(false); // SIGKILLed, not left behind
  });

  it('findSendmail: the one given, else the usual places, else a clear refusal', () => {
    expect(findSendmail('/opt/mta/sendmail')).toBe('/opt/mta/sendmail');
    const path = process.env.PATH;
    try {
      const bin = tmp('xd-mail-bin-');
      process.env.PATH = bin;
      const usual = ['/usr/sbin/sendmail', '/usr/lib/sendmail'].find((p) => existsSync(p));
      if (usual) expect(findSendmail()).toBe(usual);
      else {
        expect(() => findSendmail()).toThrow('no sendmail program found to deliver the report');
        writeFileSync(join(bin, 'sendmail'), '#!/bin/sh\n', { mode: 0o755 });
        expect(findSendmail()).toBe(join(bin, 'sendmail'));
      }
    } finally {
      process.env.PATH = path;
    }
  });
});

describe('a run killed with SIGKILL', () => {
  it('while delivering: the next run takes over the stale lock and reports everything', async () => {
    const { dir, log, state } = setup();
    const sm = fakeSendmail(dir);
    writeFileSync(join(dir, 'hang'), '');
    let child: import('node:child_process').ChildProcess | undefined;
    const run = xdAsync(['report', '--state', state, '--mail-to', 'root', '--sendmail', sm.path, ...ONLY, log], {}, (c) => (child = c));
    for (let i = 0; i < 300 && !existsSync(join(dir, 'hanging')); i++) await sleep(50);
    expect(existsSync(join(dir, 'hanging'))).toBe(true);
    child!.kill('SIGKILL');
    const killed = await run;
    expect(killed.signal).toBe('SIGKILL');
    process.kill(Number(readFileSync(join(dir, 'hanging'), 'utf8')), 'SIGKILL'); // the orphaned stand-in
    expect(existsSync(`${state}.lock`)).toBe(true);
    expect(existsSync(state)).toBe(false);

    appendFileSync(log, `${blk(9)}\n`);
    const next = await xdAsync(['report', '--state', state, '--format', 'json', ...ONLY, log]);
    expect(next.stderr).toMatch(/took over a stale lock .*process \d+ is gone/);
    expect(
      findingsOf(next.stdout)
        .map((f) => [f.key.pid, f.count])
        .sort(),
    ).toEqual([
      ['2162', 2],
      ['77', 1],
      ['9', 1],
    ]);
  });

  it('while reading: the next run reports everything', async () => {
    const { dir, log, state } = setup();
    // first a normal run, so that there is a state to lose
    await xdAsync(['report', '--state', state, ...ONLY, log]);
    const committed = readFileSync(state, 'utf8');
    appendFileSync(log, `${blk(500)}\n${filler(2)}\n${blk(501)}\n`);
    // a journalctl that hands over one record and then hangs: the run is stuck mid-read
    const jc = join(dir, 'journalctl');
    writeFileSync(
      jc,
      `#!/bin/sh
echo '{"__CURSOR":"s=1;i=1","MESSAGE":"INFO: task blkback.111.xvda:600 blocked for more than 120 seconds.","_HOSTNAME":"xen07","SYSLOG_IDENTIFIER":"kernel","__REALTIME_TIMESTAMP":"1795161670000000"}'
echo $$ > ${dir}/reading
sleep 30
`,
      { mode: 0o755 },
    );
    let child: import('node:child_process').ChildProcess | undefined;
    const run = xdAsync(['report', '--state', state, '--journalctl', jc, '--format', 'json', ...ONLY, log], {}, (c) => (child = c));
    for (let i = 0; i < 300 && !existsSync(join(dir, 'reading')); i++) await sleep(50);
    await sleep(200);
    child!.kill('SIGKILL');
    expect((await run).signal).toBe('SIGKILL');
    process.kill(Number(readFileSync(join(dir, 'reading'), 'utf8')), 'SIGKILL');
    expect(readFileSync(state, 'utf8')).toBe(committed); // untouched
    expect(readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);

    writeFileSync(
      jc,
      `#!/bin/sh\necho '{"__CURSOR":"s=1;i=1","MESSAGE":"INFO: task blkback.111.xvda:600 blocked for more than 120 seconds.","_HOSTNAME":"xen07","SYSLOG_IDENTIFIER":"kernel","__REALTIME_TIMESTAMP":"1795161670000000"}'\n`,
    );
    const next = await xdAsync(['report', '--state', state, '--journalctl', jc, '--format', 'json', ...ONLY, log]);
    expect(
      findingsOf(next.stdout)
        .map((f) => [f.key.pid, f.count])
        .sort(),
    ).toEqual([
      ['500', 1],
      ['501', 1],
      ['600', 1],
    ]);
  });
});
