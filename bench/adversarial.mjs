#!/usr/bin/env node
// Adversarial lines against every shipped pattern: the worst time one line can cost.
//
//   npm run bench:adversarial                          the bundled rules and the benign list
//   npm run bench:adversarial -- --rules DIR [--allow-unsafe-patterns]   site rules too
//   npm run bench:adversarial -- --max-ms 50           exit 1 when a line costs more than 50 ms (default 100)
//   npm run bench:adversarial -- --no-recheck          skip recheck (its checks take most of the ~2 min)
//
// For each pattern (rule patterns, ignore patterns, multi-line continuation and end, the benign
// list's program/message/line expressions) it builds lines meant to make a backtracking matcher
// work hard, each at the line limit (64 KiB):
//   - recheck's attack string, pumped to the limit, when recheck finds the pattern vulnerable
//     (only a site rule accepted with --allow-unsafe-patterns can be);
//   - long repeats of the rule's literals (what the prefilter lets through), whole and cut short;
//   - the rule's real sample messages repeated, and pumped near misses: a prefix of the message, one
//     of its characters (or pairs) repeated to the limit, then a tail that fails the match;
//   - fills of the characters that patterns' classes and quantifiers stop at (spaces, digits,
//     colons, brackets, quotes, slashes...), alone and around each literal.
// Each candidate is timed against the pattern exactly as the engine applies it (exec/test on the
// message, or on the whole line for benign `line` expressions); the worst ones are re-timed (median
// of 5). Then the worst candidate of each rule goes through the real engine as a full log line in
// several formats (prefilter, parser, every rule), and the worst per-line time is printed.
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { check } from 'recheck';
import { loadCatalogue } from '../dist/engine/catalogue.js';
import { loadBundledBenign } from '../dist/engine/unrecognized.js';
import { Engine } from '../dist/engine/engine.js';
import { analyseStream } from '../dist/pipeline/scan-inputs.js';
import { parseLine } from '../dist/parse/line.js';
import { MAX_LINE } from '../dist/sources/lines.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const extraDirs = args.flatMap((a, i) => (a === '--rules' ? [args[i + 1]] : []));
const allowUnsafe = args.includes('--allow-unsafe-patterns');
const maxMs = Number(opt('--max-ms', '100'));
const top = Number(opt('--top', '15'));

const CTX = { zone: 'UTC', year: 2026, reference: Date.UTC(2026, 10, 21) };
const PREFIX = 'Nov 20 08:01:10 xen07 kernel: [812345.123456] ';
/** Room for a message in one line of MAX_LINE bytes after the longest prefix used below. */
const ROOM = MAX_LINE - Buffer.byteLength(PREFIX);

/** `s` repeated (or cut) to exactly n characters. */
const fill = (s, n) => (s.length === 0 ? '' : s.repeat(Math.ceil(n / s.length)).slice(0, n));
/** prefix + pump repeated + suffix, at most ROOM characters. */
const pumped = (prefix, pump, suffix) => prefix + fill(pump, Math.max(0, ROOM - prefix.length - suffix.length)) + suffix;

// ---------- what to attack ----------
const rules = loadCatalogue({ extraDirs, allowUnsafe });
const benign = loadBundledBenign();

/** Sample messages of a rule: samples/<id>.log, comments left out, prefixes stripped. */
function samplesOf(id) {
  const file = join(ROOT, 'samples', `${id}.log`);
  if (!existsSync(file)) return [];
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'));
  return [...new Set(lines.map((l) => parseLine(l, CTX).message))];
}

/** Every regex the engine runs, with what it runs on. */
const targets = [];
for (const r of rules) {
  const samples = samplesOf(r.id);
  const add = (field, re) => targets.push({ rule: r.id, field, re, on: 'message', literals: r.literals ?? [], samples });
  r.patterns.forEach((re, i) => add(`patterns.${i}`, re));
  r.ignore.forEach((re, i) => add(`ignore.${i}`, re));
  if (r.continuation) add('multiline.continuation', r.continuation);
  if (r.blockEnd) add('multiline.end', r.blockEnd);
}
for (const b of benign) {
  for (const field of ['program', 'message', 'line']) {
    if (b[field]) targets.push({ rule: `benign:${b.id}`, field, re: b[field], on: field, literals: [], samples: [] });
  }
}

// ---------- candidate lines ----------
const STOPS = [
  ' ',
  'a',
  '0',
  '9 ',
  'a ',
  ':',
  ': ',
  '(',
  ')',
  '[',
  ']',
  '/',
  '\t',
  "'",
  '"',
  '-',
  '.',
  ',',
  '=',
  'x:',
  '0x',
  '[<',
  '#',
  '\\',
];

/** The literal pieces a pattern's source holds (for fills around them), longest first. */
function sourceLiterals(re) {
  const pieces = re.source
    .replace(/\\[dDwWsSbB]/g, ' ')
    .replace(/\\(.)/g, '$1')
    .split(/[()[\]{}|?*+^$.]+/)
    .map((s) => s.trim())
    .filter((s) => s.length >= 3);
  return [...new Set(pieces)].sort((a, b) => b.length - a.length).slice(0, 4);
}

/** recheck's verdict on every pattern (8 at a time), with its attack string where it finds one. */
async function recheckAll() {
  for (let i = 0; i < targets.length; i += 8) {
    const batch = targets.slice(i, i + 8);
    const verdicts = await Promise.all(batch.map((t) => check(t.re.source, t.re.flags.replace(/[dgy]/g, ''), { timeout: 10_000 })));
    batch.forEach((t, j) => (t.verdict = verdicts[j]));
  }
}

function candidates(t) {
  const out = [];
  const push = (kind, s) => out.push({ kind, s: s.slice(0, ROOM) });
  // recheck: the attack string (of a pattern it finds vulnerable), as found and pumped to the limit
  const v = t.verdict;
  if (v?.status === 'vulnerable' && v.attack) {
    const p = v.attack.pumps[0];
    push(`recheck attack ${v.attack.pattern.slice(0, 40)}`, v.attack.string);
    if (p) push('recheck attack, pumped', pumped(p.prefix, p.pump, v.attack.suffix));
  }
  const lits = [...new Set([...t.literals, ...sourceLiterals(t.re)])];
  for (const lit of lits) {
    push(`literal "${lit}" repeated`, fill(lit, ROOM));
    push(`literal "${lit}" + space repeated`, fill(`${lit} `, ROOM));
    if (lit.length > 1) push(`literal "${lit}" cut short, repeated`, fill(lit.slice(0, -1), ROOM));
  }
  for (const m of t.samples.slice(0, 6)) {
    if (!m) continue;
    push('sample repeated', fill(`${m} `, ROOM));
    push('sample, spaces widened', m.replace(/ /g, ' '.repeat(Math.max(1, Math.floor(ROOM / m.length)))));
    const cuts = new Set();
    for (let k = 1; k < 8; k++) cuts.add(Math.floor((m.length * k) / 8));
    for (const k of cuts) {
      const tail = m.slice(k + 1, -1) + '\u0000';
      push(`sample pumped at ${k} ("${m[k]}")`, pumped(m.slice(0, k), m[k], tail));
      if (k + 2 <= m.length) push(`sample pumped at ${k} ("${m.slice(k, k + 2)}")`, pumped(m.slice(0, k), m.slice(k, k + 2), tail));
    }
  }
  for (const stop of STOPS) {
    push(`fill "${stop}"`, fill(stop, ROOM));
    for (const lit of lits.slice(0, 3)) {
      push(`"${lit}" + fill "${stop}"`, pumped(lit, stop, '\u0000'));
      push(`fill "${stop}" + "${lit}"`, pumped('', stop, lit.slice(0, -1)));
    }
  }
  return out;
}

/** One run of a pattern on a text as the engine runs it: ms. */
function timeOnce(re, s) {
  re.lastIndex = 0;
  const t0 = performance.now();
  re.exec(s);
  return performance.now() - t0;
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// ---------- pattern by pattern ----------
const started = performance.now();
if (!args.includes('--no-recheck')) await recheckAll();
const recheckSecs = (performance.now() - started) / 1000;
// Only the worst lines are kept (a few MB), so that garbage collection of the rest stays out of the timings.
const KEEP = Math.max(top, 40);
let results = [];
const worstOfRule = new Map();
let count = 0;
for (const t of targets) {
  for (const c of candidates(t)) {
    const text = t.on === 'line' ? PREFIX + c.s : t.on === 'program' ? c.s.slice(0, 64) : c.s;
    const r = { t, c, text, ms: timeOnce(t.re, text) };
    count++;
    const w = worstOfRule.get(t.rule);
    if (!t.rule.startsWith('benign:') && (!w || r.ms > w.ms)) worstOfRule.set(t.rule, r);
    if (results.length < KEEP || r.ms > results[results.length - 1].ms) {
      results.push(r);
      results.sort((a, b) => b.ms - a.ms);
      results = results.slice(0, KEEP);
    }
  }
}
// re-time the worst ones in a quiet heap: median of 5
globalThis.gc?.();
for (const r of [...results, ...worstOfRule.values()]) r.ms = median([r.ms, ...Array.from({ length: 4 }, () => timeOnce(r.t.re, r.text))]);
results.sort((a, b) => b.ms - a.ms);

const vulnerable = targets.filter((t) => t.verdict?.status === 'vulnerable');
const unknown = targets.filter((t) => t.verdict && t.verdict.status !== 'vulnerable' && t.verdict.status !== 'safe');
console.log(
  `${targets.length} patterns (${rules.length} rules, ${benign.length} benign entries), ${count} adversarial lines of up to ${MAX_LINE} bytes, ` +
    `${((performance.now() - started) / 1000).toFixed(1)} s (recheck ${recheckSecs.toFixed(1)} s: ${vulnerable.length} vulnerable, ${unknown.length} undecided)`,
);
for (const t of vulnerable)
  console.log(`  recheck: ${t.rule} ${t.field} ${t.verdict.complexity.summary}, attack ${t.verdict.attack.pattern.slice(0, 70)}`);
console.log(`\nworst lines, pattern alone (ms per line, median of 5):`);
for (const r of results.slice(0, top)) {
  console.log(`  ${r.ms.toFixed(3).padStart(9)}  ${`${r.t.rule} ${r.t.field}`.padEnd(48)}  ${r.c.kind.slice(0, 60)}`);
}

// ---------- through the real engine ----------
// The worst candidate of each rule, as full lines in several formats: prefilter, parser, every rule.
const wrap = [
  (m) => PREFIX + m,
  (m) => `(XEN) ${m}`,
  (m) => `<14>1 2026-11-20T08:01:10Z xen07 kernel - - - ${m}`,
  (m) => JSON.stringify({ MESSAGE: m, __REALTIME_TIMESTAMP: '1795161670000000', _TRANSPORT: 'kernel' }),
  (m) => m,
];
const engine = new Engine(rules, { unrecognized: true });
let engineWorst = { ms: 0, what: '' };
let engineLines = 0;
for (const r of worstOfRule.values()) {
  for (const [i, w] of wrap.entries()) {
    const line = Buffer.from(w(r.c.s) + '\n');
    const times = [];
    for (let k = 0; k < 3; k++) {
      const t0 = performance.now();
      await analyseStream(
        engine,
        (async function* () {
          yield line;
        })(),
        CTX,
        '-',
        null,
      );
      times.push(performance.now() - t0);
    }
    engineLines++;
    const ms = median(times);
    if (ms > engineWorst.ms) engineWorst = { ms, what: `${r.t.rule} ${r.t.field}, ${r.c.kind}, format ${i}` };
  }
}

const worst = results[0];
console.log(`\nworst per-line time, pattern alone: ${worst.ms.toFixed(3)} ms (${worst.t.rule} ${worst.t.field}: ${worst.c.kind})`);
console.log(`worst per-line time, whole engine (${engineLines} lines, all rules): ${engineWorst.ms.toFixed(3)} ms (${engineWorst.what})`);
const over = Math.max(worst.ms, engineWorst.ms);
if (over > maxMs) {
  console.log(`FAIL: a line costs ${over.toFixed(1)} ms, over --max-ms ${maxMs}`);
  process.exitCode = 1;
}
