/**
 * The systemd journal read incrementally for `xendoctor report`: `journalctl -o json` after the cursor
 * stored by the last run (`--after-cursor`), the current boot on the first run. The cursor of the last
 * record read (its `__CURSOR` field) is kept for the next run. A stored cursor that the journal no
 * longer knows (vacuumed, or another machine's) falls back to the current boot, with a note.
 */
import { spawn } from 'node:child_process';
import type { Input } from './inputs.js';

const CURSOR = Buffer.from('"__CURSOR":"');
const NL = 10;
/** What a cursor looks like (s=…;i=…;b=…;m=…;t=…;x=…). */
export const VALID_CURSOR = /^[A-Za-z0-9=;:_+/.-]{1,512}$/;

export class JournalInput implements Input {
  readonly kind = 'command' as const;
  readonly size = null;
  readonly host = null;
  readonly name: string;
  /** The cursor of the last record read (the stored one until a record is read). */
  cursor: string | null;
  /** Set when the stored cursor could not be used. */
  note: string | null = null;

  constructor(
    readonly command: string,
    readonly after: string | null,
    readonly mtime: number,
    /** How long journalctl may stay silent before it is killed (ms): a hung journald must not hold the lock for hours. */
    readonly silenceMs = 60_000,
  ) {
    this.name = 'journalctl';
    this.cursor = after;
  }

  private args(after: string | null): string[] {
    const a = ['-o', 'json', '--no-pager', '-q'];
    if (after) a.push(`--after-cursor=${after}`);
    else a.push('-b');
    return a;
  }

  private async *run(after: string | null): AsyncGenerator<Buffer, { code: number | null; stderr: string; yielded: boolean }> {
    const child = spawn(this.command, this.args(after), { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 2000) stderr += d.toString('utf8');
    });
    const exited = new Promise<number | null>((res, rej) => {
      child.on('error', rej);
      child.on('close', (code) => res(code));
    });
    // a program that cannot be run rejects before the output is read: handled where it is awaited below,
    // not an unhandled rejection meanwhile (which ended the run with a stack trace)
    exited.catch(() => undefined);
    let pending: Buffer = Buffer.alloc(0);
    let yielded = false;
    let silent = false;
    let timer: NodeJS.Timeout | undefined;
    const watchdog = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        silent = true;
        child.kill('SIGKILL');
      }, this.silenceMs);
    };
    watchdog();
    try {
      for await (const chunk of child.stdout) {
        watchdog();
        const c = chunk as Buffer;
        const data = pending.length ? Buffer.concat([pending, c]) : c;
        const lastNl = data.lastIndexOf(NL);
        if (lastNl >= 0) {
          const at = data.lastIndexOf(CURSOR, lastNl);
          if (at >= 0) {
            const from = at + CURSOR.length;
            const to = data.indexOf(34 /* " */, from);
            const cur = to > from && to < lastNl ? data.toString('latin1', from, to) : '';
            if (VALID_CURSOR.test(cur)) this.cursor = cur;
          }
          pending = Buffer.from(data.subarray(lastNl + 1));
        } else pending = data;
        yielded = true;
        yield c;
      }
    } catch (e) {
      child.kill('SIGTERM');
      throw e;
    } finally {
      clearTimeout(timer);
    }
    const code = await exited.catch((e: NodeJS.ErrnoException) => {
      throw new Error(`cannot run ${this.command}: ${e.code ?? e.message}`);
    });
    if (silent) throw new Error(`${this.command} gave no output for ${Math.round(this.silenceMs / 1000)} s: stopped`);
    return { code, stderr, yielded };
  }

  async *open(): AsyncGenerator<Buffer> {
    let r = yield* this.run(this.after);
    if (r.code !== 0 && this.after && !r.yielded) {
      this.note = `the journal cursor stored by the last run is no longer valid (${r.stderr.trim().split('\n')[0] || `status ${r.code}`}): read the current boot instead; entries may be missing or repeated`;
      this.cursor = null;
      r = yield* this.run(null);
    }
    if (r.code !== 0)
      throw new Error(`journalctl exited with status ${r.code}${r.stderr.trim() ? `: ${r.stderr.trim().split('\n')[0]}` : ''}`);
  }
}
