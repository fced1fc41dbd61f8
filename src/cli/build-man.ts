/**
 * Build step (`npm run build`): write man/xendoctor.1 from the commander definitions and
 * man/xendoctor-rules.5 from docs/rule-format.md (package.json "man" installs them).
 * The date is SOURCE_DATE_EPOCH's when set (reproducible builds), else today's.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { toolVersion } from '../scan.js';
import { buildProgram } from './main.js';
import { addCommonOptions } from './options.js';
import { renderCommandPage, renderRulesPage } from './manpage.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const epoch = Number(process.env.SOURCE_DATE_EPOCH);
const date = new Date(Number.isFinite(epoch) && epoch > 0 ? epoch * 1000 : Date.now()).toISOString().slice(0, 10);
const ctx = { version: toolVersion(), date, common: addCommonOptions(new Command('common')) };
const program = buildProgram({ out: () => undefined, err: () => undefined }, () => undefined);
mkdirSync(join(root, 'man'), { recursive: true });
writeFileSync(join(root, 'man', 'xendoctor.1'), renderCommandPage(program, ctx));
writeFileSync(join(root, 'man', 'xendoctor-rules.5'), renderRulesPage(readFileSync(join(root, 'docs', 'rule-format.md'), 'utf8'), ctx));
process.stdout.write('man pages: man/xendoctor.1, man/xendoctor-rules.5\n');
