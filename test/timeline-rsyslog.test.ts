/**
 * Many hosts through a real central syslog: an rsyslogd (Debian package rsyslog) started by the test
 * on a loopback port with its own configuration, pid file and work folder, receiving RFC 3164 and
 * RFC 5424 messages over UDP and TCP from several senders with their own host names (`logger` for
 * this host; raw frames for the others, since util-linux logger cannot set a host name), writing the
 * central files that xendoctor then analyses: each finding must land on the host that sent it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { component, tmp, xd } from './helpers.js';

const RSYSLOGD = component('rsyslogd', ['/usr/sbin/rsyslogd', '/sbin/rsyslogd'], 'rsyslog');
const LOGGER = component('logger', ['/usr/bin/logger', '/bin/logger'], 'bsdutils');

interface TReport {
  findings: { id: string; rule: string; host: string | null; causedBy: string[] }[];
  timeline: { hosts: { host: string | null; findings: Record<string, number> }[]; shared: { rule: string; hosts: string[] }[] };
}

let dir: string;
let port: number;
let daemon: ChildProcess | null = null;
const SELF = hostname();

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function tcpSend(frames: string[]): Promise<void> {
  return new Promise((res, rej) => {
    const c = connect(port, '127.0.0.1', () => {
      // RFC 6587 octet counting: one frame per message, whatever it holds
      for (const f of frames) c.write(`${Buffer.byteLength(f)} ${f}`);
      c.end(res);
    });
    c.on('error', rej);
  });
}

async function udpSend(frames: string[]): Promise<void> {
  const s = createSocket('udp4');
  for (const f of frames) await new Promise<void>((res, rej) => s.send(f, port, '127.0.0.1', (e) => (e ? rej(e) : res())));
  s.close();
}

/** Stamps a few minutes back from now, so the year-less central file needs no --year. */
const at = (minutesAgo: number) => new Date(Date.now() - minutesAgo * 60_000);
function bsd(d: Date): string {
  const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()]!;
  return `${mon} ${String(d.getUTCDate()).padStart(2)} ${d.toISOString().slice(11, 19)}`;
}

const lineCount = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean).length : 0);

describe.skipIf(!RSYSLOGD)('timeline: a central rsyslog receiving many hosts', () => {
  beforeAll(async () => {
    dir = tmp('xd-rsyslog-');
    mkdirSync(join(dir, 'work'));
    port = await freePort();
    writeFileSync(
      join(dir, 'rsyslog.conf'),
      `global(workDirectory="${dir}/work")
module(load="imudp")
module(load="imtcp")
input(type="imudp" address="127.0.0.1" port="${port}")
input(type="imtcp" address="127.0.0.1" port="${port}")
*.* action(type="omfile" file="${dir}/central.log" template="RSYSLOG_TraditionalFileFormat")
*.* action(type="omfile" file="${dir}/central-rfc3339.log" template="RSYSLOG_FileFormat")
`,
    );
    const check = spawnSync(RSYSLOGD!, ['-N1', '-f', join(dir, 'rsyslog.conf')], { encoding: 'utf8' });
    expect(check.status, check.stderr).toBe(0);
    daemon = spawn(RSYSLOGD!, ['-n', '-f', join(dir, 'rsyslog.conf'), '-i', join(dir, 'rsyslogd.pid')], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TZ: 'UTC' },
    });
    let err = '';
    daemon.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    // ready when it accepts TCP connections
    await waitFor(() => existsSync(join(dir, 'rsyslogd.pid')), `rsyslogd to start (${err})`);
    for (let i = 0; ; i++) {
      try {
        await tcpSend([`<14>${bsd(at(30))} probe xendoctor-test: ready`]);
        break;
      } catch (e) {
        if (i > 50) throw e;
        await sleep(100);
      }
    }

    // xen01: RFC 3164 over UDP — the disk fills, then xend will not start
    await udpSend([
      `<11>${bsd(at(20))} xen01 xendomains[5190]: xc: error: Error when writing to state file (5) (errno 28) (28 = No space left on device): Internal error`,
      `<11>${bsd(at(12))} xen01 xendomains[2990]: Error: Unable to connect to xend: No such file or directory. Is xend running?`,
    ]);
    // xen02: RFC 5424 over TCP — the physdev warning and a blkback stall
    const iso = (m: number) => at(m).toISOString().replace('Z', '+00:00');
    await tcpSend([
      `<12>1 ${iso(19)} xen02 kernel - - - [91689.631311] xt_physdev: using --physdev-out in the OUTPUT, FORWARD and POSTROUTING chains for non-bridged traffic is not supported anymore.`,
      `<11>1 ${iso(15)} xen02 kernel - - [meta sequenceId="7"] [91930.118202] INFO: task blkback.7.xvda:3121 blocked for more than 120 seconds.`,
    ]);
    // xen03: RFC 5424 over UDP — the same physdev warning (a fleet-wide finding) and a transmit timeout
    await udpSend([
      `<12>1 ${iso(18)} xen03 kernel - - - [1201.000131] xt_physdev: using --physdev-out in the OUTPUT, FORWARD and POSTROUTING chains for non-bridged traffic is not supported anymore.`,
      `<12>1 ${iso(10)} xen03 kernel - - - [1262.118030] NETDEV WATCHDOG: eth0 (tg3): transmit queue 0 timed out`,
    ]);
    // this host, through util-linux logger (RFC 3164, TCP)
    if (LOGGER) {
      const r = spawnSync(
        LOGGER,
        [
          '--server',
          '127.0.0.1',
          '--port',
          String(port),
          '--tcp',
          '--rfc3164',
          '-t',
          'kernel',
          '-p',
          'kern.err',
          '[12345.678901] irq 16: nobody cared (try booting with the "irqpoll" option)',
        ],
        {
          encoding: 'utf8',
        },
      );
      expect(r.status, r.stderr).toBe(0);
    }
    const expected = 1 + 2 + 2 + 2 + (LOGGER ? 1 : 0);
    await waitFor(
      () => lineCount(join(dir, 'central.log')) >= expected && lineCount(join(dir, 'central-rfc3339.log')) >= expected,
      'the central files',
    );
  }, 60_000);

  afterAll(async () => {
    if (daemon && daemon.exitCode === null) {
      daemon.kill('SIGTERM');
      await new Promise((r) => daemon!.once('exit', r));
    }
  });

  for (const file of ['central.log', 'central-rfc3339.log']) {
    it(`attributes each finding to the host that sent it (${file})`, () => {
      const r = xd(['timeline', '--tz', 'UTC', '--format', 'json', join(dir, file)]);
      expect(r.code).toBe(2);
      const j = JSON.parse(r.stdout) as TReport;
      const on = (rule: string) => j.findings.filter((f) => f.rule === rule).map((f) => f.host);
      expect(on('disk-full')).toEqual(['xen01']);
      expect(on('xend-not-running')).toEqual(['xen01']);
      expect(on('blkback-hung-task')).toEqual(['xen02']);
      expect(on('netdev-watchdog-timeout')).toEqual(['xen03']);
      expect(on('iptables-physdev-out').sort()).toEqual(['xen02', 'xen03']);
      if (LOGGER) expect(on('irq-nobody-cared')).toEqual([SELF]);
      // the chain holds per host: xend on xen01 fails because of xen01's full disk
      const disk = j.findings.find((f) => f.rule === 'disk-full')!;
      expect(j.findings.find((f) => f.rule === 'xend-not-running')!.causedBy).toEqual([disk.id]);
      expect(j.timeline.shared).toEqual([expect.objectContaining({ rule: 'iptables-physdev-out', hosts: ['xen02', 'xen03'] })]);
      const hosts = Object.fromEntries(j.timeline.hosts.map((h) => [h.host, h.findings]));
      expect(hosts.xen01).toMatchObject({ error: 2 });
      expect(hosts.xen02).toMatchObject({ error: 1, warning: 1 });
    });
  }

  it('keeps one host with --host, and prints the hosts × severity table', () => {
    const j = JSON.parse(
      xd(['timeline', '--tz', 'UTC', '--format', 'json', '--host', 'xen03', join(dir, 'central.log')]).stdout,
    ) as TReport;
    expect([...new Set(j.findings.map((f) => f.host))]).toEqual(['xen03']);
    const text = xd(['timeline', '--tz', 'UTC', join(dir, 'central-rfc3339.log')]).stdout;
    expect(text).toMatch(
      /== HOSTS ==\n\n\s+host\s+lines\s+boots\s+critical\s+error\s+warning\s+info\n\s+xen01\s+\d+\s+\d+\s+0\s+2\s+0\s+0/,
    );
    expect(text).toMatch(/== SHARED ACROSS HOSTS ==\n\n\s+WARNING\s+iptables-physdev-out on 2 hosts: xen02, xen03/);
  });
});
