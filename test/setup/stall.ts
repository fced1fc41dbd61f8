/**
 * Names the test that blocks its worker's event loop for long. vitest 3.2's worker gives up on an
 * answer from the main process after a fixed 60 s ("[vitest-worker]: Timeout calling onTaskUpdate",
 * vitest-dev/vitest#8164), and the run then exits 1 though every test passed: on a loaded 2-core
 * machine a test that calls the binary synchronously for long enough does that, and the error does
 * not say which test. Any stretch over XD_STALL_MS (default 20 s) without the loop turning is told on
 * stderr (`[stall] ...`) and appended to XD_STALL_LOG when that is set.
 */
import { appendFileSync } from 'node:fs';
import { afterEach, beforeEach, expect } from 'vitest';

const LIMIT = Number(process.env.XD_STALL_MS ?? 20_000);
let last = performance.now();

const tell = (what: string, ms: number) => {
  const line = `${what}: the event loop did not turn for ${(ms / 1000).toFixed(1)} s\n`;
  process.stderr.write(`[stall] ${line}`);
  if (process.env.XD_STALL_LOG) appendFileSync(process.env.XD_STALL_LOG, line);
};
/** The time since the loop last turned (each stretch is measured once: by whichever of the three below sees its end). */
const tick = (): number => {
  const now = performance.now();
  const gap = now - last;
  last = now;
  return gap;
};
// a stretch that ends in a test, in a hook or between tests: named by the test vitest says is current
setInterval(() => {
  const gap = tick();
  if (gap <= LIMIT) return;
  const { currentTestName, testPath } = expect.getState();
  tell(`${testPath ?? '(a test file)'} > ${currentTestName ?? '(collection)'} (or a hook beside it)`, gap);
}, 250).unref();
// a synchronous stretch that ends with a test's body, or right before it
beforeEach((ctx) => {
  const gap = tick();
  if (gap > LIMIT) tell(`${ctx.task.file?.name ?? '?'} > before ${ctx.task.name} (a hook)`, gap);
});
afterEach((ctx) => {
  const gap = tick();
  if (gap > LIMIT) tell(`${ctx.task.file?.name ?? '?'} > ${ctx.task.name}`, gap);
});
