// Reputation from settled outcomes only (docs/protocol.md, "Private notices and reputation"): counters per
// pubkey over the tasks the agent FINISHED with money moving (`paid` or `refunded`), each derived from what
// the agent's signed log shows. Nothing self-reported counts, and a task counts at most once per pubkey. Pure.
//
// A task's outcome is read two ways that must agree: from the agent's published transitions
// (taskOutcomeFromTransitions in src/protocol/reputation.ts, what anyone can recompute) and from the agent's
// task record (taskOutcomeOf below, what the agent publishes from). Both read the same facts: the amounts the
// final transition states, who opened the dispute (`opened_by`), and the verdicts the transitions cite.
import type { Hex32, Task } from './types.ts';

/** A verdict the agent's log cites for a task (as agreeing or as a dissent: either way it was given). */
export interface CitedVerdict {
  /** The arbitrator who signed it: one named in the task's offer. */
  by: Hex32;
  /** The verdict label's event id. */
  eventId: Hex32;
}

/** One FINISHED task (paid or refunded), as the agent's log shows it. */
export interface TaskOutcome {
  taskId: Hex32;
  /** Id of the agent's transition that finished it (the `paid` or `refunded` transition). */
  finalEventId: Hex32;
  ending: 'paid' | 'refunded';
  poster: Hex32;
  worker: Hex32 | null;
  paidToWorkerMsat: bigint;
  paidToPosterMsat: bigint;
  /** Given back to the poster by cancelling the hold. */
  refundedMsat: bigint;
  dispute: null | {
    /** The poster or the worker. */
    openedBy: Hex32;
    /**
     * The verdicts cited, one per arbitrator, sorted by arbitrator; empty when the rulebook decided before
     * anyone gave one (the guardian, at the hold deadline).
     */
    verdicts: CitedVerdict[];
  };
}

export interface ReputationCounters {
  /** As worker: tasks that paid you something (paidToWorkerMsat > 0), and the sum of it. */
  tasksPaidAsWorker: number;
  earnedMsat: bigint;
  /** As poster: tasks of yours that paid a worker something, and the sum the workers received. */
  tasksPaidAsPoster: number;
  spentMsat: bigint;
  /** As poster: tasks that gave you money back (the hold cancelled, or a payout to you), and the sum of it. */
  tasksRefunded: number;
  refundedMsat: bigint;
  /**
   * As a party (poster or worker) of a disputed task: opened = you opened it; won = the whole net (everything
   * paid out or refunded) went to you; lost = none of it did. A task where both sides got something counts in
   * neither.
   */
  disputesOpened: number;
  disputesWon: number;
  disputesLost: number;
  /** As arbitrator: tasks whose log cites a verdict of yours, agreeing or dissenting (once per task). */
  verdictsGiven: number;
}

export interface Reputation {
  pubkey: Hex32;
  counters: ReputationCounters;
  /** The finalEventIds of the tasks counted, sorted, each once. */
  sources: Hex32[];
}

export function emptyReputationCounters(): ReputationCounters {
  return {
    tasksPaidAsWorker: 0,
    earnedMsat: 0n,
    tasksPaidAsPoster: 0,
    spentMsat: 0n,
    tasksRefunded: 0,
    refundedMsat: 0n,
    disputesOpened: 0,
    disputesWon: 0,
    disputesLost: 0,
    verdictsGiven: 0,
  };
}

/**
 * The counters of `pubkey` over `outcomes`. Outcomes of the same task (taskId) count once: when they differ
 * (a forked log), the one with the smallest finalEventId counts, so the answer never depends on input order.
 */
export function reputationOf(pubkey: Hex32, outcomes: readonly TaskOutcome[]): Reputation {
  const counters = emptyReputationCounters();
  const sources: Hex32[] = [];
  for (const outcome of oneOutcomePerTask(outcomes)) {
    const delta = contribution(pubkey, outcome);
    if (delta === null) continue;
    addTo(counters, delta);
    sources.push(outcome.finalEventId);
  }
  sources.sort();
  return { pubkey, counters, sources: sources.filter((id, index) => id !== sources[index - 1]) };
}

/** A finished task's outcome, and when the agent committed its ending (unix seconds, the store's clock). */
export interface FinishedOutcome {
  outcome: TaskOutcome;
  finishedAt: number;
}

/**
 * The created_at of the assertion of `pubkey`'s reputation over `finished`, or null when no task counts for it.
 * Relays keep the newest of a pubkey's assertions, and of two with the same created_at the one with the lowest id
 * (NIP-01), which may be the stale one: so each new task must date the assertion strictly later than the one it
 * replaces, even when several finish within a second. The counted tasks sorted by (finishedAt, taskId), each at
 * max(its finishedAt, the one before + 1): a function of the tasks alone (nothing to look up), close to the time
 * of the latest ending (ahead of it only by the tasks that ended in the same seconds), and strictly greater
 * with each new task as long as endings are committed in the order of their finishedAt. That is why finishedAt
 * is the commit time (the store's clock, which does not go back) and not the final transition's created_at,
 * which runs ahead of the clock when a task's transitions come faster than one a second (each is dated one
 * second after the one before), so that a task ending later can carry an earlier date than one before it.
 */
export function reputationCreatedAt(pubkey: Hex32, finished: readonly FinishedOutcome[]): number | null {
  const byTask = new Map<Hex32, FinishedOutcome>();
  for (const one of finished) {
    if (!byTask.has(one.outcome.taskId) && contribution(pubkey, one.outcome) !== null) {
      byTask.set(one.outcome.taskId, one);
    }
  }
  const counted = [...byTask.values()].sort(
    (a, b) =>
      a.finishedAt - b.finishedAt ||
      (a.outcome.taskId < b.outcome.taskId ? -1 : a.outcome.taskId > b.outcome.taskId ? 1 : 0),
  );
  let at: number | null = null;
  for (const one of counted) at = at === null ? one.finishedAt : Math.max(one.finishedAt, at + 1);
  return at;
}

/**
 * The outcome of a finished task from the agent's own record, as taskOutcomeFromTransitions reads it from the
 * transitions the agent published for it (the two must be equal): `finalEventId` is the task's published head,
 * its `paid` / `refunded` transition. Null when the task did not finish with money moved. The verdicts are those on
 * record with an event id (only those can be cited) from arbitrators the task names, one per arbitrator.
 */
export function taskOutcomeOf(task: Task, finalEventId: Hex32): TaskOutcome | null {
  if (task.state !== 'paid' && task.state !== 'refunded') return null;
  const paid = task.state === 'paid';
  const verdicts = new Map<Hex32, Hex32>();
  for (const verdict of task.verdicts) {
    if (verdict.eventId === null || !task.arbitration.arbitrators.includes(verdict.by)) continue;
    if (!verdicts.has(verdict.by)) verdicts.set(verdict.by, verdict.eventId);
  }
  return {
    taskId: task.id,
    finalEventId,
    ending: task.state,
    poster: task.poster,
    worker: task.worker,
    // As the final transition states them: `paid` lists the payouts, `refunded` the amount given back.
    paidToWorkerMsat: paid ? task.ledger.paidToWorkerMsat : 0n,
    paidToPosterMsat: paid ? task.ledger.paidToPosterMsat : 0n,
    refundedMsat: paid ? 0n : task.ledger.refundedMsat,
    dispute:
      task.disputedBy === null
        ? null
        : { openedBy: task.disputedBy, verdicts: sortedVerdicts([...verdicts]) },
  };
}

/** One verdict per arbitrator, sorted by arbitrator: the shape both readings of an outcome give. */
export function sortedVerdicts(entries: Iterable<readonly [by: Hex32, eventId: Hex32]>): CitedVerdict[] {
  return [...entries]
    .map(([by, eventId]) => ({ by, eventId }))
    .sort((a, b) => (a.by < b.by ? -1 : a.by > b.by ? 1 : 0));
}

/** The pubkeys whose counters this task changes (sorted, each once): who needs a new assertion. */
export function reputationsAffectedBy(outcome: TaskOutcome): Hex32[] {
  const candidates = new Set<Hex32>([outcome.poster]);
  if (outcome.worker !== null) candidates.add(outcome.worker);
  if (outcome.dispute !== null) {
    candidates.add(outcome.dispute.openedBy);
    for (const verdict of outcome.dispute.verdicts) candidates.add(verdict.by);
  }
  return [...candidates].filter((pubkey) => contribution(pubkey, outcome) !== null).sort();
}

function addTo(counters: ReputationCounters, delta: ReputationCounters): void {
  counters.tasksPaidAsWorker += delta.tasksPaidAsWorker;
  counters.earnedMsat += delta.earnedMsat;
  counters.tasksPaidAsPoster += delta.tasksPaidAsPoster;
  counters.spentMsat += delta.spentMsat;
  counters.tasksRefunded += delta.tasksRefunded;
  counters.refundedMsat += delta.refundedMsat;
  counters.disputesOpened += delta.disputesOpened;
  counters.disputesWon += delta.disputesWon;
  counters.disputesLost += delta.disputesLost;
  counters.verdictsGiven += delta.verdictsGiven;
}

function oneOutcomePerTask(outcomes: readonly TaskOutcome[]): TaskOutcome[] {
  const byTask = new Map<Hex32, TaskOutcome>();
  for (const outcome of outcomes) {
    const kept = byTask.get(outcome.taskId);
    if (kept === undefined || outcome.finalEventId < kept.finalEventId) byTask.set(outcome.taskId, outcome);
  }
  return [...byTask.values()];
}

/** What one task adds to `pubkey`'s counters, or null when it changes none of them. */
function contribution(pubkey: Hex32, outcome: TaskOutcome): ReputationCounters | null {
  const delta = emptyReputationCounters();
  let counted = false;
  const isPoster = outcome.poster === pubkey;
  const isWorker = outcome.worker === pubkey;
  const toPoster = outcome.paidToPosterMsat + outcome.refundedMsat;
  const toWorker = outcome.paidToWorkerMsat;

  if (isWorker && toWorker > 0n) {
    delta.tasksPaidAsWorker = 1;
    delta.earnedMsat = toWorker;
    counted = true;
  }
  if (isPoster && toWorker > 0n) {
    delta.tasksPaidAsPoster = 1;
    delta.spentMsat = toWorker;
    counted = true;
  }
  if (isPoster && (outcome.ending === 'refunded' || outcome.paidToPosterMsat > 0n)) {
    delta.tasksRefunded = 1;
    delta.refundedMsat = toPoster;
    counted = true;
  }

  const dispute = outcome.dispute;
  if (dispute !== null) {
    if ((isPoster || isWorker) && dispute.openedBy === pubkey) {
      delta.disputesOpened = 1;
      counted = true;
    }
    if (isPoster || isWorker) {
      const mine = isPoster ? toPoster : toWorker;
      const theirs = isPoster ? toWorker : toPoster;
      if (mine > 0n && theirs === 0n) {
        delta.disputesWon = 1;
        counted = true;
      } else if (mine === 0n && theirs > 0n) {
        delta.disputesLost = 1;
        counted = true;
      }
    }
    if (dispute.verdicts.some((verdict) => verdict.by === pubkey)) {
      delta.verdictsGiven = 1;
      counted = true;
    }
  }
  return counted ? delta : null;
}
