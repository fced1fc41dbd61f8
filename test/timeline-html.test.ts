/**
 * `--format html` opened in a real headless Chromium (Debian package chromium): the page renders the
 * findings, the incident chain and the chart, and log lines carrying `<script>` or `<img onerror=…>`
 * are shown as text and run nothing — with the page's Content-Security-Policy, and without it (so the
 * escaping alone is tested too).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { component, ROOT, tmp, xd } from './helpers.js';

const CHROMIUM = component('chromium', ['/usr/bin/chromium', '/usr/bin/chromium-browser'], 'chromium');

const EVIL_SCRIPT = `<script>document.title='PWNED';document.body.setAttribute('data-pwned','script')</script>`;
const EVIL_IMG = `<img src=x onerror="document.body.setAttribute('data-pwned','img')">`;
const LOG = [
  `Nov 20 08:01:10 xen07 kernel: [812345.123456] INFO: task blkback.111.xvda:2162 blocked for more than 120 seconds. ${EVIL_SCRIPT}`,
  `Nov 20 08:05:02 xen07 xendomains[812]: ${EVIL_IMG} /var/lib/xen/save/web01: No space left on device`,
  `Nov 20 08:06:40 xen07 xendomains[812]: Error: Unable to connect to xend: No such file or directory. Is xend running?`,
  `Nov 20 09:12:11 xen08 kernel: [1201.000131] xt_physdev: using --physdev-out in the OUTPUT, FORWARD and POSTROUTING chains for non-bridged traffic is not supported anymore.`,
].join('\n');

let dir: string;

/** Load a page in headless Chromium and return the DOM after it ran (if it ran anything). */
function dumpDom(file: string): string {
  const r = spawnSync(
    CHROMIUM!,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-dev-shm-usage',
      `--user-data-dir=${join(dir, 'profile')}`,
      '--virtual-time-budget=3000',
      '--dump-dom',
      `file://${file}`,
    ],
    { encoding: 'utf8', timeout: 90_000, maxBuffer: 64 * 1024 * 1024 },
  );
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

function screenshot(file: string, png: string): void {
  const r = spawnSync(
    CHROMIUM!,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-dev-shm-usage',
      `--user-data-dir=${join(dir, 'profile')}`,
      '--window-size=1200,1600',
      `--screenshot=${png}`,
      `file://${file}`,
    ],
    { encoding: 'utf8', timeout: 90_000 },
  );
  expect(r.status, r.stderr).toBe(0);
}

describe.skipIf(!CHROMIUM)('html report in headless Chromium', () => {
  let timelineHtml: string;
  beforeAll(() => {
    dir = tmp('xd-html-');
    const log = join(dir, 'evil<b>name.log');
    writeFileSync(log, LOG + '\n');
    utimesSync(log, new Date('2026-11-21T00:00:00Z'), new Date('2026-11-21T00:00:00Z'));
    const r = xd(['timeline', '--tz', 'UTC', '--format', 'html', log]);
    expect(r.code).toBe(2);
    timelineHtml = r.stdout;
    writeFileSync(join(dir, 'timeline.html'), timelineHtml);
    writeFileSync(join(dir, 'timeline-nocsp.html'), timelineHtml.replace(/<meta http-equiv="Content-Security-Policy"[^>]*>/, ''));
    const s = xd(['scan', '--tz', 'UTC', '--format', 'html', log]);
    writeFileSync(join(dir, 'scan.html'), s.stdout);
  });

  it('is one self-contained file with a strict policy and no script', () => {
    expect(timelineHtml).toMatch(
      /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+';[^"]*script-src 'none'/,
    );
    expect(timelineHtml).not.toMatch(/<script|<link|src=["']?https?:|url\(/i);
    expect(timelineHtml).toContain('<svg');
  });

  for (const variant of ['timeline.html', 'timeline-nocsp.html', 'scan.html']) {
    it(`renders the findings and runs nothing from the log (${variant})`, () => {
      const dom = dumpDom(join(dir, variant));
      // had anything run, the title would read PWNED and <body> would carry data-pwned
      expect(dom).toMatch(/<title>xendoctor [^<]*<\/title>/);
      expect(dom).toMatch(/<body>/);
      expect(dom).not.toMatch(/<title>PWNED|<body[^>]*data-pwned/);
      // the payloads are text: escaped in the DOM, no element made of them
      expect(dom).toContain('&lt;script&gt;document.title=');
      expect(dom).toContain('&lt;img src=x onerror=');
      expect(dom).not.toMatch(/<script|<img/i);
      expect(dom).toContain('evil&lt;b&gt;name.log');
      expect(dom).toContain('blkback thread of guest 111');
      expect(dom).toContain('ionice -p 2162 -c 2 -n 7');
      // the chain: xend does not run because the disk is full
      expect(dom).toMatch(/Root cause: A dom0 filesystem is full[\s\S]*xend is not running/);
      expect(dom).toMatch(/<svg[^>]*role="img"/);
      expect(dom).toMatch(/<td>xen08<\/td>/);
    });
  }

  it('looks right (a screenshot is taken and is not blank)', () => {
    const png = join(dir, 'timeline.png');
    screenshot(join(dir, 'timeline.html'), png);
    const buf = readFileSync(png);
    expect(buf.subarray(1, 4).toString()).toBe('PNG');
    expect(buf.length).toBeGreaterThan(20_000);
  });

  it('also renders the postmortem fixture', () => {
    const archive = join(dir, 'archive');
    cpSync(join(ROOT, 'test', 'fixtures', 'postmortem', 'archive'), archive, { recursive: true });
    for (const f of ['xen07/syslog.1', 'xen07/kern.log.1'])
      utimesSync(join(archive, f), new Date('2027-01-01T06:25:02Z'), new Date('2027-01-01T06:25:02Z'));
    for (const f of ['xen07/syslog', 'xen07/kern.log', 'xen08/kern.log', 'xen09/messages'])
      utimesSync(join(archive, f), new Date('2027-01-01T09:00:00Z'), new Date('2027-01-01T09:00:00Z'));
    const r = xd(['timeline', '--tz', 'UTC', '--format', 'html', archive]);
    expect(r.code, r.stderr).toBe(2);
    writeFileSync(join(dir, 'archive.html'), r.stdout);
    const dom = dumpDom(join(dir, 'archive.html'));
    expect(dom).toMatch(/Root cause: xendomains saves guest memory images/);
    expect(dom).toMatch(/<td>xen07<\/td>/);
  });
});
