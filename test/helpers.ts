/** Test helpers: run the real CLI binary and capture stdout, stderr and the exit code. */
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { validateOutput } from './output-schemas.js';

export const ROOT = resolve(__dirname, '..');
export const BIN = join(ROOT, 'bin', 'xendoctor.js');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Run xendoctor with args; `input` is piped to stdin (otherwise stdin is /dev/null-like "ignore").
 * A JSON or NDJSON document it prints is validated against its schema (throws when it does not follow it).
 */
export function xd(args: string[], input?: string | Buffer, opts: SpawnSyncOptions = {}): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    input,
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, TZ: 'UTC', NO_COLOR: '1' },
    ...opts,
  });
  const run = { code: r.status ?? -1, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
  // every document printed in a test follows its JSON Schema (schemas/, docs/report-format.md)
  if (run.code >= 0 && run.code <= 2) validateOutput(args, run.stdout);
  return run;
}

/** Parsed JSON report of a run. */
export function json(r: Run): {
  findings: {
    rule: string;
    key: Record<string, string>;
    count: number;
    fix: string[];
    host: string | null;
    causedBy: string[];
    id: string;
    severity: string;
  }[];
  inputs: { source: string; errors: string[]; lines: number }[];
  summary: Record<string, number>;
} {
  return JSON.parse(r.stdout);
}

export function tmp(prefix = 'xd-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
