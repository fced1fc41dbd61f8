/**
 * Lets the worker's event loop turn before every test, and names any stretch of over XD_STALL_MS
 * (default 20 s) in which it did not.
 *
 * vitest 3.2's worker gives up on an answer from the main process 60 s after asking
 * ("[vitest-worker]: Timeout calling onTaskUpdate", vitest-dev/vitest#8164) and the run then exits 1
 * though every test passed. The answer arrives in time, but the worker reads it only when its loop
 * turns, and vitest runs one test after another without a turn: a file of synchronous tests (each
 * running the binary with spawnSync) holds the loop for the sum of them. Ten such tests of 8 s on a
 * loaded machine are one stretch of 80 s, and the timer set when the first one ended fires before the
 * answer is read. Turning the loop before each test bounds a stretch by one test (and its hooks).
 *
 * A stretch is measured from the loop's last turn, so the figure is the one vitest's timer sees. It is
 * told on stderr (`[stall] ...`) and appended to XD_STALL_LOG when that is set, naming the test in which
 * it ended.
 */
import { appendFileSync } from 'node:fs';
import { afterEach, beforeEach, expect } from 'vitest';

const LIMIT = Number(process.env.XD_STALL_MS ?? 20_000);
/** When the loop last turned, and the start of the last stretch that was told (told once). */
let turned = performance.now();
let told = -1;

const check = (where: () => string): void => {
  const gap = performance.now() - turned;
  if (gap <= LIMIT || told === turned) return;
  told = turned;
  const line = `${where()}: the event loop did not turn for ${(gap / 1000).toFixed(1)} s\n`;
  process.stderr.write(`[stall] ${line}`);
  if (process.env.XD_STALL_LOG) appendFileSync(process.env.XD_STALL_LOG, line);
};
const turn = (): void => {
  turned = performance.now();
};

// The loop turns: a stretch that ends in a test, in a hook or between tests, named by the test vitest
// says is current.
setInterval(() => {
  check(() => {
    const { currentTestName, testPath } = expect.getState();
    return `${testPath ?? '(a test file)'} > ${currentTestName ?? '(collection)'} (or a hook beside it)`;
  });
  turn();
}, 250).unref();

/** Two turns of the loop: the second begins with a poll for I/O, where the main process's answers are read. */
const twoTurns = () => new Promise<void>((done) => setImmediate(() => setImmediate(done)));

beforeEach(async (ctx) => {
  // a stretch that ended here: the test before and the hooks between
  check(() => `${ctx.task.file?.name ?? '?'} > before ${ctx.task.name} (the test before it, or a hook)`);
  await twoTurns();
  turn();
});
afterEach((ctx) => check(() => `${ctx.task.file?.name ?? '?'} > ${ctx.task.name}`));
