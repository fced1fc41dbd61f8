/**
 * The configuration rules (rules/config/<id>.yaml): the title, severity, diagnosis, fix and references of
 * every finding `xendoctor check` can report, kept as data. A check names the rule id, the values for its
 * {placeholders} and the conditions that pick severity, notes and fix steps; this module turns that into
 * a Finding of the JSON contract.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Ajv } from 'ajv';
import { createRequire } from 'node:module';
import { bundledRulesDir } from '../engine/catalogue.js';
import { RuleFileError, type RuleProblem } from '../errors.js';
import { severityRank, type Evidence, type Finding, type Severity } from '../types.js';
import { findingId } from '../engine/findings.js';

/** A text that applies only when the check reported condition `when` ("!name": when it did not). */
export interface Conditional {
  when: string;
  text: string;
}

/** A configuration rule file as written (schema: rules/config/config-rule.schema.json). */
export interface ConfigRule {
  id: string;
  title: string;
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
}

/** Folder of the bundled configuration rules. */
export function configRulesDir(): string {
  return join(bundledRulesDir(), 'config');
}

let validate: ReturnType<Ajv['compile']> | null = null;

/** Load and validate every rule file of a folder (against the bundled schema); all problems are reported at once. */
export function loadConfigRules(dir = configRulesDir()): Map<string, ConfigRule> {
  // ajv and yaml are loaded only by `check` (they cost every other command 20 MB of memory)
  const lazyRequire = createRequire(import.meta.url);
  const { LineCounter, parseDocument } = lazyRequire('yaml') as typeof import('yaml');
  if (!validate) {
    const { Ajv: AjvClass } = lazyRequire('ajv') as { Ajv: new (o: object) => Ajv };
    const schema = JSON.parse(readFileSync(join(configRulesDir(), 'config-rule.schema.json'), 'utf8')) as object;
    validate = new AjvClass({ allErrors: true, strict: false }).compile(schema);
  }
  const problems: RuleProblem[] = [];
  const rules = new Map<string, ConfigRule>();
  for (const name of readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()) {
    const file = join(dir, name);
    const lc = new LineCounter();
    const doc = parseDocument(readFileSync(file, 'utf8'), { lineCounter: lc, uniqueKeys: true });
    if (doc.errors.length) {
      for (const e of doc.errors)
        problems.push({ file, line: e.linePos?.[0]?.line ?? null, field: '', message: `YAML: ${e.message.split('\n')[0]}` });
      continue;
    }
    const spec = doc.toJS() as Omit<ConfigRule, 'file'>;
    const lineAt = (path: string[]): number | null => {
      const node = doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
      return node?.range ? lc.linePos(node.range[0]).line : null;
    };
    if (!validate(spec)) {
      for (const e of validate.errors ?? []) {
        const extra = e.keyword === 'additionalProperties' ? (e.params as { additionalProperty: string }).additionalProperty : null;
        const path = [...e.instancePath.split('/').slice(1), ...(extra ? [extra] : [])];
        problems.push({ file, line: lineAt(path), field: path.join('.'), message: extra ? 'unknown field' : (e.message ?? 'invalid') });
      }
      continue;
    }
    const id = basename(name).replace(/\.ya?ml$/, '');
    if (spec.id !== id) {
      problems.push({ file, line: lineAt(['id']), field: 'id', message: `must equal the file name (${id})` });
      continue;
    }
    rules.set(id, { ...spec, file });
  }
  if (problems.length) throw new RuleFileError(problems);
  return rules;
}

/** Fill {name} placeholders; "{{" and "}}" stand for literal braces; an unknown name stays visible as <name>. */
export function fill(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{\{|\}\}|\{([A-Za-z_]\w*)\}/g, (m, name: string | undefined) =>
    m === '{{' ? '{' : m === '}}' ? '}' : values[name!] !== undefined ? String(values[name!]) : `<${name}>`,
  );
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
  const notes = (rule.notes ?? []).filter((n) => holds(n.when, conditions)).map((n) => fill(n.text.trim(), values));
  const fix = rule.fix
    .filter((f) => typeof f === 'string' || holds(f.when, conditions))
    .map((f) => fill(typeof f === 'string' ? f : f.text, values));
  const key = r.key ?? {};
  return {
    id: findingId(rule.id, host, key),
    rule: rule.id,
    title: fill(rule.title, values),
    severity,
    host,
    key,
    count: Math.max(1, r.evidence.length),
    first: null,
    last: null,
    evidence: r.evidence.slice(0, MAX_EVIDENCE).map((e) => ({ ...e, time: null })),
    diagnosis: [fill(rule.diagnosis.trim(), values), ...notes].join('\n\n'),
    fix,
    references: rule.references ?? [],
    harmless: rule.harmless ?? false,
    causedBy: [],
    tags: rule.tags ?? [],
  };
}

/** Worst first, then rule id, then key. */
export function compareCheckFindings(a: Finding, b: Finding): number {
  const s = severityRank(b.severity) - severityRank(a.severity);
  if (s) return s;
  if (a.rule !== b.rule) return a.rule < b.rule ? -1 : 1;
  const ka = JSON.stringify(a.key);
  const kb = JSON.stringify(b.key);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
