// A live connection of `escrow-agent task` to its relays, on the project's relay client (src/nostr RelayPool: its
// frame reader bounds every frame before it is parsed, and it reconnects by itself). It publishes the person's
// signed events to the relays the agent reads and listens for the agent's events on all of them. The listening
// REQ is sent before anything is published and carries no `since`, so an answer the agent publishes at once, or
// while a relay reconnects, is still delivered (a relay sends its stored matches first).
//
// Relays are hostile ground: every event that arrives is parsed strictly, its id and signature checked, and kept
// only if it matches the filter asked; copies are dropped by id only after that, so a forged copy cannot hide the
// genuine event. Whose events count (the agent's key) is the caller's check (answers.ts).
import { type Filter, matchFilter } from 'nostr-tools/filter';
import { publishOutcome, RelayPool } from '../../nostr/relay-pool.ts';
import { type NostrEvent, parseEvent } from '../../protocol/schemas.ts';
import { verifyEvent } from '../../protocol/verify-event.ts';
import type { ClientRelays } from './relays.ts';

export interface PublishReport {
  /** Relays that said OK. */
  accepted: string[];
  /** Relays that refused it or could not be reached, with why (`error: not connected`, the relay's message). */
  refused: Array<{ relay: string; message: string }>;
}

export interface SessionOptions {
  /** How long a relay may take to connect, and to answer a publish. */
  timeoutMs: number;
}

export class ClientSession {
  private readonly pool: RelayPool;
  private readonly relays: ClientRelays;
  private readonly timeoutMs: number;
  private nextId = 0;

  constructor(relays: ClientRelays, options: SessionOptions) {
    this.relays = relays;
    this.timeoutMs = options.timeoutMs;
    const all = [...new Set([...relays.publish, ...relays.read])];
    this.pool = new RelayPool({
      // `read` is the pool's cursor-backed inbound feed, which a client has no use for: plain subscriptions
      // (listen) go to every relay of the pool.
      relays: all.map((url) => ({ url, read: false, write: relays.publish.includes(url) })),
      connectTimeoutMs: options.timeoutMs,
      publishTimeoutMs: options.timeoutMs,
      requestTimeoutMs: options.timeoutMs,
      backoff: { initialMs: 250, maxMs: 2_000, jitter: 0.2 },
    });
    this.pool.start();
  }

  /** Waits until every relay is connected, or `timeoutMs` passed; the relays connected then. */
  connected(timeoutMs: number = this.timeoutMs): Promise<string[]> {
    const now = () =>
      this.pool
        .status()
        .filter((relay) => relay.connected)
        .map((relay) => relay.url);
    const total = this.pool.status().length;
    if (now().length === total) return Promise.resolve(now());
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        unwatch();
        resolve(now());
      };
      const timer = setTimeout(done, timeoutMs);
      const unwatch = this.pool.watch(() => {
        if (now().length === total) done();
      });
    });
  }

  /** Why each relay that is not connected is not, for messages. */
  failures(): Array<{ relay: string; message: string }> {
    return this.pool
      .status()
      .filter((relay) => !relay.connected)
      .map((relay) => ({ relay: relay.url, message: relay.lastError ?? 'not connected' }));
  }

  /**
   * Listens on every relay for events matching `filter`: each is verified and handed to `onEvent` once. Resolves
   * when the REQ is live (its stored events sent) at every connected relay, or after `timeoutMs`; the returned
   * function closes it.
   */
  async listen(filter: Filter, onEvent: (event: NostrEvent) => void): Promise<() => void> {
    const seen = new Set<string>();
    const subscription = this.pool.subscribe({
      id: `task-${++this.nextId}`,
      filters: () => [filter],
      onEvent: (value) => {
        const parsed = parseEvent(value);
        if (!parsed.ok || seen.has(parsed.event.id)) return;
        if (!matchFilter(filter, parsed.event) || !verifyEvent(parsed.event).ok) return;
        seen.add(parsed.event.id);
        onEvent(parsed.event);
      },
    });
    await new Promise<void>((resolve) => {
      const live = () => {
        const connected = this.pool.status().filter((relay) => relay.connected);
        return connected.length > 0 && connected.every((relay) => subscription.isLive(relay.url));
      };
      if (live()) return resolve();
      const done = () => {
        clearTimeout(timer);
        unwatch();
        resolve();
      };
      const timer = setTimeout(done, this.timeoutMs);
      const unwatch = this.pool.watch(() => {
        if (live()) done();
      });
    });
    return () => subscription.close();
  }

  /** Publishes a signed event to the relays the agent reads; what each said. */
  async publish(event: NostrEvent): Promise<PublishReport> {
    const results = await this.pool.publish(event, this.relays.publish);
    const report: PublishReport = { accepted: [], refused: [] };
    for (const result of results) {
      if (publishOutcome(result) === 'accepted') report.accepted.push(result.relay);
      else report.refused.push({ relay: result.relay, message: result.message });
    }
    return report;
  }

  close(): Promise<void> {
    return this.pool.stop();
  }
}
