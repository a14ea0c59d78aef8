// One holder at a time per key, any number of keys: the others with the same key wait their turn, in
// order. The map holds only keys that are held, so it stays as small as the work in flight.

export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  /** Resolves once `key` is free, with the function that frees it again (idempotent). */
  async acquire(key: string): Promise<() => void> {
    const before = this.tails.get(key);
    let free!: () => void;
    const mine = new Promise<void>((resolve) => {
      free = resolve;
    });
    const tail = before ? before.then(() => mine) : mine;
    this.tails.set(key, tail);
    if (before) await before;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      free();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
  }

  /** Keys held or waited for now. */
  get size(): number {
    return this.tails.size;
  }
}
