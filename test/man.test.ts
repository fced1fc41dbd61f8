/**
 * The man pages made by the build (man/xendoctor.1 from the commander definitions,
 * man/xendoctor-rules.5 from docs/rule-format.md), rendered by the real man and groff: clean roff,
 * and every option `--help` shows, of every command, is in the page.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers.js';
import { xdAsync } from './report-helpers.js';

const PAGE = join(ROOT, 'man', 'xendoctor.1');
const RULES_PAGE = join(ROOT, 'man', 'xendoctor-rules.5');

/** The page as `man` shows it, without bold/underline overstrikes, on one long line per paragraph. */
function rendered(page: string): string {
  const r = spawnSync('man', ['-l', page], {
    encoding: 'utf8',
    env: { ...process.env, MANWIDTH: '250', MANPAGER: 'cat', PAGER: 'cat', LC_ALL: 'C.UTF-8', MAN_KEEP_FORMATTING: '' },
  });
  if (r.error) throw new Error(`man (Debian package man-db) is needed: ${r.error.message}`);
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.replace(/.\x08/g, '').replace(/\u2010/g, '-');
}

/** groff's warnings (all of them: -ww) for a page; none is expected. */
function groffWarnings(page: string): string {
  const r = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-z', page], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  if (r.error) throw new Error(`groff (Debian package groff-base) is needed: ${r.error.message}`);
  return r.stderr;
}

/** Every command path (`scan`, `rules list`, …) and the long options its --help lists. */
async function helpTree(): Promise<Map<string, string[]>> {
  const tree = new Map<string, string[]>();
  // asynchronously: many runs in a row must not block vitest's worker
  const walk = async (path: string[]): Promise<void> => {
    const r = await xdAsync([...path, '--help']);
    expect(r.code, r.stderr).toBe(0);
    // the sections of commander's help: "Options:" and "Commands:", each up to the next blank line
    const section = (title: string) => new RegExp(`^${title}:\n((?:.+\n)*)`, 'm').exec(r.stdout)?.[1] ?? '';
    tree.set(
      path.join(' '),
      [...section('Options').matchAll(/^ {2}(?:-\w, )?(--[\w-]+)/gm)].map((m) => m[1]!),
    );
    for (const m of section('Commands').matchAll(/^ {2}([a-z][\w-]*)/gm))
      if (m[1] !== 'help' && path.length < 3) await walk([...path, m[1]!]);
  };
  await walk([]);
  return tree;
}

describe('man pages', () => {
  it('xendoctor(1) holds every command and every option of every --help', async () => {
    expect(groffWarnings(PAGE)).toBe('');
    const text = rendered(PAGE);
    expect(text).toMatch(/^XENDOCTOR\(1\)/);
    for (const section of ['NAME', 'SYNOPSIS', 'COMMANDS', 'COMMON OPTIONS', 'EXIT STATUS', 'ENVIRONMENT', 'FILES', 'EXAMPLES', 'SEE ALSO'])
      expect(text).toMatch(new RegExp(`^${section}$`, 'm'));
    const tree = await helpTree();
    expect(tree.size).toBeGreaterThan(10);
    const missing: string[] = [];
    for (const [cmd, options] of tree) {
      if (cmd && !text.includes(`xendoctor ${cmd}`)) missing.push(`command ${cmd}`);
      for (const o of options) if (!new RegExp(`(^|[\\s,])${o}(?![\\w-])`, 'm').test(text)) missing.push(`${cmd || '(top)'}: ${o}`);
    }
    expect(missing).toEqual([]);
    // each command's examples, as its --help prints them
    expect(text).toContain('xendoctor check --root /mnt/xen07');
    // the exit codes of --help
    for (const code of ['0', '1', '2', '3']) expect(text).toMatch(new RegExp(`^ +${code} +\\S`, 'm'));
  });

  it('xendoctor-rules(5) renders docs/rule-format.md: every field of the rule schema is in it', () => {
    expect(groffWarnings(RULES_PAGE)).toBe('');
    const text = rendered(RULES_PAGE);
    expect(text).toMatch(/^XENDOCTOR-RULES\(5\)/);
    const schema = JSON.parse(readFileSync(join(ROOT, 'rules', 'rule.schema.json'), 'utf8')) as { properties: Record<string, unknown> };
    const missing = Object.keys(schema.properties).filter((k) => !new RegExp(`^\\s*${k}:`, 'm').test(text));
    expect(missing).toEqual([]);
    // headings of the doc became sections
    for (const h of readFileSync(join(ROOT, 'docs', 'rule-format.md'), 'utf8').matchAll(/^## (.+)$/gm))
      expect(text).toMatch(new RegExp(`^${h[1]!.toUpperCase().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
  });
});
