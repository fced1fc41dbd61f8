/**
 * Unit tests of src/engine/rule-file.ts and src/engine/rule-folder.ts (reached only through the binary
 * before; the mutation run, docs/mutation.md): a rule file parsed, validated against a schema and
 * checked to be named by its id, each problem with its file, line and field; a rule folder checked on
 * its whole path as root (owners, modes, the sticky /tmp) and its files on their descriptors.
 */
import fs, { chmodSync, chownSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RuleProblem } from '../src/errors.js';
import { readRuleFile } from '../src/engine/rule-file.js';
import { MAX_RULE_FILE, readRuleFolder } from '../src/engine/rule-folder.js';
import { tmp } from './helpers.js';

/** A small schema: an id, a title, a severity out of three, an `applies` object, pattern strings, odd names. */
const SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'title'],
  properties: {
    id: { type: 'string' },
    title: { type: 'string' },
    severity: { enum: ['info', 'warning', 'error'] },
    applies: { type: 'object', additionalProperties: false, required: ['xen'], properties: { xen: { type: 'string' } } },
    patterns: { type: 'array', items: { type: 'string' } },
    'a/b': { type: 'string' },
    'c~d': { type: 'string' },
    v2: { type: 'string' },
    '2v': { type: 'string' },
  },
  // a keyword Ajv does not know (documentation): accepted, not an error of the schema
  'x-doc': 'rules',
};

describe('rule-file: one rule file', () => {
  const setup = () => {
    const dir = tmp('xd-rulefile-');
    const schema = join(dir, 'schema.json');
    writeFileSync(schema, JSON.stringify(SCHEMA));
    const read = (name: string, text: string | null, given?: string) => {
      const file = join(dir, name);
      if (text !== null) writeFileSync(file, text);
      const problems: RuleProblem[] = [];
      const r = readRuleFile<{ id: string }>(file, schema, problems, given);
      return { r, problems, file };
    };
    return { dir, schema, read };
  };

  it('returns the spec and the line of each field', () => {
    const { read } = setup();
    const { r, problems } = read('r1.yaml', '# a comment\n\nid: r1\ntitle: T\npatterns:\n  - a\n  - b\napplies:\n  xen: ">=4"\n');
    expect(problems).toEqual([]);
    expect(r!.spec).toEqual({ id: 'r1', title: 'T', patterns: ['a', 'b'], applies: { xen: '>=4' } });
    expect(r!.locate(['id'])).toBe(3);
    expect(r!.locate(['patterns', 1])).toBe(7);
    expect(r!.locate(['applies', 'xen'])).toBe(9);
    // a field not there: the line of the nearest one that is
    expect(r!.locate(['applies', 'kernel'])).toBe(9);
    expect(r!.locate(['nothing', 'deeper'])).toBe(3);
    expect(r!.locate([])).toBe(3);
  });

  it('takes the id from the file name, .yaml or .yml', () => {
    const { read } = setup();
    expect(read('r2.yml', 'id: r2\ntitle: T\n').problems).toEqual([]);
    const { r, problems, file } = read('r3.yaml', 'title: T\nid: other\n');
    expect(r).toBeNull();
    expect(problems).toEqual([{ file, line: 2, field: 'id', message: 'must equal the file name (r3)' }]);
    expect(read('r4.yaml.txt', 'id: r4.yaml.txt\ntitle: T\n').problems).toEqual([]);
    expect(read('r5.yamlx', 'id: r5\ntitle: T\n').problems[0]!.message).toBe('must equal the file name (r5.yamlx)');
  });

  it('reads the text given instead of the file, and says when a file cannot be read', () => {
    const { read } = setup();
    expect(read('r6.yaml', null, 'id: r6\ntitle: T\n').r!.spec).toEqual({ id: 'r6', title: 'T' });
    const { r, problems, file } = read('r7.yaml', null);
    expect(r).toBeNull();
    expect(problems).toEqual([{ file, line: null, field: '', message: `cannot read: ENOENT: no such file or directory, open '${file}'` }]);
  });

  it('gives every YAML error with its line, the first line of its message only', () => {
    const { read } = setup();
    const { r, problems, file } = read('r8.yaml', '# c\nid: r8\nid: again\ntitle: T\ntitle: U\n');
    expect(r).toBeNull();
    expect(problems).toEqual([
      { file, line: 3, field: '', message: 'YAML: Map keys must be unique' },
      { file, line: 5, field: '', message: 'YAML: Map keys must be unique' },
    ]);
  });

  it('gives every schema error with its field and line: unknown, missing, a value out of a list, a wrong type', () => {
    const { read } = setup();
    const { r, problems, file } = read(
      'r9.yaml',
      [
        'id: r9',
        'severity: fatal',
        'extra: 1',
        'applies:',
        '  kernel: "6"',
        'patterns:',
        '  - a',
        '  - 7',
        'a/b: 1',
        'c~d: 2',
        'v2: 3',
        '2v: 4',
        '',
      ].join('\n'),
    );
    expect(r).toBeNull();
    expect(problems).toEqual(
      expect.arrayContaining([
        { file, line: 1, field: 'title', message: 'required field is missing' },
        { file, line: 3, field: 'extra', message: 'unknown field' },
        { file, line: 5, field: 'applies.kernel', message: 'unknown field' },
        { file, line: 5, field: 'applies.xen', message: 'required field is missing' },
        { file, line: 2, field: 'severity', message: 'must be equal to one of the allowed values: info, warning, error' },
        { file, line: 8, field: 'patterns.1', message: 'must be string' },
        { file, line: 9, field: 'a/b', message: 'must be string' },
        { file, line: 10, field: 'c~d', message: 'must be string' },
        { file, line: 11, field: 'v2', message: 'must be string' },
        { file, line: 12, field: '2v', message: 'must be string' },
      ]),
    );
    expect(problems).toHaveLength(10);
  });

  it('compiles a schema once: a schema file changed later is not read again', () => {
    const { read, schema } = setup();
    expect(read('r10.yaml', 'id: r10\ntitle: T\n').problems).toEqual([]);
    writeFileSync(schema, JSON.stringify({ ...SCHEMA, required: ['id', 'title', 'severity'] }));
    expect(read('r11.yaml', 'id: r11\ntitle: T\n').problems).toEqual([]);
    const other = join(tmp('xd-rulefile-'), 'schema.json');
    writeFileSync(other, readFileSync(schema));
    const problems: RuleProblem[] = [];
    const file = join(tmp('xd-rulefile-'), 'r12.yaml');
    writeFileSync(file, 'id: r12\ntitle: T\n');
    expect(readRuleFile(file, other, problems)).toBeNull();
    expect(problems).toEqual([{ file, line: 1, field: 'severity', message: 'required field is missing' }]);
  });
});

describe.runIf(process.getuid?.() === 0)('rule-folder: a rule folder read as root', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });
  /** A rule folder in a fresh root-owned folder under /tmp, holding the given files (mode 0644). */
  const setup = (files: Record<string, string> = { 'a.yaml': 'id: a\n', 'b.yml': 'id: b\n', 'notes.txt': 'x' }) => {
    const base = tmp('xd-rulefolder-');
    const dir = join(base, 'rules');
    mkdirSync(dir, { mode: 0o755 });
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text, { mode: 0o644 });
    return { base, dir };
  };
  const read = (dir: string) => {
    const problems: RuleProblem[] = [];
    const files = readRuleFolder(dir, problems);
    return { files, problems, names: files?.map((f) => [f.file, f.text]) };
  };
  const refused = (file: string, message: string) => ({
    files: null,
    problems: [{ file, line: null, field: '', message: `refused: ${message}` }],
  });

  it('reads the *.yaml and *.yml files, sorted, named under the folder as given', () => {
    const { base, dir } = setup({ 'b.yml': 'id: b\n', 'a.yaml': 'id: a\n', 'c.txt': 'x', yaml: 'x', 'd.yaml.bak': 'x' });
    const r = read(dir);
    expect(r.problems).toEqual([]);
    expect(r.names).toEqual([
      [join(dir, 'a.yaml'), 'id: a\n'],
      [join(dir, 'b.yml'), 'id: b\n'],
    ]);
    expect(r.files![0]!.st.size).toBe(6);
    symlinkSync(dir, join(base, 'link'));
    expect(read(join(base, 'link')).names).toEqual([
      [join(base, 'link', 'a.yaml'), 'id: a\n'],
      [join(base, 'link', 'b.yml'), 'id: b\n'],
    ]);
    expect(read(setup({}).dir)).toMatchObject({ files: [], problems: [] });
  });

  it('without texts: the same files, times and sizes, every check made, no file read', () => {
    const { base, dir } = setup({ 'b.yml': 'id: b\n', 'a.yaml': 'id: a\n', 'c.txt': 'x' });
    const problems: RuleProblem[] = [];
    const files = readRuleFolder(dir, problems, false);
    expect(problems).toEqual([]);
    expect(files!.map((f) => [f.file, f.text, f.st.size])).toEqual([
      [join(dir, 'a.yaml'), '', 6],
      [join(dir, 'b.yml'), '', 6],
    ]);
    expect(files!.map((f) => f.st.mtimeMs)).toEqual(read(dir).files!.map((f) => f.st.mtimeMs));
    // a file no one may read is still told, a link still refused
    chmodSync(join(dir, 'b.yml'), 0o000);
    // readSync watched through node:fs's own object (syncBuiltinESMExports: the module's import sees it)
    const spy = vi.spyOn(fs, 'readSync');
    syncBuiltinESMExports();
    try {
      expect(readRuleFolder(dir, [], false)!.map((f) => f.file)).toEqual([join(dir, 'a.yaml'), join(dir, 'b.yml')]);
      expect(spy).not.toHaveBeenCalled();
      readRuleFolder(dir, []);
      expect(spy).toHaveBeenCalled();
    } finally {
      spy.mockRestore();
      syncBuiltinESMExports();
    }
    symlinkSync(join(base, 'elsewhere.yaml'), join(dir, 'c.yaml'));
    const told: RuleProblem[] = [];
    expect(readRuleFolder(dir, told, false)).toBeNull();
    expect(told).toEqual([
      { file: join(dir, 'c.yaml'), line: null, field: '', message: expect.stringMatching(/^refused: a symbolic link/) },
    ]);
  });

  it('says when the folder is missing or not a folder', () => {
    const { dir } = setup();
    const none = read(join(dir, 'none'));
    expect(none.files).toBeNull();
    expect(none.problems).toEqual([
      {
        file: join(dir, 'none'),
        line: null,
        field: '',
        message: expect.stringMatching(/^cannot read rule folder: ENOENT: no such file or directory/),
      },
    ]);
    expect(read(join(dir, 'a.yaml'))).toMatchObject(refused(join(dir, 'a.yaml'), 'not a folder'));
  });

  it('refuses a folder on the way that others can write, unless sticky; the folder itself if others can write it', () => {
    const { base, dir } = setup();
    chmodSync(base, 0o777);
    expect(read(dir)).toMatchObject(
      refused(
        base,
        `a folder on the way to the rule folder is writable by other users, who could swap what it holds (mode 0777); fix with: chmod go-w ${base}`,
      ),
    );
    chmodSync(base, 0o757);
    expect(read(dir).files).toBeNull();
    chmodSync(base, 0o1777);
    expect(read(dir).problems).toEqual([]);
    chmodSync(base, 0o1757);
    expect(read(dir).problems).toEqual([]);
    chmodSync(dir, 0o1777);
    expect(read(dir)).toMatchObject(refused(dir, `the rule folder is writable by other users (mode 1777); fix with: chmod go-w ${dir}`));
    chmodSync(dir, 0o757);
    expect(read(dir)).toMatchObject(refused(dir, `the rule folder is writable by other users (mode 0757); fix with: chmod go-w ${dir}`));
    // group-writable: refused unless the group is root's
    chmodSync(dir, 0o775);
    expect(read(dir).problems).toEqual([]);
    chownSync(dir, 0, 100);
    expect(read(dir)).toMatchObject(refused(dir, `the rule folder is writable by other users (mode 0775); fix with: chmod go-w ${dir}`));
    chmodSync(dir, 0o755);
    expect(read(dir).problems).toEqual([]);
    chownSync(dir, 0, 0);
    chownSync(base, 0, 100);
    chmodSync(base, 0o770);
    expect(read(dir).files).toBeNull();
    chmodSync(base, 0o750);
    expect(read(dir).problems).toEqual([]);
  });

  it('refuses a folder on the way, or the folder, owned by another user', () => {
    const { base, dir } = setup();
    chownSync(base, 1000, 0);
    expect(read(dir)).toMatchObject(refused(base, `owned by uid 1000; fix with: chown root:root ${base} && chmod go-w ${base}`));
    chownSync(base, 0, 0);
    chownSync(dir, 1000, 0);
    expect(read(dir)).toMatchObject(refused(dir, `owned by uid 1000; fix with: chown root:root ${dir} && chmod go-w ${dir}`));
  });

  it('refuses a rule file that is a link, not a regular file, owned by another user, writable by others, or too large', () => {
    const check = (make: (dir: string) => void, message: (file: string) => string, name = 'z.yaml') => {
      const { dir } = setup();
      make(join(dir, name));
      expect(read(dir)).toMatchObject(refused(join(dir, name), message(join(dir, name))));
    };
    check(
      (f) => symlinkSync(join(f, '..', 'a.yaml'), f),
      () => 'a symbolic link; rule files are read only as regular files in the folder',
    );
    check(
      (f) => mkdirSync(f),
      () => 'not a regular file',
    );
    check(
      (f) => execFileSync('mkfifo', [f]),
      () => 'not a regular file',
    );
    check(
      (f) => {
        writeFileSync(f, 'x', { mode: 0o644 });
        chownSync(f, 1000, 0);
      },
      (f) => `owned by uid 1000; fix with: chown root:root ${f} && chmod go-w ${f}`,
    );
    check(
      (f) => {
        writeFileSync(f, 'x');
        chmodSync(f, 0o646);
      },
      (f) => `writable by other users (mode 0646); fix with: chmod go-w ${f}`,
    );
    check(
      (f) => {
        writeFileSync(f, 'x');
        chmodSync(f, 0o664);
        chownSync(f, 0, 100);
      },
      (f) => `writable by other users (mode 0664); fix with: chmod go-w ${f}`,
    );
    check(
      (f) => writeFileSync(f, Buffer.alloc(MAX_RULE_FILE + 1, 0x20), { mode: 0o644 }),
      () => 'larger than 1048576 bytes',
    );
    expect(MAX_RULE_FILE).toBe(1024 * 1024);
    // at the limit, and group-writable by root's group: read
    const { dir } = setup({ 'a.yaml': ' '.repeat(MAX_RULE_FILE) });
    chmodSync(join(dir, 'a.yaml'), 0o664);
    expect(read(dir).files!.map((f) => f.text.length)).toEqual([MAX_RULE_FILE]);
  });

  it('not as root refuses nothing for its owner or mode, but still reads no link', () => {
    vi.spyOn(process as { getuid: () => number }, 'getuid').mockReturnValue(1000);
    const { base, dir } = setup();
    chmodSync(base, 0o777);
    chmodSync(dir, 0o777);
    chownSync(join(dir, 'a.yaml'), 1000, 1000);
    chmodSync(join(dir, 'a.yaml'), 0o666);
    expect(read(dir).names).toEqual([
      [join(dir, 'a.yaml'), 'id: a\n'],
      [join(dir, 'b.yml'), 'id: b\n'],
    ]);
    symlinkSync(join(dir, 'a.yaml'), join(dir, 'l.yaml'));
    expect(read(dir)).toMatchObject(
      refused(join(dir, 'l.yaml'), 'a symbolic link; rule files are read only as regular files in the folder'),
    );
    expect(read(join(dir, 'a.yaml')).problems).toEqual([
      { file: join(dir, 'a.yaml'), line: null, field: '', message: 'cannot read rule folder: not a folder' },
    ]);
  });
});
