/**
 * The atomic writer (src/state/atomic.ts) through the real binary, where it can fail: the disk fills
 * while the new state is written, the state file cannot be replaced (a bind mount over it: rename
 * gives EBUSY), and state paths that are a block device, a socket or a folder. Each time: exit 3,
 * one message, the old state intact, no temporary file left. Needs root (mount, mknod), as CI runs.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, statfsSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tmp, xd } from './helpers.js';
import { blk, findingsOf } from './report-helpers.js';

const ONLY = ['--only', 'blkback-hung-task'];
const mounts: string[] = [];
const servers: Server[] = [];
afterAll(() => {
  for (const m of mounts.reverse()) spawnSync('umount', [m]);
  for (const s of servers) s.close();
});

function mount(args: string[], at: string): void {
  const m = spawnSync('mount', [...args, at]);
  expect(m.status, `mount ${args.join(' ')}: ${String(m.stderr)}`).toBe(0);
  mounts.push(at);
}

const temps = (dir: string) => readdirSync(dir).filter((n) => n.includes('.tmp-'));

describe('the state cannot be written: exit 3, the old state kept, no temporary file left', () => {
  it('the disk fills while the new state is written', () => {
    const dir = tmp('xd-atomic-');
    const log = join(dir, 'kern.log');
    writeFileSync(log, `${blk(1)}\n`);
    const small = join(dir, 'small');
    mkdirSync(small);
    mount(['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs'], small);
    const stateDir = join(small, 'state');
    mkdirSync(stateDir, { mode: 0o700 });
    const state = join(stateDir, 'state.json');
    expect(xd(['report', '--state', state, ...ONLY, log]).code).toBe(2);
    const before = readFileSync(state, 'utf8');
    // leave one block: enough for the lock, none for the new state beside the old one
    const fs = statfsSync(small);
    writeFileSync(join(small, 'fill'), Buffer.alloc(Number(fs.bavail) * Number(fs.bsize) - Number(fs.bsize)));
    appendFileSync(log, `${blk(2)}\n`);
    const r = xd(['report', '--state', state, '--format', 'json', ...ONLY, log]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/the report was delivered but the state file .* could not be written: ENOSPC/);
    expect(r.stderr).not.toMatch(/internal error| {4}at /);
    expect(readFileSync(state, 'utf8')).toBe(before);
    expect(temps(stateDir)).toEqual([]);
    expect(existsSync(`${state}.lock`)).toBe(false);
    // the next run, with room again, reports the new line again
    spawnSync('rm', [join(small, 'fill')]);
    const again = xd(['report', '--state', state, '--format', 'json', ...ONLY, log]);
    expect(findingsOf(again.stdout).map((f) => f.key.pid)).toEqual(['2']);
  });

  it('the state file cannot be replaced (a bind mount over it: EBUSY)', () => {
    const dir = tmp('xd-atomic-');
    const log = join(dir, 'kern.log');
    writeFileSync(log, `${blk(1)}\n`);
    const stateDir = join(dir, 'state');
    mkdirSync(stateDir, { mode: 0o700 });
    const state = join(stateDir, 'state.json');
    expect(xd(['report', '--state', state, ...ONLY, log]).code).toBe(2);
    const before = readFileSync(state, 'utf8');
    const other = join(dir, 'other.json');
    writeFileSync(other, before);
    mount(['--bind', other], state);
    appendFileSync(log, `${blk(2)}\n`);
    const r = xd(['report', '--state', state, '--format', 'json', ...ONLY, log]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/the state file .* could not be written: EBUSY/);
    expect(readFileSync(state, 'utf8')).toBe(before);
    expect(temps(stateDir)).toEqual([]);
  });
});

describe('a state path that is not a regular file is refused, and left as it is', () => {
  it('a block device, a socket, a folder', async () => {
    const dir = tmp('xd-atomic-');
    const log = join(dir, 'kern.log');
    writeFileSync(log, `${blk(1)}\n`);
    const stateDir = join(dir, 'state');
    mkdirSync(stateDir, { mode: 0o700 });
    const block = join(stateDir, 'block');
    expect(spawnSync('mknod', [block, 'b', '7', '200']).status).toBe(0); // a loop device number, made here only
    const sock = join(stateDir, 'sock');
    const server = createServer();
    servers.push(server);
    await new Promise<void>((res) => server.listen(sock, res));
    const folder = join(stateDir, 'folder');
    mkdirSync(folder);
    for (const [path, kind] of [
      [block, 'a block device'],
      [sock, 'a socket'],
      [folder, 'a folder'],
    ] as const) {
      const before = lstatSync(path);
      const r = xd(['report', '--state', path, ...ONLY, log]);
      expect(r.code, kind).toBe(3);
      expect(r.stderr).toContain(`the state file ${path} is ${kind}, not a regular file: refused`);
      const after = lstatSync(path);
      expect([after.ino, after.mode, after.rdev]).toEqual([before.ino, before.mode, before.rdev]);
    }
    expect(temps(stateDir)).toEqual([]);
  });
});
