#!/usr/bin/env node
import { main } from '../dist/cli/main.js';

// A reader that stops early (`xendoctor rules list | head`) is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}
main(process.argv).then((code) => { process.exitCode = code; });
