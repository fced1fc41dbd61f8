/** /etc/default/xendomains (/etc/sysconfig/xendomains): XENDOMAINS_SAVE and _RESTORE against the free space where the images go. */
import type { CheckContext } from './context.js';
import { readShellAssignments, type ShellVar } from './shell.js';
import { freeSpace } from './space.js';

const FILES = ['/etc/default/xendomains', '/etc/sysconfig/xendomains'];

/** Guest memory that a save at shutdown would write: running guests (xl list), else the configurations. */
function imagesMiB(ctx: CheckContext): { mib: number; source: string } | null {
  const d = ctx.facts.domains;
  if (d) return { mib: d.list.filter((x) => x.id !== 0).reduce((n, x) => n + x.memMiB, 0), source: `${d.source}, running guests` };
  const guests = ctx.facts.guests ?? [];
  const auto = guests.filter((g) => g.auto);
  const list = auto.length ? auto : guests;
  if (!list.length || list.some((g) => g.memoryMiB === null)) return null;
  return {
    mib: list.reduce((n, g) => n + g.memoryMiB!, 0),
    source: `memory= of ${list.length} guest configuration${list.length === 1 ? '' : 's'}${auto.length ? ' in /etc/xen/auto' : ''}`,
  };
}

export function checkXendomains(ctx: CheckContext): void {
  const vars = new Map<string, ShellVar>();
  let file: string | null = null;
  let hostFile = '';
  for (const p of FILES) {
    const r = ctx.read(p);
    if (r.ok) {
      readShellAssignments(r.file.text, r.file.source, vars);
      file = r.file.source;
      hostFile = p;
      break;
    }
    if (!r.absent) ctx.skip('xendomains', r.reason);
  }
  if (!file) {
    ctx.skip('xendomains', `${FILES.map((p) => ctx.real(p)).join(' and ')} are absent`);
    return;
  }
  const save = vars.get('XENDOMAINS_SAVE');
  if (!save || save.value.trim() === '') return;
  const restore = vars.get('XENDOMAINS_RESTORE');
  const dir = save.value.trim();
  const images = imagesMiB(ctx);
  const space = freeSpace(ctx, dir);
  const conditions: string[] = [];
  const values: Record<string, string | number> = {
    save_dir: dir,
    config: hostFile,
    restore: restore?.value ?? 'unset',
    images_mib: images?.mib ?? 'unknown',
    images_gib: images ? (images.mib / 1024).toFixed(1) : 'unknown',
    images_source: images?.source ?? 'unknown',
  };
  const evidence = [{ source: save.file, line: save.line, text: save.text }];
  if (restore && /^(?:true|yes|1)$/i.test(restore.value)) {
    conditions.push('restore');
    evidence.push({ source: restore.file, line: restore.line, text: restore.text });
  }
  if ('reason' in space) {
    conditions.push('free-unknown');
    ctx.skip('xendomains-space', `free space of ${dir}: ${space.reason}`);
  } else {
    values.free_mib = space.availMiB;
    values.free_gib = (space.availMiB / 1024).toFixed(1);
    values.mount = space.mount;
    evidence.push(space.evidence);
    if (images && images.mib > space.availMiB) conditions.push('does-not-fit');
    else if (images) conditions.push('fits');
  }
  if (!images) ctx.skip('xendomains-space', 'size of the guest images unknown (no `xl list`, no memory= in the guest configurations)');
  ctx.report({ rule: 'xendomains-save-on-shutdown', values, conditions, evidence });
}
