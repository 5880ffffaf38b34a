// Glob matching for push rules (appendices#glob-style-matching: `*` matches zero or more
// characters, `?` exactly one), case-insensitive as event_match asks (modules/push.md#conditions-1),
// over whole values or, for content.body, over any substring between word boundaries.
//
// Matched by running the pattern as a small automaton over the value, one code point at a time, so
// the cost is the value's length times the pattern's, whatever the pattern: a regular expression
// would backtrack, and a user's pattern such as `*a*a*a*a*b` against a long body would stall the
// server.

/** One step of a compiled pattern: `*`, `?`, or one code point (case-folded). */
type Token = { readonly kind: "star" } | { readonly kind: "one" } | { readonly kind: "char"; readonly folded: string };

export interface Glob {
  readonly tokens: readonly Token[];
  /**
   * The pattern's code points case-folded, when it has no wildcard: matched by comparing them in
   * place, without the automaton (most patterns are so: event types, `@room`, display names).
   */
  readonly literal?: readonly string[];
}

/** A value prepared for matching: its code points, and each one case-folded. */
export interface FoldedText {
  readonly codePoints: readonly string[];
  readonly folded: readonly string[];
}

/**
 * "The exact meaning of 'case insensitive' is defined by the implementation" (modules/push.md):
 * here a code point upper-cased then lower-cased, which also folds the forms lower-casing alone
 * leaves apart (final sigma, long s, the Kelvin sign).
 */
export function foldCase(codePoint: string): string {
  const code = codePoint.charCodeAt(0);
  if (codePoint.length === 1 && code < 0x80) return code >= 0x41 && code <= 0x5a ? String.fromCharCode(code + 0x20) : codePoint;
  return codePoint.toUpperCase().toLowerCase();
}

export function foldText(value: string): FoldedText {
  const codePoints = Array.from(value);
  return { codePoints, folded: codePoints.map(foldCase) };
}

/** A pattern's tokens; every character but `*` and `?` stands for itself (the spec has no escapes). */
export function compileGlob(pattern: string): Glob {
  const tokens: Token[] = [];
  for (const codePoint of pattern) {
    if (codePoint === "*") {
      // Consecutive stars match what one does.
      if (tokens.at(-1)?.kind !== "star") tokens.push({ kind: "star" });
    } else if (codePoint === "?") {
      tokens.push({ kind: "one" });
    } else {
      tokens.push({ kind: "char", folded: foldCase(codePoint) });
    }
  }
  return withLiteral(tokens);
}

function withLiteral(tokens: Token[]): Glob {
  const literal: string[] = [];
  for (const token of tokens) {
    if (token.kind !== "char") return { tokens };
    literal.push(token.folded);
  }
  return { tokens, literal };
}

/** A glob that matches `literal` exactly (contains_display_name matches a display name so). */
export function literalGlob(literal: string): Glob {
  return withLiteral(Array.from(literal, (codePoint): Token => ({ kind: "char", folded: foldCase(codePoint) })));
}

/** modules/push.md#conditions-1: a word boundary is the value's start or end, or a character outside [A-Za-z0-9_]. */
function isWordCharacter(codePoint: string): boolean {
  if (codePoint.length !== 1) return false;
  const c = codePoint.charCodeAt(0);
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
}

/**
 * Whether `glob` matches `text`: all of it (`whole`), or some substring of it that starts and ends
 * at a word boundary (`words`, the rule for content.body).
 */
export function globMatches(glob: Glob, text: FoldedText, mode: "whole" | "words"): boolean {
  if (glob.literal !== undefined) return literalMatches(glob.literal, text, mode);
  const { tokens } = glob;
  const { codePoints, folded } = text;
  const m = tokens.length;
  const n = codePoints.length;
  let active = new Uint8Array(m + 1);
  let next = new Uint8Array(m + 1);
  // Adds state k (k tokens matched) and the states a star lets it skip to.
  const add = (states: Uint8Array, k: number): void => {
    for (let s = k; s <= m && states[s] === 0; s++) {
      states[s] = 1;
      if (s === m || (tokens[s] as Token).kind !== "star") break;
    }
  };
  const startsHere = (p: number): boolean => (mode === "whole" ? p === 0 : p === 0 || !isWordCharacter(codePoints[p - 1] as string));
  const endsHere = (p: number): boolean => (mode === "whole" ? p === n : p === n || !isWordCharacter(codePoints[p] as string));
  for (let p = 0; ; p++) {
    if (startsHere(p)) add(active, 0);
    if (active[m] === 1 && endsHere(p)) return true;
    if (p === n) return false;
    next.fill(0);
    let any = false;
    const c = folded[p] as string;
    for (let k = 0; k < m; k++) {
      if (active[k] === 0) continue;
      const token = tokens[k] as Token;
      if (token.kind === "star") add(next, k);
      else if (token.kind === "one" || token.folded === c) add(next, k + 1);
      else continue;
      any = true;
    }
    if (!any && mode === "whole") return false;
    [active, next] = [next, active];
  }
}

/** globMatches for a pattern without wildcards: its folded code points, at a place where they may start. */
function literalMatches(literal: readonly string[], text: FoldedText, mode: "whole" | "words"): boolean {
  const { codePoints, folded } = text;
  const m = literal.length;
  const n = codePoints.length;
  const at = (p: number): boolean => {
    for (let i = 0; i < m; i++) if (folded[p + i] !== literal[i]) return false;
    return true;
  };
  if (mode === "whole") return n === m && at(0);
  for (let p = 0; p + m <= n; p++) {
    const starts = p === 0 || !isWordCharacter(codePoints[p - 1] as string);
    const ends = p + m === n || !isWordCharacter(codePoints[p + m] as string);
    if (starts && ends && at(p)) return true;
  }
  return false;
}
