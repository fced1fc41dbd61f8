/**
 * The JSON Schemas of the output documents (schemas/*.schema.json, docs/report-format.md), for the
 * tests: every `--format json` or `ndjson` output of scan, timeline, report and check that a test
 * runs through `xd()` (and the other runners of the binary) is validated against them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';

export type DocumentKind = 'scan' | 'timeline' | 'report' | 'check' | 'finding';

const SCHEMAS = join(resolve(__dirname, '..'), 'schemas');
const compiledDirs = new Map<string, Map<DocumentKind, ValidateFunction>>();

/** The compiled schemas of a folder (the repository's schemas/, or an installed package's), compiled once. */
function compiled(dir: string): Map<DocumentKind, ValidateFunction> {
  let validators = compiledDirs.get(dir);
  if (validators) return validators;
  const ajv = new Ajv({ allErrors: true, strict: true });
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.schema.json')))
    ajv.addSchema(JSON.parse(readFileSync(join(dir, f), 'utf8')) as object);
  validators = new Map();
  for (const kind of ['scan', 'timeline', 'report', 'check', 'finding'] as const)
    validators.set(kind, ajv.getSchema(`urn:xendoctor:schema:${kind}`)!);
  compiledDirs.set(dir, validators);
  return validators;
}

/** Problems of a document against its schema in `dir` ('' when valid). */
export function schemaProblems(kind: DocumentKind, doc: unknown, dir = SCHEMAS): string {
  const v = compiled(dir).get(kind)!;
  if (v(doc)) return '';
  return (v.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`).join('; ');
}

/** Throw when a document does not follow its schema. */
export function assertDocument(kind: DocumentKind, doc: unknown): void {
  const p = schemaProblems(kind, doc);
  if (p) throw new Error(`${kind} document does not follow schemas/${kind}.schema.json: ${p}`);
}

const DOCUMENT_COMMANDS = new Set(['scan', 'timeline', 'report', 'check']);
const OTHER_COMMANDS = new Set(['explain', 'rules', 'watch', 'baseline', 'ack', 'help']);

/**
 * Validate what a run of the binary printed, when it is a document: `--format json` (or ndjson) of
 * scan (the default command), timeline, report or check. Other outputs are left alone.
 */
export function validateOutput(args: readonly string[], stdout: string): void {
  let format: string | null = null;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--format') format = args[i + 1] ?? null;
    else if (a.startsWith('--format=')) format = a.slice('--format='.length);
  }
  if ((format !== 'json' && format !== 'ndjson') || stdout.trim() === '') return;
  const named = args.find((a) => DOCUMENT_COMMANDS.has(a) || OTHER_COMMANDS.has(a));
  if (named !== undefined && OTHER_COMMANDS.has(named)) return; // not documents
  const command = named ?? 'scan';
  if (format === 'ndjson') {
    for (const line of stdout.split('\n').filter((l) => l !== '')) assertDocument('finding', JSON.parse(line));
    return;
  }
  assertDocument(command as DocumentKind, JSON.parse(stdout));
}
