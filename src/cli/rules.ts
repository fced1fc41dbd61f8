/** `xendoctor rules list | show ID | test [DIR]`: the catalogue. */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { CliError, ExitCode, RuleFileError, type RuleProblem } from '../errors.js';
import { bundledRulesDir, loadCatalogue, loadRuleFile, ruleFiles } from '../engine/catalogue.js';
import { testSamples } from '../engine/samples.js';
import { renderRuleText } from '../render/rule-text.js';
import { safeText } from '../render/sanitize.js';
import type { Io } from '../io.js';

/** Where a rule folder's samples live: DIR/samples, DIR itself, or ../samples beside it. */
function samplesDirFor(ruleDir: string): string {
  for (const d of [join(ruleDir, 'samples'), join(dirname(ruleDir), 'samples'), ruleDir]) {
    if (existsSync(d) && ruleFiles(ruleDir).some((f) => existsSync(join(d, f.replace(/^.*\//, '').replace(/\.ya?ml$/, '.log'))))) return d;
  }
  return join(dirname(ruleDir), 'samples');
}

async function runRulesTest(dir: string | undefined, opts: { format?: string }, io: Io): Promise<number> {
  const ruleDir = dir ? resolve(dir) : bundledRulesDir();
  let st;
  try {
    st = statSync(ruleDir);
  } catch (e) {
    throw new CliError(`cannot read the rule folder ${ruleDir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (!st.isDirectory()) throw new CliError(`${ruleDir} is not a folder`, 'give the folder that holds the rule files');
  const problems: RuleProblem[] = [];
  const own = ruleFiles(ruleDir).map((f) => loadRuleFile(f, problems));
  if (problems.length) throw new RuleFileError(problems);
  const rules = dir ? loadCatalogue({ extraDirs: [ruleDir] }) : loadCatalogue();
  const ids = new Set(own.map((r) => r!.id));
  const result = await testSamples(rules, samplesDirFor(ruleDir), ids);
  if (opts.format === 'json') io.out(JSON.stringify({ rules: ids.size, ...result }, null, 2) + '\n');
  else {
    for (const p of result.problems) io.out(`${p.file}${p.line ? `:${p.line}` : ''}: ${safeText(p.message)}\n`);
    io.out(
      `${ids.size} rules, ${result.cases} cases: ${result.passed} passed, ${result.cases - result.passed} failed${result.problems.length ? `, ${result.problems.length} problems` : ''}\n`,
    );
  }
  return result.problems.length ? ExitCode.Error : ExitCode.Ok;
}

/** Register `rules` and its subcommands. */
export function registerRules(program: Command, io: Io, setCode: (c: number) => void): void {
  const rules = program.command('rules').description('the rule catalogue');
  rules
    .command('list')
    .description('list the rules')
    .option('--format <format>', 'text or json', 'text')
    .option('--rules <dir>', 'another folder of rule files (repeatable)', (v: string, p: string[]) => [...p, v], [])
    .action((opts: { format: string; rules: string[] }) => {
      const all = loadCatalogue({ extraDirs: opts.rules });
      if (opts.format === 'json') {
        io.out(
          JSON.stringify(
            {
              rules: all.map((r) => ({
                id: r.id,
                title: r.spec.title,
                severity: r.severity,
                tags: r.spec.tags ?? [],
                harmless: r.spec.harmless ?? false,
                file: r.file,
              })),
            },
            null,
            2,
          ) + '\n',
        );
      } else {
        const w = Math.max(...all.map((r) => r.id.length));
        for (const r of all) io.out(`${r.id.padEnd(w)}  ${r.severity.padEnd(8)} ${r.spec.title}\n`);
      }
      setCode(ExitCode.Ok);
    });
  rules
    .command('show')
    .description('show one rule with its diagnosis and fix')
    .argument('<id>')
    .option('--format <format>', 'text or json', 'text')
    .option('--rules <dir>', 'another folder of rule files (repeatable)', (v: string, p: string[]) => [...p, v], [])
    .action((id: string, opts: { format: string; rules: string[] }) => {
      const rule = loadCatalogue({ extraDirs: opts.rules }).find((r) => r.id === id);
      if (!rule) throw new CliError(`no rule "${id}"`, 'see `xendoctor rules list`');
      io.out(opts.format === 'json' ? JSON.stringify(rule.spec, null, 2) + '\n' : renderRuleText(rule));
      setCode(ExitCode.Ok);
    });
  rules
    .command('test')
    .description('check rule files against their samples (default: the bundled catalogue)')
    .argument('[dir]', 'a folder of rule files; samples in DIR/samples, DIR or ../samples')
    .option('--format <format>', 'text or json', 'text')
    .action(async (dir: string | undefined, opts: { format: string }) => setCode(await runRulesTest(dir, opts, io)));
}
