/**
 * `watch --xen-console`: only the new lines of the hypervisor console, across a growing, wrapping
 * and cleared ring buffer. These are unit tests with a stand-in `xl` script on PATH that prints a
 * ring buffer the test controls; the real hypervisor is covered by the lab (test/lab).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { consoleDiff, overlap, XenConsole } from '../src/sources/console.js';
import { tmp } from './helpers.js';
import { newProbes, script, sleep, startWatch, WATCH_RULES } from './watch-helpers.js';

const L = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `(XEN) line ${from + i}`);

/** A ring buffer of `size` bytes as `xl dmesg` prints it: the newest bytes, cut anywhere at the front. */
class Ring {
  text = '';
  constructor(readonly size: number) {}
  write(lines: string[]): void {
    this.text += lines.map((l) => `${l}\n`).join('');
    if (this.text.length > this.size) this.text = this.text.slice(this.text.length - this.size);
  }
  clear(): void {
    this.text = '';
  }
}

describe('console diff', () => {
  it('finds the overlap of two reads', () => {
    expect(overlap(L(1, 5), L(1, 7))).toBe(5);
    expect(overlap(L(1, 5), L(3, 9))).toBe(3);
    expect(overlap(L(1, 5), L(6, 9))).toBe(0);
    expect(overlap(['a', 'a', 'a'], ['a', 'a', 'a', 'a'])).toBe(3);
    expect(overlap(['x', 'a', 'b', 'a'], ['a', 'b', 'a', 'c'])).toBe(3);
  });

  it('gives only the new lines when the buffer grows, wraps (first line cut), is cleared or overruns', () => {
    expect(consoleDiff(L(1, 5), L(1, 8))).toEqual({ fresh: L(6, 8), kind: 'grown' });
    expect(consoleDiff(L(1, 5), L(1, 5))).toEqual({ fresh: [], kind: 'grown' });
    expect(consoleDiff(L(1, 5), L(3, 8))).toEqual({ fresh: L(6, 8), kind: 'wrapped' });
    expect(consoleDiff(L(1, 5), ['ne 3', ...L(4, 8)])).toEqual({ fresh: L(6, 8), kind: 'wrapped' });
    expect(consoleDiff(L(1, 5), L(6, 7))).toEqual({ fresh: L(6, 7), kind: 'reset' }); // cleared by xl dmesg -c
    expect(consoleDiff(['a', 'p24', 'f'], ['p25', 'f'])).toEqual({ fresh: ['p25', 'f'], kind: 'reset' }); // cleared; a whole first line
    expect(consoleDiff(L(1, 5), ['ine 10', ...L(11, 20)])).toEqual({ fresh: ['ine 10', ...L(11, 20)], kind: 'reset' }); // overrun
    expect(consoleDiff([], L(1, 2))).toEqual({ fresh: L(1, 2), kind: 'reset' });
  });

  it('reads a stand-in xl: every line once across growth, wrapping and clearing; never clears it itself', async () => {
    const dir = tmp('xd-xl-');
    const ring = new Ring(400);
    const ringFile = join(dir, 'ring');
    const args = join(dir, 'args');
    const xl = script(join(dir, 'xl'), `echo "$@" >> "${args}"; [ "$1" = dmesg ] || exit 2; cat "${ringFile}"`);
    const seen: string[] = [];
    const c = new XenConsole({
      command: xl,
      intervalMs: 60_000,
      fromStart: false,
      onLines: (l) => seen.push(...l),
      notice: () => undefined,
    });
    const read = async (lines: string[]) => {
      ring.write(lines);
      writeFileSync(ringFile, ring.text);
      await c.poll();
    };
    await read(L(1, 3)); // there before: not analysed
    await read(L(4, 6));
    await read([]);
    await read(L(7, 30)); // wraps: the front falls off, the first line is cut
    expect(ring.text.startsWith('(XEN) line')).toBe(false);
    await read(L(31, 32));
    ring.clear(); // another tool ran xl dmesg -c
    await read(L(33, 34));
    await read(L(35, 35));
    c.close();
    expect(seen).toEqual(L(4, 35));
    expect(new Set(readFileSync(args, 'utf8').trim().split('\n'))).toEqual(new Set(['dmesg']));
  });

  it('watch --xen-console reports each console signature once (stand-in xl on PATH)', async () => {
    const dir = tmp('xd-xl-');
    const ringFile = join(dir, 'ring');
    const ring = new Ring(3000);
    writeFileSync(ringFile, '(XEN) Xen version 4.17.0 (XDPROBE 1 is old)\n');
    script(join(dir, 'xl'), `cat "${ringFile}"`);
    const w = await startWatch(
      ['--format', 'ndjson', '--rules', WATCH_RULES, '--only', 'watch-probe', '--xen-console', '--interval', '100ms'],
      {
        PATH: `${dir}:${process.env.PATH}`,
      },
    );
    expect(w.err.join('\n')).toMatch(/xl dmesg every 0\.1 s/);
    // ~130 bytes per step: the 3000-byte ring wraps (twice) but never overruns between two reads,
    // as the writer waits for every fifth probe to be reported (however late a loaded machine reads)
    for (let n = 2; n <= 50; n++) {
      if (n === 25) {
        await w.until(() => newProbes(w).includes(24), 10_000, 'probe 24');
        ring.clear(); // another tool ran xl dmesg -c
      } else if (n % 5 === 0) await w.until(() => newProbes(w).includes(n - 1), 10_000, `probe ${n - 1}`);
      ring.write([
        `(XEN) [2026-11-26 04:00:${String(n).padStart(2, '0')}] d${n}v0 XDPROBE ${n}`,
        '(XEN) filler line to make the ring wrap'.repeat(2),
      ]);
      writeFileSync(ringFile, ring.text);
      await sleep(20);
    }
    expect(ring.text.startsWith('(XEN) [2026')).toBe(false); // it did wrap, in the middle of a line
    await w.until(() => newProbes(w).includes(50), 5000, 'probe 50');
    await sleep(300);
    await w.stop();
    expect(newProbes(w).join(' ')).toBe(Array.from({ length: 49 }, (_, i) => i + 2).join(' '));
    const f = w.records()[0]!;
    expect(f.host).not.toBeNull(); // the console is this host's
  });
});
