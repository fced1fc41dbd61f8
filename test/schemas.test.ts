/**
 * The JSON Schemas of the output documents (schemas/, docs/report-format.md): they compile in
 * strict mode, they reject what breaks the contract, and real documents of every command follow
 * them. (Every other test's `--format json` output is validated too, by xd() in helpers.ts.)
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { json, ROOT, tmp, xd } from './helpers.js';
import { schemaProblems } from './output-schemas.js';
import { mkdirSync, writeFileSync } from 'node:fs';

const SAMPLES = join(ROOT, 'samples');

describe('output schemas', () => {
  const scan = xd([
    'scan',
    '--format',
    'json',
    '--year',
    '2026',
    join(SAMPLES, 'blkback-hung-task.log'),
    join(SAMPLES, 'dom0-oom-killer.log'),
  ]);
  const doc = JSON.parse(scan.stdout) as { findings: Record<string, unknown>[] };

  it('a scan document with findings, tags and causes follows the scan schema', () => {
    expect(doc.findings.length).toBeGreaterThan(2);
    expect(schemaProblems('scan', doc)).toBe('');
    for (const f of doc.findings) expect(Array.isArray(f.tags)).toBe(true);
  });

  it('rejects what breaks the contract: a finding without tags, an unknown severity, a local time, an unknown field', () => {
    const broken = (change: (f: Record<string, unknown>) => void) => {
      const d = structuredClone(doc);
      change(d.findings[0]!);
      return schemaProblems('scan', d);
    };
    expect(broken((f) => delete f.tags)).toMatch(/tags/);
    expect(broken((f) => (f.severity = 'fatal'))).toMatch(/severity/);
    expect(broken((f) => (f.first = '2026-11-20 08:01:10'))).toMatch(/first/);
    expect(broken((f) => (f.extra = 1))).toMatch(/additional/);
    expect(schemaProblems('scan', { ...doc, schema: 2 })).toMatch(/schema/);
  });

  it('timeline, check and report documents and ndjson findings follow theirs (checked by xd)', () => {
    expect(
      json(xd(['timeline', '--format', 'json', '--year', '2026', join(SAMPLES, 'dom0-oom-killer.log')])).findings.length,
    ).toBeGreaterThan(0);
    const root = tmp('xd-schema-root-');
    mkdirSync(join(root, 'etc', 'default'), { recursive: true });
    writeFileSync(join(root, 'etc', 'default', 'grub'), 'GRUB_CMDLINE_XEN_DEFAULT="dom0_mem=4096M"\n');
    const check = xd(['check', '--format', 'json', '--root', root]);
    expect(schemaProblems('check', JSON.parse(check.stdout))).toBe('');
    const state = join(tmp('xd-schema-state-'), 'state.json');
    const report = xd(['report', '--format', 'json', '--state', state, '--year', '2026', join(SAMPLES, 'blkback-hung-task.log')]);
    expect(schemaProblems('report', JSON.parse(report.stdout))).toBe('');
    const nd = xd(['scan', '--format', 'ndjson', '--year', '2026', join(SAMPLES, 'blkback-hung-task.log')]);
    expect(nd.stdout.trim().split('\n').length).toBeGreaterThan(0);
  });
});
