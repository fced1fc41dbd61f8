#!/usr/bin/env node
// One follower under test, in its own process (so that its peak RSS is its own), for
// bench/followers.mjs. Usage: node bench/follower-child.mjs xendoctor|tail-file|logdna PATH
// Prints "ready" once following; on "stop" (a line on stdin) stops the follower and prints one JSON
// line: { lines, seqs (unique, sorted), dups, lat: [ms...] sampled, hwmKb, errors }.
// The lines written by the bench begin with "L<seq> <ms since the epoch> ".
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const [impl, path] = process.argv.slice(2);

const seen = new Map();
let lines = 0;
let dups = 0;
const lat = [];
const errors = new Set();
const now = () => performance.timeOrigin + performance.now();

/** One line as a string (or the first bytes of a Buffer line: enough to read its sequence number). */
function onLine(text) {
  lines++;
  const m = /^L(\d+) (\d+(?:\.\d+)?) /.exec(text);
  if (!m) return;
  const seq = Number(m[1]);
  const n = seen.get(seq) ?? 0;
  if (n > 0) dups++;
  seen.set(seq, n + 1);
  if (lat.length < 200_000) lat.push(now() - Number(m[2]));
}

/** Splits a byte stream into lines for the libraries that hand out chunks, not lines. */
function chunkSplitter() {
  let carry = [];
  return {
    push(chunk) {
      const s = chunk.toString('utf8');
      if (!s.includes('\n')) {
        carry.push(s); // a long line: joined once it ends, not at every chunk
        return;
      }
      const parts = s.split('\n');
      parts[0] = carry.join('') + parts[0];
      carry = [parts.pop()];
      for (const p of parts) onLine(p);
    },
    flush() {
      const rest = carry.join('');
      if (rest) onLine(rest);
      carry = [];
    },
  };
}

let stop;
if (impl === 'xendoctor') {
  const { FileFollower } = await import(join(ROOT, 'dist', 'sources', 'follow.js'));
  const f = new FileFollower(
    [path],
    {
      line: (_src, buf, s, e) => onLine(buf.toString('latin1', s, Math.min(e, s + 64))),
      notice: (_src, msg, kind) => {
        if (kind === 'problem') errors.add(msg);
      },
    },
    { fromStart: false },
  );
  await f.start();
  stop = () => f.close();
} else if (impl === 'tail-file') {
  const Tail = require('tail-file');
  // force: wait for a file that is not there yet (its README's option for that)
  const t = new Tail(path, { force: true });
  t.on('line', (l) => onLine(l));
  t.on('error', (e) => errors.add(String(e?.message ?? e)));
  await t.startP().catch((e) => errors.add(`start: ${e?.code ?? e?.message ?? e}`));
  stop = () => t.stop();
} else if (impl === 'logdna') {
  const { default: TailFile } = await import('@logdna/tail-file').then((m) => ({ default: m.default ?? m }));
  // its default poll is 1000 ms; 250 ms gives it a better chance to see each rotation
  const t = new TailFile(path, { pollFileIntervalMs: 250 });
  const sp = chunkSplitter();
  t.on('data', (c) => sp.push(c));
  t.on('tail_error', (e) => errors.add(String(e?.code ?? e?.message ?? e)));
  await t.start().catch((e) => errors.add(`start: ${e?.code ?? e?.message ?? e}`));
  stop = async () => {
    await t.quit().catch(() => undefined);
    sp.flush();
  };
} else {
  console.error(`unknown follower ${impl}`);
  process.exit(2);
}

process.stdout.write('ready\n');
// progress for the bench's settling: lines seen so far
const progress = setInterval(() => process.stderr.write(`p ${lines}\n`), 200);
let input = '';
process.stdin.on('data', async (d) => {
  input += d;
  if (!input.includes('stop')) return;
  process.stdin.pause();
  clearInterval(progress);
  await Promise.race([stop(), new Promise((r) => setTimeout(r, 3000))]);
  const hwm = Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? NaN);
  const seqs = [...seen.keys()].sort((a, b) => a - b);
  process.stdout.write(JSON.stringify({ lines, seqs, dups, lat, hwmKb: hwm, errors: [...errors] }) + '\n', () => process.exit(0));
});
