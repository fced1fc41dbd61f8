/**
 * Required literals of a regular expression: for a pattern, a set of strings at least one of which
 * occurs in every text the pattern matches. They feed the prefilter that lets most lines touch no regex.
 */

const ESCAPED_LITERAL = /[\\^$.*+?()[\]{}|/\-\s"'#:!<>=@%&,;~`]/;
const ZERO_WIDTH_ESCAPES = new Set(['b', 'B']);

/** Skip a balanced "(...)" or "[...]" starting at i; returns the index after it. */
function skipGroup(src: string, i: number): number {
  if (src[i] === '[') {
    let j = i + 1;
    if (src[j] === '^') j++;
    if (src[j] === ']') j++;
    for (; j < src.length; j++) {
      if (src[j] === '\\') j++;
      else if (src[j] === ']') return j + 1;
    }
    return src.length;
  }
  let depth = 0;
  for (let j = i; j < src.length; j++) {
    const c = src[j];
    if (c === '\\') j++;
    else if (c === '[') j = skipGroup(src, j) - 1;
    else if (c === '(') depth++;
    else if (c === ')') {
      depth--;
      if (depth === 0) return j + 1;
    }
  }
  return src.length;
}

/** Split a pattern into its top-level alternatives. */
function topLevelAlternatives(src: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') i++;
    else if (c === '(' || c === '[') i = skipGroup(src, i) - 1;
    else if (c === '|') {
      out.push(src.slice(start, i));
      start = i + 1;
    }
  }
  out.push(src.slice(start));
  return out;
}

/** Contents of a group that is the whole of an alternative: "(?:a|b)" → "a|b". */
function unwrapGroup(alt: string): string | null {
  const m = /^\((?:\?:|\?<[A-Za-z_]\w*>)?/.exec(alt);
  if (!m || skipGroup(alt, 0) !== alt.length) return null;
  return alt.slice(m[0].length, -1);
}

/** Weakest (shortest) member of a literal set: how selective the set is. */
function strength(set: string[]): number {
  return set.length === 0 ? 0 : Math.min(...set.map((x) => x.length));
}

/**
 * Best literal set of one alternative (no top-level "|"): its longest literal run, or the literal
 * set of a group that must match (e.g. "(?:No space left|ENOSPC)"), whichever is more selective.
 */
function bestSet(alt: string, min: number): string[] {
  let best: string[] = [];
  let run = '';
  const consider = (set: string[]) => {
    if (strength(set) > strength(best)) best = set;
  };
  const flush = () => {
    if (run) consider([run]);
    run = '';
  };
  for (let i = 0; i < alt.length; i++) {
    const c = alt[i]!;
    let lit: string | null = null;
    let next = i + 1;
    if (c === '\\') {
      const e = alt[i + 1] ?? '';
      next = i + 2;
      if (ZERO_WIDTH_ESCAPES.has(e)) {
        i = next - 1;
        continue;
      } else if (e !== '' && ESCAPED_LITERAL.test(e)) {
        lit = e;
      } else if (e === 'x' && /^[0-9a-fA-F]{2}$/.test(alt.slice(i + 2, i + 4))) {
        lit = String.fromCharCode(parseInt(alt.slice(i + 2, i + 4), 16));
        next = i + 4;
      } else {
        flush();
        i = next - 1;
        continue;
      }
    } else if (c === '(' || c === '[') {
      flush();
      next = skipGroup(alt, i);
      const q = alt[next];
      const optional = q === '*' || q === '?' || (q === '{' && /^\{0[,}]/.test(alt.slice(next)));
      const lookaround = /^\(\?<?[=!]/.test(alt.slice(i));
      if (c === '(' && !optional && !lookaround) {
        const inner = alt
          .slice(i, next)
          .replace(/^\((?:\?:|\?<[A-Za-z_]\w*>)?/, '')
          .slice(0, -1);
        const sub = requiredLiterals(inner, min);
        if (sub) consider(sub);
      }
      // a quantifier after a group applies to the group, and is skipped with it
      if (q === '*' || q === '+' || q === '?') next++;
      else if (q === '{' && /^\{\d*,?\d*\}/.test(alt.slice(next))) next = alt.indexOf('}', next) + 1;
      if (alt[next] === '?' && next > i) next += alt[next - 1] === '?' ? 0 : 1;
      i = next - 1;
      continue;
    } else if (c === '^' || c === '$') {
      continue;
    } else if (c === '{' && /^\{\d+(?:,\d*)?\}/.test(alt.slice(i))) {
      // the quantifier of an atom that is no literal (".{0,63}", "\d{1,3}"): its digits are no text
      flush();
      i = alt.indexOf('}', i);
      if (alt[i + 1] === '?') i++;
      continue;
    } else if ('.*+?{}|)'.includes(c)) {
      flush();
      continue;
    } else {
      lit = c;
    }
    const q = alt[next];
    if (q === '*' || q === '?' || (q === '{' && /^\{0[,}]/.test(alt.slice(next)))) {
      flush(); // the atom is optional: it ends the run without belonging to it
      if (q === '{') {
        i = next - 1; // its quantifier is skipped as one of a non-literal atom
        continue;
      }
      i = next;
      if (alt[i + 1] === '?') i++;
      continue;
    }
    run += lit;
    // a "{" that starts no quantifier is a brace of the text ("Error {code}"): it once skipped the
    // text up to the next "}" and joined the atoms on both sides into a literal no line held
    const counted = q === '{' && /^\{\d+(?:,\d*)?\}/.test(alt.slice(next));
    if (q === '+' || counted) {
      // repeated: the first repetition ends the run before it, the last one starts the run after it
      flush();
      run = lit;
      if (counted) next = alt.indexOf('}', next) + 1;
      else next++;
      if (alt[next] === '?') next++;
    }
    i = next - 1;
  }
  flush();
  return best;
}

/**
 * Literals for a pattern: one per top-level alternative (recursing into a group that is a whole
 * alternative), or null when some alternative has no literal of at least `min` characters.
 */
export function requiredLiterals(source: string, min = 3): string[] | null {
  const out: string[] = [];
  for (const alt of topLevelAlternatives(source)) {
    const inner = unwrapGroup(alt);
    if (inner !== null && topLevelAlternatives(inner).length > 1) {
      const sub = requiredLiterals(inner, min);
      if (sub === null) return null;
      out.push(...sub);
      continue;
    }
    const set = bestSet(alt, min);
    if (strength(set) < min) return null;
    out.push(...set);
  }
  return out;
}

/** The same literal as it stands inside a JSON string (journalctl -o json), when it differs. */
export function jsonEscaped(s: string): string | null {
  const j = JSON.stringify(s).slice(1, -1);
  return j === s ? null : j;
}
