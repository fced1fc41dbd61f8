/** The template miner on its own: Drain-like merging, masks, benign list, bounds, and merging across workers. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseLine } from '../src/parse/line.js';
import { check } from 'recheck';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  MASKS,
  TemplateMiner,
  loadBundledBenign,
  parseBenign,
  sameShape,
  shapeOf,
  templateOf,
  templateOfSimple,
  templatesMatch,
  walkShape,
} from '../src/engine/unrecognized.js';
import { riskOf } from '../src/engine/safety.js';
import { ROOT } from './helpers.js';
import { baselineFindings, learnBaseline } from '../src/engine/unrecognized-baseline.js';

/** A property's runs, times XENDOCTOR_FUZZ_RUNS (mutation runs take fewer: docs/mutation.md). */
const runs = (n: number) => Math.max(1, Math.round(n * Number(process.env.XENDOCTOR_FUZZ_RUNS ?? 1)));
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
      { numRuns: runs(2000) },
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

/** Pieces of messages around the parts a shape replaces: separators the masks read, words they read by their letters. */
const CONTEXT = fc.constantFrom(
  ' ',
  '  ',
  '.',
  ':',
  '-',
  '/',
  '[',
  ']',
  '(',
  ')',
  '=',
  '@',
  '#',
  ',',
  '<',
  '"',
  "'",
  '\t',
  '::',
  '0x',
  'x',
  'vif',
  'vif-',
  'tap',
  'd',
  'sd',
  'dm-',
  'nvme',
  'eth',
  'br',
  'lib',
  '/dev/',
  '/var/',
  '/etc/',
  'error',
  'failed',
  'abc',
  'f',
  'E',
  '_',
  'qZ',
  'qZgZq',
);
/** What a shape replaces: runs of digits of every length the masks count, and words of letters and digits. */
const VARIABLE = fc.oneof(
  fc.stringMatching(/^[0-9]{1,15}$/),
  fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_]{0,6}[0-9][a-zA-Z0-9_]{0,4}$/),
  fc.stringMatching(/^[0-9][a-zA-Z0-9_]{0,8}$/),
  fc.stringMatching(/^[0-9a-fA-F]{1,14}$/),
  fc.constantFrom('lib64', 'spam951', 'jA217689911', '2nd', 'd12v3', 'vif3', 'sdb1', 'eth0', 'br0x', 'qZ1', 'Zq9', 'x9y', '0X1f'),
);

describe('templates by message shape', () => {
  // a message as a fixed frame with variable parts in it; two fills of one frame often share a shape
  // (with the forms whose parts the masks count: addresses, ports, MACs, PCI slots, UUIDs, versions)
  const FORMS: (string | null)[][] = [
    [null, '.', null, '.', null, '.', null],
    [null, '.', null, '.', null, '.', null, ':', null],
    [null, ':', null, ':', null, '.', null],
    [null, ':', null, ':', null, ':', null, ':', null, ':', null],
    [null, '::', null],
    [null, ':', null, ':', null, ':', null, ':', null, ':', null, ':', null, ':', null],
    [null, '-', null, '-', null, '-', null, '-', null],
    ['vif', null, '.', null],
    ['vif-', null, '-', null],
    [null, '.', null],
  ];
  const frame = fc
    .array(fc.oneof(CONTEXT, fc.constant(null), fc.constantFrom(...FORMS)), { minLength: 1, maxLength: 16 })
    .map((parts) => parts.flatMap((p) => (Array.isArray(p) ? p : [p])));
  const fill = (f: (string | null)[], vars: string[]) => f.map((p, i) => p ?? vars[i % vars.length]!).join('');

  it('gives the template of the masks alone (templateOfSimple) for every message, whatever shared its shape before', () => {
    fc.assert(
      fc.property(
        frame,
        fc.array(VARIABLE, { minLength: 1, maxLength: 6 }),
        fc.array(VARIABLE, { minLength: 1, maxLength: 6 }),
        (f, a, b) => {
          const first = fill(f, a);
          const second = fill(f, b);
          expect(templateOf(first)).toBe(templateOfSimple(first));
          // from the shape cache when the shapes agree
          expect(templateOf(second)).toBe(templateOfSimple(second));
          if (shapeOf(first).key === shapeOf(second).key) expect(templateOf(first)).toBe(templateOfSimple(first));
        },
      ),
      { numRuns: runs(3000) },
    );
  });

  it('folds what varies and keeps what the masks read', () => {
    // one shape for other addresses, ports of one length, other queue ids
    const a = 'jA217689911: to=<u@mail15.example.org>, relay=[203.0.113.9]:25, delay=00:00:41, error 4711';
    const b = 'kB90213: to=<u@mail7.example.org>, relay=[10.1.22.9]:99, delay=12:01:05, error 12';
    expect(shapeOf(a).key).toBe(shapeOf(b).key);
    expect(shapeOf(b).words).toEqual(['kB90213', 'mail7']);
    expect(templateOf(b)).toBe(templateOfSimple(b));
    // what a mask counts or reads by its letters stays apart
    expect(shapeOf('port 4711').key).toBe(shapeOf('port 12').key);
    expect(shapeOf('id 12345678').key).not.toBe(shapeOf('id 1234567').key); // hex mask: 8 digits and more
    expect(shapeOf('0000:05:00.7').key).not.toBe(shapeOf('0000:05:00.8').key); // PCI function 0-7
    // a message cut at 512 characters whose slots are longer than its words
    const long = `waiting ${Array.from({ length: 120 }, (_, i) => `${i}s...`).join('')} Waiting for root device /dev/xvda...`;
    expect(long.length).toBeGreaterThan(512);
    expect(templateOf(long)).toBe(templateOfSimple(long));
    expect(shapeOf('on sdb1').words).toBeNull();
    expect(shapeOf('on vif3').words).toBeNull();
    expect(shapeOf('from /lib64/x').words).toBeNull();
    // hex ids of 8 and more: one shape whatever their letters, their length kept beside a hyphen
    // (a UUID's parts), and never folded into an address's port
    expect(shapeOf('14FFC0FC: to=<a@b>').key).toBe(shapeOf('3a9e0b21: to=<a@b>').key);
    expect(shapeOf('msgid=14FFC0FC done').key).toBe(shapeOf('msgid=3a9e0b21c4 done').key);
    expect(shapeOf('id 0b1c2d3e-aaaa').key).not.toBe(shapeOf('id 0b1c2d3e1-aaaa').key);
    const port = 'from 10.0.0.7:1a2b3c4d5e';
    expect(shapeOf(port).key).not.toBe(shapeOf('from 10.0.0.7:12345678').key);
    expect(templateOf(port)).toBe(templateOfSimple(port));
  });

  /** The shape key's 32-bit FNV-1a hash, as walkShape computes it in place. */
  const fnv = (key: string) => {
    let h = 0x811c9dc5 | 0;
    for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
    return h;
  };
  /** Messages: frames filled with variable parts, sometimes past the 512 characters a shape reads. */
  const messages = fc
    .tuple(
      fc.array(fc.oneof(CONTEXT, VARIABLE, fc.constantFrom(...FORMS.flat().filter((p) => p !== null))), { maxLength: 40 }),
      fc.nat(600),
    )
    .map(([parts, pad]) => (pad > 480 ? `${'x'.repeat(pad - 40)} ${parts.join('')}` : parts.join('')));

  it("hashes and compares a message's shape in place as shapeOf builds it (walkShape, sameShape)", () => {
    fc.assert(
      fc.property(messages, messages, (a, b) => {
        const na = Math.min(a.length, 512);
        const nb = Math.min(b.length, 512);
        const ka = shapeOf(a.slice(0, na)).key;
        const kb = shapeOf(b.slice(0, nb)).key;
        expect(walkShape(a, na)).toBe(fnv(ka));
        expect(sameShape(a, na, ka)).toBe(true);
        expect(sameShape(a, na, kb)).toBe(ka === kb);
        expect(walkShape(b, nb)).toBe(fnv(kb));
        expect(sameShape(b, nb, ka)).toBe(ka === kb);
      }),
      { numRuns: runs(3000) },
    );
    // the edges: a slot mark across the cut, a word the cut ends, lib64 cut from lib64x
    const cases = [`x9y ${'a'.repeat(507)}qZ`, `${'a'.repeat(506)} lib64x`, `${'a'.repeat(508)} x9y9z`, `${'a'.repeat(500)} 1a2b3c4d5e6f7`];
    expect(cases.map((m) => m.indexOf('qZ'))).toEqual([511, -1, -1, -1]);
    for (const m of cases) {
      const n = Math.min(m.length, 512);
      const k = shapeOf(m.slice(0, n)).key;
      expect(walkShape(m, n)).toBe(fnv(k));
      expect(sameShape(m, n, k)).toBe(true);
    }
  });
});

/** Lines of the test corpora: the fixtures and the bundled samples (every text file under them). */
function corpusLines(): string[] {
  const lines: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.size < 4_000_000 && !/\.(gz|xz|bz2|zst|json|yaml|html)$/.test(name)) {
        const text = readFileSync(p, 'latin1');
        if (!text.includes('\0')) lines.push(...text.split('\n'));
      }
    }
  };
  walk(join(ROOT, 'test', 'fixtures'));
  walk(join(ROOT, 'samples'));
  return lines.filter((l) => l.length > 0);
}

describe('the cached miner equals the simple path', () => {
  const state = (m: TemplateMiner) => m.exportState();
  /** The simple path's state after `lines`, checked equal to the cached path's. */
  const bothPaths = (lines: string[]) => {
    const simple = new TemplateMiner([], { simple: true });
    const cached = new TemplateMiner([]);
    feed(simple, lines);
    feed(cached, lines);
    expect(state(cached)).toEqual(state(simple));
    return state(simple);
  };

  // left out of the mutation run of lines 1-498 (XD_MUTATE=engine-unrecognized-head): 3-6 s a mutant of the masks and
  // shapes, which the properties above and below hold to the simple path on generated messages
  it.skipIf(process.env.XD_MUTATE === 'engine-unrecognized-head')(
    'on the test corpora (fixtures and samples): the same templates, counts, times, examples and evictions',
    () => {
      const lines = corpusLines();
      expect(lines.length).toBeGreaterThan(5000);
      const benign = loadBundledBenign();
      const simple = new TemplateMiner(benign, { simple: true });
      const cached = new TemplateMiner(benign);
      // twice over, so that the second pass runs on the caches
      for (const m of [simple, cached]) feed(m, [...lines, ...lines]);
      expect(state(cached).templates.length).toBeGreaterThan(50);
      expect(state(cached)).toEqual(state(simple));
    },
  );

  it('a placement is looked up only while its group is unchanged: a closer template made later wins, as on the simple path', () => {
    const lines = [
      'error a b c', // a template
      'error a q r', // joins it: error a <*> <*>
      'error a b c', // covered: placed without change (the lookup is kept)
      'error z b c', // too far from "error a <*> <*>": a new template
      'error a b c', // now closer to "error z b c" (3 of 4 words) than to "error a <*> <*>" (2 of 4)
    ].map((m, i) => `Nov 20 08:00:0${i} h app: ${m}`);
    const simple = bothPaths(lines);
    expect(simple.templates.map((t) => [t.template, t.count])).toEqual([
      ['error a <*> <*>', 3],
      ['error <*> b c', 2],
    ]);
  });

  it('a template that gains a wildcard can win the tie for a message placed elsewhere before, as on the simple path', () => {
    const lines = [
      'error a x f g', // T
      'error a p d d', // U (2 of 5 words agree with T: too few)
      'error a q d d', // U: error a <*> d d
      'error a x d y', // M: ties T and U on 3 of 5, U has more wildcards: U becomes error a <*> d <*>
      'error a x d y', // M again: U, unchanged (the lookup is kept)
      'error a x z g', // T: error a x <*> g
      'error a x f w', // T: error a x <*> <*>, now as many wildcards as U
      'error a x d y', // M: the tie goes to the first template, T
    ].map((m, i) => `Nov 20 08:00:0${i} h app: ${m}`);
    const simple = bothPaths(lines);
    expect(simple.templates.map((t) => [t.template, t.count])).toEqual([
      ['error a x <*> <*>', 4],
      ['error a <*> d <*>', 4],
    ]);
  });

  it('a template evicted from its group (100 at most) or from the miner (2000) is not looked up again', () => {
    const letters = (i: number) => [...i.toString(26)].map((c) => String.fromCharCode(97 + parseInt(c, 26))).join('');
    // "error keep me" twice (the second time a lookup), then templates as frequent, then one more:
    // the first of the rarest goes, "error keep me"; it comes back as a new template
    for (const [others, word] of [
      [99, (i: number) => `error w${i}x v${i}y`],
      [1999, (i: number) => `${letters(i)}: error`], // each its own group (first words of letters)
    ] as const) {
      const messages = ['error keep me', 'error keep me'];
      for (let i = 0; i < others; i++) messages.push(word(i), word(i));
      messages.push(word(others), 'error keep me');
      const lines = messages.map((m) => `Nov 20 08:00:00 h app: ${m}`);
      const simple = new TemplateMiner([], { simple: true });
      const cached = new TemplateMiner([]);
      feed(simple, lines);
      feed(cached, lines);
      expect(state(simple).templates.find((t) => t.template === 'error keep me')?.count).toBe(1);
      expect(state(simple).evicted).toBeGreaterThan(0);
      expect(state(cached)).toEqual(state(simple));
    }
  });

  it('on generated lines of few words: joins, splits and wildcards as on the simple path', () => {
    const word = fc.constantFrom('a', 'b', 'c', 'q', '7', 'x9', 'eth0', '10.0.0.1', 'spam9', 'mail4');
    fc.assert(
      fc.property(fc.array(fc.array(word, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 60 }), (msgs) => {
        const lines = msgs.map((m, i) => `Nov 20 08:00:${String(i % 60).padStart(2, '0')} h app: error ${m.join(' ')}`);
        const simple = new TemplateMiner([], { simple: true });
        const cached = new TemplateMiner([]);
        feed(simple, lines);
        feed(cached, lines);
        expect(state(cached)).toEqual(state(simple));
      }),
      { numRuns: runs(1000) },
    );
  });

  it('on generated lines: repeated, varied, novel, past the caps of a group and of the miner', () => {
    const word = fc.constantFrom('error', 'failed', 'disk', 'link', 'down', 'on', 'port', 'timeout', 'queue', 'to', 'from', 'denied');
    const part = fc.oneof(word, VARIABLE, fc.constantFrom('vif4.0', 'sdb', '10.0.0.7:22', '00:16:3e:aa:bb:cc', '/var/lib/x.img'));
    const shape = fc.array(part, { minLength: 1, maxLength: 7 });
    fc.assert(
      fc.property(
        fc.array(shape, { minLength: 1, maxLength: 8 }),
        fc.array(fc.tuple(fc.nat(), fc.array(VARIABLE, { minLength: 1, maxLength: 3 }), fc.nat(23)), { minLength: 1, maxLength: 400 }),
        fc.boolean(),
        (shapes, picks, flood) => {
          const lines = picks.map(([k, vars, h], i) => {
            const parts = shapes[k % shapes.length]!.map((p, j) => (j % 3 === 2 ? vars[j % vars.length]! : p));
            // "flood": every line a new first word, so that groups and the miner overflow and evict
            const first = flood ? `w${i % 150}x ` : '';
            return `Nov 20 ${String(h).padStart(2, '0')}:00:00 h app[1]: ${first}error ${parts.join(' ')}`;
          });
          const simple = new TemplateMiner([], { simple: true });
          const cached = new TemplateMiner([]);
          feed(simple, lines);
          feed(cached, lines);
          expect(state(cached)).toEqual(state(simple));
        },
      ),
      { numRuns: runs(300) },
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
  // left out of mutation runs (XD_MUTATE=engine-unrecognized, engine-unrecognized-head): 16 s of recheck per mutant of the benign
  // list's loading, which it reads only to check each expression, and which the other cases test
  it.skipIf(process.env.XD_MUTATE?.startsWith('engine-unrecognized') === true)(
    'the masks and the benign list are free of catastrophic backtracking (recheck): they see every line that looks like trouble',
    async () => {
      const res = [
        ...MASKS.map(([r]) => r),
        ...loadBundledBenign().flatMap((b) => [b.program, b.message, b.line].filter((x): x is RegExp => x !== null)),
      ];
      // "unknown" (recheck gave up, e.g. at its time limit on a loaded machine) is not "safe": such an
      // expression is checked again with more time, and must come back safe. A verdict of recheck's fuzzer
      // is confirmed by timing its attack, as for the catalogue's patterns (riskOf): beside two busy loops
      // and other work (load 17) the linear UUID mask came back "vulnerable" once. The fuzzer's seed is the
      // run's (XD_SEED replays it).
      const randomSeed = Number(process.env.XD_SEED) || 42;
      const notSafe: string[] = [];
      for (const r of res) {
        let d = await check(r.source, r.flags, { timeout: 10_000, randomSeed });
        if (d.status === 'unknown') d = await check(r.source, r.flags, { timeout: 60_000, randomSeed });
        const risk = riskOf(r.source, r.flags, d);
        if (risk !== null) notSafe.push(`${r.source}: ${risk}`);
      }
      expect(notSafe).toEqual([]);
    },
    300_000,
  );
});
