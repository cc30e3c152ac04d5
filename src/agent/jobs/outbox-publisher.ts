// The transactional outbox's sender: every signed event committed with a state change is delivered to every
// write relay, each relay's OK recorded; a relay that refused for a passing reason (rate limit, error, no answer,
// not connected) is retried with backoff until it takes the event, across restarts. An event counts as published
// once a quorum of relays said OK.

import type { AgentContext } from '../../engine/context.ts';
import { type OutboxDelivery, type SignedEvent, urgentWrites } from '../../store/index.ts';

export interface Publisher {
  publish(
    event: SignedEvent,
    relays: string[],
  ): Promise<Array<{ relay: string; ok: boolean; message: string }>>;
}

export interface OutboxPublisher {
  /** Sends what is due now; resolves when this round is done. */
  flush(): Promise<number>;
  wake(): void;
  stop(): Promise<void>;
}

const MAX_BACKOFF_SECONDS = 300;
/** Rounds of one lane sent at once, each waiting for its relays' answers. */
const ROUNDS_PER_LANE = 4;

/** A relay's answer to one delivery, recorded with the rest of its round. */
type Mark =
  | { delivery: OutboxDelivery; status: 'ok'; message: null }
  | { delivery: OutboxDelivery; status: 'failed'; message: string }
  | { delivery: OutboxDelivery; status: 'pending'; message: string; retryAt: number };

/** Refusals that will never change for this event: retrying would only repeat them. */
function isFinalRefusal(message: string): boolean {
  return /^(invalid|blocked|pow|restricted):/.test(message);
}

export function quorumOf(writeRelays: number, configured: number | null): number {
  if (configured !== null) return Math.min(configured, writeRelays);
  return writeRelays >= 3 ? 2 : writeRelays;
}

export function startOutboxPublisher(
  getContext: () => AgentContext,
  publisher: Publisher,
  options: {
    intervalMs: number;
    batch?: number;
    maxBackoffSeconds?: number;
    quorum: number;
    /** Replicas on one database: each round claims its deliveries for this long (outbox.claimDue). */
    claimSeconds?: number | null;
  },
): OutboxPublisher {
  let stopped = false;
  /** Deliveries sent by a round that is still waiting for their relays' answers: no other round sends them. */
  const inFlight = new Set<string>();
  const keyOf = (delivery: OutboxDelivery) => `${delivery.eventId} ${delivery.relay}`;

  async function round(priority: 0 | 1): Promise<number> {
    const ctx = getContext();
    const now = ctx.now();
    const batch = options.batch ?? 100;
    const claim = options.claimSeconds;
    // Without claims, rows still in flight are due too: ask for more than a batch by their number so that they do
    // not hide newer ones. A claimed row is not due while its claim lasts (and a claim beyond the batch would
    // hold it back for the claim's length), so claims ask for a batch.
    const asked = claim ? batch : batch + inFlight.size;
    const listed = claim
      ? await ctx.store.transaction((tx) => tx.outbox.claimDue(now, asked, claim, priority))
      : await ctx.store.read((reader) => reader.outbox.due(now, asked, priority));
    const due = listed.filter((delivery) => !inFlight.has(keyOf(delivery))).slice(0, batch);
    for (const delivery of due) inFlight.add(keyOf(delivery));
    try {
      return await send(ctx, due);
    } finally {
      for (const delivery of due) inFlight.delete(keyOf(delivery));
    }
  }

  async function send(ctx: AgentContext, due: OutboxDelivery[]): Promise<number> {
    const marks = await Promise.all(
      due.map(async (delivery): Promise<Mark> => {
        const [result] = await publisher.publish(delivery.event, [delivery.relay]);
        const message = result?.message ?? 'error: no answer';
        if (result?.ok) return { delivery, status: 'ok', message: null };
        ctx.metrics.relayPublishFailures.inc({ relay: delivery.relay });
        // The relay's own OK false (a refusal), not a local failure (`error: timeout`, `error: not connected`).
        if (result && !message.startsWith('error:'))
          ctx.metrics.relayPublishRefusals.inc({ relay: delivery.relay });
        if (isFinalRefusal(message)) {
          ctx.log.error(
            { eventId: delivery.eventId, relay: delivery.relay, message },
            'a relay refused an agent event',
          );
          return { delivery, status: 'failed', message };
        }
        const wait = Math.min(
          options.maxBackoffSeconds ?? MAX_BACKOFF_SECONDS,
          2 ** Math.min(delivery.attempts, 8),
        );
        return { delivery, status: 'pending', message, retryAt: ctx.now() + wait };
      }),
    );
    // One transaction (one fsync) for the whole round's answers: a round of 100 deliveries used to commit 100.
    if (marks.length > 0) {
      await ctx.store.transaction(async (tx) => {
        for (const mark of marks) {
          const { eventId, relay } = mark.delivery;
          if (mark.status === 'pending')
            await tx.outbox.markRelay(eventId, relay, 'pending', mark.message, mark.retryAt);
          else await tx.outbox.markRelay(eventId, relay, mark.status, mark.message);
        }
      });
    }
    await reportQuorum(ctx, [...new Set(due.map((delivery) => delivery.eventId))], options.quorum);
    ctx.metrics.outboxPending.set(await ctx.store.read((reader) => reader.outbox.pendingCount()));
    return due.length;
  }

  /**
   * One lane per priority: a round of new offers waiting for a slow relay's answers never holds back a
   * settlement's record, which its own lane sends at once. Within a lane, a round does not wait for the rounds
   * before it to get their answers (a task's next step goes out while the relays still store the one before; the
   * connection keeps their order): up to ROUNDS_PER_LANE rounds at once, each skipping what the others have in
   * flight. The lanes never share a delivery (each row has one priority).
   */
  function lane(priority: 0 | 1) {
    const running = new Set<Promise<number>>();
    let wanted = false;
    function flush(): Promise<number> {
      const earlier = [...running];
      if (running.size >= ROUNDS_PER_LANE) {
        wanted = true;
        return Promise.all(earlier).then((counts) => counts.reduce((sum, count) => sum + count, 0));
      }
      // A settlement's record (priority 0): its claim and answer commits go ahead of the offers' (write-priority.ts).
      const current: Promise<number> = (
        priority === 0 ? urgentWrites(() => round(priority)) : round(priority)
      )
        .catch((error) => {
          getContext().log.warn({ err: error, priority }, 'outbox round failed');
          return 0;
        })
        .finally(() => {
          running.delete(current);
          if (wanted && !stopped) {
            wanted = false;
            void flush();
          }
        });
      running.add(current);
      // Resolves once this round and those already running are done: what was due when it was called is sent.
      return Promise.all([...earlier, current]).then((counts) =>
        counts.reduce((sum, count) => sum + count, 0),
      );
    }
    return { flush, current: () => Promise.all([...running]) };
  }
  const lanes = [lane(0), lane(1)];

  function flush(): Promise<number> {
    return Promise.all(lanes.map((one) => one.flush())).then(
      ([first, second]) => (first ?? 0) + (second ?? 0),
    );
  }

  const timer = setInterval(() => void flush(), options.intervalMs);
  timer.unref();

  return {
    flush,
    wake: () => {
      if (!stopped) void flush();
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await Promise.all(lanes.map((one) => one.current()));
    },
  };
}

/** Logs each event of this round that just reached the quorum, or can no longer reach it (too many final refusals). */
async function reportQuorum(ctx: AgentContext, eventIds: string[], quorum: number): Promise<void> {
  for (const eventId of eventIds) {
    const deliveries = await ctx.store.read((reader) => reader.outbox.deliveries(eventId));
    const ok = deliveries.filter((delivery) => delivery.status === 'ok').length;
    const failed = deliveries.filter((delivery) => delivery.status === 'failed').length;
    if (ok >= quorum) ctx.log.debug({ eventId, ok, relays: deliveries.length }, 'event published at quorum');
    else if (deliveries.length - failed < quorum) {
      ctx.log.error({ eventId, ok, failed, quorum }, 'an agent event can no longer reach the publish quorum');
    }
  }
}

/** True once `quorum` write relays answered OK for the event. */
export async function publishedAtQuorum(
  store: AgentContext['store'],
  eventId: string,
  quorum: number,
): Promise<boolean> {
  const deliveries = await store.read((reader) => reader.outbox.deliveries(eventId));
  return deliveries.filter((delivery) => delivery.status === 'ok').length >= quorum;
}
