/** Safe patterns and safe rule folders: no shipped regex can backtrack catastrophically; site rules are checked at load. */
import { chmodSync } from 'node:fs';
import { check } from 'recheck';
import { describe, expect, it } from 'vitest';
import { loadCatalogue } from '../src/engine/catalogue.js';
import { nestedRepeat, riskOf } from '../src/engine/safety.js';
import { siteRuleDir, xd } from './helpers.js';

const rules = loadCatalogue();

describe('shipped patterns', () => {
  const all = rules.flatMap((r) => [
    ...r.spec.patterns.map((p, i) => [r.id, `patterns.${i}`, p, r.spec.flags ?? ''] as const),
    ...(r.spec.ignore ?? []).map((p, i) => [r.id, `ignore.${i}`, p, r.spec.flags ?? ''] as const),
    ...(r.spec.multiline ? [[r.id, 'multiline.continuation', r.spec.multiline.continuation, r.spec.flags ?? ''] as const] : []),
    ...(r.spec.multiline?.end ? [[r.id, 'multiline.end', r.spec.multiline.end, r.spec.flags ?? ''] as const] : []),
  ]);
  // each check is bounded by recheck's own 10 s timeout (plus the attack timing): the budget grows with
  // the catalogue (a fixed 300 s failed on a loaded 2-core machine once the catalogue reached 39 rules)
  const budget = Math.max(300_000, all.length * 12_000);
  it('are all free of catastrophic backtracking (recheck)', { timeout: budget }, async () => {
    const vulnerable: string[] = [];
    for (let i = 0; i < all.length; i += 8) {
      const batch = all.slice(i, i + 8);
      const results = await Promise.all(batch.map(([, , src, flags]) => check(src, flags, { timeout: 10_000, randomSeed: 42 })));
      results.forEach((r, j) => {
        // a verdict of recheck's fuzzer is confirmed by timing its attack (riskOf)
        // recheck giving up (a timeout on a loaded machine) is not a proof: the reading of nested repeats must pass then
        const risk = r.status === 'unknown' ? nestedRepeat(batch[j]![2]) : riskOf(batch[j]![2], batch[j]![3], r);
        if (risk) vulnerable.push(`${batch[j]![0]} ${batch[j]![1]}: ${risk}`);
      });
    }
    expect(vulnerable).toEqual([]);
  });
});

describe('site rules', () => {
  const line = 'Nov 20 08:01:10 xen07 kernel: [1.0] INFO: task blkback.1.xvda:99 blocked for more than 120 seconds.\n';

  it('refuses a pattern that can backtrack catastrophically, naming the file and the pattern', () => {
    const dir = siteRuleDir('^(?:x+x+)+y$');
    const r = xd(['--rules', dir], line);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('site-slow.yaml');
    expect(r.stderr).toContain('patterns.0');
    expect(r.stderr).toMatch(/backtrack catastrophically/);
    expect(xd(['--rules', dir, '--allow-unsafe-patterns'], line).code).toBe(2);
  });

  it('accepts a safe site rule', () => {
    expect(xd(['--rules', siteRuleDir('kernel frobnicated'), '--format', 'json'], line).code).toBe(2);
  });

  it.runIf(process.getuid?.() === 0)('refuses, as root, a rule folder that other users can write', () => {
    const dir = siteRuleDir('kernel frobnicated');
    chmodSync(dir, 0o777);
    const r = xd(['--rules', dir], line);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/writable by other users \(mode 0777\)/);
    expect(r.stderr).toContain('chmod go-w');
  });
});
