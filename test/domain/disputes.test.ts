// Disputes decided by each task's own arbitrators: what a listing commits at posting (who, k of n, the deadline
// rule, the rulebook), who may open a dispute and when, k agreeing verdicts (a dissent stays on record), custody
// while a verdict is pending, the rulebook as a pure function, and payouts to a Lightning address.
// Every accepted event below is folded one at a time and the ledger checked for conservation after each.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decide } from '../../src/domain/decide.ts';
import type { CantDoCode } from '../../src/domain/errors.ts';
import { evolve } from '../../src/domain/evolve.ts';
import { conservationViolation, splitShares } from '../../src/domain/money.ts';
import { RULEBOOK_SHA256, rulebook } from '../../src/domain/rulebook.ts';
import type {
  Command,
  DecideContext,
  PayoutRecipient,
  Policy,
  Task,
  TaskEvent,
} from '../../src/domain/types.ts';
import {
  AMOUNT,
  ARBITRATOR,
  ARBITRATOR_2,
  ARBITRATOR_3,
  FEE,
  given,
  H0,
  HISTORY,
  PAYMENT_HASH,
  PAYOUT_HASH,
  PAYOUT_PREIMAGE,
  POSTER,
  POSTER_INVOICE,
  STRANGER,
  T0,
  TASK_ID,
  testPolicy,
  threeArbitratorPolicy,
  WORKER,
  WORKER_INVOICE,
  when,
  withArbitration,
} from '../fakes/domain.ts';

const A1 = ARBITRATOR;
const A2 = ARBITRATOR_2;
const A3 = ARBITRATOR_3;
const THREE = threeArbitratorPolicy();
/** The height at which the guardian acts on the HISTORY tasks: claim deadline H0 + 282 less 16 safety blocks. */
const GUARDIAN = H0 + 266;
const NET = AMOUNT - FEE;
const VERDICT_EVENT_ID = 'f'.repeat(64);

const at = (now: number, height = H0, policy: Policy = THREE): DecideContext => ({ now, height, policy });
const post: Command = {
  type: 'post',
  taskId: TASK_ID,
  by: POSTER,
  amountMsat: AMOUNT,
  title: 'Translate a README',
};

/** Runs the command, which must be accepted; folds its events one by one, checking conservation after each. */
function accepted(history: TaskEvent[], command: Command, ctx: DecideContext) {
  const before = given(history);
  const decision = decide(before, command, ctx);
  assert.ok(decision.ok, decision.ok ? '' : `refused: ${decision.rejection.message}`);
  let task = before;
  for (const event of decision.events) {
    task = evolve(task, event);
    const violation = conservationViolation(task.ledger);
    assert.is(violation, null, `after ${event.type}: ${violation}`);
  }
  assert.ok(task, 'a task after an accepted command');
  return { task: task as Task, events: decision.events, history: [...history, ...decision.events] };
}

/** Runs the command, which must be refused with `code` (and, when given, a message containing `text`). */
function refused(
  history: TaskEvent[],
  command: Command,
  ctx: DecideContext,
  code: CantDoCode,
  text?: string,
): string {
  const { decision } = when(history, command, ctx);
  assert.not.ok(
    decision.ok,
    decision.ok ? `accepted: ${decision.events.map((event) => event.type).join(', ')}` : '',
  );
  if (decision.ok) return '';
  assert.is(decision.rejection.code, code, decision.rejection.message);
  if (text !== undefined) {
    assert.ok(
      decision.rejection.message.includes(text),
      `"${decision.rejection.message}" does not say "${text}"`,
    );
  }
  return decision.rejection.message;
}

const types = (events: TaskEvent[]) => events.map((event) => event.type);

// ---------------------------------------------------------------------------------------------------------
// Posting: the arbitration is committed with the task.

test('posting: by default every active arbitrator decides, any one of them, under the policy rule and this rulebook', () => {
  for (const rule of ['refund', 'custody'] as const) {
    const { task, events } = accepted(
      [],
      post,
      at(T0, H0, threeArbitratorPolicy({ disputeDeadlineRule: rule })),
    );
    const expected = {
      arbitrators: [A1, A2, A3],
      threshold: 1,
      deadlineRule: rule,
      rulesSha256: RULEBOOK_SHA256,
    };
    assert.equal(task.arbitration, expected);
    const posted = events[0];
    assert.ok(posted?.type === 'task_posted');
    assert.equal(posted.arbitration, expected, 'the arbitration is in the event, so the log carries it');
  }
});

test('posting: a listing may name a subset of the active arbitrators and how many must agree', () => {
  const { task } = accepted([], { ...post, arbitrators: [A3, A1], threshold: 2 }, at(T0));
  assert.equal(task.arbitration.arbitrators, [A3, A1]);
  assert.is(task.arbitration.threshold, 2);
  const one = accepted([], { ...post, arbitrators: [A2] }, at(T0)).task;
  assert.equal(one.arbitration.arbitrators, [A2]);
  assert.is(one.arbitration.threshold, 1, 'a named set without a threshold: any one decides');
  const kOfAll = accepted([], { ...post, threshold: 3 }, at(T0)).task;
  assert.equal(kOfAll.arbitration.arbitrators, [A1, A2, A3]);
  assert.is(kOfAll.arbitration.threshold, 3);
});

test('posting: the arbitration stays as committed when the policy changes later', () => {
  const { history } = accepted([], { ...post, arbitrators: [A1, A2], threshold: 2 }, at(T0));
  const later = testPolicy({ arbitrators: [A3], disputeDeadlineRule: 'custody' });
  const offered = accepted(
    history,
    {
      type: 'offer',
      paymentHash: PAYMENT_HASH,
      bolt11: 'lnbcrt1hold',
      invoiceExpiresAt: T0 + 3600,
      finalCltvDelta: 300,
    },
    at(T0 + 1, H0, later),
  );
  assert.equal(offered.task.arbitration.arbitrators, [A1, A2]);
  assert.is(offered.task.arbitration.deadlineRule, 'refund');
});

test('posting: naming a pubkey outside the active set is refused (UnknownArbitrator), naming it', () => {
  const message = refused(
    [],
    { ...post, arbitrators: [A1, STRANGER] },
    at(T0),
    'UnknownArbitrator',
    STRANGER,
  );
  assert.ok(message.startsWith('invalid: '), message);
  assert.not.ok(message.includes(A1), 'the known arbitrator is not blamed');
  refused([], { ...post, arbitrators: [A2] }, at(T0, H0, testPolicy()), 'UnknownArbitrator', A2);
});

test('posting: naming an arbitrator twice is refused (UnknownArbitrator)', () => {
  refused([], { ...post, arbitrators: [A1, A2, A1] }, at(T0), 'UnknownArbitrator', 'twice');
  refused([], { ...post, arbitrators: [A2, A2], threshold: 2 }, at(T0), 'UnknownArbitrator');
});

test('posting: a threshold of 0, above n, or not a whole number is refused (InvalidThreshold)', () => {
  refused([], { ...post, threshold: 0 }, at(T0), 'InvalidThreshold', '1 to 3');
  refused([], { ...post, threshold: 4 }, at(T0), 'InvalidThreshold', '1 to 3');
  refused([], { ...post, threshold: -1 }, at(T0), 'InvalidThreshold');
  refused([], { ...post, threshold: 1.5 }, at(T0), 'InvalidThreshold');
  refused([], { ...post, arbitrators: [A1, A2], threshold: 3 }, at(T0), 'InvalidThreshold', '1 to 2');
  refused([], { ...post, arbitrators: [A1], threshold: 2 }, at(T0), 'InvalidThreshold', '1 to 1');
  // n of n is the largest accepted threshold.
  assert.is(
    accepted([], { ...post, arbitrators: [A1, A2], threshold: 2 }, at(T0)).task.arbitration.threshold,
    2,
  );
});

test('posting: on an agent without arbitrators a threshold is refused, and the task takes no disputes', () => {
  const none = testPolicy({ arbitrators: [] });
  refused([], { ...post, threshold: 1 }, at(T0, H0, none), 'InvalidThreshold', 'no arbitrators');
  refused([], { ...post, threshold: 0 }, at(T0, H0, none), 'InvalidThreshold');
  refused([], { ...post, arbitrators: [A1] }, at(T0, H0, none), 'UnknownArbitrator', A1);
  const { task } = accepted([], post, at(T0, H0, none));
  assert.equal(task.arbitration, {
    arbitrators: [],
    threshold: 0,
    deadlineRule: 'refund',
    rulesSha256: RULEBOOK_SHA256,
  });
});

test('posting: windows longer than max_hold_seconds are refused; exactly the maximum is accepted', () => {
  const policy = threeArbitratorPolicy({ maxHoldSeconds: 10 * 3600 });
  const fitting = {
    claimSeconds: 3600,
    workSeconds: 4 * 3600,
    reviewSeconds: 3 * 3600,
    disputeSeconds: 2 * 3600,
  };
  const { task } = accepted([], { ...post, windows: fitting }, at(T0, H0, policy));
  assert.equal(task.windows, fitting);
  const over = { ...fitting, claimSeconds: 3601 };
  const message = refused([], { ...post, windows: over }, at(T0, H0, policy), 'WindowsDoNotFitHold');
  assert.ok(message.startsWith('invalid: '), message);
  assert.ok(message.includes('max_hold_seconds'), message);
  assert.ok(message.includes('10 h'), `names the maximum: ${message}`);
  // The policy's own windows fill the test policy's 24 h exactly: the default listing fits.
  assert.is(accepted([], post, at(T0, H0, threeArbitratorPolicy())).task.state, 'posted');
  refused(
    [],
    { ...post, windows: { disputeSeconds: 2 * 3600 + 1 } },
    at(T0, H0, threeArbitratorPolicy()),
    'WindowsDoNotFitHold',
    'max_hold_seconds',
  );
});

// ---------------------------------------------------------------------------------------------------------
// Opening a dispute, and the statements of both sides.

const dispute = (by: string, reason = 'not what was asked'): Command => ({ type: 'dispute', by, reason });

test('disputes: the worker may open one while the task is claimed', () => {
  const { task, events } = accepted(HISTORY.claimed(), dispute(WORKER, 'moved goalposts'), at(T0 + 300));
  assert.equal(types(events), ['disputed']);
  assert.is(task.state, 'disputed');
  assert.is(task.disputedBy, WORKER);
  assert.is(task.disputedAt, T0 + 300);
  assert.equal(task.statements, [{ by: WORKER, text: 'moved goalposts', at: T0 + 300 }]);
  assert.is(task.ledger.heldMsat, AMOUNT, 'the money stays in the hold');
});

test('disputes: the poster may open one while the task is claimed', () => {
  const { task } = accepted(HISTORY.claimed(), dispute(POSTER, 'the worker went silent'), at(T0 + 300));
  assert.is(task.state, 'disputed');
  assert.is(task.disputedBy, POSTER);
});

test('disputes: poster and worker may open one while submitted, within the review window', () => {
  const lastSecond = T0 + 600 + 4 * 3600 - 1;
  for (const by of [POSTER, WORKER]) {
    const { task } = accepted(HISTORY.submitted(), dispute(by), at(lastSecond, GUARDIAN - 1));
    assert.is(task.state, 'disputed');
    assert.is(task.disputedBy, by);
  }
});

test('disputes: the poster after the review window is refused (DeadlinePassed)', () => {
  refused(HISTORY.submitted(), dispute(POSTER), at(T0 + 600 + 4 * 3600), 'DeadlinePassed', 'review window');
  refused(HISTORY.submitted(), dispute(WORKER), at(T0 + 600 + 5 * 3600), 'DeadlinePassed');
});

test('disputes: the worker after the work window of a claimed task is refused (DeadlinePassed)', () => {
  accepted(HISTORY.claimed(), dispute(WORKER), at(T0 + 120 + 12 * 3600 - 1));
  refused(HISTORY.claimed(), dispute(WORKER), at(T0 + 120 + 12 * 3600), 'DeadlinePassed', 'work window');
  refused(HISTORY.claimed(), dispute(POSTER), at(T0 + 120 + 13 * 3600), 'DeadlinePassed');
});

test('disputes: at or after the guardian height a dispute is refused (DeadlinePassed)', () => {
  for (const history of [HISTORY.claimed(), HISTORY.submitted()]) {
    accepted(history, dispute(POSTER), at(T0 + 700, GUARDIAN - 1));
    refused(history, dispute(POSTER), at(T0 + 700, GUARDIAN), 'DeadlinePassed');
    refused(history, dispute(WORKER), at(T0 + 700, GUARDIAN + 50), 'DeadlinePassed');
  }
});

test('disputes: a stranger or an arbitrator cannot open one (NotYourTask)', () => {
  refused(HISTORY.submitted(), dispute(STRANGER), at(T0 + 700), 'NotYourTask');
  refused(HISTORY.claimed(), dispute(ARBITRATOR), at(T0 + 300), 'NotYourTask');
  refused(HISTORY.disputed(), dispute(STRANGER), at(T0 + 800), 'NotYourTask');
});

test('disputes: a statement longer than max_statement_length is refused; exactly the limit is accepted', () => {
  const policy = threeArbitratorPolicy({ maxStatementLength: 50 });
  const exact = accepted(HISTORY.submitted(), dispute(POSTER, 'x'.repeat(50)), at(T0 + 700, H0, policy));
  assert.is(exact.task.statements[0]?.text.length, 50);
  const message = refused(
    HISTORY.submitted(),
    dispute(POSTER, 'x'.repeat(51)),
    at(T0 + 700, H0, policy),
    'StatementTooLong',
    'max_statement_length',
  );
  assert.ok(message.includes('51') && message.includes('50'), message);
  // The other side's statement follows the same limit.
  refused(exact.history, dispute(WORKER, 'y'.repeat(51)), at(T0 + 800, H0, policy), 'StatementTooLong');
  accepted(exact.history, dispute(WORKER, 'y'.repeat(50)), at(T0 + 800, H0, policy));
  // The default policy's limit.
  refused(HISTORY.claimed(), dispute(WORKER, 'z'.repeat(4001)), at(T0 + 300), 'StatementTooLong');
  accepted(HISTORY.claimed(), dispute(WORKER, 'z'.repeat(4000)), at(T0 + 300));
});

const approvedHistories: Array<[string, () => TaskEvent[]]> = [
  ['settling', HISTORY.settling],
  ['settled', HISTORY.settled],
  ['paid', HISTORY.paid],
];
for (const [state, history] of approvedHistories) {
  test(`disputes: the poster cannot dispute after approving (${state}: WrongState, "approved")`, () => {
    assert.is(given(history())?.state, state);
    assert.is(given(history())?.reason, 'approved');
    const message = refused(history(), dispute(POSTER), at(T0 + 800), 'WrongState', 'approved');
    assert.ok(message.startsWith('blocked: '), message);
  });
}

test('disputes: a task without arbitrators takes none (DisputesNotOffered)', () => {
  const none = testPolicy({ arbitrators: [] });
  const history = withArbitration(HISTORY.submitted(), { arbitrators: [], threshold: 0 });
  refused(history, dispute(POSTER), at(T0 + 700, H0, none), 'DisputesNotOffered');
  // The task's arbitration counts, not the policy of the day: arbitrators added later do not open disputes.
  refused(history, dispute(WORKER), at(T0 + 700, H0, THREE), 'DisputesNotOffered');
});

test('disputes: the other party adds a statement; the same party again has nothing to do', () => {
  const opened = accepted(HISTORY.submitted(), dispute(POSTER, 'half of it is missing'), at(T0 + 700));
  const answer = accepted(opened.history, dispute(WORKER, 'all of it is there'), at(T0 + 800));
  assert.equal(types(answer.events), ['statement_added']);
  assert.is(answer.task.state, 'disputed');
  assert.is(answer.task.disputedBy, POSTER, 'the opener stays the opener');
  assert.is(answer.task.disputedAt, T0 + 700);
  assert.equal(answer.task.statements, [
    { by: POSTER, text: 'half of it is missing', at: T0 + 700 },
    { by: WORKER, text: 'all of it is there', at: T0 + 800 },
  ]);
  refused(answer.history, dispute(WORKER, 'and more'), at(T0 + 900), 'NothingToDo');
  refused(answer.history, dispute(POSTER, 'and more'), at(T0 + 900), 'NothingToDo');
  refused(opened.history, dispute(POSTER, 'again'), at(T0 + 750), 'NothingToDo');
});

// ---------------------------------------------------------------------------------------------------------
// Verdicts: k of n agreeing act; a dissent stays on record.

const twoOfThree = (history: TaskEvent[] = HISTORY.disputed()) =>
  withArbitration(history, { arbitrators: [A1, A2, A3], threshold: 2 });
const verdict = (
  by: string,
  outcome: 'worker' | 'poster' | 'split',
  workerShareBps?: number,
  eventId?: string,
): Command => ({
  type: 'verdict',
  by,
  outcome,
  ...(workerShareBps === undefined ? {} : { workerShareBps }),
  ...(eventId === undefined ? {} : { eventId }),
});

test('verdicts (2 of 3): the first is recorded and the task stays disputed', () => {
  const first = accepted(twoOfThree(), verdict(A1, 'worker', undefined, VERDICT_EVENT_ID), at(T0 + 900));
  assert.equal(types(first.events), ['verdict_recorded']);
  assert.is(first.task.state, 'disputed');
  assert.is(first.task.resolution, null);
  assert.equal(first.task.verdicts, [
    { by: A1, resolution: { kind: 'worker' }, at: T0 + 900, eventId: VERDICT_EVENT_ID },
  ]);
  assert.is(first.task.ledger.heldMsat, AMOUNT);
});

test('verdicts (2 of 3): a second agreeing verdict for the worker settles', () => {
  const first = accepted(twoOfThree(), verdict(A1, 'worker'), at(T0 + 900));
  const second = accepted(first.history, verdict(A3, 'worker'), at(T0 + 950));
  assert.equal(types(second.events), ['verdict_recorded', 'settle_requested']);
  assert.is(second.task.state, 'settling');
  assert.is(second.task.reason, 'verdict');
  assert.equal(second.task.resolution, { kind: 'worker' });
  assert.equal(
    second.task.verdicts.map((one) => one.by),
    [A1, A3],
  );
  const settled = accepted(second.history, { type: 'hold_settled', paymentHash: PAYMENT_HASH }, at(T0 + 951));
  assert.is(settled.task.state, 'settled');
  assert.equal(
    settled.task.payouts.map((payout) => [payout.recipient, payout.amountMsat, payout.state]),
    [['worker', NET, 'due']],
  );
});

test('verdicts (2 of 3): a second agreeing verdict for the poster refunds', () => {
  const first = accepted(twoOfThree(), verdict(A2, 'poster'), at(T0 + 900));
  assert.is(first.task.state, 'disputed');
  const second = accepted(first.history, verdict(A1, 'poster'), at(T0 + 950));
  assert.equal(types(second.events), ['verdict_recorded', 'refund_requested']);
  assert.is(second.task.state, 'refunding');
  assert.is(second.task.reason, 'verdict');
  const done = accepted(second.history, { type: 'hold_cancelled', paymentHash: PAYMENT_HASH }, at(T0 + 951));
  assert.is(done.task.state, 'refunded');
  assert.is(done.task.ledger.refundedMsat, AMOUNT);
  assert.is(done.task.ledger.feeMsat, 0n, 'a refund earns no fee');
});

test('verdicts (2 of 3): a second split with the same share settles the split', () => {
  const first = accepted(twoOfThree(), verdict(A1, 'split', 6000), at(T0 + 900));
  assert.is(first.task.state, 'disputed');
  const second = accepted(first.history, verdict(A2, 'split', 6000), at(T0 + 950));
  assert.equal(types(second.events), ['verdict_recorded', 'settle_requested']);
  assert.equal(second.task.resolution, { kind: 'split', workerShareBps: 6000 });
  const settled = accepted(second.history, { type: 'hold_settled', paymentHash: PAYMENT_HASH }, at(T0 + 951));
  const shares = splitShares(NET, 6000);
  assert.equal(
    settled.task.payouts.map((payout) => [payout.recipient, payout.amountMsat]),
    [
      ['worker', shares.worker],
      ['poster', shares.poster],
    ],
  );
  assert.is(settled.task.custodySince, T0 + 951);
});

test('verdicts (2 of 3): a dissent stays disputed; a third agreeing with the first acts; all three stay on record', () => {
  const first = accepted(twoOfThree(), verdict(A1, 'worker'), at(T0 + 900));
  const dissent = accepted(first.history, verdict(A2, 'poster', undefined, VERDICT_EVENT_ID), at(T0 + 950));
  assert.equal(types(dissent.events), ['verdict_recorded']);
  assert.is(dissent.task.state, 'disputed');
  const third = accepted(dissent.history, verdict(A3, 'worker'), at(T0 + 1000));
  assert.equal(types(third.events), ['verdict_recorded', 'settle_requested']);
  assert.equal(third.task.resolution, { kind: 'worker' });
  assert.equal(third.task.verdicts, [
    { by: A1, resolution: { kind: 'worker' }, at: T0 + 900, eventId: null },
    { by: A2, resolution: { kind: 'poster' }, at: T0 + 950, eventId: VERDICT_EVENT_ID },
    { by: A3, resolution: { kind: 'worker' }, at: T0 + 1000, eventId: null },
  ]);
  // ... and the record survives the settlement and the payout.
  const settled = accepted(third.history, { type: 'hold_settled', paymentHash: PAYMENT_HASH }, at(T0 + 1001));
  assert.is(settled.task.verdicts.length, 3);
  const disagree = accepted(dissent.history, verdict(A3, 'poster'), at(T0 + 1000));
  assert.equal(
    types(disagree.events),
    ['verdict_recorded', 'refund_requested'],
    'the third may side with the dissent',
  );
});

test('verdicts (2 of 3): splits agree only with the same share (6000 and 5000 do not)', () => {
  const first = accepted(twoOfThree(), verdict(A1, 'split', 6000), at(T0 + 900));
  const other = accepted(first.history, verdict(A2, 'split', 5000), at(T0 + 950));
  assert.equal(types(other.events), ['verdict_recorded']);
  assert.is(other.task.state, 'disputed');
  const third = accepted(other.history, verdict(A3, 'split', 5000), at(T0 + 1000));
  assert.equal(third.task.resolution, { kind: 'split', workerShareBps: 5000 });
  // A split of 10000 gives all to the worker but is not a 'worker' verdict.
  const all = accepted(twoOfThree(), verdict(A1, 'split', 10_000), at(T0 + 900));
  assert.equal(types(accepted(all.history, verdict(A2, 'worker'), at(T0 + 950)).events), [
    'verdict_recorded',
  ]);
});

test('verdicts (1 of 1): the one named arbitrator decides at once, and the verdict is recorded', () => {
  const one = accepted(
    HISTORY.disputed(),
    verdict(ARBITRATOR, 'split', 2500, VERDICT_EVENT_ID),
    at(T0 + 900),
  );
  assert.equal(types(one.events), ['verdict_recorded', 'settle_requested']);
  assert.equal(one.task.verdicts, [
    {
      by: ARBITRATOR,
      resolution: { kind: 'split', workerShareBps: 2500 },
      at: T0 + 900,
      eventId: VERDICT_EVENT_ID,
    },
  ]);
});

test('verdicts: the same arbitrator twice is refused (VerdictAlreadyGiven), agreeing or not', () => {
  const first = accepted(twoOfThree(), verdict(A1, 'worker'), at(T0 + 900));
  refused(first.history, verdict(A1, 'worker'), at(T0 + 950), 'VerdictAlreadyGiven');
  const message = refused(first.history, verdict(A1, 'poster'), at(T0 + 950), 'VerdictAlreadyGiven');
  assert.ok(message.startsWith('duplicate: '), message);
});

test('verdicts: a stranger, a party, or an active arbitrator not named on the task is refused (NotAnArbitrator)', () => {
  refused(twoOfThree(), verdict(STRANGER, 'worker'), at(T0 + 900), 'NotAnArbitrator');
  refused(twoOfThree(), verdict(POSTER, 'poster'), at(T0 + 900), 'NotAnArbitrator');
  const named = withArbitration(HISTORY.disputed(), { arbitrators: [A1, A2], threshold: 1 });
  const message = refused(named, verdict(A3, 'worker'), at(T0 + 900), 'NotAnArbitrator');
  assert.ok(message.startsWith('blocked: '), message);
  // The default HISTORY task names ARBITRATOR only, even under a policy with three.
  refused(HISTORY.disputed(), verdict(A2, 'worker'), at(T0 + 900), 'NotAnArbitrator');
});

test('verdicts: on a task not in dispute they are refused (WrongState, "not in dispute")', () => {
  refused(
    twoOfThree(HISTORY.submitted()),
    verdict(A1, 'worker'),
    at(T0 + 700),
    'WrongState',
    'not in dispute',
  );
  refused(twoOfThree(HISTORY.claimed()), verdict(A1, 'poster'), at(T0 + 700), 'WrongState', 'not in dispute');
  refused(twoOfThree(HISTORY.paid()), verdict(A1, 'poster'), at(T0 + 800), 'WrongState', 'not in dispute');
});

test('verdicts: after the resolution they are refused (WrongState, "already resolved"): settling, paid, refunded', () => {
  const first = accepted(twoOfThree(), verdict(A1, 'worker'), at(T0 + 900));
  const settling = accepted(first.history, verdict(A2, 'worker'), at(T0 + 950));
  refused(settling.history, verdict(A3, 'poster'), at(T0 + 960), 'WrongState', 'already resolved');
  refused(settling.history, verdict(A3, 'worker'), at(T0 + 960), 'WrongState', 'already resolved');
  const settled = accepted(
    settling.history,
    { type: 'hold_settled', paymentHash: PAYMENT_HASH },
    at(T0 + 961),
  );
  const started = accepted(
    settled.history,
    {
      type: 'payout_start',
      recipient: 'worker',
      bolt11: WORKER_INVOICE,
      paymentHash: PAYOUT_HASH,
      amountMsat: NET,
    },
    at(T0 + 962),
  );
  const paid = accepted(
    started.history,
    { type: 'payout_succeeded', recipient: 'worker', routingFeeMsat: 2n, preimage: PAYOUT_PREIMAGE },
    at(T0 + 963),
  );
  assert.is(paid.task.state, 'paid');
  refused(paid.history, verdict(A3, 'poster'), at(T0 + 970), 'WrongState', 'already resolved');
  const refunding = accepted(
    accepted(twoOfThree(), verdict(A1, 'poster'), at(T0 + 900)).history,
    verdict(A2, 'poster'),
    at(T0 + 950),
  );
  refused(refunding.history, verdict(A3, 'worker'), at(T0 + 955), 'WrongState', 'already resolved');
  const refunded = accepted(
    refunding.history,
    { type: 'hold_cancelled', paymentHash: PAYMENT_HASH },
    at(T0 + 960),
  );
  assert.is(refunded.task.state, 'refunded');
  refused(refunded.history, verdict(A3, 'worker'), at(T0 + 970), 'WrongState', 'already resolved');
});

test('verdicts: a split share out of range, fractional or missing is refused (InvalidVerdict)', () => {
  for (const share of [-1, 10_001, 1.5, Number.NaN, undefined]) {
    const message = refused(twoOfThree(), verdict(A1, 'split', share), at(T0 + 900), 'InvalidVerdict');
    assert.ok(message.startsWith('invalid: '), message);
  }
  // The bounds themselves are valid shares.
  for (const share of [0, 10_000]) accepted(twoOfThree(), verdict(A1, 'split', share), at(T0 + 900));
});

test('verdicts: the verdict event id is kept on the record (null without one)', () => {
  const first = accepted(twoOfThree(), verdict(A1, 'poster', undefined, VERDICT_EVENT_ID), at(T0 + 900));
  const second = accepted(first.history, verdict(A2, 'poster'), at(T0 + 950));
  assert.equal(
    second.task.verdicts.map((one) => one.eventId),
    [VERDICT_EVENT_ID, null],
  );
  const recorded = first.events[0];
  assert.ok(recorded?.type === 'verdict_recorded');
  assert.is(recorded.eventId, VERDICT_EVENT_ID);
});

// ---------------------------------------------------------------------------------------------------------
// Custody while a verdict is pending (the task's deadline rule is custody).

/** A 2-of-3 (or 1-of-1) dispute under the custody rule, ticked at the guardian height and settled into custody. */
function intoCustody(arbitrators: string[], threshold: number, before: TaskEvent[] = HISTORY.disputed()) {
  const disputed = withArbitration(before, { arbitrators, threshold, deadlineRule: 'custody' });
  refused(disputed, { type: 'tick' }, at(T0 + 800, GUARDIAN - 1), 'NothingToDo');
  const tick = accepted(disputed, { type: 'tick' }, at(T0 + 800, GUARDIAN));
  assert.equal(types(tick.events), ['settle_requested']);
  assert.is(tick.task.state, 'settling');
  assert.is(tick.task.reason, 'hold_deadline');
  assert.equal(tick.task.resolution, { kind: 'pending_verdict' });
  const settled = accepted(
    tick.history,
    { type: 'hold_settled', paymentHash: PAYMENT_HASH },
    at(T0 + 810, GUARDIAN),
  );
  assert.is(settled.task.state, 'custody');
  assert.is(settled.task.custodySince, T0 + 810);
  assert.equal(settled.task.payouts, []);
  assert.is(settled.task.ledger.feeMsat, FEE);
  assert.is(settled.task.ledger.heldMsat, NET);
  return settled;
}

test('custody: a dispute at the guardian height settles into custody, with no payouts until a verdict', () => {
  intoCustody([A1, A2, A3], 2);
});

test('custody (2 of 3): fewer than k verdicts keep it pending; the k-th agreeing one pays out the split', () => {
  const custody = intoCustody([A1, A2, A3], 2);
  const first = accepted(custody.history, verdict(A1, 'split', 7000), at(T0 + 900, GUARDIAN + 5));
  assert.equal(types(first.events), ['verdict_recorded']);
  assert.is(first.task.state, 'custody');
  assert.equal(first.task.resolution, { kind: 'pending_verdict' });
  assert.equal(first.task.payouts, []);
  const dissent = accepted(first.history, verdict(A2, 'worker'), at(T0 + 950, GUARDIAN + 6));
  assert.equal(types(dissent.events), ['verdict_recorded']);
  assert.equal(dissent.task.resolution, { kind: 'pending_verdict' });
  const third = accepted(dissent.history, verdict(A3, 'split', 7000), at(T0 + 1000, GUARDIAN + 7));
  assert.equal(types(third.events), ['verdict_recorded', 'verdict_given']);
  assert.equal(third.task.resolution, { kind: 'split', workerShareBps: 7000 });
  const shares = splitShares(NET, 7000);
  assert.equal(
    third.task.payouts.map((payout) => [payout.recipient, payout.amountMsat, payout.state]),
    [
      // The worker's invoice from submit is for amount - fee: a share needs its own invoice.
      ['worker', shares.worker, 'needs_invoice'],
      ['poster', shares.poster, 'needs_invoice'],
    ],
  );
  assert.is(third.task.state, 'payout_pending');
  assert.is(third.task.verdicts.length, 3);
  refused(third.history, verdict(A2, 'split', 7000), at(T0 + 1001), 'WrongState', 'already resolved');
});

test('custody: verdicts recorded before the guardian count toward k after it', () => {
  const disputed = withArbitration(HISTORY.disputed(), { arbitrators: [A1, A2, A3], threshold: 2 });
  const early = accepted(disputed, verdict(A2, 'poster'), at(T0 + 750));
  const custody = intoCustody([A1, A2, A3], 2, early.history);
  assert.is(custody.task.verdicts.length, 1);
  const second = accepted(custody.history, verdict(A3, 'poster'), at(T0 + 900, GUARDIAN + 1));
  assert.equal(types(second.events), ['verdict_recorded', 'verdict_given']);
  assert.equal(
    second.task.payouts.map((payout) => [payout.recipient, payout.amountMsat, payout.state]),
    [['poster', NET, 'needs_invoice']],
  );
  assert.is(second.task.state, 'payout_pending');
});

test('custody (1 of 1): a verdict for the worker pays the worker from custody', () => {
  const custody = intoCustody([A1], 1);
  const given1 = accepted(custody.history, verdict(A1, 'worker'), at(T0 + 900, GUARDIAN + 1));
  assert.equal(types(given1.events), ['verdict_recorded', 'verdict_given']);
  assert.equal(
    given1.task.payouts.map((payout) => [payout.recipient, payout.amountMsat, payout.state]),
    [['worker', NET, 'due']],
  );
  const started = accepted(
    given1.history,
    {
      type: 'payout_start',
      recipient: 'worker',
      bolt11: WORKER_INVOICE,
      paymentHash: PAYOUT_HASH,
      amountMsat: NET,
    },
    at(T0 + 901),
  );
  const paid = accepted(
    started.history,
    { type: 'payout_succeeded', recipient: 'worker', routingFeeMsat: 1n, preimage: PAYOUT_PREIMAGE },
    at(T0 + 902),
  );
  assert.is(paid.task.state, 'paid');
  assert.is(paid.task.ledger.paidToWorkerMsat, NET);
  assert.is(paid.task.ledger.heldMsat, 0n);
  refused(paid.history, verdict(A1, 'poster'), at(T0 + 903), 'WrongState', 'already resolved');
});

test('custody: once the verdict is given, a later verdict is refused (already resolved)', () => {
  const custody = intoCustody([A1, A2, A3], 1);
  const done = accepted(custody.history, verdict(A2, 'poster'), at(T0 + 900));
  refused(done.history, verdict(A3, 'worker'), at(T0 + 901), 'WrongState', 'already resolved');
});

test('custody: a verdict arriving while the hold settles into custody is not told the dispute is resolved', () => {
  // The guardian asked the node to settle into custody (settling, pending_verdict); the node has not confirmed yet.
  const disputed = withArbitration(HISTORY.disputed(), {
    arbitrators: [A1],
    threshold: 1,
    deadlineRule: 'custody',
  });
  const tick = accepted(disputed, { type: 'tick' }, at(T0 + 800, GUARDIAN));
  assert.equal(tick.task.resolution, { kind: 'pending_verdict' });
  const { decision } = when(tick.history, verdict(A1, 'worker'), at(T0 + 801, GUARDIAN));
  if (decision.ok) {
    // Recorded: it must act once the hold settled, not leave the money waiting in custody.
    const recorded = accepted(tick.history, verdict(A1, 'worker'), at(T0 + 801, GUARDIAN));
    const settled = accepted(
      recorded.history,
      { type: 'hold_settled', paymentHash: PAYMENT_HASH },
      at(T0 + 802),
    );
    assert.equal(settled.task.resolution, { kind: 'worker' }, 'the verdict given meanwhile acts');
    return;
  }
  // Refused: then the arbitrator must learn to send it again, not that the dispute is over (with 1 of 1, the
  // money would otherwise wait in custody for a verdict its only arbitrator was told is not needed).
  assert.not.ok(
    decision.rejection.message.includes('already resolved'),
    `a pending dispute is reported resolved: "${decision.rejection.message}"`,
  );
});

// ---------------------------------------------------------------------------------------------------------
// The rulebook: a pure function of the task, the time and the height.

const ruleOf = (history: TaskEvent[], now: number, height = H0, policy: Policy = THREE) => {
  const task = given(history);
  assert.ok(task);
  return rulebook(task, at(now, height, policy));
};

test('rulebook: an unpaid offer expires at its invoice expiry', () => {
  assert.is(ruleOf(HISTORY.offered(), T0 + 3599), null);
  assert.equal(ruleOf(HISTORY.offered(), T0 + 3600), [
    { type: 'refund_requested', at: T0 + 3600, reason: 'invoice_expired' },
  ]);
  // No HTLC, no guardian: a high block height alone does nothing to an offer.
  assert.is(ruleOf(HISTORY.offered(), T0 + 10, H0 + 10_000), null);
});

test('rulebook: a funded task nobody claimed is refunded at the end of the claim window', () => {
  const end = T0 + 60 + 6 * 3600;
  assert.is(ruleOf(HISTORY.funded(), end - 1), null);
  assert.equal(ruleOf(HISTORY.funded(), end), [
    { type: 'refund_requested', at: end, reason: 'claim_timeout' },
  ]);
});

test('rulebook: a claimed task without a submission is refunded at the end of the work window', () => {
  const end = T0 + 120 + 12 * 3600;
  assert.is(ruleOf(HISTORY.claimed(), end - 1), null);
  assert.equal(ruleOf(HISTORY.claimed(), end), [
    { type: 'refund_requested', at: end, reason: 'work_timeout' },
  ]);
});

test('rulebook: a submitted task the poster is silent on pays the worker at the end of the review window', () => {
  const end = T0 + 600 + 4 * 3600;
  assert.is(ruleOf(HISTORY.submitted(), end - 1), null);
  assert.equal(ruleOf(HISTORY.submitted(), end), [
    { type: 'settle_requested', at: end, reason: 'review_timeout', resolution: { kind: 'worker' } },
  ]);
});

test("rulebook: a dispute at the guardian height follows the task's own rule: refund or custody", () => {
  const refund = withArbitration(HISTORY.disputed(), { deadlineRule: 'refund' });
  const custody = withArbitration(HISTORY.disputed(), { deadlineRule: 'custody' });
  // No time rule for a dispute: only the hold deadline moves it.
  assert.is(ruleOf(refund, T0 + 30 * 86_400, GUARDIAN - 1), null);
  assert.is(ruleOf(custody, T0 + 30 * 86_400, GUARDIAN - 1), null);
  assert.equal(
    ruleOf(refund, T0 + 900, GUARDIAN, threeArbitratorPolicy({ disputeDeadlineRule: 'custody' })),
    [{ type: 'refund_requested', at: T0 + 900, reason: 'hold_deadline' }],
  );
  assert.equal(
    ruleOf(custody, T0 + 900, GUARDIAN + 3, threeArbitratorPolicy({ disputeDeadlineRule: 'refund' })),
    [
      {
        type: 'settle_requested',
        at: T0 + 900,
        reason: 'hold_deadline',
        resolution: { kind: 'pending_verdict' },
      },
    ],
  );
});

test('rulebook: the guardian comes first in funded, claimed and submitted (even past their windows)', () => {
  const late = T0 + 2 * 86_400; // every window is over too
  assert.equal(ruleOf(HISTORY.funded(), T0 + 100, GUARDIAN), [
    { type: 'refund_requested', at: T0 + 100, reason: 'hold_deadline' },
  ]);
  assert.equal(ruleOf(HISTORY.funded(), late, GUARDIAN), [
    { type: 'refund_requested', at: late, reason: 'hold_deadline' },
  ]);
  assert.equal(ruleOf(HISTORY.claimed(), late, GUARDIAN + 1), [
    { type: 'refund_requested', at: late, reason: 'hold_deadline' },
  ]);
  assert.equal(ruleOf(HISTORY.submitted(), late, GUARDIAN), [
    { type: 'settle_requested', at: late, reason: 'hold_deadline', resolution: { kind: 'worker' } },
  ]);
  // One block earlier, the windows decide.
  assert.equal(ruleOf(HISTORY.funded(), late, GUARDIAN - 1), [
    { type: 'refund_requested', at: late, reason: 'claim_timeout' },
  ]);
});

test('rulebook: null when nothing is due, in every state without a rule', () => {
  const quiet: Array<[string, TaskEvent[]]> = [
    ['posted', HISTORY.posted()],
    ['funded', HISTORY.funded()],
    ['claimed', HISTORY.claimed()],
    ['submitted', HISTORY.submitted()],
    ['disputed', HISTORY.disputed()],
  ];
  for (const [state, history] of quiet) assert.is(ruleOf(history, T0 + 700), null, state);
  const settledStates: Array<[string, TaskEvent[]]> = [
    ['posted', HISTORY.posted()],
    ['settling', HISTORY.settling()],
    ['settled', HISTORY.settled()],
    ['paid', HISTORY.paid()],
    ['refunding', HISTORY.refunding()],
    ['refunded', HISTORY.refunded()],
  ];
  for (const [state, history] of settledStates) {
    assert.is(given(history)?.state, state);
    assert.is(ruleOf(history, T0 + 30 * 86_400, H0 + 10_000), null, `${state} at any time and height`);
  }
});

test('rulebook: pure (the same input gives the same output, and the input is not changed)', () => {
  const cases: Array<[TaskEvent[], number, number]> = [
    [HISTORY.offered(), T0 + 3600, H0],
    [HISTORY.funded(), T0 + 100, GUARDIAN],
    [HISTORY.submitted(), T0 + 600 + 4 * 3600, H0],
    [withArbitration(HISTORY.disputed(), { deadlineRule: 'custody' }), T0 + 900, GUARDIAN],
    [HISTORY.claimed(), T0 + 200, H0],
  ];
  for (const [history, now, height] of cases) {
    const task = given(history);
    assert.ok(task);
    const ctx = at(now, height);
    const taskCopy = structuredClone(task);
    const ctxCopy = structuredClone(ctx);
    const first = rulebook(task, ctx);
    const second = rulebook(task, ctx);
    assert.equal(first, second);
    assert.equal(task, taskCopy, 'the task is not mutated');
    assert.equal(ctx, ctxCopy, 'the context is not mutated');
    if (first) assert.ok(first !== second, 'a fresh array each time, nothing shared to mutate');
  }
});

// ---------------------------------------------------------------------------------------------------------
// Payouts to a Lightning address.

const WORKER_ADDRESS = 'worker@wallet.example';
const OTHER_ADDRESS = 'worker@other.example';
/** Settled after approval, the worker gave no invoice at submission: the payout needs one. */
const unpaidWorker = (): TaskEvent[] => [
  ...HISTORY.claimed(),
  { type: 'submitted', at: T0 + 600, payoutInvoice: null },
  { type: 'settle_requested', at: T0 + 700, reason: 'approved', resolution: { kind: 'worker' } },
  { type: 'hold_settled', at: T0 + 701 },
];
const address = (by: string, value = WORKER_ADDRESS, recipient: PayoutRecipient = 'worker'): Command => ({
  type: 'payout_address',
  by,
  recipient,
  address: value,
});
const fetched = (bolt11: string): Command => ({
  type: 'payout_address_invoice',
  recipient: 'worker',
  bolt11,
});
const startWorker = (bolt11: string, hash = PAYOUT_HASH): Command => ({
  type: 'payout_start',
  recipient: 'worker',
  bolt11,
  paymentHash: hash,
  amountMsat: NET,
});
const failWorker = (invoiceUnusable = false): Command => ({
  type: 'payout_failed',
  recipient: 'worker',
  reason: invoiceUnusable ? 'invoice expired' : 'no route',
  invoiceUnusable,
});

test('lightning address: the recipient gives one while the payout needs an invoice', () => {
  assert.is(given(unpaidWorker())?.state, 'payout_pending');
  const { task, events } = accepted(unpaidWorker(), address(WORKER), at(T0 + 800));
  assert.equal(types(events), ['payout_address_given']);
  assert.is(task.payouts[0]?.address, WORKER_ADDRESS);
  assert.is(task.payouts[0]?.state, 'needs_invoice');
  assert.is(task.state, 'payout_pending');
  const other = accepted(
    accepted(unpaidWorker(), address(WORKER), at(T0 + 800)).history,
    address(WORKER, OTHER_ADDRESS),
    at(T0 + 801),
  );
  assert.is(other.task.payouts[0]?.address, OTHER_ADDRESS, 'a different address replaces it');
});

test('lightning address: given by someone else than the recipient is refused (NotYourTask)', () => {
  refused(unpaidWorker(), address(POSTER), at(T0 + 800), 'NotYourTask');
  refused(unpaidWorker(), address(STRANGER), at(T0 + 800), 'NotYourTask');
  refused(unpaidWorker(), address(WORKER, WORKER_ADDRESS, 'poster'), at(T0 + 800), 'NotYourTask');
});

test('lightning address: refused while the payout is due or in flight (PayoutInFlight)', () => {
  refused(HISTORY.settled(), address(WORKER), at(T0 + 800), 'PayoutInFlight', 'due');
  refused(HISTORY.inFlight(), address(WORKER), at(T0 + 800), 'PayoutInFlight', 'in flight');
});

test('lightning address: the same address again has nothing to do', () => {
  const given1 = accepted(unpaidWorker(), address(WORKER), at(T0 + 800));
  refused(given1.history, address(WORKER), at(T0 + 801), 'NothingToDo');
});

test('lightning address: a fetched invoice makes the payout due and keeps its attempts (fromAddress)', () => {
  let state = accepted(unpaidWorker(), address(WORKER), at(T0 + 800));
  state = accepted(state.history, fetched('lnbcrt1fetched1'), at(T0 + 801));
  const given1 = state.events[0];
  assert.ok(given1?.type === 'payout_invoice_given');
  assert.is(given1.fromAddress, true);
  assert.is(state.task.payouts[0]?.state, 'due');
  assert.is(state.task.payouts[0]?.bolt11, 'lnbcrt1fetched1');
  assert.is(state.task.state, 'settled');
  state = accepted(state.history, startWorker('lnbcrt1fetched1'), at(T0 + 802));
  state = accepted(state.history, failWorker(true), at(T0 + 803));
  assert.is(state.task.payouts[0]?.state, 'needs_invoice');
  assert.is(state.task.payouts[0]?.attempts, 1);
  assert.is(
    state.task.payouts[0]?.address,
    WORKER_ADDRESS,
    'one unusable invoice does not forget the address',
  );
  const again = accepted(state.history, fetched('lnbcrt1fetched2'), at(T0 + 804));
  assert.is(again.task.payouts[0]?.state, 'due');
  assert.is(again.task.payouts[0]?.bolt11, 'lnbcrt1fetched2');
  assert.is(again.task.payouts[0]?.attempts, 1, 'the attempts carry on over fetched invoices');
  // An invoice the recipient gives by hand starts a fresh budget.
  const byHand = accepted(
    state.history,
    { type: 'payout_invoice', by: WORKER, recipient: 'worker', bolt11: WORKER_INVOICE },
    at(T0 + 804),
  );
  assert.is(byHand.task.payouts[0]?.attempts, 0);
});

test('lightning address: a fetched invoice without an address on record is refused', () => {
  refused(unpaidWorker(), fetched('lnbcrt1fetched'), at(T0 + 800), 'WrongState');
  refused(
    unpaidWorker(),
    { type: 'payout_address_failed', recipient: 'worker', reason: 'x', giveUp: false },
    at(T0 + 800),
    'WrongState',
  );
});

test('lightning address: a failed fetch keeps the address, unless it gives up', () => {
  const withAddress = accepted(unpaidWorker(), address(WORKER), at(T0 + 800));
  const retry = accepted(
    withAddress.history,
    { type: 'payout_address_failed', recipient: 'worker', reason: 'timeout', giveUp: false },
    at(T0 + 801),
  );
  assert.is(retry.task.payouts[0]?.address, WORKER_ADDRESS);
  assert.is(retry.task.payouts[0]?.state, 'needs_invoice');
  const giveUp = accepted(
    retry.history,
    { type: 'payout_address_failed', recipient: 'worker', reason: '404', giveUp: true },
    at(T0 + 802),
  );
  assert.is(giveUp.task.payouts[0]?.address, null);
  assert.is(giveUp.task.payouts[0]?.state, 'needs_invoice');
  assert.is(giveUp.task.state, 'payout_pending');
  refused(giveUp.history, fetched('lnbcrt1late'), at(T0 + 803), 'WrongState');
  // The recipient may give the address again after it was forgotten.
  assert.is(accepted(giveUp.history, address(WORKER), at(T0 + 804)).task.payouts[0]?.address, WORKER_ADDRESS);
});

test('lightning address: after max_payout_attempts failures on fetched invoices the address is forgotten (no endless loop)', () => {
  assert.is(THREE.maxPayoutAttempts, 3);
  let state = accepted(unpaidWorker(), address(WORKER), at(T0 + 800));
  let now = T0 + 801;
  const step = (command: Command) => {
    state = accepted(state.history, command, at(now++));
    return state.events[0];
  };
  // Attempt 1 on the first fetched invoice fails for lack of a route: the same invoice is due again.
  step(fetched('lnbcrt1fetched1'));
  step(startWorker('lnbcrt1fetched1'));
  let failed = step(failWorker(false));
  assert.ok(failed?.type === 'payout_failed' && !failed.forgetAddress && !failed.needsInvoice);
  assert.is(state.task.payouts[0]?.state, 'due');
  // Attempt 2 finds the invoice unusable: a new one is fetched from the address, the budget carries on.
  step(startWorker('lnbcrt1fetched1'));
  failed = step(failWorker(true));
  assert.ok(failed?.type === 'payout_failed' && failed.needsInvoice && !failed.forgetAddress);
  assert.is(state.task.payouts[0]?.address, WORKER_ADDRESS);
  step(fetched('lnbcrt1fetched2'));
  assert.is(state.task.payouts[0]?.attempts, 2);
  // Attempt 3 spends the budget: the event says to forget the address.
  step(startWorker('lnbcrt1fetched2'));
  assert.is(state.task.payouts[0]?.attempts, 3);
  failed = step(failWorker(false));
  assert.ok(failed?.type === 'payout_failed');
  assert.is(failed.forgetAddress, true);
  assert.is(failed.needsInvoice, true);
  assert.is(state.task.payouts[0]?.address, null, 'the address is forgotten');
  assert.is(state.task.payouts[0]?.state, 'needs_invoice');
  assert.is(state.task.state, 'payout_pending');
  refused(state.history, fetched('lnbcrt1fetched3'), at(now++), 'WrongState');
  refused(state.history, startWorker('lnbcrt1fetched2'), at(now++), 'NothingToDo');
  // The worker is asked again; giving an address again starts a new budget.
  const renewed = accepted(state.history, address(WORKER), at(now++));
  assert.is(renewed.task.payouts[0]?.attempts, 0);
});

test('lightning address: failures of an invoice given by hand do not forget an address given before', () => {
  // Not exhausted: no forgetAddress on a plain retriable failure.
  let state = accepted(unpaidWorker(), address(WORKER), at(T0 + 800));
  state = accepted(state.history, fetched('lnbcrt1fetched1'), at(T0 + 801));
  state = accepted(state.history, startWorker('lnbcrt1fetched1'), at(T0 + 802));
  state = accepted(state.history, failWorker(false), at(T0 + 803));
  const failed = state.events[0];
  assert.ok(failed?.type === 'payout_failed');
  assert.is(failed.forgetAddress, undefined);
  assert.is(state.task.payouts[0]?.address, WORKER_ADDRESS);
});

test('lightning address: the poster of a split gives one for their share', () => {
  const first = accepted(twoOfThree(), verdict(A1, 'split', 4000), at(T0 + 900));
  const second = accepted(first.history, verdict(A2, 'split', 4000), at(T0 + 901));
  const settled = accepted(second.history, { type: 'hold_settled', paymentHash: PAYMENT_HASH }, at(T0 + 902));
  const posterAddress: Command = {
    type: 'payout_address',
    by: POSTER,
    recipient: 'poster',
    address: 'poster@wallet.example',
  };
  refused(settled.history, { ...posterAddress, by: WORKER }, at(T0 + 903), 'NotYourTask');
  // The worker's share needs an invoice of its own (the one from submit is for amount - fee).
  const workerInvoice = accepted(
    settled.history,
    { type: 'payout_invoice', by: WORKER, recipient: 'worker', bolt11: WORKER_INVOICE },
    at(T0 + 903),
  );
  const given2 = accepted(workerInvoice.history, posterAddress, at(T0 + 903));
  const poster = given2.task.payouts.find((payout) => payout.recipient === 'poster');
  assert.is(poster?.address, 'poster@wallet.example');
  const invoice = accepted(
    given2.history,
    { type: 'payout_address_invoice', recipient: 'poster', bolt11: POSTER_INVOICE },
    at(T0 + 904),
  );
  assert.is(invoice.task.state, 'custody', 'both payouts due: the agent holds them until paid');
  assert.equal(
    invoice.task.payouts.map((payout) => payout.state),
    ['due', 'due'],
  );
});

test.run();
