// Hands events from one relay to the consumer's onEvent: nothing it throws or rejects escapes, and the promises it
// returns are kept until they settle, so that a cursor moves only past events the consumer has taken.
import type { PoolLogger } from './pool-types.ts';

function createdAtOf(event: unknown): number {
  const createdAt = (event as { created_at?: unknown } | null)?.created_at;
  return typeof createdAt === 'number' ? createdAt : Number.NEGATIVE_INFINITY;
}

export class EventDelivery {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly relay: string,
    private readonly onEvent: (event: unknown, relay: string) => void | Promise<void>,
    private readonly logger: PoolLogger,
  ) {}

  deliver(event: unknown): void {
    const failed = (error: unknown) =>
      this.logger.error({ relay: this.relay, err: error }, 'onEvent failed for an event from a relay');
    try {
      const result = this.onEvent(event, this.relay);
      if (result && typeof (result as Promise<void>).then === 'function') {
        const settled: Promise<void> = Promise.resolve(result)
          .catch(failed)
          .finally(() => this.pending.delete(settled));
        this.pending.add(settled);
      }
    } catch (error) {
      failed(error);
    }
  }

  /** Oldest first (ties keep their order); an identical copy (a page and the live subscription overlap) once.
   * Copies that differ in any byte, such as a forgery under a genuine id, are all delivered. */
  deliverInOrder(events: readonly unknown[]): void {
    const seen = new Set<string>();
    const ordered = events
      .map((event, index) => ({ event, index, createdAt: createdAtOf(event) }))
      .sort((a, b) => a.createdAt - b.createdAt || a.index - b.index);
    for (const { event } of ordered) {
      const copy = JSON.stringify(event);
      if (seen.has(copy)) continue;
      seen.add(copy);
      this.deliver(event);
    }
  }

  /** The onEvent calls made so far that have not settled yet. */
  unsettled(): Promise<void>[] {
    return [...this.pending];
  }

  /** Waits until every onEvent call, including any made meanwhile, has settled. */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}
