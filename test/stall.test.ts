/**
 * test/setup/stall.ts: the worker's event loop turns between tests, so that vitest's 60 s timer on its
 * last report to the main process never outlasts one test; and a stretch longer than XD_STALL_MS is
 * told, naming the test, measured from the loop's last turn.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnAsync } from './helpers.js';

let immediates = 0;
describe('between two synchronous tests', () => {
  it('a test that leaves a callback for the next turn of the loop', () => {
    setImmediate(() => immediates++);
    expect(immediates).toBe(0);
  });
  it('the next test runs after that turn', () => {
    expect(immediates).toBe(1);
  });
});

const ROOT = join(import.meta.dirname, '..');
/** vitest on test/fixtures/stall with the monitor's bound at 2.5 s (awaited: this worker's loop turns meanwhile). */
const fixtureRun = async (tests: number, seconds: number) => {
  const r = await spawnAsync(
    process.execPath,
    [join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', '--config', join(ROOT, 'test/fixtures/stall/vitest.config.ts')],
    {
      cwd: ROOT,
      env: { ...process.env, XD_STALL_MS: '2500', XD_FIXTURE_TESTS: String(tests), XD_FIXTURE_SLEEP: String(seconds), NO_COLOR: '1' },
    },
  );
  return { code: r.code, out: `${r.stdout}\n${r.stderr}` };
};

describe('the stall monitor', () => {
  it('three tests holding the loop 1 s each: three stretches of 1 s, none told', async () => {
    // without the turns between tests they are one stretch of 3 s, told before the third test
    const r = await fixtureRun(3, 1);
    expect(r.out).toMatch(/3 passed/);
    expect(r.out).not.toContain('[stall]');
    expect(r.code).toBe(0);
  });

  it('one test holding the loop 3.5 s: told once, with the test named', async () => {
    const r = await fixtureRun(1, 3.5);
    expect(r.out).toMatch(/1 passed/);
    const told = r.out.split('\n').filter((l) => l.startsWith('[stall]'));
    expect(told).toHaveLength(1);
    expect(told[0]).toMatch(/^\[stall\] block\.fixture\.ts > holds the loop 3\.5 s \(#1\): the event loop did not turn for 3\.\d s$/);
    expect(r.code).toBe(0);
  });
});
