// The transactional outbox's sender: every signed event committed with a state change is delivered to every
// write relay, each relay's OK recorded; a relay that refused for a passing reason (rate limit, error, no answer,
// not connected) is retried with backoff until it takes the event, across restarts. An event counts as published
// once a quorum of relays said OK.

import type { AgentContext } from '../../engine/context.ts';
import type { SignedEvent } from '../../store/index.ts';

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
  options: { intervalMs: number; batch?: number; maxBackoffSeconds?: number; quorum: number },
): OutboxPublisher {
  let stopped = false;
  /** The round reading what is due and handing it to the relays; a wake meanwhile asks for one more round. */
  let reading: Promise<number> | null = null;
  let wanted = false;
  /** Every delivery on its way to a relay (`<event id> <relay>`), and every round not finished. A round does not
   * wait for the relays' answers to an earlier round: an event committed while another is on its way goes out
   * at once (issue #15), and a delivery already on its way is never sent a second time meanwhile. */
  const sending = new Map<string, Promise<void>>();
  const rounds = new Set<Promise<number>>();
  const keyOf = (delivery: { eventId: string; relay: string }) => `${delivery.eventId} ${delivery.relay}`;

  async function deliver(ctx: AgentContext, delivery: Awaited<ReturnType<typeof dueNow>>[number]) {
    const [result] = await publisher.publish(delivery.event, [delivery.relay]);
    const message = result?.message ?? 'error: no answer';
    if (result?.ok) {
      await ctx.store.transaction((tx) => tx.outbox.markRelay(delivery.eventId, delivery.relay, 'ok', null));
      return;
    }
    ctx.metrics.relayPublishFailures.inc({ relay: delivery.relay });
    // The relay's own OK false (a refusal), not a local failure (`error: timeout`, `error: not connected`).
    if (result && !message.startsWith('error:'))
      ctx.metrics.relayPublishRefusals.inc({ relay: delivery.relay });
    if (isFinalRefusal(message)) {
      ctx.log.error(
        { eventId: delivery.eventId, relay: delivery.relay, message },
        'a relay refused an agent event',
      );
      await ctx.store.transaction((tx) =>
        tx.outbox.markRelay(delivery.eventId, delivery.relay, 'failed', message),
      );
      return;
    }
    const wait = Math.min(
      options.maxBackoffSeconds ?? MAX_BACKOFF_SECONDS,
      2 ** Math.min(delivery.attempts, 8),
    );
    await ctx.store.transaction((tx) =>
      tx.outbox.markRelay(delivery.eventId, delivery.relay, 'pending', message, ctx.now() + wait),
    );
  }

  function dueNow(ctx: AgentContext) {
    const batch = options.batch ?? 100;
    return ctx.store.read((reader) => reader.outbox.due(ctx.now(), batch + sending.size));
  }

  /** Reads what is due and not on its way, hands it to the relays (then calls `dispatched`), awaits the answers. */
  async function round(dispatched: () => void): Promise<number> {
    const ctx = getContext();
    // On its way when the read began: one answered during the read may still be due in the rows read.
    const onItsWay = new Set(sending.keys());
    const due = (await dueNow(ctx))
      .filter((delivery) => !onItsWay.has(keyOf(delivery)) && !sending.has(keyOf(delivery)))
      .slice(0, options.batch ?? 100);
    const jobs = due.map((delivery) => {
      const key = keyOf(delivery);
      const job = deliver(ctx, delivery).finally(() => sending.delete(key));
      sending.set(key, job);
      return job;
    });
    dispatched();
    await Promise.all(jobs);
    await reportQuorum(ctx, [...new Set(due.map((delivery) => delivery.eventId))], options.quorum);
    ctx.metrics.outboxPending.set(await ctx.store.read((reader) => reader.outbox.pendingCount()));
    return due.length;
  }

  /** Starts a round (or asks for one after the round now reading); resolves once it and every delivery on its
   * way when it was called are answered. */
  function flush(): Promise<number> {
    // A failed delivery is logged by its own round; here it only has to be over.
    const earlier = [...sending.values()].map((job) => job.catch(() => undefined));
    // At most one round reading and one more awaiting its relays: a burst of commits costs a read per relay
    // answer, as when rounds ran one after another, and an event committed meanwhile still goes out at once.
    if (reading || rounds.size >= 2) {
      wanted = true;
      const current = reading ?? [...rounds][0] ?? Promise.resolve(0);
      return Promise.all([current, ...earlier]).then(([count]) => count);
    }
    let release = () => {};
    const dispatched = new Promise<void>((resolve) => {
      release = resolve;
    });
    const job = round(() => release())
      .catch((error) => {
        getContext().log.warn({ err: error }, 'outbox round failed');
        return 0;
      })
      .finally(() => {
        release();
        rounds.delete(job);
        if (wanted && !stopped && reading === null) {
          wanted = false;
          void flush();
        }
      });
    rounds.add(job);
    reading = job;
    void dispatched.then(() => {
      if (reading === job) reading = null;
      if (wanted && !stopped) {
        wanted = false;
        void flush();
      }
    });
    return Promise.all([job, ...earlier]).then(([count]) => count);
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
      await Promise.allSettled([...rounds]);
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
