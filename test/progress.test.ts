/** The progress bar: only on a terminal, never with --quiet; rate and ETA when the total is known. */
import { describe, expect, it, vi } from 'vitest';
import { progressBar } from '../src/cli/progress.js';

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  return { stream: { isTTY, write: (s: string) => writes.push(s) } as unknown as NodeJS.WriteStream, writes };
}

describe('progressBar', () => {
  it('draws bytes of total, rate and ETA on a TTY, and clears the line when done', () => {
    vi.useFakeTimers();
    const { stream, writes } = fakeStream(true);
    const bar = progressBar(stream, 100 * 1024 * 1024, true);
    vi.advanceTimersByTime(1000);
    bar.update(50 * 1024 * 1024);
    bar.done();
    vi.useRealTimers();
    expect(writes[0]).toMatch(/50% 50\.0 MB\/100\.0 MB .*\/s ETA \d+s/);
    expect(writes[writes.length - 1]).toBe('\r\x1b[K');
  });

  it('prints nothing on a pipe', () => {
    const { stream, writes } = fakeStream(false);
    const bar = progressBar(stream, 100, true);
    bar.update(50);
    bar.done();
    expect(writes).toEqual([]);
  });

  it('prints nothing with --quiet', () => {
    vi.useFakeTimers();
    const { stream, writes } = fakeStream(true);
    const bar = progressBar(stream, 100, false);
    vi.advanceTimersByTime(1000);
    bar.update(50);
    bar.done();
    vi.useRealTimers();
    expect(writes).toEqual([]);
  });
});
