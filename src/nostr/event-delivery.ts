// Hands events from one relay to the consumer's onEvent, each as its raw JSON text (the exact bytes the relay
// sent): nothing it throws or rejects escapes, one event's failure never stops the events after it, and the
// promises it returns are kept until they settle, so that a cursor moves only past events the consumer has taken.
// What is handed over and not settled yet counts against the relay's memory budget (inFlight*).
import type { LogLimiter } from './log-limiter.ts';

/** An event held for delivery: its raw text and what ordering needs. */
export interface BufferedEvent {
  raw: string;
  id: string;
  createdAt: number;
  bytes: number;
}

export class EventDelivery {
  private readonly pending = new Set<Promise<void>>();
  /** Events handed to onEvent whose promise has not settled. */
  inFlightEvents = 0;
  inFlightBytes = 0;
  delivered = 0;
  failed = 0;

  constructor(
    private readonly relay: string,
    private readonly onEvent: (event: unknown, relay: string) => void | Promise<void>,
    private readonly limiter: LogLimiter,
  ) {}

  deliver(event: BufferedEvent): void {
    const failed = (error: unknown) => {
      this.failed += 1;
      this.limiter.log(
        `${this.relay} onEvent`,
        'error',
        { relay: this.relay, event: event.id.slice(0, 64), err: error },
        'onEvent failed for an event from a relay',
      );
    };
    this.delivered += 1;
    try {
      const result = this.onEvent(event.raw, this.relay);
      if (result && typeof (result as Promise<void>).then === 'function') {
        this.inFlightEvents += 1;
        this.inFlightBytes += event.bytes;
        const settled: Promise<void> = Promise.resolve(result)
          .catch(failed)
          .finally(() => {
            this.inFlightEvents -= 1;
            this.inFlightBytes -= event.bytes;
            this.pending.delete(settled);
          });
        this.pending.add(settled);
      }
    } catch (error) {
      failed(error);
    }
  }

  /** Oldest first (ties keep their order); an identical copy (a page and the live subscription overlap) once.
   * Copies that differ in any byte, such as a forgery under a genuine id, are all delivered. */
  deliverInOrder(events: readonly BufferedEvent[]): void {
    const seen = new Set<string>();
    const ordered = events
      .map((event, index) => ({ event, index }))
      .sort((a, b) => a.event.createdAt - b.event.createdAt || a.index - b.index);
    for (const { event } of ordered) {
      if (seen.has(event.raw)) continue;
      seen.add(event.raw);
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
