/** A progress bar on stderr (bytes of total, rate, ETA), only on a terminal and never with --quiet. */

export interface Progress {
  update(bytes: number): void;
  done(): void;
}

const NOOP: Progress = { update: () => undefined, done: () => undefined };

function human(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

/** A bar when `stream` is a TTY and `enabled`; otherwise a no-op. `total` may be unknown (null). */
export function progressBar(stream: NodeJS.WriteStream, total: number | null, enabled: boolean): Progress {
  if (!enabled || !stream.isTTY) return NOOP;
  const start = Date.now();
  let lastDraw = 0;
  let shown = false;
  return {
    update(bytes) {
      const now = Date.now();
      if (now - lastDraw < 200 || now - start < 500) return;
      lastDraw = now;
      shown = true;
      const secs = (now - start) / 1000;
      const rate = bytes / secs;
      let line = `${human(bytes)}`;
      if (total && total > 0) {
        const frac = Math.min(1, bytes / total);
        const width = 30;
        const fill = Math.round(frac * width);
        const eta = rate > 0 ? Math.max(0, (total - bytes) / rate) : 0;
        line = `[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${(frac * 100).toFixed(0)}% ${human(bytes)}/${human(total)} ${human(rate)}/s ETA ${eta.toFixed(0)}s`;
      } else {
        line += ` ${human(rate)}/s`;
      }
      stream.write(`\r${line}\x1b[K`);
    },
    done() {
      if (shown) stream.write('\r\x1b[K');
    },
  };
}
