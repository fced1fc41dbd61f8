/**
 * Worker threads must not change results: the same findings with 0, 1 and 2 workers (the main thread
 * scanning beside them), on plain, gzip and stdin input. XENDOCTOR_TRACE_JOBS shows where each job
 * ran, so that a case cannot pass by never starting a worker.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { tmp, xd } from './helpers.js';
import { xdAsync } from './report-helpers.js';

let dir: string;
let text: string;

/** A mixed log with signatures spread through it, multi-line reports included (some across split points). */
function corpus(): string {
  const out: string[] = [];
  let t = Date.UTC(2026, 10, 1);
  const stamp = () => {
    const d = new Date((t += 7000));
    const mon = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][d.getUTCMonth()];
    return `${mon} ${String(d.getUTCDate()).padStart(2, ' ')} ${d.toISOString().slice(11, 19)} xen07`;
  };
  for (let i = 0; i < 60_000; i++) {
    out.push(`${stamp()} CRON[${1000 + (i % 900)}]: (root) CMD (run-parts /etc/cron.hourly) ${i}`);
    if (i % 997 === 0)
      out.push(
        `${stamp()} kernel: [${i}.5] INFO: task blkback.${i % 7}.xvda:${2000 + (i % 7)} blocked for more than 120 seconds.`,
        `${stamp()} kernel: [${i}.5] Call Trace:`,
        `${stamp()} kernel: [${i}.5]  [<ffffffff812fd0b1>] io_schedule+0x5d/0x80`,
      );
    if (i % 1499 === 0) out.push(`${stamp()} kernel: [${i}.6] xenbr0: port ${(i % 80) + 1}(vif${(i % 80) + 1}.0) entered forwarding state`);
    if (i % 2503 === 0)
      out.push(
        `${stamp()} kernel: [${i}.7] blk_update_request: I/O error, dev sdb, sector ${i} op 0x1:(WRITE) flags 0x0 phys_seg 1 prio class 0`,
      );
    if (i % 3001 === 0) out.push(`${stamp()} xend[99]: Exception starting xend ((28, 'No space left on device'))`);
  }
  return out.join('\n') + '\n';
}

beforeAll(() => {
  dir = tmp();
  text = corpus();
  writeFileSync(join(dir, 'kern.log'), text);
  writeFileSync(join(dir, 'kern.log.1.gz'), gzipSync(text));
});

const SMALL = { XENDOCTOR_WORKER_MIN: '100000', XENDOCTOR_SPLIT_MIN: '200000', XENDOCTOR_SEGMENT: '300000' };
const summary = (stdout: string) => {
  const r = JSON.parse(stdout);
  return {
    findings: r.findings.map(
      (f: { id: string; count: number; first: string; last: string; evidence: { line: number }[]; causedBy: string[] }) => [
        f.id,
        f.count,
        f.first,
        f.last,
        f.evidence.map((e) => e.line),
        f.causedBy,
      ],
    ),
    inputs: r.inputs.map((i: { lines: number; bytes: number; first: string; last: string; formats: object }) => [
      i.lines,
      i.bytes,
      i.first,
      i.last,
      i.formats,
    ]),
  };
};

/** Jobs run on worker threads and on the main thread, as XENDOCTOR_TRACE_JOBS reports them. */
const jobsOn = (stderr: string) => ({
  workers: stderr.match(/^xendoctor: job .* on a worker thread$/gm)?.length ?? 0,
  main: stderr.match(/^xendoctor: job .* on the main thread$/gm)?.length ?? 0,
});

describe('worker threads', () => {
  // a gzip file is inflated (on libuv's threads) and scanned on the main thread by design: no job
  it.each([
    ['a plain file split across workers', ['kern.log'], undefined, true],
    ['a gzip file (read on the main thread)', ['kern.log.1.gz'], undefined, false],
    ['a rotated set', ['kern.log.1.gz', 'kern.log'], undefined, true],
    ['stdin in segments', ['-'], 'stdin', true],
  ])('%s gives the same findings as the main thread alone', (_name, files, stdin, usesWorkers) => {
    const args = ['--format', 'json', '--year', '2026', ...files.map((f) => (f === '-' ? f : join(dir, f)))];
    const input = stdin ? readFileSync(join(dir, 'kern.log')) : undefined;
    const one = xd(args, input, { env: { ...process.env, TZ: 'UTC', XENDOCTOR_WORKERS: '0', XENDOCTOR_TRACE_JOBS: '1' } });
    expect(one.code).toBe(2);
    expect(jobsOn(one.stderr)).toEqual({ workers: 0, main: 0 });
    expect(JSON.parse(one.stdout).findings.length).toBeGreaterThan(3);
    // one worker beside the main thread (the default on two cores), and two
    for (const workers of ['1', '2']) {
      const par = xd(args, input, { env: { ...process.env, TZ: 'UTC', XENDOCTOR_WORKERS: workers, XENDOCTOR_TRACE_JOBS: '1', ...SMALL } });
      expect(summary(par.stdout), `${workers} workers`).toEqual(summary(one.stdout));
      const jobs = jobsOn(par.stderr);
      if (usesWorkers) expect(jobs.workers, `jobs on worker threads with ${workers} workers`).toBeGreaterThan(0);
      else expect(jobs).toEqual({ workers: 0, main: 0 });
    }
  });
});

describe('worker threads: a distinct threshold across the parts', () => {
  // 3 distinct NICs flapping within 10 minutes, read as two files (a rotated set: one job each). The
  // later file's eth1 and eth2 at 08:01-08:02 make 3 with the earlier file's eth0 at 08:00; both come
  // again an hour later, which let the later part's own early values expire: continuing the earlier
  // part with the later one's final state alone missed the finding
  it('fires when values of both parts meet in one window, though the later part let its own expire', async () => {
    const d = tmp();
    const rules = join(d, 'site');
    mkdirSync(rules);
    writeFileSync(
      join(rules, 'site-nics.yaml'),
      [
        'id: site-nics',
        'title: Many links flap',
        'severity: warning',
        'patterns:',
        "  - 'link flapped on (?<nic>eth\\d+)'",
        'threshold: { count: 3, within: 10m, distinct: nic }',
        'diagnosis: Several links went down and up again.',
        'fix: [check the switch]',
        '',
      ].join('\n'),
    );
    const at = (min: number, what: string) => {
      const d = new Date(Date.UTC(2026, 10, 20, 7, 0) + min * 60_000);
      return `Nov 20 ${d.toISOString().slice(11, 19)} xen07 kernel: [1.0] ${what}`;
    };
    // filler before each part's lines so that each file is a job of its own (SMALL: 100 kB)
    const filler = (from: number) => Array.from({ length: 1500 }, (_, i) => at(from, `e1000e: eth9 NIC statistics ${i} rx 0 tx 0 ok`));
    writeFileSync(join(d, 'kern.log.1'), [...filler(0), at(60, 'e1000e: link flapped on eth0')].join('\n') + '\n');
    writeFileSync(
      join(d, 'kern.log'),
      [
        ...filler(60),
        at(61, 'link flapped on eth1'),
        at(62, 'link flapped on eth2'),
        at(120, 'link flapped on eth1'),
        at(121, 'link flapped on eth2'),
      ].join('\n') + '\n',
    );
    const args = [
      '--format',
      'json',
      '--year',
      '2026',
      '--rules',
      rules,
      '--only',
      'site-nics',
      join(d, 'kern.log.1'),
      join(d, 'kern.log'),
    ];
    // (runs that load a site rule check it with recheck: long on a loaded machine, so without blocking the worker's loop)
    const found = async (workers: string) => {
      const r = await xdAsync(args, { TZ: 'UTC', XENDOCTOR_WORKERS: workers, XENDOCTOR_TRACE_JOBS: '1', ...SMALL });
      if (workers !== '0') expect(jobsOn(r.stderr).workers, 'jobs on worker threads').toBeGreaterThan(0);
      return JSON.parse(r.stdout).findings.map((f: { rule: string; first: string }) => [f.rule, f.first]);
    };
    const alone = await found('0');
    expect(alone).toEqual([['site-nics', '2026-11-20T08:00:00Z']]);
    expect(await found('1')).toEqual(alone);
  });
});
