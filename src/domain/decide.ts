// decide(task, command, context) -> events | rejection. Pure: no I/O, the clock and the block height come in
// the context. Every refusal is a Rejection whose message can be sent to the person who asked.
import { describeDuration, totalWindowSeconds, windowsDoNotFit } from './deadlines.ts';
import { type Rejection, reject } from './errors.ts';
import { feeFor } from './money.ts';
import { guardianDue, RULEBOOK_SHA256, rulebook } from './rulebook.ts';
import type {
  Arbitration,
  Command,
  DecideContext,
  Hex32,
  Payout,
  PayoutRecipient,
  Resolution,
  Task,
  TaskEvent,
  Windows,
} from './types.ts';
import { TERMINAL_STATES } from './types.ts';

export type Decision = { ok: true; events: TaskEvent[] } | { ok: false; rejection: Rejection };

const accept = (...events: TaskEvent[]): Decision => ({ ok: true, events });
const refuse = (rejection: Rejection): Decision => ({ ok: false, rejection });

export function decide(task: Task | null, command: Command, context: DecideContext): Decision {
  if (command.type === 'post') return decidePost(task, command, context);
  if (task === null) return refuse(reject('WrongState', 'unknown task'));
  // A verdict on a finished task is told that the dispute is over (and who it is not for comes first).
  if (command.type === 'verdict') return decideVerdict(task, command, context);
  // A poster who approved is told that an approval is final, however far the payout has gone.
  if (command.type === 'dispute' && task.reason === 'approved' && command.by === task.poster) {
    return decideDispute(task, command, context);
  }
  if (TERMINAL_STATES.has(task.state)) {
    return refuse(reject('NothingToDo', `task is already ${task.state}`));
  }
  switch (command.type) {
    case 'offer':
      return decideOffer(task, command, context);
    case 'hold_accepted':
      return decideHoldAccepted(task, command, context);
    case 'claim':
      return decideClaim(task, command.by, context);
    case 'submit':
      return decideSubmit(task, command, context);
    case 'approve':
      return decideApprove(task, command.by, context);
    case 'cancel':
      return decideCancel(task, command.by, context);
    case 'dispute':
      return decideDispute(task, command, context);
    case 'tick':
      return decideTick(task, context);
    case 'hold_settled':
      return decideHoldSettled(task, command.paymentHash, context);
    case 'hold_cancelled':
      return decideHoldCancelled(task, command.paymentHash, context);
    case 'payout_start':
      return decidePayoutStart(task, command, context);
    case 'payout_succeeded':
      return decidePayoutResult(task, command.recipient, context, {
        type: 'payout_succeeded',
        at: context.now,
        recipient: command.recipient,
        routingFeeMsat: command.routingFeeMsat,
        preimage: command.preimage,
      });
    case 'payout_failed':
      return decidePayoutFailed(task, command, context);
    case 'payout_invoice':
      return decidePayoutInvoice(task, command, context);
    case 'payout_address':
      return decidePayoutAddress(task, command, context);
    case 'payout_address_invoice':
      return decidePayoutAddressInvoice(task, command, context);
    case 'payout_address_failed':
      return decidePayoutAddressFailed(task, command, context);
    default:
      return assertNever(command);
  }
}

function assertNever(value: never): never {
  throw new Error(`unhandled command ${JSON.stringify(value)}`);
}

type CommandOf<T extends Command['type']> = Extract<Command, { type: T }>;

function decidePost(task: Task | null, command: CommandOf<'post'>, { now, policy }: DecideContext): Decision {
  if (task !== null) return refuse(reject('TaskExists', 'this task was already posted'));
  const open = command.openTaskAtAddress;
  if (open && open !== command.taskId) {
    return refuse(
      reject(
        'ListingInUse',
        `this listing's address (the same d tag) belongs to task ${open}, which is not finished; an edited listing does not become a second task (wait until that task ends, or use another d tag)`,
      ),
    );
  }
  if (command.amountMsat < policy.minAmountMsat || command.amountMsat > policy.maxAmountMsat) {
    return refuse(
      reject(
        'AmountOutOfPolicy',
        `amount ${command.amountMsat} msat is outside the agent's range ${policy.minAmountMsat}..${policy.maxAmountMsat} msat`,
      ),
    );
  }
  if (command.title.length > policy.maxTitleLength) {
    return refuse(reject('TitleTooLong', `title is longer than ${policy.maxTitleLength} characters`));
  }
  const windows: Windows = { ...policy.windows, ...command.windows };
  for (const [name, seconds] of Object.entries(windows)) {
    const minimum = name === 'disputeSeconds' ? 0 : 60;
    if (!Number.isSafeInteger(seconds) || seconds < minimum) {
      return refuse(reject('InvalidWindows', `${name} must be a whole number of seconds >= ${minimum}`));
    }
  }
  const total = totalWindowSeconds(windows);
  if (total > policy.maxHoldSeconds) {
    return refuse(
      reject(
        'WindowsDoNotFitHold',
        `the windows (claim + work + review + dispute = ${describeDuration(total)}) would keep the money in a hold longer than this agent's maximum of ${describeDuration(policy.maxHoldSeconds)} (policy max_hold_seconds); shorten them with window tags to at most ${describeDuration(policy.maxHoldSeconds)} in all`,
      ),
    );
  }
  const misfit = windowsDoNotFit(windows, policy);
  if (misfit) return refuse(reject('WindowsDoNotFitHold', misfit));
  const arbitration = arbitrationFor(command, policy);
  if (!arbitration.ok) return refuse(arbitration.rejection);
  return accept({
    type: 'task_posted',
    at: now,
    taskId: command.taskId,
    poster: command.by,
    amountMsat: command.amountMsat,
    feeMsat: feeFor(command.amountMsat, policy.fee),
    title: command.title,
    windows,
    arbitration: arbitration.value,
  });
}

/** Who decides this task's disputes: the arbitrators the listing names, all of them from the agent's active set,
 * and how many must agree; by default every active arbitrator, any one of whom decides. */
function arbitrationFor(
  command: CommandOf<'post'>,
  policy: DecideContext['policy'],
): { ok: true; value: Arbitration } | { ok: false; rejection: ReturnType<typeof reject> } {
  const named = command.arbitrators ?? [];
  const base = { deadlineRule: policy.disputeDeadlineRule, rulesSha256: RULEBOOK_SHA256 };
  const unknown = named.filter((pubkey) => !policy.arbitrators.includes(pubkey));
  if (unknown.length > 0) {
    return {
      ok: false,
      rejection: reject(
        'UnknownArbitrator',
        `${unknown.join(', ')} ${unknown.length === 1 ? 'is not one' : 'are not'} of this agent's active arbitrators (see the arbitrators in its published policy)`,
      ),
    };
  }
  if (new Set(named).size !== named.length) {
    return { ok: false, rejection: reject('UnknownArbitrator', 'an arbitrator is named twice') };
  }
  const arbitrators = named.length > 0 ? [...named] : [...policy.arbitrators];
  const threshold = command.threshold ?? (arbitrators.length > 0 ? 1 : 0);
  if (arbitrators.length === 0) {
    if (command.threshold !== undefined) {
      return {
        ok: false,
        rejection: reject('InvalidThreshold', 'this agent has no arbitrators, so a threshold means nothing'),
      };
    }
    return { ok: true, value: { arbitrators, threshold: 0, ...base } };
  }
  if (!Number.isSafeInteger(threshold) || threshold < 1 || threshold > arbitrators.length) {
    return {
      ok: false,
      rejection: reject(
        'InvalidThreshold',
        `the threshold must be a whole number from 1 to ${arbitrators.length} (the number of arbitrators)`,
      ),
    };
  }
  return { ok: true, value: { arbitrators, threshold, ...base } };
}

function decideOffer(task: Task, command: CommandOf<'offer'>, { now }: DecideContext): Decision {
  if (task.state !== 'posted') return refuse(wrongState(task, 'offer'));
  return accept({
    type: 'offered',
    at: now,
    paymentHash: command.paymentHash,
    bolt11: command.bolt11,
    invoiceExpiresAt: command.invoiceExpiresAt,
    finalCltvDelta: command.finalCltvDelta,
  });
}

function decideHoldAccepted(
  task: Task,
  command: CommandOf<'hold_accepted'>,
  { now }: DecideContext,
): Decision {
  if (task.funding?.paymentHash !== command.paymentHash) {
    return refuse(reject('WrongPaymentHash', 'payment hash does not belong to this task'));
  }
  if (task.funding.receivedMsat > 0n) return refuse(reject('NothingToDo', 'the hold was already accepted'));
  // A payment can race a cancel: while refunding, the money is recorded and refunded with the rest.
  if (task.state !== 'offered' && task.state !== 'refunding')
    return refuse(wrongState(task, 'hold_accepted'));
  const funded: TaskEvent = {
    type: 'funded',
    at: now,
    amountMsat: command.amountMsat,
    htlcExpiryHeight: command.htlcExpiryHeight,
    claimDeadlineHeight: command.claimDeadlineHeight,
  };
  if (task.state === 'offered' && command.amountMsat !== task.amountMsat) {
    // Overpaid or underpaid: escrowing another sum than the task's would break the fee and payout maths.
    return accept(funded, { type: 'refund_requested', at: now, reason: 'amount_mismatch' });
  }
  return accept(funded);
}

function decideClaim(task: Task, by: Hex32, context: DecideContext): Decision {
  if (task.state === 'claimed' || task.state === 'submitted') {
    return refuse(
      task.worker === by
        ? reject('NothingToDo', 'you already claimed this task')
        : reject('AlreadyClaimed', 'another worker claimed this task first'),
    );
  }
  if (task.state !== 'funded') return refuse(wrongState(task, 'claim'));
  if (by === task.poster) return refuse(reject('OwnTask', 'a poster cannot claim their own task'));
  if (context.now >= (task.fundedAt ?? 0) + task.windows.claimSeconds || guardianDue(task, context)) {
    return refuse(reject('DeadlinePassed', 'the claim window is over; the poster is being refunded'));
  }
  return accept({ type: 'claimed', at: context.now, worker: by });
}

function decideSubmit(task: Task, command: CommandOf<'submit'>, context: DecideContext): Decision {
  if (task.worker !== command.by)
    return refuse(reject('NotYourTask', 'only the worker who claimed the task can submit'));
  if (task.state === 'submitted') return refuse(reject('NothingToDo', 'the work was already submitted'));
  if (task.state !== 'claimed') return refuse(wrongState(task, 'submit'));
  if (context.now >= (task.claimedAt ?? 0) + task.windows.workSeconds || guardianDue(task, context)) {
    return refuse(reject('DeadlinePassed', 'the work deadline has passed'));
  }
  return accept({ type: 'submitted', at: context.now, payoutInvoice: command.payoutInvoice });
}

function decideApprove(task: Task, by: Hex32, { now }: DecideContext): Decision {
  if (by !== task.poster) return refuse(reject('NotYourTask', 'only the poster can approve'));
  if (task.state === 'settling') return refuse(reject('NothingToDo', 'the task is already being settled'));
  if (task.state !== 'submitted') return refuse(wrongState(task, 'approve'));
  return accept({ type: 'settle_requested', at: now, reason: 'approved', resolution: { kind: 'worker' } });
}

function decideCancel(task: Task, by: Hex32, { now }: DecideContext): Decision {
  if (by !== task.poster) return refuse(reject('NotYourTask', 'only the poster can cancel'));
  switch (task.state) {
    case 'posted':
      return accept({ type: 'task_cancelled', at: now });
    case 'offered':
    case 'funded':
      return accept({ type: 'refund_requested', at: now, reason: 'poster_cancelled' });
    case 'refunding':
      return refuse(reject('NothingToDo', 'the task is already being refunded'));
    case 'claimed':
    case 'submitted':
      return refuse(
        reject('WrongState', `a worker has ${task.state} the task; open a dispute instead of cancelling`),
      );
    default:
      return refuse(wrongState(task, 'cancel'));
  }
}

function decideDispute(task: Task, command: CommandOf<'dispute'>, context: DecideContext): Decision {
  const { now, policy } = context;
  if (command.by !== task.poster && command.by !== task.worker) {
    return refuse(reject('NotYourTask', 'only the poster or the worker can open a dispute'));
  }
  // Nobody could ever rule on it: the task was offered without arbitrators (the policy says disputes: false).
  if (task.arbitration.arbitrators.length === 0) {
    return refuse(
      reject(
        'DisputesNotOffered',
        "this task has no arbitrators, so it takes no disputes (the agent's published policy says disputes: false)",
      ),
    );
  }
  if (command.reason.length > policy.maxStatementLength) {
    return refuse(
      reject(
        'StatementTooLong',
        `the statement is ${command.reason.length} characters; at most ${policy.maxStatementLength} are allowed (policy max_statement_length)`,
      ),
    );
  }
  if (disputeOpen(task)) {
    if (task.statements.some((statement) => statement.by === command.by)) {
      return refuse(reject('NothingToDo', 'the task is already disputed and your statement is on record'));
    }
    return accept({ type: 'statement_added', at: now, by: command.by, text: command.reason });
  }
  if (task.reason === 'approved' && command.by === task.poster) {
    return refuse(
      reject('WrongState', 'you approved this task; an approval is final and cannot be disputed'),
    );
  }
  if (task.state === 'claimed') {
    if (now >= task.claimedAt + task.windows.workSeconds || guardianDue(task, context)) {
      return refuse(reject('DeadlinePassed', 'the work window is over; the poster is being refunded'));
    }
  } else if (task.state === 'submitted') {
    if (now >= task.submittedAt + task.windows.reviewSeconds || guardianDue(task, context)) {
      return refuse(
        reject('DeadlinePassed', "the review window is over; the poster's silence approved the work"),
      );
    }
  } else {
    return refuse(wrongState(task, 'dispute'));
  }
  return accept({ type: 'disputed', at: now, by: command.by, reason: command.reason });
}

function decideVerdict(task: Task, command: CommandOf<'verdict'>, { now }: DecideContext): Decision {
  const { arbitrators, threshold } = task.arbitration;
  if (!arbitrators.includes(command.by))
    return refuse(reject('NotAnArbitrator', "you are not one of the arbitrators named in this task's offer"));
  const share = command.workerShareBps;
  if (
    command.outcome === 'split' &&
    (share === undefined || !Number.isInteger(share) || share < 0 || share > 10_000)
  ) {
    return refuse(reject('InvalidVerdict', 'a split verdict needs share_bps, an integer from 0 to 10000'));
  }
  if (!disputeOpen(task)) {
    return refuse(
      reject(
        'WrongState',
        task.disputedAt === null
          ? `the task is not in dispute (it is ${task.state})`
          : `the dispute is already resolved (the task is ${task.state})`,
      ),
    );
  }
  if (task.verdicts.some((verdict) => verdict.by === command.by)) {
    return refuse(reject('VerdictAlreadyGiven', 'you already gave your verdict on this dispute'));
  }
  const resolution: Resolution =
    command.outcome === 'split' ? { kind: 'split', workerShareBps: share ?? 0 } : { kind: command.outcome };
  const recorded: TaskEvent = {
    type: 'verdict_recorded',
    at: now,
    by: command.by,
    resolution,
    eventId: command.eventId ?? null,
  };
  const agreeing =
    task.verdicts.filter((verdict) => sameResolution(verdict.resolution, resolution)).length + 1;
  // While the hold settles into custody, a verdict is recorded; it acts once the hold is settled.
  if (agreeing < threshold || task.state === 'settling') return accept(recorded);
  if (task.state === 'disputed') {
    if (resolution.kind === 'poster')
      return accept(recorded, { type: 'refund_requested', at: now, reason: 'verdict' });
    return accept(recorded, { type: 'settle_requested', at: now, reason: 'verdict', resolution });
  }
  return accept(recorded, { type: 'verdict_given', at: now, by: command.by, resolution });
}

/** Whether a task's dispute is still waiting for verdicts: disputed, or its money moving into / held in custody
 * pending a verdict. */
function disputeOpen(task: Task): boolean {
  if (task.state === 'disputed') return true;
  const pending = task.resolution?.kind === 'pending_verdict';
  return pending && (task.state === 'settling' || task.state === 'custody');
}

/** The resolution k agreeing verdicts reached, if any (the first one to reach k, in recording order). */
function agreedResolution(task: Task): { resolution: Resolution; by: Hex32 } | null {
  for (const verdict of task.verdicts) {
    const agreeing = task.verdicts.filter((other) => sameResolution(other.resolution, verdict.resolution));
    if (task.arbitration.threshold > 0 && agreeing.length >= task.arbitration.threshold) {
      return { resolution: verdict.resolution, by: agreeing[agreeing.length - 1]!.by };
    }
  }
  return null;
}

/** Two verdicts agree when they send the money the same way (a split only with the same share). */
export function sameResolution(a: Resolution, b: Resolution): boolean {
  if (a.kind !== b.kind) return false;
  return a.kind !== 'split' || (b.kind === 'split' && a.workerShareBps === b.workerShareBps);
}

/** Timeouts and the hold-deadline guardian: the rulebook (src/domain/rulebook.ts, docs/rules.md). */
function decideTick(task: Task, context: DecideContext): Decision {
  const events = rulebook(task, context);
  return events ? accept(...events) : refuse(reject('NothingToDo', 'no deadline has passed'));
}

function decideHoldSettled(task: Task, paymentHash: Hex32, { now }: DecideContext): Decision {
  if (task.funding?.paymentHash !== paymentHash)
    return refuse(reject('WrongPaymentHash', 'payment hash does not belong to this task'));
  if (task.state === 'settled' || task.state === 'custody' || task.state === 'payout_pending') {
    return refuse(reject('NothingToDo', 'the hold is already settled'));
  }
  // Only our own settle intent may settle: anything else is an inconsistency for the operator, not a transition.
  if (task.state !== 'settling') return refuse(wrongState(task, 'hold_settled'));
  // Verdicts that reached k while the hold was settling into custody act now.
  const agreed = task.resolution.kind === 'pending_verdict' ? agreedResolution(task) : null;
  if (agreed) {
    return accept(
      { type: 'hold_settled', at: now },
      { type: 'verdict_given', at: now, by: agreed.by, resolution: agreed.resolution },
    );
  }
  return accept({ type: 'hold_settled', at: now });
}

function decideHoldCancelled(task: Task, paymentHash: Hex32, { now }: DecideContext): Decision {
  if (task.funding?.paymentHash !== paymentHash)
    return refuse(reject('WrongPaymentHash', 'payment hash does not belong to this task'));
  if (task.state === 'refunding') return accept({ type: 'hold_cancelled', at: now });
  const unintended = ['offered', 'funded', 'claimed', 'submitted', 'disputed', 'settling'];
  if (unintended.includes(task.state)) {
    // The node cancelled without our intent (expiry at the node, an operator): record the truth.
    return accept(
      { type: 'refund_requested', at: now, reason: 'node_cancelled' },
      { type: 'hold_cancelled', at: now },
    );
  }
  return refuse(wrongState(task, 'hold_cancelled'));
}

function decidePayoutStart(task: Task, command: CommandOf<'payout_start'>, { now }: DecideContext): Decision {
  const payout = findPayout(task, command.recipient);
  const payable = task.state === 'settled' || task.state === 'custody' || task.state === 'payout_pending';
  if (!payout || !payable) return refuse(wrongState(task, 'payout_start'));
  // At most one payout in flight per task: a second one could pay twice if the first one succeeds late.
  if (task.payouts.some((other) => other.state === 'in_flight')) {
    return refuse(reject('PayoutInFlight', 'a payout for this task is already in flight'));
  }
  if (payout.state !== 'due')
    return refuse(reject('NothingToDo', `the ${payout.recipient} payout is ${payout.state}`));
  if (payout.bolt11 !== command.bolt11)
    return refuse(reject('WrongState', 'the invoice is not the one on record'));
  if (command.amountMsat !== payout.amountMsat) {
    return refuse(
      reject(
        'AmountMismatch',
        `the payout is ${payout.amountMsat} msat, the invoice asks ${command.amountMsat} msat`,
      ),
    );
  }
  if (command.paymentHash === task.funding?.paymentHash) {
    return refuse(reject('WrongPaymentHash', 'a payout invoice cannot reuse the escrow payment hash'));
  }
  return accept({
    type: 'payout_started',
    at: now,
    recipient: command.recipient,
    bolt11: command.bolt11,
    paymentHash: command.paymentHash,
    amountMsat: command.amountMsat,
  });
}

function decidePayoutResult(
  task: Task,
  recipient: PayoutRecipient,
  _context: DecideContext,
  event: TaskEvent,
): Decision {
  const payout = findPayout(task, recipient);
  if (payout?.state === 'succeeded') return refuse(reject('NothingToDo', 'the payout already succeeded'));
  if (payout?.state !== 'in_flight') return refuse(wrongState(task, event.type));
  return accept(event);
}

function decidePayoutFailed(
  task: Task,
  command: CommandOf<'payout_failed'>,
  context: DecideContext,
): Decision {
  const payout = findPayout(task, command.recipient);
  // `attempts` already counts the attempt that just failed.
  // An invoice found unusable before any attempt (expired while it waited, the wrong amount): ask for a new one.
  if (payout?.state === 'due' && command.invoiceUnusable === true) {
    return accept({
      type: 'payout_failed',
      at: context.now,
      recipient: command.recipient,
      reason: command.reason,
      needsInvoice: true,
      ...(payout.address ? { forgetAddress: true } : {}),
    });
  }
  const exhausted = payout !== undefined && payout.attempts >= context.policy.maxPayoutAttempts;
  const needsInvoice = command.invoiceUnusable === true || exhausted;
  return decidePayoutResult(task, command.recipient, context, {
    type: 'payout_failed',
    at: context.now,
    recipient: command.recipient,
    reason: command.reason,
    needsInvoice,
    // Invoices fetched from a Lightning address share one budget of attempts: once it is spent, the address is
    // forgotten and the recipient is asked again (never an endless fetch-and-fail loop).
    ...(exhausted && payout?.address ? { forgetAddress: true } : {}),
  });
}

function decidePayoutInvoice(
  task: Task,
  command: CommandOf<'payout_invoice'>,
  { now }: DecideContext,
): Decision {
  const recipientKey = command.recipient === 'worker' ? task.worker : task.poster;
  if (command.by !== recipientKey)
    return refuse(reject('NotYourTask', `only the ${command.recipient} can give this payout's invoice`));
  const payout = findPayout(task, command.recipient);
  if (!payout) return refuse(wrongState(task, 'payout_invoice'));
  if (payout.state === 'in_flight' || payout.state === 'succeeded') {
    return refuse(
      reject('PayoutInFlight', `the ${command.recipient} payout is ${payout.state.replace('_', ' ')}`),
    );
  }
  return accept({
    type: 'payout_invoice_given',
    at: now,
    recipient: command.recipient,
    bolt11: command.bolt11,
  });
}

function decidePayoutAddress(
  task: Task,
  command: CommandOf<'payout_address'>,
  { now }: DecideContext,
): Decision {
  const recipientKey = command.recipient === 'worker' ? task.worker : task.poster;
  if (command.by !== recipientKey)
    return refuse(reject('NotYourTask', `only the ${command.recipient} can give this payout's address`));
  const payout = findPayout(task, command.recipient);
  if (!payout) return refuse(wrongState(task, 'payout_address'));
  if (payout.state !== 'needs_invoice') {
    return refuse(
      reject('PayoutInFlight', `the ${command.recipient} payout is ${payout.state.replace('_', ' ')}`),
    );
  }
  if (payout.address === command.address) {
    return refuse(
      reject('NothingToDo', 'this address is already on record; the agent is fetching an invoice'),
    );
  }
  return accept({
    type: 'payout_address_given',
    at: now,
    recipient: command.recipient,
    address: command.address,
  });
}

function decidePayoutAddressInvoice(
  task: Task,
  command: CommandOf<'payout_address_invoice'>,
  { now }: DecideContext,
): Decision {
  const payout = findPayout(task, command.recipient);
  if (payout?.state !== 'needs_invoice' || !payout.address)
    return refuse(wrongState(task, 'payout_address_invoice'));
  return accept({
    type: 'payout_invoice_given',
    at: now,
    recipient: command.recipient,
    bolt11: command.bolt11,
    fromAddress: true,
  });
}

function decidePayoutAddressFailed(
  task: Task,
  command: CommandOf<'payout_address_failed'>,
  { now }: DecideContext,
): Decision {
  const payout = findPayout(task, command.recipient);
  if (payout?.state !== 'needs_invoice' || !payout.address)
    return refuse(wrongState(task, 'payout_address_failed'));
  return accept({
    type: 'payout_address_failed',
    at: now,
    recipient: command.recipient,
    reason: command.reason,
    giveUp: command.giveUp,
  });
}

function findPayout(task: Task, recipient: PayoutRecipient): Payout | undefined {
  return task.payouts.find((payout) => payout.recipient === recipient);
}

function wrongState(task: Task, action: string): Rejection {
  return reject('WrongState', `cannot ${action.replace('_', ' ')} a task that is ${task.state}`);
}
