/** Test helpers: run the real CLI binary and capture stdout, stderr and the exit code. */
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { accessSync, constants, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '..');
export const BIN = join(ROOT, 'bin', 'xendoctor.js');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run xendoctor with args; `input` is piped to stdin (otherwise stdin is /dev/null-like "ignore"). */
export function xd(args: string[], input?: string | Buffer, opts: SpawnSyncOptions = {}): Run {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    input,
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, TZ: 'UTC', NO_COLOR: '1' },
    ...opts,
  });
  return { code: r.status ?? -1, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
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

/**
 * A real program a test drives (logrotate, rsyslogd, chromium...): its path, or null when it is not
 * installed. Missing in CI (CI=true) it throws, so that the test file fails instead of skipping:
 * .ci/run installs every one (DEB_PACKAGES). Missing locally it warns that the tests are skipped.
 */
export function component(name: string, candidates: string[], debPackage: string): string | null {
  const found = candidates.find((p) => {
    try {
      accessSync(p, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
  if (found) return found;
  const what = `${name} not found (${candidates.join(', ')}): install the Debian package ${debPackage} (.ci/run installs it)`;
  if (process.env.CI === 'true' || process.env.CI === '1') throw new Error(`${what}; CI must not skip its tests`);
  console.warn(`SKIPPED: ${what}`);
  return null;
}
