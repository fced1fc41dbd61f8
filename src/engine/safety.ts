/**
 * Catastrophic backtracking: recheck's verdict on a regular expression, with verdicts that come from
 * its fuzzer (not from its automata proof) confirmed by timing the attack it found, grown up to the
 * longest line xendoctor matches. A pattern is unsafe when that attack takes more than a moment.
 */
import { createRequire } from 'node:module';
import { MAX_LINE } from '../sources/lines.js';

const lazyRequire = createRequire(import.meta.url);

/** Longest a single match may take on an attack string before the pattern counts as unsafe. */
const SLOW_MS = 100;

interface Pump {
  prefix: string;
  pump: string;
}

/** Time one search of `re` over the attack string with each pump repeated `k` times. */
function timeAttack(re: RegExp, pumps: Pump[], suffix: string, k: number): { ms: number; length: number } {
  const s = pumps.map((p) => p.prefix + p.pump.repeat(k)).join('') + suffix;
  const t = performance.now();
  re.exec(s);
  return { ms: performance.now() - t, length: s.length };
}

/** A fuzzer's attack is real when growing it makes one search slow before the line-length cap. */
function attackIsSlow(source: string, flags: string, pumps: Pump[], suffix: string): boolean {
  if (pumps.length === 0 || pumps.every((p) => p.pump.length === 0)) return false;
  const re = new RegExp(source, flags);
  for (let k = 8; ; k *= 2) {
    const { ms, length } = timeAttack(re, pumps, suffix, k);
    if (ms > SLOW_MS) return true;
    if (length > MAX_LINE) return false;
  }
}

type Diagnostics = ReturnType<typeof import('recheck').checkSync>;

/** The risk in a recheck result (sync or async check), or null when there is none. */
export function riskOf(source: string, flags: string, r: Diagnostics): string | null {
  if (r.status !== 'vulnerable') return null;
  if (r.complexity.isFuzz && !attackIsSlow(source, flags, r.attack.pumps, r.attack.suffix)) return null;
  return `can backtrack catastrophically (${r.complexity.type}); attack string: ${JSON.stringify(r.attack.string.slice(0, 60))}`;
}

/** Why a pattern is unsafe (complexity and an attack string), or null when it is safe. */
export function backtrackingRisk(source: string, flags: string, timeoutMs = 5000): string | null {
  const { checkSync } = lazyRequire('recheck') as typeof import('recheck');
  return riskOf(source, flags, checkSync(source, flags, { timeout: timeoutMs, randomSeed: 42 }));
}
