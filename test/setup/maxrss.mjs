// Preloaded into xendoctor by test/helpers.ts xdPeakRss(). Every 50 ms it collects garbage and
// samples what the process keeps alive: the V8 heap plus the memory outside it (Buffers, which
// --max-old-space-size does not bound). At exit it writes that peak and the peak resident size
// (getrusage), both in kB, to XD_MAXRSS_FILE as "<live> <rss>".
import { writeFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');
const live = () => {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.external;
};
const base = live();
let peak = 0;
setInterval(() => (peak = Math.max(peak, live() - base)), 50).unref();
process.on('exit', () => {
  peak = Math.max(peak, live() - base);
  if (process.env.XD_MAXRSS_FILE) writeFileSync(process.env.XD_MAXRSS_FILE, `${Math.round(peak / 1024)} ${process.resourceUsage().maxRSS}`);
});
