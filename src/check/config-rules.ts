/**
 * The configuration rules (rules/config/<id>.yaml): the title, severity, diagnosis, fix and references of
 * every finding `xendoctor check` can report, kept as data. A check names the rule id, the values for its
 * {placeholders} and the conditions that pick severity, notes and fix steps; this module turns that into
 * a Finding of the JSON contract.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { bundledRulesDir } from '../engine/catalogue.js';
import { readRuleFile } from '../engine/rule-file.js';
import { RuleFileError, type RuleProblem } from '../errors.js';
import type { Evidence, Finding, Severity } from '../types.js';
import { buildFinding, fillPlaceholders } from '../engine/findings.js';

/** A text that applies only when the check reported condition `when` ("!name": when it did not). */
export interface Conditional {
  when: string;
  text: string;
}

/** A configuration rule file as written (schema: rules/config/config-rule.schema.json). */
export interface ConfigRule {
  id: string;
  title: string;
  /** The title of one finding for several guests (see aggregateGuests): {guest} lists them, {guest_count} counts them. */
  title_group?: string;
  severity: Severity;
  /** Severity by reported condition; the first listed condition that holds wins. */
  severity_when?: Record<string, Severity>;
  tags?: string[];
  /** The check module that reports it (src/check/<check>.ts). */
  check: string;
  diagnosis: string;
  /** Paragraphs added to the diagnosis when their condition holds. */
  notes?: Conditional[];
  fix: (string | Conditional)[];
  references?: string[];
  harmless?: boolean;
  file: string;
}

/** What a check found, before it is dressed as a Finding. */
export interface CheckResult {
  rule: string;
  /** Separates one finding of a rule from another (bridge, guest, disk, option). */
  key?: Record<string, string>;
  /** Values for the rule's {placeholders}. */
  values?: Record<string, string | number>;
  /** Conditions that pick severity_when, notes and conditional fix steps. */
  conditions?: string[];
  /** Where it was seen: file and line, or command output. */
  evidence: Omit<Evidence, 'time'>[];
  /** Set when the result stands for this many guests (aggregateGuests). */
  group?: number;
}

/** Folder of the bundled configuration rules. */
export function configRulesDir(): string {
  return join(bundledRulesDir(), 'config');
}

/** Load and validate every rule file of a folder (against the bundled schema); all problems are reported at once. */
export function loadConfigRules(dir = configRulesDir()): Map<string, ConfigRule> {
  const problems: RuleProblem[] = [];
  const rules = new Map<string, ConfigRule>();
  const schema = join(configRulesDir(), 'config-rule.schema.json');
  for (const name of readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()) {
    const file = join(dir, name);
    const read = readRuleFile<Omit<ConfigRule, 'file'>>(file, schema, problems);
    if (read) rules.set(read.spec.id, { ...read.spec, file });
  }
  if (problems.length) throw new RuleFileError(problems);
  return rules;
}

function holds(when: string, conditions: Set<string>): boolean {
  return when.startsWith('!') ? !conditions.has(when.slice(1)) : conditions.has(when);
}

/** Most evidence lines kept per finding (the count still counts all). */
export const MAX_EVIDENCE = 5;

/** Turn one check result into a Finding with the rule's texts filled in. */
export function toFinding(rule: ConfigRule, r: CheckResult, host: string | null): Finding {
  const conditions = new Set(r.conditions ?? []);
  const values = { host: host ?? 'this host', ...(r.values ?? {}) };
  let severity = rule.severity;
  for (const [cond, sev] of Object.entries(rule.severity_when ?? {})) {
    if (holds(cond, conditions)) {
      severity = sev;
      break;
    }
  }
  const notes = (rule.notes ?? []).filter((n) => holds(n.when, conditions)).map((n) => fillPlaceholders(n.text.trim(), values));
  const fix = rule.fix
    .filter((f) => typeof f === 'string' || holds(f.when, conditions))
    .map((f) => fillPlaceholders(typeof f === 'string' ? f : f.text, values));
  return buildFinding({
    rule: rule.id,
    title: fillPlaceholders(r.group && rule.title_group ? rule.title_group : rule.title, values),
    severity,
    host,
    key: r.key ?? {},
    count: r.group ?? Math.max(1, r.evidence.length),
    first: null,
    last: null,
    evidence: r.evidence.slice(0, MAX_EVIDENCE).map((e) => ({ ...e, time: null })),
    diagnosis: [fillPlaceholders(rule.diagnosis.trim(), values), ...notes].join('\n\n'),
    fix,
    references: rule.references,
    harmless: rule.harmless,
    tags: rule.tags,
  });
}
