// Diagnostic preload: every stretch of over XD_LAG_MS (default 3000) in which the event loop of vitest's
// main process or of a test worker did not turn, with the time it ended, appended to XD_LAG_LOG
// (default /tmp/xendoctor-loop-lag.log). For "[vitest-worker]: Timeout calling onTaskUpdate" (README
// "Tests"): test/setup/stall.ts names stretches inside a worker by test; this also watches the main
// process, which must answer the worker within 60 s.
//   NODE_OPTIONS="--import $PWD/scripts/loop-lag.mjs" npx vitest run test/FILE.test.ts
// xendoctor's own processes (the tests' children) load it too and do nothing.
import { appendFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const argv = process.argv.join(' ');
const role = argv.includes('xendoctor.js') ? null : typeof process.send === 'function' ? 'worker' : argv.includes('vitest') ? 'main' : null;
if (role) {
  const log = process.env.XD_LAG_LOG ?? '/tmp/xendoctor-loop-lag.log';
  const limit = Number(process.env.XD_LAG_MS ?? 3000);
  const say = (what) => appendFileSync(log, `${new Date().toISOString()} ${role} ${process.pid} ${what}\n`);
  let last = performance.now();
  setInterval(() => {
    const now = performance.now();
    if (now - last > limit) say(`the loop did not turn for ${((now - last) / 1000).toFixed(1)} s`);
    last = now;
  }, 200).unref();
  say('start');
}
