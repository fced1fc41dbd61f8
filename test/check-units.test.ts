/** The pieces of `xendoctor check`: configuration rule files, and the parsers of the files and outputs it reads. */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RuleFileError } from '../src/errors.js';
import { configRulesDir, loadConfigRules } from '../src/check/config-rules.js';
import { fillPlaceholders } from '../src/engine/findings.js';
import { loadCatalogue } from '../src/engine/catalogue.js';
import { readShellAssignments, type ShellVar } from '../src/check/shell.js';
import { classifyXenWord, isXenOnlyWord, readBoolean, readDom0Mem, splitCmdline, xenSizeMiB, xenVersionOf } from '../src/check/cmdline.js';
import { suggestXenOption } from '../src/check/xen-options.js';
import { cpusAllowed, diskTarget, parseGuestConfig, vifBridge } from '../src/check/guests.js';
import { parseXlInfo, parseXlList } from '../src/check/running-host.js';
import { parseDf } from '../src/check/space.js';
import { parseScheduler } from '../src/check/scheduler.js';
import { ROOT, tmp } from './helpers.js';

describe('configuration rules (rules/config/*.yaml)', () => {
  const rules = loadConfigRules();
  const src = (m: string) => readFileSync(join(ROOT, 'src', 'check', `${m}.ts`), 'utf8');

  it('are read by the same reader as log rules: a fault is worded the same in both kinds', () => {
    // the same two faults in a config rule and in a log rule: a missing title, an unknown field
    const dir = tmp('xd-cfg-rules-');
    writeFileSync(
      join(dir, 'config-broken.yaml'),
      'id: config-broken\nseverity: info\ncheck: guests\ndiagnosis: a broken rule file\nfix: [mend the file]\ncolour: red\n',
    );
    const logDir = tmp('xd-log-rules-');
    writeFileSync(
      join(logDir, 'log-broken.yaml'),
      "id: log-broken\nseverity: info\npatterns: ['abcde']\ndiagnosis: a broken rule file\nfix: [mend the file]\ncolour: red\n",
    );
    const messages = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as RuleFileError).problems.map((p) => `${p.line ?? ''} ${p.field}: ${p.message}`).sort();
      }
      return [];
    };
    const config = messages(() => loadConfigRules(dir));
    const log = messages(() => loadCatalogue({ extraDirs: [logDir] }));
    expect(config).toEqual(['1 title: required field is missing', '6 colour: unknown field']);
    expect(log).toEqual(config);
  });

  it('all load and validate against config-rule.schema.json', () => {
    expect(rules.size).toBe(readdirSync(configRulesDir()).filter((f) => f.endsWith('.yaml')).length);
    expect(rules.size).toBeGreaterThanOrEqual(18);
  });

  it('each names the check that reports it, and that check reports it', () => {
    for (const r of rules.values()) {
      for (const c of Array.isArray(r.check) ? r.check : [r.check]) expect(src(c), `${r.id} in src/check/${c}.ts`).toContain(`'${r.id}'`);
    }
  });

  it('every rule id a check reports has its rule file', () => {
    const ids = readdirSync(join(ROOT, 'src', 'check'))
      .filter((f) => f.endsWith('.ts'))
      .flatMap((f) => [...src(f.replace(/\.ts$/, '')).matchAll(/rule: '([a-z0-9-]+)'/g)].map((m) => m[1]!));
    expect(ids.length).toBeGreaterThan(10);
    expect(ids.filter((id) => !rules.has(id))).toEqual([]);
  });

  it('each is listed in the README', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect([...rules.keys()].filter((id) => !readme.includes(`\`${id}\``))).toEqual([]);
  });

  it('a broken rule file is reported with file, line and field, every problem at once', () => {
    const dir = tmp('xd-crules-');
    writeFileSync(join(dir, 'a.yaml'), 'id: a\ntitle: A\nseverity: bad\ncheck: grub\ndiagnosis: x\nfix: [y]\nextra: 1\n');
    writeFileSync(join(dir, 'b.yaml'), 'id: not-b\ntitle: B\nseverity: info\ncheck: grub\ndiagnosis: x\nfix: [y]\n');
    let err: unknown;
    try {
      loadConfigRules(dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RuleFileError);
    const problems = (err as RuleFileError).problems.map((p) => `${p.file.replace(dir + '/', '')}:${p.line ?? ''}:${p.field}`);
    expect(problems).toEqual(expect.arrayContaining(['a.yaml:3:severity', 'a.yaml:7:extra', 'b.yaml:1:id']));
  });

  it('fills placeholders, keeps {{literal}} braces and shows a missing value', () => {
    expect(fillPlaceholders('echo {x} > /sys/block/{disk}/queue/scheduler; ATTR{{queue/scheduler}}', { x: 'cfq' })).toBe(
      'echo cfq > /sys/block/<disk>/queue/scheduler; ATTR{queue/scheduler}',
    );
  });
});

describe('shell variable files', () => {
  const read = (text: string, env: Record<string, string> = {}) => {
    const vars = new Map<string, ShellVar>();
    readShellAssignments(text, 'f', vars, env);
    return Object.fromEntries([...vars].map(([k, v]) => [k, v.value]));
  };

  it('reads quotes, expansions, exports and multi-line values as the shell would', () => {
    const v = read(
      [
        '# comment',
        'GRUB_CMDLINE_XEN="dom0_mem=4G,max:4G"',
        'GRUB_CMDLINE_XEN_DEFAULT="$GRUB_CMDLINE_XEN_DEFAULT dom0_max_vcpus=4"',
        "export A='single $quoted' # trailing",
        'B=${A:-x}plain',
        'C="two',
        'lines"',
        'if [ -n "$X" ]; then',
        '  D=inside',
        'fi',
        'E=',
      ].join('\n'),
    );
    expect(v).toEqual({
      GRUB_CMDLINE_XEN: 'dom0_mem=4G,max:4G',
      GRUB_CMDLINE_XEN_DEFAULT: ' dom0_max_vcpus=4',
      A: 'single $quoted',
      B: 'single $quotedplain',
      C: 'two\nlines',
      D: 'inside',
      E: '',
    });
  });
});

describe('boot command lines', () => {
  it('splits, dropping GRUB placeholders', () => {
    expect(splitCmdline('placeholder  dom0_mem=4G,max:4G no-bootscrub ${xen_rm_opts}').map((o) => o.word)).toEqual([
      'dom0_mem=4G,max:4G',
      'no-bootscrub',
    ]);
  });

  it('reads dom0_mem as Xen does: min: alone and negative sizes do not cap', () => {
    const m = (s: string) => readDom0Mem(splitCmdline(s));
    expect(m('dom0_mem=8192M,max:8192M')).toMatchObject({ capped: true, size: '8192M', max: '8192M', mib: 8192 });
    expect(m('dom0_mem=4G')).toMatchObject({ capped: true, max: null, mib: 4096 });
    expect(m('dom0_mem=min:1G')).toMatchObject({ capped: false });
    expect(m('dom0_mem=-4G')).toMatchObject({ capped: false });
    expect(m('dom0_mem=min:1024M dom0_mem=max:4096M')).toMatchObject({ capped: true, max: '4096M' });
    expect(m('dom0_max_vcpus=4')).toBeNull();
    expect(xenSizeMiB('524288')).toBe(512); // no suffix = KiB
  });

  it('reads booleans with no- and values', () => {
    const b = (s: string) => readBoolean(splitCmdline(s), 'bootscrub');
    expect(b('no-bootscrub')).toBe(false);
    expect(b('bootscrub=false')).toBe(false);
    expect(b('bootscrub')).toBe(true);
    expect(b('bootscrub=idle')).toBe('idle');
    expect(b('dom0_mem=1G')).toBeNull();
  });

  it('tells Xen options, Linux options and unknown words apart', () => {
    const c = (w: string) => classifyXenWord(splitCmdline(w)[0]!);
    for (const w of [
      'dom0_mem=1G',
      'dom0_vcpus_pin',
      'no-bootscrub',
      'console=com1,vga',
      'ivrs_hpet[0]=00:14.0',
      'mtrr.show',
      'loglvl=all',
      'no-real-mode',
    ])
      expect(c(w), w).toBe('xen');
    for (const w of ['root=/dev/sda1', 'ro', 'quiet', 'console=hvc0', 'xen-pciback.hide=(02:00.0)', 'loglevel=7'])
      expect(c(w), w).toBe('linux');
    for (const w of ['dom0maxvcpus=4', 'dom0vcpuspin', 'dom0-max-vcpus=2']) expect(c(w), w).toBe('unknown');
    expect(isXenOnlyWord(splitCmdline('dom0_mem=1G')[0]!)).toBe(true);
    expect(isXenOnlyWord(splitCmdline('dom0-vcpus-pin')[0]!)).toBe(true);
    expect(isXenOnlyWord(splitCmdline('console=tty0')[0]!)).toBe(false);
  });

  it('suggests the documented spelling', () => {
    expect(suggestXenOption('dom0maxvcpus')).toBe('dom0_max_vcpus');
    expect(suggestXenOption('dom0vcpuspin')).toBe('dom0_vcpus_pin');
    expect(suggestXenOption('dom0-max-vcpus')).toBe('dom0_max_vcpus');
    expect(suggestXenOption('dom0_mme')).toBe('dom0_mem');
    expect(suggestXenOption('frobnicate')).toBeNull();
  });

  it('reads Xen versions from xl info and image names', () => {
    expect(xenVersionOf('4.17.3-pre')).toEqual([4, 17]);
    expect(xenVersionOf('xen-4.0-amd64.gz')).toEqual([4, 0]);
    expect(xenVersionOf('xen.gz')).toBeNull();
  });
});

describe('guest configurations', () => {
  it('reads xm (Python) and xl configurations, lists across lines, comments and expressions', () => {
    const s = parseGuestConfig(
      [
        'import os',
        'extra = "vmhost="+os.popen(\'hostname -f\').read().strip()',
        "name = 'web01' # the name",
        'memory = 2048',
        "vcpus = '4'",
        'cpus = ["0-3", "8"]',
        'disk = [',
        "  'phy:/dev/vg0/web01,xvda,w',  # root",
        '  "format=raw, vdev=xvdb, target=/srv/img/web01 b.img",',
        ']',
        'vif = [ "mac=00:16:3e:00:00:01, bridge=xenbr1", "ip=10.0.0.2" ]',
      ].join('\n'),
    );
    expect(s.get('name')).toEqual({ value: 'web01', line: 3 });
    expect(s.get('memory')?.value).toBe(2048);
    expect(s.get('vcpus')?.value).toBe('4');
    expect(s.get('cpus')?.value).toEqual(['0-3', '8']);
    expect(s.get('disk')).toEqual({ value: ['phy:/dev/vg0/web01,xvda,w', 'format=raw, vdev=xvdb, target=/srv/img/web01 b.img'], line: 7 });
    expect(s.get('vif')?.line).toBe(11);
    // an expression is kept as its text (not evaluated), with its line
    expect(s.get('extra')).toEqual({ value: `"vmhost="+os.popen('hostname -f').read().strip()`, line: 2 });
  });

  it('finds disk targets and bridges', () => {
    expect(diskTarget('phy:/dev/vg0/web01,xvda,w')).toBe('/dev/vg0/web01');
    expect(diskTarget('phy:sdb1,xvdb,w')).toBe('/dev/sdb1');
    expect(diskTarget('tap:aio:/var/lib/xen/images/a.img,xvda,w')).toBe('/var/lib/xen/images/a.img');
    expect(diskTarget('format=raw, vdev=xvda, access=rw, target=/dev/drbd/by-res/r0')).toBe('/dev/drbd/by-res/r0');
    expect(diskTarget('iscsi:iqn.2001-05.com.example:disk,xvda,w')).toBeNull();
    expect(vifBridge('mac=00:16:3e:00:00:01, bridge=xenbr1')).toBe('xenbr1');
    expect(vifBridge('mac=00:16:3e:00:00:01')).toBe('xenbr0');
    expect(vifBridge('ip=10.0.0.2,script=vif-route')).toBeNull();
  });

  it('counts the CPUs a cpus= allows', () => {
    const n = (spec: string, nr: number | null = 24) => {
      const a = cpusAllowed(spec, nr);
      return a === null || a === 'all' ? a : a.size;
    };
    expect(n('0-3')).toBe(4);
    expect(n('0,2,4-7')).toBe(6);
    expect(n('0-3,8')).toBe(5);
    expect(n('all,^0-3')).toBe(20);
    expect(n('^1', 8)).toBe(7);
    expect(n('^1', null)).toBeNull();
    expect(n('all', null)).toBe('all');
    expect(n('nodes:0')).toBeNull();
  });
});

describe('command outputs and sysfs', () => {
  const lab = join(ROOT, 'test', 'fixtures', 'hosts', 'lab-xen417');

  it('parses real `xl info` and `xl list` (Xen lab, Xen 4.17)', () => {
    const info = parseXlInfo(readFileSync(join(lab, 'xl-info.txt'), 'utf8'));
    expect(info.get('total_memory')?.value).toBe('2047');
    expect(info.get('xen_version')?.value).toBe('4.17.7');
    expect(info.get('xen_commandline')?.value).toContain('dom0_mem=512M');
    expect(info.get('xen_changeset')?.value).toBe('');
    expect(parseXlList(readFileSync(join(lab, 'xl-list.txt'), 'utf8'))).toEqual([
      { name: 'Domain-0', id: 0, memMiB: 512, vcpus: 2, line: 2 },
    ]);
  });

  it('parses `df -kP` and the I/O scheduler file', () => {
    expect(parseDf('Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/sda1 1000 400 600 40% /mnt/my disk\n')).toEqual([
      { fs: '/dev/sda1', sizeKiB: 1000, availKiB: 600, mount: '/mnt/my disk', line: 2, text: '/dev/sda1 1000 400 600 40% /mnt/my disk' },
    ]);
    expect(parseScheduler('noop deadline [cfq]')).toEqual({ current: 'cfq', available: ['noop', 'deadline', 'cfq'] });
    expect(parseScheduler('[none] mq-deadline kyber bfq')?.current).toBe('none');
    expect(parseScheduler('none')?.current).toBe('none');
  });
});
