/**
 * `report --alertmanager` and `watch --alertmanager` against Debian's real prometheus-alertmanager,
 * started on loopback by the test; its notifications go to a webhook receiver on loopback that
 * records them (the receiver is the test's own: Alertmanager is what is under test).
 */
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tmp, xd } from './helpers.js';
import { blk, xdAsync } from './report-helpers.js';
import type { ScanReport } from '../src/types.js';
import { eventually, freePort, http, sleep, startDaemon, type Daemon } from './daemon-helpers.js';
import { startWatch, WATCH_RULES, type Watching } from './watch-helpers.js';

interface Notification {
  status: 'firing' | 'resolved';
  receiver: string;
  groupLabels: Record<string, string>;
  alerts: { status: string; labels: Record<string, string>; annotations: Record<string, string>; startsAt: string; endsAt: string }[];
}
interface ApiAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  status: { state: string };
}

/** The webhook receiver: records each notification Alertmanager sends, by the path it was sent to. */
class Receiver {
  readonly got: { path: string; body: Notification }[] = [];
  private server: Server | null = null;
  port = 0;
  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.got.push({ path: req.url ?? '', body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Notification });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
  }
  /** Notifications sent to `/<path>`. */
  at(path: string): Notification[] {
    return this.got.filter((g) => g.path === `/${path}`).map((g) => g.body);
  }
  stop(): Promise<void> {
    return new Promise((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

const receiver = new Receiver();
const daemons: Daemon[] = [];

/** Alertmanager with a webhook to the receiver at `/<path>`, grouping by alertname, quick to notify. */
async function alertmanager(
  path: string,
  extra: { port?: number; cluster?: { listen: number; peers: number[] }; webConfig?: string } = {},
): Promise<{ url: string; port: number; daemon: Daemon }> {
  const dir = tmp('xd-am-');
  const config = join(dir, 'alertmanager.yml');
  writeFileSync(
    config,
    `route:
  receiver: hook
  group_by: [alertname]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: http://127.0.0.1:${receiver.port}/${path}
        send_resolved: true
`,
  );
  const port = extra.port ?? (await freePort());
  const args = [`--config.file=${config}`, `--storage.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`];
  if (extra.cluster) {
    args.push(
      `--cluster.listen-address=127.0.0.1:${extra.cluster.listen}`,
      `--cluster.advertise-address=127.0.0.1:${extra.cluster.listen}`,
      '--cluster.peer-timeout=3s',
      '--cluster.gossip-interval=100ms',
      '--cluster.pushpull-interval=1s',
      ...extra.cluster.peers.map((p) => `--cluster.peer=127.0.0.1:${p}`),
    );
  } else args.push('--cluster.listen-address=');
  if (extra.webConfig) args.push(`--web.config.file=${extra.webConfig}`);
  const scheme = extra.webConfig ? 'https' : 'http';
  // behind basic auth, readiness is the 401 of an unauthenticated probe
  const daemon = await startDaemon(
    'prometheus-alertmanager',
    args,
    `${scheme}://127.0.0.1:${port}/-/ready`,
    30_000,
    extra.webConfig ? 401 : 200,
  );
  daemons.push(daemon);
  return { url: `${scheme}://127.0.0.1:${port}`, port, daemon };
}

async function alerts(url: string): Promise<ApiAlert[]> {
  const r = await http(`${url}/api/v2/alerts`);
  expect(r.status).toBe(200);
  return JSON.parse(r.body) as ApiAlert[];
}

beforeAll(async () => {
  await receiver.start();
});
afterAll(async () => {
  await Promise.all(daemons.map((d) => d.stop()));
  await receiver.stop();
});

const HUNG = ['--only', 'blkback-hung-task'];

describe('report --alertmanager', () => {
  it('posts each new finding once with its labels and annotations; two hosts, one rule: one notification', async () => {
    const am = await alertmanager('report');
    const dir = tmp('xd-am-report-');
    const log = join(dir, 'kern.log');
    const state = join(dir, 'state.json');
    writeFileSync(log, `${blk(4242, undefined, 'xen07')}\n${blk(5151, undefined, 'xen08')}\n`);
    const r = await xdAsync(['report', '--state', state, '--format', 'json', ...HUNG, '--alertmanager', am.url, log]);
    expect(r.code, r.stderr).toBe(2);
    const findings = (JSON.parse(r.stdout) as ScanReport).findings;
    expect(findings.map((f) => f.host).sort()).toEqual(['xen07', 'xen08']);

    const active = await alerts(am.url);
    expect(active).toHaveLength(2);
    for (const f of findings) {
      const a = active.find((x) => x.labels.host === f.host)!;
      expect(a.labels).toEqual({
        alertname: 'blkback-hung-task',
        host: f.host,
        severity: 'error',
        source: 'xendoctor',
        ...f.key,
      });
      expect(a.annotations.finding_id).toBe(f.id);
      expect(a.annotations.title).toBe(f.title);
      expect(a.annotations.fix).toBe(f.fix[0]);
      expect(a.status.state).toBe('active');
      // it stays up for --alert-resolve (2h by default) unless a later run posts it again
      expect(Date.parse(a.endsAt) - Date.now()).toBeGreaterThan(3600_000);
    }

    // one group for the rule, alertname=blkback-hung-task, not one per host: a notification holds both
    // hosts' alerts. (Both come in one POST, but Alertmanager flushes a group at once for an alert older
    // than group_wait, as a log's finding is: on a loaded machine its first notification may hold only
    // the first alert, and the next, a group_interval later, both; a run beside two busy loops did that.)
    const both = await eventually(
      async () =>
        receiver.at('report').find(
          (x) =>
            x.alerts
              .map((a) => a.labels.host)
              .sort()
              .join() === 'xen07,xen08',
        ),
      'a notification holding both hosts',
    );
    expect(both.status).toBe('firing');
    for (const x of receiver.at('report')) expect(x.groupLabels).toEqual({ alertname: 'blkback-hung-task' });
    await sleep(4000); // two group_intervals: whatever this POST makes Alertmanager send is sent
    const sent = receiver.at('report').length;
    expect(sent).toBeLessThanOrEqual(2);

    // the same finding again in the next run: the same alert (no duplicate), no new notification
    appendFileSync(log, `${blk(4242, Date.parse('2026-11-20T09:00:00Z'), 'xen07')}\n`);
    const again = await xdAsync(['report', '--state', state, ...HUNG, '--alertmanager', am.url, log]);
    expect(again.code, again.stderr).toBe(2);
    expect(await alerts(am.url)).toHaveLength(2);
    await sleep(4000); // two group_intervals
    expect(receiver.at('report')).toHaveLength(sent);
  });

  it('an Alertmanager that refuses the credentials fails the run (exit 3) and nothing is marked as read', async () => {
    const dir = tmp('xd-am-tls-');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    // bcrypt of "s3cret" (exporter-toolkit's basic_auth_users)
    writeFileSync(
      join(dir, 'web.yml'),
      `tls_server_config:
  cert_file: ${join(dir, 'cert.pem')}
  key_file: ${join(dir, 'key.pem')}
basic_auth_users:
  xd: '$2b$12$KeX53kFZ4gYg7WSC/UjKse7sNhGCU2xUw5WlH1WOYKce2LTm5Eq6u'
`,
    );
    const am = await alertmanager('tls', { webConfig: join(dir, 'web.yml') });
    const log = join(dir, 'kern.log');
    writeFileSync(log, `${blk(777)}\n`);
    const run = (url: string, ...extra: string[]) =>
      xdAsync(['report', '--state', join(dir, 'state.json'), ...HUNG, '--quiet', '--alertmanager', url, ...extra, log]);
    const host = `127.0.0.1:${am.port}`;
    const refused = await run(`https://xd:wrong@${host}`, '--alertmanager-ca', join(dir, 'cert.pem'));
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/could not deliver the alerts: .*HTTP 401/);
    expect(refused.stderr).not.toContain('wrong'); // no password in messages
    // the right password over TLS verified with the CA: delivered, and the run is complete
    const ok = await run(`https://xd:s3cret@${host}`, '--alertmanager-ca', join(dir, 'cert.pem'));
    expect(ok.code, ok.stderr).toBe(2);
    // the state was written only now: the refused run marked nothing as read
    expect(xd(['report', '--state', join(dir, 'state.json'), ...HUNG, '--quiet', log]).stdout).toBe('');
    // --alertmanager-insecure: no CA, no verification
    const insecure = await run(`https://xd:s3cret@${host}`, '--alertmanager-insecure', '--dry-run');
    expect(insecure.code, insecure.stderr).toBe(0);
  });

  it("two clustered Alertmanagers: both hold one host's alerts, and the cluster notifies once", async () => {
    const [c1, c2] = [await freePort(), await freePort()];
    const a = await alertmanager('cluster', { cluster: { listen: c1, peers: [c2] } });
    const b = await alertmanager('cluster', { cluster: { listen: c2, peers: [c1] } });
    // both see each other before the test posts
    await eventually(async () => {
      const s = JSON.parse((await http(`${a.url}/api/v2/status`)).body) as { cluster: { peers: unknown[]; status: string } };
      return s.cluster.peers.length === 2 && s.cluster.status === 'ready' ? true : undefined;
    }, 'the cluster to form');
    const dir = tmp('xd-am-cluster-');
    const log = join(dir, 'kern.log');
    writeFileSync(log, `${blk(31, undefined, 'xen09')}\n`);
    const r = await xdAsync(['report', '--state', join(dir, 's.json'), ...HUNG, '--alertmanager', a.url, '--alertmanager', b.url, log]);
    expect(r.code, r.stderr).toBe(2);
    for (const am of [a, b]) {
      const got = await alerts(am.url);
      expect(got.map((x) => [x.labels.alertname, x.labels.host])).toEqual([['blkback-hung-task', 'xen09']]);
    }
    await eventually(async () => (receiver.at('cluster').length ? true : undefined), 'the notification');
    // the second peer waits --cluster.peer-timeout (3 s) for the first one's notification log
    await sleep(8000);
    expect(receiver.at('cluster')).toHaveLength(1);
  });
});

describe('watch --alertmanager', () => {
  let w: Watching | null = null;
  afterAll(async () => {
    await w?.stop();
  });

  it('fires on a new finding, keeps one alert while it recurs, resolves when it stops; retries until Alertmanager is up', async () => {
    const port = await freePort();
    const dir = tmp('xd-am-watch-');
    mkdirSync(dir, { recursive: true });
    const log = join(dir, 'kern.log');
    writeFileSync(log, '');
    const url = `http://127.0.0.1:${port}`;
    w = await startWatch([
      '--rules',
      WATCH_RULES,
      '--only',
      'watch-probe',
      '--format',
      'ndjson',
      '--repeat-interval',
      '1s',
      '--alert-resolve',
      '6s',
      '--alertmanager',
      url,
      log,
    ]);
    const probe = (n: number) => appendFileSync(log, `Nov 26 04:00:01 xen07 kernel: [  100.000000] XDPROBE ${n}\n`);
    probe(7);
    // Alertmanager is not running yet: the finding is printed all the same, and the post is retried
    await w.until(() => w!.records().some((r) => r.event === 'new'), 15_000, 'the new finding');
    await w.until(() => w!.err.some((l) => /alertmanager .*retrying in/.test(l)), 15_000, 'a retry');
    const am = await alertmanager('watch', { port });
    const [a] = await eventually(async () => {
      const got = await alerts(url);
      return got.length ? got : undefined;
    }, 'the alert after the retry');
    expect(a!.labels).toMatchObject({ alertname: 'watch-probe', host: 'xen07', severity: 'warning', n: '7' });
    expect(a!.annotations.fix).toBe('Nothing to fix: probe 7 is test data.');

    // it recurs: still one alert, its end pushed on
    for (let i = 0; i < 3; i++) {
      probe(7);
      await sleep(1000);
    }
    const still = await alerts(url);
    expect(still).toHaveLength(1);
    expect(Date.parse(still[0]!.endsAt)).toBeGreaterThan(Date.parse(a!.endsAt));

    // it stops recurring: resolved (6 s after its last repeat summary)
    const resolved = await eventually(
      async () => receiver.at('watch').find((n) => n.status === 'resolved'),
      'the resolved notification',
      40_000,
    );
    expect(resolved.alerts[0]!.labels.n).toBe('7');
    expect(await alerts(url)).toEqual([]);
    const firing = receiver.at('watch').filter((n) => n.status === 'firing');
    expect(firing).toHaveLength(1);
    void am;
  });
});
