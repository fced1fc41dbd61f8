/** Typed failures and the exit codes they map to (monitoring-plugin convention, see README). */

export enum ExitCode {
  Ok = 0,
  Warning = 1,
  Error = 2,
  Unusable = 3,
}

/** Something the user has to fix before xendoctor can do its job (bad usage, unreadable rules…). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
    readonly code: ExitCode = ExitCode.Unusable,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** One problem in one rule file, located by line and field. */
export interface RuleProblem {
  file: string;
  line: number | null;
  field: string;
  message: string;
}

/** A rule file (or several) could not be loaded; carries every problem found, not just the first. */
export class RuleFileError extends CliError {
  constructor(readonly problems: RuleProblem[]) {
    super(
      problems.map((p) => `${p.file}${p.line ? `:${p.line}` : ''}: ${p.field ? `${p.field}: ` : ''}${p.message}`).join('\n'),
      'fix the rule file(s) named above; `xendoctor rules test DIR` checks them against their samples',
    );
    this.name = 'RuleFileError';
  }
}

/** A problem with one input; the scan goes on with the others. */
export class InputError extends Error {
  constructor(
    readonly source: string,
    message: string,
  ) {
    super(message);
    this.name = 'InputError';
  }
}
