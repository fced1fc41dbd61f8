/** The catalogue against its samples (fail2ban style): one test per rule, plus the contract's ids. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCatalogue } from '../src/engine/catalogue.js';
import { testSamples } from '../src/engine/samples.js';
import { ROOT } from './helpers.js';

const rules = loadCatalogue();

/** The rule ids fixed from the start (docs/report-format.md, "Stable rule ids"). */
const CONTRACT_IDS = [
  'dom0-page-allocation-failure',
  'dom0-oom-killer',
  'balloon-add-memory-eexist',
  'iptables-physdev-out',
  'dom0-boot-out-of-memory',
  'dom0-ballooning-disabled',
  'xend-not-running',
  'disk-full',
  'xen-boot-scrub',
  'xendomains-save-on-shutdown',
  'bridge-port-overload',
  'blkback-hung-task',
  'xen-scheduler-not-credit',
  'xen-unknown-boot-parameter',
  'dom0-memory-not-capped',
  'xen-panic',
  'dom0-crashed',
  'netback-fatal-error',
  'netdev-watchdog-timeout',
  'irq-nobody-cared',
  'soft-lockup',
  'hung-task',
  'clocksource-unstable',
  'root-device-timeout',
  'kernel-oops',
  'block-io-error',
  'machine-check-error',
  'toolstack-out-of-memory',
];

describe('catalogue', () => {
  it('has every rule id of the design contract', () => {
    const ids = new Set(rules.map((r) => r.id));
    expect(CONTRACT_IDS.filter((id) => !ids.has(id))).toEqual([]);
  });

  it('lists every rule in the README', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(rules.map((r) => r.id).filter((id) => !readme.includes(`\`${id}\``))).toEqual([]);
  });

  it('gives every rule a prefilter literal (no rule forces the slow path)', () => {
    expect(rules.filter((r) => r.literals === null).map((r) => r.id)).toEqual([]);
  });

  it('keeps every prefilter literal at least 5 characters long (a short one slows every scan)', () => {
    expect(rules.flatMap((r) => (r.literals ?? []).filter((l) => l.length < 5).map((l) => `${r.id}: "${l}"`))).toEqual([]);
  });
});

describe.each(rules.map((r) => [r.id]))('samples/%s.log', (id) => {
  it('gives exactly the expected findings, with positive and near-miss cases and every pattern exercised', async () => {
    const result = await testSamples(rules, join(ROOT, 'samples'), new Set([id]));
    expect(result.problems.map((p) => `${p.file.replace(ROOT + '/', '')}${p.line ? `:${p.line}` : ''}: ${p.message}`)).toEqual([]);
    expect(result.cases).toBeGreaterThan(1);
  });
});
