/** Engine unit tests: expiry of old findings and version gates for live use. */
import { describe, expect, it } from 'vitest';
import { loadCatalogue } from '../src/engine/catalogue.js';
import { Engine } from '../src/engine/engine.js';

const rules = loadCatalogue();
const ctx = { zone: 'UTC', year: 2026, reference: Date.UTC(2026, 10, 26) };

function feed(engine: Engine, lines: string[]): void {
  lines.forEach((text, i) => engine.read(text, { source: 'test', line: i + 1, host: null, ctx, candidate: true }));
  engine.endInput();
}

describe('Engine', () => {
  it('expires findings last seen before a cutoff, keeping newer ones', () => {
    const e = new Engine(rules);
    feed(e, [
      'Nov 20 08:01:10 xen07 kernel: [1.0] INFO: task blkback.1.xvda:11 blocked for more than 120 seconds.',
      'Nov 25 08:01:10 xen07 kernel: [2.0] INFO: task blkback.2.xvda:22 blocked for more than 120 seconds.',
    ]);
    expect(e.findings().length).toBe(2);
    expect(e.expire(Date.UTC(2026, 10, 22))).toBe(1);
    expect(e.findings().map((f) => f.key.domid)).toEqual(['2']);
  });

  it('tells whether a finding passes its version gate for what the host logged', () => {
    const e = new Engine(rules);
    feed(e, ['(XEN) Xen version 4.17.3 (Debian 4.17.3)', 'Error: Unable to connect to xend: No such file or directory. Is xend running?']);
    const all = e.findings();
    // xend-not-running applies to Xen < 4.5 (xend was removed): the gate drops it on 4.17
    expect(all.map((f) => f.rule)).not.toContain('xend-not-running');
  });

  it('applies(): a live finding seen before the version line is dropped once the version is known', () => {
    const seen: import('../src/types.js').Finding[] = [];
    const e = new Engine(rules, { onFinding: (f) => seen.push(f) });
    feed(e, ['Error: Unable to connect to xend: No such file or directory. Is xend running?']);
    expect(seen.map((f) => f.rule)).toContain('xend-not-running');
    expect(e.applies(seen[0]!)).toBe(true);
    feed(e, ['(XEN) Xen version 4.17.3 (Debian 4.17.3)']);
    expect(e.applies(seen[0]!)).toBe(false);
  });
});

describe('lines that name no host', () => {
  const disk = (host: string) =>
    `Nov 20 08:01:10 ${host} kernel: [1.0] EXT4-fs warning (device dm-0): ext4_dx_add_entry: No space left on device`;
  const console = 'xenconsoled: failed to write log: No space left on device';

  it('join the one host the other matching lines name: one finding, the counts added', () => {
    const e = new Engine(rules);
    feed(e, [disk('xen07'), console, disk('xen07')]);
    const f = e.findings().filter((x) => x.rule === 'disk-full');
    expect(f.map((x) => [x.host, x.count])).toEqual([['xen07', 3]]);
  });

  it('stay apart when the lines name several hosts', () => {
    const e = new Engine(rules);
    feed(e, [disk('xen07'), disk('xen08'), console]);
    const f = e.findings().filter((x) => x.rule === 'disk-full');
    expect(f.map((x) => x.host).sort()).toEqual([null, 'xen07', 'xen08'].sort());
  });
});
