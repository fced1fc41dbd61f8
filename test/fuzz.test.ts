/**
 * Hostile input, property-based (fast-check): the line reader, the line and time parsers, the rule
 * engine and every reporter get random bytes, random mixtures of real line prefixes, real messages
 * (from samples/) and junk, invalid UTF-8, NUL, CR, over-long lines, and dates at the edges (Feb 29,
 * the turn of the year, DST changes). Properties: nothing throws; memory and evidence stay bounded;
 * the same bytes give the same findings however they are cut into chunks and whichever path (the
 * prefilter or every line) the engine takes; text, Markdown and e-mail outputs carry no control
 * character from the input; every HTML output parses without error (parse5, the WHATWG parsing
 * algorithm browsers use) and holds no element or attribute that came from the input.
 *
 * Runs use the run's seed (test/setup/seed.ts prints it; fresh each run); a failure prints the seed and
 * the shrunk counterexample (replay with XD_SEED=<seed>). XENDOCTOR_FUZZ_RUNS=N multiplies the runs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { simpleParser } from 'mailparser';
import { parse as parseHtml, type DefaultTreeAdapterMap } from 'parse5';
import { DateTime } from 'luxon';
import { describe, expect, it, vi } from 'vitest';
import { loadCatalogue } from '../src/engine/catalogue.js';
import { Engine } from '../src/engine/engine.js';
import { scanLines, MAX_LINE, type LineSink, type LineStats } from '../src/sources/lines.js';
import { classifyLine, parseLine } from '../src/parse/line.js';
import { isoTime, localTime, parseBound, parseDuration, syslogTime, toIso, type TimeContext } from '../src/parse/time.js';
import { analyseStream, scanInputs } from '../src/pipeline/scan-inputs.js';
import type { Input } from '../src/sources/inputs.js';
import { renderText } from '../src/render/text.js';
import { renderMarkdown } from '../src/render/markdown.js';
import { renderHtml } from '../src/render/html.js';
import { renderJson, renderNdjson } from '../src/render/json.js';
import { renderEmail } from '../src/render/email.js';
import { renderPrometheus } from '../src/render/prometheus.js';
import { renderTimelineText } from '../src/render/timeline-text.js';
import { newFindingText } from '../src/render/watch-events.js';
import { digestText } from '../src/render/digest.js';
import { buildTimeline } from '../src/timeline/collect.js';
import type { Evidence, Finding, ScanReport, Severity } from '../src/types.js';
import { collector, ROOT, turn, xd, xdMemory } from './helpers.js';

const RUNS = Math.max(1, Number(process.env.XENDOCTOR_FUZZ_RUNS ?? 1));
const runs = (n: number) => ({ numRuns: Math.ceil(n * RUNS) });
/**
 * Memory of a run on a 50 MB line without a line end: 11-15 MB kept alive, up to 37.7 MB seen on a
 * loaded machine (a reader keeping the Buffers it read: 56-60 MB), a resident peak of 100-204 MB (uncollected garbage and malloc's free
 * lists included: a gross bound only).
 */
const LIVE_BOUND_MB = 48;
const RSS_BOUND_MB = 320;
/** A test's time limit, grown with the runs. */
const limit = (ms: number) => ms * RUNS;
vi.setConfig({ testTimeout: limit(60_000) });

const rules = loadCatalogue();
/** Reference time of the inputs (a file's mtime): year-less stamps are read against it. */
const REF = Date.UTC(2026, 10, 21, 6, 0, 0);
const UTC: TimeContext = { zone: 'UTC', year: null, reference: REF };

// ---------------------------------------------------------------------------------------------
// What an attacker can put into a log line (guest-chosen names, remote syslog, console output)

/** A marker in every injected payload: it must never end up in an HTML element or attribute. */
const MARK = 'XSSMARK';
const HOSTILE = [
  '\x1b[31m',
  '\x1b]0;owned\x07',
  '\x1b[2J\x1b[H',
  '\x07',
  '\x08\x08\x08',
  '\r',
  '\r\n',
  '\0',
  '\x7f',
  '\x9b31m',
  '\x85',
  '\u202e',
  '\u2066',
  '\u2069',
  '\u2028',
  '\ufeff',
  '\ud800',
  '\udfff',
  '\uffff',
  '\ufdd0',
  `<script>${MARK}()</script>`,
  `<img src=x onerror=${MARK}()>`,
  `<a href="javascript:${MARK}()">x</a>`,
  `javascript:${MARK}()`,
  `"><svg onload=${MARK}()>`,
  `' onmouseover='${MARK}()`,
  `<style>@import url(//${MARK})</style>`,
  `<!--${MARK}-->`,
  `]]><![CDATA[${MARK}`,
  `</pre></details><iframe src=${MARK}>`,
  '`\u200b``',
  '```',
  '| --- |',
  '[x](javascript:alert(1))',
  '&lt;&amp;&#x3c;',
  `\r\nBcc: ${MARK}@example.org`,
  `\nSubject: ${MARK}`,
  '\n.\n',
  'From evil',
  '=?UTF-8?B?PHNjcmlwdD4=?=',
  '{task}',
  '{pid}',
  '%s%n%x',
  '\\',
  '"',
  'a'.repeat(300),
];

const hostile = fc.constantFrom(...HOSTILE);
/** Any code points, lone surrogates included. */
const junk = fc.string({ unit: 'binary', maxLength: 60 });
const word = fc.stringMatching(/^[A-Za-z0-9_.-]{1,12}$/);
/** A string made of pieces: words, junk and hostile payloads. */
const nasty = fc
  .array(fc.oneof({ weight: 3, arbitrary: hostile }, { weight: 2, arbitrary: junk }, { weight: 2, arbitrary: word }), {
    minLength: 1,
    maxLength: 5,
  })
  .map((a) => a.join(''));
/** The same without whitespace (a host name or syslog tag the parser takes as one token). */
const token = nasty.map((s) => s.replace(/\s/g, '') || 'x');

/** The real log lines of the samples (the signatures the rules know), and their bare messages. */
const SAMPLE_LINES = readdirSync(join(ROOT, 'samples'))
  .filter((f) => f.endsWith('.log'))
  .flatMap((f) => readFileSync(join(ROOT, 'samples', f), 'utf8').split('\n'))
  .filter((l) => l.trim() !== '' && !l.startsWith('#'));
const SAMPLE_MESSAGES = [...new Set(SAMPLE_LINES.map((l) => parseLine(l, UTC).message))];

/** Messages that match a rule and carry attacker-chosen text in a capture (which fills titles and fixes). */
const payload = fc
  .tuple(nasty, fc.constantFrom('\x1b[31m', '\x1b]0;x\x07', '\x07', '\u202e', '\x9b', '\ufffe', `<img src=x onerror=${MARK}()>`), nasty)
  .map((a) => a.join(''));
const capturing = payload.chain((h) =>
  fc.constantFrom(
    `INFO: task ${h}:123 blocked for more than 120 seconds.`,
    `Out of memory: Kill process 4242 (${h.replace(/\)/g, '')}) score 900 or sacrifice child`,
    `Command line: ${h}`,
    `Hardware Dom0 crashed: ${h}`,
    `[Hardware Error]: Machine check: ${h}`,
    `EDAC MC0: 1 CE ${h}`,
    `BUG: soft lockup - CPU#1 stuck for 23s! [${h.slice(0, 60)}:99]`,
    `libxenlight failed to get free memory for domain '${h.replace(/'/g, '')}'`,
    `vif vif-1-0: 22 x${h}`,
    `${h.replace(/[\s/:]/g, '') || 'x'}: page allocation failure: order:4, mode:0x20`,
    `/var/lib/${h.replace(/[\s:'"]/g, '')}: No space left on device`,
    `Marking clocksource '${h.replace(/'/g, '')}' as unstable because the skew is too large:`,
    `kernel BUG at ${h.replace(/[\s:]/g, '') || 'x'}:42!`,
  ),
);

const message = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...SAMPLE_MESSAGES) },
  { weight: 3, arbitrary: capturing },
  { weight: 1, arbitrary: nasty },
  {
    // a real message with a payload spliced in somewhere
    weight: 2,
    arbitrary: fc.tuple(fc.constantFrom(...SAMPLE_MESSAGES), hostile, fc.nat()).map(([m, h, at]) => {
      const i = at % (m.length + 1);
      return m.slice(0, i) + h + m.slice(i);
    }),
  },
);

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number, w = 2) => String(n).padStart(w, '0');
/** A time near the edges: Feb 29, the turn of the year, DST changes in Europe and America, or any time. */
const stampTime = fc.oneof(
  fc.constantFrom(
    Date.UTC(2024, 1, 29, 12, 0, 0),
    Date.UTC(2025, 11, 31, 23, 59, 59),
    Date.UTC(2026, 0, 1, 0, 0, 1),
    Date.UTC(2026, 2, 29, 1, 30, 0),
    Date.UTC(2026, 9, 25, 0, 30, 0),
    Date.UTC(2026, 9, 25, 1, 30, 0),
    Date.UTC(2026, 2, 8, 7, 30, 0),
    Date.UTC(2026, 10, 1, 5, 30, 0),
    Date.UTC(2026, 10, 1, 6, 30, 0),
    REF,
  ),
  fc.integer({ min: Date.UTC(2023, 0, 1), max: Date.UTC(2027, 0, 1) }),
);

const FORMATS = [
  'syslog',
  'syslog-kernel',
  'rfc5424',
  'rfc3339',
  'journal',
  'journal-bytes',
  'xen',
  'xen-dated',
  'xen-hex',
  'xend',
  'dmesg',
  'dmesg-T',
  'libxl',
  'libvirt',
  'printk',
  'plain',
];
/** One log line: a real prefix of one of the formats xendoctor reads (or none) before a message. */
const lineOf = (formats: string[]) =>
  fc
    .tuple(
      fc.constantFrom(...formats),
      message,
      stampTime,
      fc.oneof(fc.constantFrom('xen07', 'xen08', 'dom0.example.org'), token),
      fc.oneof(fc.constantFrom('kernel', 'xl', 'xend', 'libvirtd'), token),
    )
    .map(([fmt, msg, t, host, prog]) => {
      const d = new Date(t);
      const hms = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
      const ymd = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
      const mon = `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2)}`;
      const up = `[${String((t / 1000) % 100000).padStart(12)}]`;
      switch (fmt) {
        case 'syslog':
          return `${mon} ${hms} ${host} ${prog}[1234]: ${msg}`;
        case 'syslog-kernel':
          return `${mon} ${hms} ${host} kernel: ${up} ${msg}`;
        case 'rfc5424':
          return `<14>1 ${d.toISOString()} ${host} ${prog} 1234 - - ${msg}`;
        case 'rfc3339':
          return `${ymd}T${hms}.123456+01:00 ${host} ${prog}: ${msg}`;
        case 'journal':
          return JSON.stringify({
            MESSAGE: msg,
            __REALTIME_TIMESTAMP: String(t * 1000),
            _HOSTNAME: host,
            SYSLOG_IDENTIFIER: prog,
            _TRANSPORT: 'kernel',
          });
        case 'journal-bytes':
          return JSON.stringify({ MESSAGE: [...Buffer.from(msg, 'utf8')], __REALTIME_TIMESTAMP: String(t * 1000), _HOSTNAME: host });
        case 'xen':
          return `(XEN) ${msg}`;
        case 'xen-dated':
          return `(XEN) [${ymd} ${hms}.123] ${msg}`;
        case 'xen-hex':
          return `(XEN) [00000012345abcde] ${msg}`;
        case 'xend':
          return `[${ymd} ${hms} 1062] ERROR (SrvDaemon:349) ${msg}`;
        case 'dmesg':
          return `${up} ${msg}`;
        case 'dmesg-T':
          return `[Thu ${mon} ${hms} ${d.getUTCFullYear()}] ${msg}`;
        case 'libxl':
          return `libxl: error: libxl_create.c:1234:domcreate_complete: ${msg}`;
        case 'libvirt':
          return `${ymd} ${hms}.541+0000: 1234: error : libxlDomainStart:123 : ${msg}`;
        case 'printk':
          return `<3>${msg}`;
        default:
          return msg;
      }
    });
const line = lineOf(FORMATS);

/** Line ends, and bytes that are no text. */
const EOL = fc.constantFrom('\n', '\n', '\n', '\r\n', '\r', '\0\n', '\n\n');
const BAD_BYTES = fc.constantFrom(
  Buffer.from([0xff]),
  Buffer.from([0xc0, 0x80]),
  Buffer.from([0xed, 0xa0, 0x80]),
  Buffer.from([0xe2, 0x80]),
  Buffer.from([0xf4, 0x90, 0x80, 0x80]),
  Buffer.from([0x1f, 0x8b]),
  Buffer.from([0]),
);
/** A line far over the 64 KiB limit: a real message repeated (the tail must be dropped, not kept). */
const longLine = fc
  .tuple(fc.constantFrom(...SAMPLE_MESSAGES), fc.integer({ min: MAX_LINE - 50, max: MAX_LINE + 20_000 }))
  .map(([m, n]) => (m + ' ').repeat(Math.ceil(n / (m.length + 1))).slice(0, n));

/** A log: lines of the formats, junk and invalid bytes, as bytes; now and then one line over the limit. */
const logOf = (formats: string[]) => {
  const logPart = fc.oneof(
    { weight: 12, arbitrary: fc.tuple(lineOf(formats), EOL).map(([l, e]) => Buffer.from(l + e, 'utf8')) },
    { weight: 1, arbitrary: BAD_BYTES },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 80 }).map((a) => Buffer.from(a)) },
    { weight: 1, arbitrary: fc.constantFrom(...SAMPLE_LINES).map((l) => Buffer.from(`${l}\n`)) },
  );
  return fc
    .tuple(
      fc.array(logPart, { maxLength: 40 }),
      fc.oneof({ weight: 6, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: longLine }),
      fc.nat(),
    )
    .map(([parts, long, at]) => {
      if (long !== null) parts.splice(at % (parts.length + 1), 0, Buffer.from(`${long}\n`));
      return Buffer.concat(parts);
    });
};
const logBytes = logOf(FORMATS);

/** Cut a buffer into chunks at the given fractions (every way of cutting must give the same result). */
function cut(buf: Buffer, fractions: number[]): Buffer[] {
  const points = [...new Set(fractions.map((f) => Math.floor(f * buf.length)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let at = 0;
  for (const p of points) {
    if (p > at) out.push(Buffer.from(buf.subarray(at, p)));
    at = Math.max(at, p);
  }
  if (at < buf.length || out.length === 0) out.push(Buffer.from(buf.subarray(at)));
  return out;
}
// uniform over [0, 1]: fc.double draws among the representable doubles, nine in ten of them below
// 1e-6 (cut points at 0: the bytes were hardly ever cut)
const fractions = fc.array(
  fc.integer({ min: 0, max: 2 ** 20 }).map((x) => x / 2 ** 20),
  { maxLength: 12 },
);

function memInput(name: string, chunks: Buffer[]): Input {
  return {
    name,
    kind: 'stdin',
    mtime: REF,
    size: null,
    host: null,
    async *open() {
      for (const c of chunks) yield c;
    },
  };
}

async function scanBytes(chunks: Buffer[], zone = 'UTC', name = '-'): Promise<ScanReport> {
  return scanInputs([memInput(name, chunks)], [], rules, { zone, year: null, workers: 0, unrecognized: true });
}

/** What must not differ between two reads of the same bytes. */
function essence(r: ScanReport) {
  return {
    findings: r.findings,
    unrecognized: r.unrecognized,
    summary: r.summary,
    inputs: r.inputs.map((i) => ({ ...i, errors: i.errors.length })),
  };
}

// ---------------------------------------------------------------------------------------------
// Output checks

/** Control characters (tab and newline excepted), DEL, C1 and the bidi overrides: never from the input. */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
function controlIn(s: string): string | null {
  const m = CONTROL.exec(s);
  return m
    ? `U+${m[0].codePointAt(0)!.toString(16).padStart(4, '0')} at ${m.index}: ${JSON.stringify(s.slice(Math.max(0, m.index - 40), m.index + 20))}`
    : null;
}

const HTML_TAGS = new Set(
  'html head body meta title style header h1 h2 h3 p div span section ul ol li details summary pre code strong b i a table thead tbody tr th td br svg text rect path line circle'.split(
    ' ',
  ),
);
const HTML_ATTRS = new Set(
  'charset name content http-equiv lang class id open href rel style xmlns width height viewBox role aria-label x y x1 y1 x2 y2 cx cy r d fill fill-opacity stroke stroke-dasharray text-anchor font-size'.split(
    ' ',
  ),
);

type Node = DefaultTreeAdapterMap['node'];
/** Problems of an HTML document: parse errors, elements or attributes that are not the reporter's own, active content. */
function htmlProblems(html: string): string[] {
  const problems: string[] = [];
  // the page is written as UTF-8: what a browser reads is the string after that round trip
  const text = Buffer.from(html, 'utf8').toString('utf8');
  const doc = parseHtml(text, {
    onParseError: (e) =>
      problems.push(`parse error ${e.code} at ${e.startOffset}: ${JSON.stringify(text.slice(e.startOffset - 30, e.startOffset + 30))}`),
  });
  const walk = (n: Node) => {
    if ('tagName' in n) {
      if (!HTML_TAGS.has(n.tagName)) problems.push(`element <${n.tagName}>`);
      for (const a of n.attrs) {
        if (!HTML_ATTRS.has(a.name)) problems.push(`attribute ${a.name} on <${n.tagName}>`);
        if (/^on/i.test(a.name)) problems.push(`event handler ${a.name}`);
        if (a.value.includes(MARK) || /javascript:|vbscript:|data:/i.test(a.value)) problems.push(`attribute ${a.name}="${a.value}"`);
        if (a.name === 'href' && !/^(?:#f-[0-9a-f]+|https?:\/\/[^\s"'<>]+)$/.test(a.value)) problems.push(`href="${a.value}"`);
      }
      if (n.tagName === 'style' && n.childNodes.some((c) => 'value' in c && c.value.includes(MARK))) problems.push('input inside <style>');
    }
    if ('childNodes' in n) for (const c of n.childNodes) walk(c as Node);
    if ('content' in n && n.content) walk(n.content as Node);
  };
  walk(doc as Node);
  return problems;
}

const PROM_LINE =
  /^(?:# (?:HELP|TYPE) [a-z_]+ [^\n]*|[a-z_]+(?:\{(?:[a-z_]+="(?:[^"\\\n]|\\[\\"n])*",?)*\})? -?\d+(?:\.\d+)?(?:e[+-]?\d+)?)$/;

const RAW_MAIL_HEADERS = new Set([
  'from',
  'to',
  'subject',
  'date',
  'message-id',
  'mime-version',
  'auto-submitted',
  'x-mailer',
  'x-xendoctor-rules',
  'x-xendoctor-severity',
  'x-xendoctor-summary',
  'content-type',
]);

/** Check every reporter on one report; returns the problems found (empty when all is well). */
async function reporterProblems(report: ScanReport): Promise<string[]> {
  const problems: string[] = [];
  const textual: [string, string][] = [
    ['text', renderText(report, { color: false })],
    ['text --quiet', renderText(report, { color: false, quiet: true })],
    ['markdown', renderMarkdown(report)],
    ['digest', digestText(report, { host: 'xen07', since: null, incremental: true })],
    ...report.findings.slice(0, 3).map((f): [string, string] => ['live', newFindingText(f, false, REF)]),
  ];
  for (const [name, out] of textual) {
    const c = controlIn(out);
    if (c) problems.push(`${name}: control character ${c}`);
  }
  // JSON round-trips; NDJSON is one finding per line
  const json = JSON.parse(renderJson(report)) as ScanReport;
  if (JSON.stringify(json) !== JSON.stringify(JSON.parse(JSON.stringify(report)))) problems.push('json: does not round-trip');
  const nd = renderNdjson(report).split('\n').filter(Boolean);
  if (nd.length !== report.findings.length) problems.push(`ndjson: ${nd.length} lines for ${report.findings.length} findings`);
  for (const l of nd) JSON.parse(l);
  // HTML page
  for (const p of htmlProblems(renderHtml(report))) problems.push(`html: ${p}`);
  // Prometheus exposition format
  for (const l of renderPrometheus(report, { now: REF }).split('\n').filter(Boolean))
    if (!PROM_LINE.test(l)) problems.push(`prometheus: bad line ${JSON.stringify(l)}`);
  // e-mail: only our headers, parts free of controls, the HTML part as safe as the page
  const raw = renderEmail(report, {
    from: 'xendoctor@xen07',
    to: ['root@xen07'],
    date: new Date(REF),
    domain: 'xen07',
    digest: { host: 'xen07', since: null, incremental: true },
  });
  if (raw.includes('\r')) problems.push('email: CR in a message with LF line ends');
  const head = raw.slice(0, raw.indexOf('\n\n'));
  for (const h of head.split('\n')) {
    if (/^\s/.test(h)) continue;
    const name = h.slice(0, h.indexOf(':')).toLowerCase();
    if (!RAW_MAIL_HEADERS.has(name)) problems.push(`email: header ${JSON.stringify(h)}`);
  }
  for (const l of raw.split('\n')) if (l.length > 998) problems.push('email: line over 998 characters');
  const mail = await simpleParser(raw);
  if (mail.bcc || mail.cc) problems.push('email: Bcc/Cc injected');
  const subj = controlIn(mail.subject ?? '');
  if (subj) problems.push(`email subject: control character ${subj}`);
  const body = controlIn(mail.text ?? '');
  if (body) problems.push(`email text part: control character ${body}`);
  if (typeof mail.html !== 'string') problems.push('email: no HTML part');
  else for (const p of htmlProblems(mail.html)) problems.push(`email html: ${p}`);
  return problems;
}

// ---------------------------------------------------------------------------------------------
// The line reader

/** Every line the reader hands out, with the simple path (every line a candidate). */
async function readAll(chunks: Buffer[]): Promise<{ lines: [number, string][]; stats: LineStats }> {
  const lines: [number, string][] = [];
  const sink: LineSink = { wantsAll: () => false, line: (text, n) => lines.push([n, text]) };
  const stats = await scanLines(
    (async function* () {
      for (const c of chunks) yield c;
    })(),
    null,
    sink,
    true,
  );
  return { lines, stats };
}

/** The lines of a buffer as the reader should see them: split at LF, a CR before it dropped, cut at MAX_LINE. */
function modelLines(buf: Buffer): string[] {
  const out: string[] = [];
  let pos = 0;
  while (pos < buf.length) {
    let nl = buf.indexOf(10, pos);
    if (nl < 0) nl = buf.length;
    // NULs and UTF-8 byte-order marks before a line's text are skipped (a crashed syslog file)
    for (;;) {
      while (pos < nl && buf[pos] === 0) pos++;
      if (pos + 3 <= nl && buf[pos] === 0xef && buf[pos + 1] === 0xbb && buf[pos + 2] === 0xbf) pos += 3;
      else break;
    }
    let end = Math.min(nl, pos + MAX_LINE);
    if (end > pos && buf[end - 1] === 13) end--;
    out.push(buf.toString('utf8', pos, end));
    pos = nl + 1;
  }
  return out;
}

describe('line reader (scanLines)', () => {
  it('hands out exactly the lines of any bytes, however they are cut into chunks', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 2000 }).map((a) => Buffer.from(a)),
          logBytes,
          // lines about MAX_LINE long, some led by a byte-order mark or NULs (once cut 3 bytes short
          // when the read holding such a line had no line end)
          fc
            .tuple(
              fc.integer({ min: MAX_LINE - 3, max: MAX_LINE + 3 }),
              fc.constantFrom('a', 'é', '\r', 'x\r', '\u{1f600}'),
              fc.constantFrom('', '', '\ufeff', '\0\0'),
            )
            .map(([n, c, lead]) => Buffer.from(lead + c.repeat(n) + '\nnext\n')),
          // NUL runs (a crashed syslog file, some longer than a line may be) and byte-order marks before lines
          fc
            .array(fc.tuple(fc.constantFrom('', '\0\0\0', '\0'.repeat(MAX_LINE + 5), '\ufeff', '\0\ufeff\ufeff', '\0'), fc.string()), {
              maxLength: 6,
            })
            .map((ls) => Buffer.from(ls.map(([lead, text]) => lead + text).join('\n'))),
        ),
        fractions,
        async (buf, fr) => {
          const { lines, stats } = await readAll(cut(buf, fr));
          const want = modelLines(buf);
          expect(lines.map((l) => l[1])).toEqual(want);
          expect(lines.map((l) => l[0])).toEqual(want.map((_, i) => i + 1));
          expect(stats.lines).toBe(want.length);
          expect(stats.bytes).toBe(buf.length);
          expect(stats.head).toEqual(want.slice(0, 20));
          expect(stats.tail).toBe(want.length ? want[want.length - 1] : null);
          expect(stats.error).toBeNull();
          for (const l of lines) expect(Buffer.byteLength(l[1])).toBeLessThanOrEqual(MAX_LINE * 3);
        },
      ),
      runs(150),
    );
  });

  it('gives the same statistics (formats, notes) however the bytes are cut', async () => {
    await fc.assert(
      fc.asyncProperty(logBytes, fractions, fractions, async (buf, a, b) => {
        const x = await readAll(cut(buf, a));
        const y = await readAll(cut(buf, b));
        expect(x.stats.formats).toEqual(y.stats.formats);
        expect(x.stats.notes.map((n) => n.line)).toEqual(y.stats.notes.map((n) => n.line));
      }),
      runs(60),
    );
  });

  // the note on a cut line must not depend on how the reads split the bytes
  it('words the note on an over-long line the same however the bytes are cut', async () => {
    const buf = Buffer.from(`${'a'.repeat(70_000)}\nb\n`);
    const whole = await readAll([buf]);
    const split = await readAll(cut(buf, [66_000 / buf.length]));
    expect(split.stats.notes).toEqual(whole.stats.notes);
  });

  it(
    'keeps memory bounded on a 50 MB line without a line end, and reads on after it',
    async () => {
      const chunk = Buffer.alloc(64 * 1024, 'A');
      const total = 50 * 1024 * 1024;
      // what the reader keeps alive: the V8 heap and the memory outside it (Buffers), after a full
      // collection every 4 MB, so that garbage not yet collected does not count (a reader keeping
      // the Buffers it was given grows `external`, not the heap); and the process's resident size
      const gc = collector();
      const live = () => {
        gc();
        const m = process.memoryUsage();
        return m.heapUsed + m.external;
      };
      let peak = 0;
      let peakRss = 0;
      const base = live();
      const baseRss = process.memoryUsage().rss;
      async function* gen() {
        for (let sent = 0; sent < total; sent += chunk.length) {
          if (sent % (4 * 1024 * 1024) === 0) {
            peak = Math.max(peak, live() - base);
            peakRss = Math.max(peakRss, process.memoryUsage().rss - baseRss);
          }
          yield Buffer.from(chunk);
        }
        yield Buffer.from('\nNov 20 08:01:10 xen07 kernel: INFO: task xenwatch:39 blocked for more than 120 seconds.\n');
      }
      const engine = new Engine(rules, {});
      const { stats } = await analyseStream(engine, gen(), UTC, '-', null);
      expect(stats.lines).toBe(2);
      expect(stats.bytes).toBeGreaterThan(total);
      expect(stats.notes.length).toBe(1);
      expect(peak, 'heap + external kept while reading').toBeLessThan(20 * 1024 * 1024);
      expect(peakRss, 'resident size grown while reading').toBeLessThan(80 * 1024 * 1024);
      expect(engine.findings().map((f) => f.rule)).toEqual(['hung-task']);
    },
    limit(60_000),
  );
});

// ---------------------------------------------------------------------------------------------
// The parsers

describe('line parser (parseLine, classifyLine)', () => {
  const ctxArb = fc.record({
    zone: fc.constantFrom('UTC', 'Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kolkata'),
    year: fc.option(fc.integer({ min: 1970, max: 2200 })),
    reference: fc.integer({ min: 0, max: Date.UTC(2200, 0, 1) }),
  });

  it('never throws, and returns a sane event for any text', () => {
    fc.assert(
      fc.property(fc.oneof(line, nasty, junk, fc.string({ unit: 'binary', maxLength: 400 })), ctxArb, (text, ctx) => {
        const ev = parseLine(text, ctx);
        expect(typeof ev.message).toBe('string');
        expect(ev.time === null || Number.isFinite(ev.time)).toBe(true);
        expect(ev.uptime === null || Number.isFinite(ev.uptime)).toBe(true);
        // the message is a piece of the line (colour codes of a console capture removed)
        const uncoloured = text.replace(/\x1b(?:\[[0-9;?]*[ -/]*[@-~]|[()][0-9A-Za-z]|[=>78cDEHM])/g, '');
        if (!text.startsWith('{') && !/^<\d{1,3}>\{/.test(text))
          expect(text.includes(ev.message) || uncoloured.includes(ev.message)).toBe(true);
        const buf = Buffer.from(text, 'utf8');
        classifyLine(buf, 0, buf.length);
      }),
      runs(2000),
    );
  });

  it('parses a 64 KiB line of any prefix quickly (no backtracking in the format regexes)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(
          '<14>1 ',
          'Nov 20 08:01:10 ',
          'Nov 20 08:01:10 xen07 ',
          '2026-11-20T08:01:10 ',
          '2026-11-20 08:01:10: ',
          '[  12.345678] ',
          '[  12.345678] xen07 ',
          '[2011-03-16 15:19:09 1062] ',
          '(XEN) [',
          '{"MESSAGE":"',
          'libxl: ',
          '',
        ),
        fc.constantFrom('a', ' ', 'a ', '[', '1', '1.', 'x[1]', ': ', '(', '-', '0', '\t', 'é', '{'),
        (prefix, unit) => {
          const text = prefix + unit.repeat(Math.floor(MAX_LINE / unit.length));
          // CPU time, not wall time (other processes on a loaded machine do not count): a linear
          // parse of 64 KiB takes ~1 ms, a quadratic one seconds; speed itself is npm run bench's
          const t0 = process.cpuUsage();
          parseLine(text, UTC);
          const used = process.cpuUsage(t0);
          expect((used.user + used.system) / 1000, 'CPU ms').toBeLessThan(1000);
        },
      ),
      runs(60),
    );
  });

  it('reads back the instant of a syslog, ISO or Xen stamp written in the zone (DST edges, Feb 29, New Year)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('UTC', 'Europe/Berlin', 'America/New_York'),
        stampTime,
        fc.integer({ min: -3 * 3600_000, max: 3 * 3600_000 }),
        (zone, t0, jitter) => {
          const t = Math.floor((t0 + jitter) / 1000) * 1000;
          const dt = DateTime.fromMillis(t, { zone });
          const ctx: TimeContext = { zone, year: dt.year, reference: REF };
          const wall = dt.toFormat('yyyy-MM-dd HH:mm:ss');
          const lines = [
            `${dt.toFormat('LLL')} ${String(dt.day).padStart(2)} ${dt.toFormat('HH:mm:ss')} xen07 kernel: x`,
            `(XEN) [${wall}] x`,
            `[${wall} 1062] x`,
            `[${dt.toFormat('ccc LLL')} ${String(dt.day).padStart(2)} ${dt.toFormat('HH:mm:ss yyyy')}] x`,
          ];
          // a wall-clock time in the hour repeated at the end of DST means either instant
          const ambiguous =
            DateTime.fromMillis(t - 3600_000, { zone }).toFormat('yyyy-MM-dd HH:mm:ss') === wall ||
            DateTime.fromMillis(t + 3600_000, { zone }).toFormat('yyyy-MM-dd HH:mm:ss') === wall;
          for (const l of lines) {
            const got = parseLine(l, ctx).time;
            if (ambiguous) expect([t, t - 3600_000, t + 3600_000], l).toContain(got);
            else expect(got, `${l} in ${zone}`).toBe(t);
          }
          // a stamp with its offset is exact wherever it is read
          expect(parseLine(`${dt.toISO()} xen07 kernel: x`, { ...ctx, zone: 'Asia/Kolkata' }).time).toBe(t);
        },
      ),
      runs(1500),
    );
  });
});

describe('time helpers', () => {
  it('localTime agrees with luxon for every date, valid or not, in any order (the hour cache is right)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.constantFrom('UTC', 'Europe/Berlin', 'America/New_York'),
            fc.integer({ min: 2023, max: 2028 }),
            fc.integer({ min: 0, max: 13 }),
            fc.integer({ min: 0, max: 32 }),
            fc.integer({ min: 0, max: 23 }),
            fc.integer({ min: 0, max: 59 }),
            fc.integer({ min: 0, max: 59 }),
          ),
          { minLength: 1, maxLength: 20 },
        ),
        (dates) => {
          for (const [zone, y, mo, d, h, mi, s] of dates) {
            const dt = DateTime.fromObject({ year: y, month: mo, day: d, hour: h, minute: mi, second: s }, { zone });
            const want = dt.isValid ? dt.toMillis() : null;
            const got = localTime({ zone, year: null, reference: REF }, y, mo, d, h, mi, s);
            // luxon moves a time in the spring-forward gap by the hour; the cache adds minutes to its hour start
            if (want !== null && got !== null && got !== want) expect(Math.abs(got - want)).toBe(3600_000);
            else expect(got).toBe(want);
          }
        },
      ),
      runs(400),
    );
  });

  // the hour is checked like the minute and second (luxon would take hour 24 as the next midnight)
  it('takes no hour 24 (it is no time of day)', () => {
    expect(localTime(UTC, 2026, 11, 20, 24, 59, 59)).toBeNull();
    expect(parseLine('Nov 20 24:59:59 xen07 kernel: x', UTC).time).toBeNull();
  });

  it('puts a year-less stamp at most two days after the file time and less than a year before it (New Year, Feb 29)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('UTC', 'Europe/Berlin', 'America/New_York'),
        fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2030, 0, 1) }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 31 }),
        fc.integer({ min: 0, max: 23 }),
        (zone, reference, month, day, hour) => {
          const t = syslogTime({ zone, year: null, reference }, month, day, hour, 30, 0);
          const refYear = DateTime.fromMillis(reference, { zone }).year;
          const exists = (y: number) => DateTime.fromObject({ year: y, month, day }, { zone }).isValid;
          if (!exists(refYear) && !exists(refYear - 1)) {
            expect(t).toBeNull(); // April 31
          } else if (t === null) {
            // only Feb 29 may be unplaceable (no leap year within reach of the file time)
            expect([month, day]).toEqual([2, 29]);
          } else {
            expect(t).toBeLessThanOrEqual(reference + 2 * 86400_000 + 3600_000);
            if (!(month === 2 && day === 29)) expect(t).toBeGreaterThan(reference - 367 * 86400_000);
            const back = DateTime.fromMillis(t, { zone });
            expect([back.month, back.day]).toEqual([month, day]);
          }
        },
      ),
      runs(1500),
    );
  });

  it('parseDuration, parseBound, isoTime and toIso never throw', () => {
    fc.assert(
      fc.property(fc.oneof(junk, nasty, fc.stringMatching(/^[\d.:+TZ -]{0,30}$/)), (s) => {
        parseDuration(s);
        parseBound(s, 'Europe/Berlin', REF);
        const t = isoTime(UTC, s);
        expect(t === null || Number.isFinite(t)).toBe(true);
        toIso(t);
      }),
      runs(1000),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// The engine, end to end

describe('rule engine (scanInputs)', () => {
  it(
    'never throws, keeps evidence bounded, and gives the same findings however the bytes are cut',
    async () => {
      await fc.assert(
        fc.asyncProperty(logBytes, fractions, fc.constantFrom('UTC', 'Europe/Berlin', 'America/New_York'), async (buf, fr, zone) => {
          await turn(); // (the worker's event loop turns between runs: test/setup/stall.ts)
          const whole = await scanBytes([buf], zone);
          for (const f of whole.findings) {
            // the first hits, one multi-line report, and the latest hit
            expect(f.evidence.length).toBeLessThanOrEqual(16);
            for (const e of f.evidence) expect(Buffer.byteLength(e.text)).toBeLessThanOrEqual(3 * MAX_LINE);
            expect(f.count).toBeGreaterThanOrEqual(1);
          }
          expect(whole.unrecognized.length).toBeLessThanOrEqual(1000);
          const again = await scanBytes(cut(buf, fr), zone);
          expect(essence(again)).toEqual(essence(whole));
        }),
        runs(50),
      );
    },
    limit(120_000),
  );

  /** Findings of one buffer on the fast path (prefilter) or with every line through every rule. */
  const findingsOf = async (buf: Buffer, everyLine: boolean) => {
    const engine = new Engine(rules, { everyLine });
    await analyseStream(
      engine,
      (async function* () {
        yield buf;
      })(),
      UTC,
      '-',
      null,
    );
    return engine.findings().map((f) => [f.rule, f.host, f.key, f.count, f.first, f.last, f.evidence.map((e) => e.line)]);
  };

  // Journal records whose MESSAGE is an array of bytes are left out here: see the next test.
  it(
    'finds the same on the fast path (prefilter) as with every line through every rule',
    async () => {
      await fc.assert(
        fc.asyncProperty(logOf(FORMATS.filter((f) => f !== 'journal-bytes')), async (buf) => {
          expect(await findingsOf(buf, false)).toEqual(await findingsOf(buf, true));
        }),
        runs(60),
      );
    },
    limit(120_000),
  );

  // journalctl -o json writes MESSAGE as an array of bytes when it is not clean UTF-8 (a guest-chosen
  // name with an escape sequence does it): the literals are not in the raw line, so such a line is
  // always a candidate and tries every rule.
  it('finds a journal record whose MESSAGE is an array of bytes on the fast path too', async () => {
    const msg = 'INFO: task xenwatch:39 blocked for more than 120 seconds.';
    const rec = JSON.stringify({ MESSAGE: [...Buffer.from(msg)], __REALTIME_TIMESTAMP: '1709208000000000', _TRANSPORT: 'kernel' });
    const buf = Buffer.from(`${rec}\n`);
    expect(await findingsOf(buf, true)).toHaveLength(1);
    expect(await findingsOf(buf, false)).toEqual(await findingsOf(buf, true));
  });

  it(
    'feeds every reporter output free of control characters and markup from the input',
    async () => {
      await fc.assert(
        fc.asyncProperty(logBytes, async (buf) => {
          const report = await scanBytes([buf], 'UTC', `/var/log/${MARK}\x1b[31m<b>.log`);
          expect(await reporterProblems(report)).toEqual([]);
        }),
        runs(40),
      );
    },
    limit(120_000),
  );

  it(
    'timeline: text and HTML outputs stay clean, also with the --around window of raw lines',
    async () => {
      await fc.assert(
        fc.asyncProperty(logBytes, async (buf) => {
          const report = await buildTimeline([memInput('-', [buf])], [], rules, {
            zone: 'Europe/Berlin',
            year: null,
            workers: 0,
            unrecognized: true,
            around: REF,
            window: 5 * 365 * 86400_000,
          });
          const c = controlIn(renderTimelineText(report, { color: false }));
          expect(c).toBeNull();
          expect(htmlProblems(renderHtml(report))).toEqual([]);
          JSON.parse(renderJson(report));
        }),
        runs(15),
      );
    },
    limit(120_000),
  );
});

// ---------------------------------------------------------------------------------------------
// Reporters on arbitrary reports: every field that can come from a log holds hostile text

const SEVERITY = fc.constantFrom<Severity>('info', 'warning', 'error', 'critical');
const iso = fc.option(fc.integer({ min: 0, max: Date.UTC(2100, 0, 1) }).map((t) => new Date(t).toISOString()));
const evidence: fc.Arbitrary<Evidence> = fc.record({ source: nasty, line: fc.nat(), time: iso, text: nasty });
const finding: fc.Arbitrary<Finding> = fc.record({
  id: fc.stringMatching(/^[0-9a-f]{16}$/),
  rule: fc.constantFrom(...rules.map((r) => r.id)),
  title: nasty,
  severity: SEVERITY,
  host: fc.option(nasty),
  key: fc.dictionary(fc.stringMatching(/^[a-z]{1,8}$/), nasty, { maxKeys: 3 }),
  count: fc.integer({ min: 1, max: 1e6 }),
  first: iso,
  last: iso,
  evidence: fc.array(evidence, { maxLength: 4 }),
  diagnosis: nasty,
  fix: fc.array(nasty, { maxLength: 3 }),
  // references come from the rule files (trusted), but the HTML page links only http(s) ones anyway
  references: fc.array(
    fc.constantFrom('https://wiki.xenproject.org/wiki/Xen_Best_Practices', `javascript:${MARK}()`, `https://x/"><script>${MARK}</script>`),
    { maxLength: 2 },
  ),
  harmless: fc.boolean(),
  causedBy: fc.constant([] as string[]),
  tags: fc.array(nasty, { maxLength: 2 }),
});
const arbitraryReport: fc.Arbitrary<ScanReport> = fc
  .record({
    inputs: fc.array(
      fc.record({
        source: nasty,
        lines: fc.nat(),
        bytes: fc.nat(),
        formats: fc.constant({}),
        first: iso,
        last: iso,
        errors: fc.array(nasty, { maxLength: 2 }),
      }),
      { maxLength: 3 },
    ),
    findings: fc.array(finding, { maxLength: 5 }),
    unrecognized: fc.array(
      fc.record({ template: nasty, count: fc.nat(), first: iso, last: iso, example: nasty, related: fc.constant([] as string[]) }),
      { maxLength: 3 },
    ),
  })
  .map(({ inputs, findings, unrecognized }) => {
    // a chain of causes among the findings (the HTML report draws it)
    findings.forEach((f, i) => {
      if (i > 0 && i % 2 === 1) f.causedBy = [findings[i - 1]!.id];
    });
    const summary = { critical: 0, error: 0, warning: 0, info: 0 };
    for (const f of findings) summary[f.severity]++;
    return { tool: 'xendoctor', version: '0.0.0', schema: 1, inputs, findings, unrecognized, summary };
  });

describe('reporters on hostile reports', () => {
  it(
    'text, Markdown, e-mail, HTML, JSON, NDJSON and Prometheus outputs',
    async () => {
      await fc.assert(
        fc.asyncProperty(arbitraryReport, async (report) => {
          expect(await reporterProblems(report)).toEqual([]);
        }),
        runs(150),
      );
    },
    limit(120_000),
  );
});

// ---------------------------------------------------------------------------------------------
// The CLI, on random bytes

describe('CLI on random bytes', () => {
  it(
    'exits 0, 1 or 2 (never an internal error) and prints clean text',
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            logBytes,
            fc.uint8Array({ minLength: 1, maxLength: 3000 }).map((a) => Buffer.from(a)),
          ),
          fc.constantFrom('text', 'markdown', 'html', 'json'),
          fc.constantFrom('UTC', 'Europe/Berlin', 'America/New_York'),
          async (buf, format, tz) => {
            fc.pre(buf.length > 0);
            await turn(); // (the worker's event loop turns between runs: test/setup/stall.ts)
            const r = xd(['--format', format, '--tz', tz, '-'], buf);
            expect(r.stderr).not.toMatch(/internal error/);
            // bytes that start like gzip are gunzipped: a broken stream is an unreadable input (3)
            if (buf[0] === 0x1f && buf[1] === 0x8b && r.code === 3) {
              // nothing readable: one clear message, and no half report on stdout
              expect(r.stderr).toMatch(/gzip/);
              expect(r.stdout).toBe('');
              expect(controlIn(r.stderr)).toBeNull();
              return;
            }
            expect([0, 1, 2]).toContain(r.code);
            if (format === 'text' || format === 'markdown') expect(controlIn(r.stdout)).toBeNull();
            if (format === 'html') expect(htmlProblems(r.stdout)).toEqual([]);
            if (format === 'json') JSON.parse(r.stdout);
            expect(controlIn(r.stderr)).toBeNull();
          },
        ),
        runs(8),
      );
    },
    limit(120_000),
  );

  it(
    'reads a 50 MB single line on stdin within a small heap',
    () => {
      const big = Buffer.alloc(50 * 1024 * 1024, 'x');
      // the heap is capped, and what the reader keeps alive (Buffers included) is measured
      const r = xdMemory(
        ['--format', 'json', '-'],
        Buffer.concat([big, Buffer.from('\nINFO: task xenwatch:39 blocked for more than 120 seconds.\n')]),
        { ...process.env, TZ: 'UTC', NO_COLOR: '1', NODE_OPTIONS: '--max-old-space-size=96', XENDOCTOR_WORKERS: '0' },
      );
      expect(r.stderr).not.toMatch(/heap|internal error/i);
      expect(r.liveMb, 'heap + external kept alive (MB)').toBeLessThan(LIVE_BOUND_MB);
      expect(r.rssMb, 'peak resident size (MB)').toBeLessThan(RSS_BOUND_MB);
      expect(r.code).toBe(1);
      const doc = JSON.parse(r.stdout) as ScanReport;
      expect(doc.findings.map((f) => f.rule)).toEqual(['hung-task']);
      expect(doc.inputs[0]!.errors.join(' ')).toMatch(/cut/);
    },
    limit(60_000),
  );
});
