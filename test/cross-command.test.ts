/**
 * One line, one verdict: every sample case and every real-world fixture goes through the pipelines
 * of `scan`, `timeline`, `watch` and `explain`, and all four find the same rules with the same keys
 * (explain with thresholds set aside; watch may have announced a finding whose version gate a
 * later line closed).
 * (They all read lines through Engine.read; before, each had its own copy of the step and they
 * disagreed: an rsyslog line without its tag's colon, a journal message given as bytes.) The two
 * inputs of issue 15 also go through the real binary.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCatalogue, type Rule } from '../src/engine/catalogue.js';
import { parseSampleFile, SAMPLE_NOW, type SampleProblem } from '../src/engine/samples.js';
import { scanInputs } from '../src/pipeline/scan-inputs.js';
import { buildTimeline } from '../src/timeline/collect.js';
import { LiveAnalyser } from '../src/live/analyser.js';
import { matchLines } from '../src/kb/match.js';
import type { Input } from '../src/sources/inputs.js';
import type { Finding } from '../src/types.js';
import { json, ROOT, turn, xd } from './helpers.js';

const rules = loadCatalogue();
/** The catalogue without thresholds: what `explain` matches a pasted line against. */
const loose: Rule[] = rules.map((r) => ({ ...r, threshold: null }));

/** A finding as the four commands can all tell it: rule and key (watch sees no host adoption, which is done at the end). */
const named = (f: Finding) =>
  `${f.rule} ${JSON.stringify(
    Object.keys(f.key)
      .sort()
      .map((k) => [k, f.key[k]]),
  )}`;
const set = (fs: Finding[]) => [...new Set(fs.map(named))].sort();

function memoryInput(name: string, text: string): Input {
  const buf = Buffer.from(text, 'utf8');
  return {
    name,
    kind: 'file',
    mtime: SAMPLE_NOW,
    size: buf.length,
    host: null,
    open: async function* () {
      yield buf;
    },
  };
}

const OPTS = { zone: 'UTC', year: null, workers: 0, unrecognized: false };

async function viaScan(name: string, text: string, catalogue: Rule[]): Promise<string[]> {
  return set((await scanInputs([memoryInput(name, text)], [], catalogue, OPTS)).findings);
}

async function viaTimeline(name: string, text: string): Promise<string[]> {
  return set((await buildTimeline([memoryInput(name, text)], [], rules, OPTS)).findings);
}

function viaWatch(name: string, text: string): string[] {
  const announced: Finding[] = [];
  const live = new LiveAnalyser(rules, {
    zone: 'UTC',
    year: null,
    minSeverity: 'info',
    repeatIntervalMs: 60_000,
    forgetMs: 86_400_000,
    recycleMs: 0,
    onNew: (f) => announced.push(f),
    onRepeat: () => undefined,
    notice: () => undefined,
    now: () => SAMPLE_NOW,
  });
  const src = { name, host: null };
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  lines.forEach((l, i) => {
    const buf = Buffer.from(l, 'utf8');
    live.line(src, buf, 0, buf.length, i + 1);
  });
  live.stop();
  return set(announced);
}

function viaExplain(text: string): string[] {
  const lines = text.split('\n').filter((l) => l !== '');
  return set(matchLines(lines, rules, SAMPLE_NOW).map((m) => m.finding));
}

interface Case {
  name: string;
  text: string;
}

function sampleCases(): Case[] {
  const dir = join(ROOT, 'samples');
  const problems: SampleProblem[] = [];
  const out: Case[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.log'))) {
    for (const c of parseSampleFile(file, readFileSync(join(dir, file), 'utf8'), problems))
      out.push({ name: `${file}:${c.line}`, text: c.lines.join('\n') + '\n' });
  }
  expect(problems).toEqual([]);
  return out;
}

function fixtureCases(): Case[] {
  const dir = join(ROOT, 'test', 'fixtures', 'realworld');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.log'))
    .map((f) => ({
      name: f,
      text:
        readFileSync(join(dir, f), 'utf8')
          .split('\n')
          .filter((l) => !l.startsWith('#'))
          .join('\n') + '\n',
    }));
}

async function sameEverywhere(c: Case): Promise<void> {
  const scan = await viaScan(c.name, c.text, rules);
  expect(await viaTimeline(c.name, c.text), `timeline of ${c.name}`).toEqual(scan);
  // watch announces a finding when its line arrives; a version gate ruled out by a later line
  // (the RAM line after the command line on a serial console) cannot take it back: the only
  // difference allowed, and only for rules with a gate
  const watch = viaWatch(c.name, c.text);
  const gated = new Set(rules.filter((r) => r.spec.applies).map((r) => r.id));
  expect(
    watch.filter((w) => !scan.includes(w) && !gated.has(w.split(' ')[0]!)),
    `watch of ${c.name}`,
  ).toEqual([]);
  expect(
    scan.filter((f) => !watch.includes(f)),
    `watch of ${c.name}`,
  ).toEqual([]);
  // explain sets thresholds aside (one line shows whether a rule recognises it): scan likewise
  expect(viaExplain(c.text), `explain of ${c.name}`).toEqual(await viaScan(c.name, c.text, loose));
}

describe('scan, timeline, watch and explain give the same findings', () => {
  it('on every sample case', async () => {
    const cases = sampleCases();
    expect(cases.length).toBeGreaterThan(100);
    for (const c of cases) {
      await sameEverywhere(c);
      await turn();
    }
  }, 300_000);

  it('on every real-world fixture', async () => {
    const cases = fixtureCases();
    expect(cases.length).toBeGreaterThan(50);
    for (const c of cases) {
      await sameEverywhere(c);
      await turn();
    }
  }, 300_000);
});

describe('the two inputs of issue 15, through the binary', () => {
  const rsyslog = 'Nov 20 08:01:10 xen07 xl Error: Unable to connect to xend: No such file or directory. Is xend running?\n';
  const bytes = [
    ...Buffer.concat([
      Buffer.from('watchdog: BUG: soft lockup - CPU#4 stuck for 22s! [qemu-dm'),
      Buffer.from([0xff]),
      Buffer.from(':4242]'),
    ]),
  ];
  const journal =
    JSON.stringify({
      __REALTIME_TIMESTAMP: '1795161670000000',
      _HOSTNAME: 'xen07',
      _TRANSPORT: 'kernel',
      SYSLOG_IDENTIFIER: 'kernel',
      MESSAGE: bytes,
    }) + '\n';

  for (const [what, input, rule] of [
    ['an rsyslog line whose tag lost its colon', rsyslog, 'xend-not-running'],
    ['a journal record whose MESSAGE is a byte array', journal, 'soft-lockup'],
  ] as const) {
    it(`${what}: ${rule} in scan, timeline and explain`, async () => {
      for (const cmd of ['scan', 'timeline']) {
        const r = xd([cmd, '--format', 'json', '-'], input);
        expect(
          json(r).findings.map((f) => f.rule),
          cmd,
        ).toEqual([rule]);
      }
      const e = xd(['explain', '--format', 'json', input.trimEnd()]);
      expect(
        (JSON.parse(e.stdout) as { matched: { rule: string }[] }).matched.map((m) => m.rule),
        'explain',
      ).toEqual([rule]);
      expect(viaWatch('-', input)).toEqual(await viaScan('-', input, rules));
    }, 60_000);
  }
});
