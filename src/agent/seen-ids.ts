// A bounded set with least-recently-used eviction: the intake's memory of event ids it verified and the store
// recorded, so another copy of one (from another relay, or a catch-up) is dropped before any verification.
// Only ids whose event was verified and recorded may go in: an id that failed verification never does, or a
// forged copy arriving first would censor the genuine event.

export class BoundedSet {
  readonly #items = new Set<string>();

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError('BoundedSet: capacity must be >= 1');
  }

  /** True if present; a hit makes the entry the most recently used. */
  has(item: string): boolean {
    if (!this.#items.has(item)) return false;
    this.#items.delete(item);
    this.#items.add(item);
    return true;
  }

  /** Adds (or refreshes) an item; the least recently used one goes when the set is full. */
  add(item: string): void {
    this.#items.delete(item);
    this.#items.add(item);
    if (this.#items.size > this.capacity) this.#items.delete(this.#items.values().next().value as string);
  }

  get size(): number {
    return this.#items.size;
  }
}
