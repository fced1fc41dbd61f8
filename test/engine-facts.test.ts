/**
 * Unit tests of src/engine/facts.ts (reached only through the catalogue's samples before; the mutation
 * run, docs/mutation.md): the host facts a line tells (Xen and kernel versions, RAM, toolstack), dotted
 * versions compared numerically, version ranges, and the `applies` gate of a rule.
 */
import { describe, expect, it } from 'vitest';
import { compareVersions, FACT_LITERALS, type HostFacts, inRange, observeFacts, ruleApplies } from '../src/engine/facts.js';
import type { LogEvent } from '../src/types.js';

const ev = (message: string, source: LogEvent['source'] = 'kernel'): LogEvent => ({
  format: 'syslog',
  time: null,
  uptime: null,
  host: 'h',
  program: null,
  pid: null,
  source,
  message,
});
/** The facts a run of lines leaves, from none. */
const facts = (...lines: [string, LogEvent['source']?][]): HostFacts => {
  const f: HostFacts = {};
  for (const [m, s] of lines) observeFacts(f, ev(m, s));
  return f;
};

describe('facts: what a line tells about its host', () => {
  it('reads the Xen version from the banner and from xl info, two or three parts, at the start only', () => {
    expect(facts(['Xen version 4.17.3-pre (Debian 4.17.3+10-deb12u1) (pkg-xen@lists.alioth.debian.org)', 'hypervisor'])).toEqual({
      xen: '4.17.3',
    });
    expect(facts(['xen_version            : 4.17.1-pre', 'toolstack'])).toEqual({ xen: '4.17.1' });
    expect(facts(['xen_version:4.2.5', 'kernel'])).toEqual({ xen: '4.2.5' });
    expect(facts(['Xen version 4.1 (root@build)', 'hypervisor'])).toEqual({ xen: '4.1' });
    expect(facts(['Xen version 4.16.2.7', 'hypervisor'])).toEqual({ xen: '4.16.2' });
    expect(facts(['Xen version 4 (root@build)', 'hypervisor'])).toEqual({});
    expect(facts(['Xen version .17', 'hypervisor'])).toEqual({});
    expect(facts(['Xen version 4.', 'hypervisor'])).toEqual({});
    expect(facts(['the Xen version 4.17.3 of the guest', 'hypervisor'])).toEqual({});
    expect(facts(['Xen version 4.17.3', 'hypervisor'], ['Xen version 4.18.0', 'hypervisor'])).toEqual({ xen: '4.18.0' });
  });

  it('reads the kernel version from any source but the hypervisor', () => {
    expect(facts(['Linux version 6.1.0-18-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14))', 'kernel'])).toEqual({
      kernel: '6.1.0',
    });
    expect(facts(['Linux version 3.10 (mockbuild@centos)', 'daemon'])).toEqual({ kernel: '3.10' });
    expect(facts(['Linux version 6.1.0 (dom0 kernel, as Xen prints it)', 'hypervisor'])).toEqual({});
    expect(facts(['Linux version 6', 'kernel'])).toEqual({});
    expect(facts(['booting Linux version 6.1.0', 'kernel'])).toEqual({});
    expect(facts(['Linux version 6.1.0', 'kernel'], ['Linux version 6.6.1', 'kernel'])).toEqual({ kernel: '6.6.1' });
  });

  it("reads the host's RAM from Xen's line (hypervisor only) and from xl info's total_memory (any source)", () => {
    expect(facts(['System RAM: 393215MB', 'hypervisor'])).toEqual({ memory: '393215' });
    expect(facts(['System RAM: 393215MB', 'kernel'])).toEqual({});
    expect(facts(['System RAM: 393215 MB', 'hypervisor'])).toEqual({});
    expect(facts(['System RAM: MB', 'hypervisor'])).toEqual({});
    expect(facts(['the System RAM: 4096MB', 'hypervisor'])).toEqual({});
    expect(facts(['total_memory           : 65435', 'toolstack'])).toEqual({ memory: '65435' });
    expect(facts(['total_memory: 1024', 'kernel'])).toEqual({ memory: '1024' });
    expect(facts(['total_memory:1024', 'toolstack'])).toEqual({});
    expect(facts(['total_memory : 1024', 'hypervisor'])).toEqual({ memory: '1024' });
    expect(facts(['total_memory : 1024 MB', 'toolstack'])).toEqual({});
    expect(facts(['total_memory : ', 'toolstack'])).toEqual({});
    expect(facts(['my total_memory : 1024', 'toolstack'])).toEqual({});
  });

  it('tells the toolstack: xend means xm; a libxl or xl line means xl unless xm was seen', () => {
    expect(facts(['anything', 'xend'])).toEqual({ toolstack: 'xm' });
    expect(facts(['libxl: error: libxl_create.c:1234: cannot create', 'toolstack'])).toEqual({ toolstack: 'xl' });
    expect(facts(['xl: cannot open', 'toolstack'])).toEqual({ toolstack: 'xl' });
    expect(facts(['libxl error', 'toolstack'])).toEqual({});
    expect(facts(['libxlu: config', 'toolstack'])).toEqual({});
    expect(facts(['the libxl: thing', 'toolstack'])).toEqual({});
    expect(facts(['libxl: error', 'kernel'])).toEqual({});
    expect(facts(['libxl: error', 'xend'])).toEqual({ toolstack: 'xm' });
    expect(facts(['started', 'xend'], ['libxl: error', 'toolstack'])).toEqual({ toolstack: 'xm' });
    expect(facts(['libxl: error', 'toolstack'], ['started', 'xend'])).toEqual({ toolstack: 'xm' });
  });

  it('keeps what it knew when a line tells nothing', () => {
    const f = facts(
      ['Xen version 4.17.3', 'hypervisor'],
      ['Linux version 6.1.0', 'kernel'],
      ['System RAM: 2048MB', 'hypervisor'],
      ['libxl: x', 'toolstack'],
    );
    expect(f).toEqual({ xen: '4.17.3', kernel: '6.1.0', memory: '2048', toolstack: 'xl' });
    observeFacts(f, ev('nothing here', 'kernel'));
    observeFacts(f, ev('Linux version 7.0.0', 'hypervisor'));
    observeFacts(f, ev('System RAM: 1MB', 'kernel'));
    expect(f).toEqual({ xen: '4.17.3', kernel: '6.1.0', memory: '2048', toolstack: 'xl' });
  });

  it('names each fact line by a literal the prefilter can look for', () => {
    for (const [m] of [['Xen version 4.1'], ['xen_version : 4.1'], ['Linux version 6.1'], ['System RAM: 1MB'], ['total_memory : 1']])
      expect(FACT_LITERALS.some((l) => m!.includes(l))).toBe(true);
  });
});

describe('facts: versions', () => {
  it('compares dotted versions part by part, numerically, missing parts as 0', () => {
    expect(compareVersions('4.17.3', '4.17.3')).toBe(0);
    expect(compareVersions('4.17', '4.17.0')).toBe(0);
    expect(compareVersions('4.17.0', '4.17')).toBe(0);
    expect(compareVersions('4.9', '4.17')).toBe(-1);
    expect(compareVersions('4.17', '4.9')).toBe(1);
    expect(compareVersions('4.17.1', '4.17')).toBe(1);
    expect(compareVersions('4.17', '4.17.1')).toBe(-1);
    expect(compareVersions('5', '4.99.99')).toBe(1);
    expect(compareVersions('4.2.10', '4.2.9')).toBe(1);
    expect(compareVersions('4.x.1', '4.0.1')).toBe(0);
    expect(compareVersions('4.x.1', '4.0.2')).toBe(-1);
    expect(compareVersions('', '0')).toBe(0);
    expect(compareVersions('4.17.3-pre', '4.17.3')).toBe(0);
  });

  it('reads ranges: each comparison, a bare version as =, a hyphen range, every part must hold', () => {
    const table: [string, string, boolean][] = [
      ['4.2.0', '>=4.2.0', true],
      ['4.1.9', '>=4.2.0', false],
      ['4.2.1', '>=4.2.0', true],
      ['4.2.0', '<=4.2.0', true],
      ['4.2.1', '<=4.2.0', false],
      ['4.1', '<=4.2.0', true],
      ['4.2.0', '>4.2.0', false],
      ['4.2.1', '>4.2.0', true],
      ['4.1', '>4.2.0', false],
      ['4.2.0', '<4.2.0', false],
      ['4.1.9', '<4.2.0', true],
      ['4.3', '<4.2.0', false],
      ['4.0.1', '=4.0.1', true],
      ['4.0.2', '=4.0.1', false],
      ['4.0.0', '=4.0.1', false],
      ['4.0.1', '4.0.1', true],
      ['4.0.2', '4.0.1', false],
      ['4.2.5', '>=4.2.0 <4.3', true],
      ['4.3.0', '>=4.2.0 <4.3', false],
      ['4.1.0', '>=4.2.0 <4.3', false],
      ['4.2.0', '  >=4.2.0   <4.3  ', true],
      ['4.3.0', '  >=4.2.0   <4.3  ', false],
      ['4.2.0', '4.2.0 - 4.2.1', true],
      ['4.2.1', '4.2.0 - 4.2.1', true],
      ['4.2.0.5', '4.2.0 - 4.2.1', true],
      ['4.1.9', '4.2.0 - 4.2.1', false],
      ['4.2.2', '4.2.0 - 4.2.1', false],
      ['4.2.1', ' 4.2.0  -  4.2.1 ', true],
      ['4.2.2', ' 4.2.0  -  4.2.1 ', false],
      ['4.2.0', '', true],
      ['4.2.0', 'any', true],
      ['4.2.0', '~4.1 >=4.3', false],
      ['4.2.0', '>=4.3 ~4.1', false],
      ['4.2.0', '=>4.3', true],
    ];
    for (const [v, r, want] of table) expect([v, r, inRange(v, r)]).toEqual([v, r, want]);
  });

  it('reads a hyphen range only with blanks around the hyphen, else as parts', () => {
    // "4.2.0-4.2.1" is no part at all (ignored); "4.2.0 -4.2.1" is "=4.2.0" and an ignored "-4.2.1"
    expect(inRange('9.9', '4.2.0-4.2.1')).toBe(true);
    expect(inRange('4.2.0', '4.2.0 -4.2.1')).toBe(true);
    expect(inRange('4.2.1', '4.2.0 -4.2.1')).toBe(false);
    expect(inRange('4.2.1', 'x 4.2.0 - 4.2.1')).toBe(false);
    expect(inRange('4.2.0', '4.2.0 - 4.2.1 x')).toBe(false);
    expect(inRange('4.2.1', '4.2.0 - 4.2.1 x')).toBe(false);
  });
});

describe('facts: the applies gate', () => {
  it('lets a rule apply unless a known fact is outside its range', () => {
    expect(ruleApplies(undefined, { xen: '4.1' })).toBe(true);
    expect(ruleApplies({}, { xen: '4.1' })).toBe(true);
    expect(ruleApplies({ xen: '>=4.2' }, {})).toBe(true);
    expect(ruleApplies({ xen: '>=4.2' }, { xen: '4.1' })).toBe(false);
    expect(ruleApplies({ xen: '>=4.2' }, { xen: '4.2' })).toBe(true);
    expect(ruleApplies({ xen: '>=4.2' }, { kernel: '1.0', memory: '1', toolstack: 'xm' })).toBe(true);
    expect(ruleApplies({ kernel: '<5' }, { kernel: '6.1.0' })).toBe(false);
    expect(ruleApplies({ kernel: '<5' }, { kernel: '4.19' })).toBe(true);
    expect(ruleApplies({ kernel: '<5' }, { xen: '9', memory: '9', toolstack: 'xl' })).toBe(true);
    expect(ruleApplies({ memory: '>=262144' }, { memory: '131072' })).toBe(false);
    expect(ruleApplies({ memory: '>=262144' }, { memory: '393215' })).toBe(true);
    expect(ruleApplies({ memory: '>=262144' }, { xen: '1', kernel: '1', toolstack: 'xl' })).toBe(true);
    expect(ruleApplies({ toolstack: 'xm' }, { toolstack: 'xl' })).toBe(false);
    expect(ruleApplies({ toolstack: 'xm' }, { toolstack: 'xm' })).toBe(true);
    expect(ruleApplies({ toolstack: 'xl' }, {})).toBe(true);
    expect(ruleApplies({ toolstack: 'xl' }, { xen: '1', kernel: '1', memory: '1' })).toBe(true);
  });

  it('needs every gate to hold', () => {
    const all = { xen: '>=4.2', kernel: '<5', memory: '>=1024', toolstack: 'xl' as const };
    const ok: HostFacts = { xen: '4.17', kernel: '4.19', memory: '2048', toolstack: 'xl' };
    expect(ruleApplies(all, ok)).toBe(true);
    expect(ruleApplies(all, { ...ok, xen: '4.1' })).toBe(false);
    expect(ruleApplies(all, { ...ok, kernel: '6.1' })).toBe(false);
    expect(ruleApplies(all, { ...ok, memory: '512' })).toBe(false);
    expect(ruleApplies(all, { ...ok, toolstack: 'xm' })).toBe(false);
  });
});
