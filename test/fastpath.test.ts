/** The prefilter must not change results: every sample case gives the same findings on both paths. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCatalogue } from '../src/engine/catalogue.js';
import { parseSampleFile, runCase } from '../src/engine/samples.js';
import { requiredLiterals } from '../src/engine/literals.js';
import { ROOT } from './helpers.js';

const rules = loadCatalogue();

describe('fast path equals simple path', () => {
  const files = readdirSync(join(ROOT, 'samples')).filter((f) => f.endsWith('.log'));
  it.each(files)('%s', async (f) => {
    const cases = parseSampleFile(f, readFileSync(join(ROOT, 'samples', f), 'utf8'), []);
    for (const c of cases) {
      const fast = (await runCase(rules, c)).findings.map((x) => [x.rule, x.key, x.count]);
      const slow = (await runCase(rules, c, true)).findings.map((x) => [x.rule, x.key, x.count]);
      expect(fast, `case at line ${c.line}`).toEqual(slow);
    }
  });
});

describe('requiredLiterals', () => {
  it.each([
    ['INFO: task (?<t>\\S+):(?<pid>\\d+) blocked for more than', [' blocked for more than']],
    ['Out of memory: Kill(?:ed)? process', ['Out of memory: Kill']],
    ['^(?:foo bar|baz qux)$', ['foo bar', 'baz qux']],
    ['abc|d', null],
    ['irq (?<irq>\\d+): nobody cared', [': nobody cared']],
    ['colou?r scheme', ['r scheme']],
    ['Scrubbing\\s+Free RAM', ['Scrubbing']],
    ['a+bcdef', ['abcdef']],
    ['\\.+done\\.$', ['.done.']],
  ])('%s', (src, want) => {
    expect(requiredLiterals(src)).toEqual(want);
  });
});
