/**
 * The per-line time budget of site patterns the linear-time engine cannot run (engine/safety.ts) is
 * CPU time, not wall time: on a loaded machine a process waits for a CPU for hundreds of ms, and a
 * match of microseconds was then cut short and its line lost (seen in watch-rotate beside two busy
 * loops: "matching the pattern ... took over 200 ms: cut short", probes 2 and 4 never reported).
 * Here the real binary is stopped for 250 ms every 50 ms (SIGSTOP/SIGCONT) while it scans: a
 * machine that busy, made deterministic.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, siteRuleDir, tmp } from './helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a budgeted site pattern on a machine that keeps the process waiting', () => {
  it('cuts no line short and loses no match', async () => {
    // a lookahead: the linear-time engine cannot run it, so every match goes through the budget
    const rules = siteRuleDir('XDPROBE \\d+(?= done)');
    const log = join(tmp('xd-budget-'), 'kern.log');
    const N = 3000;
    let text = '';
    for (let i = 0; i < N; i++) text += `Nov 20 08:00:00 xen07 kernel: [ 1.000000] XDPROBE ${i} done\n`;
    writeFileSync(log, text);
    const child = spawn(
      process.execPath,
      [BIN, '--rules', rules, '--allow-unsafe-patterns', '--only', 'site-slow', '--format', 'json', log],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, TZ: 'UTC', NO_COLOR: '1' },
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    let done = false;
    const exited = new Promise<number | null>((res) => child.on('close', (code) => ((done = true), res(code))));
    let stops = 0;
    while (!done) {
      await sleep(50);
      if (done) break;
      child.kill('SIGSTOP');
      stops++;
      await sleep(250);
      child.kill('SIGCONT');
    }
    expect(await exited).toBe(1); // a warning found
    expect(stops).toBeGreaterThan(10);
    expect(err).not.toMatch(/cut short/);
    const findings = (JSON.parse(out) as { findings: { rule: string; count: number }[] }).findings;
    expect(findings.map((f) => [f.rule, f.count])).toEqual([['site-slow', N]]);
  });
});
