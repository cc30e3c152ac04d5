// Reputation counts settled outcomes only: who was paid, who got money back, who won or lost a dispute, who
// judged one; each task once per pubkey, whatever the order or repetition of the outcomes given. The outcome of a
// task read from the agent's record; the time an assertion is dated.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fold } from '../../src/domain/evolve.ts';
import {
  emptyReputationCounters,
  type ReputationCounters,
  reputationCreatedAt,
  reputationOf,
  reputationsAffectedBy,
  type TaskOutcome,
  taskOutcomeOf,
} from '../../src/domain/reputation.ts';
import type { Task, TaskEvent } from '../../src/domain/types.ts';
import {
  AMOUNT,
  ARBITRATOR_2,
  ARBITRATOR as DOMAIN_ARBITRATOR,
  POSTER as DOMAIN_POSTER,
  WORKER as DOMAIN_WORKER,
  FEE,
  HISTORY,
  T0,
  withArbitration,
} from '../fakes/domain.ts';

const id = (n: number) => n.toString(16).padStart(64, '0');
const POSTER = 'a'.repeat(64);
const WORKER = 'b'.repeat(64);
const ARBITER = 'c'.repeat(64);
const OTHER_ARBITER = 'd'.repeat(64);
const STRANGER = 'e'.repeat(64);

function outcome(n: number, fields: Partial<TaskOutcome> = {}): TaskOutcome {
  return {
    taskId: id(n),
    finalEventId: id(1000 + n),
    ending: 'paid',
    poster: POSTER,
    worker: WORKER,
    paidToWorkerMsat: 99_000n,
    paidToPosterMsat: 0n,
    refundedMsat: 0n,
    dispute: null,
    ...fields,
  };
}
function counters(fields: Partial<ReputationCounters>): ReputationCounters {
  return { ...emptyReputationCounters(), ...fields };
}

test('a paid task counts for its worker (earned) and its poster (spent), and lists its final event', () => {
  const paid = outcome(1);
  assert.equal(reputationOf(WORKER, [paid]), {
    pubkey: WORKER,
    counters: counters({ tasksPaidAsWorker: 1, earnedMsat: 99_000n }),
    sources: [paid.finalEventId],
  });
  assert.equal(reputationOf(POSTER, [paid]).counters, counters({ tasksPaidAsPoster: 1, spentMsat: 99_000n }));
  assert.equal(reputationsAffectedBy(paid), [POSTER, WORKER]);
});

test('a refund counts for the poster only: a worker who was not paid and had no dispute is not counted', () => {
  const refunded = outcome(2, { ending: 'refunded', paidToWorkerMsat: 0n, refundedMsat: 100_000n });
  assert.equal(
    reputationOf(POSTER, [refunded]).counters,
    counters({ tasksRefunded: 1, refundedMsat: 100_000n }),
  );
  assert.equal(reputationOf(WORKER, [refunded]), {
    pubkey: WORKER,
    counters: emptyReputationCounters(),
    sources: [],
  });
  assert.equal(reputationsAffectedBy(refunded), [POSTER]);
  const unclaimed = outcome(3, { ending: 'refunded', worker: null, paidToWorkerMsat: 0n, refundedMsat: 5n });
  assert.equal(reputationsAffectedBy(unclaimed), [POSTER]);
});

test('a split verdict pays both sides: paid and refunded for the poster, won or lost for neither', () => {
  const split = outcome(4, {
    paidToWorkerMsat: 60_000n,
    paidToPosterMsat: 39_000n,
    dispute: { openedBy: POSTER, verdicts: [{ by: ARBITER, eventId: id(5001) }] },
  });
  assert.equal(
    reputationOf(POSTER, [split]).counters,
    counters({
      tasksPaidAsPoster: 1,
      spentMsat: 60_000n,
      tasksRefunded: 1,
      refundedMsat: 39_000n,
      disputesOpened: 1,
    }),
  );
  assert.equal(
    reputationOf(WORKER, [split]).counters,
    counters({ tasksPaidAsWorker: 1, earnedMsat: 60_000n }),
  );
  assert.equal(reputationOf(ARBITER, [split]).counters, counters({ verdictsGiven: 1 }));
  assert.equal(reputationsAffectedBy(split), [POSTER, WORKER, ARBITER].sort());
});

test('a dispute the worker wins: the worker won, the poster (who opened it) lost', () => {
  const won = outcome(5, { dispute: { openedBy: POSTER, verdicts: [{ by: ARBITER, eventId: id(5002) }] } });
  assert.equal(
    reputationOf(WORKER, [won]).counters,
    counters({ tasksPaidAsWorker: 1, earnedMsat: 99_000n, disputesWon: 1 }),
  );
  assert.equal(
    reputationOf(POSTER, [won]).counters,
    counters({ tasksPaidAsPoster: 1, spentMsat: 99_000n, disputesOpened: 1, disputesLost: 1 }),
  );
});

test('a dispute the poster wins, refunded by cancelling the hold: the poster won, the worker (who opened it) lost', () => {
  const refunded = outcome(6, {
    ending: 'refunded',
    paidToWorkerMsat: 0n,
    refundedMsat: 100_000n,
    dispute: { openedBy: WORKER, verdicts: [{ by: ARBITER, eventId: id(5003) }] },
  });
  assert.equal(
    reputationOf(POSTER, [refunded]).counters,
    counters({ tasksRefunded: 1, refundedMsat: 100_000n, disputesWon: 1 }),
  );
  assert.equal(reputationOf(WORKER, [refunded]).counters, counters({ disputesOpened: 1, disputesLost: 1 }));
  assert.equal(reputationsAffectedBy(refunded), [POSTER, WORKER, ARBITER].sort());
});

test('a dispute the poster wins after custody (paid back over Lightning) counts as a refund and a win', () => {
  const custody = outcome(7, {
    paidToWorkerMsat: 0n,
    paidToPosterMsat: 99_000n,
    dispute: { openedBy: POSTER, verdicts: [{ by: ARBITER, eventId: id(5004) }] },
  });
  assert.equal(
    reputationOf(POSTER, [custody]).counters,
    counters({ tasksRefunded: 1, refundedMsat: 99_000n, disputesOpened: 1, disputesWon: 1 }),
  );
  assert.equal(reputationOf(WORKER, [custody]).counters, counters({ disputesLost: 1 }));
});

test('a dispute the rulebook decided (no verdict) still wins and loses, and credits no arbitrator', () => {
  const guardian = outcome(8, {
    ending: 'refunded',
    paidToWorkerMsat: 0n,
    refundedMsat: 100_000n,
    dispute: { openedBy: WORKER, verdicts: [] },
  });
  assert.is(reputationOf(POSTER, [guardian]).counters.disputesWon, 1);
  assert.is(reputationOf(WORKER, [guardian]).counters.disputesLost, 1);
  assert.equal(reputationOf(ARBITER, [guardian]).sources, []);
  assert.equal(reputationsAffectedBy(guardian), [POSTER, WORKER]);
});

test('arbitrators count once per task in which the agent counted a verdict of theirs', () => {
  const twice = outcome(9, {
    dispute: {
      openedBy: WORKER,
      verdicts: [
        { by: ARBITER, eventId: id(5005) },
        { by: ARBITER, eventId: id(5006) },
        { by: OTHER_ARBITER, eventId: id(5007) },
      ],
    },
  });
  const again = outcome(10, {
    dispute: { openedBy: POSTER, verdicts: [{ by: ARBITER, eventId: id(5008) }] },
  });
  const arbiter = reputationOf(ARBITER, [twice, again]);
  assert.equal(arbiter.counters, counters({ verdictsGiven: 2 }));
  assert.equal(arbiter.sources, [twice.finalEventId, again.finalEventId].sort());
  assert.equal(reputationOf(OTHER_ARBITER, [twice, again]).counters, counters({ verdictsGiven: 1 }));
});

test('a task counts once per pubkey: repeats are dropped, and of two differing outcomes the smaller final id counts', () => {
  const paid = outcome(11);
  assert.equal(
    reputationOf(WORKER, [paid, paid, { ...paid }]).counters,
    counters({ tasksPaidAsWorker: 1, earnedMsat: 99_000n }),
  );
  const forked = { ...paid, finalEventId: id(1), paidToWorkerMsat: 5n };
  for (const order of [
    [paid, forked],
    [forked, paid],
  ]) {
    const reputation = reputationOf(WORKER, order);
    assert.equal(reputation.counters, counters({ tasksPaidAsWorker: 1, earnedMsat: 5n }));
    assert.equal(reputation.sources, [id(1)]);
  }
});

test('counters add up over tasks, sources are sorted, and strangers to a task count nothing from it', () => {
  const outcomes = [outcome(30), outcome(20), outcome(25, { worker: STRANGER })];
  const worker = reputationOf(WORKER, outcomes);
  assert.equal(worker.counters, counters({ tasksPaidAsWorker: 2, earnedMsat: 198_000n }));
  assert.equal(worker.sources, [id(1020), id(1030)]);
  assert.equal(
    reputationOf(POSTER, outcomes).counters,
    counters({ tasksPaidAsPoster: 3, spentMsat: 297_000n }),
  );
  // Someone named as opener who is neither party (a malformed outcome) is not counted for it.
  const odd = outcome(40, { dispute: { openedBy: STRANGER, verdicts: [] } });
  assert.equal(reputationOf(STRANGER, [odd]).sources, []);
  assert.not.ok(reputationsAffectedBy(odd).includes(STRANGER));
});

test('a pubkey with no finished task has empty counters and no sources', () => {
  assert.equal(reputationOf(STRANGER, []), {
    pubkey: STRANGER,
    counters: emptyReputationCounters(),
    sources: [],
  });
});

test('the assertion time: the counted tasks by when they ended, each at least one second after the one before', () => {
  const at = (n: number, finishedAt: number, fields: Partial<TaskOutcome> = {}) => ({
    outcome: outcome(n, fields),
    finishedAt,
  });
  assert.is(reputationCreatedAt(WORKER, []), null);
  assert.is(reputationCreatedAt(WORKER, [at(1, 100)]), 100);
  // Two tasks ending in the same second: the second assertion is dated one second later.
  assert.is(reputationCreatedAt(WORKER, [at(1, 100), at(2, 100)]), 101);
  assert.is(reputationCreatedAt(WORKER, [at(2, 100), at(1, 100), at(3, 100)]), 102);
  // A gap resets to the ending's time; the input order does not matter.
  assert.is(reputationCreatedAt(WORKER, [at(3, 500), at(1, 100), at(2, 100)]), 500);
  // Tasks ending in the order of their times (as commits are): each dates the assertion strictly later, whatever
  // the task ids (a task of a smaller id ending in the same second as a larger one included).
  const endings = [at(5, 100), at(2, 100), at(9, 101), at(1, 101), at(4, 101), at(3, 103), at(8, 200)];
  const dates = endings.map((_, n) => reputationCreatedAt(WORKER, endings.slice(0, n + 1)));
  assert.equal(dates, [100, 101, 102, 103, 104, 105, 200]);
  // A task counts once; tasks that do not count for the pubkey do not date its assertion.
  assert.is(reputationCreatedAt(WORKER, [at(1, 100), at(1, 100), at(1, 100)]), 100);
  const refunded = at(6, 900, { ending: 'refunded', paidToWorkerMsat: 0n, refundedMsat: 1n });
  assert.is(reputationCreatedAt(WORKER, [at(1, 100), refunded]), 100);
  assert.is(reputationCreatedAt(POSTER, [at(1, 100), refunded]), 900);
});

// ---------------------------------------------------------------- the outcome from the agent's record

const FINAL = id(9999);
function folded(events: TaskEvent[]): Task {
  const task = fold(events);
  if (task === null) throw new Error('an empty history');
  return task;
}

test('a paid task: the amounts from its ledger, its final transition, no dispute', () => {
  assert.equal(taskOutcomeOf(folded(HISTORY.paid()), FINAL), {
    taskId: folded(HISTORY.paid()).id,
    finalEventId: FINAL,
    ending: 'paid',
    poster: DOMAIN_POSTER,
    worker: DOMAIN_WORKER,
    paidToWorkerMsat: AMOUNT - FEE,
    paidToPosterMsat: 0n,
    refundedMsat: 0n,
    dispute: null,
  });
  const refunded = taskOutcomeOf(folded(HISTORY.refunded()), FINAL);
  assert.equal(
    [refunded?.ending, refunded?.refundedMsat, refunded?.paidToWorkerMsat, refunded?.worker],
    ['refunded', AMOUNT, 0n, null],
  );
});

test('an unfinished, cancelled or expired task has no outcome', () => {
  for (const events of [HISTORY.funded(), HISTORY.settled(), HISTORY.refunding()]) {
    assert.is(taskOutcomeOf(folded(events), FINAL), null);
  }
  const cancelled = folded([...HISTORY.posted(), { type: 'task_cancelled', at: T0 + 1 }]);
  assert.is(cancelled.state, 'cancelled');
  assert.is(taskOutcomeOf(cancelled, FINAL), null);
});

test('a disputed task: who opened it, and the verdicts with an event id from the named arbitrators, by arbitrator', () => {
  const events = withArbitration(
    [
      ...HISTORY.disputed(),
      {
        type: 'verdict_recorded',
        at: T0 + 800,
        by: ARBITRATOR_2,
        resolution: { kind: 'poster' },
        eventId: id(7002),
      },
      // No label, no event id: nothing to cite.
      { type: 'verdict_recorded', at: T0 + 801, by: STRANGER, resolution: { kind: 'worker' }, eventId: null },
      {
        type: 'verdict_recorded',
        at: T0 + 802,
        by: DOMAIN_ARBITRATOR,
        resolution: { kind: 'worker' },
        eventId: id(7001),
      },
      { type: 'settle_requested', at: T0 + 802, reason: 'verdict', resolution: { kind: 'worker' } },
      { type: 'hold_settled', at: T0 + 803 },
      {
        type: 'payout_started',
        at: T0 + 804,
        recipient: 'worker',
        bolt11: 'lnbcrt1',
        paymentHash: id(7003),
        amountMsat: AMOUNT - FEE,
      },
      { type: 'payout_succeeded', at: T0 + 805, recipient: 'worker', routingFeeMsat: 1n, preimage: id(7004) },
    ],
    { arbitrators: [DOMAIN_ARBITRATOR, ARBITRATOR_2, STRANGER], threshold: 1 },
  );
  const task = folded(events);
  assert.is(task.state, 'paid');
  const result = taskOutcomeOf(task, FINAL);
  assert.equal(result?.dispute, {
    openedBy: DOMAIN_POSTER,
    verdicts: [
      { by: ARBITRATOR_2, eventId: id(7002) },
      { by: DOMAIN_ARBITRATOR, eventId: id(7001) },
    ].sort((a, b) => (a.by < b.by ? -1 : 1)),
  });
  // The arbitrators the task does not name are not counted, even with an event id.
  const renamed = { ...task, arbitration: { ...task.arbitration, arbitrators: [DOMAIN_ARBITRATOR] } };
  assert.equal(taskOutcomeOf(renamed, FINAL)?.dispute?.verdicts, [
    { by: DOMAIN_ARBITRATOR, eventId: id(7001) },
  ]);
  assert.equal(
    reputationsAffectedBy(result!),
    [DOMAIN_POSTER, DOMAIN_WORKER, ARBITRATOR_2, DOMAIN_ARBITRATOR].sort(),
  );
});

test.run();
