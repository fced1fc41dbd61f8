/**
 * Unit tests of src/sources/safe-read.ts (reached only through the binary before; the mutation run,
 * docs/mutation.md): a file read only when it is a regular file within the size limit, never blocking
 * on a FIFO, a symbolic link refused on request; a host path resolved under a root as chroot would.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRegularFile, readRegularFileBuffer, resolveUnder } from '../src/sources/safe-read.js';
import { tmp } from './helpers.js';

const err = (f: () => unknown): NodeJS.ErrnoException => {
  try {
    f();
  } catch (e) {
    return e as NodeJS.ErrnoException;
  }
  throw new Error('did not throw');
};

describe('safe-read: reading a file it was pointed at', () => {
  it('reads a regular file whole, up to and at the limit; one byte more is refused', () => {
    const dir = tmp('xd-safe-');
    const f = join(dir, 'f');
    const text = 'héllo\n'.repeat(5000);
    writeFileSync(f, text);
    const size = Buffer.byteLength(text);
    expect(readRegularFileBuffer(f, { max: size }).equals(readFileSync(f))).toBe(true);
    expect(readRegularFile(f, { max: size + 1 })).toBe(text);
    const e = err(() => readRegularFileBuffer(f, { max: size - 1 }));
    expect(e.code).toBe('EFBIG');
    expect(e.message).toBe(`is too large (${size} bytes; at most ${size - 1} are read): not read`);
    writeFileSync(join(dir, 'empty'), '');
    expect(readRegularFileBuffer(join(dir, 'empty'), { max: 0 }).length).toBe(0);
  });

  it('reads a file the size of which is not known beforehand (a /proc file) as what fstat says: nothing', () => {
    expect(readRegularFileBuffer('/proc/self/status', { max: 10 }).length).toBe(0);
  });

  it('reads a file shorter than its size says (sysfs: 4096) up to its end, in as many reads as it takes', () => {
    const path = '/sys/kernel/uevent_seqnum';
    expect(statSync(path).size).toBe(4096);
    const got = readRegularFile(path, { max: 4096 });
    expect(got).toMatch(/^\d+\n$/);
  });

  it('closes every file it opens, read or refused', () => {
    const dir = tmp('xd-safe-');
    writeFileSync(join(dir, 'f'), 'text');
    const open = () => readdirSync('/proc/self/fd').length;
    const before = open();
    for (let i = 0; i < 20; i++) {
      readRegularFile(join(dir, 'f'), { max: 100 });
      err(() => readRegularFile(join(dir, 'f'), { max: 1 }));
      err(() => readRegularFile(dir, { max: 100 }));
    }
    expect(open()).toBe(before);
  });

  it('refuses a folder, a device and a FIFO (without blocking on the FIFO) by name', () => {
    const dir = tmp('xd-safe-');
    let e = err(() => readRegularFile(dir, { max: 100 }));
    expect([e.code, e.message]).toEqual(['EISDIR', 'is a folder']);
    e = err(() => readRegularFile('/dev/zero', { max: 100 }));
    expect([e.code, e.message]).toEqual(['ENOTREG', 'is a character device, not a regular file: not read']);
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    e = err(() => readRegularFile(fifo, { max: 100 }));
    expect([e.code, e.message]).toEqual(['ENOTREG', 'is a FIFO, not a regular file: not read']);
  });

  it('follows a symbolic link unless told not to', () => {
    const dir = tmp('xd-safe-');
    writeFileSync(join(dir, 'f'), 'text');
    symlinkSync('f', join(dir, 'l'));
    expect(readRegularFile(join(dir, 'l'), { max: 100 })).toBe('text');
    expect(readRegularFile(join(dir, 'l'), { max: 100, noFollow: false })).toBe('text');
    expect(readRegularFile(join(dir, 'f'), { max: 100, noFollow: true })).toBe('text');
    expect(err(() => readRegularFile(join(dir, 'l'), { max: 100, noFollow: true })).code).toBe('ELOOP');
  });

  it('throws the error of node:fs for a path that is not there', () => {
    expect(err(() => readRegularFile('/nonexistent/xd', { max: 100 })).code).toBe('ENOENT');
  });
});

describe('safe-read: a host path under a root', () => {
  /** root/etc/xen/xl.conf, root/etc/abs -> /etc/xen, root/etc/rel -> xen, root/etc/up -> ../../../etc/xen */
  const tree = () => {
    const root = tmp('xd-root-');
    mkdirSync(join(root, 'etc/xen'), { recursive: true });
    writeFileSync(join(root, 'etc/xen/xl.conf'), 'x');
    symlinkSync('/etc/xen', join(root, 'etc/abs'));
    symlinkSync('xen', join(root, 'etc/rel'));
    symlinkSync('../../../etc/xen', join(root, 'etc/up'));
    symlinkSync('./xen/./', join(root, 'etc/dots'));
    return root;
  };

  it('resolves plain paths, `.` and blank components, and `..` that stops at the root', () => {
    const root = tree();
    expect(resolveUnder(root, '/etc/xen/xl.conf')).toBe(join(root, 'etc/xen/xl.conf'));
    expect(resolveUnder(root, 'etc//./xen/xl.conf')).toBe(join(root, 'etc/xen/xl.conf'));
    // a blank component is no folder for a later `..` to leave
    expect(resolveUnder(root, '/etc//xen//../xen/xl.conf')).toBe(join(root, 'etc/xen/xl.conf'));
    expect(resolveUnder(root, '/etc/xen/../xen/xl.conf')).toBe(join(root, 'etc/xen/xl.conf'));
    expect(resolveUnder(root, '/../../etc/xen/xl.conf')).toBe(join(root, 'etc/xen/xl.conf'));
    expect(resolveUnder(root, '/')).toBe(root);
    expect(resolveUnder(root, '/etc/..')).toBe(root);
  });

  it('resolves links inside the root: relative from their folder, absolute from the root, `..` stopped', () => {
    const root = tree();
    expect(resolveUnder(root, '/etc/rel/xl.conf')).toBe(join(root, 'etc/xen/xl.conf'));
    expect(resolveUnder(root, '/etc/abs/xl.conf')).toBe(join(root, 'etc/xen/xl.conf'));
    expect(resolveUnder(root, '/etc/up/xl.conf')).toBe(join(root, 'etc/xen/xl.conf'));
    expect(resolveUnder(root, '/etc/dots/xl.conf')).toBe(join(root, 'etc/xen/xl.conf'));
    symlinkSync('xen//../xen', join(root, 'etc/blank'));
    expect(resolveUnder(root, '/etc/blank')).toBe(join(root, 'etc/xen'));
    expect(resolveUnder(root, '/etc/abs')).toBe(join(root, 'etc/xen'));
    symlinkSync('/etc/xen/xl.conf', join(root, 'etc/xen/last'));
    expect(resolveUnder(root, '/etc/xen/last')).toBe(join(root, 'etc/xen/xl.conf'));
  });

  it('returns a missing last component as it would be, throws for a missing folder or a file on the way', () => {
    const root = tree();
    expect(resolveUnder(root, '/etc/xen/new.conf')).toBe(join(root, 'etc/xen/new.conf'));
    expect(resolveUnder(root, '/etc/abs/new.conf')).toBe(join(root, 'etc/xen/new.conf'));
    expect(err(() => resolveUnder(root, '/etc/none/xl.conf')).code).toBe('ENOENT');
    // any other error on the last component is thrown
    expect(err(() => resolveUnder(root, `/etc/${'x'.repeat(300)}`)).code).toBe('ENAMETOOLONG');
    const e = err(() => resolveUnder(root, '/etc/xen/xl.conf/more'));
    expect([e.code, e.message]).toEqual(['ENOTDIR', `${join(root, 'etc/xen/xl.conf')}: not a folder`]);
    symlinkSync('/etc/none', join(root, 'etc/dangling'));
    expect(resolveUnder(root, '/etc/dangling')).toBe(join(root, 'etc/none'));
    expect(err(() => resolveUnder(root, '/etc/dangling/x')).code).toBe('ENOENT');
  });

  it('follows 40 links and stops at the 41st, and at a loop', () => {
    const root = tree();
    // l0 -> l1 -> ... -> l<n> -> /etc/xen
    const chain = (n: number, name: string) => {
      for (let i = 0; i < n; i++) symlinkSync(`${name}${i + 1}`, join(root, 'etc', `${name}${i}`));
      symlinkSync('/etc/xen', join(root, 'etc', `${name}${n}`));
    };
    chain(39, 'a'); // 40 links
    expect(resolveUnder(root, '/etc/a0/xl.conf')).toBe(join(root, 'etc/xen/xl.conf'));
    chain(40, 'b'); // 41 links
    const e = err(() => resolveUnder(root, '/etc/b0/xl.conf'));
    expect([e.code, e.message]).toEqual(['ELOOP', `${join(root, '/etc/b0/xl.conf')}: too many levels of symbolic links`]);
    symlinkSync('loop', join(root, 'etc/loop'));
    expect(err(() => resolveUnder(root, '/etc/loop')).code).toBe('ELOOP');
  });
});
