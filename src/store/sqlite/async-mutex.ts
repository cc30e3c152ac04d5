// A first-come first-served async mutex. better-sqlite3 has one connection and a synchronous API, but a
// store transaction awaits between its statements: without this, another caller's statements would run
// inside our open transaction on the same connection.
export class AsyncMutex {
  #tail: Promise<void> = Promise.resolve();

  async runExclusive<T>(fn: () => Promise<T>): Promise<T> {
    let release!: () => void;
    const previous = this.#tail;
    this.#tail = new Promise<void>((resolve) => {
      release = resolve;
    });
    await previous;
    try {
      return await fn();
    } finally {
      release();
    }
  }
}
