/**
 * Live state: `xl info` and `xl list` (or `xm`, or captures given with --xl-info/--xl-list), the Xen
 * scheduler in use, and the guest ports on each bridge (/sys/class/net/BRIDGE/brif). Commands run only
 * without --root.
 */
import { spawnSync } from 'node:child_process';
import { readRegularFile } from '../sources/safe-read.js';
import { hostname } from 'node:os';
import { MAX_CONFIG_BYTES, type CheckContext, type XlDomain } from './context.js';
import { splitCmdline, xenVersionOf } from './cmdline.js';

/** Bridge budget of the operator notes: about 64 guest ports per bridge. */
export const BRIDGE_BUDGET = 64;

/** Output of a toolstack command: run live, or read from a capture. */
function toolOutput(
  ctx: CheckContext,
  check: string,
  sub: 'info' | 'list',
  capture: string | null | undefined,
): { source: string; text: string } | null {
  if (capture) {
    try {
      const text = readRegularFile(capture, { max: MAX_CONFIG_BYTES });
      ctx.addInput(capture, text);
      return { source: capture, text };
    } catch (e) {
      ctx.skip(check, `cannot read ${capture}: ${(e as Error).message}`);
      return null;
    }
  }
  if (!ctx.live) {
    ctx.skip(check, `--root given: \`xl ${sub}\` is not run (give --xl-${sub} FILE with its captured output)`);
    return null;
  }
  let lastProblem = 'neither xl nor xm is installed (not a Xen dom0?)';
  for (const tool of ['xl', '/usr/sbin/xl', 'xm', '/usr/sbin/xm']) {
    const r = spawnSync(tool, [sub], { encoding: 'utf8', timeout: ctx.opts.commandTimeout ?? 20_000, stdio: ['ignore', 'pipe', 'pipe'] });
    const err = r.error as NodeJS.ErrnoException | undefined;
    if (err?.code === 'ENOENT') continue;
    const name = `${tool.replace(/^.*\//, '')} ${sub}`;
    if (err) {
      lastProblem = `\`${name}\` failed: ${err.code === 'ETIMEDOUT' ? 'timed out (xenstored not running?)' : err.message}`;
      break;
    }
    if (r.status !== 0) {
      const first = (r.stderr || r.stdout || '').split('\n').find((l) => l.trim()) ?? `exit status ${r.status}`;
      lastProblem = `\`${name}\` failed: ${first.trim()}${/permission|denied|privileged/i.test(first) ? ' (run as root)' : ''}`;
      break;
    }
    ctx.addInput(name, r.stdout);
    return { source: name, text: r.stdout };
  }
  ctx.skip(check, lastProblem);
  return null;
}

/** Parse `xl info` ("key : value" per line). */
export function parseXlInfo(text: string): Map<string, { value: string; line: number }> {
  const fields = new Map<string, { value: string; line: number }>();
  text.split('\n').forEach((l, i) => {
    const m = /^(\w+)\s*:\s?(.*)$/.exec(l);
    if (m) fields.set(m[1]!, { value: m[2]!.trim(), line: i + 1 });
  });
  return fields;
}

/** Parse `xl list` / `xm list` rows (Name ID Mem VCPUs State Time). */
export function parseXlList(text: string): XlDomain[] {
  const out: XlDomain[] = [];
  text.split('\n').forEach((l, i) => {
    const m = /^(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+\S+\s+[\d.]+/.exec(l);
    if (m) out.push({ name: m[1]!, id: Number(m[2]), memMiB: Number(m[3]), vcpus: Number(m[4]), line: i + 1 });
  });
  return out;
}

/** `xl info` and `xl list`: host size, Xen version, running command line, scheduler, domains. */
export function checkToolstack(ctx: CheckContext): void {
  const f = ctx.facts;
  const info = toolOutput(ctx, 'xl-info', 'info', ctx.opts.xlInfoFile);
  if (info) {
    const fields = parseXlInfo(info.text);
    if (!fields.has('total_memory') && !fields.has('xen_version') && !fields.has('xen_major')) {
      ctx.skip('xl-info', `${info.source}: not \`xl info\` output (no total_memory, no xen_version)`);
    } else {
      f.xlInfo = { source: info.source, fields };
      const num = (k: string) => {
        const n = Number(fields.get(k)?.value);
        return Number.isFinite(n) && fields.has(k) ? n : null;
      };
      f.totalMemoryMiB = num('total_memory');
      f.nrCpus = num('nr_cpus');
      const ver = fields.get('xen_version')?.value ?? `${fields.get('xen_major')?.value}.${fields.get('xen_minor')?.value}`;
      f.xenVersion = xenVersionOf(ver);
      f.hostname ??= fields.get('host')?.value || null;
      const cl = fields.get('xen_commandline');
      if (cl) {
        const part = { source: info.source, line: cl.line, text: `xen_commandline : ${cl.value}`, options: splitCmdline(cl.value) };
        f.xenCmdlines.push({ kind: 'running', label: `the running Xen (${info.source})`, parts: [part], options: part.options });
      }
      const sched = fields.get('xen_scheduler');
      if (sched && !/^credit2?$/.test(sched.value)) {
        ctx.report({
          rule: 'xen-scheduler-not-credit',
          key: { scheduler: sched.value },
          values: { scheduler: sched.value, source: info.source },
          conditions: ['running'],
          evidence: [{ source: info.source, line: sched.line, text: `xen_scheduler : ${sched.value}` }],
        });
      }
    }
  }
  const list = toolOutput(ctx, 'xl-list', 'list', ctx.opts.xlListFile);
  if (list) {
    const domains = parseXlList(list.text);
    if (domains.length === 0) ctx.skip('xl-list', `${list.source}: no domain rows (not \`xl list\` output?)`);
    else f.domains = { source: list.source, list: domains };
  }
}

/** The host name: from the root's /etc/hostname, `xl info`, or this machine. */
export function readHostname(ctx: CheckContext): void {
  if (ctx.live) {
    ctx.facts.hostname = hostname() || null;
    return;
  }
  const r = ctx.read('/etc/hostname');
  if (r.ok) ctx.facts.hostname = r.file.lines.map((l) => l.trim()).find((l) => l && !l.startsWith('#')) ?? null;
}

/** Guest ports per bridge now (/sys/class/net/BRIDGE/brif/vifN.M), against the budget of 64. */
export function checkBridgePorts(ctx: CheckContext): void {
  const nets = ctx.list('/sys/class/net');
  if (nets === null) {
    ctx.skip('bridge-ports', `${ctx.real('/sys/class/net')} is absent: bridge membership not read`);
    return;
  }
  let bridges = 0;
  for (const dev of nets) {
    const ports = ctx.list(`/sys/class/net/${dev}/brif`);
    if (ports === null) continue;
    bridges++;
    const vifs = [...new Set(ports.filter((p) => /^vif\d+\.\d+(?:-emu)?$/.test(p)).map((p) => p.replace(/-emu$/, '')))];
    ctx.addInput(ctx.real(`/sys/class/net/${dev}/brif`), ports.join('\n') + (ports.length ? '\n' : ''));
    if (vifs.length > BRIDGE_BUDGET) {
      ctx.report({
        rule: 'bridge-port-overload',
        key: { bridge: dev },
        values: { bridge: dev, ports: vifs.length, budget: BRIDGE_BUDGET },
        conditions: vifs.length > 100 ? ['over-100'] : [],
        evidence: [
          {
            source: ctx.real(`/sys/class/net/${dev}/brif`),
            line: 0,
            text: `${vifs.length} guest ports: ${vifs.slice(0, 8).join(' ')} ...`,
          },
        ],
      });
    }
  }
  if (bridges === 0) ctx.skip('bridge-ports', `no bridge in ${ctx.real('/sys/class/net')} (no */brif folder)`);
}
