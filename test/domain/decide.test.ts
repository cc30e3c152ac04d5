// Given / when / then for every transition and every refusal of the decider.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { CantDoCode } from '../../src/domain/errors.ts';
import { conservationViolation } from '../../src/domain/money.ts';
import type { Command, DecideContext, TaskEvent, TaskState } from '../../src/domain/types.ts';
import {
  AMOUNT,
  ARBITRATOR,
  context,
  FEE,
  given,
  H0,
  HISTORY,
  OTHER_WORKER,
  PAYMENT_HASH,
  PAYOUT_HASH,
  PAYOUT_PREIMAGE,
  POSTER,
  POSTER_INVOICE,
  STRANGER,
  T0,
  TASK_ID,
  testPolicy,
  WORKER,
  WORKER_INVOICE,
  when,
  withArbitration,
} from '../fakes/domain.ts';

const OTHER_TASK_ID = '9'.repeat(64);
const post: Command = {
  type: 'post',
  taskId: TASK_ID,
  by: POSTER,
  amountMsat: AMOUNT,
  title: 'Translate a README',
};
const accepted: Command = {
  type: 'hold_accepted',
  paymentHash: PAYMENT_HASH,
  amountMsat: AMOUNT,
  htlcExpiryHeight: H0 + 303,
  claimDeadlineHeight: H0 + 282,
};
const payoutStart: Command = {
  type: 'payout_start',
  recipient: 'worker',
  bolt11: WORKER_INVOICE,
  paymentHash: PAYOUT_HASH,
  amountMsat: AMOUNT - FEE,
};
const late = (seconds: number, height = H0): DecideContext => context({ now: T0 + seconds, height });

type Transition = [
  name: string,
  history: TaskEvent[],
  command: Command,
  ctx: DecideContext,
  state: TaskState,
];
const transitions: Transition[] = [
  ['a valid listing is posted', [], post, context(), 'posted'],
  [
    'a listing whose address has no unfinished task is posted',
    [],
    { ...post, openTaskAtAddress: null },
    context(),
    'posted',
  ],
  [
    'an offer pins the hold invoice',
    HISTORY.posted(),
    {
      type: 'offer',
      paymentHash: PAYMENT_HASH,
      bolt11: 'lnbcrt1',
      invoiceExpiresAt: T0 + 3600,
      finalCltvDelta: 300,
    },
    context(),
    'offered',
  ],
  ['the node accepting the HTLC funds the task', HISTORY.offered(), accepted, context(), 'funded'],
  ['a worker claims a funded task', HISTORY.funded(), { type: 'claim', by: WORKER }, late(200), 'claimed'],
  [
    'the worker submits',
    HISTORY.claimed(),
    { type: 'submit', by: WORKER, payoutInvoice: WORKER_INVOICE },
    late(300),
    'submitted',
  ],
  [
    'the poster approves: settling',
    HISTORY.submitted(),
    { type: 'approve', by: POSTER },
    late(700),
    'settling',
  ],
  [
    'the node settled the hold: settled',
    HISTORY.settling(),
    { type: 'hold_settled', paymentHash: PAYMENT_HASH },
    late(701),
    'settled',
  ],
  ['the payout starts', HISTORY.settled(), payoutStart, late(702), 'settled'],
  [
    'the payout succeeds: paid',
    HISTORY.inFlight(),
    { type: 'payout_succeeded', recipient: 'worker', routingFeeMsat: 3n, preimage: PAYOUT_PREIMAGE },
    late(703),
    'paid',
  ],
  [
    'the poster cancels before an invoice exists',
    HISTORY.posted(),
    { type: 'cancel', by: POSTER },
    context(),
    'cancelled',
  ],
  [
    'the poster cancels an unpaid offer: refunding',
    HISTORY.offered(),
    { type: 'cancel', by: POSTER },
    context(),
    'refunding',
  ],
  [
    'the poster cancels a funded task: refunding',
    HISTORY.funded(),
    { type: 'cancel', by: POSTER },
    context(),
    'refunding',
  ],
  ['the unpaid invoice expires: refunding', HISTORY.offered(), { type: 'tick' }, late(3600), 'refunding'],
  [
    'nobody claims within the window: refunding',
    HISTORY.funded(),
    { type: 'tick' },
    late(60 + 6 * 3600),
    'refunding',
  ],
  [
    'the worker misses the work deadline: refunding',
    HISTORY.claimed(),
    { type: 'tick' },
    late(120 + 12 * 3600),
    'refunding',
  ],
  [
    'the review window passes in silence: settling',
    HISTORY.submitted(),
    { type: 'tick' },
    late(600 + 4 * 3600),
    'settling',
  ],
  [
    'the guardian refunds a funded task near the hold deadline',
    HISTORY.funded(),
    { type: 'tick' },
    late(100, H0 + 266),
    'refunding',
  ],
  [
    'the guardian refunds a claimed task near the hold deadline',
    HISTORY.claimed(),
    { type: 'tick' },
    late(200, H0 + 266),
    'refunding',
  ],
  [
    'the guardian settles a submitted task near the hold deadline',
    HISTORY.submitted(),
    { type: 'tick' },
    late(700, H0 + 266),
    'settling',
  ],
  [
    'the guardian refunds a dispute under the refund rule',
    HISTORY.disputed(),
    { type: 'tick' },
    late(800, H0 + 266),
    'refunding',
  ],
  [
    'the poster disputes a submission',
    HISTORY.submitted(),
    { type: 'dispute', by: POSTER, reason: 'wrong' },
    late(700),
    'disputed',
  ],
  [
    'the worker disputes a claimed task',
    HISTORY.claimed(),
    { type: 'dispute', by: WORKER, reason: 'moved goalposts' },
    late(300),
    'disputed',
  ],
  [
    'a verdict for the worker settles',
    HISTORY.disputed(),
    { type: 'verdict', by: ARBITRATOR, outcome: 'worker' },
    late(900),
    'settling',
  ],
  [
    'a verdict for the poster refunds',
    HISTORY.disputed(),
    { type: 'verdict', by: ARBITRATOR, outcome: 'poster' },
    late(900),
    'refunding',
  ],
  [
    'a split verdict settles',
    HISTORY.disputed(),
    { type: 'verdict', by: ARBITRATOR, outcome: 'split', workerShareBps: 6000 },
    late(900),
    'settling',
  ],
  [
    'the node cancelled the hold: refunded',
    HISTORY.refunding(),
    { type: 'hold_cancelled', paymentHash: PAYMENT_HASH },
    late(101),
    'refunded',
  ],
  [
    'a failed payout stays settled for a retry',
    HISTORY.inFlight(),
    { type: 'payout_failed', recipient: 'worker', reason: 'no route' },
    late(703),
    'settled',
  ],
];

for (const [name, history, command, ctx, state] of transitions) {
  test(name, () => {
    const { decision, after } = when(history, command, ctx);
    assert.ok(decision.ok, decision.ok ? '' : decision.rejection.message);
    assert.is(after?.state, state);
    assert.is(after && conservationViolation(after.ledger), null);
  });
}

type Refusal = [
  name: string,
  history: TaskEvent[],
  command: Command,
  ctx: DecideContext,
  code: CantDoCode,
  prefix: string,
];
const refusals: Refusal[] = [
  ['the same listing posted twice', HISTORY.posted(), post, context(), 'TaskExists', 'duplicate:'],
  [
    'an edited listing while the task of its address is not finished',
    [],
    { ...post, openTaskAtAddress: OTHER_TASK_ID },
    context(),
    'ListingInUse',
    'blocked:',
  ],
  [
    'an amount below the minimum',
    [],
    { ...post, amountMsat: 9_999n },
    context(),
    'AmountOutOfPolicy',
    'invalid:',
  ],
  [
    'an amount above the maximum',
    [],
    { ...post, amountMsat: 100_000_000_001n },
    context(),
    'AmountOutOfPolicy',
    'invalid:',
  ],
  ['a title past the limit', [], { ...post, title: 'x'.repeat(201) }, context(), 'TitleTooLong', 'invalid:'],
  [
    'a window of a few seconds',
    [],
    { ...post, windows: { claimSeconds: 5 } },
    context(),
    'InvalidWindows',
    'invalid:',
  ],
  [
    'a fractional window',
    [],
    { ...post, windows: { workSeconds: 3600.5 } },
    context(),
    'InvalidWindows',
    'invalid:',
  ],
  [
    'windows longer than the hold',
    [],
    { ...post, windows: { workSeconds: 30 * 24 * 3600 } },
    context(),
    'WindowsDoNotFitHold',
    'invalid:',
  ],
  ['an action on an unknown task', [], { type: 'claim', by: WORKER }, context(), 'WrongState', 'blocked:'],
  [
    'a hold accepted for another hash',
    HISTORY.offered(),
    { ...accepted, paymentHash: '9'.repeat(64) },
    context(),
    'WrongPaymentHash',
    'invalid:',
  ],
  ['the same hold accepted twice', HISTORY.funded(), accepted, context(), 'NothingToDo', 'duplicate:'],
  [
    'a claim on an unfunded task',
    HISTORY.offered(),
    { type: 'claim', by: WORKER },
    context(),
    'WrongState',
    'blocked:',
  ],
  [
    'the poster claims their own task',
    HISTORY.funded(),
    { type: 'claim', by: POSTER },
    context(),
    'OwnTask',
    'blocked:',
  ],
  [
    'a second worker claims',
    HISTORY.claimed(),
    { type: 'claim', by: OTHER_WORKER },
    context(),
    'AlreadyClaimed',
    'blocked:',
  ],
  [
    'the same worker claims twice',
    HISTORY.claimed(),
    { type: 'claim', by: WORKER },
    context(),
    'NothingToDo',
    'duplicate:',
  ],
  [
    'a claim after the claim window',
    HISTORY.funded(),
    { type: 'claim', by: WORKER },
    late(60 + 6 * 3600),
    'DeadlinePassed',
    'blocked:',
  ],
  [
    'a claim when the hold is about to expire',
    HISTORY.funded(),
    { type: 'claim', by: WORKER },
    late(100, H0 + 266),
    'DeadlinePassed',
    'blocked:',
  ],
  [
    'a submission by someone else',
    HISTORY.claimed(),
    { type: 'submit', by: OTHER_WORKER, payoutInvoice: null },
    context(),
    'NotYourTask',
    'blocked:',
  ],
  [
    'a submission after the deadline',
    HISTORY.claimed(),
    { type: 'submit', by: WORKER, payoutInvoice: null },
    late(120 + 12 * 3600),
    'DeadlinePassed',
    'blocked:',
  ],
  [
    'an approval by someone other than the poster',
    HISTORY.submitted(),
    { type: 'approve', by: STRANGER },
    context(),
    'NotYourTask',
    'blocked:',
  ],
  [
    'an approval before any submission',
    HISTORY.claimed(),
    { type: 'approve', by: POSTER },
    context(),
    'WrongState',
    'blocked:',
  ],
  [
    'a cancel by someone other than the poster',
    HISTORY.funded(),
    { type: 'cancel', by: WORKER },
    context(),
    'NotYourTask',
    'blocked:',
  ],
  [
    'a cancel after a worker claimed',
    HISTORY.claimed(),
    { type: 'cancel', by: POSTER },
    context(),
    'WrongState',
    'blocked:',
  ],
  [
    'a dispute by a stranger',
    HISTORY.submitted(),
    { type: 'dispute', by: STRANGER, reason: 'x' },
    context(),
    'NotYourTask',
    'blocked:',
  ],
  [
    'a dispute on a funded task',
    HISTORY.funded(),
    { type: 'dispute', by: POSTER, reason: 'x' },
    context(),
    'WrongState',
    'blocked:',
  ],
  [
    'a dispute by the poster on a task offered without arbitrators',
    withArbitration(HISTORY.submitted(), { arbitrators: [], threshold: 0 }),
    { type: 'dispute', by: POSTER, reason: 'not done' },
    context({ policy: testPolicy({ arbitrators: [] }) }),
    'DisputesNotOffered',
    'blocked:',
  ],
  [
    'a dispute by the worker on a task offered without arbitrators',
    withArbitration(HISTORY.claimed(), { arbitrators: [], threshold: 0 }),
    { type: 'dispute', by: WORKER, reason: 'moved goalposts' },
    context({ policy: testPolicy({ arbitrators: [] }) }),
    'DisputesNotOffered',
    'blocked:',
  ],
  [
    'a verdict by someone who is not an arbitrator',
    HISTORY.disputed(),
    { type: 'verdict', by: POSTER, outcome: 'poster' },
    context(),
    'NotAnArbitrator',
    'blocked:',
  ],
  [
    'a split verdict without a share',
    HISTORY.disputed(),
    { type: 'verdict', by: ARBITRATOR, outcome: 'split' },
    context(),
    'InvalidVerdict',
    'invalid:',
  ],
  [
    'a split verdict above 100%',
    HISTORY.disputed(),
    { type: 'verdict', by: ARBITRATOR, outcome: 'split', workerShareBps: 10_001 },
    context(),
    'InvalidVerdict',
    'invalid:',
  ],
  [
    'a verdict without a dispute',
    HISTORY.submitted(),
    { type: 'verdict', by: ARBITRATOR, outcome: 'worker' },
    context(),
    'WrongState',
    'blocked:',
  ],
  [
    'a tick with no deadline passed',
    HISTORY.funded(),
    { type: 'tick' },
    context(),
    'NothingToDo',
    'duplicate:',
  ],
  [
    'a settle report without our settle intent',
    HISTORY.submitted(),
    { type: 'hold_settled', paymentHash: PAYMENT_HASH },
    context(),
    'WrongState',
    'blocked:',
  ],
  [
    'a settle report delivered twice',
    HISTORY.settled(),
    { type: 'hold_settled', paymentHash: PAYMENT_HASH },
    context(),
    'NothingToDo',
    'duplicate:',
  ],
  ['a payout before the hold settled', HISTORY.settling(), payoutStart, context(), 'WrongState', 'blocked:'],
  [
    'a second payout while one is in flight',
    HISTORY.inFlight(),
    payoutStart,
    context(),
    'PayoutInFlight',
    'blocked:',
  ],
  [
    'a payout for another amount',
    HISTORY.settled(),
    { ...payoutStart, amountMsat: AMOUNT },
    context(),
    'AmountMismatch',
    'invalid:',
  ],
  [
    'a payout invoice reusing the escrow hash',
    HISTORY.settled(),
    { ...payoutStart, paymentHash: PAYMENT_HASH },
    context(),
    'WrongPaymentHash',
    'invalid:',
  ],
  [
    'a payout to an invoice not on record',
    HISTORY.settled(),
    { ...payoutStart, bolt11: 'lnbcrt1other' },
    context(),
    'WrongState',
    'blocked:',
  ],
  [
    'a payout success reported twice',
    HISTORY.paid(),
    { type: 'payout_succeeded', recipient: 'worker', routingFeeMsat: 0n, preimage: PAYOUT_PREIMAGE },
    context(),
    'NothingToDo',
    'duplicate:',
  ],
  [
    'a payout result with no payout in flight',
    HISTORY.settled(),
    { type: 'payout_failed', recipient: 'worker', reason: 'x' },
    context(),
    'WrongState',
    'blocked:',
  ],
  [
    'a new payout invoice from a stranger',
    HISTORY.settled(),
    { type: 'payout_invoice', by: STRANGER, recipient: 'worker', bolt11: 'lnbcrt1' },
    context(),
    'NotYourTask',
    'blocked:',
  ],
  [
    'a new payout invoice while the payout is in flight',
    HISTORY.inFlight(),
    { type: 'payout_invoice', by: WORKER, recipient: 'worker', bolt11: 'lnbcrt1' },
    context(),
    'PayoutInFlight',
    'blocked:',
  ],
  [
    'anything on a paid task',
    HISTORY.paid(),
    { type: 'cancel', by: POSTER },
    context(),
    'NothingToDo',
    'duplicate:',
  ],
  [
    'anything on a refunded task',
    HISTORY.refunded(),
    { type: 'claim', by: WORKER },
    context(),
    'NothingToDo',
    'duplicate:',
  ],
];

for (const [name, history, command, ctx, code, prefix] of refusals) {
  test(`refuses ${name} (${code})`, () => {
    const { decision } = when(history, command, ctx);
    assert.not.ok(decision.ok, 'expected a refusal');
    if (decision.ok) return;
    assert.is(decision.rejection.code, code);
    assert.ok(decision.rejection.message.startsWith(prefix), decision.rejection.message);
  });
}

test('the fee is taken from the listing amount at posting', () => {
  const { after } = when([], post);
  assert.is(after?.feeMsat, FEE);
});

test('a task may ask for shorter windows than the policy', () => {
  const { after } = when([], { ...post, windows: { claimSeconds: 600 } });
  assert.is(after?.windows.claimSeconds, 600);
  assert.is(after?.windows.workSeconds, testPolicy().windows.workSeconds);
});

test('an overpaid hold is recorded, then refunded in full', () => {
  const { decision, after } = when(HISTORY.offered(), { ...accepted, amountMsat: AMOUNT + 1n });
  assert.ok(decision.ok);
  assert.is(after?.state, 'refunding');
  assert.is(after?.reason, 'amount_mismatch');
  assert.is(after?.ledger.heldMsat, AMOUNT + 1n);
});

test('a payment that races a cancel is refunded, and the task ends refunded, not cancelled', () => {
  const cancelling = when(HISTORY.offered(), { type: 'cancel', by: POSTER });
  const history = [...HISTORY.offered(), ...(cancelling.decision.ok ? cancelling.decision.events : [])];
  const paid = when(history, accepted);
  assert.ok(paid.decision.ok);
  assert.is(paid.after?.state, 'refunding');
  const done = when([...history, ...(paid.decision.ok ? paid.decision.events : [])], {
    type: 'hold_cancelled',
    paymentHash: PAYMENT_HASH,
  });
  assert.is(done.after?.state, 'refunded');
  assert.is(done.after?.ledger.refundedMsat, AMOUNT);
});

test('an unpaid offer that is cancelled ends cancelled; one that expired ends expired', () => {
  const cancelled = given([
    ...HISTORY.offered(),
    { type: 'refund_requested', at: T0, reason: 'poster_cancelled' },
    { type: 'hold_cancelled', at: T0 },
  ]);
  const expired = given([
    ...HISTORY.offered(),
    { type: 'refund_requested', at: T0, reason: 'invoice_expired' },
    { type: 'hold_cancelled', at: T0 },
  ]);
  assert.is(cancelled?.state, 'cancelled');
  assert.is(expired?.state, 'expired');
  assert.is(cancelled?.ledger.refundedMsat, 0n);
});

test('a hold the node cancelled on its own is recorded as refunded with the reason node_cancelled', () => {
  const { decision, after } = when(HISTORY.claimed(), { type: 'hold_cancelled', paymentHash: PAYMENT_HASH });
  assert.ok(decision.ok);
  assert.is(after?.state, 'refunded');
  assert.is(after?.reason, 'node_cancelled');
  assert.is(after?.ledger.refundedMsat, AMOUNT);
});

test('a settled task owes the worker the amount less the fee, and the fee is earned', () => {
  const task = given(HISTORY.settled());
  assert.equal(
    task?.payouts.map((payout) => [payout.recipient, payout.amountMsat, payout.state]),
    [['worker', AMOUNT - FEE, 'due']],
  );
  assert.is(task?.ledger.feeMsat, FEE);
  assert.is(task?.ledger.heldMsat, AMOUNT - FEE);
});

test('a paid task accounts for every msat: received = paid + fee', () => {
  const task = given(HISTORY.paid());
  assert.is(task?.ledger.paidToWorkerMsat, AMOUNT - FEE);
  assert.is(task?.ledger.heldMsat, 0n);
  assert.is(task?.ledger.routingFeeMsat, 5n);
  assert.is(task && conservationViolation(task.ledger), null);
});

test('a worker without a payout invoice leaves the settled task waiting for one', () => {
  const history: TaskEvent[] = [
    ...HISTORY.claimed(),
    { type: 'submitted', at: T0 + 600, payoutInvoice: null },
    { type: 'settle_requested', at: T0 + 700, reason: 'approved', resolution: { kind: 'worker' } },
    { type: 'hold_settled', at: T0 + 701 },
  ];
  assert.is(given(history)?.state, 'payout_pending');
  const { after } = when(history, {
    type: 'payout_invoice',
    by: WORKER,
    recipient: 'worker',
    bolt11: WORKER_INVOICE,
  });
  assert.is(after?.state, 'settled');
  assert.is(after?.payouts[0]?.state, 'due');
});

test('payouts that fail max_payout_attempts times ask the worker for a new invoice', () => {
  let history = HISTORY.settled();
  for (let attempt = 1; attempt <= 3; attempt++) {
    const started = when(history, payoutStart);
    assert.ok(started.decision.ok, `attempt ${attempt} should start`);
    history = [...history, ...(started.decision.ok ? started.decision.events : [])];
    const failed = when(history, { type: 'payout_failed', recipient: 'worker', reason: 'no route' });
    history = [...history, ...(failed.decision.ok ? failed.decision.events : [])];
  }
  const task = given(history);
  assert.is(task?.state, 'payout_pending');
  assert.is(task?.payouts[0]?.state, 'needs_invoice');
  assert.not.ok(when(history, payoutStart).decision.ok);
  const renewed = when(history, {
    type: 'payout_invoice',
    by: WORKER,
    recipient: 'worker',
    bolt11: 'lnbcrt1new',
  });
  assert.is(renewed.after?.state, 'settled');
  assert.is(renewed.after?.payouts[0]?.bolt11, 'lnbcrt1new');
});

test('a payout invoice that can never be paid asks for a new one at the first failure', () => {
  const history = HISTORY.inFlight();
  const { after } = when(history, {
    type: 'payout_failed',
    recipient: 'worker',
    reason: 'invoice expired',
    invoiceUnusable: true,
  });
  assert.is(after?.state, 'payout_pending');
  assert.is(after?.payouts[0]?.state, 'needs_invoice');
});

test('a split verdict pays each side its share of the amount less the fee, through custody', () => {
  const verdict = when(HISTORY.disputed(), {
    type: 'verdict',
    by: ARBITRATOR,
    outcome: 'split',
    workerShareBps: 6000,
  });
  const history = [
    ...HISTORY.disputed(),
    ...(verdict.decision.ok ? verdict.decision.events : []),
    { type: 'hold_settled', at: T0 + 901 } as TaskEvent,
  ];
  const task = given(history);
  const net = AMOUNT - FEE;
  assert.equal(
    task?.payouts.map((payout) => [payout.recipient, payout.amountMsat, payout.state]),
    [
      // The worker's invoice from submit is for amount - fee, not for a share: both sides are asked.
      ['worker', (net * 6000n) / 10_000n, 'needs_invoice'],
      ['poster', net - (net * 6000n) / 10_000n, 'needs_invoice'],
    ],
  );
  assert.is(task?.state, 'payout_pending');
  const workerInvoice = when(history, {
    type: 'payout_invoice',
    by: WORKER,
    recipient: 'worker',
    bolt11: WORKER_INVOICE,
  });
  const withWorkerInvoice = [...history, ...(workerInvoice.decision.ok ? workerInvoice.decision.events : [])];
  assert.is(workerInvoice.after?.state, 'payout_pending', 'the poster still owes an invoice');
  const workerPaysFirst = when(withWorkerInvoice, {
    ...payoutStart,
    amountMsat: (net * 6000n) / 10_000n,
  });
  assert.ok(workerPaysFirst.decision.ok, 'the worker share can be paid while the poster has no invoice yet');
  const posterInvoice = when(withWorkerInvoice, {
    type: 'payout_invoice',
    by: POSTER,
    recipient: 'poster',
    bolt11: POSTER_INVOICE,
  });
  assert.is(posterInvoice.after?.state, 'custody');
});

test('a split worker payout whose invoice turns out unusable before any attempt asks for a new one', () => {
  const verdict = when(HISTORY.disputed(), {
    type: 'verdict',
    by: ARBITRATOR,
    outcome: 'split',
    workerShareBps: 6000,
  });
  const history = [
    ...HISTORY.disputed(),
    ...(verdict.decision.ok ? verdict.decision.events : []),
    { type: 'hold_settled', at: T0 + 901 } as TaskEvent,
    { type: 'payout_invoice_given', at: T0 + 902, recipient: 'worker', bolt11: WORKER_INVOICE } as TaskEvent,
  ];
  assert.is(given(history)?.payouts[0]?.state, 'due');
  const failed = when(history, {
    type: 'payout_failed',
    recipient: 'worker',
    reason: 'the invoice expired',
    invoiceUnusable: true,
  });
  assert.ok(
    failed.decision.ok,
    'a due payout with an unusable invoice can be marked failed (it was stuck due)',
  );
  assert.is(failed.after?.payouts[0]?.state, 'needs_invoice');
  assert.is(failed.after?.state, 'payout_pending');
  const transient = when(history, { type: 'payout_failed', recipient: 'worker', reason: 'no route' });
  assert.not.ok(transient.decision.ok, 'only an unusable invoice fails a payout that was never started');
});

test('under the custody rule, a dispute near the hold deadline is settled into custody until a verdict', () => {
  const ctx = context({ now: T0 + 800, height: H0 + 266 });
  // The rule the task was offered under counts, not the policy of the day.
  const disputed = withArbitration(HISTORY.disputed(), { deadlineRule: 'custody' });
  const tick = when(disputed, { type: 'tick' }, ctx);
  assert.is(tick.after?.state, 'settling');
  assert.equal(tick.after?.resolution, { kind: 'pending_verdict' });
  const underRefund = when(
    HISTORY.disputed(),
    { type: 'tick' },
    context({ ...ctx, policy: testPolicy({ disputeDeadlineRule: 'custody' }) }),
  );
  assert.is(
    underRefund.after?.state,
    'refunding',
    'a later policy change does not change a task offered under refund',
  );
  const history = [
    ...disputed,
    ...(tick.decision.ok ? tick.decision.events : []),
    { type: 'hold_settled', at: T0 + 801 } as TaskEvent,
  ];
  const custody = given(history);
  assert.is(custody?.state, 'custody');
  assert.equal(custody?.payouts, []);
  assert.is(custody && conservationViolation(custody.ledger), null);
  const verdict = when(history, { type: 'verdict', by: ARBITRATOR, outcome: 'poster' }, ctx);
  assert.is(verdict.after?.state, 'payout_pending');
  assert.equal(
    verdict.after?.payouts.map((payout) => [payout.recipient, payout.amountMsat]),
    [['poster', AMOUNT - FEE]],
  );
});

test('a split that gives everything to one side creates no zero payout', () => {
  const verdict = when(HISTORY.disputed(), {
    type: 'verdict',
    by: ARBITRATOR,
    outcome: 'split',
    workerShareBps: 10_000,
  });
  const history = [
    ...HISTORY.disputed(),
    ...(verdict.decision.ok ? verdict.decision.events : []),
    { type: 'hold_settled', at: T0 + 901 } as TaskEvent,
  ];
  assert.equal(
    given(history)?.payouts.map((payout) => payout.recipient),
    ['worker'],
  );
});

test('the guardian acts exactly safety_margin blocks before the claim deadline, not one block later', () => {
  const claimDeadline = H0 + 282;
  const margin = testPolicy().safetyMarginBlocks;
  assert.not.ok(when(HISTORY.funded(), { type: 'tick' }, late(100, claimDeadline - margin - 1)).decision.ok);
  assert.ok(when(HISTORY.funded(), { type: 'tick' }, late(100, claimDeadline - margin)).decision.ok);
});

test('every event folds into a version one higher', () => {
  assert.is(given(HISTORY.paid())?.version, HISTORY.paid().length);
});

test.run();
