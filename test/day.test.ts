/**
 * Issue 16, "done when": a day on a busy Xen host, through the shipped cron line. The loghost xen07
 * (kern.log of its own, syslog with its lines and those of xen08 and xen09) goes through 24 hours
 * of guest churn (guests stopped and started every hour, domain ids growing past 120 vif names per
 * bridge), harmless balloon messages, the healthy noise of a Xen 4.17 dom0 (cron, sshd, vif-bridge's
 * "down failed" at every guest stop) and one real incident: at 14:00 xen08's dom0 runs short of
 * memory (page allocation failures), the OOM killer kills a guest's qemu, and a blkback thread
 * hangs. The contrib cron line runs after every simulated hour (with --mail-to and --smtp added,
 * as its comment says, so that xendoctor mails a real SMTP server on loopback): exactly one mail,
 * after the 14:00 hour, holding the incident with its root cause and nothing else.
 */
import { appendFileSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, tmp } from './helpers.js';
import { Inbox, xdAsync } from './report-helpers.js';

const DAY = Date.parse('2026-12-01T00:00:00Z');
const HOUR = 3_600_000;
const MON = 'Dec';

function stamp(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${MON} ${String(d.getUTCDate()).padStart(2, ' ')} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

/** One host's kernel and syslog lines, hour by hour: its uptime, its guests and their ports. */
class Host {
  private domid = 0;
  private readonly ports = new Map<number, string>();
  private pid = 3000;
  constructor(
    readonly name: string,
    readonly bridge: string,
    private readonly guests: number,
    private readonly bootAt: number,
  ) {}

  up(ms: number): string {
    return `[${((ms - this.bootAt) / 1000).toFixed(6).padStart(12)}]`;
  }

  kernel(ms: number, msg: string): string {
    return `${stamp(ms)} ${this.name} kernel: ${this.up(ms)} ${msg}`;
  }

  daemon(ms: number, prog: string, msg: string): string {
    return `${stamp(ms)} ${this.name} ${prog}[${this.pid++}]: ${msg}`;
  }

  start(ms: number, port: number): string[] {
    const v = `vif${++this.domid}.0`;
    this.ports.set(port, v);
    return [
      this.daemon(ms, 'root', `/etc/xen/scripts/vif-bridge: adding ${v} to bridge ${this.bridge}`),
      this.kernel(ms + 10, `${this.bridge}: port ${port}(${v}) entered blocking state`),
      this.kernel(ms + 12, `${this.bridge}: port ${port}(${v}) entered disabled state`),
      this.kernel(ms + 16, `device ${v} entered promiscuous mode`),
      this.kernel(ms + 3900, `${this.bridge}: port ${port}(${v}) entered blocking state`),
      this.kernel(ms + 3901, `${this.bridge}: port ${port}(${v}) entered forwarding state`),
    ];
  }

  stop(ms: number, port: number): string[] {
    const v = this.ports.get(port)!;
    return [
      this.kernel(ms, `${this.bridge}: port ${port}(${v}) entered disabled state`),
      this.kernel(ms + 5, `device ${v} left promiscuous mode`),
      this.kernel(ms + 6, `${this.bridge}: port ${port}(${v}) entered disabled state`),
      this.daemon(ms + 200, 'root', `/etc/xen/scripts/vif-bridge: ip link set dev ${v} down failed`),
    ];
  }

  /** The guests' first start, at the beginning of the day. */
  boot(ms: number): string[] {
    const out = [this.kernel(ms, 'xen:xen_evtchn: Event-channel device installed')];
    for (let g = 0; g < this.guests; g++) out.push(...this.start(ms + 1000 + g * 5000, 2 + g));
    return out;
  }

  /** An ordinary hour: five guests restarted, the balloon's harmless complaint, cron and ssh. */
  hour(h: number): string[] {
    const at = DAY + h * HOUR;
    const out: string[] = [];
    for (let i = 0; i < 5; i++) {
      const port = 2 + ((h * 5 + i) % this.guests);
      out.push(...this.stop(at + 600_000 + i * 60_000, port), ...this.start(at + 630_000 + i * 60_000, port));
    }
    out.push(
      this.kernel(at + 1_200_000, 'System RAM resource [mem 0x188000000-0x18fffffff] cannot be added'),
      this.kernel(at + 1_200_001, 'xen_balloon: reserve_additional_memory: add_memory() failed: -17'),
      this.daemon(at + 1_020_000, 'CRON', '(root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)'),
      this.daemon(at + 1_500_000, 'sshd', 'Accepted publickey for ops from 192.0.2.10 port 52114 ssh2: ED25519 SHA256:2x9'),
      this.daemon(at + 1_500_100, 'systemd', 'Started session-4711.scope - Session 4711 of User ops.'),
      this.daemon(at + 2_400_000, 'xenstored', 'Checking store ...'),
    );
    return out.sort((a, b) => a.localeCompare(b));
  }

  /** 14:00 on xen08: dom0 short of memory, a guest's qemu killed, a blkback thread stuck. */
  incident(h: number): string[] {
    const at = DAY + h * HOUR + 2_000_000;
    return [
      this.kernel(
        at,
        'qemu-system-i38: page allocation failure: order:4, mode:0x40dc0(GFP_KERNEL|__GFP_COMP|__GFP_ZERO), nodemask=(null),cpuset=/,mems_allowed=0',
      ),
      this.kernel(
        at + 60_000,
        'qemu-system-i38: page allocation failure: order:4, mode:0x40dc0(GFP_KERNEL|__GFP_COMP|__GFP_ZERO), nodemask=(null),cpuset=/,mems_allowed=0',
      ),
      this.kernel(
        at + 120_000,
        'xenstored invoked oom-killer: gfp_mask=0x140dca(GFP_HIGHUSER_MOVABLE|__GFP_COMP|__GFP_ZERO), order=0, oom_score_adj=0',
      ),
      this.kernel(
        at + 120_001,
        'Out of memory: Killed process 4242 (qemu-system-i38) total-vm:2207060kB, anon-rss:1054876kB, file-rss:0kB, shmem-rss:1020kB, UID:0 pgtables:2144kB oom_score_adj:0',
      ),
      this.kernel(at + 300_000, 'INFO: task blkback.17.xvda:2162 blocked for more than 120 seconds.'),
      this.kernel(at + 300_001, '      Not tainted 6.1.0-27-amd64 #1 Debian 6.1.115-1'),
      this.kernel(at + 300_002, '"echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.'),
    ];
  }
}

let inbox: Inbox;
beforeAll(async () => {
  inbox = new Inbox();
  await inbox.start();
});
afterAll(async () => {
  await inbox.stop();
});

describe('a day on a busy host through the contrib cron line', () => {
  it('mails exactly the incident, once, with its root cause, and nothing else', async () => {
    const root = tmp('xd-day-');
    const logs = join(root, 'var', 'log');
    mkdirSync(logs, { recursive: true });
    const kern = join(logs, 'kern.log');
    const syslog = join(logs, 'syslog');
    writeFileSync(kern, '');
    writeFileSync(syslog, '');
    const state = join(root, 'var', 'lib', 'xendoctor', 'state.json');
    const cron = readFileSync(join(ROOT, 'contrib', 'cron.d', 'xendoctor'), 'utf8');
    const line = /^\S+ \S+ \S+ \S+ \S+ root xendoctor (report .*)$/m.exec(cron)![1]!;
    const args = [
      ...line.split(/\s+/).map((a) => (a === '/var/lib/xendoctor/state.json' ? state : a)),
      '--mail-to',
      'root@xen07.example.org',
      '--mail-from',
      'xendoctor@xen07.example.org',
      '--smtp',
      inbox.url,
    ];
    // no xl and no syslog-less journal here: only the two files under the log root
    const env = { XENDOCTOR_LOG_ROOT: root, PATH: '/usr/bin:/bin' };
    const hosts = [
      new Host('xen07', 'xenbr0', 40, DAY - 86_400_000),
      new Host('xen08', 'xenbr0', 30, DAY - 3 * 86_400_000),
      new Host('xen09', 'xenbr1', 20, DAY - 7200_000),
    ];
    const before = inbox.received.length;
    const mailsAfter: number[] = [];
    for (let h = 0; h < 24; h++) {
      const own: string[] = [];
      const central: string[] = [];
      for (const host of hosts) {
        const lines = [...(h === 0 ? host.boot(DAY) : []), ...host.hour(h), ...(h === 14 && host.name === 'xen08' ? host.incident(h) : [])];
        for (const l of lines) {
          // xen07's kernel lines go to its kern.log and syslog; the others' arrive at the loghost's syslog
          if (host.name === 'xen07' && l.includes(' kernel: ')) own.push(l);
          central.push(l);
        }
      }
      appendFileSync(kern, own.join('\n') + '\n');
      appendFileSync(syslog, central.sort((a, b) => a.localeCompare(b)).join('\n') + '\n');
      const end = new Date(DAY + (h + 1) * HOUR);
      utimesSync(kern, end, end);
      utimesSync(syslog, end, end);
      const sent = inbox.received.length;
      const r = await xdAsync(args, env);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(''); // nothing for cron itself to mail
      if (inbox.received.length > sent) mailsAfter.push(h);
    }
    expect(mailsAfter).toEqual([14]);
    const mail = inbox.received.slice(before)[0]!;
    const text = mail.mail.text ?? '';
    expect(mail.mail.subject).toBe('xendoctor: xen08: 2 errors, 1 warning');
    const rules = [...new Set([...text.matchAll(/\[([a-z0-9-]+)\]$/gm)].map((m) => m[1]))].sort();
    expect(rules).toEqual(['blkback-hung-task', 'dom0-oom-killer', 'dom0-page-allocation-failure']);
    expect(text).toMatch(
      /VERDICT: 1 problem to act on \(2 errors, 1 warning\)\n {2}ERROR {4}dom0 page allocation failure: qemu-system-i38 could not get an order-4 block +\[dom0-page-allocation-failure\]\n {11}host xen08 · since 2026-12-01 14:33:20Z\n {11}led to: [^\n]*\[dom0-oom-killer\] → [^\n]*\[blkback-hung-task\]/,
    );
    expect(text).toMatch(/qemu-system-i38 killed by the OOM killer in dom0 — its HVM guest went down/);
    expect(text).not.toMatch(/bridge-port-overload|balloon-add-memory-eexist|xen_evtchn/);
  }, 600_000);
});
