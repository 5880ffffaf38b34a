/**
 * `list.map(fn)`, always as a packed array. Array.prototype.map, filter and flatMap hand back holey
 * or packed arrays depending on the tier V8 runs them in; lists of both kinds reaching the same hot
 * function make V8 throw its optimised code away ("wrong map") and compile it again. The lists of
 * the event pipeline and of /sync are built with these, so that their functions compile once.
 */
export function packedMap<T, U>(list: readonly T[], fn: (item: T, index: number) => U): U[] {
  const out: U[] = [];
  for (let i = 0; i < list.length; i++) out.push(fn(list[i] as T, i));
  return out;
}

/** `list.filter(keep)`, always as a packed array (see packedMap). */
export function packedFilter<T>(list: readonly T[], keep: (item: T) => boolean): T[] {
  const out: T[] = [];
  for (let i = 0; i < list.length; i++) {
    const item = list[i] as T;
    if (keep(item)) out.push(item);
  }
  return out;
}

/** `list.flatMap(fn)` for functions that give arrays, always as a packed array (see packedMap). */
export function packedFlatMap<T, U>(list: readonly T[], fn: (item: T) => readonly U[]): U[] {
  const out: U[] = [];
  for (let i = 0; i < list.length; i++) for (const u of fn(list[i] as T)) out.push(u);
  return out;
}
