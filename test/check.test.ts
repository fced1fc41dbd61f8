/**
 * `xendoctor check` through the real binary, on the fixture trees of test/fixtures/hosts/.
 *
 * healthy/ is a whole host (files under etc/, boot/, proc/, sys/ plus captured xl-info.txt, xl-list.txt
 * and df.txt fed with --xl-info/--xl-list/--df). Each other folder holds one misconfiguration: only the
 * files that differ from healthy/ (and a DELETE list of files to remove); the tests lay it over a copy of
 * healthy/. notes-squeeze/ (the operator notes' Debian 6 / Xen 4.0 / xend host, without captures) and
 * lab-xen417/ (real `xl info` / `xl list` from the Xen lab, Xen 4.17) stand alone.
 */
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT, tmp, turn, xd, type Run } from './helpers.js';
import type { CheckReport } from '../src/check/index.js';

const HOSTS = join(ROOT, 'test', 'fixtures', 'hosts');

function parse(r: Run): CheckReport {
  return JSON.parse(r.stdout) as CheckReport;
}

/** A copy of healthy/ with the overlay NAME laid over it; returns the root. */
function host(name: string | null): string {
  const dir = tmp('xd-host-');
  cpSync(join(HOSTS, 'healthy'), dir, { recursive: true, verbatimSymlinks: true });
  if (name) {
    cpSync(join(HOSTS, name), dir, { recursive: true, verbatimSymlinks: true, force: true });
    const del = join(dir, 'DELETE');
    if (existsSync(del)) {
      for (const p of readFileSync(del, 'utf8').split('\n').filter(Boolean)) rmSync(join(dir, p), { recursive: true, force: true });
      rmSync(del);
    }
  }
  return dir;
}

/** `check --root DIR` with the captures of the tree. */
function check(root: string, ...extra: string[]): Run {
  const caps = (['xl-info', 'xl-list', 'df'] as const).flatMap((c) =>
    existsSync(join(root, `${c}.txt`)) ? [`--${c}`, join(root, `${c}.txt`)] : [],
  );
  return xd(['check', '--root', root, ...caps, ...extra]);
}

const rules = (j: CheckReport) => j.findings.map((f) => f.rule).sort();

/** Each overlay is checked once (the binary is slow to start); later tests reuse the run. */
const runs = new Map<string, Run>();
function checked(name: string): Run {
  let r = runs.get(name);
  if (!r) {
    r = check(host(name), '--format', 'json');
    runs.set(name, r);
  }
  return r;
}
const findings = (name: string) => parse(checked(name)).findings;

/** The {placeholders} of a configuration rule file. */
function placeholders(rule: string): string[] {
  const text = readFileSync(join(ROOT, 'rules', 'config', `${rule}.yaml`), 'utf8');
  return [...new Set([...text.matchAll(/(?<!\{)\{([A-Za-z_]\w*)\}/g)].map((m) => m[1]!))];
}

describe('check: a healthy host', () => {
  let root: string;
  beforeAll(() => {
    root = host(null);
  });

  it('finds nothing, skips nothing, exits 0 and lists what it read', () => {
    const r = check(root, '--format', 'json');
    expect(r.stderr).toBe('');
    const j = parse(r);
    expect(j.findings).toEqual([]);
    expect(j.skipped).toEqual([]);
    expect(r.code).toBe(0);
    const read = j.inputs.map((i) => i.source.replace(root, ''));
    for (const f of [
      '/etc/default/grub',
      '/etc/default/grub.d/xen.cfg',
      '/boot/grub/grub.cfg',
      '/etc/xen/xl.conf',
      '/etc/default/xendomains',
    ])
      expect(read).toContain(f);
    expect(read).toContain('/etc/sysctl.conf');
    expect(read).toContain('/proc/sys/vm/min_free_kbytes');
    expect(read).toContain('/sys/block/sda/queue/scheduler');
    expect(read.some((s) => s.endsWith('xl-info.txt'))).toBe(true);
    expect(j.inputs.every((i) => i.errors.length === 0)).toBe(true);
  });

  it('prints "no findings" as text', () => {
    const r = check(root);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/xendoctor \S+: no findings\n$/);
    expect(r.stdout).not.toContain('SKIPPED');
  });

  it('without captures lists the live checks as skipped, with the reason, in JSON and text', () => {
    const r = xd(['check', '--root', root, '--format', 'json']);
    const j = parse(r);
    expect(r.code).toBe(0);
    const skipped = Object.fromEntries(j.skipped.map((s) => [s.check, s.reason]));
    expect(skipped['xl-info']).toMatch(/--root given: `xl info` is not run/);
    expect(skipped['xl-list']).toMatch(/--root given/);
    expect(skipped['disk-space']).toMatch(/free space is not measured/);
    expect(skipped['guest-cpus']).toMatch(/CPU count is unknown/);
    const text = xd(['check', '--root', root]).stdout;
    expect(text).toContain('== SKIPPED (');
    expect(text).toMatch(/ {3}xl-info: --root given/);
    expect(text.trimEnd().split('\n').pop()).toMatch(/^xendoctor \S+: /);
  });
});

/** Misconfiguration overlay → the findings it must give (rule ids, sorted) and the exit code. */
const CASES: [string, string[], number][] = [
  ['dom0-uncapped', ['dom0-memory-not-capped'], 2],
  ['ballooning-off-uncapped', ['dom0-ballooning-disabled', 'dom0-memory-not-capped'], 2],
  ['ballooning-mismatch', ['config-ballooning-mismatch'], 1],
  ['dom0-mem-no-max', ['config-dom0-mem-no-max'], 1],
  [
    'misspelt-options',
    ['config-dom0-no-reserved-cpu', 'config-guest-cpus-pinned', 'xen-unknown-boot-parameter', 'xen-unknown-boot-parameter'],
    1,
  ],
  [
    'wrong-cmdline',
    [
      'config-linux-option-on-xen-cmdline',
      'config-linux-option-on-xen-cmdline',
      'config-xen-option-on-linux-cmdline',
      'dom0-ballooning-disabled',
      'dom0-memory-not-capped',
    ],
    2,
  ],
  ['boot-scrub', ['xen-boot-scrub'], 1],
  ['scheduler-sedf', ['xen-scheduler-not-credit'], 1],
  ['xendomains-save', ['xendomains-save-on-shutdown'], 2],
  ['min-free-low', ['config-min-free-kbytes-low'], 1],
  ['io-noop', ['config-io-scheduler-noop'], 1],
  ['guests-pinned', ['config-guest-cpus-pinned', 'config-guest-cpus-pinned'], 1],
  ['low-disk', ['config-low-disk-space', 'config-low-disk-space'], 2],
];

describe.each(CASES)('check: %s', (name, expected, code) => {
  let j: CheckReport;
  let r: Run;
  beforeAll(() => {
    r = checked(name);
    j = parse(r);
  });

  it(`gives exactly ${expected.join(', ')} and exits ${code}`, () => {
    expect(rules(j)).toEqual(expected);
    expect(r.code).toBe(code);
  });

  it('gives every finding its evidence, diagnosis, fix and references, with no placeholder left', () => {
    for (const f of j.findings) {
      expect(f.evidence.length).toBeGreaterThan(0);
      expect(f.evidence.every((e) => e.time === null && typeof e.line === 'number')).toBe(true);
      expect(f.first).toBeNull();
      expect(f.host).toBe('xen07');
      expect(f.fix.length).toBeGreaterThan(0);
      expect(f.references.length).toBeGreaterThan(0);
      for (const name of placeholders(f.rule)) for (const t of [f.title, f.diagnosis, ...f.fix]) expect(t).not.toContain(`<${name}>`);
      expect(f.id).toMatch(/^[0-9a-f]{16}$/);
    }
    expect(j.skipped).toEqual([]);
  });
});

describe('check: the findings carry the documented fix, filled in', () => {
  it('dom0 uncapped on a 384 GB host is an error; the fix gives dom0_mem with max: and the ballooning switch', () => {
    const f = findings('dom0-uncapped')[0]!;
    expect(f.severity).toBe('error');
    expect(f.count).toBe(3);
    expect(f.diagnosis).toContain('384 GiB');
    expect(f.diagnosis).toContain('the running Xen');
    expect(f.fix.join('\n')).toContain('GRUB_CMDLINE_XEN="dom0_mem=8192M,max:8192M dom0_max_vcpus=4 dom0_vcpus_pin"');
    expect(f.fix.join('\n')).toContain('update-grub');
    expect(f.fix.join('\n')).toContain('(enable-dom0-ballooning no)');
  });

  it('xend ballooning off with dom0 uncapped: error, with xend steps only', () => {
    const j = parse(checked('ballooning-off-uncapped'));
    const f = j.findings.find((x) => x.rule === 'dom0-ballooning-disabled')!;
    expect(f.severity).toBe('error');
    expect(f.key).toEqual({ toolstack: 'xend' });
    expect(f.evidence[0]!.text).toBe('(enable-dom0-ballooning no)');
    expect(f.diagnosis).toMatch(/Domain-0 with 392810 MiB of 393203 MiB; Xen has 130 MiB free/);
    expect(f.fix.join('\n')).toContain('(dom0-min-mem 8192)');
    expect(f.fix.join('\n')).toContain('xm mem-set 0 8192');
    expect(f.fix.join('\n')).not.toContain('xl mem-set');
  });

  it('xl autoballoon=1 with dom0_mem: the fix sets autoballoon="off"', () => {
    const f = findings('ballooning-mismatch')[0]!;
    expect(f.key).toEqual({ toolstack: 'xl' });
    expect(f.evidence[0]!.text).toBe('autoballoon=1');
    expect(f.fix.join('\n')).toContain('autoballoon="off"');
  });

  it('dom0_mem without max: suggests the same size as maximum', () => {
    const f = findings('dom0-mem-no-max')[0]!;
    expect(f.title).toContain('dom0_mem=8192M has no max:8192M');
    expect(f.fix[0]).toContain('dom0_mem=8192M,max:8192M');
  });

  it('misspelt options get the documented spelling, from GRUB, grub.cfg and the running Xen', () => {
    const j = parse(checked('misspelt-options'));
    const unknown = j.findings.filter((f) => f.rule === 'xen-unknown-boot-parameter');
    expect(unknown.map((f) => f.key.option).sort()).toEqual(['dom0maxvcpus', 'dom0vcpuspin']);
    const m = unknown.find((f) => f.key.option === 'dom0maxvcpus')!;
    expect(m.fix[0]).toContain('Replace dom0maxvcpus=4 with the documented spelling (dom0_max_vcpus)');
    expect(m.count).toBe(3);
    expect(m.evidence.map((e) => e.source.replace(/^.*\/(?=[^/]+$)/, ''))).toEqual(['xl-info.txt', 'grub', 'grub.cfg']);
    expect(unknown.find((f) => f.key.option === 'dom0vcpuspin')!.diagnosis).toContain('closest to it is dom0_vcpus_pin');
    const cpu = j.findings.find((f) => f.rule === 'config-dom0-no-reserved-cpu')!;
    expect(cpu.diagnosis).toContain('misspelt form');
    // with dom0's cores no longer reserved, db01 (cpus 4-23) is confined to 20 of 24 cores
    expect(j.findings.find((f) => f.rule === 'config-guest-cpus-pinned')!.key).toEqual({ guest: 'db01' });
  });

  it('Linux options on the Xen line and Xen options on the Linux line, from every place they are written', () => {
    const j = parse(checked('wrong-cmdline'));
    const linuxOnXen = j.findings.filter((f) => f.rule === 'config-linux-option-on-xen-cmdline').map((f) => f.key.option);
    expect(linuxOnXen.sort()).toEqual(['console', 'earlyprintk']);
    const xenOnLinux = j.findings.find((f) => f.rule === 'config-xen-option-on-linux-cmdline')!;
    expect(xenOnLinux.key).toEqual({ option: 'dom0_mem' });
    expect(xenOnLinux.count).toBe(3);
    expect(xenOnLinux.diagnosis).toContain('GRUB_CMDLINE_LINUX in /etc/default/grub');
    expect(xenOnLinux.diagnosis).toContain("dom0's running kernel (/proc/cmdline)");
    expect(xenOnLinux.fix[0]).toContain('GRUB_CMDLINE_XEN');
  });

  it('boot scrubbing on Xen 4.1 on a big host is a warning with no-bootscrub in the fix', () => {
    const f = findings('boot-scrub')[0]!;
    expect(f.severity).toBe('warning');
    expect(f.diagnosis).toContain('Xen 4.1');
    expect(f.fix.join('\n')).toContain('no-bootscrub');
    expect(f.fix.join('\n')).not.toContain('Remove bootscrub=true');
  });

  it('sched=sedf seen on the command line and in xl info is one finding', () => {
    const f = findings('scheduler-sedf')[0]!;
    expect(f.key).toEqual({ scheduler: 'sedf' });
    expect(f.evidence.some((e) => e.text === 'xen_scheduler : sedf')).toBe(true);
    expect(f.evidence.some((e) => e.text.includes('sched=sedf'))).toBe(true);
    expect(f.fix.join('\n')).toContain('Remove sched=sedf');
  });

  it('XENDOMAINS_SAVE with 160 GiB of guests and 44 GiB free: error, with the sizes', () => {
    const f = findings('xendomains-save')[0]!;
    expect(f.severity).toBe('error');
    expect(f.diagnosis).toContain('The images need 160.0 GiB');
    expect(f.diagnosis).toMatch(/\(\/var\) has 43\.9 GiB free/);
    expect(f.diagnosis).toContain('XENDOMAINS_RESTORE is on');
    expect(f.fix[0]).toContain('XENDOMAINS_SAVE= (empty) and XENDOMAINS_RESTORE=false');
    expect(f.evidence.map((e) => e.text)).toContain('XENDOMAINS_SAVE=/var/lib/xen/save');
  });

  it('vm.min_free_kbytes: the file applied last decides, and the fix gives 131072', () => {
    const f = findings('min-free-low')[0]!;
    expect(f.title).toBe('vm.min_free_kbytes is below 131072 (live 67584, configured 65536)');
    expect(f.evidence[0]!.source).toMatch(/sysctl\.d\/50-lowmem\.conf$/);
    expect(f.fix).toContain('Apply it now: sysctl vm.min_free_kbytes=131072 (or sysctl --system to apply all files).');
  });

  it("noop is flagged on the disk under the guests' LVM volumes, not on a disk without guest storage", () => {
    const f = findings('io-noop')[0]!;
    expect(f.key).toEqual({ disk: 'sda' });
    expect(f.fix[0]).toBe('Switch now: echo cfq > /sys/block/sda/queue/scheduler');
    expect(f.fix[1]).toContain('ATTR{queue/scheduler}="cfq"');
    expect(f.diagnosis).toContain('holds guest storage');
  });

  it("guests pinned to few cores: narrower than vcpus, and the notes' cpus=0-3 vcpus=4 on 24 cores", () => {
    const j = parse(checked('guests-pinned'));
    const app01 = j.findings.find((f) => f.key.guest === 'app01')!;
    expect(app01.diagnosis).toContain('0-3 (4 of 24)');
    expect(app01.fix[0]).toContain('cpus = "4-23"');
    const app02 = j.findings.find((f) => f.key.guest === 'app02')!;
    expect(app02.diagnosis).toContain('more vCPUs (4) than CPUs it may run on (2)');
  });

  it('low disk space: nearly full is an error, low a warning', () => {
    const j = parse(checked('low-disk'));
    expect(j.findings.map((f) => [f.key.mount, f.severity])).toEqual([
      ['/', 'error'],
      ['/var/log', 'warning'],
    ]);
  });
});

describe('check: 100 guests with the same pinning (issue 16 item 3)', () => {
  it('gives one finding per condition listing the guests in natural order, not one per guest', () => {
    const root = host('guests-pinned');
    for (const f of ['app01.cfg', 'app02.cfg']) rmSync(join(root, 'etc/xen', f));
    for (let i = 1; i <= 100; i++)
      writeFileSync(
        join(root, 'etc/xen', `g${i}.cfg`),
        `name = "g${i}"\nmemory = 1024\ncpus = '0-3'\nvcpus = '4'\nvif = [ 'bridge=xenbr0' ]\n`,
      );
    writeFileSync(join(root, 'etc/xen', 'odd.cfg'), `name = "odd"\nmemory = 1024\ncpus = ["0", "1"]\nvcpus = 4\n`);
    const r = check(root);
    const j = parse(check(root, '--format', 'json'));
    const pinned = j.findings.filter((f) => f.rule === 'config-guest-cpus-pinned');
    expect(pinned).toHaveLength(2);
    const many = pinned.find((f) => f.count === 100)!;
    expect(many.title).toBe('100 guests are pinned to few physical CPUs (cpus=0-3): g1, g2, g3, g4, g5, g6, g7, g8, g9, g10 and 90 more');
    expect(many.fix.join('\n')).toMatch(/for g in g1 g2 g3 g4 g5 g6 g7 g8 g9 g10 g11 .* g99 g100; do xl vcpu-pin \$g all/);
    expect(pinned.find((f) => f !== many)!.key).toEqual({ guest: 'odd' });
    // the text report stays short: two findings, not a hundred
    expect(r.stdout.split('\n').length).toBeLessThan(150);
  });
});

describe('check: a crowded host (generated: 130 guests on xenbr0)', () => {
  let j: CheckReport;
  let code: number;
  beforeAll(() => {
    const root = host(null);
    const rows = [
      'Name                                        ID   Mem VCPUs\tState\tTime(s)',
      'Domain-0   0  8192     4     r-----    5123.4',
    ];
    for (let i = 1; i <= 130; i++) {
      const name = `g${String(i).padStart(3, '0')}`;
      writeFileSync(
        join(root, 'etc/xen', `${name}.cfg`),
        `name = "${name}"\nmemory = 1024\nvcpus = 1\nvif = [ "mac=00:16:3e:01:00:${(i % 256).toString(16)}" ]\n`,
      );
      symlinkSync(`../${name}.cfg`, join(root, 'etc/xen/auto', `${name}.cfg`));
      writeFileSync(join(root, 'sys/class/net/xenbr0/brif', `vif${i + 10}.0`), '');
      rows.push(`${name}   ${i + 10}  1024     1     -b----     1.0`);
    }
    writeFileSync(join(root, 'xl-list.txt'), rows.join('\n') + '\n');
    const r = check(root, '--format', 'json');
    j = parse(r);
    code = r.code;
  });

  it('reports the bridge over budget in the configs and live, and too many guests', () => {
    expect(rules(j)).toEqual(['bridge-port-overload', 'config-bridge-over-budget', 'config-too-many-guests']);
    expect(code).toBe(2);
    const cfg = j.findings.find((f) => f.rule === 'config-bridge-over-budget')!;
    expect(cfg.key).toEqual({ bridge: 'xenbr0' });
    expect(cfg.severity).toBe('error');
    expect(cfg.title).toBe('131 guest interfaces configured on bridge xenbr0 (budget 64)');
    expect(cfg.count).toBe(131);
    expect(cfg.evidence.length).toBe(5);
    const live = j.findings.find((f) => f.rule === 'bridge-port-overload')!;
    expect(live.title).toBe('Bridge xenbr0 carries 131 guest ports (budget 64)');
    expect(live.fix[0]).toContain('ls /sys/class/net/xenbr0/brif');
    const many = j.findings.find((f) => f.rule === 'config-too-many-guests')!;
    expect(many.severity).toBe('warning');
    expect(many.title).toContain('130 guests');
    expect(many.diagnosis).toContain('xl-list.txt (running guests)');
  });
});

describe("check: the operator notes' Debian 6 host (copied files only, no captures)", () => {
  it('finds the misspelt options, boot scrubbing on Xen 4.0, XENDOMAINS_SAVE, the sysctl and the pinned guest', () => {
    const r = xd(['check', '--root', join(HOSTS, 'notes-squeeze'), '--format', 'json']);
    const j = parse(r);
    expect(rules(j)).toEqual([
      'config-dom0-no-reserved-cpu',
      'config-guest-cpus-pinned',
      'config-min-free-kbytes-low',
      'xen-boot-scrub',
      'xen-unknown-boot-parameter',
      'xen-unknown-boot-parameter',
      'xendomains-save-on-shutdown',
    ]);
    expect(r.code).toBe(1);
    expect(j.findings.every((f) => f.host === 'xen12')).toBe(true);
    expect(j.findings.find((f) => f.rule === 'xen-boot-scrub')!.diagnosis).toContain('(Xen 4.0)');
    // the python expression in the guest config does not derail the parser
    expect(j.findings.find((f) => f.rule === 'config-guest-cpus-pinned')!.severity).toBe('info');
    // xend has ballooning off and dom0-min-mem = dom0_mem: nothing to say
    expect(rules(j)).not.toContain('config-ballooning-mismatch');
    const skipped = j.skipped.map((s) => s.check);
    for (const c of ['xl-info', 'xl-list', 'io-scheduler', 'bridge-ports', 'disk-space', 'xendomains-space', 'min-free-kbytes-live'])
      expect(skipped).toContain(c);
  });
});

describe('check: real `xl info` / `xl list` from the Xen lab (Xen 4.17, dom0_mem=512M)', () => {
  it('reads the running command line and the host, and knows all of its options', () => {
    const dir = join(HOSTS, 'lab-xen417');
    const r = xd([
      'check',
      '--root',
      dir,
      '--xl-info',
      join(dir, 'xl-info.txt'),
      '--xl-list',
      join(dir, 'xl-list.txt'),
      '--format',
      'json',
    ]);
    const j = parse(r);
    expect(rules(j)).toEqual(['config-dom0-mem-no-max', 'config-dom0-no-reserved-cpu']);
    expect(j.findings[0]!.host).toBe('xenlab-dom0');
    expect(j.findings[0]!.evidence[0]!.text).toContain('dom0_mem=512M');
    expect(j.findings[0]!.diagnosis).toContain('the running Xen');
    expect(r.code).toBe(1);
  });
});

describe('check: formats, options and failures', () => {
  let root: string;
  beforeAll(() => {
    root = host('io-noop');
  });

  it('ndjson prints one finding per line and the skipped checks on stderr', () => {
    const r = xd(['check', '--root', root, '--format', 'ndjson']);
    const lines = r.stdout.trim().split('\n');
    expect(lines.length).toBe(1);
    expect(JSON.parse(lines[0]!).rule).toBe('config-io-scheduler-noop');
    expect(r.stderr).toContain('xendoctor: skipped xl-info: --root given');
  });

  it('markdown has the findings and a table of skipped checks', () => {
    const r = xd(['check', '--root', root, '--format', 'markdown']);
    expect(r.stdout).toContain('config-io-scheduler-noop');
    expect(r.stdout).toContain('## Skipped checks');
    expect(r.stdout).toContain('| xl-info |');
  });

  it('--only, --exclude, --min-severity and --fail-on work as for scan', async () => {
    // five runs: the worker's loop turns between them (53.6 s as one stretch at load 12-16, test/setup/stall.ts)
    expect(parse(check(root, '--format', 'json', '--exclude', 'config-io-scheduler-noop')).findings).toEqual([]);
    await turn();
    expect(check(root, '--exclude', 'config-io-scheduler-noop').code).toBe(0);
    await turn();
    expect(check(root, '--fail-on', 'error').code).toBe(0);
    await turn();
    expect(parse(check(root, '--format', 'json', '--min-severity', 'error')).findings).toEqual([]);
    await turn();
    expect(parse(check(root, '--format', 'json', '--only', 'config-io-scheduler-noop')).findings.length).toBe(1);
  });

  it('an unknown rule id or a --root that is no folder is a usage error (exit 3)', () => {
    const a = check(root, '--only', 'no-such-rule');
    expect(a.code).toBe(3);
    expect(a.stderr).toContain('unknown configuration rule id "no-such-rule"');
    const b = xd(['check', '--root', join(root, 'nope')]);
    expect(b.code).toBe(3);
    expect(b.stderr).toContain('is not a folder');
  });

  it('a tree without any sign of Xen: everything skipped, exit 3', () => {
    const empty = tmp('xd-empty-');
    mkdirSync(join(empty, 'etc'));
    const r = xd(['check', '--root', empty, '--format', 'json']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('nothing could be checked');
    const j = parse(r);
    expect(j.skipped.map((s) => s.check)).toContain('xen-host');
    expect(j.findings).toEqual([]);
  });

  it('an unreadable file is an input with an error and its check is skipped', () => {
    const dir = host(null);
    chmodSync(join(dir, 'etc/default/xendomains'), 0);
    // root reads everything: as root (CI), run xendoctor as nobody, who may read the rest of the tree
    const asRoot = process.getuid?.() === 0;
    if (asRoot) chmodSync(dir, 0o755);
    const caps = (['xl-info', 'xl-list', 'df'] as const).flatMap((c) =>
      existsSync(join(dir, `${c}.txt`)) ? [`--${c}`, join(dir, `${c}.txt`)] : [],
    );
    const r = xd(['check', '--root', dir, ...caps, '--format', 'json'], undefined, {
      env: { ...process.env, TZ: 'UTC', NO_COLOR: '1', HOME: dir },
      ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
    });
    const j = parse(r);
    expect(j.inputs.find((i) => i.source.endsWith('etc/default/xendomains'))?.errors[0]).toContain('permission denied');
    expect(j.skipped.find((s) => s.check === 'xendomains')?.reason).toContain('permission denied');
  });
});

describe('check: live mode runs xl (a stand-in xl on PATH), --root never does', () => {
  let bin: string;
  let marker: string;
  beforeAll(() => {
    bin = tmp('xd-xl-');
    marker = join(bin, 'ran');
    const info = readFileSync(join(HOSTS, 'scheduler-sedf', 'xl-info.txt'), 'utf8');
    const list = readFileSync(join(HOSTS, 'healthy', 'xl-list.txt'), 'utf8');
    writeFileSync(join(bin, 'info.txt'), info);
    writeFileSync(join(bin, 'list.txt'), list);
    writeFileSync(
      join(bin, 'xl'),
      `#!/bin/sh\necho "$@" >> '${marker}'\ncase "$1" in info) cat '${join(bin, 'info.txt')}';; list) cat '${join(bin, 'list.txt')}';; *) exit 1;; esac\n`,
    );
    chmodSync(join(bin, 'xl'), 0o755);
  });

  const env = () => ({ ...process.env, TZ: 'UTC', NO_COLOR: '1', PATH: `${bin}:${process.env.PATH}` });

  it('without --root: runs `xl info` and `xl list` and checks what they say', () => {
    const r = xd(['check', '--format', 'json', '--only', 'xen-scheduler-not-credit'], undefined, { env: env() });
    const j = parse(r);
    expect(j.inputs.map((i) => i.source)).toEqual(expect.arrayContaining(['xl info', 'xl list']));
    expect(j.findings.map((f) => f.rule)).toEqual(['xen-scheduler-not-credit']);
    expect(j.findings[0]!.evidence.some((e) => e.source === 'xl info' && e.text === 'xen_scheduler : sedf')).toBe(true);
    expect(readFileSync(marker, 'utf8')).toContain('info');
    expect(r.code).toBe(1);
  });

  it('with --root: never runs xl', () => {
    rmSync(marker, { force: true });
    const r = xd(['check', '--root', join(HOSTS, 'notes-squeeze'), '--format', 'json'], undefined, { env: env() });
    expect(r.code).toBe(1);
    expect(existsSync(marker)).toBe(false);
  });
});
