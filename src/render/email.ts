/**
 * The report as a complete RFC 5322 e-mail (`--format email`, `report --mail-to`): From, To, Date,
 * Message-ID, a Subject such as "xendoctor: xen07: 2 errors, 1 warning", and a MIME
 * multipart/alternative body with a plain-text and an HTML part (quoted-printable, UTF-8).
 *
 * Header safety: addresses come only from the command line and are validated; everything else in a
 * header that may come from a log (host names in the Subject) has its control characters — CR and
 * LF above all — replaced, and is sent as RFC 2047 encoded words unless it is plain printable
 * ASCII. No log text can start a header or end the header block.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { CliError } from '../errors.js';
import type { ScanReport, Severity } from '../types.js';
import { SEVERITIES, severityRank } from '../types.js';
import { digestHtml, digestText, headline, type DigestContext } from './digest.js';

export interface EmailOptions {
  from: string;
  to: string[];
  date: Date;
  /** Domain part of the Message-ID (this host's name by default). */
  domain?: string;
  /** Line ends: LF for a local mailer (sendmail, a file), CRLF for SMTP and strict RFC 5322. */
  eol?: '\n' | '\r\n';
  digest: DigestContext;
}

/** An addr-spec (local@domain, or a bare local name that the local mailer completes). */
const ADDRESS = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}(?:@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)?$/;

/** Parse a comma-separated list of addresses from the command line; anything doubtful is refused. */
export function parseAddresses(value: string, option: string): string[] {
  const list = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (list.length === 0) throw new CliError(`${option}: no address given`);
  for (const a of list) {
    if (!ADDRESS.test(a) || a.startsWith('.') || a.includes('..'))
      throw new CliError(
        `${option}: "${a.replace(/[^\x20-\x7e]/g, '?')}" is not an e-mail address`,
        'give user@example.org (several separated by commas)',
      );
  }
  return list;
}

/** This host's name as usable in an address or Message-ID. */
export function mailDomain(name = hostname()): string {
  const d = name.replace(/[^A-Za-z0-9.-]/g, '').replace(/^[.-]+|[.-]+$/g, '');
  return d || 'localhost';
}

/** RFC 5322 date-time in UTC: "Fri, 20 Nov 2026 08:01:10 +0000". */
export function rfc5322Date(d: Date): string {
  return d.toUTCString().replace(/GMT$/, '+0000');
}

/**
 * An unstructured header value (Subject) made safe: controls replaced by spaces, then plain if it is
 * printable ASCII, otherwise RFC 2047 "B" encoded words; folded so no line exceeds 78 characters.
 */
export function headerValue(name: string, value: string, eol = '\n'): string {
  let s = value
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if ([...s].length > 250) s = [...s].slice(0, 249).join('') + '…';
  const room = 76;
  if (/^[\x20-\x7e]*$/.test(s) && !s.includes('=?')) {
    // fold at spaces
    const lines: string[] = [];
    let cur = `${name}:`;
    for (const word of s.split(' ')) {
      if (cur.length + 1 + word.length > room && cur.length > name.length + 1) {
        lines.push(cur);
        cur = ` ${word}`;
      } else cur += ` ${word}`;
    }
    lines.push(cur);
    return lines.join(eol);
  }
  // encoded words of at most ~40 bytes of UTF-8 each (never splitting a character)
  const words: string[] = [];
  let chunk = '';
  for (const ch of s) {
    if (Buffer.byteLength(chunk + ch, 'utf8') > 39) {
      words.push(chunk);
      chunk = '';
    }
    chunk += ch;
  }
  if (chunk) words.push(chunk);
  const encoded = words.map((w) => `=?UTF-8?B?${Buffer.from(w, 'utf8').toString('base64')}?=`);
  return `${name}: ${encoded.join(`${eol} `)}`;
}

/** A header whose value is made of known-safe tokens (addresses, ids, rule ids), folded at ", " or " ". */
function tokenHeader(name: string, tokens: string[], sep: string, eol: string): string {
  const lines: string[] = [];
  let cur = `${name}:`;
  tokens.forEach((t, i) => {
    const piece = `${i === 0 ? ' ' : sep}${t}`;
    if (cur.length + piece.length > 76 && i > 0) {
      lines.push(cur + sep.trimEnd());
      cur = ` ${t}`;
    } else cur += piece;
  });
  lines.push(cur);
  return lines.join(eol);
}

/** Quoted-printable (RFC 2045) of UTF-8 text: lines of at most 76 characters, leading dots and "From " encoded. */
export function quotedPrintable(text: string, eol = '\n'): string {
  const out: string[] = [];
  for (const line of text.replace(/\r\n?/g, '\n').split('\n')) {
    const bytes = Buffer.from(line, 'utf8');
    let cur = '';
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      const last = i === bytes.length - 1;
      const atStart = cur.length === 0;
      let tok: string;
      const fromLine = atStart && b === 0x46 && bytes.subarray(i, i + 5).toString('latin1') === 'From ';
      if ((b === 0x20 || b === 0x09) && !last) tok = String.fromCharCode(b);
      else if (b >= 33 && b <= 126 && b !== 61 && !(atStart && b === 46) && !fromLine) tok = String.fromCharCode(b);
      else tok = `=${b.toString(16).toUpperCase().padStart(2, '0')}`;
      if (cur.length + tok.length > 75) {
        out.push(`${cur}=`);
        cur = '';
        if (tok === '.') tok = '=2E';
      }
      cur += tok;
    }
    out.push(cur);
  }
  return out.join(eol);
}

/** The worst severity among the findings, or null. */
function worst(report: ScanReport): Severity | null {
  let w: Severity | null = null;
  for (const f of report.findings) if (w === null || severityRank(f.severity) > severityRank(w)) w = f.severity;
  return w;
}

/** The Subject line's text (before encoding). */
export function emailSubject(report: ScanReport, host: string): string {
  return headline(report, host);
}

/** The complete message. */
export function renderEmail(report: ScanReport, o: EmailOptions): string {
  const eol = o.eol ?? '\n';
  const domain = mailDomain(o.domain);
  const boundary = `=_xd_${randomBytes(12).toString('hex')}`;
  const rules = [...new Set(report.findings.map((f) => f.rule.replace(/[^A-Za-z0-9._-]/g, '_')))].sort();
  const w = worst(report);
  const headers = [
    `From: ${o.from}`,
    tokenHeader('To', o.to, ', ', eol),
    headerValue('Subject', emailSubject(report, o.digest.host), eol),
    `Date: ${rfc5322Date(o.date)}`,
    `Message-ID: <${o.date.getTime().toString(36)}.${randomBytes(8).toString('hex')}.xendoctor@${domain}>`,
    'MIME-Version: 1.0',
    'Auto-Submitted: auto-generated',
    `X-Mailer: xendoctor ${report.version.replace(/[^\w.+-]/g, '')}`,
  ];
  if (rules.length) headers.push(tokenHeader('X-Xendoctor-Rules', rules, ' ', eol));
  if (w) headers.push(`X-Xendoctor-Severity: ${w}`);
  headers.push(
    `X-Xendoctor-Summary: ${SEVERITIES.slice()
      .reverse()
      .map((s) => `${s}=${report.summary[s]}`)
      .join(' ')}`,
  );
  headers.push(`Content-Type: multipart/alternative;${eol} boundary="${boundary}"`);
  const part = (type: string, body: string) => [
    `--${boundary}`,
    `Content-Type: ${type}; charset=utf-8`,
    'Content-Transfer-Encoding: quoted-printable',
    '',
    quotedPrintable(body, eol),
  ];
  const lines = [
    ...headers,
    '',
    'This is a MIME message: a plain-text part and an HTML part.',
    '',
    ...part('text/plain', digestText(report, o.digest)),
    ...part('text/html', digestHtml(report, o.digest)),
    `--${boundary}--`,
    '',
  ];
  return lines.join(eol);
}

/** Default sender: xendoctor@<this host>. */
export function defaultFrom(): string {
  return `xendoctor@${mailDomain()}`;
}

/** Default recipient when printing a message without --mail-to: root@<this host>. */
export function defaultTo(): string[] {
  return [`root@${mailDomain()}`];
}
