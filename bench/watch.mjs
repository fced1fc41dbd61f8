#!/usr/bin/env node
// `npm run bench:watch`: measures `xendoctor watch` (the built binary, default settings).
//  1. Latency: a line appended to a followed file → its finding printed; median and 95th percentile
//     over --appends appends (target: p95 under 1 s).
//  2. Soak: --lines lines appended at --rate lines/s with a rotation every --rotate-every lines
//     (rename-and-create and copytruncate in turn); RSS of the watcher at start and end (target:
//     flat within 20 %), and every injected signature reported exactly once.
// Usage: node bench/watch.mjs [--appends 300] [--lines 1000000] [--rate 20000] [--rotate-every 100000]
//        [--recycle 30s] [--only-latency | --only-soak]    (full soak: --lines 10000000)
import { spawn } from 'node:child_process';
import {
  appendFileSync,
  closeSync,
  copyFileSync,
  mkdtempSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  unlinkSync,
  writeFileSync,
  writeSync,
  ftruncateSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'xendoctor.js');
const RULES = join(ROOT, 'test', 'fixtures', 'watch', 'rules');

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const flag = (name) => args.includes(`--${name}`);
const APPENDS = Number(opt('appends', 300));
const LINES = Number(opt('lines', 1_000_000));
const RATE = Number(opt('rate', 20_000));
const ROTATE_EVERY = Number(opt('rotate-every', 100_000));
const RECYCLE = opt('recycle', '30s');
const PROBE_EVERY = 1000;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const rssKb = (pid) => {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
  } catch {
    return NaN;
  }
};
const mb = (kb) => `${(kb / 1024).toFixed(1)} MB`;

/** The bundled catalogue plus the probe rule, or the probe rule alone if the catalogue does not load. */
function ruleArgs() {
  const probe = spawn(process.execPath, [BIN, 'rules', 'list', '--rules', RULES], { stdio: 'ignore' });
  return new Promise((res) =>
    probe.on('close', (code) => res(code === 0 ? ['--rules', RULES] : ['--rules', RULES, '--only', 'watch-probe'])),
  );
}

function startWatch(extra, file) {
  const child = spawn(process.execPath, [BIN, 'watch', '--format', 'ndjson', '--repeat-interval', '10s', ...extra, file], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  const w = { child, onRecord: () => undefined, stderr: '', ready: null };
  let carry = '';
  child.stdout.on('data', (d) => {
    const parts = (carry + d.toString('utf8')).split('\n');
    carry = parts.pop();
    for (const l of parts) if (l.startsWith('{')) w.onRecord(JSON.parse(l));
  });
  w.ready = new Promise((res, rej) => {
    child.stderr.on('data', (d) => {
      w.stderr += d.toString('utf8');
      if (w.stderr.includes('watching ')) res();
    });
    child.on('exit', (code) => rej(new Error(`watch exited ${code}: ${w.stderr}`)));
  });
  w.exited = new Promise((res) => child.on('exit', (code, sig) => res(code ?? sig)));
  return w;
}

const NOISE = [
  (i) =>
    `Nov 26 04:00:01 xen07 kernel: [812345.${String(i % 1e6).padStart(6, '0')}] xenbr0: port ${i % 60}(vif${i % 200}.0) entered forwarding state`,
  (i) => `Nov 26 04:00:01 xen07 CRON[${1000 + (i % 30000)}]: (root) CMD (command -v debian-sa1 > /dev/null && debian-sa1 1 1)`,
  (i) => `Nov 26 04:00:01 xen07 systemd[1]: Started Session ${i} of user root.`,
  (i) => `Nov 26 04:00:01 xen07 kernel: [812345.${String(i % 1e6).padStart(6, '0')}] device vif${i % 200}.0 entered promiscuous mode`,
  (i) =>
    `Nov 26 04:00:01 xen07 sshd[${2000 + (i % 30000)}]: Accepted publickey for root from 10.0.${i % 256}.${(i >> 8) % 256} port ${40000 + (i % 20000)} ssh2`,
];

async function latency(rules) {
  const dir = mkdtempSync(join(tmpdir(), 'xd-bench-watch-'));
  const log = join(dir, 'kern.log');
  writeFileSync(log, '');
  const w = startWatch(rules, log);
  await w.ready;
  const got = new Map();
  w.onRecord = (r) => {
    if (r.event === 'new' && r.rule === 'watch-probe') got.set(Number(r.key.n), performance.now());
  };
  const lat = [];
  for (let n = 1; n <= APPENDS; n++) {
    const noise = Array.from({ length: n % 7 }, (_, i) => NOISE[i % NOISE.length](n * 10 + i)).join('\n');
    const t0 = performance.now();
    appendFileSync(log, `${noise ? noise + '\n' : ''}Nov 26 04:00:01 xen07 kernel: [812345.000000] XDPROBE ${n}\n`);
    while (!got.has(n) && performance.now() - t0 < 5000) await sleep(1);
    lat.push((got.get(n) ?? Infinity) - t0);
    await sleep(5 + (n % 5) * 5);
  }
  w.child.kill('SIGTERM');
  await w.exited;
  rmSync(dir, { recursive: true, force: true });
  const missed = lat.filter((x) => x === Infinity).length;
  console.log(`latency, append → finding printed (${APPENDS} appends, inotify + 500 ms poll):`);
  console.log(
    `  median ${pct(lat, 50).toFixed(1)} ms, p95 ${pct(lat, 95).toFixed(1)} ms, max ${Math.max(...lat).toFixed(1)} ms${missed ? `, ${missed} never reported` : ''}`,
  );
  console.log(`  target p95 < 1000 ms: ${pct(lat, 95) < 1000 ? 'met' : 'NOT MET'}`);
}

async function soak(rules) {
  const dir = mkdtempSync(join(tmpdir(), 'xd-bench-soak-'));
  const log = join(dir, 'kern.log');
  writeFileSync(log, '');
  const w = startWatch([...rules, '--recycle', RECYCLE], log);
  await w.ready;
  const pid = w.child.pid;
  const rssReady = rssKb(pid);
  const warmUp = Math.max(Math.min(200_000, LINES / 2), Math.floor(LINES / 5));
  const counts = new Map();
  let repeatedProbes = 0;
  w.onRecord = (r) => {
    if (r.rule !== 'watch-probe') return;
    if (r.event === 'new') counts.set(Number(r.key.n), (counts.get(Number(r.key.n)) ?? 0) + 1);
    else repeatedProbes += r.repeats;
  };
  let fd = openSync(log, 'a');
  let rotations = 0;
  let reopenAt = -1;
  const rotate = (i) => {
    try {
      unlinkSync(`${log}.2`);
    } catch {
      /* first rotations */
    }
    try {
      renameSync(`${log}.1`, `${log}.2`);
    } catch {
      /* first rotation */
    }
    if (rotations % 2 === 0) {
      renameSync(log, `${log}.1`); // rename-and-create; the writer reopens a little later (its HUP)
      writeFileSync(log, '');
      reopenAt = i + Math.floor(RATE / 20);
    } else {
      copyFileSync(log, `${log}.1`); // copytruncate (copy and truncation atomic here: nothing lost by the rotation itself)
      ftruncateSync(fd, 0);
    }
    rotations++;
  };
  const t0 = performance.now();
  const batch = Math.max(1, Math.round(RATE / 100)); // a write every 10 ms
  let i = 0;
  let probes = 0;
  let rssStart = NaN;
  let rssPeak = 0;
  let lastReport = t0;
  while (i < LINES) {
    const lines = [];
    for (let k = 0; k < batch && i < LINES; k++, i++) {
      if (i % PROBE_EVERY === PROBE_EVERY - 1) lines.push(`Nov 26 04:00:01 xen07 kernel: [812345.000000] XDPROBE ${++probes}`);
      else lines.push(NOISE[i % NOISE.length](i));
      if (i > 0 && i % ROTATE_EVERY === 0) {
        writeSync(fd, lines.join('\n') + '\n');
        lines.length = 0;
        rotate(i);
      }
      if (i === reopenAt) {
        writeSync(fd, lines.join('\n') + '\n');
        lines.length = 0;
        closeSync(fd);
        fd = openSync(log, 'a');
      }
    }
    if (lines.length) writeSync(fd, lines.join('\n') + '\n');
    const due = t0 + (i / RATE) * 1000;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    if (Number.isNaN(rssStart) && i >= warmUp) rssStart = rssKb(pid);
    rssPeak = Math.max(rssPeak, rssKb(pid) || 0);
    if (performance.now() - lastReport > 10_000) {
      lastReport = performance.now();
      process.stderr.write(`  soak: ${i} lines, ${rotations} rotations, RSS ${mb(rssKb(pid))}\n`);
    }
  }
  closeSync(fd);
  const wrote = performance.now() - t0;
  const deadline = performance.now() + 30_000;
  while (counts.size < probes && performance.now() < deadline) await sleep(50);
  await sleep(1000);
  const rssEnd = rssKb(pid);
  w.child.kill('SIGTERM');
  await w.exited;
  rmSync(dir, { recursive: true, force: true });
  const twice = [...counts.values()].filter((c) => c > 1).length;
  const missing = probes - counts.size;
  console.log(
    `soak: ${LINES} lines at ${RATE}/s (${(LINES / (wrote / 1000)).toFixed(0)}/s achieved) in ${(wrote / 1000).toFixed(0)} s, ${rotations} rotations (rename-and-create and copytruncate in turn), engine renewed every ${RECYCLE}`,
  );
  console.log(
    `  RSS idle at start ${mb(rssReady)}; after warm-up (${warmUp} lines) ${mb(rssStart)}, at the end ${mb(rssEnd)} (${(((rssEnd - rssStart) / rssStart) * 100).toFixed(1)} %), peak ${mb(rssPeak)}; target flat within 20 %: ${Math.abs(rssEnd - rssStart) / rssStart <= 0.2 ? 'met' : 'NOT MET'}`,
  );
  console.log(
    `  ${probes} signatures injected: ${counts.size - twice} reported exactly once, ${missing} missed, ${twice} reported more than once, ${repeatedProbes} repeat hits (lines read twice)`,
  );
  if (missing || twice || repeatedProbes) process.exitCode = 1;
}

const rules = await ruleArgs();
console.log(
  `xendoctor watch benchmark (${rules.includes('--only') ? 'probe rule only: the bundled catalogue does not load' : 'bundled catalogue + probe rule'})`,
);
if (!flag('only-soak')) await latency(rules);
if (!flag('only-latency')) await soak(rules);
