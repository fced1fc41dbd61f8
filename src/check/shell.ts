/** Shell-style variable files (/etc/default/grub, /etc/default/xendomains): the assignments, as the shell would see them. */

/** One variable as last assigned. */
export interface ShellVar {
  value: string;
  file: string;
  /** 1-based line of the assignment. */
  line: number;
  /** The assignment as written (first line). */
  text: string;
}

const ASSIGN = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/;

function expand(name: string, vars: Map<string, ShellVar>, env: Record<string, string>): string {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)(?::?[-=](.*))?$/.exec(name);
  if (!m) return '';
  const v = vars.get(m[1]!)?.value ?? env[m[1]!];
  return v !== undefined && v !== '' ? v : (m[2] ?? '');
}

/** Evaluate one shell word (quotes, $VAR, ${VAR}, ${VAR:-default}, backslashes); stops at unquoted blank or ";". */
function evalWord(src: string, vars: Map<string, ShellVar>, env: Record<string, string>): { value: string; complete: boolean } {
  let out = '';
  let i = 0;
  const dollar = (): void => {
    if (src[i + 1] === '{') {
      const end = src.indexOf('}', i + 2);
      if (end < 0) {
        i = src.length;
        return;
      }
      out += expand(src.slice(i + 2, end), vars, env);
      i = end + 1;
    } else {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i + 1));
      if (m) {
        out += expand(m[0], vars, env);
        i += 1 + m[0].length;
      } else {
        out += '$';
        i++;
      }
    }
  };
  while (i < src.length) {
    const c = src[i]!;
    if (c === ' ' || c === '\t' || c === ';' || c === '\n') break;
    if (c === '\\') {
      out += src[i + 1] ?? '';
      i += 2;
    } else if (c === "'") {
      const end = src.indexOf("'", i + 1);
      if (end < 0) return { value: out, complete: false };
      out += src.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      i++;
      for (;;) {
        if (i >= src.length) return { value: out, complete: false };
        const d = src[i]!;
        if (d === '"') {
          i++;
          break;
        }
        if (d === '\\' && /["\\$`\n]/.test(src[i + 1] ?? '')) {
          out += src[i + 1];
          i += 2;
        } else if (d === '$') dollar();
        else {
          out += d;
          i++;
        }
      }
    } else if (c === '$') dollar();
    else {
      out += c;
      i++;
    }
  }
  return { value: out, complete: true };
}

/**
 * Read the assignments of a shell file into `vars` (later assignments replace earlier ones, and
 * `$VAR` refers to what was assigned before, as when the file is sourced). Everything that is not a
 * plain assignment (conditionals, commands) is ignored.
 */
export function readShellAssignments(text: string, file: string, vars: Map<string, ShellVar>, env: Record<string, string> = {}): void {
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const m = ASSIGN.exec(lines[n]!);
    if (!m) continue;
    let src = m[2]!;
    let r = evalWord(src, vars, env);
    let extra = 0;
    while (!r.complete && n + extra + 1 < lines.length && extra < 50) {
      extra++;
      src += '\n' + lines[n + extra]!;
      r = evalWord(src, vars, env);
    }
    vars.set(m[1]!, { value: r.value, file, line: n + 1, text: lines[n]!.trim() });
    n += extra;
  }
}
