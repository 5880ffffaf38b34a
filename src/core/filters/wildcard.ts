// event_filter.yaml `types`/`not_types`: "A `*` can be used as a wildcard to match any sequence of
// characters." Only `*` is special here (unlike appendices#glob-style-matching, there is no `?`).
// Matched without building a RegExp, so a pattern from a client cannot cost more than
// O(pattern x value) steps (no catastrophic backtracking).

/** Whether `value` matches `pattern`, where each `*` matches any sequence, the empty one included. */
export function matchesWildcard(pattern: string, value: string): boolean {
  if (!pattern.includes("*")) return pattern === value;
  let p = 0;
  let v = 0;
  // Where to resume when a literal run fails after the last `*`: the star's index and the value
  // index it currently stands for the end of.
  let star = -1;
  let resume = 0;
  while (v < value.length) {
    if (p < pattern.length && pattern[p] === "*") {
      star = p++;
      resume = v;
    } else if (p < pattern.length && pattern[p] === value[v]) {
      p++;
      v++;
    } else if (star >= 0) {
      // Let the last `*` swallow one more character and retry the literals after it.
      p = star + 1;
      v = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === "*") p++;
  return p === pattern.length;
}

/** Whether `value` matches any of `patterns`. */
export function matchesAnyWildcard(patterns: readonly string[], value: string): boolean {
  return patterns.some((pattern) => matchesWildcard(pattern, value));
}
