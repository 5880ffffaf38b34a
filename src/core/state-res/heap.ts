// A binary min-heap of integer indices, ordered by a caller-supplied "less than" on indices.
// Used by Kahn's algorithm in the reverse topological power ordering (rooms/fragments/v2-state-res.md).

export class IndexHeap {
  readonly #items: number[] = [];
  readonly #less: (a: number, b: number) => boolean;

  constructor(less: (a: number, b: number) => boolean) {
    this.#less = less;
  }

  get size(): number {
    return this.#items.length;
  }

  push(item: number): void {
    const items = this.#items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = items[parent] as number;
      if (!this.#less(item, p)) break;
      items[i] = p;
      i = parent;
    }
    items[i] = item;
  }

  /** Removes and returns the smallest item, or -1 when empty. */
  pop(): number {
    const items = this.#items;
    if (items.length === 0) return -1;
    const top = items[0] as number;
    const last = items.pop() as number;
    const n = items.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        let c = l;
        if (r < n && this.#less(items[r] as number, items[l] as number)) c = r;
        const child = items[c] as number;
        if (!this.#less(child, last)) break;
        items[i] = child;
        i = c;
      }
      items[i] = last;
    }
    return top;
  }
}
