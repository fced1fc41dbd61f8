#!/usr/bin/env node
// Summarise V8 CPU profiles (node --cpu-prof): the functions with the most self time.
//
//   XENDOCTOR_WORKERS=0 node --cpu-prof --cpu-prof-dir=/tmp/prof bin/xendoctor.js scan --quiet FILE
//   node bench/cpuprofile-top.mjs /tmp/prof/*.cpuprofile [--top 25]
//
// Self time is the time a function's own code ran (samples whose top frame it is); functions are keyed
// by name and source position, so two closures of one name stay apart. With several profiles (one per
// thread) the samples are added up.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

const args = process.argv.slice(2);
const ti = args.indexOf('--top');
const top = ti >= 0 ? Number(args.splice(ti, 2)[1]) : 25;
const self = new Map();
const byFile = new Map();
let total = 0;
for (const file of args) {
  const p = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  // timeDeltas[i] is the time before sample i
  const dt = p.timeDeltas ?? [];
  for (let i = 0; i < p.samples.length; i++) {
    const node = byId.get(p.samples[i]);
    const us = dt[i + 1] ?? dt[i] ?? 0;
    const cf = node.callFrame;
    const where = cf.url ? `${relative(process.cwd(), cf.url.replace(/^file:\/\//, ''))}:${cf.lineNumber + 1}` : '';
    const key = `${cf.functionName || '(anonymous)'} ${where}`.trim();
    self.set(key, (self.get(key) ?? 0) + us);
    const file = !cf.url
      ? '(vm: gc, idle, regexp, builtins)'
      : cf.url.startsWith('node:')
        ? '(node internals)'
        : where.replace(/:\d+$/, '').replace(/^.*node_modules\/([^/]+)\/.*$/, 'node_modules/$1');
    byFile.set(file, (byFile.get(file) ?? 0) + us);
    total += us;
  }
}
const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, top);
console.log(`total ${(total / 1e6).toFixed(2)} s sampled`);
for (const [k, us] of rows) console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1e6).toFixed(2).padStart(6)} s  ${k}`);
console.log('by file:');
for (const [f, us] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, 12))
  console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1e6).toFixed(2).padStart(6)} s  ${f}`);
