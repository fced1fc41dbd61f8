/** `xendoctor explain`: the knowledge base through the real CLI (words, ids, pasted log lines, JSON, the index). */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, tmp, turn, xd } from './helpers.js';

interface Result {
  id: string;
  kind: string;
  title: string;
  score: number;
  snippet: string;
}
interface Explained {
  results: Result[];
  matched: { rule: string; title: string; severity: string; key: Record<string, string>; fix: string[]; threshold: string | null }[];
}

function explain(args: string[], input?: string): Explained {
  const r = xd(['explain', '--format', 'json', ...args], input);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Explained;
}

function top3(query: string): string[] {
  return explain(query.split(' '))
    .results.slice(0, 3)
    .map((r) => r.id);
}

describe('explain: everyday operator words', () => {
  // query → the entries that must be among the first three
  const cases: [string, string[]][] = [
    ['dom0 runs out of memory ballooning', ['dom0-ballooning-disabled', 'dom0-oom-killer']],
    ['guests slow pinned cpus', ['guest-cpu-pinning']],
    ['network erratic bridge', ['bridge-port-overload', 'capacity-budgets']],
    ["xend won't start", ['xend-not-running']],
    ['disk io one guest starves others', ['block-io-fairness']],
    ['boot takes forever scrubbing', ['xen-boot-scrub']],
    // the articles, for what leaves no signature in the logs
    ['grub xen option underscore spelling', ['grub-xen-option-spelling']],
    ['which dom0 is my guest running on', ['guest-find-dom0']],
    ['xen-tools broke after xen upgrade', ['xen-version-tool-coupling']],
    ['limit disk io of one guest', ['io-throttling-options']],
    ['reserve a cpu core for dom0 credit scheduler', ['dom0-reserved-cpu']],
    ['how many guests per host', ['capacity-budgets']],
    ['capture early hypervisor boot messages serial console', ['early-boot-logging']],
    ['xm list equivalent in xl', ['xm-xl-commands']],
    ['ionice blkback cfq', ['block-io-fairness']],
  ];
  for (const [query, want] of cases) {
    it(`"${query}" → ${want.join(', ')} in the first three`, () => {
      const got = top3(query);
      for (const id of want) expect(got, `top 3: ${got.join(', ')}`).toContain(id);
    });
  }

  it('prints ranked results with title, snippet and id as text', () => {
    const r = xd(['explain', 'guests', 'slow', 'pinned', 'cpus']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^1\. Guests slow to a crawl because they are pinned to too few CPUs {2}\[article guest-cpu-pinning\]\n {5}\S/,
    );
    expect(r.stdout).toMatch(/\n2\. .*\[(rule|article) [a-z0-9-]+\]/);
    expect(r.stdout).toContain('xendoctor explain ID');
  });

  it('names a known cause of a rule (disk-full for xend)', () => {
    const r = xd(['explain', 'xend', "won't", 'start']);
    expect(r.stdout).toMatch(/\[rule xend-not-running\]\n(?: {5}.*\n)* {5}known cause: disk-full/);
  });
});

describe('explain --format json', () => {
  it('prints { results: [ { id, kind, title, score, snippet } ] }, best first', () => {
    const out = explain(['network', 'erratic', 'bridge']);
    expect(Object.keys(out).sort()).toEqual(['matched', 'results']);
    expect(out.results.length).toBeGreaterThan(1);
    for (const r of out.results) {
      expect(Object.keys(r).sort()).toEqual(['id', 'kind', 'score', 'snippet', 'title']);
      expect(['rule', 'article']).toContain(r.kind);
      expect(typeof r.score).toBe('number');
      expect(r.snippet.length).toBeGreaterThan(0);
      expect(r.snippet.length).toBeLessThanOrEqual(240);
    }
    for (let i = 1; i < out.results.length; i++) expect(out.results[i]!.score).toBeLessThanOrEqual(out.results[i - 1]!.score);
    expect(out.results[0]).toMatchObject({
      id: 'bridge-port-overload',
      kind: 'rule',
      title: 'More than 64 guest ports on bridge <bridge>',
    });
    expect(out.matched).toEqual([]);
  });

  it('--limit bounds the results', () => {
    expect(explain(['--limit', '2', 'dom0', 'memory']).results).toHaveLength(2);
    expect(xd(['explain', '--limit', '0', 'dom0']).code).toBe(3);
  });

  it('an id gives that entry', () => {
    const out = explain(['capacity-budgets']);
    expect(out.results).toHaveLength(1);
    expect(out.results[0]).toMatchObject({ id: 'capacity-budgets', kind: 'article' });
  });
});

describe('explain: a pasted log line', () => {
  const line = 'Nov 20 08:01:10 xen07 kernel: [812345.123456] INFO: task blkback.111.xvda:2162 blocked for more than 120 seconds.';

  it('says which rule matches it, with the fix filled in from the line', () => {
    const out = explain([line]);
    expect(out.matched).toHaveLength(1);
    expect(out.matched[0]).toMatchObject({
      rule: 'blkback-hung-task',
      severity: 'error',
      key: { domid: '111', pid: '2162' },
      threshold: null,
    });
    expect(out.matched[0]!.fix.join('\n')).toContain('ionice -p 2162 -c 2 -n 7');
    expect(out.results[0]!.id).toBe('blkback-hung-task');
    const text = xd(['explain', line]);
    expect(text.stdout).toMatch(
      /^This line matches rule blkback-hung-task \(error\): blkback thread of guest 111 \(xvda\) blocked in dom0\n/,
    );
    expect(text.stdout).toContain('ionice -p 2162 -c 2 -n 7');
    expect(text.stdout).toContain('Related entries:');
  });

  it('takes the bare message and a line piped on stdin alike', () => {
    expect(explain(['INFO: task blkback.111.xvda:2162 blocked for more than 120 seconds.']).matched[0]!.rule).toBe('blkback-hung-task');
    expect(explain([], line + '\n').matched[0]!.rule).toBe('blkback-hung-task');
  });

  it('recognises the harmless balloon message and a hypervisor console line', () => {
    expect(explain(['[9185884.234154] xen_balloon: reserve_additional_memory: add_memory() failed: -17']).matched[0]!.rule).toBe(
      'balloon-add-memory-eexist',
    );
    expect(explain(['(XEN) parameter "dom0maxvcpus" unknown!']).matched[0]!.rule).toBe('xen-unknown-boot-parameter');
  });

  it('tells when a rule needs more such lines to fire (thresholds)', () => {
    const out = explain(['Nov 20 08:00:02 xen07 kernel: [812300.000000] xenbr0: port 2(vif3.0) entered forwarding state']);
    expect(out.matched[0]).toMatchObject({ rule: 'bridge-port-overload' });
    expect(out.matched[0]!.threshold).toMatch(/65 different vif values within 30d/);
  });

  it('for a line no rule knows, lists the closest entries', () => {
    const out = explain(['Nov 21 03:12:09 xen07 smartd[701]: Device: /dev/sdb [SAT], 8 Currently unreadable (pending) sectors']);
    expect(out.matched).toEqual([]);
    expect(out.results[0]!.id).toBe('block-io-error');
    const text = xd(['explain', 'Nov 21 03:12:09 xen07 smartd[701]: Device: /dev/sdb [SAT], 8 Currently unreadable (pending) sectors']);
    expect(text.stdout).toMatch(/^No rule of the catalogue recognises this line\. The closest entries:/);
  });

  it('nothing to explain is a usage error', () => {
    const r = xd(['explain']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('nothing to explain');
  });
});

describe('the index', () => {
  it('is built by npm run build into dist/kb-index.json', () => {
    const file = join(ROOT, 'dist', 'kb-index.json');
    expect(existsSync(file)).toBe(true);
    const idx = JSON.parse(readFileSync(file, 'utf8')) as { fingerprint: string; docs: { id: string; kind: string }[] };
    expect(idx.docs.filter((d) => d.kind === 'article').length).toBeGreaterThanOrEqual(10);
    expect(idx.docs.some((d) => d.id === 'blkback-hung-task')).toBe(true);
  });

  it('is rebuilt (and stored again) when stale or missing', () => {
    // a copy of the installation whose stored index is stale
    const root = tmp('xd-kb-');
    for (const d of ['bin', 'dist', 'rules', 'samples']) cpSync(join(ROOT, d), join(root, d), { recursive: true });
    cpSync(join(ROOT, 'package.json'), join(root, 'package.json'));
    symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules'));
    const file = join(root, 'dist', 'kb-index.json');
    const good = JSON.parse(readFileSync(file, 'utf8')) as { fingerprint: string };
    writeFileSync(file, JSON.stringify({ format: 0, fingerprint: 'stale', docs: [], index: {} }));
    // a new article is found at once
    mkdirSync(join(root, 'rules', 'articles'), { recursive: true });
    writeFileSync(
      join(root, 'rules', 'articles', 'site-zebra.md'),
      '---\nid: site-zebra\ntitle: Zebra striping of guest disks\ntags: [site]\n---\nOur zebra layout.\n',
    );
    const r = spawnSync(process.execPath, [join(root, 'bin', 'xendoctor.js'), 'explain', '--format', 'json', 'zebra', 'striping'], {
      encoding: 'utf8',
      env: { ...process.env, HOME: root, XDG_CACHE_HOME: join(root, 'cache') },
    });
    expect(r.status, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as Explained).results[0]?.id, r.stdout).toBe('site-zebra');
    const rebuilt = JSON.parse(readFileSync(file, 'utf8')) as { fingerprint: string; docs: { id: string }[] };
    expect(rebuilt.fingerprint).not.toBe('stale');
    expect(rebuilt.fingerprint).not.toBe(good.fingerprint);
    expect(rebuilt.docs.some((d) => d.id === 'site-zebra')).toBe(true);
  });

  it('indexes site rules given with --rules', async () => {
    const dir = tmp('xd-site-');
    writeFileSync(
      join(dir, 'site-raid-degraded.yaml'),
      [
        'id: site-raid-degraded',
        "title: 'RAID array {md} degraded'",
        'severity: error',
        'tags: [storage, raid]',
        'patterns:',
        "  - 'md/raid10:(?<md>md\\d+): Disk failure on'",
        'diagnosis: A disk of the array failed; the array runs without redundancy.',
        'fix:',
        "  - 'mdadm --detail /dev/{md}'",
      ].join('\n') + '\n',
    );
    const out = explain(['--rules', dir, 'md/raid10:md2: Disk failure on sdc1, disabling device.']);
    expect(out.matched[0]).toMatchObject({ rule: 'site-raid-degraded', title: 'RAID array md2 degraded' });
    await turn(); // (each run checks the site rule with recheck: long on a loaded machine, test/setup/stall.ts)
    expect(explain(['--rules', dir, 'raid', 'degraded']).results[0]!.id).toBe('site-raid-degraded');
  });
});
