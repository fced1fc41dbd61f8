/**
 * The metrics file for node_exporter's textfile collector, read by the real programs: Debian's
 * prometheus-node-exporter (started on loopback, scraped), `promtool check metrics`, and the shipped
 * alerting rules through `promtool check rules` and `promtool test rules`.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, tmp, xd } from './helpers.js';
import { blk } from './report-helpers.js';
import { freePort, http, startDaemon, type Daemon } from './daemon-helpers.js';

const RULES = join(ROOT, 'contrib', 'prometheus', 'xendoctor.rules.yml');
const SAMPLES = ['xen-panic.log', 'blkback-hung-task.log'].map((f) => join(ROOT, 'samples', f));

/** Samples of one metric family from an exposition text: labels (as node_exporter sorts them) → value. */
function samples(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m && m[1] === name) out.set(m[2] ?? '', Number(m[3]));
  }
  return out;
}

function promtool(args: string[], input?: string) {
  const r = spawnSync('promtool', args, { input, encoding: 'utf8' });
  if (r.error) throw new Error(`promtool (Debian package prometheus) is needed: ${r.error.message}`);
  return r;
}

const daemons: Daemon[] = [];
afterAll(async () => {
  await Promise.all(daemons.map((d) => d.stop()));
});

describe('node_exporter textfile collector', () => {
  it('scrapes the file `report --textfile` writes, with the values of the findings', async () => {
    const dir = tmp('xd-node-exporter-');
    const textdir = join(dir, 'textfile');
    const file = join(textdir, 'xendoctor.prom');
    const log = join(dir, 'kern.log');
    writeFileSync(log, SAMPLES.map((s) => readFileSync(s, 'utf8')).join(''));
    const r = xd(['report', '--state', join(dir, 'state.json'), '--textfile', file, '--quiet', '--format', 'json', log]);
    expect(r.code).toBe(2);
    const report = JSON.parse(r.stdout) as { findings: { rule: string; severity: string; host: string | null; count: number }[] };
    expect(report.findings.length).toBeGreaterThan(2);

    // promtool lints the exposition text (names, HELP, TYPE, counters' _total)
    const lint = promtool(['check', 'metrics'], readFileSync(file, 'utf8'));
    expect(lint.status, lint.stdout + lint.stderr).toBe(0);

    const port = await freePort();
    const ne = await startDaemon(
      'prometheus-node-exporter',
      [
        `--web.listen-address=127.0.0.1:${port}`,
        '--collector.disable-defaults',
        '--collector.textfile',
        `--collector.textfile.directory=${textdir}`,
      ],
      `http://127.0.0.1:${port}/metrics`,
    );
    daemons.push(ne);
    const scraped = (await http(`http://127.0.0.1:${port}/metrics`)).body;

    // node_exporter read the file without complaint
    expect(samples(scraped, 'node_textfile_scrape_error').get('')).toBe(0);
    expect([...samples(scraped, 'node_textfile_mtime_seconds').keys()]).toEqual([`{file="${file}"}`]);

    // each finding group, with node_exporter's (alphabetical) label order, has the report's values
    const findings = samples(scraped, 'xendoctor_findings');
    const lines = samples(scraped, 'xendoctor_finding_lines');
    const expected = new Map<string, { n: number; lines: number }>();
    for (const f of report.findings) {
      const l = `{host="${f.host ?? ''}",rule="${f.rule}",severity="${f.severity}"}`;
      const e = expected.get(l) ?? { n: 0, lines: 0 };
      e.n++;
      e.lines += f.count;
      expected.set(l, e);
    }
    expect(new Map([...findings].map(([l]) => [l, { n: findings.get(l)!, lines: lines.get(l)! }]))).toEqual(expected);
    const bySeverity = samples(scraped, 'xendoctor_findings_by_severity');
    for (const s of ['info', 'warning', 'error', 'critical'])
      expect(bySeverity.get(`{severity="${s}"}`)).toBe(report.findings.filter((f) => f.severity === s).length);
    expect(samples(scraped, 'xendoctor_finding_lines_total').size).toBe(expected.size);
    expect(samples(scraped, 'xendoctor_input_errors').get('')).toBe(0);
    const last = samples(scraped, 'xendoctor_last_success_timestamp_seconds').get('')!;
    expect(Math.abs(last - Date.now() / 1000)).toBeLessThan(600);
    expect(scraped).toMatch(/# TYPE xendoctor_finding_lines_total counter/);

    // the next run with one new line: the gauges show only the news, the counter keeps adding up
    writeFileSync(log, readFileSync(log, 'utf8') + blk(31337) + '\n');
    expect(xd(['report', '--state', join(dir, 'state.json'), '--textfile', file, '--quiet', log]).code).toBe(2);
    const next = (await http(`http://127.0.0.1:${port}/metrics`)).body;
    const key = '{host="xen07",rule="blkback-hung-task",severity="error"}';
    expect([...samples(next, 'xendoctor_findings')]).toEqual([[key, 1]]);
    expect(samples(next, 'xendoctor_finding_lines_total').get(key)).toBe(expected.get(key)!.lines + 1);
  });

  it('a file node_exporter cannot parse shows as node_textfile_scrape_error (the probe the shipped rule uses)', async () => {
    const textdir = tmp('xd-node-exporter-bad-');
    writeFileSync(join(textdir, 'xendoctor.prom'), 'xendoctor_findings{rule="x" 1\n');
    const port = await freePort();
    const ne = await startDaemon(
      'prometheus-node-exporter',
      [
        `--web.listen-address=127.0.0.1:${port}`,
        '--collector.disable-defaults',
        '--collector.textfile',
        `--collector.textfile.directory=${textdir}`,
      ],
      `http://127.0.0.1:${port}/metrics`,
    );
    daemons.push(ne);
    expect(samples((await http(`http://127.0.0.1:${port}/metrics`)).body, 'node_textfile_scrape_error').get('')).toBe(1);
  });
});

describe('contrib/prometheus/xendoctor.rules.yml', () => {
  it('passes `promtool check rules`', () => {
    const r = promtool(['check', 'rules', RULES]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/SUCCESS: 5 rules found/);
  });

  it('fires and resolves as its `promtool test rules` unit test says', () => {
    const dir = tmp('xd-promtool-');
    mkdirSync(dir, { recursive: true });
    copyFileSync(RULES, join(dir, 'xendoctor.rules.yml'));
    copyFileSync(join(ROOT, 'test', 'fixtures', 'prometheus', 'xendoctor.rules.test.yml'), join(dir, 'test.yml'));
    const r = promtool(['test', 'rules', join(dir, 'test.yml')]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });
});
