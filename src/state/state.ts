/**
 * The report state: what earlier `xendoctor report` runs have read (per file, the hypervisor console,
 * the journal cursor) and which findings they reported. Loaded with suspicion — a corrupt, foreign or
 * tamperable file is reported and set aside, never trusted — and written atomically (mode 0600) only
 * after the report was delivered.
 */
import { lstatSync, readFileSync, renameSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CliError } from '../errors.js';
import { SEVERITIES, type Severity } from '../types.js';
import type { PendingThreshold } from '../engine/groups.js';
import { ensureDir, refuseSpecial, writeFileAtomic } from './atomic.js';

/** Hash of the first `len` bytes of something. */
export interface Fingerprint {
  len: number;
  hash: string;
}

/** How far a file was read, and what identifies it. Offsets count uncompressed bytes. */
export interface FileMark {
  dev: number;
  ino: number;
  /** Bytes read (always at a line end). */
  offset: number;
  /** Lines read: the line number of the last line read. */
  lines: number;
  /** Fingerprint of the file's first bytes (up to 4 KiB, within what was read). */
  head: Fingerprint;
  /** Fingerprint of the bytes just before `offset` (up to 512). */
  tail: Fingerprint;
  size: number;
  mtime: number;
}

/** A rotated generation (name.1, name.2.gz…) as seen at the end of a run. */
export interface GenerationMark {
  dev: number;
  ino: number;
  /** Fingerprint of its first bytes (uncompressed). */
  head: Fingerprint;
}

/** A rotated generation as seen at the end of a run, with what re-identifies it without reading it. */
export interface SeenGeneration extends GenerationMark {
  size: number;
  mtime: number;
}

export interface TrackedFile {
  current: FileMark;
  /**
   * Every rotated generation that existed at the last run: a generation not among them is new since
   * (whatever its name sorts like); absent in states of earlier versions (then `newestGen` is used).
   */
  gens?: SeenGeneration[];
  /** The generation rotated away last (read to its end), watched for late writes while it is not compressed. */
  rotated?: FileMark & { path: string };
  /** The newest rotated generation that existed at the last run (null: there was none). */
  newestGen?: GenerationMark | null;
}

/** The hypervisor console as seen at the end of the last run. */
export interface ConsoleMark {
  command: string;
  /** Lines in the output. */
  lines: number;
  /** Hash of its first line (unchanged while the ring buffer has not wrapped and the host not restarted). */
  first: string;
  /** Hashes of its last lines, oldest first. */
  last: string[];
  /**
   * Its last lines as runs of one line repeated (hash, count), oldest first, at most CONSOLE_CONTEXT
   * runs: a flood of identical lines is one run, so the place is still found after the ring wrapped.
   * The first run's count is cut by the buffer's start when the runs cover the whole buffer.
   */
  runs?: [string, number][];
  /** Hash of all its lines: the buffer only grew since when its first `lines` lines hash the same. */
  whole?: string;
}

export interface FindingMark {
  rule: string;
  host: string | null;
  severity: Severity;
  title: string;
  /** First time ever seen (the line's time, or the run's when the line had none). */
  since: string | null;
  last: string | null;
  /** Occurrences counted in all runs so far. */
  count: number;
  /** The last run that saw it. */
  seen: string;
}

export interface ReportState {
  tool: 'xendoctor';
  kind: 'report-state';
  schema: 1;
  created: string;
  /** End of the last run whose report was delivered. */
  lastRun: string | null;
  files: Record<string, TrackedFile>;
  console?: ConsoleMark;
  journal?: { cursor: string };
  findings: Record<string, FindingMark>;
  /** Thresholds not yet reached at the end of the last run, with the hits counting towards them. */
  pending?: PendingThreshold[];
}

const MAX_STATE_BYTES = 64 * 1024 * 1024;
const KEEP_FINDINGS_MS = 180 * 86_400_000;
const MAX_FINDINGS = 5000;

/** Default state file: /var/lib/xendoctor/state.json as root, else under $XDG_STATE_HOME (~/.local/state). */
export function defaultStatePath(env: NodeJS.ProcessEnv = process.env, uid = process.getuid?.() ?? 0): string {
  if (uid === 0) return '/var/lib/xendoctor/state.json';
  const base = env.XDG_STATE_HOME && env.XDG_STATE_HOME.startsWith('/') ? env.XDG_STATE_HOME : join(homedir(), '.local', 'state');
  return join(base, 'xendoctor', 'state.json');
}

export function emptyState(now: number): ReportState {
  return {
    tool: 'xendoctor',
    kind: 'report-state',
    schema: 1,
    created: new Date(now).toISOString(),
    lastRun: null,
    files: {},
    findings: {},
  };
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isStr = (v: unknown): v is string => typeof v === 'string';
const isFp = (v: unknown) => isObj(v) && isNum(v.len) && isStr(v.hash);

const isCount = (v: unknown): v is number => isNum(v) && Number.isSafeInteger(v);
const isFpIn = (v: unknown, within: number) => isObj(v) && isFp(v) && isCount(v.len) && v.len <= within;

/** A file mark whose numbers agree with each other (whole byte counts, fingerprints within what was read). */
function checkMark(m: unknown): boolean {
  return (
    isObj(m) &&
    isCount(m.dev) &&
    isCount(m.ino) &&
    isCount(m.offset) &&
    isCount(m.lines) &&
    m.lines <= m.offset &&
    isFpIn(m.head, m.offset) &&
    isFpIn(m.tail, m.offset) &&
    isCount(m.size) &&
    isNum(m.mtime)
  );
}

/** Why `o` is not a report state this version can trust, or null. */
export function invalidReason(o: unknown): string | null {
  if (!isObj(o)) return 'not a JSON object';
  if (o.tool !== 'xendoctor' || o.kind !== 'report-state') return 'not a xendoctor report state';
  if (o.schema !== 1) return `state schema ${String(o.schema)} is not the one this version writes (1)`;
  if (!isStr(o.created) || !(o.lastRun === null || isStr(o.lastRun))) return 'bad "created" or "lastRun"';
  if (!isObj(o.files)) return 'bad "files"';
  for (const [path, t] of Object.entries(o.files)) {
    if (!isObj(t) || !checkMark(t.current)) return `bad entry for file ${JSON.stringify(path)}`;
    if (t.rotated !== undefined && (!checkMark(t.rotated) || !isStr((t.rotated as Record<string, unknown>).path)))
      return `bad rotated entry for file ${JSON.stringify(path)}`;
    const g = t.newestGen;
    if (g !== undefined && g !== null && !(isObj(g) && isNum(g.dev) && isNum(g.ino) && isFp(g.head)))
      return `bad newestGen entry for file ${JSON.stringify(path)}`;
    if (
      t.gens !== undefined &&
      !(
        Array.isArray(t.gens) &&
        t.gens.every((x) => isObj(x) && isCount(x.dev) && isCount(x.ino) && isFp(x.head) && isCount(x.size) && isNum(x.mtime))
      )
    )
      return `bad gens entry for file ${JSON.stringify(path)}`;
  }
  if (o.console !== undefined) {
    const c = o.console;
    if (!isObj(c) || !isStr(c.command) || !isNum(c.lines) || !isStr(c.first) || !Array.isArray(c.last) || !c.last.every(isStr))
      return 'bad "console"';
    const run = (r: unknown) => Array.isArray(r) && r.length === 2 && isStr(r[0]) && Number.isInteger(r[1]) && (r[1] as number) > 0;
    if ((c.runs !== undefined && !(Array.isArray(c.runs) && c.runs.every(run))) || (c.whole !== undefined && !isStr(c.whole)))
      return 'bad "console"';
  }
  if (o.journal !== undefined && (!isObj(o.journal) || !isStr(o.journal.cursor))) return 'bad "journal"';
  if (o.pending !== undefined) {
    const time = (t: unknown) => t === null || isNum(t);
    const strings = (r: unknown) => isObj(r) && Object.values(r).every(isStr);
    if (
      !Array.isArray(o.pending) ||
      !o.pending.every(
        (p) =>
          isObj(p) &&
          isStr(p.rule) &&
          (p.host === null || isStr(p.host)) &&
          strings(p.key) &&
          Array.isArray(p.recent) &&
          p.recent.every(time) &&
          Array.isArray(p.distinct) &&
          p.distinct.every((d) => Array.isArray(d) && d.length === 2 && isStr(d[0]) && time(d[1])),
      )
    )
      return 'bad "pending"';
  }
  if (!isObj(o.findings)) return 'bad "findings"';
  for (const [id, f] of Object.entries(o.findings)) {
    if (
      !isObj(f) ||
      !isStr(f.rule) ||
      !(f.host === null || isStr(f.host)) ||
      !SEVERITIES.includes(f.severity as Severity) ||
      !isStr(f.title) ||
      !(f.since === null || isStr(f.since)) ||
      !(f.last === null || isStr(f.last)) ||
      !isNum(f.count) ||
      !isStr(f.seen)
    )
      return `bad finding ${JSON.stringify(id)}`;
  }
  return null;
}

export interface LoadedState {
  state: ReportState;
  /** Set when the file was there but could not be trusted (already set aside). */
  notice: string | null;
  /** True when there was no state yet (first run). */
  fresh: boolean;
}

function stamp(now: number): string {
  return new Date(now)
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

/** Move an untrusted state file out of the way; returns the new name. */
function setAside(path: string, now: number): string {
  const aside = `${path}.corrupt-${stamp(now)}`;
  try {
    renameSync(path, aside);
  } catch (e) {
    throw new CliError(`cannot set the untrusted state file ${path} aside: ${(e as Error).message}`, 'move or remove it by hand');
  }
  return aside;
}

/** Load the state at `path`: a fresh one when absent; a corrupt, foreign or tamperable one set aside. */
export function loadState(path: string, now = Date.now()): LoadedState {
  let st;
  try {
    st = lstatSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { state: emptyState(now), notice: null, fresh: true };
    throw new CliError(`cannot read the state file ${path}: ${(e as Error).message}`, 'give a readable one with --state FILE');
  }
  const distrust = (why: string): LoadedState => {
    const aside = setAside(path, now);
    return {
      state: emptyState(now),
      notice: `state file ${path} ${why}: set aside as ${aside}; this run reads everything as new`,
      fresh: true,
    };
  };
  if (st.isDirectory()) throw new CliError(`the state file ${path} is a folder`, 'give a file name with --state FILE');
  refuseSpecial(path, 'state file'); // a device or FIFO is never renamed aside
  if (!st.isFile()) return distrust('is not a regular file');
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid && st.uid !== 0) return distrust(`belongs to another user (uid ${st.uid})`);
  if (st.mode & 0o022) return distrust('is writable by other users (so could have been tampered with)');
  if (st.size > MAX_STATE_BYTES) return distrust('is far too large to be a state file');
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code) throw new CliError(`cannot read the state file ${path}: ${(e as Error).message}`);
    return distrust('is corrupt (not valid JSON)');
  }
  const why = invalidReason(data);
  if (why) return distrust(`is not valid (${why})`);
  return { state: data as ReportState, notice: null, fresh: false };
}

/** Forget findings not seen for half a year, and keep at most a few thousand. */
export function pruneFindings(state: ReportState, now: number): void {
  const entries = Object.entries(state.findings).filter(([, f]) => now - Date.parse(f.seen) < KEEP_FINDINGS_MS);
  entries.sort((a, b) => (a[1].seen < b[1].seen ? 1 : a[1].seen > b[1].seen ? -1 : 0));
  state.findings = Object.fromEntries(entries.slice(0, MAX_FINDINGS));
}

/** Write the state atomically and durably, mode 0600, creating its folder (0700) if need be. */
export function saveState(path: string, state: ReportState): void {
  ensureDir(path);
  writeFileAtomic(path, JSON.stringify(state, null, 1) + '\n', 0o600, 'state file');
}

/** Read a state file without judging or moving it (for `ack`): null when absent or not valid. */
export function peekState(path: string): ReportState | null {
  try {
    const data: unknown = JSON.parse(readFileSync(path, 'utf8'));
    return invalidReason(data) === null ? (data as ReportState) : null;
  } catch {
    return null;
  }
}
