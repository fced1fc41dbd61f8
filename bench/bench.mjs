#!/usr/bin/env node
// Benchmark: xendoctor against GNU grep on the same seeded corpus, in the same run.
//
//   npm run bench                      100 MiB, 500 MiB and 1 GiB (plain, .gz, rotated set)
//   npm run bench -- --size 100M       one size (quick, everyday)
//   npm run bench -- --size 1G --only plain
//   npm run bench -- --repeat 5        the median of five runs each (default three)
//   npm run bench -- --corpus noisy    another corpus (v2, the default; noisy; kern; or a list: v2,noisy,kern)
//   npm run bench -- --startup         start-up only: a 158-line pipe against `node -e 0`, median of 20
//   npm run bench -- --startup --startup-bin OLD/bin/xendoctor.js   ... and another build's, alternating
//   npm run bench -- --fleet           fleet-sized folders: `scan` and `timeline` over 100 hosts' rotated
//                                      syslogs (192 MB of log text in 100 folders), grep for reference
//                                      (built in bench/corpus/fleet/, or --fleet-dir DIR; --build-only)
//
// Corpora (all seeded, all with the same signature lines injected at known places):
//   v2     syslog of many programs, 2% of it everyday noise that looks like trouble, Xen console/xend/libxl
//   noisy  the syslog of an internet-facing, mail-relaying cluster dom0: 13% trouble-like noise from
//          many programs (sshd/pam failures, sendmail/postfix deferrals, gmetad datasource errors,
//          cron, ntpd, smartd, failed systemd units, dhclient, snmpd, named, logrotate ...)
//   kern   kern.log of a quiet dom0: kernel lines only (blkback, bridge ports, vifs, ext4), 0.2% noise
//
// xendoctor runs as an operator runs it (the executable, so its #! line's node options apply).
// For each input: wall seconds, MB/s, peak RSS (GNU time -v), the ratio xendoctor/grep, and a check
// that the findings' counts equal the counts of the signature lines injected into the corpus.
// The corpus lives in bench/corpus/ (git-ignored) and is rebuilt only when missing.
import { spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { once } from 'node:events';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CORPUS = join(ROOT, 'bench', 'corpus');
const BIN = join(ROOT, 'bin', 'xendoctor.js');

// ---------- options ----------
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const parseSize = (s) => {
  const m = /^(\d+(?:\.\d+)?)([KMG]?)i?B?$/i.exec(s);
  if (!m) throw new Error(`bad size ${s}`);
  return Math.round(Number(m[1]) * { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2].toUpperCase()]);
};
const sizes = opt('--size', '100M,500M,1G')
  .split(',')
  .map((s) => [s, parseSize(s)]);
const only = new Set(opt('--only', 'plain,gz,rotated').split(','));
const seed = Number(opt('--seed', '42'));
// each measurement is taken this many times, grep and xendoctor alternating, and the median kept:
// a shared virtual machine's neighbours move single timings by 20% and more
const repeat = Math.max(1, Number(opt('--repeat', '3')));
const corpora = opt('--corpus', 'v2').split(',');
for (const c of corpora) if (!['v2', 'noisy', 'kern'].includes(c)) throw new Error(`unknown corpus ${c} (v2, noisy, kern)`);

// ---------- seeded corpus ----------
function mulberry32(a) {
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HOST = 'xen07';
const PROGRAMS = ['CRON', 'sshd', 'systemd', 'postfix/smtpd', 'dhclient', 'ntpd', 'rsyslogd', 'snmpd', 'xenstored', 'smartd'];
const NOISE = [
  (r, n) => `CRON[${1000 + n(9000)}]: (root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)`,
  (r, n) =>
    `sshd[${1000 + n(9000)}]: Accepted publickey for root from 10.0.${n(255)}.${n(255)} port ${30000 + n(30000)} ssh2: RSA SHA256:abcdef${n(99999)}`,
  (r, n) => `systemd[1]: Started Session ${n(99999)} of user root.`,
  (r, n) => `postfix/smtpd[${1000 + n(9000)}]: connect from unknown[192.0.2.${n(255)}]`,
  (r, n) => `dhclient[${500 + n(500)}]: DHCPACK of 10.0.0.${n(255)} from 10.0.0.1`,
  (r, n) => `ntpd[${400 + n(100)}]: adjusting local clock by ${(r() * 0.1).toFixed(6)}s`,
  (r, n) => `snmpd[${700 + n(100)}]: Connection from UDP: [10.0.0.${n(255)}]:${1024 + n(60000)}->[10.0.0.7]:161`,
  (r, n) =>
    `smartd[${800 + n(100)}]: Device: /dev/sd${'abcd'[n(4)]} [SAT], SMART Usage Attribute: 194 Temperature_Celsius changed from ${30 + n(10)} to ${30 + n(10)}`,
  (r, n) =>
    `kernel: [${(n(9000000) + r()).toFixed(6)}] xen-blkback: backend/vbd/${1 + n(59)}/51712: using ${1 + n(4)} queues, protocol 1 (x86_64-abi) persistent grants`,
  (r, n) => `kernel: [${(n(9000000) + r()).toFixed(6)}] xenbr0: port ${2 + n(40)}(vif${1 + n(40)}.0) entered forwarding state`,
  (r, n) => `kernel: [${(n(9000000) + r()).toFixed(6)}] device vif${1 + n(40)}.0 entered promiscuous mode`,
  (r, n) => `kernel: [${(n(9000000) + r()).toFixed(6)}] IPv6: ADDRCONF(NETDEV_CHANGE): vif${1 + n(40)}.0: link becomes ready`,
  (r, n) => `kernel: [${(n(9000000) + r()).toFixed(6)}] EXT4-fs (dm-${n(8)}): mounted filesystem with ordered data mode. Opts: (null)`,
  (r, n) => `xenstored[${300 + n(10)}]: watch event on /local/domain/${n(60)}/device/vif/0/state`,
];
// Everyday noise that looks like trouble (about 2% of the syslog lines): no rule matches it. The
// miner of unrecognised messages counts every line of it into templates, except sshd's, which
// the bundled benign list knows (false: not counted).
const TROUBLE_NOISE = [
  [
    true,
    (r, n) =>
      `postfix/smtpd[${1000 + n(9000)}]: warning: hostname host-${n(999)}.example.net does not resolve to address 198.51.100.${n(255)}: Name or service not known`,
  ],
  [false, (r, n) => `sshd[${1000 + n(9000)}]: error: kex_exchange_identification: Connection closed by remote host`],
  [
    false,
    (r, n) =>
      `sshd[${1000 + n(9000)}]: Failed password for invalid user admin${n(50)} from 203.0.113.${n(255)} port ${30000 + n(30000)} ssh2`,
  ],
  [true, () => `systemd[1]: Failed to start Daily apt upgrade and clean activities.`],
  [true, (r, n) => `ntpd[${400 + n(100)}]: error resolving pool ${n(4)}.debian.pool.ntp.org: Temporary failure in name resolution (-3)`],
  [true, (r, n) => `smartd[${800 + n(100)}]: Device: /dev/sd${'abcd'[n(4)]} [SAT], ${n(8)} Currently unreadable (pending) sectors`],
];
// Lines that are not syslog: the Xen console, xend.log and libxl lines, as a serial console or a
// concatenated folder gives them.
const OTHER = [
  (r, n) =>
    `(XEN) [2026-11-${String(1 + n(19)).padStart(2, '0')} 0${n(9)}:${10 + n(49)}:${10 + n(49)}.${100 + n(899)}] HVM d${n(60)}v0 save: CPU`,
  (r, n) => `(XEN) grant_table.c:${1000 + n(900)}:d0v${n(4)} Expanding d${n(60)} grant table from ${n(20)} to ${n(40)} frames`,
  (r, n) =>
    `[2026-11-${String(1 + n(19)).padStart(2, '0')} 0${n(9)}:${10 + n(49)}:${10 + n(49)} ${1000 + n(99)}] DEBUG (XendDomainInfo:${100 + n(3000)}) XendDomainInfo.handleShutdownWatch`,
  (r, n) => `libxl: debug: libxl_device.c:${1000 + n(500)}:libxl__device_backend_path: domid ${n(60)} backend vif`,
];

// ---------- the noisy corpus ----------
// Message shapes of real public syslog: loghub (github.com/logpai/loghub, He et al., "Loghub: A
// Large Collection of System Log Datasets", ISSRE 2023), Linux/Linux_2k.log (a 2005 Red Hat
// mail/ftp/ssh server: sshd(pam_unix) authentication failures, "check pass; user unknown",
// logrotate ALERT, ftpd, su) and Thunderbird/Thunderbird_2k.log (Sandia's Thunderbird cluster:
// gmetad "data_thread() got not answer from any [...] datasource", sendmail "stat=Deferred",
// ntpd, crond, dhcpd); modern forms of the same programs from their own sources' messages
// (OpenSSH's "Failed password for invalid user", "Connection closed by authenticating user",
// pam_unix(sshd:auth), postfix's "status=deferred (connect to ...: Connection timed out)",
// systemd's "<unit>: Failed with result 'exit-code'", smartd's "Offline uncorrectable sectors",
// dhclient's "No DHCPOFFERS received"). Addresses are documentation ranges; host names are made up.
const ip = (n) => `${[198, 203, 192][n(3)]}.${[51, 0, 0][n(3)]}.${[100, 113, 2][n(3)]}.${n(255)}`;
const pid = (n) => 1000 + n(30000);
const qid = (n) => `${'jklmnop'[n(7)]}${'ABCDEFGH'[n(8)]}${String(10000 + n(89999))}${n(9999)}`;
const UNITS = [
  'apt-daily.service',
  'certbot.service',
  'backup-nightly.service',
  'nfs-mountd.service',
  'ganglia-monitor.service',
  'rsync-mirror.service',
];
const USERS = ['root', 'admin', 'test', 'oracle', 'guest', 'ubuntu', 'postgres', 'user', 'ftp', 'nagios'];
const CLUSTERS = ['Thunderbird_A8', 'Thunderbird_B4', 'Thunderbird_C7', 'infra', 'xen-pool-2'];
/** Trouble-like noise of the noisy corpus (13% of its lines): no rule must match any of it. */
const NOISY_TROUBLE = [
  (r, n) =>
    `sshd(pam_unix)[${pid(n)}]: authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=${ip(n)}  user=${USERS[n(10)]}`,
  (r, n) => `sshd(pam_unix)[${pid(n)}]: check pass; user unknown`,
  (r, n) =>
    `sshd[${pid(n)}]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=${ip(n)}  user=${USERS[n(10)]}`,
  (r, n) => `sshd[${pid(n)}]: Failed password for ${USERS[n(10)]} from ${ip(n)} port ${30000 + n(30000)} ssh2`,
  (r, n) => `sshd[${pid(n)}]: Failed password for invalid user ${USERS[n(10)]}${n(100)} from ${ip(n)} port ${30000 + n(30000)} ssh2`,
  (r, n) => `sshd[${pid(n)}]: Invalid user ${USERS[n(10)]}${n(100)} from ${ip(n)} port ${30000 + n(30000)}`,
  (r, n) => `sshd[${pid(n)}]: Connection closed by authenticating user root ${ip(n)} port ${30000 + n(30000)} [preauth]`,
  (r, n) =>
    `sshd[${pid(n)}]: error: maximum authentication attempts exceeded for root from ${ip(n)} port ${30000 + n(30000)} ssh2 [preauth]`,
  (r, n) =>
    `sendmail[${pid(n)}]: ${qid(n)}: to=<${USERS[n(10)]}@mail${n(50)}.example.org>, ctladdr=<${USERS[n(10)]}@tbird-admin1> (0/0), delay=0${n(5)}:${10 + n(49)}:${10 + n(49)}, xdelay=00:00:${10 + n(49)}, mailer=esmtp, pri=${30000 + n(900000)}, relay=mail${n(50)}.example.org., dsn=4.0.0, stat=Deferred: Connection timed out with mail${n(50)}.example.org.`,
  (r, n) => `sendmail[${pid(n)}]: ${qid(n)}: lost input channel from [${ip(n)}] to MTA after rcpt`,
  (r, n) =>
    `postfix/smtp[${pid(n)}]: ${(n(0xfffffff) + 0x10000000).toString(16).toUpperCase()}: to=<${USERS[n(10)]}@example.org>, relay=none, delay=${n(9000)}, delays=${n(9000)}/0.01/30/0, dsn=4.4.1, status=deferred (connect to mx${n(9)}.example.org[${ip(n)}]:25: Connection timed out)`,
  (r, n) =>
    `postfix/smtpd[${pid(n)}]: NOQUEUE: reject: RCPT from unknown[${ip(n)}]: 554 5.7.1 <${USERS[n(10)]}@example.com>: Relay access denied; from=<spam${n(999)}@example.net> to=<${USERS[n(10)]}@example.com> proto=ESMTP helo=<example.net>`,
  (r, n) => `gmetad[${1500 + n(100)}]: data_thread() got not answer from any [${CLUSTERS[n(5)]}] datasource`,
  (r, n) => `gmetad[${1500 + n(100)}]: data_thread() for [${CLUSTERS[n(5)]}] failed to contact node ${ip(n)}`,
  (r, n) => `CRON[${pid(n)}]: (CRON) error (grandchild #${pid(n)} failed with exit status 1)`,
  (r, n) => `crond[${pid(n)}]: (root) BAD FILE MODE (/etc/cron.d/backup-${n(9)})`,
  (r, n) => `ntpd[${400 + n(100)}]: no servers can be used, exiting`,
  (r, n) => `ntpd[${400 + n(100)}]: frequency error ${500 + n(200)} PPM exceeds tolerance 500 PPM`,
  (r, n) => `ntpd[${400 + n(100)}]: synchronisation lost`,
  (r, n) => `smartd[${800 + n(100)}]: Device: /dev/sd${'abcd'[n(4)]} [SAT], ${1 + n(8)} Offline uncorrectable sectors`,
  (r, n) => `systemd[1]: ${UNITS[n(6)]}: Main process exited, code=exited, status=${1 + n(3)}/FAILURE`,
  (r, n) => `systemd[1]: ${UNITS[n(6)]}: Failed with result 'exit-code'.`,
  (r, n) => `systemd[1]: Failed to start ${['Daily apt download activities', 'Certbot', 'Nightly backup', 'NFS mount daemon'][n(4)]}.`,
  (r, n) => `dhclient[${500 + n(500)}]: No DHCPOFFERS received.`,
  (r, n) => `snmpd[${700 + n(100)}]: error on subcontainer 'ia_addr' insert (-1)`,
  (r, n) => `named[${600 + n(50)}]: client ${ip(n)}#${1024 + n(60000)}: query (cache) 'example${n(500)}.com/A/IN' denied`,
  (r, n) => `logrotate: ALERT exited abnormally with [1]`,
  (r, n) =>
    `su(pam_unix)[${pid(n)}]: authentication failure; logname=${USERS[n(10)]} uid=${500 + n(500)} euid=0 tty=pts/${n(9)} ruser=${USERS[n(10)]} rhost=  user=root`,
  (r, n) => `nscd: nss_ldap: failed to bind to LDAP server ldap://ldap${n(3)}.example.org: Can't contact LDAP server`,
];
/** Everyday noise of the noisy corpus beside v2's (same sources). */
const NOISY_NOISE = [
  ...NOISE,
  (r, n) => `sshd(pam_unix)[${pid(n)}]: session opened for user ${USERS[n(10)]} by (uid=0)`,
  (r, n) => `sshd(pam_unix)[${pid(n)}]: session closed for user ${USERS[n(10)]}`,
  (r, n) =>
    `sendmail[${pid(n)}]: ${qid(n)}: from=<${USERS[n(10)]}@example.org>, size=${n(99999)}, class=0, nrcpts=1, msgid=<${n(999999)}.${qid(n)}@tbird-admin1>, proto=ESMTP, daemon=MTA, relay=[${ip(n)}]`,
  (r, n) => `postfix/qmgr[${pid(n)}]: ${(n(0xfffffff) + 0x10000000).toString(16).toUpperCase()}: removed`,
  (r, n) => `ftpd[${pid(n)}]: connection from ${ip(n)} () at Sun Jul 10 03:55:15 2005`,
  (r, n) => `xinetd[${pid(n)}]: START: ftp pid=${pid(n)} from=${ip(n)}`,
  (r, n) => `crond(pam_unix)[${pid(n)}]: session opened for user root by (uid=0)`,
  (r, n) => `gmond[${1400 + n(100)}]: Sending metric load_one ${(r() * 4).toFixed(2)}`,
];
/** kern.log of a quiet dom0: its own kernel noise and, rarely, something that looks like trouble. */
const KERN_NOISE = NOISE.filter((f) =>
  f(
    () => 0,
    () => 0,
  ).startsWith('kernel:'),
).concat([
  (r, n) => `kernel: [${(n(9000000) + r()).toFixed(6)}] xen-blkback: backend/vbd/${1 + n(59)}/51712: prepare for reconnect`,
  (r, n) => `kernel: [${(n(9000000) + r()).toFixed(6)}] xenbr0: port ${2 + n(40)}(vif${1 + n(40)}.0) entered disabled state`,
  (r, n) => `kernel: [${(n(9000000) + r()).toFixed(6)}] device vif${1 + n(40)}.0 left promiscuous mode`,
  (r, n) => `kernel: [${(n(9000000) + r()).toFixed(6)}] xenbr0: port ${2 + n(40)}(vif${1 + n(40)}.0) entered blocking state`,
]);
const KERN_TROUBLE = [
  (r, n) =>
    `kernel: [${(n(9000000) + r()).toFixed(6)}] perf: interrupt took too long (${2500 + n(3000)} > ${2500 + n(3000)}), lowering kernel.perf_event_max_sample_rate to ${10000 + n(60000)}`,
  (r, n) => `kernel: [${(n(9000000) + r()).toFixed(6)}] vif vif-${1 + n(40)}-0 vif${1 + n(40)}.0: Guest Rx stalled`,
];
/** Per corpus: everyday lines, trouble-like lines, their share, the share of non-syslog lines, the tag */
const PROFILES = {
  v2: { noise: NOISE, trouble: TROUBLE_NOISE, share: 0.02, other: 0.08 },
  noisy: { noise: NOISY_NOISE, trouble: NOISY_TROUBLE.map((f) => [true, f]), share: 0.13, other: 0 },
  kern: { noise: KERN_NOISE, trouble: KERN_TROUBLE.map((f) => [true, f]), share: 0.002, other: 0 },
};

/** Signature lines injected at known places: rule id, count per 100 MiB, line maker. */
const INJECT = [
  [
    'blkback-hung-task',
    40,
    (i) => `kernel: [${812345 + i}.123456] INFO: task blkback.${100 + (i % 5)}.xvda:${2160 + (i % 5)} blocked for more than 120 seconds.`,
  ],
  [
    'hung-task',
    30,
    (i) => `kernel: [${812345 + i}.123456] INFO: task jbd2/dm-${i % 3}-8:${340 + (i % 3)} blocked for more than 120 seconds.`,
  ],
  [
    'dom0-oom-killer',
    25,
    (i) =>
      `kernel: [${812345 + i}.123456] Out of memory: Killed process ${3000 + i} (qemu-dm) total-vm:123456kB, anon-rss:6789kB, file-rss:0kB, shmem-rss:0kB`,
  ],
  [
    'block-io-error',
    50,
    (i) =>
      `kernel: [${812345 + i}.123456] blk_update_request: I/O error, dev sdb, sector ${2048 + i * 8} op 0x1:(WRITE) flags 0x0 phys_seg 1 prio class 0`,
  ],
  [
    'netdev-watchdog-timeout',
    20,
    (i) => `kernel: [${812345 + i}.123456] NETDEV WATCHDOG: eth${i % 2} (igb): transmit queue ${i % 4} timed out`,
  ],
  [
    'soft-lockup',
    20,
    (i) => `kernel: [${812345 + i}.123456] watchdog: BUG: soft lockup - CPU#${i % 8} stuck for 22s! [kworker/${i % 8}:1:${1234 + i}]`,
  ],
  ['xen-unknown-boot-parameter', 5, () => `kernel: [0.000000] (XEN) parameter "dom0maxvcpus" unknown!`],
  [
    'clocksource-unstable',
    10,
    (i) =>
      `kernel: [${812345 + i}.123456] clocksource: timekeeping watchdog on CPU${i % 4}: Marking clocksource 'tsc' as unstable because the skew is too large:`,
  ],
  [
    'iptables-physdev-out',
    10,
    (i) =>
      `kernel: [${812345 + i}.123456] xt_physdev: using --physdev-out in the OUTPUT, FORWARD and POSTROUTING chains for non-bridged traffic is not supported anymore.`,
  ],
  [
    'irq-nobody-cared',
    8,
    (i) => `kernel: [${812345 + i}.123456] irq ${16 + (i % 3)}: nobody cared (try booting with the "irqpoll" option)`,
  ],
];

async function buildCorpus(file, bytes, profile = 'v2') {
  const P = PROFILES[profile];
  const r = mulberry32(seed);
  const n = (k) => Math.floor(r() * k);
  const out = createWriteStream(file, { highWaterMark: 1 << 20 });
  const per100 = bytes / (100 * 1024 * 1024);
  const injected = Object.fromEntries(INJECT.map(([id]) => [id, 0]));
  // spread injections evenly: each rule gets count*per100 lines at random byte positions
  const plan = [];
  for (const [id, per, make] of INJECT) {
    const count = Math.max(1, Math.round(per * per100));
    for (let i = 0; i < count; i++) plan.push([Math.floor(r() * bytes), id, make, i]);
  }
  plan.sort((a, b) => a[0] - b[0]);
  let written = 0;
  let p = 0;
  let t = Date.UTC(2026, 9, 20, 0, 0, 0); // Oct 20 → about a month later at 1 GiB
  const step = (30 * 86400_000) / (bytes / 120);
  const MON = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const stamp = () => {
    const d = new Date(t);
    const pad = (x) => String(x).padStart(2, '0');
    return `${MON[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  };
  let buf = [];
  let bufLen = 0;
  let trouble = 0;
  while (written < bytes) {
    let line;
    if (p < plan.length && plan[p][0] <= written) {
      const [, id, make, i] = plan[p++];
      line = `${stamp()} ${HOST} ${make(i)}`;
      injected[id]++;
    } else if (P.other > 0 && r() < P.other) {
      line = OTHER[n(OTHER.length)](r, n);
    } else if (r() < P.share) {
      const [mined, make] = P.trouble[n(P.trouble.length)];
      line = `${stamp()} ${HOST} ${make(r, n)}`;
      if (mined) trouble++;
    } else {
      line = `${stamp()} ${HOST} ${P.noise[n(P.noise.length)](r, n)}`;
    }
    t += step * (0.5 + r());
    buf.push(line);
    bufLen += line.length + 1;
    written += line.length + 1;
    if (bufLen > 1 << 20) {
      if (!out.write(buf.join('\n') + '\n')) await once(out, 'drain');
      buf = [];
      bufLen = 0;
    }
  }
  while (p < plan.length) {
    const [, id, make, i] = plan[p++];
    buf.push(`${stamp()} ${HOST} ${make(i)}`);
    injected[id]++;
  }
  out.end(buf.join('\n') + '\n');
  await once(out, 'finish');
  // v2's trouble-like noise is known line by line to the miner (counted or benign); the other
  // corpora's is a wider mix, of which the bench reports what the miner counted without checking it
  const counts = { rules: injected, unrecognized: trouble, exactUnrecognized: profile === 'v2' };
  writeFileSync(file + '.injected.json', JSON.stringify(counts));
  return counts;
}

function sh(cmd) {
  const r = spawnSync('bash', ['-c', cmd], { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 30 });
  if (r.status !== 0 && r.status !== 1 && r.status !== 2) throw new Error(`${cmd}: ${r.stderr}`);
  return r;
}

async function ensureCorpus(label, bytes, profile) {
  mkdirSync(CORPUS, { recursive: true });
  // v2: with trouble-looking noise (older corpora are rebuilt under the new name)
  const plain = join(CORPUS, profile === 'v2' ? `xen-v2-${label}.log` : `xen-${profile}-${label}.log`);
  if (!existsSync(plain + '.injected.json') || statSync(plain).size < bytes) {
    process.stderr.write(`building ${profile} ${label} corpus...\n`);
    await buildCorpus(plain, bytes, profile);
  }
  const injected = JSON.parse(readFileSync(plain + '.injected.json', 'utf8'));
  const gz = plain + '.gz';
  if (only.has('gz') && !existsSync(gz)) sh(`gzip -1 -c '${plain}' > '${gz}'`);
  const rotDir = join(CORPUS, `rotated-${profile}-${label}`);
  if (only.has('rotated') && !existsSync(join(rotDir, 'kern.log'))) {
    rmSync(rotDir, { recursive: true, force: true });
    mkdirSync(rotDir);
    // four parts split at line boundaries: kern.log.3.gz kern.log.2.gz kern.log.1 kern.log
    sh(
      `cd '${rotDir}' && split -n l/4 -d -a 1 '${plain}' part. && mv part.0 kern.log.3 && mv part.1 kern.log.2 && mv part.2 kern.log.1 && mv part.3 kern.log && gzip -1 kern.log.3 kern.log.2`,
    );
  }
  return { plain, gz, rotDir, injected };
}

// ---------- the fleet: 100 hosts' rotated syslogs, as a central syslog server keeps them ----------
// bench/corpus/fleet/<host>/syslog, syslog.1, syslog.2.gz … syslog.6.gz: seven days of one dom0's
// syslog each (logrotate daily, delaycompress), 1.92 MB of log text per host. The lines are v2's
// (everyday noise, 2% trouble-like noise, the signature lines injected at known places), but a host's
// kernel lines carry the uptime of its own boot (anchors for the clock survey), some hosts reboot
// (banner, uptime from zero, a few minutes without lines), and a Xen console line now and then
// (dated `(XEN) [stamp]` lines and undated ones) gives the survey runs to place.
const FLEET_HOSTS = 100;
const FLEET_DAYS = 7;
const FLEET_HOST_BYTES = Math.round(1.92e6);
const FLEET_VERSION = 1; // bump when the generator changes: the corpus is rebuilt
const KERNEL_UPTIME = /^kernel: \[ *\d+\.\d+\]/;
const BOOT_LINES = [
  'Linux version 6.1.0-26-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP PREEMPT_DYNAMIC Debian 6.1.112-1 (2024-09-30)',
  'Command line: placeholder root=/dev/mapper/vg0-root ro quiet dom0_mem=4096M',
  'Xen: using vcpuop timer interface',
  'installing Xen timer for CPU 0',
  'xen:events: Using FIFO-based ABI',
  'xen:balloon: Initialising balloon driver',
  'xen_netback: Initialising Xen netback backend',
  'xen-blkback: backend/vbd/0/51712: using 4 queues, protocol 1 (x86_64-abi) persistent grants',
];

async function buildFleet(dir) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const injected = Object.fromEntries(INJECT.map(([id]) => [id, 0]));
  let trouble = 0;
  let lines = 0;
  const MON = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const pad = (x, k = 2) => String(x).padStart(k, '0');
  for (let h = 1; h <= FLEET_HOSTS; h++) {
    const host = `xen${pad(h, 3)}`;
    const r = mulberry32(seed * 1000 + h);
    const n = (k) => Math.floor(r() * k);
    const start = Date.UTC(2026, 10, 10, 0, 0, 0);
    const step = (FLEET_DAYS * 86400_000) / (FLEET_HOST_BYTES / 118);
    let t = start + n(60_000);
    // booted some days before the first line; a third of the hosts reboot within the week
    let boot = start - (1 + n(40)) * 86400_000 - n(86400_000);
    let reboot = r() < 0.33 ? start + Math.floor(r() * FLEET_DAYS * 86400_000) : Infinity;
    const plan = [];
    for (const [id, per, make] of INJECT) {
      const count = Math.max(1, Math.round((per * FLEET_HOST_BYTES) / (100 * 1024 * 1024)));
      for (let i = 0; i < count; i++) plan.push([Math.floor(r() * FLEET_HOST_BYTES), id, make, i]);
    }
    plan.sort((a, b) => a[0] - b[0]);
    let p = 0;
    const days = Array.from({ length: FLEET_DAYS }, () => []);
    const stamp = () => {
      const d = new Date(t);
      return `${MON[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} ${host}`;
    };
    const uptime = () => ((t - boot) / 1000).toFixed(6).padStart(12, ' ');
    // (the hypervisor's own boot line keeps its [0.000000])
    const withUptime = (msg) => (msg.includes('(XEN)') ? msg : msg.replace(KERNEL_UPTIME, () => `kernel: [${uptime()}]`));
    let written = 0;
    const emit = (line) => {
      const day = Math.min(FLEET_DAYS - 1, Math.floor((t - start) / 86400_000));
      days[day].push(line);
      written += line.length + 1;
      lines++;
    };
    while (written < FLEET_HOST_BYTES) {
      if (t >= reboot) {
        // shut down, a few minutes without lines, then the boot's first kernel lines, stamped when
        // rsyslog started (some seconds into the boot) with the kernel's own early uptimes
        reboot = Infinity;
        t += 180_000 + n(600_000);
        boot = t - 25_000 - n(20_000);
        BOOT_LINES.forEach((msg, k) => emit(`${stamp()} kernel: [${(k * 0.35 + r() * 0.3).toFixed(6).padStart(12, ' ')}] ${msg}`));
        emit(`${stamp()} systemd[1]: Started Xen daemon (xenstored, xenconsoled).`);
      }
      if (p < plan.length && plan[p][0] <= written) {
        const [, id, make, i] = plan[p++];
        emit(`${stamp()} ${withUptime(make(i))}`);
        injected[id]++;
      } else if (r() < 0.01) {
        // Xen console lines (xenconsoled's hypervisor log folded into the host's folder)
        const d = new Date(t);
        const xs = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`;
        emit(
          r() < 0.5
            ? `(XEN) [${xs}] HVM d${1 + n(40)}v0 save: CPU`
            : `(XEN) grant_table.c:${1000 + n(900)}:d0v${n(4)} Expanding d${1 + n(40)} grant table from ${1 + n(20)} to ${21 + n(20)} frames`,
        );
      } else if (r() < 0.02) {
        const [mined, make] = TROUBLE_NOISE[n(TROUBLE_NOISE.length)];
        emit(`${stamp()} ${make(r, n)}`);
        if (mined) trouble++;
      } else {
        emit(`${stamp()} ${withUptime(NOISE[n(NOISE.length)](r, n))}`);
      }
      t += step * (0.5 + r());
    }
    while (p < plan.length) {
      const [, id, make, i] = plan[p++];
      emit(`${stamp()} ${withUptime(make(i))}`);
      injected[id]++;
    }
    const hostDir = join(dir, host);
    mkdirSync(hostDir);
    for (let d = 0; d < FLEET_DAYS; d++) {
      const age = FLEET_DAYS - 1 - d; // 0: today's syslog
      const file = join(hostDir, age === 0 ? 'syslog' : `syslog.${age}`);
      writeFileSync(file, days[d].join('\n') + '\n');
      if (age >= 2) sh(`gzip -1 '${file}'`);
    }
  }
  const counts = { rules: injected, unrecognized: trouble, exactUnrecognized: true, lines, version: FLEET_VERSION, seed };
  writeFileSync(join(dir, '.injected.json'), JSON.stringify(counts));
  return counts;
}

async function ensureFleet() {
  const dir = opt('--fleet-dir', join(CORPUS, 'fleet'));
  const meta = join(dir, '.injected.json');
  let counts = null;
  try {
    counts = JSON.parse(readFileSync(meta, 'utf8'));
  } catch {
    /* not built yet */
  }
  if (!counts || counts.version !== FLEET_VERSION || counts.seed !== seed) {
    process.stderr.write(`building the fleet corpus (${FLEET_HOSTS} hosts) in ${dir}...\n`);
    counts = await buildFleet(dir);
  }
  return { dir, injected: counts };
}

/** Findings as rule, host, key and count (what must be equal between scan and timeline). */
function findingKeys(json) {
  return json.findings.map((f) => `${f.rule} ${f.host ?? '-'} ${f.count} ${JSON.stringify(f.key ?? f.values ?? {})}`).sort();
}

async function fleet() {
  const { file: pat } = grepPatterns();
  const { dir, injected } = await ensureFleet();
  if (args.includes('--build-only')) return;
  const files = [];
  const walkAll = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      if (e.isDirectory()) walkAll(join(d, e.name));
      else files.push(join(d, e.name));
    }
  };
  walkAll(dir);
  const disk = files.reduce((a, f) => a + statSync(f).size, 0) / 1e6;
  const text = Number(sh(`zcat -f ${files.map((f) => `'${f}'`).join(' ')} | wc -c`).stdout) / 1e6;
  console.log(
    `fleet: ${FLEET_HOSTS} folders, ${files.length} files, ${fmt(text, 1)} MB of log text (${fmt(disk, 1)} MB on disk: days 2-6 gzip -1), ${injected.lines} lines; ${process.version}`,
  );
  console.log(`each figure: the median of ${repeat} runs (--repeat N), alternating; peak RSS: the highest of them`);
  console.log(`load average before: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
  const common = `--format json --quiet --year 2026 --tz UTC '${dir}'`;
  const cmds = [
    ['zcat|grep', `zcat -f ${files.map((f) => `'${f}'`).join(' ')} | grep -E -c -f '${pat}'`],
    ['scan', `'${BIN}' scan ${common}`],
    ['timeline', `'${BIN}' timeline ${common}`],
  ];
  const runs = cmds.map(() => []);
  for (let i = 0; i < repeat; i++) cmds.forEach(([, cmd], k) => runs[k].push(timed(cmd)));
  const med = runs.map(median);
  console.log('tool         wall s   CPU s    MB/s   peak RSS MB   vs scan (wall, CPU)   findings');
  const scanJson = (() => {
    try {
      return JSON.parse(med[1].stdout);
    } catch {
      return null;
    }
  })();
  cmds.forEach(([name], k) => {
    const x = med[k];
    let note = '';
    if (k === 0) note = `${x.stdout.trim()} lines`;
    else {
      let json = null;
      try {
        json = JSON.parse(x.stdout);
      } catch {
        note = `no JSON (exit ${x.status}): ${x.stderr.split('\n')[0]}`;
      }
      if (json) {
        const bad = checkCounts(json, injected);
        note = bad.length ? `MISMATCH ${bad.join('; ')}` : `ok (${Object.values(injected.rules).reduce((a, b) => a + b, 0)} injected)`;
        if (k === 2 && scanJson) {
          const a = findingKeys(scanJson).join('\n');
          const b = findingKeys(json).join('\n');
          note +=
            a === b
              ? `, same ${json.findings.length} findings as scan`
              : `, DIFFERENT findings from scan (${scanJson.findings.length} vs ${json.findings.length})`;
        }
      }
    }
    const ratio = k === 0 ? '' : `${fmt(x.secs / med[1].secs).padStart(6)}x ${fmt(x.cpu / med[1].cpu).padStart(6)}x`;
    console.log(
      `${name.padEnd(11)} ${fmt(x.secs).padStart(7)} ${fmt(x.cpu).padStart(7)} ${fmt(text / x.secs, 0).padStart(7)} ${fmt(x.rssMB, 1).padStart(12)}   ${ratio.padEnd(19)}   ${note}`,
    );
  });
}

// ---------- the catalogue as grep -E patterns ----------
function toEre(src) {
  let s = src;
  if (/\(\?[=!]|\(\?<[=!]/.test(s)) s = s.replace(/\(\?<?[=!](?:[^()\\]|\\.)*\)/g, ''); // lookarounds: dropped
  s = s
    .replace(/\(\?<[A-Za-z_]\w*>/g, '(')
    .replace(/\(\?:/g, '(')
    .replace(/\\d/g, '[0-9]')
    .replace(/\\D/g, '[^0-9]')
    .replace(/\\s/g, '[[:space:]]')
    .replace(/\\S/g, '[^[:space:]]')
    .replace(/\\w/g, '[[:alnum:]_]')
    .replace(/\\W/g, '[^[:alnum:]_]')
    .replace(/\[\^?\[:space:\]\]\]/g, (m) => m)
    .replace(/\*\?/g, '*')
    .replace(/\+\?/g, '+')
    .replace(/^\^/, '');
  // a character class holding an escape such as [^:\s] was turned into [^:[[:space:]]]: flatten
  s = s.replace(/\[(\^?)([^\]]*?)\[\[:(space|alnum):\]\]\]/g, '[$1$2[:$3:]]');
  // and [\w.-] into [[[:alnum:]_].-] (a class of '[', letters and '_', then any byte, '-' and ']':
  // grep then missed every bridge port line): flatten to [[:alnum:]_.-]
  s = s.replace(/\[(\^?)([^\]]*?)\[\[:alnum:\]_\]([^\]]*)\]/g, '[$1$2[:alnum:]_$3]');
  return s;
}

function grepPatterns() {
  mkdirSync(CORPUS, { recursive: true });
  const file = join(CORPUS, 'patterns.ere');
  const rules = JSON.parse(sh(`node '${BIN}' rules list --format json`).stdout).rules;
  const lines = [];
  for (const r of rules) {
    const spec = JSON.parse(sh(`node '${BIN}' rules show ${r.id} --format json`).stdout);
    for (const p of spec.patterns) {
      const ere = toEre(p);
      const ok = spawnSync('grep', ['-E', '-q', '-e', ere, '/dev/null']).status;
      if (ok === 2) continue; // not expressible in ERE
      lines.push(ere);
    }
  }
  writeFileSync(file, lines.join('\n') + '\n');
  return { file, count: lines.length };
}

// ---------- measuring ----------
function timed(cmd) {
  const r = spawnSync('/usr/bin/time', ['-v', 'bash', '-c', cmd], {
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 1 << 30,
    env: { ...process.env, LC_ALL: 'C' },
  });
  const err = String(r.stderr);
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):(\d+(?:\.\d+)?)/.exec(err);
  const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(err);
  const user = /User time \(seconds\): ([\d.]+)/.exec(err);
  const sys = /System time \(seconds\): ([\d.]+)/.exec(err);
  const secs = wall ? Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]) : NaN;
  const cpu = (user ? Number(user[1]) : NaN) + (sys ? Number(sys[1]) : 0);
  return { secs, cpu, rssMB: rss ? Number(rss[1]) / 1024 : NaN, stdout: String(r.stdout), status: r.status, stderr: err };
}

function checkCounts(json, injected) {
  const got = {};
  for (const f of json.findings) got[f.rule] = (got[f.rule] ?? 0) + f.count;
  const bad = [];
  for (const [id, n] of Object.entries(injected.rules)) if ((got[id] ?? 0) !== n) bad.push(`${id}: injected ${n}, found ${got[id] ?? 0}`);
  for (const id of Object.keys(got)) if (!(id in injected.rules)) bad.push(`${id}: ${got[id]} unexpected`);
  // every trouble-looking noise line is counted into some unrecognised template
  const mined = json.unrecognized.reduce((a, u) => a + u.count, 0);
  if (injected.exactUnrecognized !== false && mined !== injected.unrecognized)
    bad.push(`unrecognised: ${injected.unrecognized} noise lines, ${mined} counted`);
  return bad;
}

/** The run of median wall time (its CPU and output with it), with the highest peak RSS of all runs. */
function median(runs) {
  const sorted = [...runs].sort((a, b) => a.secs - b.secs);
  return { ...sorted[Math.floor((sorted.length - 1) / 2)], rssMB: Math.max(...runs.map((r) => r.rssMB)) };
}

const fmt = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');

/**
 * Start-up: a small pipe (158 lines of a lab host's `xl dmesg`) against `node -e 0`, alternating.
 * Wall seconds (median, min) and the CPU seconds (user+sys, children's, from /proc/self/stat) of all
 * the runs together. `--startup-bin PATH` times another build's launcher beside this one (old against new).
 */
function startup(runs = 20) {
  const sample = join(ROOT, 'samples', 'lab', 'toolstack', 'xl-dmesg.txt');
  const lines = readFileSync(sample, 'utf8').split('\n').filter(Boolean).length;
  const tick = 100; // USER_HZ: clock ticks a second on Linux
  const childCpu = () => {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[13]) + Number(f[14])) / tick; // cutime + cstime (fields 16 and 17)
  };
  const time = (cmd) => {
    const c0 = childCpu();
    const t0 = process.hrtime.bigint();
    const r = spawnSync('bash', ['-c', cmd], { stdio: ['ignore', 'ignore', 'ignore'] });
    if (r.status === null) throw new Error(`${cmd}: killed`);
    return { wall: Number(process.hrtime.bigint() - t0) / 1e9, cpu: childCpu() - c0 };
  };
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
  const other = opt('--startup-bin', null);
  const cmds = [
    ['node -e 0', 'node -e 0'],
    [`xendoctor < ${lines}-line xl dmesg`, `'${BIN}' < '${sample}'`],
    ...(other ? [[`${other} < the same`, `'${other}' < '${sample}'`]] : []),
  ];
  const results = cmds.map(() => []);
  const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const before = load();
  for (let i = 0; i < runs; i++) cmds.forEach(([, cmd], j) => results[j].push(time(cmd)));
  console.log(`start-up (${runs} runs each, alternating; load average ${before} before, ${load()} after):`);
  cmds.forEach(([label], j) => {
    const w = results[j].map((r) => r.wall);
    const cpu = results[j].reduce((a, r) => a + r.cpu, 0);
    console.log(
      `  ${label.padEnd(34)} median ${fmt(med(w), 3)} s (min ${fmt(Math.min(...w), 3)}); CPU user+sys of the ${runs} runs ${fmt(cpu, 2)} s`,
    );
  });
}

async function main() {
  if (args.includes('--startup')) return startup();
  if (args.includes('--fleet')) return fleet();
  const { file: pat, count } = grepPatterns();
  console.log(
    `xendoctor bench — ${count} catalogue patterns as grep -E alternatives; ${process.version}; ${readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1] ?? ''}`,
  );
  console.log(`each figure: the median of ${repeat} runs (--repeat N), grep and xendoctor alternating; peak RSS: the highest of them`);
  console.log(
    `load average before: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')} (other work on the machine inflates wall times; CPU s is user+sys of all threads)`,
  );
  console.log('size    input     tool        wall s   CPU s    MB/s   peak RSS MB   ratio (wall, CPU)   counts');
  for (const profile of corpora)
    for (const [label, bytes] of sizes) {
      const { plain, gz, rotDir, injected } = await ensureCorpus(label, bytes, profile);
      if (corpora.length > 1 || profile !== 'v2') console.log(`corpus ${profile}:`);
      const mb = statSync(plain).size / 1024 / 1024;
      const runs = [];
      if (only.has('plain')) runs.push(['plain', `grep -E -c -f '${pat}' '${plain}'`, `'${plain}'`]);
      if (only.has('gz')) runs.push(['gz', `zcat '${gz}' | grep -E -c -f '${pat}'`, `'${gz}'`]);
      if (only.has('rotated')) {
        const files = readdirSync(rotDir)
          .map((f) => `'${join(rotDir, f)}'`)
          .join(' ');
        runs.push(['rotated', `zcat -f ${files} | grep -E -c -f '${pat}'`, `'${rotDir}'`]);
      }
      for (const [kind, grepCmd, xdArgs] of runs) {
        const gs = [];
        const xs = [];
        for (let i = 0; i < repeat; i++) {
          gs.push(timed(grepCmd));
          xs.push(timed(`'${BIN}' scan --format json --quiet --year 2026 --tz UTC ${xdArgs}`));
        }
        const g = median(gs);
        const x = median(xs);
        let counts = 'n/a';
        try {
          const bad = checkCounts(JSON.parse(x.stdout), injected);
          const total = Object.values(injected.rules).reduce((a, b) => a + b, 0);
          const mined = JSON.parse(x.stdout).unrecognized.reduce((a, u) => a + u.count, 0);
          counts = bad.length
            ? `MISMATCH ${bad.join('; ')}`
            : injected.exactUnrecognized === false
              ? `ok (${total} injected; ${injected.unrecognized} trouble-like noise lines, ${mined} counted unrecognised)`
              : `ok (${total} injected, ${injected.unrecognized} unrecognised)`;
        } catch (e) {
          counts = `no JSON (exit ${x.status}): ${x.stderr.split('\n')[0]}`;
        }
        console.log(
          `${label.padEnd(7)} ${kind.padEnd(9)} grep        ${fmt(g.secs).padStart(6)} ${fmt(g.cpu).padStart(6)} ${fmt(mb / g.secs, 0).padStart(7)} ${fmt(g.rssMB, 1).padStart(12)}                      ${g.stdout.trim()} lines`,
        );
        console.log(
          `${''.padEnd(7)} ${''.padEnd(9)} xendoctor   ${fmt(x.secs).padStart(6)} ${fmt(x.cpu).padStart(6)} ${fmt(mb / x.secs, 0).padStart(7)} ${fmt(x.rssMB, 1).padStart(12)}   ${fmt(x.secs / g.secs).padStart(6)}x ${fmt(x.cpu / g.cpu).padStart(6)}x   ${counts}`,
        );
      }
    }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
