// A first-in first-out queue of room events that also tells the lowest room stream position among
// them, from the front or past its first few. Events mostly come in stream order, but not always:
// on PostgreSQL two rooms' batches may commit out of order (storage/stores/events.ts streamSince),
// so the front is not always the lowest, and a stored position must stay below the lowest.
//
// The lowest is kept as in a sliding-window minimum: `#lows` holds, front to back, the items that
// are lower than everything queued after them; its first one past a point is the lowest from there.

export class PositionQueue<T> {
  readonly #positionOf: (item: T) => number;
  #items: T[] = [];
  /** Where the front is in #items. */
  #head = 0;
  /** How many items were taken from the front before #items[0] (an item's number is this plus its index). */
  #base = 0;
  /** The numbers of the items lower than every item after them, oldest first (so their positions rise). */
  #lows: number[] = [];
  #lowsHead = 0;

  constructor(positionOf: (item: T) => number) {
    this.#positionOf = positionOf;
  }

  get length(): number {
    return this.#items.length - this.#head;
  }

  get front(): T | undefined {
    return this.#items[this.#head];
  }

  push(item: T): void {
    const position = this.#positionOf(item);
    while (this.#lows.length > this.#lowsHead && this.#positionOf(this.#at(this.#lows[this.#lows.length - 1] as number)) >= position) this.#lows.pop();
    this.#lows.push(this.#base + this.#items.length);
    this.#items.push(item);
  }

  /** The first `count` items, left in the queue. */
  peek(count: number): T[] {
    return this.#items.slice(this.#head, this.#head + count);
  }

  /** Takes the first `count` items. */
  shift(count: number): T[] {
    const taken = this.#items.slice(this.#head, this.#head + count);
    this.#head += taken.length;
    const front = this.#base + this.#head;
    while (this.#lows.length > this.#lowsHead && (this.#lows[this.#lowsHead] as number) < front) this.#lowsHead++;
    this.#compact();
    return taken;
  }

  /** The lowest position among the items after the first `skip`, if any. */
  lowest(skip = 0): number | undefined {
    const from = this.#base + this.#head + skip;
    for (let i = this.#lowsHead; i < this.#lows.length; i++) {
      const number = this.#lows[i] as number;
      if (number >= from) return this.#positionOf(this.#at(number));
    }
    return undefined;
  }

  #at(number: number): T {
    return this.#items[number - this.#base] as T;
  }

  // The space of taken items is given back once they are most of the arrays.
  #compact(): void {
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#base += this.#head;
      this.#head = 0;
    }
    if (this.#lowsHead > 1024 && this.#lowsHead * 2 > this.#lows.length) {
      this.#lows = this.#lows.slice(this.#lowsHead);
      this.#lowsHead = 0;
    }
  }
}
