// String order for event ID tie-breaks. The spec compares event IDs as strings
// (rooms/fragments/v2-state-res.md, "x's event_id is less than y's event_id"); we use Unicode code
// point order (as Python and Rust compare strings), which equals UTF-16 order except for astral
// characters, so IDs with non-BMP characters (possible in v1-v2 event IDs) sort the same everywhere.

/** Negative, zero or positive as `a` sorts before, with or after `b` in code point order. */
export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Move surrogates (U+D800..U+DFFF) above U+E000..U+FFFF: the code points they encode are larger.
    if (x >= 0xd800) x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
    if (y >= 0xd800) y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    return x - y;
  }
  return a.length - b.length;
}
