// Reputation counts settled outcomes only: who was paid, who got money back, who won or lost a dispute, who
// judged one; each task once per pubkey, whatever the order or repetition of the outcomes given.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  emptyReputationCounters,
  type ReputationCounters,
  reputationOf,
  reputationsAffectedBy,
  type TaskOutcome,
} from '../../src/domain/reputation.ts';

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
    dispute: { openedBy: POSTER, verdicts: [{ by: ARBITER, outcome: 'split' }] },
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
  const won = outcome(5, { dispute: { openedBy: POSTER, verdicts: [{ by: ARBITER, outcome: 'worker' }] } });
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
    dispute: { openedBy: WORKER, verdicts: [{ by: ARBITER, outcome: 'poster' }] },
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
    dispute: { openedBy: POSTER, verdicts: [{ by: ARBITER, outcome: 'poster' }] },
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
        { by: ARBITER, outcome: 'split' },
        { by: ARBITER, outcome: 'worker' },
        { by: OTHER_ARBITER, outcome: 'worker' },
      ],
    },
  });
  const again = outcome(10, {
    dispute: { openedBy: POSTER, verdicts: [{ by: ARBITER, outcome: 'worker' }] },
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

test.run();
