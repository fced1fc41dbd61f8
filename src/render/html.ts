/**
 * HTML report (`--format html`, for `scan` and `timeline`): one self-contained file for a postmortem
 * write-up. No script, no external asset, no network: inline CSS (allowed by its hash in a strict
 * Content-Security-Policy) and an inline SVG chart of the per-hour counts by severity and host. Every
 * piece of log text, and everything else that comes from the input, goes through escapeHtml.
 */
import { createHash } from 'node:crypto';
import type { Finding, ScanReport, Severity } from '../types.js';
import { SEVERITIES, severityRank } from '../types.js';
import type { ChainNode, HourBucket, Incident, Mark, TimelineData } from '../timeline/model.js';
import { buildIncidents, hostSummaries, sharedFindings } from '../timeline/incidents.js';
import { escapeHtml as esc } from './sanitize.js';
import { summaryLine } from './text.js';

const COLOR: Record<Severity, string> = { critical: '#7b1fa2', error: '#c62828', warning: '#e09b00', info: '#0277bd' };

const CSS = `
:root{color-scheme:light;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;font-size:15px;line-height:1.45;color:#1c1c1c;background:#fafafa}
body{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:1.6em;margin:0 0 4px}h2{font-size:1.25em;margin:32px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{font-size:1.05em;margin:0}
.muted{color:#666}.small{font-size:.85em}
.sev{display:inline-block;min-width:5.5em;padding:1px 6px;border-radius:3px;color:#fff;font-size:.8em;font-weight:600;text-align:center;text-transform:uppercase}
.sev-critical{background:${COLOR.critical}}.sev-error{background:${COLOR.error}}.sev-warning{background:${COLOR.warning}}.sev-info{background:${COLOR.info}}
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:12px 16px;margin:12px 0}
.incident{border-left:5px solid #c62828}
pre,code{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:.85em}
pre{background:#f3f3f3;padding:8px;overflow-x:auto;white-space:pre-wrap;word-break:break-all;margin:6px 0}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f0f0f0}td.n{text-align:right;font-variant-numeric:tabular-nums}
ul.chain,ul.chain ul{list-style:none;padding-left:1.4em;margin:4px 0}
ul.chain li{margin:3px 0}ul.chain ul li::before{content:"\\2514\\2500 ";color:#888}
details>summary{cursor:pointer}
.chart{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px}
.legend span{margin-right:14px;white-space:nowrap}.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px}
.hit{background:#fff3cd}.vol{background:#dcdcdc}
`;

function sevBadge(s: Severity): string {
  return `<span class="sev sev-${s}">${s}</span>`;
}

function when(iso: string | null): string {
  return iso === null ? 'time unknown' : esc(iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z'));
}

/** A link only for http(s) references; anything else is shown as text. */
function ref(u: string): string {
  return /^https?:\/\/[^\s"'<>]+$/.test(u) ? `<a href="${esc(u)}" rel="noreferrer noopener">${esc(u)}</a>` : esc(u);
}

/** Hourly buckets: the timeline's counts, or for a scan the findings' evidence lines. */
function bucketsOf(report: ScanReport, tl: TimelineData | null): HourBucket[] {
  if (tl) return tl.hours;
  const map = new Map<string, HourBucket>();
  for (const f of report.findings) {
    for (const e of f.evidence) {
      if (e.time === null) continue;
      const hour = `${e.time.slice(0, 13)}:00:00Z`;
      const k = `${f.host ?? ''}\0${hour}`;
      let b = map.get(k);
      if (!b) {
        b = { hour, host: f.host, lines: 0, hits: { critical: 0, error: 0, warning: 0, info: 0 } };
        map.set(k, b);
      }
      b.hits[f.severity]++;
    }
  }
  return [...map.values()];
}

const MAX_PANELS = 12;
const MAX_BARS = 240;

/** The inline SVG chart: one panel per host, bars of finding hits per hour stacked by severity, log volume behind. */
function chart(buckets: HourBucket[], marks: Mark[], hostOrder: (string | null)[], withVolume: boolean): string {
  const times = buckets.map((b) => Date.parse(b.hour));
  if (times.length === 0) return '<p class="muted">No dated lines to chart.</p>';
  const H = 3600_000;
  const t0 = Math.min(...times);
  const t1 = Math.max(...times) + H;
  const step = Math.ceil((t1 - t0) / H / MAX_BARS) * H;
  const nBars = Math.max(1, Math.ceil((t1 - t0) / step));
  const hosts = hostOrder.filter((h) => buckets.some((b) => b.host === h));
  for (const b of buckets) if (!hosts.includes(b.host)) hosts.push(b.host);
  const shown = hosts.slice(0, MAX_PANELS);
  const other = hosts.length > MAX_PANELS;
  const panels = other ? [...shown, '\0other'] : shown;
  const grid = new Map<string | null, { lines: number[]; hits: Record<Severity, number>[] }>();
  for (const p of panels)
    grid.set(p, {
      lines: new Array<number>(nBars).fill(0),
      hits: Array.from({ length: nBars }, () => ({ critical: 0, error: 0, warning: 0, info: 0 })),
    });
  for (const b of buckets) {
    const p = shown.includes(b.host) ? b.host : '\0other';
    const g = grid.get(p)!;
    const k = Math.min(nBars - 1, Math.floor((Date.parse(b.hour) - t0) / step));
    g.lines[k]! += b.lines;
    for (const s of SEVERITIES) g.hits[k]![s] += b.hits[s];
  }
  let maxHits = 1;
  for (const g of grid.values())
    for (const h of g.hits)
      maxHits = Math.max(
        maxHits,
        SEVERITIES.reduce((n, s) => n + h[s], 0),
      );
  const left = 130;
  const width = 960;
  const plotW = width - left - 10;
  const panelH = 64;
  const gap = 14;
  const barW = plotW / nBars;
  const x = (t: number) => left + ((t - t0) / (nBars * step)) * plotW;
  const parts: string[] = [];
  const height = panels.length * (panelH + gap) + 30;
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="100%" viewBox="0 0 ${width} ${height}" role="img" aria-label="Finding hits per ${step === H ? 'hour' : `${step / H} hours`} by severity and host">`,
  );
  panels.forEach((p, n) => {
    const y0 = n * (panelH + gap) + 4;
    const g = grid.get(p)!;
    const maxLines = Math.max(1, ...g.lines);
    const label = p === '\0other' ? `${hosts.length - MAX_PANELS} other hosts` : (p ?? '(no host)');
    parts.push(
      `<text x="${left - 8}" y="${y0 + panelH / 2 + 4}" text-anchor="end" font-size="12" fill="#333">${esc(label.length > 18 ? label.slice(0, 17) + '…' : label)}</text>`,
    );
    parts.push(`<rect x="${left}" y="${y0}" width="${plotW}" height="${panelH}" fill="#fbfbfb" stroke="#e2e2e2"/>`);
    for (let k = 0; k < nBars; k++) {
      const bx = (left + k * barW).toFixed(1);
      const bw = Math.max(0.8, barW - 0.6).toFixed(1);
      const tStart = new Date(t0 + k * step).toISOString().slice(0, 16).replace('T', ' ');
      if (withVolume && g.lines[k]! > 0) {
        const h = (g.lines[k]! / maxLines) * panelH;
        parts.push(
          `<rect x="${bx}" y="${(y0 + panelH - h).toFixed(1)}" width="${bw}" height="${h.toFixed(1)}" fill="#dcdcdc"><title>${esc(`${tStart}Z ${label}: ${g.lines[k]} lines`)}</title></rect>`,
        );
      }
      let y = y0 + panelH;
      const hits = g.hits[k]!;
      const total = SEVERITIES.reduce((m, s) => m + hits[s], 0);
      if (total === 0) continue;
      const desc = [...SEVERITIES]
        .reverse()
        .filter((s) => hits[s] > 0)
        .map((s) => `${hits[s]} ${s}`)
        .join(', ');
      for (const s of SEVERITIES) {
        if (hits[s] === 0) continue;
        const h = Math.max(2, (hits[s] / maxHits) * panelH);
        y -= h;
        parts.push(
          `<rect x="${bx}" y="${y.toFixed(1)}" width="${bw}" height="${h.toFixed(1)}" fill="${COLOR[s]}"><title>${esc(`${tStart}Z ${label}: ${desc}`)}</title></rect>`,
        );
      }
    }
    for (const m of marks) {
      if (m.time === null || (p !== '\0other' && m.host !== p && m.host !== null)) continue;
      const mx = x(Date.parse(m.time));
      if (m.kind === 'gap' || m.kind === 'rotation-gap') {
        const ex = m.end ? x(Date.parse(m.end)) : mx + 2;
        parts.push(
          `<rect x="${mx.toFixed(1)}" y="${y0}" width="${Math.max(2, ex - mx).toFixed(1)}" height="${panelH}" fill="#90a4ae" fill-opacity="0.35"><title>${esc(m.text)}</title></rect>`,
        );
      } else if (m.kind === 'boot' || m.kind === 'xen-boot') {
        parts.push(
          `<path d="M${mx.toFixed(1)} ${y0} l-5 -4 h10 z" fill="${m.kind === 'boot' ? '#2e7d32' : '#6a1b9a'}"><title>${esc(`${m.time} ${m.text}`)}</title></path>`,
        );
        parts.push(
          `<line x1="${mx.toFixed(1)}" y1="${y0}" x2="${mx.toFixed(1)}" y2="${y0 + panelH}" stroke="#2e7d32" stroke-dasharray="2,2"/>`,
        );
      } else if (m.kind === 'missing') {
        parts.push(`<circle cx="${mx.toFixed(1)}" cy="${y0 + 6}" r="4" fill="#ef6c00"><title>${esc(m.text)}</title></circle>`);
      }
    }
  });
  const yAxis = panels.length * (panelH + gap) + 12;
  for (let k = 0; k <= 4; k++) {
    const t = t0 + (k / 4) * nBars * step;
    const lx = left + (k / 4) * plotW;
    parts.push(
      `<text x="${lx.toFixed(1)}" y="${yAxis}" font-size="11" fill="#555" text-anchor="${k === 0 ? 'start' : k === 4 ? 'end' : 'middle'}">${esc(new Date(t).toISOString().slice(0, 16).replace('T', ' '))}Z</text>`,
    );
  }
  parts.push('</svg>');
  const legend = [...SEVERITIES]
    .reverse()
    .map((s) => `<span><i class="sev-${s}"></i>${s}</span>`)
    .join('');
  const extra = withVolume
    ? '<span><i class="vol"></i>log lines (relative to the host\'s busiest bar)</span>'
    : '<span class="muted">evidence lines of the findings</span>';
  return `<div class="chart">${parts.join('')}<div class="legend small">${legend}${extra}<span>▼ boot</span><span>shaded: gap without lines</span></div><p class="small muted">Each bar is ${step === H ? 'one hour' : `${step / H} hours`}; finding hits share one scale across hosts.</p></div>`;
}

function findingLine(f: Finding): string {
  return `${sevBadge(f.severity)} <strong>${esc(f.title)}</strong> <code>${esc(f.rule)}</code> <span class="muted small">${esc(f.host ?? 'unknown host')} · ${f.count}× · ${when(f.first)}</span>`;
}

function chainHtml(node: ChainNode, byId: Map<string, Finding>): string {
  const f = byId.get(node.finding)!;
  const kids = node.effects.length ? `<ul>${node.effects.map((e) => chainHtml(e, byId)).join('')}</ul>` : '';
  return `<li>${findingLine(f)}${kids}</li>`;
}

function incidentHtml(inc: Incident, n: number, byId: Map<string, Finding>): string {
  const root = byId.get(inc.root)!;
  return `<section class="card incident" id="incident-${n}">
<h3>${n}. ${sevBadge(inc.severity)} Root cause: ${esc(root.title)} <code>${esc(root.rule)}</code></h3>
<p class="small muted">on ${esc(inc.host ?? 'unknown host')}, ${inc.findings.length} findings, ${when(inc.first)} → ${when(inc.last)}</p>
<ul class="chain">${chainHtml(inc.chain, byId)}</ul>
<p><strong>Fix the root cause first:</strong></p>
<ol>${inc.fix.map((s) => `<li>${esc(s)}</li>`).join('')}</ol>
</section>`;
}

function findingHtml(f: Finding, byId: Map<string, Finding>): string {
  const keys = Object.entries(f.key)
    .map(([k, v]) => `<code>${esc(k)}=${esc(v)}</code>`)
    .join(' ');
  const causes = f.causedBy.map((id) => {
    const c = byId.get(id);
    return c ? `<a href="#f-${esc(id)}">${esc(c.rule)}</a> (${when(c.first)})` : esc(id);
  });
  const ev = f.evidence.map((e) => `<span class="muted">${esc(e.source)}:${e.line}</span>  ${esc(e.text)}`).join('\n');
  return `<details class="card finding" id="f-${esc(f.id)}"${severityRank(f.severity) >= severityRank('error') ? ' open' : ''}>
<summary>${findingLine(f)}${f.harmless ? ' <span class="muted">(harmless)</span>' : ''}</summary>
<p class="small">first ${when(f.first)}, last ${when(f.last)}${keys ? ` · key ${keys}` : ''}${causes.length ? ` · caused by ${causes.join(', ')}` : ''}${f.possiblyRelated?.length ? ` · possibly related (untested): ${f.possiblyRelated.map((id) => esc(byId.get(id)?.rule ?? id)).join(', ')}` : ''}</p>
<p><strong>Evidence</strong></p>
<pre>${ev}</pre>
<p><strong>Diagnosis.</strong> ${esc(f.diagnosis.replace(/\s+/g, ' '))}</p>
<p><strong>Fix</strong></p>
<ol>${f.fix.map((s) => `<li>${esc(s)}</li>`).join('')}</ol>
${f.references.length ? `<p class="small">See: ${f.references.map(ref).join(' · ')}</p>` : ''}
</details>`;
}

/** The whole report as one self-contained HTML page (a timeline report adds its chart data, marks and window). */
export function renderHtml(report: ScanReport & { timeline?: TimelineData }): string {
  const tl = report.timeline ?? null;
  const byId = new Map(report.findings.map((f) => [f.id, f]));
  const incidents = tl?.incidents ?? buildIncidents(report.findings);
  const hosts = tl?.hosts ?? hostSummaries(report.findings);
  const shared = tl?.shared ?? sharedFindings(report.findings);
  const marks = tl?.marks ?? [];
  const css = CSS;
  const hash = createHash('sha256').update(css).digest('base64');
  const csp = `default-src 'none'; style-src 'sha256-${hash}'; img-src 'none'; script-src 'none'; base-uri 'none'; form-action 'none'`;
  const firsts = report.inputs.map((i) => i.first).filter((x): x is string => x !== null);
  const lasts = report.inputs.map((i) => i.last).filter((x): x is string => x !== null);
  const span = firsts.length ? `${when(firsts.sort()[0]!)} → ${when(lasts.sort()[lasts.length - 1] ?? null)}` : 'no dated lines';
  const chained = incidents.filter((i) => i.findings.length > 1);
  const o: string[] = [];
  o.push(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>xendoctor ${tl ? 'timeline' : 'report'}: ${esc(summaryLine(report.summary))}</title>
<style>${css}</style>
</head>
<body>
<header>
<h1>xendoctor ${tl ? 'postmortem timeline' : 'report'}</h1>
<p class="muted">${esc(summaryLine(report.summary))} · ${hosts.filter((h) => h.host !== null).length} host(s) · ${report.inputs.length} input(s) · ${span} (UTC) · xendoctor ${esc(report.version)}</p>
</header>`);

  o.push(
    `<h2>Per hour, by severity and host</h2>`,
    chart(
      bucketsOf(report, tl),
      marks,
      hosts.map((h) => h.host),
      tl !== null,
    ),
  );

  o.push(`<h2 id="incidents">Incidents and root causes</h2>`);
  if (chained.length) chained.forEach((inc, n) => o.push(incidentHtml(inc, n + 1, byId)));
  else o.push('<p class="muted">No chain of cause and effect among the findings.</p>');

  if (hosts.length > 0) {
    o.push(
      `<h2 id="hosts">Hosts</h2><table><thead><tr><th>host</th>${tl ? '<th>lines</th><th>boots</th>' : ''}${[...SEVERITIES]
        .reverse()
        .map((s) => `<th>${s}</th>`)
        .join('')}</tr></thead><tbody>`,
    );
    for (const h of hosts) {
      o.push(
        `<tr><td>${esc(h.host ?? '(no host)')}</td>${tl ? `<td class="n">${h.lines}</td><td class="n">${h.boots}</td>` : ''}${[
          ...SEVERITIES,
        ]
          .reverse()
          .map((s) => `<td class="n">${h.findings[s] || ''}</td>`)
          .join('')}</tr>`,
      );
    }
    o.push('</tbody></table>');
  }
  if (shared.length) {
    o.push(
      `<h2 id="shared">Shared across hosts</h2><table><thead><tr><th>severity</th><th>rule</th><th>hosts</th><th>hits</th></tr></thead><tbody>`,
    );
    for (const s of shared)
      o.push(
        `<tr><td>${sevBadge(s.severity)}</td><td><code>${esc(s.rule)}</code> ${esc(s.title)}</td><td>${s.hosts.map(esc).join(', ')}</td><td class="n">${s.count}</td></tr>`,
      );
    o.push('</tbody></table>');
  }

  if (tl) {
    o.push(`<h2 id="timeline">Timeline</h2><table><thead><tr><th>time (UTC)</th><th>host</th><th>what</th></tr></thead><tbody>`);
    const rows: { t: string | null; html: string }[] = [];
    for (const f of report.findings)
      rows.push({ t: f.first, html: `<td>${esc(f.host ?? '-')}</td><td>${findingLine(f)} <a href="#f-${esc(f.id)}">details</a></td>` });
    for (const m of marks)
      rows.push({
        t: m.time,
        html: `<td>${esc(m.host ?? '-')}</td><td><strong>${esc(m.kind)}</strong>${m.end ? ` until ${when(m.end)}` : ''}: ${esc(m.text)}</td>`,
      });
    rows.sort((a, b) => ((a.t ?? '9') < (b.t ?? '9') ? -1 : (a.t ?? '9') > (b.t ?? '9') ? 1 : 0));
    for (const r of rows) o.push(`<tr><td>${when(r.t)}</td>${r.html}</tr>`);
    o.push('</tbody></table>');
    if (tl.window) {
      const evidence = new Set(report.findings.flatMap((f) => f.evidence.map((e) => `${e.source}\0${e.line}`)));
      o.push(`<h2 id="window">Lines ${when(tl.window.from)} → ${when(tl.window.to)}, all inputs merged</h2><pre>`);
      for (const l of tl.window.lines) {
        const line = `${when(l.time)}  ${esc(l.host ?? '-')}  <span class="muted">${esc(l.source)}:${l.line}</span>  ${esc(l.text)}`;
        o.push(evidence.has(`${l.source}\0${l.line}`) ? `<span class="hit">${line}</span>` : line);
      }
      o.push(`</pre>${tl.window.omitted ? `<p class="muted">${tl.window.omitted} more lines not shown.</p>` : ''}`);
    }
  }

  o.push(`<h2 id="findings">Findings (${report.findings.length})</h2>`);
  for (const sev of [...SEVERITIES].reverse())
    for (const f of report.findings.filter((x) => x.severity === sev)) o.push(findingHtml(f, byId));
  if (report.findings.length === 0) o.push('<p>No findings.</p>');

  o.push(
    `<h2 id="inputs">Inputs</h2><table><thead><tr><th>source</th><th>lines</th><th>bytes</th><th>first</th><th>last</th><th>problems</th></tr></thead><tbody>`,
  );
  for (const i of report.inputs) {
    o.push(
      `<tr><td>${esc(i.source)}</td><td class="n">${i.lines}</td><td class="n">${i.bytes}</td><td>${when(i.first)}</td><td>${when(i.last)}</td><td>${i.errors.map(esc).join('<br>')}</td></tr>`,
    );
  }
  o.push('</tbody></table>', '</body>', '</html>');
  return o.join('\n') + '\n';
}
