/**
 * `list.map(fn)`, always as a packed array. Array.prototype.map hands back holey or packed arrays
 * depending on the tier V8 runs it in; lists of both kinds reaching the same hot function make V8
 * throw its optimised code away ("wrong map") and compile it again. The event pipeline's lists of
 * event IDs and rows are built with this, so that its functions compile once.
 */
export function packedMap<T, U>(list: readonly T[], fn: (item: T, index: number) => U): U[] {
  const out: U[] = [];
  for (let i = 0; i < list.length; i++) out.push(fn(list[i] as T, i));
  return out;
}
