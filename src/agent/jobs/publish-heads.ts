// The agent's chain heads on the relays (src/protocol/heads.ts): every `every` transitions, and once more at stop,
// a signed `heads` label naming the last transition of each task whose chain grew since the previous heads event,
// with its length, the running count of transitions and the previous heads event. A relay history that lost a
// transition, a task's tail or grew a fork then shows it against the heads alone (checkAgainstHeads).
//
// Like everything the agent publishes, a heads event goes through the outbox: it is signed, recorded (the store's
// heads_events: its number, its count) and queued in one transaction, so a restart resumes the chain from the last
// one queued, and of two replicas racing for the next number one queues nothing. The heads not named yet are the
// store's few unannounced rows (their lengths grow with every transition in the transaction that publishes it);
// more than HEADS_PER_EVENT of them make several events, each naming the one before. A head recorded before lengths
// were kept has its chain walked once through the outbox (each transition names its `prev`).

import type { AgentContext } from '../../engine/context.ts';
import { sign } from '../../engine/sign.ts';
import { buildHeads, type ChainHead, HEADS_PER_EVENT } from '../../protocol/heads.ts';
import type { StoreTx } from '../../store/index.ts';

export interface HeadsPublisher {
  /** A transition may have been committed: queues heads once `every` transitions were published since the last. */
  wake(): void;
  /** Stops the publishing on wake, then queues the heads of every task not named yet (the heads at stop). */
  stop(): Promise<number>;
}

export interface HeadsOptions {
  /** Transitions between two heads events; 0: only at stop. */
  every: number;
  /** Most heads events queued in one go (default 100: 8 000 tasks); the rest follow on the next one. */
  maxEvents?: number;
  /** Heads were queued (wakes the outbox publisher). */
  onQueued?: () => void;
}

/** A chain walked back through the outbox longer than this is taken as broken (a loop cannot exist, but a bound). */
const MAX_WALK = 100_000;

export function startHeadsPublisher(getContext: () => AgentContext, options: HeadsOptions): HeadsPublisher {
  let stopped = false;
  let running: Promise<number> | null = null;
  let wanted = false;

  function run(force: boolean): Promise<number> {
    const ctx = getContext();
    const job = queueHeads(ctx, { every: options.every, force, maxEvents: options.maxEvents ?? 100 })
      .then((queued) => {
        if (queued > 0) options.onQueued?.();
        return queued;
      })
      .catch((error) => {
        ctx.log.warn(
          { err: error },
          'could not queue the chain heads; trying again after the next transition',
        );
        return 0;
      });
    return job;
  }

  function wake(): void {
    if (stopped || options.every === 0) return;
    if (running) {
      wanted = true;
      return;
    }
    running = run(false).finally(() => {
      running = null;
      if (wanted && !stopped) {
        wanted = false;
        wake();
      }
    });
  }

  return {
    wake,
    async stop() {
      stopped = true;
      await running;
      return run(true);
    },
  };
}

/**
 * Queues heads events while heads are due: with `force`, whenever a task's head was not named yet; otherwise once
 * `every` (> 0) transitions were published since the heads last named them. Returns how many were queued.
 */
export async function queueHeads(
  ctx: AgentContext,
  options: { every: number; force: boolean; maxEvents: number },
): Promise<number> {
  // Checked on a read snapshot first: most wakes find nothing due, and need no write lock.
  const pending = await ctx.store.read((reader) => reader.heads.pending());
  if (!due(pending, options)) return 0;
  let queued = 0;
  while (queued < options.maxEvents) {
    const outcome = await ctx.store.transaction((tx) => queueOne(ctx, tx));
    if (outcome === null) break;
    queued += 1;
    ctx.log.debug(outcome, 'chain heads queued');
  }
  return queued;
}

function due(pending: { tasks: number; transitions: number }, options: { every: number; force: boolean }) {
  if (pending.tasks === 0) return false;
  return options.force || (options.every > 0 && pending.transitions >= options.every);
}

/** One heads event, in the transaction: its heads, count and prev, signed, recorded and queued; null when no head is
 * left to name or another writer queued the next one first. (The `every` rule was met before the run began: the
 * events of one run name every head not named yet.) */
async function queueOne(
  ctx: AgentContext,
  tx: StoreTx,
): Promise<{ eventId: string; count: number; tasks: number } | null> {
  const latest = await tx.heads.latest();
  const rows = await tx.heads.unannounced(HEADS_PER_EVENT);
  if (rows.length === 0) return null;
  const heads: ChainHead[] = [];
  let grown = 0;
  let createdAt = Math.max(ctx.now(), (latest?.createdAt ?? 0) + 1);
  for (const row of rows) {
    const head = await tx.outbox.event(row.eventId);
    const length = row.length ?? (await walkLength(tx, row.eventId));
    if (length === null) {
      // The head's chain cannot be walked in the outbox (a database that lost rows): verify-db is the tool for
      // it. The task is named once its next transition gives it a length.
      ctx.log.error({ taskId: row.taskId, head: row.eventId }, 'a chain head cannot be walked; not named');
      continue;
    }
    if (head) createdAt = Math.max(createdAt, head.created_at);
    grown += length - row.announcedLength;
    heads.push({ taskId: row.taskId, eventId: row.eventId, length });
  }
  if (heads.length === 0) return null;
  const count = (latest?.count ?? 0) + grown;
  const signed = sign(ctx, buildHeads({ count, heads, prev: latest?.eventId ?? null, createdAt }));
  const recorded = await tx.heads.record({
    seq: (latest?.seq ?? 0) + 1,
    eventId: signed.id,
    count,
    createdAt: signed.created_at,
    heads,
  });
  if (!recorded) return null;
  await tx.outbox.enqueue(signed, ctx.writeRelays(), null);
  return { eventId: signed.id, count, tasks: heads.length };
}

/** The number of transitions from the first to `head`, following each one's prev through the outbox; null when a
 * link is missing. */
async function walkLength(tx: StoreTx, head: string): Promise<number | null> {
  let at: string | null = head;
  let length = 0;
  while (at !== null && length < MAX_WALK) {
    const event = await tx.outbox.event(at);
    if (!event) return null;
    length += 1;
    at = event.tags.find((tag) => tag[0] === 'e' && tag[3] === 'prev')?.[1] ?? null;
  }
  return at === null ? length : null;
}
