/**
 * Findings as alerts, posted to Alertmanager's v2 API (`POST <url>/api/v2/alerts`) — to each of
 * the given Alertmanagers, as Prometheus does for a cluster (alerts are not gossiped between peers;
 * notifications are deduplicated by the cluster).
 *
 * An alert is the finding's labels (`alertname` = rule id, `host`, `severity`, the finding's key,
 * `source="xendoctor"`) with `startsAt`, an `endsAt` in the future while it recurs (so a sender that
 * dies leaves no alert firing forever), and `endsAt` = now when it stopped recurring (resolved).
 *
 * Sending never blocks the caller: alerts wait in a bounded queue per Alertmanager (the latest state
 * of an alert replaces an older one still waiting), one request at a time, retried with exponential
 * back-off (1 s … 60 s, jittered) on a network error, a timeout, 429 or 5xx; 4xx other than 429 is
 * logged and dropped (retrying cannot help).
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { hostname } from 'node:os';
import type { Finding } from '../types.js';
import { safeText } from '../render/sanitize.js';

/** One alert as the v2 API takes it (PostableAlert). */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
}

export interface AlertmanagerConfig {
  /** Base URLs (`http://am:9093`, `https://host/alertmanager/`); user:password in one is basic auth. */
  urls: string[];
  /** PEM CA bundle to verify the Alertmanager's certificate. */
  ca?: string | Buffer;
  /** Do not verify the certificate (testing only). */
  insecure?: boolean;
  /** Bearer token (sent as `Authorization: Bearer …`). */
  bearer?: string;
  /** Per-request timeout, ms (default 10 s). */
  timeoutMs?: number;
  /** Most alerts waiting per Alertmanager (default 1000); beyond it the oldest waiting are dropped. */
  maxQueue?: number;
  /** First retry delay, ms (default 1000); doubles up to maxBackoffMs (default 60 s). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** One line about a failure or a drop (rate-limited by the caller's taste: one per failed attempt). */
  log(message: string): void;
}

/** What `--alertmanager` and `--alert-resolve` ask for (src/cli/alertmanager.ts): where, and how long an alert outlives its finding's last sighting. */
export interface AlertSettings {
  config: Omit<AlertmanagerConfig, 'log'>;
  resolveAfterMs: number;
}

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const RESERVED = new Set(['alertname', 'host', 'severity', 'source']);
/** Longest annotation (the diagnosis can be long; receivers such as chat tools cut anyway). */
const MAX_ANNOTATION = 2000;

/** The label name for a key field: invalid characters become `_`; a clash with ours gets `key_`. */
function keyLabel(name: string): string {
  let n = name.replace(/[^a-zA-Z0-9_]/g, '_');
  if (!LABEL_NAME.test(n)) n = `_${n}`;
  return RESERVED.has(n) || n.startsWith('__') ? `key_${n.replace(/^_+/, '')}` : n;
}

function clip(s: string, max = MAX_ANNOTATION): string {
  const t = safeText(s);
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

/** The labels that identify a finding's alert (the same finding always gives the same labels). */
export function alertLabels(f: Finding, thisHost = hostname()): Record<string, string> {
  const labels: Record<string, string> = {
    alertname: f.rule,
    host: safeText(f.host ?? thisHost),
    severity: f.severity,
    source: 'xendoctor',
  };
  for (const [k, v] of Object.entries(f.key)) labels[keyLabel(k)] = clip(String(v), 200);
  return labels;
}

/** A finding as an alert active from its first line (or `now`) until `endsAt`. */
export function findingAlert(f: Finding, startsAt: number, endsAt: number, thisHost = hostname()): PostableAlert {
  const annotations: Record<string, string> = {
    title: clip(f.title),
    summary: clip(`${f.title} on ${f.host ?? thisHost}`),
    finding_id: f.id,
    count: String(f.count),
  };
  if (f.fix[0]) annotations.fix = clip(f.fix[0]);
  if (f.diagnosis) annotations.description = clip(f.diagnosis);
  if (f.references[0]) annotations.runbook_url = clip(f.references[0]);
  return {
    labels: alertLabels(f, thisHost),
    annotations,
    startsAt: new Date(startsAt).toISOString(),
    endsAt: new Date(endsAt).toISOString(),
  };
}

/** The identity of an alert in a queue: its labels. */
function identity(a: PostableAlert): string {
  return JSON.stringify(Object.entries(a.labels).sort(([x], [y]) => (x < y ? -1 : 1)));
}

class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    body: string,
  ) {
    super(`HTTP ${status}${body ? `: ${body.trim().slice(0, 200)}` : ''}`);
  }
}

/** One Alertmanager: its URL, credentials, queue and retry state. */
class Target {
  readonly name: string;
  private readonly endpoint: URL;
  private readonly auth: string | null;
  private queue = new Map<string, PostableAlert>();
  private inFlight: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private failures = 0;
  private dropped = 0;
  private stopped = false;
  /** Alerts accepted by this Alertmanager so far, and refused by it (4xx: given up). */
  delivered = 0;
  refused = 0;
  lastError: string | null = null;

  constructor(
    url: string,
    private readonly cfg: AlertmanagerConfig,
  ) {
    const u = new URL(url);
    this.auth =
      u.username || u.password
        ? `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`
        : cfg.bearer
          ? `Bearer ${cfg.bearer}`
          : null;
    u.username = '';
    u.password = '';
    this.name = u.origin + u.pathname.replace(/\/$/, '');
    this.endpoint = new URL(`${u.pathname.replace(/\/$/, '')}/api/v2/alerts`, u);
  }

  get pending(): number {
    return this.queue.size;
  }

  get busy(): boolean {
    return this.inFlight !== null || this.timer !== null;
  }

  enqueue(alerts: PostableAlert[]): void {
    if (this.stopped) return;
    const max = this.cfg.maxQueue ?? 1000;
    for (const a of alerts) {
      const id = identity(a);
      this.queue.delete(id);
      this.queue.set(id, a);
      if (this.queue.size > max) {
        this.queue.delete(this.queue.keys().next().value!);
        if (this.dropped++ === 0) this.cfg.log(`alertmanager ${this.name}: more than ${max} alerts waiting; the oldest are dropped`);
      }
    }
    this.kick();
  }

  /** Send what waits, unless a request is running or a retry is scheduled. */
  private kick(): void {
    if (this.inFlight || this.timer || this.queue.size === 0 || this.stopped) return;
    const batch = [...this.queue.values()].slice(0, 500);
    for (const a of batch) this.queue.delete(identity(a));
    this.inFlight = this.post(batch).then(
      () => {
        this.delivered += batch.length;
        this.failures = 0;
        this.lastError = null;
        this.inFlight = null;
        this.kick();
      },
      (e: Error) => {
        this.inFlight = null;
        const retry = !(e instanceof HttpStatusError) || e.status === 429 || e.status >= 500;
        this.lastError = e.message;
        if (!retry) {
          this.refused += batch.length;
          this.cfg.log(`alertmanager ${this.name}: ${batch.length} alert(s) refused: ${safeText(e.message)}`);
          this.kick();
          return;
        }
        // put the batch back, unless a newer state of an alert came meanwhile
        const newer = this.queue;
        this.queue = new Map(batch.map((a) => [identity(a), a]));
        for (const [id, a] of newer) {
          this.queue.delete(id);
          this.queue.set(id, a);
        }
        const base = this.cfg.backoffMs ?? 1000;
        const delay = Math.min(this.cfg.maxBackoffMs ?? 60_000, base * 2 ** this.failures) * (0.8 + Math.random() * 0.4);
        this.failures++;
        this.cfg.log(`alertmanager ${this.name}: ${safeText(e.message)}; retrying in ${(delay / 1000).toFixed(1)} s`);
        this.timer = setTimeout(() => {
          this.timer = null;
          this.kick();
        }, delay);
        this.timer.unref();
      },
    );
  }

  private post(alerts: PostableAlert[]): Promise<void> {
    const body = JSON.stringify(alerts);
    const https = this.endpoint.protocol === 'https:';
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
        'user-agent': 'xendoctor',
      };
      if (this.auth) headers.authorization = this.auth;
      const opts = { method: 'POST', headers, timeout: this.cfg.timeoutMs ?? 10_000 };
      const onResponse = (res: IncomingMessage) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          if (text.length < 1000) text += d;
        });
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve();
          else reject(new HttpStatusError(status, text));
        });
        res.on('error', reject);
      };
      const req = https
        ? httpsRequest(this.endpoint, { ...opts, ca: this.cfg.ca, rejectUnauthorized: this.cfg.insecure !== true }, onResponse)
        : httpRequest(this.endpoint, opts, onResponse);
      req.on('timeout', () => req.destroy(new Error(`no answer within ${(this.cfg.timeoutMs ?? 10_000) / 1000} s`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Wait for the queue to empty by `deadline`; true when everything was accepted (nothing left, nothing refused). */
  async drain(deadline: number): Promise<boolean> {
    while (Date.now() < deadline) {
      if (this.queue.size === 0 && !this.inFlight && !this.timer) return this.refused === 0;
      if (this.inFlight) await Promise.race([this.inFlight, sleep(Math.max(0, deadline - Date.now()))]);
      else await sleep(Math.min(100, Math.max(0, deadline - Date.now())));
    }
    return this.queue.size === 0 && !this.inFlight && !this.timer && this.refused === 0;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}

/** Posts alerts to one or more Alertmanagers without ever blocking the caller. */
export class AlertmanagerClient {
  private readonly targets: Target[];

  constructor(cfg: AlertmanagerConfig) {
    this.targets = cfg.urls.map((u) => new Target(u, cfg));
  }

  /** Queue these alerts for every Alertmanager; returns at once. */
  send(alerts: PostableAlert[]): void {
    if (alerts.length) for (const t of this.targets) t.enqueue(alerts);
  }

  /**
   * Wait up to `timeoutMs` for the queues to empty. Resolves with the Alertmanagers that still
   * hold undelivered alerts (and their last error): empty when everything was delivered.
   */
  async flush(timeoutMs: number): Promise<{ name: string; error: string }[]> {
    const deadline = Date.now() + timeoutMs;
    const done = await Promise.all(this.targets.map((t) => t.drain(deadline)));
    return this.targets.filter((_, i) => !done[i]).map((t) => ({ name: t.name, error: t.lastError ?? 'not sent in time' }));
  }

  /** Stop retrying; what still waits is given up. */
  stop(): void {
    for (const t of this.targets) t.stop();
  }
}

/**
 * The alerts of a live watch: a finding's alert fires when it is announced, is re-posted (its
 * `endsAt` pushed on) each time it recurs, and is resolved (`endsAt` = now) once it has not
 * recurred for `resolveAfterMs`.
 */
export class LiveAlerts {
  private readonly active = new Map<string, { finding: Finding; startsAt: number; lastSeen: number }>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly client: AlertmanagerClient,
    private readonly resolveAfterMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.timer = setInterval(() => this.tick(), Math.min(1000, Math.max(100, resolveAfterMs / 4)));
    this.timer.unref();
  }

  /** A finding announced (new) or recurring (a repeat summary). */
  seen(f: Finding): void {
    const now = this.now();
    const a = this.active.get(f.id);
    const startsAt = a?.startsAt ?? Math.min(now, f.first ? Date.parse(f.first) || now : now);
    this.active.set(f.id, { finding: f, startsAt, lastSeen: now });
    this.client.send([findingAlert(f, startsAt, now + this.resolveAfterMs)]);
  }

  /** Resolve the alerts of findings that stopped recurring. */
  tick(): void {
    const now = this.now();
    const resolved: PostableAlert[] = [];
    for (const [id, a] of this.active) {
      if (now - a.lastSeen < this.resolveAfterMs) continue;
      this.active.delete(id);
      resolved.push(findingAlert(a.finding, a.startsAt, now));
    }
    this.client.send(resolved);
  }

  /** Stop: alerts still active end by themselves at their `endsAt`; what waits gets `graceMs` to go out. */
  async stop(graceMs = 2000): Promise<void> {
    clearInterval(this.timer);
    await this.client.flush(graceMs);
    this.client.stop();
  }
}
