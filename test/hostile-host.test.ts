/**
 * The hostile host (issue 14): xendoctor runs as root from cron and systemd on hosts where other
 * users, guests and remote syslog senders write the text it reads. Each `describe` below is one
 * attack that once worked, numbered as in the issue, run through the real binary; together they are
 * the threat list that README "Running as root: what xendoctor promises" states. (The attacks that
 * already held — escapes, HTML and header injection, `--exec` injection, symlinked state and
 * textfile targets, stale locks, ReDoS classics, kill -9 in `report`, rotations — are in the other
 * test files.) Device nodes are made with mknod in a temp folder, never the host's own.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, tmp, xd } from './helpers.js';
import { blk, findingsOf } from './report-helpers.js';

const ONLY = ['--only', 'blkback-hung-task,xen-unknown-boot-parameter'];

/** A character device made in a temp folder: (1,3) is what /dev/null is, (1,5) /dev/zero, (1,7) /dev/full. */
function mknod(path: string, major: number, minor: number): string {
  const r = spawnSync('mknod', [path, 'c', String(major), String(minor)]);
  if (r.status !== 0) throw new Error(`mknod ${path}: ${String(r.stderr)}`);
  return path;
}

function mkfifo(path: string): string {
  const r = spawnSync('mkfifo', [path]);
  if (r.status !== 0) throw new Error(`mkfifo ${path}: ${String(r.stderr)}`);
  return path;
}

/** The device numbers and kind of a path, to show it was left exactly as it was. */
function identity(path: string): string {
  const st = lstatSync(path);
  return `${st.isCharacterDevice() ? 'chr' : st.isFIFO() ? 'fifo' : st.isFile() ? 'file' : 'other'} ${st.rdev} ${st.ino}`;
}

function setup(): { dir: string; log: string; stateDir: string; state: string } {
  const dir = tmp('xd-hostile-');
  const log = join(dir, 'kern.log');
  const stateDir = join(dir, 'state');
  mkdirSync(stateDir, { mode: 0o700 });
  writeFileSync(log, `${blk(1)}\n`);
  return { dir, log, stateDir, state: join(stateDir, 'state.json') };
}

describe('1. a device node or FIFO given as a path is never renamed, replaced or written (exit 3)', () => {
  it('report --state on a device node or a FIFO', () => {
    const { log, stateDir } = setup();
    for (const node of [mknod(join(stateDir, 'null'), 1, 3), mkfifo(join(stateDir, 'fifo'))]) {
      const before = identity(node);
      const r = xd(['report', '--state', node, ...ONLY, log]);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/is a (character device|FIFO), not a regular file: refused/);
      expect(identity(node)).toBe(before);
      expect(existsSync(`${node}.lock`)).toBe(false);
    }
  });

  it('report --textfile and the ack file on a device node; the lock on a FIFO', () => {
    const { log, stateDir, state } = setup();
    const dev = mknod(join(stateDir, 'metrics.prom'), 1, 3);
    let r = xd(['report', '--state', state, '--textfile', dev, ...ONLY, log]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/metrics file .* is a character device/);
    expect(identity(dev)).toMatch(/^chr /);
    expect(existsSync(state)).toBe(false);

    const acks = mknod(join(stateDir, 'acks'), 1, 5); // a /dev/zero would never end
    r = xd(['report', '--state', state, ...ONLY, log]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/ack file .* is a character device/);
    expect(identity(acks)).toMatch(/^chr /);
    r = xd(['ack', '--state', state, '0123456789abcdef']);
    expect(r.code).toBe(3);
    expect(identity(acks)).toMatch(/^chr /);
    spawnSync('rm', [acks]);

    const fifo = mkfifo(`${state}.lock`);
    r = xd(['report', '--state', state, '--wait', '0', ...ONLY, log], undefined, { timeout: 20_000 });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/lock file .* is a FIFO/);
    expect(identity(fifo)).toMatch(/^fifo /);
  });

  it('baseline learn --state on a device node', () => {
    const { log, stateDir } = setup();
    const dev = mknod(join(stateDir, 'baseline.json'), 1, 3);
    const before = identity(dev);
    const r = xd(['baseline', 'learn', '--state', dev, log]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/baseline file .* is a character device/);
    expect(identity(dev)).toBe(before);
  });
});

describe('3. report: stdout that fails (closed pipe, full disk) marks nothing as read', () => {
  it('a full disk on stdout: exit 3, a message, no state', () => {
    const { log, stateDir, state } = setup();
    const full = mknod(join(stateDir, 'full'), 1, 7);
    const out = spawnSync('sh', ['-c', `exec node "${BIN}" report --state "${state}" ${ONLY.join(' ')} "${log}" > "${full}"`], {
      encoding: 'utf8',
    });
    expect(out.status).toBe(3);
    expect(out.stderr).toMatch(/could not write the report to standard output: .*ENOSPC/);
    expect(existsSync(state)).toBe(false);
    // the next run to a working stdout reports the finding
    const r = xd(['report', '--state', state, '--format', 'json', ...ONLY, log]);
    expect(findingsOf(r.stdout)).toHaveLength(1);
  });

  it('a reader that closes the pipe early: exit 3, nothing marked as read', async () => {
    const { log, state } = setup();
    // enough findings for a report far larger than a pipe's buffer
    writeFileSync(log, Array.from({ length: 3000 }, (_, i) => blk(i + 1)).join('\n') + '\n');
    const child = spawn(process.execPath, [BIN, 'report', '--state', state, '--format', 'json', ...ONLY, log], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += String(d)));
    child.stdout.once('data', () => child.stdout.destroy()); // `| head -c 100`
    const code = await new Promise<number | null>((res) => child.on('close', (c) => res(c)));
    expect(code).toBe(3);
    expect(stderr).toMatch(/could not write the report to standard output: .*EPIPE/);
    expect(existsSync(state)).toBe(false);
  });
});

describe('10. the acks file is trusted only as strictly as the state file', () => {
  it('a world-writable acks file, or a symlink, silences nothing and shows nothing', () => {
    const { log, stateDir, state } = setup();
    const first = xd(['report', '--state', state, '--format', 'json', ...ONLY, log]);
    const id = findingsOf(first.stdout)[0]!.id;
    writeFileSync(log, `${blk(1)}\n${blk(1)}\n`);
    const acks = join(stateDir, 'acks');
    writeFileSync(acks, `${id} 2099-01-01T00:00:00Z planted\n`);
    chmodSync(acks, 0o666);
    let r = xd(['report', '--state', state, '--format', 'json', ...ONLY, log]);
    expect(r.stderr).toMatch(/ack file .* writable by other users.*: not trusted/);
    expect(findingsOf(r.stdout).map((f) => f.id)).toEqual([id]);

    // a symlink to a root-only file: its contents never reach stderr (mailed by cron)
    const secret = join(stateDir, '..', 'secret');
    writeFileSync(secret, 'root:SECRET-HASH:19000:0:99999:7:::\n', { mode: 0o600 });
    spawnSync('rm', [acks]);
    symlinkSync(secret, acks);
    writeFileSync(log, `${blk(1)}\n${blk(1)}\n${blk(1)}\n`);
    r = xd(['report', '--state', state, '--format', 'json', ...ONLY, log]);
    expect(r.stderr).toMatch(/ack file .* is a symbolic link: not trusted/);
    expect(r.stderr).not.toContain('SECRET');
  });

  it('a state folder that others can write is refused', () => {
    const { log, stateDir, state } = setup();
    chmodSync(stateDir, 0o777);
    const r = xd(['report', '--state', state, ...ONLY, log]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/can be written by other users .*: refused/);
    expect(existsSync(state)).toBe(false);
  });
});

describe('15. disk full while creating the lock: a clear message, no empty lock left', () => {
  const mounts: string[] = [];
  afterAll(() => {
    for (const m of mounts) spawnSync('umount', [m]);
  });
  it('ENOSPC on the lock', () => {
    const { log } = setup();
    const small = tmp('xd-full-');
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16k,mode=0700', 'tmpfs', small]);
    expect(m.status, String(m.stderr)).toBe(0);
    mounts.push(small);
    mkdirSync(join(small, 'state'), { mode: 0o700 });
    // fill it to the last block
    spawnSync('sh', ['-c', `cat /dev/zero > "${join(small, 'fill')}"`]);
    const state = join(small, 'state', 'state.json');
    const r = xd(['report', '--state', state, ...ONLY, log]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/cannot (write|create) the lock file .*(ENOSPC|no space)/i);
    expect(r.stderr).not.toMatch(/internal error|    at /);
    expect(existsSync(`${state}.lock`)).toBe(false);
  });
});

describe('16. a schema-valid but inconsistent state is set aside as corrupt, not a crash', () => {
  it('tail longer than the offset; a fractional offset', () => {
    const { log, state } = setup();
    expect(xd(['report', '--state', state, ...ONLY, log]).code).not.toBe(3);
    const good = JSON.parse(readFileSync(state, 'utf8')) as { files: Record<string, { current: Record<string, unknown> }> };
    const mark = good.files[log]!.current;
    for (const bad of [{ tail: { len: 1_000_000, hash: 'x' } }, { offset: 10.5 }]) {
      writeFileSync(state, JSON.stringify({ ...good, files: { [log]: { current: { ...mark, ...bad } } } }), { mode: 0o600 });
      const r = xd(['report', '--state', state, '--format', 'json', ...ONLY, log]);
      expect(r.stderr).toMatch(/is not valid .*set aside as/);
      expect(r.stderr).not.toMatch(/internal error/);
      expect(findingsOf(r.stdout)).toHaveLength(1); // read again from the start
    }
  });
});

describe('20. a lock is honoured only for the very process that took it', () => {
  it('PID 0, -1, another host, another boot, a live process that merely has "xendoctor" in its command line', () => {
    const { log, state } = setup();
    const decoy = spawn('bash', ['-c', 'exec -a xendoctor-decoy sleep 60'], { stdio: 'ignore' });
    try {
      const base = { host: hostname(), started: new Date().toISOString(), token: 't' };
      const locks: [object, RegExp][] = [
        [{ ...base, pid: 0 }, /0 is not a process id/],
        [{ ...base, pid: -1 }, /-1 is not a process id/],
        [{ ...base, pid: decoy.pid, host: 'elsewhere' }, /written on another host/],
        [{ ...base, pid: decoy.pid, boot: '00000000-0000-0000-0000-000000000000' }, /before this host last booted/],
        [{ ...base, pid: decoy.pid }, /names no boot|not the one that took the lock/],
      ];
      for (const [lock, why] of locks) {
        writeFileSync(`${state}.lock`, JSON.stringify(lock), { mode: 0o600 });
        const r = xd(['report', '--state', state, '--wait', '0', ...ONLY, log]);
        expect(r.stderr).toMatch(why);
        expect(r.code).not.toBe(3);
        expect(existsSync(`${state}.lock`)).toBe(false);
      }
      // the decoy again, with this boot's id and a start time that is not its own
      const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
      writeFileSync(`${state}.lock`, JSON.stringify({ ...base, pid: decoy.pid, boot, start: '1' }), { mode: 0o600 });
      const r = xd(['report', '--state', state, '--wait', '0', ...ONLY, log]);
      expect(r.stderr).toMatch(/not the one that took the lock/);
      expect(statSync(state).isFile()).toBe(true);
    } finally {
      decoy.kill();
    }
  });
});
