// Reputation from settled outcomes only (docs/protocol.md, "Private notices and reputation"): counters per
// pubkey over the tasks the agent FINISHED with money moving (`paid` or `refunded`), each derived from what
// the agent's signed log shows. Nothing self-reported counts, and a task counts at most once per pubkey. Pure.
import type { Hex32 } from './types.ts';

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
    /** The verdicts the agent counted; empty when the rulebook decided (the guardian, at the hold deadline). */
    verdicts: Array<{ by: Hex32; outcome: 'worker' | 'poster' | 'split' }>;
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
  /** As arbitrator: tasks in which the agent counted at least one verdict of yours. */
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
