/**
 * The one reader of rule files, for log rules (rules/<id>.yaml) and config-check rules
 * (rules/config/<id>.yaml) alike: YAML with line numbers, validated against the kind's JSON Schema,
 * every problem worded the same way with file, line and field.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename } from 'node:path';
import type { Ajv, ErrorObject } from 'ajv';
import type { Document, LineCounter } from 'yaml';
import type { RuleProblem } from '../errors.js';

// The YAML parser and the schema validator are loaded only when rule files are parsed (not when the
// validated catalogue cache is fresh): they are most of xendoctor's start-up time.
const lazyRequire = createRequire(import.meta.url);
const yamlLib = () => lazyRequire('yaml') as typeof import('yaml');

/** The line of a field, by its path in the document (null when it cannot be told). */
export type Locate = (path: (string | number)[]) => number | null;

const validators = new Map<string, ReturnType<Ajv['compile']>>();

/** The compiled validator of a schema file (compiled once). */
function validator(schemaFile: string): ReturnType<Ajv['compile']> {
  let v = validators.get(schemaFile);
  if (!v) {
    const schema = JSON.parse(readFileSync(schemaFile, 'utf8')) as object;
    const { Ajv: AjvClass } = lazyRequire('ajv') as { Ajv: new (o: object) => Ajv };
    v = new AjvClass({ allErrors: true, strict: false }).compile(schema);
    validators.set(schemaFile, v);
  }
  return v;
}

/** Line (1-based) of the node at a JSON-pointer-like path in a YAML document. */
function lineOf(doc: Document, lc: LineCounter, path: (string | number)[]): number | null {
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    const range = (node as { range?: [number, number, number] } | undefined)?.range;
    if (range) return lc.linePos(range[0]).line;
    // a missing key: point at its parent
    if (n > 0 && (yamlLib().isMap(node) || yamlLib().isSeq(node))) break;
  }
  return null;
}

function ajvPath(e: ErrorObject): (string | number)[] {
  return e.instancePath
    .split('/')
    .slice(1)
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s.replace(/~1/g, '/').replace(/~0/g, '~')));
}

/**
 * Read one rule file: parse the YAML, validate it against `schemaFile`, and check that its `id`
 * is its file name. Returns the spec and how to find a field's line, or null with the problems
 * pushed to `problems`.
 */
export function readRuleFile<T extends { id: string }>(
  file: string,
  schemaFile: string,
  problems: RuleProblem[],
  /** The file's text when it was read already (through a checked descriptor: see rule-folder.ts). */
  given?: string,
): { spec: T; locate: Locate } | null {
  let text: string;
  try {
    text = given ?? readFileSync(file, 'utf8');
  } catch (e) {
    problems.push({ file, line: null, field: '', message: `cannot read: ${(e as Error).message}` });
    return null;
  }
  const { LineCounter: LC, parseDocument } = yamlLib();
  const lc = new LC();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    // the line from the error's offset: linePos is only set with prettyErrors, which would put the
    // source excerpt in the message
    for (const err of doc.errors) {
      problems.push({ file, line: lc.linePos(err.pos[0]).line, field: '', message: `YAML: ${err.message.split('\n')[0]}` });
    }
    return null;
  }
  const spec = doc.toJS() as T;
  const locate: Locate = (path) => lineOf(doc, lc, path);
  const validate = validator(schemaFile);
  if (!validate(spec)) {
    for (const e of validate.errors ?? []) {
      const path = ajvPath(e);
      let message = e.message ?? 'invalid';
      let field = path.join('.');
      if (e.keyword === 'additionalProperties') {
        const extra = (e.params as { additionalProperty: string }).additionalProperty;
        field = [...path, extra].join('.');
        message = 'unknown field';
        path.push(extra);
      } else if (e.keyword === 'required') {
        field = [...path, (e.params as { missingProperty: string }).missingProperty].join('.');
        message = 'required field is missing';
      } else if (e.keyword === 'enum') {
        message += `: ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`;
      }
      problems.push({ file, line: locate(path), field, message });
    }
    return null;
  }
  const id = basename(file).replace(/\.ya?ml$/, '');
  if (spec.id !== id) {
    problems.push({ file, line: locate(['id']), field: 'id', message: `must equal the file name (${id})` });
    return null;
  }
  return { spec, locate };
}
