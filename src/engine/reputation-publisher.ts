// Reputation assertions (docs/protocol.md §11): when a task finishes with money moved (`paid` or `refunded`), the
// agent publishes, in the transaction that commits the ending, one NIP-85 kind 30382 assertion for every pubkey
// whose counters the task changes, computed over all of that pubkey's finished tasks. The counters are the ones
// anyone recomputes from the agent's transitions (taskOutcomeFromTransitions + reputationOf): each task's outcome
// is read here from the task record (taskOutcomeOf), which gives the same outcome as its published transitions,
// and its final transition (the task's published head) is the source the assertion cites.
//
// Dating: relays keep one assertion per pubkey, the newest by created_at, and on a tie the lowest id (NIP-01), so
// a new assertion must be dated strictly after the one it replaces. It is dated from the pubkey's finished tasks
// alone (reputationCreatedAt: the commit times of their endings, one second apart at least), which needs no
// lookup of the previous assertion and grows with every task the pubkey finishes, several in one second
// included. Not covered: two replicas (PostgreSQL) finishing tasks of one pubkey at the same moment each count
// without the other's task (neither sees the other's uncommitted row) and may tie; the next task of that pubkey
// corrects it.
//
// Cost: per affected pubkey, finishedInvolving (a scan, see the store) and one read per finished task of theirs
// (its published head), in the transaction that finishes the task. Issue #15 (100k tasks) replaces the scan.

import {
  type FinishedOutcome,
  reputationCreatedAt,
  type TaskOutcome,
  taskOutcomeOf,
} from '../domain/reputation.ts';
import { RULEBOOK_VERSION } from '../domain/rulebook.ts';
import type { Hex32, Task } from '../domain/types.ts';
import {
  buildReputationAssertion,
  type Reputation,
  reputationOf,
  reputationsAffectedBy,
} from '../protocol/reputation.ts';
import type { StoreReader, StoreTx } from '../store/index.ts';
import type { AgentContext } from './context.ts';
import { sign } from './sign.ts';

/** Whether this change finished the task with money moved: the moment its reputation assertions are due. */
export function finishesWithMoney(before: Task | null, after: Task): boolean {
  return (after.state === 'paid' || after.state === 'refunded') && before?.state !== after.state;
}

/**
 * Puts an assertion for each pubkey the finished task counts for into the outbox, in the caller's transaction
 * (after the task's final transition was queued and set as its published head). Does nothing for a change that
 * does not finish the task with money moved.
 */
export async function publishReputations(
  ctx: AgentContext,
  tx: StoreTx,
  before: Task | null,
  after: Task,
): Promise<void> {
  if (!finishesWithMoney(before, after)) return;
  const outcomes = outcomeCache(tx);
  const finished = await outcomes.of(after);
  if (finished === null) return;
  for (const pubkey of reputationsAffectedBy(finished)) {
    const { reputation, createdAt } = await reputationFromStore(tx, pubkey, outcomes);
    let template: ReturnType<typeof buildReputationAssertion>;
    try {
      template = buildReputationAssertion({
        reputation,
        rulesVersion: RULEBOOK_VERSION,
        // Never null here (this task counts for the pubkey); the clock is only a fallback.
        createdAt: createdAt ?? ctx.now(),
      });
    } catch (error) {
      // The assertions are a cache of what the log shows: one that cannot be built must not hold back the
      // transaction that moved the money. Loud, because it is a bug.
      ctx.log.error(
        { taskId: after.id, pubkey, err: error },
        'reputation assertion not built; the task finishes without it',
      );
      continue;
    }
    await tx.outbox.enqueue(sign(ctx, template), ctx.writeRelays(), null);
  }
}

export interface StoredReputation {
  reputation: Reputation;
  /** What its assertion is dated (reputationCreatedAt); null when no task counts for the pubkey. */
  createdAt: number | null;
  /** The pubkey's finished tasks: their outcomes and when they ended, by task id. */
  finished: FinishedOutcome[];
}

/**
 * `pubkey`'s reputation over its finished tasks in the store, as the agent publishes it (also what
 * `escrow-agent reputation` prints). Per task: its row (finishedInvolving), its published head and that event.
 */
export async function reputationFromStore(
  reader: StoreReader,
  pubkey: Hex32,
  cache: OutcomeCache = outcomeCache(reader),
): Promise<StoredReputation> {
  const finished: FinishedOutcome[] = [];
  for (const { task, finishedAt } of await reader.tasks.finishedInvolving(pubkey)) {
    const outcome = await cache.of(task);
    if (outcome !== null) finished.push({ outcome, finishedAt });
  }
  return {
    reputation: reputationOf(
      pubkey,
      finished.map((one) => one.outcome),
    ),
    createdAt: reputationCreatedAt(pubkey, finished),
    finished,
  };
}

export interface OutcomeCache {
  /** The task's outcome, null when it has none (not finished with money moved, or no published final transition). */
  of(task: Task): Promise<TaskOutcome | null>;
}

/** Task outcomes read once per task (a task counts for its poster, its worker and its arbitrators alike). */
export function outcomeCache(reader: StoreReader): OutcomeCache {
  const known = new Map<Hex32, TaskOutcome | null>();
  return {
    async of(task) {
      const cached = known.get(task.id);
      if (cached !== undefined) return cached;
      const outcome = await outcomeOf(reader, task);
      known.set(task.id, outcome);
      return outcome;
    },
  };
}

async function outcomeOf(reader: StoreReader, task: Task): Promise<TaskOutcome | null> {
  if (task.state !== 'paid' && task.state !== 'refunded') return null;
  // The final transition is the task's published head: nothing is published after a task finished. A finished
  // task always published its ending; without one there is nothing to cite, and a verifier, who reads the
  // transitions, would not count the task either.
  const head = await reader.tasks.publishedHead(task.id);
  return head === null ? null : taskOutcomeOf(task, head);
}
