#!/usr/bin/env node
// `npm run bench:followers`: the rotation matrix for file followers. Each case runs a writer (and the
// real logrotate where a rotation is involved) against three followers at once, each in its own
// process following the same path from its end:
//   xendoctor  — src/sources/follow.ts (the built dist/), as `xendoctor watch` uses it
//   tail-file  — tail-file 1.4 (npm), the package the design card named
//   logdna     — @logdna/tail-file 4.x (npm), the widely used one built for rotated logs
// For each: lines written, lines on disk afterwards (copytruncate drops what is written between
// logrotate's copy and its truncation: such lines are in no file, so not counted as lost), lines read
// (distinct), lost (on disk but never read), duplicated (read more than once), the follower's peak
// RSS (VmHWM) and the latency from write to read (p50/p95).
// Each case runs --rounds times (3; the races do not show every time): lost and dup per round, peak
// RSS the highest, latency over all rounds' lines.
// Usage: node bench/followers.mjs [--rounds 3] [--only NAME-SUBSTRING] [--json FILE]
import { spawn, execFileSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CHILD = join(ROOT, 'bench', 'follower-child.mjs');
const FOLLOWERS = ['xendoctor', 'tail-file', 'logdna'];
const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const LOGROTATE = ['/usr/sbin/logrotate', '/sbin/logrotate', '/usr/bin/logrotate'].find((p) => existsSync(p));
if (!LOGROTATE) {
  console.error('followers bench: logrotate is not installed (Debian package logrotate; .ci/run installs it)');
  process.exit(1);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.timeOrigin + performance.now();
const PAD = 'x'.repeat(60);

/** A writer of numbered lines "L<seq> <ms> ..." to whatever descriptor `fd()` gives. */
class Writer {
  seq = 0;
  constructor(fd) {
    this.fd = fd;
  }
  write(n = 1, extra = PAD) {
    let s = '';
    for (let i = 0; i < n; i++) s += `L${++this.seq} ${now().toFixed(1)} ${extra}\n`;
    writeSync(this.fd, s);
  }
  /** `rate` lines/s for `ms`, in 10 ms batches; `at` maps a time (ms from the start) to an action. */
  async run(rate, ms, at = {}) {
    const t0 = now();
    const pending = Object.entries(at).map(([t, f]) => [Number(t), f]);
    let sent = 0;
    const running = [];
    while (now() - t0 < ms) {
      const el = now() - t0;
      for (const p of pending.filter(([t]) => t <= el)) {
        pending.splice(pending.indexOf(p), 1);
        running.push(Promise.resolve(p[1]()));
      }
      const due = Math.floor((el / 1000) * rate) - sent;
      if (due > 0) {
        this.write(due);
        sent += due;
      }
      await sleep(10);
    }
    await Promise.all(running);
  }
}

function logrotate(dir, log, directives) {
  const conf = join(dir, 'logrotate.conf');
  writeFileSync(conf, `${log} {\n  rotate 20\n  missingok\n  ifempty\n  nocompress\n${directives.map((d) => `  ${d}\n`).join('')}}\n`);
  return new Promise((res, rej) => {
    const c = spawn(LOGROTATE, ['-f', '-s', join(dir, 'logrotate.state'), conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d) => (err += d));
    c.on('close', (code) => (code === 0 ? res() : rej(new Error(`logrotate: ${err}`))));
  });
}

const CASES = [
  {
    name: 'rename-and-create (logrotate create), late write to the old file',
    async run(dir, log) {
      const w = new Writer(openSync(log, 'a'));
      await w.run(2000, 2500, {
        1000: async () => {
          await logrotate(dir, log, ['create']);
          // the daemon still writes to the renamed file until it is told to reopen (postrotate HUP)
          await sleep(300);
          closeSync(w.fd);
          w.fd = openSync(log, 'a');
        },
      });
      closeSync(w.fd);
      return w.seq;
    },
  },
  {
    name: 'copytruncate (logrotate), writer at 2k lines/s',
    async run(dir, log) {
      const w = new Writer(openSync(log, 'a'));
      await w.run(2000, 3000, { 1000: () => logrotate(dir, log, ['copytruncate']), 2000: () => logrotate(dir, log, ['copytruncate']) });
      closeSync(w.fd);
      return w.seq;
    },
  },
  {
    name: 'copytruncate (logrotate) while the writer is busy (20k lines/s)',
    async run(dir, log) {
      const w = new Writer(openSync(log, 'a'));
      let chain = Promise.resolve();
      const rot = () => (chain = chain.then(() => logrotate(dir, log, ['copytruncate'])));
      await w.run(20_000, 2500, { 600: rot, 1200: rot, 1800: rot });
      await chain;
      closeSync(w.fd);
      return w.seq;
    },
  },
  {
    name: 'delete and re-create',
    async run(dir, log) {
      const w = new Writer(openSync(log, 'a'));
      await w.run(2000, 1000);
      closeSync(w.fd);
      unlinkSync(log);
      w.fd = openSync(log, 'a');
      await w.run(2000, 1000);
      closeSync(w.fd);
      return w.seq;
    },
  },
  {
    name: 'a file that appears later',
    absent: true,
    async run(_dir, log) {
      await sleep(1000);
      const w = new Writer(openSync(log, 'a'));
      await w.run(2000, 1500);
      closeSync(w.fd);
      return w.seq;
    },
  },
  {
    name: 'a 10 MB line between short ones',
    async run(_dir, log) {
      const w = new Writer(openSync(log, 'a'));
      await w.run(1000, 500);
      w.write(1, 'y'.repeat(10 * 1024 * 1024));
      await w.run(1000, 500);
      closeSync(w.fd);
      return w.seq;
    },
  },
  {
    name: 'a writer at 20k lines/s',
    async run(_dir, log) {
      const w = new Writer(openSync(log, 'a'));
      await w.run(20_000, 3000);
      closeSync(w.fd);
      return w.seq;
    },
  },
];

function startChild(impl, log) {
  const c = spawn(process.execPath, [CHILD, impl, log], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const st = { seen: 0, changed: Date.now() };
  c.stdout.on('data', (d) => (out += d));
  c.stderr.on('data', (d) => {
    err += d;
    const m = [...err.slice(-200).matchAll(/^p (\d+)$/gm)].pop();
    if (m && Number(m[1]) !== st.seen) {
      st.seen = Number(m[1]);
      st.changed = Date.now();
    }
    if (err.length > 100_000) err = err.slice(-10_000);
  });
  const ready = new Promise((res, rej) => {
    const t = setInterval(() => {
      if (out.startsWith('ready\n')) {
        clearInterval(t);
        res();
      } else if (c.exitCode !== null) {
        clearInterval(t);
        rej(new Error(`${impl} exited: ${err}`));
      }
    }, 20);
  });
  const result = async () => {
    c.stdin.write('stop\n');
    const t0 = Date.now();
    while (!out.slice(6).includes('\n') && c.exitCode === null && Date.now() - t0 < 20_000) await sleep(20);
    c.kill('SIGKILL');
    try {
      return JSON.parse(out.slice(6).split('\n')[0]);
    } catch {
      return {
        lines: 0,
        seqs: [],
        dups: 0,
        lat: [],
        hwmKb: NaN,
        errors: [
          `no result (${
            err
              .split('\n')
              .filter((l) => l && !/^p \d+$/.test(l))
              .pop() ?? 'no output'
          })`,
        ],
      };
    }
  };
  return { ready, result, st };
}

/** Sequence numbers in the log and all its rotated copies. */
function onDisk(dir) {
  const seqs = new Set();
  for (const f of readdirSync(dir).filter((n) => n.startsWith('app.log'))) {
    for (const m of readFileSync(join(dir, f), 'latin1').matchAll(/^L(\d+) /gm)) seqs.add(Number(m[1]));
  }
  return seqs;
}

const pct = (xs, p) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const ms = (x) => (Number.isNaN(x) ? '—' : x < 10 ? x.toFixed(1) : Math.round(x).toString());

const rows = [];
const only = opt('only');
const ROUNDS = Number(opt('rounds') ?? 3);
for (let round = 1; round <= ROUNDS; round++)
  for (const kase of CASES.filter((c) => !only || c.name.includes(only))) {
    const dir = mkdtempSync(join(tmpdir(), 'xd-followers-'));
    const log = join(dir, 'app.log');
    if (!kase.absent) writeFileSync(log, '');
    const children = FOLLOWERS.map((impl) => ({ impl, ...startChild(impl, log) }));
    await Promise.all(children.map((c) => c.ready));
    await sleep(300);
    const written = await kase.run(dir, log);
    const disk = onDisk(dir);
    // what must be read: every line written, except (copytruncate) what logrotate itself dropped
    const must = kase.name.startsWith('copytruncate') ? disk : new Set(Array.from({ length: written }, (_, i) => i + 1));
    // let every follower catch up: until it has seen as many lines, or has seen nothing new for 2 s (at most 20 s)
    const t0 = Date.now();
    while (Date.now() - t0 < 20_000 && children.some((c) => c.st.seen < must.size && Date.now() - c.st.changed < 2000)) await sleep(100);
    await sleep(500);
    for (const c of children) {
      const r = await c.result();
      const read = new Set(r.seqs);
      const lost = [...must].filter((s) => !read.has(s)).length;
      rows.push({
        case: kase.name,
        follower: c.impl,
        written,
        onDisk: disk.size,
        must: must.size,
        read: read.size,
        lost,
        dups: r.dups,
        rssMb: r.hwmKb / 1024,
        lat: r.lat,
        errors: r.errors,
      });
      const x = rows[rows.length - 1];
      process.stderr.write(
        `${kase.name} | ${c.impl}: written ${written} (on disk ${disk.size}), read ${x.read}, lost ${lost}, dup ${x.dups}, ` +
          `peak RSS ${x.rssMb.toFixed(0)} MB, p50 ${ms(pct(x.lat, 50))} ms, p95 ${ms(pct(x.lat, 95))} ms${x.errors.length ? `; ${x.errors.join('; ')}` : ''}\n`,
      );
    }
    rmSync(dir, { recursive: true, force: true });
  }

const NAMES = { xendoctor: 'xendoctor (follow.ts)', 'tail-file': 'tail-file 1.4.16', logdna: '@logdna/tail-file 4.0.2' };
const table = [];
for (const r of rows) {
  let t = table.find((x) => x.case === r.case && x.follower === r.follower);
  if (!t) table.push((t = { case: r.case, follower: r.follower, runs: [] }));
  t.runs.push(r);
}
const per = (t, f) => t.runs.map(f).join(' / ');
const bold = (xs) => (xs.some((x) => x > 0) ? `**${xs.join(' / ')}**` : xs.join(' / '));
console.log(`| case | follower | written | read | lost | dup | peak RSS | p50 | p95 |`);
console.log('|---|---|--:|--:|--:|--:|--:|--:|--:|');
for (const t of table) {
  const errs = [
    ...new Set(
      t.runs.flatMap((r) =>
        r.errors.map((e) =>
          e
            .replace(/\|/g, '/')
            .replace(/'[^']*'/g, 'PATH')
            .slice(0, 50),
        ),
      ),
    ),
  ];
  const lat = t.runs.flatMap((r) => r.lat);
  console.log(
    `| ${t.case} | ${NAMES[t.follower]}${errs.length ? ` (${errs.join('; ')})` : ''} | ${per(t, (r) => (r.must === r.written ? r.written : `${r.written} (${r.must} on disk)`))} | ${per(t, (r) => r.read)} | ${bold(t.runs.map((r) => r.lost))} | ${bold(t.runs.map((r) => r.dups))} | ${Math.max(...t.runs.map((r) => r.rssMb)).toFixed(0)} MB | ${ms(pct(lat, 50))} ms | ${ms(pct(lat, 95))} ms |`,
  );
}
const json = opt('json');
if (json)
  writeFileSync(
    json,
    JSON.stringify(
      rows.map(({ lat, ...r }) => ({ ...r, p50: pct(lat, 50), p95: pct(lat, 95) })),
      null,
      2,
    ),
  );
