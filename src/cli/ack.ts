/**
 * `xendoctor ack ID...`: acknowledge findings of `xendoctor report`, so that they stay out of the
 * report until they recur after the acknowledgement. IDs are the findings' stable ids (a unique
 * prefix of at least 6 digits will do when the state file knows the finding).
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { CliError, ExitCode } from '../errors.js';
import { acquireLock } from '../state/lock.js';
import { ensureDir } from '../state/atomic.js';
import { defaultStatePath, peekState } from '../state/state.js';
import { defaultAckPath, FINDING_ID, loadAcks, saveAcks } from '../state/acks.js';
import { safeText } from '../render/sanitize.js';
import type { Io } from '../io.js';

export async function runAck(ids: string[], o: Record<string, unknown>, io: Io): Promise<number> {
  const statePath = resolve(typeof o.state === 'string' ? o.state : defaultStatePath());
  const ackPath = resolve(typeof o.ackFile === 'string' ? o.ackFile : defaultAckPath(statePath));
  const state = peekState(statePath);
  const known = state ? Object.keys(state.findings) : [];
  const describe = (id: string) => {
    const f = state?.findings[id];
    return f ? ` (${f.rule} on ${safeText(f.host ?? 'an unnamed host')}: ${safeText(f.title)})` : '';
  };
  const { acks, problems } = loadAcks(ackPath);
  for (const p of problems) io.err(`xendoctor: ${p}\n`);
  if (o.list === true) {
    if (acks.size === 0) io.out('no acknowledgements\n');
    for (const a of acks.values())
      io.out(`${a.id} ${new Date(a.at).toISOString()}${describe(a.id)}${a.note ? ` — ${safeText(a.note)}` : ''}\n`);
    return ExitCode.Ok;
  }
  if (ids.length === 0)
    throw new CliError(
      'name the finding ids to acknowledge',
      "the report shows each finding's id; `xendoctor ack --list` shows the acknowledgements",
    );
  const full = ids.map((raw) => {
    const id = raw.trim().toLowerCase();
    if (FINDING_ID.test(id)) return id;
    if (/^[0-9a-f]{6,15}$/.test(id)) {
      const matches = [...new Set([...known, ...acks.keys()])].filter((k) => k.startsWith(id));
      if (matches.length === 1) return matches[0]!;
      throw new CliError(
        matches.length
          ? `"${id}" is the start of ${matches.length} finding ids`
          : `no finding known to the state file ${statePath} starts with "${id}"`,
        'give the whole 16-digit id',
      );
    }
    throw new CliError(`"${safeText(raw)}" is not a finding id (16 hex digits, as the report shows)`);
  });
  ensureDir(ackPath);
  const lock = await acquireLock(`${ackPath}.lock`, { waitMs: 10_000 });
  try {
    // re-read under the lock: another ack may have written meanwhile
    const current = loadAcks(ackPath).acks;
    const now = Date.now();
    for (const id of full) {
      if (o.remove === true) {
        if (current.delete(id)) io.out(`removed the acknowledgement of ${id}${describe(id)}\n`);
        else io.err(`xendoctor: ${id} was not acknowledged\n`);
      } else {
        current.set(id, { id, at: now, note: typeof o.note === 'string' ? o.note : '' });
        io.out(`acknowledged ${id}${describe(id)}: silent while it goes on after ${new Date(now).toISOString()}, until it gets worse\n`);
        if (state && !state.findings[id]) io.err(`xendoctor: note: the state file ${statePath} has not seen ${id} (yet)\n`);
      }
    }
    saveAcks(ackPath, current);
  } finally {
    lock.release();
  }
  return ExitCode.Ok;
}

/** Register `ack`. */
export function registerAck(program: Command, io: Io, setCode: (c: number) => void): void {
  program
    .command('ack')
    .description(
      'acknowledge findings of `xendoctor report`: silent while they go on, until they get worse (higher severity, a much higher rate)',
    )
    .argument('[ids...]', 'finding ids, as the report shows them')
    .option('--state <file>', 'the report state file (default as for `report`)')
    .option('--ack-file <file>', 'the acknowledgements file (default: "acks" beside the state file)')
    .option('--note <text>', 'a note kept with the acknowledgement')
    .option('--remove', 'take the acknowledgements back')
    .option('--list', 'list the acknowledgements')
    .action(async (ids: string[], opts: Record<string, unknown>) => setCode(await runAck(ids, opts, io)));
}
