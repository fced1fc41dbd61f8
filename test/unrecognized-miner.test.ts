/** The template miner on its own: Drain-like merging, masks, benign list, bounds, and merging across workers. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseLine } from '../src/parse/line.js';
import { check } from 'recheck';
import { MASKS, TemplateMiner, loadBundledBenign, parseBenign, templateOf, templatesMatch } from '../src/engine/unrecognized.js';
import { baselineFindings, learnBaseline } from '../src/engine/unrecognized-baseline.js';

const ctx = { zone: 'UTC', year: 2026, reference: Date.UTC(2026, 11, 31) };
const feed = (m: TemplateMiner, lines: string[], from = 1) => lines.forEach((l, i) => m.add(parseLine(l, ctx), l, 'test.log', from + i));

describe('masks', () => {
  it('gives the same template as every mask applied in turn (the cheap tests and the cache change nothing)', () => {
    const plain = (m: string) => {
      let t = m.length > 512 ? m.slice(0, 512) : m;
      for (const [re, mask] of MASKS) t = t.replace(re, mask);
      return t.replace(/\s+/g, ' ').trim();
    };
    const piece = fc.oneof(
      fc.constantFrom(
        'vif12.0',
        'vif-3-0',
        'tap4.1',
        '/dev/sdb1',
        'xvda',
        'nvme0n1p2',
        'dm-3',
        'md0',
        'loop7',
        'eth0',
        'xenbr1',
        'br0',
        'd12v3',
        'd7',
        '0x1F2e',
        'deadbeef01',
        '00:16:3e:aa:bb:cc',
        '0000:05:00.1',
        'fe80::1',
        '2001:db8:0:0:0:0:0:1',
        '10.0.0.7:22',
        '0b1c2d3e-aaaa-bbbb-cccc-0123456789ab',
        '/var/lib/xen/a.img',
        '/etc/xen/x',
        '-12',
        '3.5',
        'error',
        ' ',
        '  ',
        '\t',
        '\u00a0',
        ':',
        '.',
        '-',
        '/',
        '(',
        '=',
      ),
      fc.string({ maxLength: 6 }),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 30 }), (parts) => {
        const msg = parts.join('');
        expect(templateOf(msg)).toBe(plain(msg));
        expect(templateOf(msg)).toBe(plain(msg)); // from the cache
      }),
      { numRuns: 2000 },
    );
  });

  it('masks numbers, hex, addresses, devices, interfaces, guests and data paths, keeps program paths', () => {
    expect(templateOf('xen-blkback: backend/vbd/111/51712: failed to map grant ref 0x1f2e, error -12')).toBe(
      'xen-blkback: backend/vbd/<*>/<*>: failed to map grant ref <hex>, error <*>',
    );
    expect(templateOf('vif vif-12-0 vif12.0: Guest Rx stalled on eth0 (00:16:3e:aa:bb:cc) from 10.0.0.7')).toBe(
      'vif vif-<*> vif<*>: Guest Rx stalled on <if> (<mac>) from <ip>',
    );
    expect(templateOf('Buffer I/O error on dev /dev/sdb1, logical block 1234 in /var/lib/xen/images/web01.img')).toBe(
      'Buffer I/O error on dev <dev>, logical block <*> in <path>',
    );
    expect(templateOf('/etc/xen/scripts/vif-bridge: iptables setup failed. This may affect guest networking.')).toBe(
      '/etc/xen/scripts/vif-bridge: iptables setup failed. This may affect guest networking.',
    );
    expect(templateOf('(d12) d12v3 timer error 3f2a9c01d4e5 uuid 0b1c2d3e-aaaa-bbbb-cccc-0123456789ab')).toBe(
      '(d<*>) d<*>v<*> timer error <hex> uuid <uuid>',
    );
  });
});

describe('Drain-like merging', () => {
  it('joins messages of the same length and first word that differ in a few words', () => {
    const m = new TemplateMiner([]);
    feed(m, [
      'Nov 20 08:00:01 h kernel: [1.0] sd 2:0:0:0: [sdb] tag#12 FAILED Result: hostbyte=DID_OK driverbyte=DRIVER_SENSE',
      'Nov 20 08:00:02 h kernel: [1.1] sd 2:0:0:0: [sdb] tag#13 FAILED Result: hostbyte=DID_BAD_TARGET driverbyte=DRIVER_OK',
      'Nov 20 08:00:03 h nginx[12]: upstream timed out while reading response header from upstream alpha',
      'Nov 20 08:00:04 h nginx[12]: upstream timed out while reading response header from upstream beta',
    ]);
    const r = m.results();
    expect(r.map((u) => [u.template, u.count])).toEqual([
      ['sd <*>:<*>:<*>:<*>: [<dev>] tag#<*> FAILED Result: <*> <*>', 2],
      ['upstream timed out while reading response header from upstream <*>', 2],
    ]);
    expect(r[0]!.example).toContain('tag#12');
  });

  it('keeps different messages apart, and short ones exact', () => {
    const m = new TemplateMiner([]);
    feed(m, [
      'Nov 20 08:00:01 h x: link down',
      'Nov 20 08:00:02 h x: disk failed',
      'Nov 20 08:00:03 h x: eth0 fatal error on queue 3 after reset by firmware',
    ]);
    expect(m.results()).toHaveLength(3);
  });

  it('templatesMatch compares position by position, a wildcard on either side', () => {
    expect(templatesMatch('a <*> c', 'a b c')).toBe(true);
    expect(templatesMatch('a b c', 'a <*> c')).toBe(true);
    expect(templatesMatch('a b c', 'a b d')).toBe(false);
    expect(templatesMatch('a b', 'a b c')).toBe(false);
  });
});

describe('known-benign messages', () => {
  it('the bundled list compiles and skips sshd noise but not a real sshd error', () => {
    const list = loadBundledBenign();
    expect(list.length).toBeGreaterThan(5);
    const m = new TemplateMiner(list);
    feed(m, [
      'Nov 20 08:00:01 h sshd[1]: Failed password for invalid user admin from 203.0.113.9 port 4711 ssh2',
      'Nov 20 08:00:02 h sshd[1]: fatal: Cannot bind any address.',
    ]);
    expect(m.results().map((u) => u.template)).toEqual(['fatal: Cannot bind any address.']);
  });

  it('a bad entry is reported with its place', () => {
    expect(() => parseBenign('benign:\n  - id: x\n    message: "("\n', 'b.yaml')).toThrow(/b\.yaml: benign\.0\.message/);
    expect(() => parseBenign('benign:\n  - id: x\n', 'b.yaml')).toThrow(/needs "message" or "line"/);
  });
});

describe('bounds and merging', () => {
  it('keeps at most 2000 templates, evicting the rarest', () => {
    const m = new TemplateMiner([]);
    const lines: string[] = [];
    for (let i = 0; i < 2500; i++) lines.push(`Nov 20 08:00:01 h app${i}: error w${i}a w${i}b w${i}c`);
    for (let i = 0; i < 5; i++) lines.push('Nov 20 08:00:02 h keep: error that stays here');
    feed(m, lines);
    const r = m.results();
    expect(r.length).toBeLessThanOrEqual(2000);
    expect(r[0]).toMatchObject({ template: 'error that stays here', count: 5 });
    expect(m.exportState().evicted).toBeGreaterThan(0);
  });

  it('keeps 48 hours per template, and a burst in a new hour after them grows in full', () => {
    const m = new TemplateMiner([]);
    const lines: string[] = [];
    // three lines an hour for 60 hours (Nov 20 00:00 to Nov 22 11:00), then 100 in one hour
    for (let h = 0; h < 60; h++) {
      const day = 20 + Math.floor(h / 24);
      for (let k = 0; k < 3; k++) lines.push(`Nov ${day} ${String(h % 24).padStart(2, '0')}:0${k}:00 h app: error talking to backend`);
    }
    for (let k = 0; k < 100; k++) lines.push(`Nov 22 13:${String(k % 60).padStart(2, '0')}:00 h app: error talking to backend`);
    feed(m, lines);
    const [t] = m.exportState().templates;
    expect(t!.count).toBe(280);
    expect(t!.hours.length).toBe(48);
    expect(new Map(t!.hours).get(Date.UTC(2026, 10, 22, 13) / 3600_000)).toBe(100);
  });

  it('two halves merged (as worker threads do) equal one miner over the whole', () => {
    const lines: string[] = [];
    for (let i = 0; i < 300; i++) {
      const h = String(Math.floor(i / 60)).padStart(2, '0');
      const mm = String(i % 60).padStart(2, '0');
      lines.push(
        `Nov 20 ${h}:${mm}:00 xen07 kernel: [${i}.5] qla2xxx [0000:05:00.${i % 2}]-801c:2: Abort command issued nexus=2:0:${i % 7} --  1 2002.`,
      );
      if (i % 3 === 0) lines.push(`Nov 20 ${h}:${mm}:01 xen07 app[${i}]: request ${i} failed with status ${500 + (i % 4)}`);
    }
    const whole = new TemplateMiner([]);
    feed(whole, lines);
    const a = new TemplateMiner([]);
    const b = new TemplateMiner([]);
    const half = Math.floor(lines.length / 2);
    feed(a, lines.slice(0, half));
    feed(b, lines.slice(half));
    a.absorb(b.exportState(), half);
    const norm = (m: TemplateMiner) =>
      m
        .exportState()
        .templates.map((t) => ({ ...t, hours: [...t.hours].sort((x, y) => x[0] - y[0]) }))
        .sort((x, y) => (x.template < y.template ? -1 : 1));
    expect(norm(a)).toEqual(norm(whole));
  });
});

describe('baseline rules', () => {
  it('a burst needs the minimum count, ten times the usual rate and more than the busiest learnt hour', () => {
    const quiet = new TemplateMiner([]);
    feed(quiet, ['Nov 20 01:00:00 h app: error talking to backend 1', 'Nov 20 13:00:00 h app: error talking to backend 2']);
    const b = learnBaseline({
      mined: quiet.exportState(),
      first: '2026-11-20T00:00:00Z',
      last: '2026-11-21T00:00:00Z',
      lines: 100,
      sources: ['x'],
    });
    expect(b.templates[0]).toMatchObject({ template: 'error talking to backend <*>', count: 2, peak: 1 });
    const check = { baseline: b, file: '/tmp/b.json' };
    const busy = (n: number) => {
      const m = new TemplateMiner([]);
      feed(
        m,
        Array.from({ length: n }, (_, i) => `Nov 22 05:${String(i % 60).padStart(2, '0')}:00 h app: error talking to backend ${i}`),
      );
      return baselineFindings(m.exportState(), check);
    };
    expect(busy(9)).toEqual([]);
    expect(busy(10).map((f) => f.rule)).toEqual(['unrecognized-burst']);
  });
});

describe('safety', () => {
  it('the masks and the benign list are free of catastrophic backtracking (recheck): they see every line that looks like trouble', async () => {
    const res = [
      ...MASKS.map(([r]) => r),
      ...loadBundledBenign().flatMap((b) => [b.program, b.message, b.line].filter((x): x is RegExp => x !== null)),
    ];
    // "unknown" (recheck gave up, e.g. at its time limit on a loaded machine) is not "safe": such an
    // expression is checked again with more time, and must come back safe
    const notSafe: string[] = [];
    for (const r of res) {
      let d = await check(r.source, r.flags, { timeout: 10_000 });
      if (d.status === 'unknown') d = await check(r.source, r.flags, { timeout: 60_000 });
      if (d.status !== 'safe') notSafe.push(`${d.status}: ${r.source}`);
    }
    expect(notSafe).toEqual([]);
  }, 300_000);
});
