/**
 * Small rules of their own and an engine fed with them, for the engine's unit tests
 * (test/engine-read-units.test.ts, test/engine-state-units.test.ts): not the catalogue.
 */
import { expect } from 'vitest';
import { compileRule, type Rule, type RuleSpec } from '../src/engine/catalogue.js';
import { Engine, type EngineOptions, type LinePlace } from '../src/engine/engine.js';

/** The clock of every line: UTC, 2026, read on Nov 26. */
export const ctx = { zone: 'UTC', year: 2026, reference: Date.UTC(2026, 10, 26) };

/** A rule from a partial spec (a disk failure by default), compiled without a problem. */
export function rule(spec: Partial<RuleSpec> & { id: string }): Rule {
  const problems: unknown[] = [];
  const r = compileRule(
    { title: 'title {host}', severity: 'error', patterns: ['disk (?<dev>\\w+) failed'], diagnosis: 'd', fix: ['f'], ...spec } as RuleSpec,
    `${spec.id}.yaml`,
    problems as never,
  );
  expect(problems).toEqual([]);
  return r!;
}
export const disk = rule({ id: 'disk', key: ['dev'] });
export const place = (line: number, extra: Partial<LinePlace> = {}): LinePlace => ({
  source: 'test',
  line,
  host: null,
  ctx,
  candidate: true,
  ...extra,
});
export function feed(e: Engine, lines: string[], extra: Partial<LinePlace> = {}): void {
  lines.forEach((text, i) => e.read(text, place(i + 1, extra)));
  e.endInput();
}
export const engine = (rules: Rule[] = [disk], opts: EngineOptions = {}) => new Engine(rules, opts);
