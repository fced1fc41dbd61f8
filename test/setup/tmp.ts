/**
 * Removes the folders a test file made with `tmp()` (test/helpers.ts) once the file has run, unless one
 * of its tests failed or XD_KEEP_TMP is set: then they stay, named on stderr, for a look. Without this a
 * whole-suite run left some 2,000 folders (hundreds of MB) in the temporary directory.
 */
import { chmodSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeEach, onTestFailed } from 'vitest';
import { madeTmp } from './tmp-dirs.js';

let failed = false;
beforeEach(() => {
  onTestFailed(() => {
    failed = true;
  });
});

/** Make a tree removable by its owner (tests chmod files and folders to 0). */
const opened = (path: string): void => {
  try {
    chmodSync(path, 0o700);
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      if (entry.isDirectory()) opened(join(path, entry.name));
    }
  } catch {
    // not ours, gone, or not a folder: rmSync says what is left
  }
};

afterAll(() => {
  const dirs = madeTmp.splice(0);
  if (failed || process.env.XD_KEEP_TMP) {
    if (dirs.length > 0) process.stderr.write(`[tmp] kept ${dirs.length} folder(s): ${dirs.join(' ')}\n`);
    return;
  }
  for (const dir of dirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      opened(dir);
      rmSync(dir, { recursive: true, force: true, maxRetries: 2 });
    }
  }
});
