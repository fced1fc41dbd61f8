/**
 * Build step (`npm run build`): the files installed beside the program — man/xendoctor.1 from the
 * commander definitions and man/xendoctor-rules.5 from docs/rule-format.md (package.json "man"
 * installs them), and the completion scripts in completion/ (for packagers: bash-completion's
 * completions/xendoctor, zsh's _xendoctor, fish's xendoctor.fish).
 * The date is SOURCE_DATE_EPOCH's when set (reproducible builds), else today's.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { toolVersion } from '../report-document.js';
import { buildProgram } from './main.js';
import { addCommonOptions } from './options.js';
import { renderCommandPage, renderRulesPage } from './manpage.js';
import { completionScript } from './completion.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const epoch = Number(process.env.SOURCE_DATE_EPOCH);
const date = new Date(Number.isFinite(epoch) && epoch > 0 ? epoch * 1000 : Date.now()).toISOString().slice(0, 10);
const ctx = { version: toolVersion(), date, common: addCommonOptions(new Command('common')) };
const program = await buildProgram({ out: () => undefined, err: () => undefined }, () => undefined);
mkdirSync(join(root, 'man'), { recursive: true });
writeFileSync(join(root, 'man', 'xendoctor.1'), renderCommandPage(program, ctx));
writeFileSync(join(root, 'man', 'xendoctor-rules.5'), renderRulesPage(readFileSync(join(root, 'docs', 'rule-format.md'), 'utf8'), ctx));
mkdirSync(join(root, 'completion'), { recursive: true });
writeFileSync(join(root, 'completion', 'xendoctor.bash'), completionScript('bash'));
writeFileSync(join(root, 'completion', '_xendoctor'), completionScript('zsh'));
writeFileSync(join(root, 'completion', 'xendoctor.fish'), completionScript('fish'));
process.stdout.write('man pages: man/xendoctor.1, man/xendoctor-rules.5; completion scripts: completion/\n');
